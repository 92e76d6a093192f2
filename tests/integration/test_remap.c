// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/test_remap.c: "qremap remap" against real QEMU
 *
 * The end-to-end test starts the Incus-style fixture with 8 vCPUs (an
 * 8-queue tap) and one NIC and one disk, remaps it, resumes it the way Incus
 * does, and boots the test guest (tests/guest) from the remapped devices:
 * the guest must find the disk's pattern through SATA, see no virtio NIC or
 * disk, and answer every ping and every fresh UDP/TCP flow from the host side
 * of the tap, inside the fixture's own network namespace. The seed recipe
 * (raw fd numbers, no detach) runs through the same probe and must lose
 * traffic, or the probe couldn't tell a broken remap from a good one.
 *
 * Rollback tests make each step fail in turn (QREMAP_TEST_FAIL_STEP, which
 * answers as QEMU would refuse) and compare the VM's device set with what it
 * was; the plan tests compare --dry-run output with goldens in
 * tests/golden/, after replacing run-specific values (taps, MACs, fds).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fixture.h"
#include "qremap/util.h"
#include "testlib.h"

#define GUEST_IP     "10.199.0.2"
#define HOST_IP      "10.199.0.1"
#define BOOT_TIMEOUT 150 /* s, TCG boot to "QG READY" (usually 12-40 s) */
#define N_PINGS      200
#define N_FLOWS      100

static const char *qremap_bin(void)
{
	return getenv("QREMAP_BIN") ? getenv("QREMAP_BIN") : QREMAP_BIN_DEFAULT;
}

static const char *guest_dir(void)
{
	return getenv("QREMAP_GUEST_DIR") ? getenv("QREMAP_GUEST_DIR") : QREMAP_GUEST_DIR_DEFAULT;
}

/*
 * The tests that steer qremap through a test hook (QREMAP_TEST_FAIL_STEP,
 * QREMAP_TEST_STOP_STEP) skip in a build without them (tests/README.md).
 */
#ifdef QREMAP_TEST_HOOKS
static const bool have_test_hooks = true;
#else
static const bool have_test_hooks = false;
#endif
#define NO_TEST_HOOKS                                                                              \
	"qremap has no test hooks in this build (QREMAP_TEST_FAIL_STEP, QREMAP_TEST_STOP_STEP): "  \
	"only the sanitized test build (-DQREMAP_SANITIZE=ON) has them, tests/README.md"

/**
 * struct vm - one fixture VM for a test
 * @f:		fixture
 * @dir:	its directory (removed at the end)
 * @serial:	guest console file, "" without a guest
 * @pattern:	string written at the start of the root disk
 * @args:	extra QEMU arguments (storage for fixture_opts.args)
 */
struct vm {
	struct fixture *f;
	char dir[256];
	char serial[300];
	char pattern[64];
	char append[256];
	char kernel[300], initrd[300];
	char ph[4][160];
};

static void vm_end(struct vm *v)
{
	if (v->f)
		fixture_destroy(v->f);
	v->f = NULL;
	if (v->dir[0])
		test_rmtree(v->dir);
}

#define _cleanup_vm_ _cleanup_(vm_end)

/**
 * vm_start() - start the fixture with SATA placeholders of the disks' sizes
 * @v:		result
 * @vcpus:	vCPUs (tap queues)
 * @nics:	NICs
 * @disks:	"NAME:FORMAT:BUS:SIZE" specs, NULL-terminated
 * @n_ph:	placeholders to create; the first @n_ph disks get exact sizes
 * @ph_delta:	bytes added to the first placeholder's size (to make it wrong)
 * @guest:	boot the test guest (kernel, initrd, serial to a file)
 * @extra:	more QEMU arguments, NULL-terminated, or NULL
 *
 * Return: true if it started
 */
static bool vm_start(struct vm *v, unsigned vcpus, unsigned nics, const char *const *disks,
                     unsigned n_ph, long long ph_delta, bool guest, const char *const *extra)
{
	struct fixture_opts o;
	struct qr_error err = {0};
	unsigned nd = 0;

	fixture_opts_init(&o);
	snprintf(v->dir, sizeof(v->dir), "%s", test_tmpdir("remap"));
	o.dir = v->dir;
	o.vcpus = vcpus;
	o.nics = nics;
	if (getenv("QREMAP_QEMU"))
		o.qemu = getenv("QREMAP_QEMU");
	for (; disks[nd]; nd++)
		if (fixture_parse_disk(disks[nd], &o.disks[nd], &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return false;
		}
	o.n_disks = nd;
	o.args[o.n_args++] = "-device";
	o.args[o.n_args++] = "ich9-ahci,id=qremap_ahci";
	for (unsigned i = 0; i < n_ph; i++) {
		unsigned long long size =
		        o.disks[i].size + (i == 0 ? (unsigned long long)ph_delta : 0);

		snprintf(v->ph[i], sizeof(v->ph[i]),
		         "driver=null-co,node-name=qremap_sata%u_null,size=%llu,read-zeroes=on", i,
		         size);
		o.args[o.n_args++] = "-blockdev";
		o.args[o.n_args++] = v->ph[i];
	}
	for (unsigned i = 0; i < n_ph; i++) {
		static char dev[4][128];

		snprintf(dev[i], sizeof(dev[i]),
		         "ide-hd,id=qremap_sata%u,drive=qremap_sata%u_null,bus=qremap_ahci.%u", i,
		         i, i);
		o.args[o.n_args++] = "-device";
		o.args[o.n_args++] = dev[i];
	}
	if (guest) {
		snprintf(v->serial, sizeof(v->serial), "%s/console.log", v->dir);
		snprintf(v->kernel, sizeof(v->kernel), "%s/vmlinuz", guest_dir());
		snprintf(v->initrd, sizeof(v->initrd), "%s/initrd.img", guest_dir());
		snprintf(v->pattern, sizeof(v->pattern), "QREMAP-PATTERN-%08x%08x",
		         (unsigned)getpid(), (unsigned)time(NULL));
		snprintf(v->append, sizeof(v->append),
		         /* maxcpus=2: QEMU keeps its 8 vCPUs (and the tap its 8
		          * queues, as Incus makes them), but the guest brings up
		          * only 2: 8 busy TCG vCPUs on a 2-CPU host stall boots
		          */
		         "console=ttyS0 maxcpus=2 qremap.ip=" GUEST_IP "/24 qremap.disk_pattern=%s",
		         v->pattern);
		o.serial = v->serial;
		o.memory_mb = 512;
		o.args[o.n_args++] = "-kernel";
		o.args[o.n_args++] = v->kernel;
		o.args[o.n_args++] = "-initrd";
		o.args[o.n_args++] = v->initrd;
		o.args[o.n_args++] = "-append";
		o.args[o.n_args++] = v->append;
	}
	for (; extra && *extra; extra++)
		o.args[o.n_args++] = *extra;
	if (fixture_start(&o, &v->f, &err) < 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		v->f = NULL;
		return false;
	}
	if (guest) {
		/* The pattern goes in before the guest runs, through the
		 * host file (QEMU uses O_DIRECT; fsync makes it visible).
		 */
		int fd = open(v->f->disks[0].image, O_WRONLY | O_CLOEXEC);
		bool ok = fd >= 0 && pwrite(fd, v->pattern, strlen(v->pattern), 0) > 0 &&
		          fsync(fd) == 0;

		if (fd >= 0)
			close(fd);
		if (!ok) {
			fprintf(stderr, "writing the pattern: %s\n", strerror(errno));
			return false;
		}
	}
	return true;
}

/* Run qremap with @args after the binary; stdout, stderr returned. */
static int run_qremap(const char *const *args, char **out, char **errs)
{
	const char *argv[24] = {qremap_bin()};
	size_t n = 1;

	for (; *args && n < ARRAY_SIZE(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return test_run_capture(argv, out, errs);
}

/* Write a profile for the tests into @dir; returns its path (static). */
static const char *test_profile(const char *dir, const char *mac_policy, const char *acpi)
{
	static char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/test.yaml", dir);
	f = fopen(path, "we");
	if (!f)
		return NULL;
	fprintf(f,
	        "qremap_profile: 1\nname: test\nnics:\n  - match: \"*\"\n    to: usb-net\n"
	        "    mac_rewritten: %s\ndisks:\n  - match: \"*\"\n    to: sata\n"
	        "    ahci: qremap_ahci\nunplug:\n  acpi: %s\n",
	        mac_policy, acpi);
	fclose(f);
	return path;
}

/* The device set of a VM: sorted "id type" lines of /machine/peripheral + nodes. */
static char *device_set(struct fixture *f)
{
	struct qr_error err = {0};
	json_t *ret = NULL, *blk = NULL, *e, *lines = json_array();
	char *text = NULL;
	size_t i, len = 0;
	FILE *m;

	if (qmp_executef(f->incus, &ret, &err, "qom-list", "{s:s}", "path", "/machine/peripheral") <
	            0 ||
	    qmp_execute(f->incus, "query-block", NULL, &blk, &err) < 0) {
		fprintf(stderr, "device_set: %s\n", err.msg);
		json_decref(ret);
		json_decref(lines);
		return NULL;
	}
	json_array_foreach(ret, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));

		if (type && str_has_prefix(type, "child<"))
			json_array_append_new(
			        lines,
			        json_sprintf("dev %s %s",
			                     json_string_value(json_object_get(e, "name")), type));
	}
	json_array_foreach(blk, i, e)
	{
		json_t *ins = json_object_get(e, "inserted");

		json_array_append_new(
		        lines,
		        json_sprintf("blk %s %s",
		                     str_or(json_string_value(json_object_get(e, "qdev")), "-"),
		                     ins ? json_string_value(json_object_get(ins, "node-name"))
		                         : "-"));
	}
	m = open_memstream(&text, &len);
	/* qom-list order is stable for one VM; no sort needed for equality */
	json_array_foreach(lines, i, e) fprintf(m, "%s\n", json_string_value(e));
	fclose(m);
	json_decref(ret);
	json_decref(blk);
	json_decref(lines);
	return text;
}

/* "info network" through the Incus monitor. */
static char *info_network(struct fixture *f)
{
	struct qr_error err = {0};
	char *out = NULL;

	if (qmp_hmp(f->incus, "info network", &out, &err) < 0)
		fprintf(stderr, "info network: %s\n", err.msg);
	return out;
}

/* Wait, bounded, until the console file has a line with @what; return the file. */
static char *wait_console(const struct vm *v, const char *what, int timeout_s)
{
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;

	for (;;) {
		char *buf = test_read_file(v->serial);

		if (buf) {
			if (strstr(buf, what))
				return buf;
			if (now_ms() >= deadline) {
				fprintf(stderr, "no '%s' on the console in %d s; it says:\n%s\n",
				        what, timeout_s, buf);
				free(buf);
				return NULL;
			}
			free(buf);
		} else if (now_ms() >= deadline) {
			return NULL;
		}
		/* polling a file the guest appends to: there is no event */
		poll(NULL, 0, 200);
	}
}

/* Run a command inside the fixture's namespace; returns its exit code. */
static int in_netns(struct vm *v, const char *const *cmd, char **out)
{
	const char *argv[24] = {"ip", "netns", "exec", v->f->netns};
	size_t n = 4;

	for (; *cmd && n < ARRAY_SIZE(argv) - 1; cmd++)
		argv[n++] = *cmd;
	argv[n] = NULL;
	return test_run_capture(argv, out, NULL);
}

/* Give the tap's host side an address, inside the namespace. */
static bool host_side_up(struct vm *v)
{
	const char *addr[] = {"ip", "addr", "add", HOST_IP "/24", "dev", v->f->nics[0].tap, NULL};
	const char *up[] = {"ip", "link", "set", v->f->nics[0].tap, "up", NULL};

	return in_netns(v, addr, NULL) == 0 && in_netns(v, up, NULL) == 0;
}

/* ICMP: @count pings, returns how many came back (-1 if ping failed to run). */
static int pings(struct vm *v, int count, const char *interval)
{
	char cnt[16], *out = NULL, *p;
	const char *cmd[] = {"busybox", "ping", "-q", "-c",     cnt, "-i",
	                     interval,  "-W",   "2",  GUEST_IP, NULL};
	int got = -1, sent;

	snprintf(cnt, sizeof(cnt), "%d", count);
	in_netns(v, cmd, &out);
	if (out && (p = strstr(out, "packets transmitted")))
		while (p > out && p[-1] != '\n')
			p--;
	if (out && p && sscanf(p, "%d packets transmitted, %d packets received", &sent, &got) != 2)
		got = -1;
	if (got < 0)
		fprintf(stderr, "ping: %s\n", out ? out : "(no output)");
	free(out);
	return got;
}

/* @n fresh flows (alternating UDP/TCP) inside the namespace; returns echoed count. */
static int flows(struct vm *v, int n, int timeout_ms)
{
	struct qr_error err = {0};
	int saved, ok = 0;

	if (fixture_netns_enter(v->f->netns, &saved, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	ok = test_flows(GUEST_IP, n, timeout_ms);
	fixture_netns_leave(saved);
	return ok;
}

/* A "QG KEY ... field=value" value from the console text, into @buf. */
static bool qg_field(const char *console, const char *line_prefix, const char *field, char *buf,
                     size_t len)
{
	const char *l = console;
	char key[64];

	snprintf(key, sizeof(key), " %s=", field);
	while ((l = strstr(l, line_prefix))) {
		const char *eol = strchr(l, '\n'), *f = strstr(l, key);

		if (f && (!eol || f < eol)) {
			f += strlen(key);
			snprintf(buf, len, "%.*s", (int)strcspn(f, " \r\n"), f);
			return true;
		}
		l += strlen(line_prefix);
	}
	return false;
}

static bool have_guest(void)
{
	char k[300], i[300];

	snprintf(k, sizeof(k), "%s/vmlinuz", guest_dir());
	snprintf(i, sizeof(i), "%s/initrd.img", guest_dir());
	return !access(k, R_OK) && !access(i, R_OK);
}

/* The report JSON of a remap run. */
static json_t *remap_json(struct vm *v, const char *profile, int *rc)
{
	const char *args[] = {"remap", "--json",          "--profile", profile,
	                      "--qmp", v->f->qremap_sock, NULL};
	char *out = NULL, *errs = NULL;
	json_t *j;

	*rc = run_qremap(args, &out, &errs);
	j = json_loads(out ? out : "", 0, NULL);
	/* 3 (nothing to do) and 5 (rolled back) are what some tests want */
	if (!j || (*rc && *rc != 3 && *rc != 5))
		fprintf(stderr, "qremap remap exited %d\nstdout: %s\nstderr: %s\n", *rc, out, errs);
	free(out);
	free(errs);
	return j;
}

/* Whether any "QG VIRTIO" line has virtio device id @id ("0x0001" = net). */
static unsigned virtio_count(const char *console, const char *id)
{
	const char *l = console;
	unsigned n = 0;
	char key[32];

	snprintf(key, sizeof(key), " id=%s ", id);
	while ((l = strstr(l, "QG VIRTIO "))) {
		const char *eol = strchr(l, '\n'), *k = strstr(l, key);

		n += k && (!eol || k < eol);
		l += 10;
	}
	return n;
}

/**
 * struct e2e_case - one end-to-end remap with the booted guest
 * @name:	for messages
 * @profile:	the profile's nics/disks rules (YAML, after the header)
 * @n_ph:	SATA placeholders to cold-plug
 * @extra:	more QEMU arguments (NIC/virtio-blk placeholders), "%MAC%" is
 *		replaced by the MAC the fixture will give eth0
 * @nic_driver:	guest driver expected on the NIC
 * @blk_driver:	guest driver expected for the disk's controller
 * @virtio_blk:	virtio block devices the guest should see (the placeholder)
 * @incus_mac:	the guest must see Incus's MAC (else: what qremap predicted)
 */
struct e2e_case {
	const char *name;
	const char *profile;
	unsigned n_ph;
	const char *extra[8];
	const char *nic_driver;
	const char *blk_driver;
	unsigned virtio_blk;
	bool incus_mac;
};

/*
 * The main event: an 8-queue tap, remap, boot, probe.
 */
static void e2e_run(const struct e2e_case *c)
{
	static const char *const disks[] = {"root:raw:scsi:64M", NULL};
	_cleanup_vm_ struct vm v = {0};
	_cleanup_free_ char *console = NULL;
	char mac[32] = "", drv[32] = "", want_mac[18], incus_mac[18], extra_buf[8][256];
	const char *extra[9] = {NULL};
	json_t *rep, *nic;
	char profile[320];
	FILE *pf;
	int rc, got;

	fprintf(stderr, "e2e case: %s\n", c->name);
	fixture_nic_mac(0, incus_mac);
	for (size_t i = 0; i < 8 && c->extra[i]; i++) {
		const char *m = strstr(c->extra[i], "%MAC%");

		if (m)
			snprintf(extra_buf[i], sizeof(extra_buf[i]), "%.*s%s%s",
			         (int)(m - c->extra[i]), c->extra[i], incus_mac, m + 5);
		else
			snprintf(extra_buf[i], sizeof(extra_buf[i]), "%s", c->extra[i]);
		extra[i] = extra_buf[i];
	}
	/*
	 * Under TCG with 8 vCPUs on a 2-CPU host the guest now and then stalls
	 * before its init finishes (seen in SeaBIOS and at module loading, with
	 * or without a remap). A stalled boot says nothing about qremap, so it
	 * gets one more try on a fresh VM, said so in the output; everything
	 * after the boot must pass on the VM that booted.
	 */
	for (int attempt = 1;; attempt++) {
		REQUIRE(vm_start(&v, 8, 1, disks, c->n_ph, 0, true, extra));
		CHECK_INT(v.f->nics[0].queues, 8);
		CHECK_STR(v.f->nics[0].mac, incus_mac);
		REQUIRE(host_side_up(&v));
		snprintf(profile, sizeof(profile), "%s/e2e.yaml", v.dir);
		pf = fopen(profile, "we");
		REQUIRE(pf);
		fprintf(pf, "qremap_profile: 1\nname: e2e\n%s", c->profile);
		fclose(pf);

		rep = remap_json(&v, profile, &rc);
		CHECK_INT(rc, 0);
		REQUIRE(rep);
		CHECK_STR(json_string_value(json_object_get(rep, "outcome")), "done");
		nic = json_array_get(json_object_get(json_object_get(rep, "plan"), "nics"), 0);
		snprintf(want_mac, sizeof(want_mac), "%s",
		         str_or(json_string_value(json_object_get(nic, "guest_mac")), "?"));
		CHECK_INT(json_integer_value(json_object_get(nic, "old_queues")), 8);
		json_decref(rep);
		if (c->incus_mac)
			CHECK_STR(want_mac, incus_mac);

		{
			struct qr_error err = {0};

			REQUIRE(fixture_resume(v.f, &err) == 0);
		}
		console = wait_console(&v, "QG READY", BOOT_TIMEOUT);
		if (console || attempt == 2)
			break;
		fprintf(stderr,
		        "%s: the guest stalled before QG READY (TCG); once more on a fresh VM\n",
		        c->name);
		vm_end(&v);
		memset(&v, 0, sizeof(v));
	}
	REQUIRE(console);

	/* disk: the pattern, through the expected controller */
	CHECK_CONTAINS(console, "pattern=found");
	{
		char dev[16] = "";

		CHECK(qg_field(console, "QG DISK dev=", "dev", dev, sizeof(dev)) ||
		      qg_field(console, "QG DISK", "dev", dev, sizeof(dev)));
		if (dev[0]) {
			char prefix[64];

			snprintf(prefix, sizeof(prefix), "QG BLOCK dev=%s ", dev);
			CHECK(qg_field(console, prefix, "driver", drv, sizeof(drv)));
			CHECK_STR(drv, c->blk_driver);
		}
	}
	/* the virtio originals are gone: no virtio NIC, and no virtio disk
	 * beyond a virtio-blk placeholder the case asked for
	 */
	CHECK_INT(virtio_count(console, "0x0001"), 0);
	CHECK_INT(virtio_count(console, "0x0002"), c->virtio_blk);
	CHECK(!strstr(console, "driver=virtio_net"));
	/* NIC: the expected driver, with the MAC qremap said the guest sees */
	CHECK(qg_field(console, "QG NET if=", "mac", mac, sizeof(mac)));
	CHECK_STR(mac, want_mac);
	CHECK(qg_field(console, "QG NET if=", "driver", drv, sizeof(drv)));
	CHECK_STR(drv, c->nic_driver);
	CHECK_CONTAINS(console, "QG IP if=");

	/* traffic: every ping and every fresh flow comes back */
	got = pings(&v, N_PINGS, "0.05");
	fprintf(stderr, "%s: pings: %d/%d\n", c->name, got, N_PINGS);
	CHECK_INT(got, N_PINGS);
	got = flows(&v, N_FLOWS, 3000);
	fprintf(stderr, "%s: fresh flows (UDP+TCP): %d/%d\n", c->name, got, N_FLOWS);
	CHECK_INT(got, N_FLOWS);
	/* a burst, then fresh flows again: stalled queues show up only now */
	pings(&v, 20, "0.01");
	got = flows(&v, N_FLOWS, 3000);
	fprintf(stderr, "%s: fresh flows after a burst: %d/%d\n", c->name, got, N_FLOWS);
	CHECK_INT(got, N_FLOWS);
}

static bool e2e_ready(void)
{
	if (!test_is_root()) {
		fprintf(stderr, "SKIP: needs root (network namespaces, taps)\n");
		return false;
	}
	if (!have_guest()) {
		fprintf(stderr,
		        "SKIP: no test guest in %s (tests/guest/build-guest.sh builds it)\n",
		        guest_dir());
		return false;
	}
	return true;
}

/* macOS's layout: usb-net + SATA; the guest sees nothing virtio. */
static void test_e2e_guest(void)
{
	static const struct e2e_case c = {
	        .name = "usb-net + sata",
	        .profile = "nics:\n  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"
	                   "disks:\n  - {match: \"*\", to: sata, ahci: qremap_ahci}\n",
	        .n_ph = 1,
	        .nic_driver = "cdc_ether",
	        .blk_driver = "ahci",
	};

	if (!e2e_ready())
		SKIP("see above");
	e2e_run(&c);
}

/* A hub placeholder e1000 (old OSes) + a virtio-blk placeholder. */
static void test_e2e_hub_e1000_virtio_blk(void)
{
	static const struct e2e_case c = {
	        .name = "hub e1000 + virtio-blk placeholder",
	        .profile = "nics:\n  - {match: \"*\", to: hub, model: e1000}\n"
	                   "disks:\n  - {match: \"*\", to: virtio-blk}\n",
	        .extra = {"-netdev", "hubport,id=qremap_nic0_hp,hubid=0", "-device",
	                  "e1000,id=qremap_nic0,netdev=qremap_nic0_hp,mac=%MAC%", "-blockdev",
	                  "driver=null-co,node-name=qremap_vblk0_null,size=4096,read-zeroes=on",
	                  "-device", "virtio-blk-pci,id=qremap_vblk0,drive=qremap_vblk0_null"},
	        .nic_driver = "e1000",
	        .blk_driver = "virtio_blk",
	        .virtio_blk = 1,
	        .incus_mac = true,
	};

	if (!e2e_ready())
		SKIP("see above");
	e2e_run(&c);
}

/* A hub placeholder vmxnet3 (macOS without a kext) + usb-storage. */
static void test_e2e_hub_vmxnet3_usb_storage(void)
{
	static const struct e2e_case c = {
	        .name = "hub vmxnet3 + usb-storage",
	        .profile = "nics:\n  - {match: \"*\", to: hub, model: vmxnet3}\n"
	                   "disks:\n  - {match: \"*\", to: usb-storage}\n",
	        .extra = {"-netdev", "hubport,id=qremap_nic0_hp,hubid=0", "-device",
	                  "vmxnet3,id=qremap_nic0,netdev=qremap_nic0_hp,mac=%MAC%"},
	        .nic_driver = "vmxnet3",
	        .blk_driver = "usb-storage",
	        .incus_mac = true,
	};

	if (!e2e_ready())
		SKIP("see above");
	e2e_run(&c);
}

/*
 * One start with the seed recipe; returns 1 if the probe lost traffic, 0 if
 * not, -1 if the start itself failed.
 */
static int seed_recipe_once(unsigned attempt)
{
	static const char *const disks[] = {"root:raw:scsi:64M", NULL};
	_cleanup_vm_ struct vm v = {0};
	_cleanup_free_ char *console = NULL, *net = NULL;
	struct qr_error err = {0};
	char fds[256] = "";
	const char *p;
	int pinged, flowed;

	if (!vm_start(&v, 8, 1, disks, 1, 0, true, NULL) || !host_side_up(&v))
		return -1;
	{
		/* docs/facts.md §7c: one packet between hotplug and remap */
		const char *cmd[] = {"busybox", "ping", "-c", "1", "-W", "1", GUEST_IP, NULL};

		in_netns(&v, cmd, NULL);
	}
	net = info_network(v.f);
	if (!net)
		return -1;
	/* " \ incus_eth0.N: index=..,type=tap,fd=NN" : the seed's scrape */
	for (p = net; (p = strstr(p, "fd=")); p += 3) {
		size_t l = strlen(fds);

		snprintf(fds + l, sizeof(fds) - l, "%s%d", l ? ":" : "", atoi(p + 3));
	}
	if (!fds[0] ||
	    qmp_executef(v.f->incus, NULL, &err, "netdev_add", "{s:s, s:s, s:s}", "type", "tap",
	                 "id", "net0", "fds", fds) < 0 ||
	    qmp_executef(v.f->incus, NULL, &err, "device_add", "{s:s, s:s, s:s, s:s, s:s, s:s}",
	                 "driver", "usb-net", "id", "net0", "netdev", "net0", "mac",
	                 v.f->nics[0].mac, "bus", "qemu_usb.0", "port", "4") < 0 ||
	    qmp_executef(v.f->incus, NULL, &err, "set_link", "{s:s, s:b}", "name",
	                 v.f->nics[0].qdev, "up", 0) < 0 ||
	    qmp_executef(v.f->incus, NULL, &err, "device_del", "{s:s}", "id", v.f->nics[0].qdev) <
	            0 ||
	    fixture_resume(v.f, &err) < 0) {
		fprintf(stderr, "seed recipe: %s\n", err.msg);
		return -1;
	}
	console = wait_console(&v, "QG READY", BOOT_TIMEOUT);
	if (!console)
		return -1;
	/* short bounds: here most probes are expected to go unanswered */
	pinged = pings(&v, 20, "0.05");
	flowed = flows(&v, 20, 1000);
	fprintf(stderr, "seed recipe, start %u: pings %d/20, fresh flows %d/20\n", attempt, pinged,
	        flowed);
	return pinged < 20 || flowed < 20;
}

/*
 * The seed recipe: netdev_add with QEMU's raw fd numbers, no detach, the
 * original device deleted and its netdev left. The same probe must lose.
 *
 * Two netdevs then share each tap fd, and which one QEMU's main loop lets
 * read it is decided by the order their handlers were last registered: the
 * loss comes in some starts and not in others (measured: about half the
 * starts on 10.0.2; in ours, most). So the guard allows a few fresh starts
 * and requires the loss in at least one: a probe that can't see it in any
 * would not tell a broken remap from a good one.
 */
static void test_e2e_seed_recipe_loses(void)
{
	int lost = 0, r = 0;
	unsigned attempt;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	if (!have_guest())
		SKIP("no test guest in %s", guest_dir());
	for (attempt = 1; attempt <= 5 && !lost; attempt++) {
		/* -1: the start itself failed (a stalled TCG boot): try again */
		r = seed_recipe_once(attempt);
		if (r < 0)
			fprintf(stderr, "seed recipe, start %u: no usable start\n", attempt);
		lost = r > 0;
	}
	fprintf(stderr, "seed recipe: loss %s after %u start(s)\n", lost ? "seen" : "NOT seen",
	        attempt - 1);
	CHECK(lost);
}

/**
 * plan_steps() - the steps qremap would take on @v ("remap --dry-run --json")
 * @v:			VM
 * @profile:		profile
 * @first_commit:	set to the 1-based number of the first commit step (0 if
 *			none)
 *
 * Return: the plan's "steps" array (a new reference), NULL on failure
 */
static json_t *plan_steps(struct vm *v, const char *profile, size_t *first_commit)
{
	const char *args[] = {"remap", "--dry-run", "--json",          "--profile",
	                      profile, "--qmp",     v->f->qremap_sock, NULL};
	char *out = NULL;
	json_t *plan_j, *steps;
	int rc = run_qremap(args, &out, NULL);

	plan_j = rc == 0 ? json_loads(out ? out : "", 0, NULL) : NULL;
	if (!plan_j)
		fprintf(stderr, "remap --dry-run exited %d: %s\n", rc, out);
	free(out);
	steps = json_incref(json_object_get(plan_j, "steps"));
	json_decref(plan_j);
	*first_commit = 0;
	for (size_t i = 0; i < json_array_size(steps) && !*first_commit; i++)
		if (!strcmp(str_or(json_string_value(
		                           json_object_get(json_array_get(steps, i), "phase")),
		                   ""),
		            "commit"))
			*first_commit = i + 1;
	return steps;
}

/* Each step of a 2 NIC + 2 disk remap made to fail in turn: back to the start. */
static void test_rollback_every_step(void)
{
	static const char *const disks[] = {"root:raw:scsi:64M", "data:raw:virtio-blk:32M", NULL};
	_cleanup_vm_ struct vm v = {0};
	_cleanup_free_ char *before = NULL, *net_before = NULL;
	const char *profile;
	json_t *plan_j;
	int rc;
	size_t first_commit;

	if (!have_test_hooks)
		SKIP(NO_TEST_HOOKS);
	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	REQUIRE(vm_start(&v, 4, 2, disks, 2, 0, false, NULL));
	profile = test_profile(v.dir, "warn", "verify-after-reset");
	REQUIRE(profile);
	before = device_set(v.f);
	net_before = info_network(v.f);
	REQUIRE(before && net_before);
	plan_j = plan_steps(&v, profile, &first_commit);
	REQUIRE(plan_j);
	json_decref(plan_j);
	REQUIRE(first_commit > 1);
	/* every prepare step, and the first commit step (refused by QEMU) */
	for (size_t step = 1; step <= first_commit; step++) {
		_cleanup_free_ char *after = NULL, *net_after = NULL;
		char env[32];
		json_t *rep;

		snprintf(env, sizeof(env), "%zu", step);
		setenv("QREMAP_TEST_FAIL_STEP", env, 1);
		rep = remap_json(&v, profile, &rc);
		unsetenv("QREMAP_TEST_FAIL_STEP");
		CHECK_INT(rc, 5);
		CHECK_STR(rep ? json_string_value(json_object_get(rep, "outcome")) : NULL,
		          "rolled-back");
		json_decref(rep);
		after = device_set(v.f);
		net_after = info_network(v.f);
		if (!after || strcmp(before, after))
			fprintf(stderr, "step %zu: device set differs:\nbefore:\n%s\nafter:\n%s\n",
			        step, before, after);
		CHECK(after && !strcmp(before, after));
		CHECK(net_after && !strcmp(net_before, net_after));
		if (net_after && strcmp(net_before, net_after))
			fprintf(stderr, "step %zu: info network differs:\n%s\n---\n%s\n", step,
			        net_before, net_after);
	}
	/* and after all that, the real thing still works */
	{
		json_t *rep = remap_json(&v, profile, &rc);

		CHECK_INT(rc, 0);
		json_decref(rep);
	}
}

/**
 * wait_child() - wait, bounded, for a child to stop or to end
 * @pid:	child
 * @stopped:	return once it is stopped (else only once it ended)
 * @timeout_ms:	bound
 * @status:	waitpid() status
 *
 * waitpid() has no timeout; the child's state is polled instead.
 *
 * Return: true if it stopped or ended (per @stopped) in time
 */
static bool wait_child(pid_t pid, bool stopped, int timeout_ms, int *status)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG | (stopped ? WUNTRACED : 0));

		if (r == pid)
			return true;
		if (r < 0)
			return false;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
			return false;
		poll(NULL, 0, 5);
	}
}

/**
 * killed_at_step() - kill QEMU just before remap step @step, check the report
 * @profile:	profile
 * @step:	1-based step
 * @n_steps:	steps in the plan
 *
 * qremap stops itself before the step (QREMAP_TEST_STOP_STEP), the test
 * SIGKILLs QEMU and waits for it to be gone, then lets qremap go on.
 */
static void killed_at_step(const char *profile, size_t step, size_t n_steps)
{
	static const char *const disks[] = {"root:raw:scsi:64M", "data:raw:virtio-blk:32M", NULL};
	_cleanup_vm_ struct vm v = {0};
	_cleanup_free_ char *out = NULL;
	char env[32], out_path[300], err_path[300];
	int status = 0, pfd;
	json_t *rep, *steps;
	const char *outcome;
	struct pollfd p;
	pid_t pid;

	REQUIRE(vm_start(&v, 4, 2, disks, 2, 0, false, NULL));
	snprintf(out_path, sizeof(out_path), "%s/report.json", v.dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr.log", v.dir);
	snprintf(env, sizeof(env), "%zu", step);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || efd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
		    dup2(efd, STDERR_FILENO) < 0)
			_exit(127);
		setenv("QREMAP_TEST_STOP_STEP", env, 1);
		execl(qremap_bin(), qremap_bin(), "remap", "--json", "--profile", profile, "--qmp",
		      v.f->qremap_sock, (char *)NULL);
		_exit(127);
	}
	if (!wait_child(pid, true, 30000, &status) || !WIFSTOPPED(status)) {
		fprintf(stderr, "step %zu: qremap did not stop there (status 0x%x)\n", step,
		        status);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		CHECK(false);
		return;
	}
	pfd = (int)syscall(SYS_pidfd_open, v.f->qemu_pid, 0);
	REQUIRE(pfd >= 0);
	kill(v.f->qemu_pid, SIGKILL);
	p = (struct pollfd){.fd = pfd, .events = POLLIN};
	CHECK_INT(poll(&p, 1, 10000), 1);
	close(pfd);
	kill(pid, SIGCONT);
	if (!wait_child(pid, false, 30000, &status)) {
		fprintf(stderr, "step %zu: qremap hangs once QEMU is gone\n", step);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		CHECK(false);
		return;
	}
	/* no crash, no sanitizer report: a documented exit */
	CHECK(WIFEXITED(status));
	out = test_read_file(out_path);
	rep = json_loads(out ? out : "", 0, NULL);
	if (!rep)
		fprintf(stderr, "step %zu: status 0x%x, report: %s\n", step, status, out);
	REQUIRE(rep);
	outcome = json_string_value(json_object_get(rep, "outcome"));
	/* rolled back (5) if QEMU was never touched after the kill but by
	 * a step that is ours alone, else unsafe (6): either way QEMU said
	 * to be gone, and no "quit" sent to nobody
	 */
	CHECK(outcome && (!strcmp(outcome, "rolled-back") || !strcmp(outcome, "unsafe")));
	CHECK_INT(WEXITSTATUS(status), outcome && !strcmp(outcome, "rolled-back") ? 5 : 6);
	CHECK(json_is_true(json_object_get(rep, "qemu_exited")));
	CHECK(json_is_false(json_object_get(rep, "quit_sent")));
	/* The failure is at the step where QEMU was killed, or later only
	 * past steps that need nothing but our own descriptors (tap-detach)
	 * or whose failure is ignored (tidying: blockdev-del of a null node).
	 */
	{
		json_t *psteps = json_object_get(json_object_get(rep, "plan"), "steps");
		json_int_t failed = json_integer_value(json_object_get(rep, "failed_step"));
		const char *kind = json_string_value(
		        json_object_get(json_array_get(psteps, step - 1), "kind"));

		CHECK(json_is_integer(json_object_get(rep, "failed_step")));
		CHECK(failed >= (json_int_t)step - 1);
		for (json_int_t i = (json_int_t)step - 1; i < failed; i++) {
			json_t *st = json_array_get(json_object_get(rep, "steps"), (size_t)i);
			const char *k = json_string_value(
			        json_object_get(json_array_get(psteps, (size_t)i), "kind"));
			const char *note = json_string_value(json_object_get(st, "note"));

			CHECK((k && !strcmp(k, "tap-detach")) ||
			      (note && str_has_prefix(note, "ignored:")));
		}
		fprintf(stderr,
		        "QEMU killed before step %2zu/%zu (%s): %s, exit %d, failed at %lld\n",
		        step, n_steps, kind ? kind : "?", outcome ? outcome : "?",
		        WIFEXITED(status) ? WEXITSTATUS(status) : -1, (long long)failed + 1);
	}
	/* every step before the kill ran */
	steps = json_object_get(rep, "steps");
	for (size_t i = 0; i + 1 < step && i < json_array_size(steps); i++)
		CHECK(strcmp(json_string_value(json_object_get(json_array_get(steps, i), "result")),
		             "not-run"));
	json_decref(rep);
	if (test_failures) {
		_cleanup_free_ char *errs = test_read_file(err_path);

		fprintf(stderr, "qremap's stderr:\n%s\n", errs ? errs : "(none)");
	}
}

/* QEMU killed before each step of a 2 NIC + 2 disk remap: a clear, bounded end. */
static void test_qemu_killed_at_every_step(void)
{
	static const char *const disks[] = {"root:raw:scsi:64M", "data:raw:virtio-blk:32M", NULL};
	const char *profile;
	size_t n_steps;

	if (!have_test_hooks)
		SKIP(NO_TEST_HOOKS);
	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	{
		_cleanup_vm_ struct vm v = {0};
		size_t first_commit;
		json_t *steps;

		REQUIRE(vm_start(&v, 4, 2, disks, 2, 0, false, NULL));
		/* the profile lives beside the tests' temporary VMs */
		profile = test_profile(test_tmpdir("killed"), "warn", "verify-after-reset");
		REQUIRE(profile);
		steps = plan_steps(&v, profile, &first_commit);
		REQUIRE(steps);
		n_steps = json_array_size(steps);
		json_decref(steps);
	}
	REQUIRE(n_steps > 10);
	for (size_t step = 1; step <= n_steps; step++)
		killed_at_step(profile, step, n_steps);
	fprintf(stderr, "QEMU killed before each of %zu steps: every run ended as documented\n",
	        n_steps);
	{
		char dir[320];

		snprintf(dir, sizeof(dir), "%s", profile);
		*strrchr(dir, '/') = '\0';
		test_rmtree(dir);
	}
}

/**
 * shared_nodes() - block nodes that more than one device uses
 * @f:		fixture
 * @out:	names, space-separated ("" if none)
 * @len:	size of @out
 *
 * query-block has one entry per device with a medium: a node-name, or an
 * image file, that appears twice has two frontends, two writers on one disk.
 *
 * Return: number of such nodes, -1 on a QMP failure
 */
static int shared_nodes(struct fixture *f, char *out, size_t len)
{
	struct qr_error err = {0};
	json_t *blk = NULL, *e, *seen = json_object();
	size_t i, off = 0;
	int n = 0;

	out[0] = '\0';
	if (qmp_execute(f->incus, "query-block", NULL, &blk, &err) < 0) {
		fprintf(stderr, "query-block: %s\n", err.msg);
		json_decref(seen);
		return -1;
	}
	json_array_foreach(blk, i, e)
	{
		json_t *ins = json_object_get(e, "inserted");
		const char *keys[2] = {json_string_value(json_object_get(ins, "node-name")), NULL};
		char file_key[300];

		/* the same file under two node names is two writers too (the
		 * seed recipe's mistake); null-co placeholders share no data
		 */
		if (json_string_value(json_object_get(ins, "file")) &&
		    strcmp(str_or(json_string_value(json_object_get(ins, "drv")), ""), "null-co")) {
			snprintf(file_key, sizeof(file_key), "file:%.290s",
			         json_string_value(json_object_get(ins, "file")));
			keys[1] = file_key;
		}
		for (int k = 0; k < 2; k++) {
			if (!keys[k])
				continue;
			if (json_object_get(seen, keys[k]) &&
			    !json_is_true(json_object_get(seen, keys[k]))) {
				n++;
				off += (size_t)snprintf(out + off, len > off ? len - off : 0,
				                        "%s%s", off ? " " : "", keys[k]);
				json_object_set_new(seen, keys[k], json_true());
			} else if (!json_object_get(seen, keys[k])) {
				json_object_set_new(seen, keys[k], json_false());
			}
		}
	}
	json_decref(blk);
	json_decref(seen);
	return n;
}

/* QEMU's run state through the Incus monitor ("prelaunch" until cont). */
static bool runstate_is(struct fixture *f, const char *want)
{
	struct qr_error err = {0};
	json_t *ret = NULL;
	bool is;

	if (qmp_execute(f->incus, "query-status", NULL, &ret, &err) < 0)
		return false;
	is = !strcmp(str_or(json_string_value(json_object_get(ret, "status")), ""), want);
	json_decref(ret);
	return is;
}

/*
 * QEMU refuses each commit step in turn; the VM is left as it is
 * (--leave-on-unsafe) and looked at: never a disk node with two frontends,
 * the guest never ran, and the report is the documented one.
 */
static void test_refused_at_every_commit_step(void)
{
	static const char *const disks[] = {"root:raw:scsi:64M", "data:raw:virtio-blk:32M", NULL};
	const char *profile;
	json_t *plan_steps_j = NULL;
	size_t n_steps, first_commit;
	char pdir[256];

	if (!have_test_hooks)
		SKIP(NO_TEST_HOOKS);
	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	snprintf(pdir, sizeof(pdir), "%s", test_tmpdir("refused"));
	profile = test_profile(pdir, "warn", "verify-after-reset");
	REQUIRE(profile);
	{
		_cleanup_vm_ struct vm v = {0};

		REQUIRE(vm_start(&v, 4, 2, disks, 2, 0, false, NULL));
		plan_steps_j = plan_steps(&v, profile, &first_commit);
		REQUIRE(plan_steps_j);
	}
	n_steps = json_array_size(plan_steps_j);
	REQUIRE(first_commit > 1);
	for (size_t step = first_commit; step <= n_steps; step++) {
		_cleanup_vm_ struct vm v = {0};
		const char *args[] = {"remap",     "--json", "--leave-on-unsafe",
		                      "--profile", profile,  "--qmp",
		                      NULL,        NULL};
		const char *what = json_string_value(
		        json_object_get(json_array_get(plan_steps_j, step - 1), "what"));
		char *out = NULL, *errs = NULL, env[32], shared[256];
		const char *outcome;
		int rc, want;
		json_t *rep;

		REQUIRE(vm_start(&v, 4, 2, disks, 2, 0, false, NULL));
		args[6] = v.f->qremap_sock;
		snprintf(env, sizeof(env), "%zu", step);
		setenv("QREMAP_TEST_FAIL_STEP", env, 1);
		rc = run_qremap(args, &out, &errs);
		unsetenv("QREMAP_TEST_FAIL_STEP");
		rep = json_loads(out ? out : "", 0, NULL);
		outcome = rep ? json_string_value(json_object_get(rep, "outcome")) : NULL;
		/* the first commit step refused changes nothing: rolled back;
		 * a tidying step is ignored: done; any other: unsafe
		 */
		want = step == first_commit                               ? 5
		       : what && str_has_prefix(what, "delete null node") ? 0
		                                                          : 6;
		CHECK_INT(rc, want);
		CHECK_STR(outcome, want == 5 ? "rolled-back" : want == 0 ? "done" : "unsafe");
		CHECK(rep && json_is_false(json_object_get(rep, "quit_sent")));
		/* the invariant, on the live VM the failure left */
		CHECK_INT(shared_nodes(v.f, shared, sizeof(shared)), 0);
		CHECK(runstate_is(v.f, "prelaunch"));
		fprintf(stderr, "QEMU refuses step %2zu/%zu (%s): %s, exit %d, shared nodes: %s\n",
		        step, n_steps, what ? what : "?", outcome ? outcome : "?", rc,
		        shared[0] ? shared : "none");
		if (rc != want)
			fprintf(stderr, "stderr: %s\n", errs);
		json_decref(rep);
		free(out);
		free(errs);
	}
	json_decref(plan_steps_j);
	test_rmtree(pdir);
}

/* Re-running on a remapped VM is a no-op that says so. */
static void test_second_run_is_noop(void)
{
	static const char *const disks[] = {"root:raw:scsi:64M", NULL};
	_cleanup_vm_ struct vm v = {0};
	_cleanup_free_ char *before = NULL, *after = NULL;
	const char *profile;
	json_t *rep;
	int rc;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	REQUIRE(vm_start(&v, 2, 1, disks, 1, 0, false, NULL));
	profile = test_profile(v.dir, "warn", "verify-after-reset");
	rep = remap_json(&v, profile, &rc);
	CHECK_INT(rc, 0);
	json_decref(rep);
	before = device_set(v.f);
	rep = remap_json(&v, profile, &rc);
	CHECK_INT(rc, 3);
	CHECK_STR(rep ? json_string_value(json_object_get(rep, "outcome")) : NULL, "nothing-to-do");
	json_decref(rep);
	after = device_set(v.f);
	CHECK(before && after && !strcmp(before, after));
}

/* Replace every occurrence of @from in @s (in place, @s has room) with @to. */
static void replace_all(char *s, size_t cap, const char *from, const char *to)
{
	char *p = s;
	size_t fl = strlen(from), tl = strlen(to);

	if (!fl)
		return;
	while ((p = strstr(p, from))) {
		if (strlen(s) - fl + tl + 1 > cap)
			return;
		memmove(p + tl, p + fl, strlen(p + fl) + 1);
		memcpy(p, to, tl);
		p += tl;
	}
}

/* Compare a dry-run plan with tests/golden/NAME.txt, run-specific values masked. */
static void check_golden(struct vm *v, const char *profile, const char *name, int want_rc)
{
	const char *args[] = {"remap", "--dry-run",       "--profile", profile,
	                      "--qmp", v->f->qremap_sock, NULL};
	char *out = NULL, path[512], *golden = NULL, buf[65536];
	size_t glen = 0;
	FILE *g;
	int rc;

	rc = run_qremap(args, &out, NULL);
	CHECK_INT(rc, want_rc);
	REQUIRE(out);
	snprintf(buf, sizeof(buf), "%s", out);
	free(out);
	for (unsigned i = 0; i < v->f->n_nics; i++) {
		char tok[32];

		char guest_form[20];

		snprintf(tok, sizeof(tok), "<TAP%u>", i);
		replace_all(buf, sizeof(buf), v->f->nics[i].tap, tok);
		snprintf(tok, sizeof(tok), "<MAC%u>", i);
		replace_all(buf, sizeof(buf), v->f->nics[i].mac, tok);
		/* the form QEMU builds with the usb-net MAC quirk show the guest */
		snprintf(guest_form, sizeof(guest_form), "40%s", v->f->nics[i].mac + 2);
		snprintf(tok, sizeof(tok), "<MAC%u-AS-40>", i);
		replace_all(buf, sizeof(buf), guest_form, tok);
	}
	/* per QEMU version: the MAC quirk changes what the plan says */
	snprintf(path, sizeof(path), "%s/tests/golden/qemu%d.%d/%s.txt", QREMAP_SOURCE_DIR,
	         v->f->version.major, v->f->version.minor, name);
	if (getenv("QREMAP_UPDATE_GOLDEN")) {
		g = fopen(path, "we");
		if (g) {
			fputs(buf, g);
			fclose(g);
		}
	}
	g = fopen(path, "re");
	REQUIRE(g);
	golden = calloc(1, sizeof(buf));
	glen = fread(golden, 1, sizeof(buf) - 1, g);
	fclose(g);
	golden[glen] = '\0';
	if (strcmp(golden, buf))
		fprintf(stderr, "plan differs from %s (QREMAP_UPDATE_GOLDEN=1 rewrites it):\n%s\n",
		        path, buf);
	CHECK(!strcmp(golden, buf));
	free(golden);
}

static void test_plan_goldens(void)
{
	static const char *const one[] = {"root:raw:scsi:64M", NULL};
	static const char *const two[] = {"root:raw:scsi:64M", "data:qcow2:virtio-blk:32M", NULL};
	static const char *const cd[] = {"-drive", "if=none,id=cd0,media=cdrom,readonly=on",
	                                 "-device", "ide-cd,id=dev-incus_cdrom,drive=cd0,bus=ide.2",
	                                 NULL};
	const char *profile;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	{
		_cleanup_vm_ struct vm v = {0};

		REQUIRE(vm_start(&v, 2, 1, one, 1, 0, false, NULL));
		profile = test_profile(v.dir, "warn", "verify-after-reset");
		check_golden(&v, profile, "plan-1nic-1disk", 0);
		{
			int rc;
			json_t *rep = remap_json(&v, profile, &rc);

			json_decref(rep);
			CHECK_INT(rc, 0);
		}
		check_golden(&v, profile, "plan-already-remapped", 3);
	}
	{
		_cleanup_vm_ struct vm v = {0};

		REQUIRE(vm_start(&v, 2, 2, two, 2, 0, false, cd));
		profile = test_profile(v.dir, "warn", "verify-after-reset");
		check_golden(&v, profile, "plan-2nic-2disk-cdrom", 0);
	}
	{
		_cleanup_vm_ struct vm v = {0};

		REQUIRE(vm_start(&v, 2, 1, one, 1, -4096, false, NULL));
		profile = test_profile(v.dir, "warn", "verify-after-reset");
		check_golden(&v, profile, "plan-placeholder-too-small", 4);
	}
}

/* Native PCIe hotplug: originals go at once, no reset; ACPI + "refuse" refuses. */
static void test_native_hotplug_and_acpi_refuse(void)
{
	static const char *const disks[] = {"root:raw:scsi:64M", "data:raw:virtio-blk:32M", NULL};
	static const char *const native[] = {
	        "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off", NULL};
	const char *profile;
	json_t *rep, *steps, *st;
	size_t i;
	int rc;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	{
		_cleanup_vm_ struct vm v = {0};

		REQUIRE(vm_start(&v, 2, 1, disks, 2, 0, false, NULL));
		profile = test_profile(v.dir, "warn", "refuse");
		rep = remap_json(&v, profile, &rc);
		CHECK_INT(rc, 4);
		CHECK_STR(rep ? json_string_value(json_object_get(rep, "outcome")) : NULL,
		          "refused");
		CHECK_CONTAINS(rep ? json_string_value(json_object_get(rep, "error")) : NULL,
		               "acpi-pci-hotplug-with-bridge-support=off");
		json_decref(rep);
	}
	{
		_cleanup_vm_ struct vm v = {0};

		REQUIRE(vm_start(&v, 2, 1, disks, 2, 0, false, native));
		profile = test_profile(v.dir, "warn", "refuse");
		rep = remap_json(&v, profile, &rc);
		CHECK_INT(rc, 0);
		REQUIRE(rep);
		CHECK_STR(json_string_value(json_object_get(rep, "outcome")), "done");
		CHECK(json_is_false(json_object_get(json_object_get(rep, "plan"), "reset_needed")));
		steps = json_object_get(json_object_get(rep, "plan"), "steps");
		json_array_foreach(steps, i, st)
		        CHECK(strcmp(json_string_value(json_object_get(st, "kind")), "reset"));
		json_decref(rep);
	}
}

/* A failure after an original was asked to go: unsafe, and QEMU is told to quit. */
static void test_unsafe_failure_quits_qemu(void)
{
	static const char *const disks[] = {"root:raw:scsi:64M", NULL};
	_cleanup_vm_ struct vm v = {0};
	const char *profile;
	json_t *plan_j, *rep;
	size_t n, fail, first_commit;
	char env[32];
	int rc, pfd;

	if (!have_test_hooks)
		SKIP(NO_TEST_HOOKS);
	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	REQUIRE(vm_start(&v, 2, 1, disks, 1, 0, false, NULL));
	profile = test_profile(v.dir, "warn", "verify-after-reset");
	/* the step after the first commit step: an original is already going */
	plan_j = plan_steps(&v, profile, &first_commit);
	REQUIRE(plan_j && first_commit);
	n = json_array_size(plan_j);
	json_decref(plan_j);
	fail = first_commit + 1;
	REQUIRE(fail >= 2 && fail <= n);
	pfd = (int)syscall(SYS_pidfd_open, v.f->qemu_pid, 0);
	REQUIRE(pfd >= 0);
	snprintf(env, sizeof(env), "%zu", fail);
	setenv("QREMAP_TEST_FAIL_STEP", env, 1);
	rep = remap_json(&v, profile, &rc);
	unsetenv("QREMAP_TEST_FAIL_STEP");
	CHECK_INT(rc, 6);
	CHECK_STR(rep ? json_string_value(json_object_get(rep, "outcome")) : NULL, "unsafe");
	CHECK(rep && json_is_true(json_object_get(rep, "quit_sent")));
	json_decref(rep);
	{
		/* QEMU exits: wait on its pidfd, bounded */
		struct pollfd p = {.fd = pfd, .events = POLLIN};

		CHECK_INT(poll(&p, 1, 10000), 1);
	}
	close(pfd);
}

/* Without privileges: a clear message and exit status 1, not a crash. */
static void test_unprivileged_run_fails_clearly(void)
{
	static const char *const disks[] = {"root:raw:scsi:64M", NULL};
	_cleanup_vm_ struct vm v = {0};
	char *out = NULL, *errs = NULL;
	const char *profile;
	int rc;

	if (!test_is_root())
		SKIP("needs root (to start the fixture, then drop to nobody)");
	REQUIRE(vm_start(&v, 2, 1, disks, 1, 0, false, NULL));
	profile = test_profile(v.dir, "warn", "verify-after-reset");
	{
		const char *argv[] = {"setpriv",
		                      "--reuid=65534",
		                      "--regid=65534",
		                      "--clear-groups",
		                      qremap_bin(),
		                      "remap",
		                      "--profile",
		                      profile,
		                      "--qmp",
		                      v.f->qremap_sock,
		                      NULL};

		rc = test_run_capture(argv, &out, &errs);
	}
	fprintf(stderr, "as nobody: exit %d: %s", rc, errs);
	CHECK_INT(rc, 1);
	CHECK_CONTAINS(errs, "run qremap as root");
	CHECK(!strstr(errs, "AddressSanitizer"));
	free(out);
	free(errs);
}

TEST_MAIN(test_plan_goldens, test_second_run_is_noop, test_rollback_every_step,
          test_refused_at_every_commit_step, test_qemu_killed_at_every_step,
          test_native_hotplug_and_acpi_refuse, test_unsafe_failure_quits_qemu,
          test_unprivileged_run_fails_clearly, test_e2e_guest, test_e2e_hub_e1000_virtio_blk,
          test_e2e_hub_vmxnet3_usb_storage, test_e2e_seed_recipe_loses)
