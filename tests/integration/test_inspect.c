// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/test_inspect.c: "qremap inspect --json" against
 * a real QEMU started by the Incus-style fixture
 *
 * Every fact qremap reports is checked against an independent source: what
 * the fixture created (ids, MACs, taps, sizes), the kernel's view of QEMU's
 * descriptors (/proc/<pid>/fdinfo "iff:" lines, read here, not through
 * qremap's code) and of the tap's queues ("ip -d link": numqueues /
 * numdisabled). The QEMU binary comes from $QREMAP_QEMU (CTest runs this
 * program once per QEMU version), qremap from $QREMAP_BIN.
 */

#include <dirent.h>
#include <unistd.h>

#include <jansson.h>

#include "fixture.h"
#include "testlib.h"

/* Run qremap inspect --json on the fixture's qremap monitor; parse stdout. */
static json_t *inspect(const struct fixture *f, const char *extra)
{
	const char *bin = getenv("QREMAP_BIN") ? getenv("QREMAP_BIN") : QREMAP_BIN_DEFAULT;
	const char *argv[] = {bin, "inspect", "--json", "--qmp", f->qremap_sock, extra, NULL};
	char *out = NULL, *errs = NULL;
	json_error_t jerr;
	json_t *j;
	int rc;

	rc = test_run_capture(argv, &out, &errs);
	if (rc != 0)
		fprintf(stderr, "qremap inspect exited %d: %s\n", rc, errs);
	j = rc == 0 ? json_loads(out, 0, &jerr) : NULL;
	if (rc == 0 && !j)
		fprintf(stderr, "bad JSON (%s): %s\n", jerr.text, out);
	free(out);
	free(errs);
	return j;
}

/* All QEMU descriptors whose fdinfo names @tap, read straight from /proc. */
static unsigned proc_tun_fds(pid_t pid, const char *tap, int *fds, unsigned max)
{
	char path[64], line[256], want[64];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	snprintf(want, sizeof(want), "iff:\t%s\n", tap);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char p2[320];
		FILE *fp;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		fp = fopen(p2, "re");
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp))
			if (!strcmp(line, want) && n < max)
				fds[n++] = atoi(de->d_name);
		fclose(fp);
	}
	closedir(d);
	return n;
}

/* numqueues / numdisabled of a tap, from iproute2 (not qremap's netlink code) */
static bool ip_link_queues(const char *netns, const char *tap, unsigned *q, unsigned *dis)
{
	const char *argv[] = {"/usr/sbin/ip", "-n", netns, "-d", "link", "show", tap, NULL};
	char *out = NULL, *p;
	bool ok = false;

	if (access(argv[0], X_OK))
		argv[0] = "/sbin/ip";
	if (test_run_capture(argv, &out, NULL) == 0 && (p = strstr(out, "numqueues ")))
		ok = sscanf(p, "numqueues %u numdisabled %u", q, dis) == 2;
	free(out);
	return ok;
}

static bool int_in(int v, const int *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] == v)
			return true;
	return false;
}

static const json_t *find_by_id(const json_t *arr, const char *id)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i,
	                   o) if (!strcmp(str_or(json_string_value(json_object_get(o, "id")), ""),
	                                  id)) return o;
	return NULL;
}

static void check_nic(const json_t *inv, const struct fixture *f, const struct fixture_nic *fn)
{
	const json_t *nic = find_by_id(json_object_get(inv, "nics"), fn->qdev), *nd, *qs, *q;
	unsigned attached = 0, detached = 0, nq = 0, nd_ip = 0;
	int proc_fds[256];
	unsigned nproc;
	size_t i;

	REQUIRE(nic);
	CHECK_STR(json_string_value(json_object_get(nic, "model")), "virtio-net-pci");
	CHECK_STR(json_string_value(json_object_get(nic, "mac")), fn->mac);
	CHECK_STR(json_string_value(json_object_get(nic, "bus")), fn->bus);
	CHECK_INT(json_integer_value(json_object_get(nic, "queue_count")), fn->queues);
	CHECK(json_is_true(json_object_get(nic, "incus")));
	nd = json_object_get(nic, "netdev");
	REQUIRE(json_is_object(nd));
	CHECK_STR(json_string_value(json_object_get(nd, "id")), fn->netdev);
	CHECK_STR(json_string_value(json_object_get(nd, "type")), "tap");
	CHECK_STR(json_string_value(json_object_get(nd, "tap")), fn->tap);
	CHECK_INT(json_integer_value(json_object_get(nd, "queue_count")), fn->queues);
	qs = json_object_get(nd, "queues");
	REQUIRE(json_array_size(qs) == fn->queues);

	/* the fd numbers are exactly QEMU's tun fds for this tap */
	nproc = proc_tun_fds(f->qemu_pid, fn->tap, proc_fds, 256);
	CHECK_INT(nproc, fn->queues);
	json_array_foreach(qs, i, q)
	{
		int fd = (int)json_integer_value(json_object_get(q, "qemu_fd"));
		const char *st = json_string_value(json_object_get(q, "state"));

		CHECK_INT(json_integer_value(json_object_get(q, "index")), i);
		CHECK(int_in(fd, proc_fds, nproc));
		CHECK_STR(json_string_value(json_object_get(q, "tap")), fn->tap);
		CHECK(st && (!strcmp(st, "attached") || !strcmp(st, "detached")));
		attached += st && !strcmp(st, "attached");
		detached += st && !strcmp(st, "detached");
	}
	CHECK_INT(json_integer_value(json_object_get(nd, "attached_queues")), attached);
	CHECK_INT(json_integer_value(json_object_get(nd, "detached_queues")), detached);
	CHECK_INT(json_integer_value(json_object_get(nd, "unknown_queues")), 0);

	/* ... and the per-queue states add up to what the kernel says */
	REQUIRE(ip_link_queues(f->netns, fn->tap, &nq, &nd_ip));
	CHECK_INT(attached, nq);
	CHECK_INT(detached, nd_ip);
	printf("  %s: tap %s, %u queues, %u attached, %u detached (kernel: %u/%u)\n", fn->qdev,
	       fn->tap, fn->queues, attached, detached, nq, nd_ip);
}

static void check_disk(const json_t *inv, const struct fixture_disk *fd)
{
	const json_t *d = find_by_id(json_object_get(inv, "disks"), fd->qdev);
	char file[64];

	REQUIRE(d);
	snprintf(file, sizeof(file), "/dev/fdset/%d", fd->fdset);
	CHECK_STR(json_string_value(json_object_get(d, "driver")), fd->driver);
	CHECK_STR(json_string_value(json_object_get(d, "bus")), fd->bus);
	CHECK_STR(json_string_value(json_object_get(d, "node")), fd->node);
	CHECK_STR(json_string_value(json_object_get(d, "format")),
	          strcmp(fd->spec.format, "qcow2") ? "file" : "qcow2");
	CHECK_STR(json_string_value(json_object_get(d, "file")), file);
	CHECK_INT(json_integer_value(json_object_get(d, "fdset")), fd->fdset);
	CHECK_INT(json_integer_value(json_object_get(d, "size")), fd->spec.size);
	CHECK(json_is_false(json_object_get(d, "read_only")));
	CHECK(json_is_false(json_object_get(d, "cdrom")));
	CHECK(json_is_false(json_object_get(d, "placeholder")));
	CHECK(json_is_true(json_object_get(d, "incus")));
}

static void check_controllers(const json_t *inv)
{
	const json_t *usb = find_by_id(json_object_get(inv, "controllers"), "qemu_usb");
	const json_t *scsi = find_by_id(json_object_get(inv, "controllers"), "qemu_scsi");
	const json_t *fr, *used;

	REQUIRE(usb && scsi);
	CHECK_STR(json_string_value(json_object_get(usb, "kind")), "usb");
	CHECK_STR(json_string_value(json_object_get(usb, "bus")), "qemu_usb.0");
	CHECK_INT(json_integer_value(json_object_get(usb, "ports")), 8);
	/* Incus's three usb-redir devices claim ports 1-3 */
	used = json_object_get(usb, "used_ports");
	fr = json_object_get(usb, "free_ports");
	CHECK_INT(json_array_size(used), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(used, 0), "device")),
	          "qemu_spice-usb1");
	CHECK_INT(json_array_size(fr), 5);
	CHECK_INT(json_integer_value(json_array_get(fr, 0)), 4);
	CHECK_INT(json_integer_value(json_array_get(fr, 4)), 8);
	CHECK_STR(json_string_value(json_object_get(scsi, "kind")), "scsi");
	CHECK_STR(json_string_value(json_object_get(scsi, "bus")), "qemu_scsi.0");
}

static void run_case(unsigned vcpus, unsigned nics, const char *disk0, const char *disk1)
{
	struct fixture_opts o;
	struct fixture *f = NULL;
	struct qr_error err;
	const char *dir;
	json_t *inv, *vm;
	char ver[32];
	unsigned i;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	fixture_opts_init(&o);
	dir = test_tmpdir("inspect");
	o.dir = dir;
	o.vcpus = vcpus;
	o.nics = nics;
	REQUIRE(fixture_parse_disk(disk0, &o.disks[0], &err) == 0);
	REQUIRE(fixture_parse_disk(disk1, &o.disks[1], &err) == 0);
	o.n_disks = 2;
	if (fixture_start(&o, &f, &err) < 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		CHECK(!"fixture started");
		test_rmtree(dir);
		return;
	}
	printf("  QEMU %d.%d.%d, %u vCPUs, %u NICs\n", f->version.major, f->version.minor,
	       f->version.micro, f->vcpus, f->n_nics);

	inv = inspect(f, NULL);
	if (!inv) {
		CHECK(!"inspect output");
		goto out;
	}
	snprintf(ver, sizeof(ver), "%d.%d.%d", f->version.major, f->version.minor,
	         f->version.micro);
	CHECK_STR(json_string_value(json_object_get(json_object_get(inv, "qemu"), "version")), ver);
	vm = json_object_get(inv, "vm");
	CHECK_STR(json_string_value(json_object_get(vm, "runstate")), "prelaunch");
	CHECK_STR(json_string_value(json_object_get(vm, "hotplug")), "acpi");
	CHECK_STR(json_string_value(json_object_get(vm, "name")), "qremap-fixture");
	CHECK_INT(json_integer_value(json_object_get(vm, "pid")), f->qemu_pid);
	CHECK(json_is_null(json_object_get(inv, "host_note")));
	CHECK_INT(json_array_size(json_object_get(inv, "nics")), nics);
	CHECK_INT(json_array_size(json_object_get(inv, "netdevs")), 0);
	CHECK_INT(json_array_size(json_object_get(inv, "disks")), 2);
	check_controllers(inv);
	for (i = 0; i < f->n_nics; i++)
		check_nic(inv, f, &f->nics[i]);
	for (i = 0; i < f->n_disks; i++)
		check_disk(inv, &f->disks[i]);
	json_decref(inv);
out:
	fixture_destroy(f);
	test_rmtree(dir);
}

static void test_1vcpu_1nic(void)
{
	run_case(1, 1, "root:raw:scsi:64M", "data:raw:virtio-blk:32M");
}

static void test_2vcpu_2nic(void)
{
	run_case(2, 2, "root:raw:scsi:64M", "data:raw:virtio-blk:48M");
}

static void test_8vcpu_1nic(void)
{
	run_case(8, 1, "root:raw:scsi:96M", "data:raw:virtio-blk:32M");
}

static void test_8vcpu_2nic_qcow2(void)
{
	run_case(8, 2, "root:qcow2:scsi:128M", "data:raw:scsi:16M");
}

/* --no-host: no /proc or pidfd work, the state is reported unknown, and the
 * human output still works; plus inspect after Incus's resume sees "running"
 */
static void test_no_host_and_running(void)
{
	struct fixture_opts o;
	struct fixture *f = NULL;
	struct qr_error err;
	const char *dir;
	json_t *inv;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	fixture_opts_init(&o);
	dir = test_tmpdir("inspect");
	o.dir = dir;
	if (fixture_start(&o, &f, &err) < 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		CHECK(!"fixture started");
		test_rmtree(dir);
		return;
	}
	inv = inspect(f, "--no-host");
	if (inv) {
		const json_t *nd =
		        json_object_get(json_array_get(json_object_get(inv, "nics"), 0), "netdev");

		CHECK_INT(json_integer_value(json_object_get(nd, "unknown_queues")), 2);
		CHECK(json_is_null(json_object_get(nd, "tap")));
		CHECK_CONTAINS(json_string_value(json_object_get(inv, "host_note")), "--no-host");
		json_decref(inv);
	} else {
		CHECK(!"inspect --no-host output");
	}
	/* Once connected, inspect keeps only the remap's capabilities, under
	 * the seccomp filter (privilege.h); -v -v says so. Its host view
	 * (pidfd_getfd, /proc) works with what is kept: run_case() checks it.
	 */
	{
		const char *bin = getenv("QREMAP_BIN") ? getenv("QREMAP_BIN") : QREMAP_BIN_DEFAULT;
		const char *argv[] = {bin, "-v", "-v", "inspect", "--qmp", f->qremap_sock, NULL};
		char *out = NULL, *errs = NULL;

		CHECK_INT(test_run_capture(argv, &out, &errs), 0);
		CHECK_CONTAINS(errs, test_is_root()
		                             ? "privileges: capabilities kept: cap_net_admin,"
		                               "cap_sys_admin,cap_sys_ptrace; seccomp refuses"
		                             : "privileges: capabilities kept: none");
		free(out);
		free(errs);
	}
	CHECK(fixture_resume(f, &err) == 0);
	inv = inspect(f, NULL);
	if (inv) {
		CHECK_STR(
		        json_string_value(json_object_get(json_object_get(inv, "vm"), "runstate")),
		        "running");
		json_decref(inv);
	} else {
		CHECK(!"inspect output after resume");
	}
	fixture_destroy(f);
	test_rmtree(dir);
}

/* The used ports of one bus's devices, in order, as "port:device" ("-" for
 * an anonymous one), joined by spaces
 */
static void used_ports(const json_t *inv, const char *ctrl, char *buf, size_t size)
{
	const json_t *c = find_by_id(json_object_get(inv, "controllers"), ctrl);
	const json_t *u;
	size_t i, len = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(c, "used_ports"), i, u)
	{
		const char *dev = json_string_value(json_object_get(u, "device"));

		len += (size_t)snprintf(buf + len, size - len, "%s%s:%s", i ? " " : "",
		                        json_string_value(json_object_get(u, "port")),
		                        dev ? dev : "-");
		if (len >= size)
			break;
	}
}

/*
 * Two USB buses, each with a named and an anonymous device. The inventory
 * asks one device's bus per USB bus and places the rest by the bus number
 * of "info usb": the anonymous ones too, which before it placed nowhere
 * once there were two XHCIs, so a usb-net NIC was planned onto the
 * anonymous mouse's port and device_add failed.
 */
static void test_usb_buses(void)
{
	const char *bin = getenv("QREMAP_BIN") ? getenv("QREMAP_BIN") : QREMAP_BIN_DEFAULT;
	struct fixture_opts o;
	struct fixture *f = NULL;
	struct qr_error err;
	char profile[300], buf[512];
	const char *dir;
	json_t *inv;
	FILE *fp;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	fixture_opts_init(&o);
	dir = test_tmpdir("inspect");
	o.dir = dir;
	o.args[o.n_args++] = "-device";
	o.args[o.n_args++] = "qemu-xhci,id=xhci2,p2=4,p3=4";
	o.args[o.n_args++] = "-device";
	o.args[o.n_args++] = "usb-tablet,id=tab2,bus=xhci2.0";
	o.args[o.n_args++] = "-device";
	o.args[o.n_args++] = "usb-kbd,bus=xhci2.0";
	o.args[o.n_args++] = "-device";
	o.args[o.n_args++] = "usb-mouse,bus=qemu_usb.0";
	if (fixture_start(&o, &f, &err) < 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		CHECK(!"fixture started");
		test_rmtree(dir);
		return;
	}
	inv = inspect(f, NULL);
	if (inv) {
		used_ports(inv, "qemu_usb", buf, sizeof(buf));
		CHECK_STR(buf, "1:qemu_spice-usb1 2:qemu_spice-usb2 3:qemu_spice-usb3 4:-");
		used_ports(inv, "xhci2", buf, sizeof(buf));
		CHECK_STR(buf, "1:tab2 2:-");
		json_decref(inv);
	} else {
		CHECK(!"inspect output");
	}

	/* remap reads fewer buses than inspect: its plan must see the same */
	snprintf(profile, sizeof(profile), "%s/usb.yaml", dir);
	fp = fopen(profile, "w");
	REQUIRE(fp);
	fputs("qremap_profile: 1\nname: usb-buses\nnics:\n"
	      "  - {match: \"*\", to: usb-net, xhci: qemu_usb, mac_rewritten: warn}\n",
	      fp);
	REQUIRE(fclose(fp) == 0);
	{
		const char *argv[] = {bin,     "remap", "--dry-run",    "--json", "--profile",
		                      profile, "--qmp", f->qremap_sock, NULL};
		const json_t *st;
		char *out = NULL, *errs = NULL;
		json_t *j = NULL;
		bool found = false;
		size_t i;

		CHECK_INT(test_run_capture(argv, &out, &errs), 0);
		j = out ? json_loads(out, 0, NULL) : NULL;
		CHECK(j != NULL);
		json_array_foreach(json_object_get(j, "steps"), i, st)
		{
			const json_t *a = json_object_get(json_object_get(st, "qmp"), "arguments");

			if (!json_is_string(json_object_get(a, "port")))
				continue;
			found = true;
			CHECK_STR(json_string_value(json_object_get(a, "bus")), "qemu_usb.0");
			CHECK_STR(json_string_value(json_object_get(a, "port")), "5");
		}
		CHECK(found);
		json_decref(j);
		free(out);
		free(errs);
	}
	fixture_destroy(f);
	test_rmtree(dir);
}

TEST_MAIN(test_1vcpu_1nic, test_2vcpu_2nic, test_8vcpu_1nic, test_8vcpu_2nic_qcow2,
          test_no_host_and_running, test_usb_buses)
