// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/test_incus_real.c: against a real Incus
 *
 * Only where Incus can start VMs (../shared/incus-rig/setup.sh makes one on
 * machines like ours); otherwise the test says why and skips. It installs
 * the build with "cmake --install" (into a DESTDIR of its own) and runs the
 * binaries from there, qremapd from / as the unit does. It creates its
 * own bridge network and VM, runs "qremap incus enable", starts qremapd and
 * then "incus start": Incus hot-plugs, the generated scriptlet signals
 * qremapd at pre-start and waits, and the test guest must boot through the
 * remapped devices, answer pings on the test's own bridge with 0 lost, and
 * see its disk through the target's driver. Twice: with usb-net + SATA (the
 * macos-usbnet layout, with a host-file disk and a custom block volume
 * beside the root disk, each seen by the guest at its size; then a disk
 * added since enable must make the start fail, saying to enable again), and
 * with the shipped default profile
 * profiles/macos.yaml (hub NIC placeholders, no kext), where the guest must
 * see exactly one NIC, the placeholder, with Incus's MAC; that VM lives in a
 * project of its own beside a namesake in the default project, and its
 * raw.qemu.conf comes from an Incus profile. "qremap incus disable" must
 * give back the instance's configuration byte for byte (and the namesake's
 * must never change).
 * Third, Incus's own USB NIC (io.bus=usb: usb-net on one tap queue per
 * vCPU) on 4 vCPUs, remapped to usb-net on one fresh queue: fresh UDP/TCP
 * flows after a multi-flow burst must all come back; then the same VM
 * without qremap, whose loss is printed (docs/facts.md §5b).
 */

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "qremap/incus.h"
#include "qremap/profile.h"
#include "qremap/util.h"
#include "testlib.h"

/* TCG boot to "QG READY" (usually 15-40 s) */
#define BOOT_TIMEOUT_MS 150000

/* Where installed() put the build, "" until it did (or if it failed). */
static char install_root[128];

/* atexit(): remove what installed() made. */
static void install_remove(void)
{
	if (install_root[0])
		test_rmtree(install_root);
}

/**
 * installed() - install the build once, the way a user does, and give its root
 *
 * "cmake --install" with DESTDIR, so that every path (the unit's too) lands
 * under a directory of ours: the binaries then run as installed, not from
 * the build tree. QREMAP_BIN / QREMAPD_BIN still override.
 *
 * Return: the DESTDIR, or NULL if the install failed (said on stderr)
 */
static const char *installed(void)
{
	static bool tried;

	if (!tried) {
		char dest[sizeof(install_root)];
		int rc;

		tried = true;
		snprintf(dest, sizeof(dest), "/var/tmp/qremap-install-%d", (int)getpid());
		setenv("DESTDIR", dest, 1);
		rc = test_run_capture(
		        (const char *const[]){"cmake", "--install", QREMAP_BUILD_DIR, NULL}, NULL,
		        NULL);
		unsetenv("DESTDIR");
		if (rc) {
			fprintf(stderr, "cmake --install %s (DESTDIR=%s) failed: %d\n",
			        QREMAP_BUILD_DIR, dest, rc);
			test_rmtree(dest);
			return NULL;
		}
		str_copy(install_root, sizeof(install_root), dest);
		atexit(install_remove);
		fprintf(stderr, "qremap and qremapd as cmake --install put them, under %s\n", dest);
	}
	return install_root[0] ? install_root : NULL;
}

/**
 * installed_bin() - a binary as "cmake --install" put it
 * @env:	variable that overrides it
 * @dir:	its directory under the install prefix
 * @name:	its name
 *
 * Return: its path (static buffer per @name), or NULL if not installed
 */
static const char *installed_bin(const char *env, const char *dir, const char *name)
{
	static char qremap[320], qremapd[320];
	char *buf = !strcmp(name, "qremapd") ? qremapd : qremap;
	const char *root;

	if (getenv(env))
		return getenv(env);
	root = installed();
	if (!root)
		return NULL;
	snprintf(buf, 320, "%s%s/%s", root, dir, name);
	return buf;
}

static const char *qremap_bin(void)
{
	return installed_bin("QREMAP_BIN", QREMAP_INSTALL_BINDIR, "qremap");
}

static const char *qremapd_bin(void)
{
	return installed_bin("QREMAPD_BIN", QREMAP_INSTALL_SBINDIR, "qremapd");
}

/* Run a command; 0 on exit status 0. Output is discarded unless @out. */
static int run(char **out, const char *arg0, ...)
{
	const char *argv[32] = {arg0};
	size_t n = 1;
	va_list ap;

	va_start(ap, arg0);
	while (n < ARRAY_SIZE(argv) - 1 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return test_run_capture(argv, out, NULL);
}

/*
 * The instance's config as JSON text with sorted keys, for byte comparisons;
 * without volatile.* keys, which Incus itself rewrites on every start.
 */
static char *config_text(const char *vm, const char *project)
{
	struct qr_error err = {0};
	json_t *inst = NULL, *conf;
	const char *key;
	void *tmp;
	json_t *v;
	char path[256], *text;

	/* the project the incus client uses too: INCUS_PROJECT, else default */
	if (incus_path(path, sizeof(path), project ? project : getenv("INCUS_PROJECT"), NULL, &err,
	               "instances", vm, NULL) < 0 ||
	    incus_request(INCUS_DEFAULT_SOCKET, "GET", path, NULL, NULL, &inst, NULL, 0, &err) < 0)
		return NULL;
	conf = json_object_get(inst, "config");
	json_object_foreach_safe(conf, tmp, key, v) if (str_has_prefix(key, "volatile."))
	        json_object_del(conf, key);
	text = json_dumps(conf, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(inst);
	return text;
}

/* Whether Incus is there and its qemu driver works; why not in @why. */
static bool incus_usable(char *why, size_t len)
{
	struct qr_error err = {0};
	json_t *md = NULL;
	const char *drv;
	char path[64];
	bool ok;

	if (access(INCUS_DEFAULT_SOCKET, F_OK)) {
		snprintf(why, len, "no Incus at %s (../shared/incus-rig/setup.sh sets one up)",
		         INCUS_DEFAULT_SOCKET);
		return false;
	}
	if (incus_path(path, sizeof(path), NULL, NULL, &err, NULL) < 0 ||
	    incus_request(INCUS_DEFAULT_SOCKET, "GET", path, NULL, NULL, &md, NULL, 0, &err) < 0) {
		snprintf(why, len, "Incus does not answer: %.200s", err.msg);
		return false;
	}
	drv = json_string_value(json_object_get(json_object_get(md, "environment"), "driver"));
	ok = drv && strstr(drv, "qemu");
	if (!ok)
		snprintf(why, len, "Incus has no working qemu driver (driver: %s)",
		         str_or(drv, "?"));
	json_decref(md);
	return ok;
}

/**
 * struct world - what the test created, for cleanup on every way out
 * @vm:		instance
 * @net:	bridge network
 * @dir:	qremapd's socket and state
 * @guest:	world-readable copy of the guest
 * @profile:	the test's profile, installed in /etc/qremap/profiles
 * @iprofile:	an Incus profile the test made, or ""
 * @project:	an Incus project the test made (INCUS_PROJECT names it while the
 *		case runs), or ""
 * @namesake:	a VM of @vm's name the test made in the default project
 * @volume:	a custom volume the test made in pool "default", or ""
 * @qremapd:	the daemon's pid, or 0
 */
struct world {
	char vm[64];
	char net[32];
	char iprofile[64];
	char project[64];
	bool namesake;
	char volume[80];
	char dir[160];
	char guest[128];
	char profile[192];
	pid_t qremapd;
};

static void world_end(struct world *w)
{
	if (w->qremapd > 0) {
		kill(w->qremapd, SIGTERM);
		waitpid(w->qremapd, NULL, 0);
	}
	/* in the case's project, if it has one (INCUS_PROJECT) */
	if (w->vm[0])
		run(NULL, "incus", "delete", "--force", w->vm, NULL);
	if (w->iprofile[0])
		run(NULL, "incus", "profile", "delete", w->iprofile, NULL);
	if (w->volume[0])
		run(NULL, "incus", "storage", "volume", "delete", "default", w->volume, NULL);
	unsetenv("INCUS_PROJECT");
	if (w->namesake)
		run(NULL, "incus", "delete", "--force", "--project", "default", w->vm, NULL);
	if (w->project[0])
		run(NULL, "incus", "project", "delete", w->project, NULL);
	if (w->net[0])
		run(NULL, "incus", "network", "delete", w->net, NULL);
	test_rmtree(w->dir);
	test_rmtree(w->guest);
	if (w->profile[0])
		unlink(w->profile);
}

/* Incus's MAC for the test NIC; a hub placeholder gets it too */
#define TEST_MAC "10:66:6a:51:52:53"

/**
 * struct incus_case - what one run installs and expects
 * @profile:	the profile's text, installed under a test-unique name
 * @nic_driver:	the guest driver the remapped NIC must get
 * @disk_driver: the guest driver the remapped disk must get
 * @one_nic:	the guest must see exactly one NIC, with TEST_MAC
 * @disk_added: then start again with a disk added since enable: refused
 * @cpus:	limits.cpu (0: 2); the tap gets one queue per vCPU
 * @io_bus_usb:	the NIC is Incus's own USB NIC (io.bus=usb)
 * @flows:	fresh flows before and after a burst, all answered (0: none)
 * @without:	after disable, measure the same VM without qremap (@flows)
 * @conf_in_profile: the VM's raw.qemu.conf comes from an Incus profile, not
 *		its own config: enable must keep it (expanded_config), else
 *		the VM can't start here (the rig's conf deletes the vsock)
 * @project:	the VM in a project of its own, with a stopped namesake in the
 *		default project that nothing may touch
 * @more_disks:	besides the root disk, a host-file disk and a custom block
 *		volume, each remapped and seen by the guest at its size
 */
struct incus_case {
	char profile[8192];
	char nic_driver[32];
	char disk_driver[32];
	bool one_nic;
	bool disk_added;
	unsigned cpus;
	bool io_bus_usb;
	int flows;
	bool without;
	bool conf_in_profile;
	bool project;
	bool more_disks;
};

/* The Linux driver for a hub placeholder model (tests/guest loads these). */
static const char *linux_nic_driver(const char *model)
{
	if (!strcmp(model, "virtio-net-pci"))
		return "virtio_net";
	if (!strcmp(model, "vmxnet3"))
		return "vmxnet3";
	if (!strcmp(model, "e1000e"))
		return "e1000e";
	if (!strcmp(model, "rtl8139"))
		return "8139cp";
	return "e1000"; /* e1000 (82540EM) and e1000-82545em */
}

/* Number of lines of @text starting with @prefix. */
/* How many times @needle occurs in @text. */
static unsigned count_substr(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static unsigned count_lines(const char *text, const char *prefix)
{
	unsigned n = 0;

	for (const char *l = text; l && (l = strstr(l, prefix)); l++)
		n += l == text || l[-1] == '\n';
	return n;
}

/**
 * boot_wait() - wait for the test guest's "QG READY" on the console
 * @vm:		instance, started
 * @console:	Incus's console log, replaced (caller frees)
 *
 * Bounded, polling Incus's console log. TCG guests on this 2-CPU machine
 * sometimes stall early in the kernel's boot, whatever their devices (the
 * e2e tests see it too; docs/performance.md): one stalled boot earns one
 * restart, which goes through qremapd's pre-start remap again if enabled.
 *
 * Return: true once the guest is ready
 */
static bool boot_wait(const char *vm, char **console)
{
	for (int attempt = 1; attempt <= 2; attempt++) {
		int64_t deadline = now_ms() + BOOT_TIMEOUT_MS;
		char *out = NULL;

		while (now_ms() < deadline) {
			free(*console);
			*console = NULL;
			run(console, "incus", "console", vm, "--show-log", NULL);
			if (*console && strstr(*console, "QG READY"))
				return true;
			poll(NULL, 0, 1000);
		}
		if (attempt == 2)
			break;
		fprintf(stderr, "the guest did not boot in %d s; restarting it once\n",
		        BOOT_TIMEOUT_MS / 1000);
		run(NULL, "incus", "stop", "--force", vm, NULL);
		if (run(&out, "incus", "start", vm, NULL)) {
			fprintf(stderr, "incus start (again): %s\n", out);
			free(out);
			return false;
		}
		free(out);
	}
	return false;
}

/**
 * tap_name() - the host tap of an instance NIC
 * @vm:		instance, running
 * @dev:	its NIC device name
 * @buf:	the name, "" if not found
 * @len:	size of @buf
 *
 * Return: true if found
 */
static bool tap_name(const char *vm, const char *dev, char *buf, size_t len)
{
	char key[64], *tap = NULL;

	snprintf(key, sizeof(key), "volatile.%s.host_name", dev);
	buf[0] = '\0';
	if (run(&tap, "incus", "config", "get", vm, key, NULL) == 0 && tap)
		snprintf(buf, len, "%.*s", (int)strcspn(tap, "\n"), tap);
	free(tap);
	return buf[0];
}

/**
 * tap_queues() - attached queues of a tap
 * @tap:	its name
 *
 * A tun device's real queue count follows its attached queues, which
 * /sys/class/net/TAP/queues lists (docs/facts.md §4).
 *
 * Return: the number of tx queues
 */
static int tap_queues(const char *tap)
{
	char path[160];
	int q = 0;

	for (; q < 1024; q++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/tx-%d", tap, q);
		if (access(path, F_OK))
			break;
	}
	return q;
}

/* A tap's statistic @name, -1 if unreadable. */
static long long tap_stat(const char *tap, const char *name)
{
	char path[192];
	_cleanup_free_ char *v = NULL;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", tap, name);
	v = test_read_file(path);
	return v ? strtoll(v, NULL, 10) : -1;
}

/**
 * tap_drain_wait() - wait until QEMU has read what it will of a tap
 * @tap:	its name
 * @max_ms:	bound
 *
 * A tap counts a packet as transmitted when its reader takes it off a
 * queue, so the count stops moving once the read queues are empty (or
 * nobody reads them): then, and not before, a fresh flow's first packet
 * doesn't meet a queue still full of the burst.
 *
 * Return: ms until the count held still for 500 ms, -1 if it never did
 */
static int tap_drain_wait(const char *tap, int max_ms)
{
	int64_t start = now_ms(), still = start;
	long long last = tap_stat(tap, "tx_packets");

	while (now_ms() - start < max_ms) {
		long long cur;

		poll(NULL, 0, 50);
		cur = tap_stat(tap, "tx_packets");
		if (cur != last) {
			last = cur;
			still = now_ms();
		} else if (now_ms() - still >= 500) {
			return (int)(still - start);
		}
	}
	return -1;
}

/**
 * udp_burst() - many UDP flows at once to the guest's discard service
 * @ip:		the guest's address
 * @n_flows:	number of flows (sockets, each on its own source port)
 * @ms:		how long to send
 *
 * Spreads over every queue of a multiqueue tap; a queue no one reads fills
 * up and stays stalled (docs/facts.md §4). Datagrams the host can't send
 * at once are dropped; a full socket is waited for, bounded, not spun on.
 *
 * Return: datagrams sent
 */
static long udp_burst(const char *ip, unsigned n_flows, int ms)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(9)};
	int fds[128];
	char buf[1024];
	int64_t end = now_ms() + ms;
	long sent = 0;
	unsigned n = 0;

	if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1)
		return 0;
	memset(buf, 'q', sizeof(buf));
	for (; n < n_flows && n < ARRAY_SIZE(fds); n++) {
		fds[n] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fds[n] < 0)
			break;
		if (connect(fds[n], (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			close(fds[n]);
			break;
		}
	}
	/* paced a little (64 datagrams a ms): the host's 2 CPUs run the guest */
	for (; n && now_ms() < end; poll(NULL, 0, 1))
		for (unsigned i = 0; i < n; i++) {
			if (send(fds[i], buf, sizeof(buf), MSG_NOSIGNAL) == (ssize_t)sizeof(buf)) {
				sent++;
			} else if (errno == EAGAIN) {
				struct pollfd p = {.fd = fds[i], .events = POLLOUT};

				poll(&p, 1, 10);
			}
		}
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	return sent;
}

/**
 * flows_split() - fresh flows, alternating UDP and TCP, counted apart
 * @ip:		the guest's address
 * @n:		flows (even: half of each)
 * @timeout_ms:	per-flow bound (test_flow_once())
 * @tcp:	answered TCP flows
 *
 * Return: answered flows in all
 */
static int flows_split(const char *ip, int n, int timeout_ms, int *tcp)
{
	int ok = 0;

	*tcp = 0;
	for (int i = 0; i < n; i++) {
		bool got = test_flow_once(ip, i % 2, (unsigned)i, timeout_ms);

		ok += got;
		*tcp += got && i % 2;
	}
	return ok;
}

/**
 * flow_probe() - fresh flows, a multi-flow burst, fresh flows again
 * @ip:		the guest's address, on the test's bridge
 * @tap:	the NIC's tap
 * @n:		flows each time
 * @timeout_ms:	per-flow bound
 * @before:	answered flows before the burst
 * @after:	answered flows after it: stalled queues show up only now
 *
 * The burst is 64 UDP flows for 3 s (docs/facts.md §5b); the flows after it
 * wait, bounded, for the queues that are read to be drained of it.
 */
static void flow_probe(const char *ip, const char *tap, int n, int timeout_ms, int *before,
                       int *after)
{
	long long dropped = tap_stat(tap, "tx_dropped");
	long sent;
	int drained, tcp_before, tcp_after;

	*before = flows_split(ip, n, timeout_ms, &tcp_before);
	sent = udp_burst(ip, 64, 3000);
	drained = tap_drain_wait(tap, 30000);
	fprintf(stderr, "burst: the tap's read queues drained %d ms after it, %lld dropped\n",
	        drained, tap_stat(tap, "tx_dropped") - dropped);
	*after = flows_split(ip, n, timeout_ms, &tcp_after);
	fprintf(stderr,
	        "fresh flows to %s: %d/%d (TCP %d/%d, UDP %d/%d), then a burst (%ld datagrams), "
	        "then %d/%d (TCP %d/%d, UDP %d/%d)\n",
	        ip, *before, n, tcp_before, n / 2, *before - tcp_before, n - n / 2, sent, *after, n,
	        tcp_after, n / 2, *after - tcp_after, n - n / 2);
}

static void incus_case_run(const struct incus_case *c)
{
	_cleanup_(world_end) struct world w = {0};
	char why[256], vm[64], net[32], subnet[32], guest_ip[48], host_ip[48], sock[160], dir[128],
	        profile[192], pname[48], state[160], rawq[1024], cmdline[256];
	_cleanup_free_ char *before = NULL, *after = NULL, *console = NULL, *out = NULL,
	                    *namesake_before = NULL, *namesake_after = NULL;
	const char *src =
	        getenv("QREMAP_GUEST_DIR") ? getenv("QREMAP_GUEST_DIR") : QREMAP_GUEST_DIR_DEFAULT;
	char guest[128];
	unsigned tag = (unsigned)getpid() % 200 + 20;
	unsigned cpus = c->cpus ? c->cpus : 2;
	int with_before = 0, with_after = 0;
	pid_t qremapd = -1;
	FILE *f;

	if (!test_is_root())
		SKIP("needs root");
	if (!incus_usable(why, sizeof(why)))
		SKIP("%s", why);
	snprintf(vm, sizeof(vm), "qremap-t%d", (int)getpid());
	snprintf(net, sizeof(net), "qrt%u", tag);
	snprintf(subnet, sizeof(subnet), "10.79.%u", tag);
	snprintf(host_ip, sizeof(host_ip), "%s.1/24", subnet);
	snprintf(guest_ip, sizeof(guest_ip), "%s.2", subnet);
	snprintf(dir, sizeof(dir), "/run/qremap-test-%d", (int)getpid());
	snprintf(sock, sizeof(sock), "%s/qremap.sock", dir);
	/* qremapd takes a profile NAME from Incus, looked up in the system
	 * directories: the test's own, installed for the test's lifetime
	 */
	snprintf(pname, sizeof(pname), "qremap-test-%d", (int)getpid());
	snprintf(profile, sizeof(profile), "/etc/qremap/profiles/%s.yaml", pname);
	snprintf(state, sizeof(state), "%s/state", dir);
	mkdir(dir, 0755);
	REQUIRE(run(NULL, "mkdir", "-p", "/etc/qremap/profiles", NULL) == 0);
	snprintf(w.profile, sizeof(w.profile), "%s", profile);
	snprintf(w.dir, sizeof(w.dir), "%s", dir);
	/* QEMU runs as nobody under Incus: a world-readable copy of the guest */
	snprintf(guest, sizeof(guest), "/var/tmp/qremap-test-%d", (int)getpid());
	mkdir(guest, 0755);
	snprintf(w.guest, sizeof(w.guest), "%s", guest);
	{
		char k[256], i[256];

		snprintf(k, sizeof(k), "%s/vmlinuz", src);
		snprintf(i, sizeof(i), "%s/initrd.img", src);
		if (access(k, R_OK) || access(i, R_OK))
			SKIP("no test guest in %s (tests/guest/build-guest.sh builds it)", src);
		REQUIRE(run(NULL, "install", "-m", "0644", k, i, guest, NULL) == 0);
	}
	f = fopen(profile, "we");
	REQUIRE(f);
	fputs(c->profile, f);
	fclose(f);

	/* our own bridge: test traffic stays on it */
	run(NULL, "incus", "network", "delete", net, NULL); /* a leftover of a killed run */
	{
		char addr[64];

		snprintf(addr, sizeof(addr), "ipv4.address=%s", host_ip);
		REQUIRE(run(NULL, "incus", "network", "create", net, addr, "ipv4.nat=false",
		            "ipv4.dhcp=false", "ipv6.address=none", NULL) == 0);
		snprintf(w.net, sizeof(w.net), "%s", net);
	}
	if (c->project) {
		/* a namesake in the default project first: qremapd must tell
		 * the two apart (Incus's pid file and API, never QEMU's -name)
		 */
		snprintf(w.project, sizeof(w.project), "%s", vm);
		run(NULL, "incus", "project", "delete", w.project, NULL); /* a leftover */
		REQUIRE(run(NULL, "incus", "project", "create", w.project, NULL) == 0);
		REQUIRE(run(NULL, "incus", "init", "--empty", "--vm", vm, "--no-profiles", "-s",
		            "default", "--project", "default", NULL) == 0);
		w.namesake = true;
		namesake_before = config_text(vm, "default");
		REQUIRE(namesake_before);
		/* from here on, incus and qremap work in the project */
		setenv("INCUS_PROJECT", w.project, 1);
	}
	{
		char cpu[32];

		snprintf(cpu, sizeof(cpu), "limits.cpu=%u", cpus);
		REQUIRE(run(NULL, "incus", "init", "--empty", "--vm", vm, "--no-profiles", "-s",
		            "default", "-c", "security.secureboot=false", "-c", cpu, "-c",
		            "limits.memory=512MiB", NULL) == 0);
	}
	snprintf(w.vm, sizeof(w.vm), "%s", vm);
	/* -s default gave it a root disk on pool "default" */
	{
		char netarg[64];

		snprintf(netarg, sizeof(netarg), "network=%s", net);
		REQUIRE(run(NULL, "incus", "config", "device", "add", vm, "eth0", "nic", netarg,
		            "hwaddr=" TEST_MAC, c->io_bus_usb ? "io.bus=usb" : NULL, NULL) == 0);
	}
	/* what every VM on this machine needs (../shared/incus-rig/README.md) */
	/* maxcpus=2: QEMU keeps its vCPUs (and the tap one queue each, as Incus
	 * makes them), but the guest brings up only 2: more busy TCG vCPUs
	 * than host CPUs stall boots (docs/performance.md)
	 */
	snprintf(cmdline, sizeof(cmdline), "console=ttyS0%s qremap.ip=%s/24",
	         cpus > 2 ? " maxcpus=2" : "", guest_ip);
	/* KEY=VALUE: a value starting with '-' would be read as a flag */
	snprintf(rawq, sizeof(rawq),
	         "raw.qemu=-cpu max -kernel %s/vmlinuz -initrd %s/initrd.img -append \"%s\"", guest,
	         guest, cmdline);
	REQUIRE(run(NULL, "incus", "config", "set", vm, rawq, NULL) == 0);
	/* more vCPUs than host CPUs need maxcpus (../shared/incus-rig/README.md) */
	{
		char smp[64] = "";

		if (cpus > 2)
			snprintf(smp, sizeof(smp), "\n[smp-opts]\nmaxcpus = \"%u\"\n", cpus);
		snprintf(rawq, sizeof(rawq),
		         "raw.qemu.conf=[device \"qemu_vsock\"]\n\n[machine]\naccel = \"tcg\"\n%s",
		         smp);
	}
	if (c->conf_in_profile) {
		/* an Incus profile of the test's own, as users keep their
		 * isa-applesmc lines: enable must add to it, not shadow it
		 */
		snprintf(w.iprofile, sizeof(w.iprofile), "%s", vm);
		run(NULL, "incus", "profile", "delete", w.iprofile, NULL); /* a leftover */
		REQUIRE(run(NULL, "incus", "profile", "create", w.iprofile, NULL) == 0);
		REQUIRE(run(NULL, "incus", "profile", "set", w.iprofile, rawq, NULL) == 0);
		REQUIRE(run(NULL, "incus", "profile", "add", vm, w.iprofile, NULL) == 0);
	} else {
		REQUIRE(run(NULL, "incus", "config", "set", vm, rawq, NULL) == 0);
	}
	/* the disks users add: a file of the host's and a custom volume */
	if (c->more_disks) {
		char img[192], src_arg[224];

		snprintf(img, sizeof(img), "%s/data.img", guest);
		snprintf(src_arg, sizeof(src_arg), "source=%s", img);
		REQUIRE(run(NULL, "truncate", "-s", "16M", img, NULL) == 0);
		REQUIRE(run(NULL, "incus", "config", "device", "add", vm, "data", "disk", src_arg,
		            NULL) == 0);
		snprintf(w.volume, sizeof(w.volume), "%s-vol", vm);
		run(NULL, "incus", "storage", "volume", "delete", "default", w.volume, NULL);
		REQUIRE(run(NULL, "incus", "storage", "volume", "create", "default", w.volume,
		            "--type=block", "size=24MiB", NULL) == 0);
		snprintf(src_arg, sizeof(src_arg), "source=%s", w.volume);
		REQUIRE(run(NULL, "incus", "config", "device", "add", vm, "vol", "disk",
		            "pool=default", src_arg, NULL) == 0);
	}
	before = config_text(vm, NULL);
	REQUIRE(before);

	/* enable, then start with qremapd */
	{
		const char *argv[] = {qremap_bin(),       "incus", "enable", vm, "--profile", pname,
		                      "--qremapd-socket", sock,    NULL};
		char *errs = NULL;
		int rc = test_run_capture(argv, &out, &errs);

		if (rc)
			fprintf(stderr, "enable: %s%s\n", out, errs);
		free(errs);
		REQUIRE(rc == 0);
	}
	/* the profile's raw.qemu.conf carried into the instance's, before
	 * qremap's own sections
	 */
	if (c->conf_in_profile) {
		_cleanup_free_ char *conf = NULL;

		CHECK_INT(run(&conf, "incus", "config", "get", vm, "raw.qemu.conf", NULL), 0);
		CHECK_CONTAINS(conf, "[device \"qemu_vsock\"]");
		CHECK_CONTAINS(conf, "qremap");
	}
	REQUIRE(qremap_bin() && qremapd_bin());
	qremapd = fork();
	if (qremapd == 0) {
		const char *bin = qremapd_bin();
		char log[192];
		int fd;

		snprintf(log, sizeof(log), "%s/qremapd.log", dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		/* as the unit runs it: from /, with a user of its own (the
		 * package's qremapd system user); profiles by name only
		 */
		if (chdir("/") < 0)
			_exit(126);
		execl(bin, bin, "--socket", sock, "--state-dir", state, "--user", "4290:4290",
		      (char *)NULL);
		_exit(127);
	}
	REQUIRE(qremapd > 0);
	w.qremapd = qremapd;
	{
		int rc;

		free(out);
		out = NULL;
		rc = run(&out, "incus", "start", vm, NULL);

		if (rc)
			fprintf(stderr, "incus start: %s\n", out);
		CHECK_INT(rc, 0);
	}
	/* the daemon that served the start runs with the reduced privileges
	 * (privilege.h), as its own user: taps in the host's namespace need no
	 * setns
	 */
	{
		char path[64];
		_cleanup_free_ char *status = NULL;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)qremapd);
		status = test_read_file(path);
		CHECK(status && strstr(status, "\nCapEff:\t0000000000281004\n"));
		CHECK(status && strstr(status, "\nUid:\t4290\t4290\t4290\t4290\n"));
		CHECK(status && strstr(status, "\nSeccomp:\t2\n"));
	}
	/* Incus's QMP log: the handshake's polls (run_command) are left out of
	 * it, so a start logs its own queries plus query-chardev and
	 * system_reset, not one query per poll
	 */
	{
		char path[160];
		_cleanup_free_ char *qlog = NULL;

		/* Incus's log directory: PROJECT_NAME outside the default
		 * project (project.Instance())
		 */
		snprintf(path, sizeof(path), "/var/log/incus/%s%s%s/qemu.qmp.log", w.project,
		         w.project[0] ? "_" : "", vm);
		qlog = test_read_file(path);
		CHECK(qlog != NULL);
		if (qlog) {
			fprintf(stderr,
			        "%s: %u queries logged in all, the handshake's query-chardev "
			        "and system_reset among them, no ringbuf-read\n",
			        path, count_substr(qlog, "] QUERY: "));
			CHECK_INT(count_substr(qlog, "ringbuf-read"), 0);
			CHECK(count_substr(qlog, "\"query-chardev\"") >= 1);
		}
	}
	/* boot order: the root disk's placeholder holds, as QEMU reports it
	 * (qremapd's log), the bootindex enable wrote for it
	 */
	{
		char path[192], want[64];
		_cleanup_free_ char *dlog = NULL, *conf = NULL;
		const char *at;
		int bi = -1;

		snprintf(path, sizeof(path), "%s/qremapd.log", dir);
		dlog = test_read_file(path);
		at = dlog ? strstr(dlog, ": disk root on ") : NULL;
		at = at ? strstr(at, ", bootindex ") : NULL;
		CHECK(at && sscanf(at, ", bootindex %d", &bi) == 1 && bi >= 0);
		CHECK_INT(run(&conf, "incus", "config", "get", vm, "raw.qemu.conf", NULL), 0);
		snprintf(want, sizeof(want), "bootindex = \"%d\"", bi);
		CHECK_CONTAINS(conf, want);
		fprintf(stderr, "root disk's placeholder: bootindex %d, as enable wrote it\n", bi);
	}
	CHECK(boot_wait(vm, &console));
	CHECK_CONTAINS(console, "QG READY");
	{
		char want[64];

		snprintf(want, sizeof(want), "driver=%s ", c->nic_driver);
		CHECK_CONTAINS(console, want);
		snprintf(want, sizeof(want), "driver=%s", c->disk_driver);
		CHECK_CONTAINS(console, want);
		/* each at its own size: a placeholder of another size would
		 * show the guest that one (or an empty disk)
		 */
		if (c->more_disks) {
			snprintf(want, sizeof(want), "size_bytes=%d driver=%s", 16 << 20,
			         c->disk_driver);
			CHECK_CONTAINS(console, want);
			snprintf(want, sizeof(want), "size_bytes=%d driver=%s", 24 << 20,
			         c->disk_driver);
			CHECK_CONTAINS(console, want);
		}
	}
	if (c->one_nic) {
		/* the placeholder, alone: the virtio original is gone */
		CHECK_INT(count_lines(console, "QG NET "), 1);
		CHECK_CONTAINS(console, " mac=" TEST_MAC " driver=");
		CHECK(!strstr(console, "driver=cdc_ether"));
	} else {
		CHECK(!strstr(console, "driver=virtio_net"));
	}
	{
		char *pout = NULL;

		run(&pout, "busybox", "ping", "-q", "-c", "50", "-i", "0.1", "-W", "2", guest_ip,
		    NULL);
		fprintf(stderr, "ping over the test bridge: %s\n", pout ? pout : "(none)");
		CHECK_CONTAINS(pout, "50 packets transmitted, 50 packets received");
		free(pout);
	}
	/* the remapped NIC reads the tap's only queue: no flow is lost, before
	 * or after a burst
	 */
	if (c->flows) {
		char tap[32];
		int q;

		CHECK(tap_name(vm, "eth0", tap, sizeof(tap)));
		q = tap_queues(tap);
		fprintf(stderr, "with qremap: the tap has %d queue(s) on %u vCPUs\n", q, cpus);
		CHECK_INT(q, 1);
		flow_probe(guest_ip, tap, c->flows, 3000, &with_before, &with_after);
		CHECK_INT(with_before, c->flows);
		CHECK_INT(with_after, c->flows);
	}
	run(NULL, "incus", "stop", "--force", vm, NULL);
	{
		char *st = NULL;
		const char *argv[] = {qremap_bin(),  "incus", "status", vm,
		                      "--state-dir", state,   NULL};

		CHECK_INT(test_run_capture(argv, &st, NULL), 0);
		fprintf(stderr, "qremap incus status:\n%s", st);
		CHECK_CONTAINS(st, "last remap: done");
		if (c->project)
			CHECK_CONTAINS(st, w.project);
		free(st);
	}
	/* A disk added since enable has no placeholder: the start fails at
	 * pre-start, before anything was changed, and says to enable again
	 */
	if (c->disk_added) {
		char img[192], src_arg[224];
		char *sout = NULL;
		int rc;

		snprintf(img, sizeof(img), "%s/added.img", guest);
		snprintf(src_arg, sizeof(src_arg), "source=%s", img);
		REQUIRE(run(NULL, "truncate", "-s", "8M", img, NULL) == 0);
		REQUIRE(run(NULL, "incus", "config", "device", "add", vm, "added", "disk", src_arg,
		            NULL) == 0);
		{
			const char *argv[] = {"incus", "start", vm, NULL};

			/* Incus says why a start failed on stderr */
			rc = test_run_capture(argv, NULL, &sout);
		}
		fprintf(stderr, "incus start with a disk added since enable: %s\n",
		        sout ? sout : "(no output)");
		CHECK(rc != 0);
		CHECK_CONTAINS(sout, "qremap: failed: refused: disk added");
		CHECK_CONTAINS(sout, "and enable it again");
		free(sout);
		run(NULL, "incus", "stop", "--force", vm, NULL);
		CHECK_INT(run(NULL, "incus", "config", "device", "remove", vm, "added", NULL), 0);
	}
	{
		char *errs = NULL;
		const char *argv[] = {qremap_bin(), "incus", "disable", vm, NULL};

		free(out);
		out = NULL;
		CHECK_INT(test_run_capture(argv, &out, &errs), 0);
		free(errs);
	}
	after = config_text(vm, NULL);
	CHECK(after && !strcmp(before, after));
	if (after && strcmp(before, after))
		fprintf(stderr, "config before enable:\n%s\nafter disable:\n%s\n", before, after);
	/* the default project's namesake: untouched by enable and disable */
	if (c->project) {
		namesake_after = config_text(vm, "default");
		CHECK(namesake_after && !strcmp(namesake_before, namesake_after));
	}

	/* The same VM without qremap: Incus's own NIC, one queue per vCPU.
	 * Shorter bounds, as most probes may go unanswered here; the loss
	 * must show, or the probe couldn't tell a good remap from none.
	 */
	if (c->flows && c->without) {
		int q, b = 0, a = 0;
		char tap[32];

		free(out);
		out = NULL;
		if (run(&out, "incus", "start", vm, NULL)) {
			fprintf(stderr, "incus start without qremap: %s\n", out);
			CHECK(false);
		} else if (boot_wait(vm, &console)) {
			/* Incus's console log is the current boot's */
			CHECK_INT(count_substr(console, "QG BOOT "), 1);
			CHECK(tap_name(vm, "eth0", tap, sizeof(tap)));
			q = tap_queues(tap);
			fprintf(stderr, "without qremap: the tap has %d queues on %u vCPUs\n", q,
			        cpus);
			CHECK(q >= 2);
			flow_probe(guest_ip, tap, c->flows, 1000, &b, &a);
			CHECK(a < c->flows);
			fprintf(stderr,
			        "fresh flows lost after a burst: with qremap %d/%d (%d %%), "
			        "without %d/%d (%d %%; lost before the burst: %d/%d)\n",
			        c->flows - with_after, c->flows,
			        100 * (c->flows - with_after) / c->flows, c->flows - a, c->flows,
			        100 * (c->flows - a) / c->flows, c->flows - b, c->flows);
		} else {
			fprintf(stderr, "the guest did not boot without qremap\n");
			CHECK(false);
		}
		run(NULL, "incus", "stop", "--force", vm, NULL);
	}

	if (test_failures) {
		char p[256], *l = NULL;

		snprintf(p, sizeof(p), "%s/qremapd.log", dir);
		run(&l, "cat", p, NULL);
		fprintf(stderr, "qremapd log:\n%s\n", l);
		free(l);
	}
}

/* usb-net + SATA, the macos-usbnet layout; warn: Incus's QEMU 10.0.2 forces
 * 0x40 into usb-net's MAC
 */
#define PROFILE_USBNET_SATA                                                                        \
	"qremap_profile: 1\nname: incus-test\n"                                                    \
	"nics:\n  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"                            \
	"disks:\n  - {match: \"*\", to: sata}\n"

static void test_incus_usbnet(void)
{
	static struct incus_case c = {
	        .profile = PROFILE_USBNET_SATA,
	        .nic_driver = "cdc_ether",
	        .disk_driver = "ahci",
	        .disk_added = true,
	        .more_disks = true,
	};

	incus_case_run(&c);
}

/* The shipped default, profiles/macos.yaml, as it is: hub placeholders; the
 * VM's raw.qemu.conf in an Incus profile, as macOS users keep theirs; the VM
 * in a project of its own, with a namesake in the default project
 */
static void test_incus_macos_default(void)
{
	static struct incus_case c = {.one_nic = true, .conf_in_profile = true, .project = true};
	static struct profile p;
	struct qr_error err = {0};
	const struct nic_rule *r;
	_cleanup_free_ char *text = test_read_file(QREMAP_SOURCE_DIR "/profiles/macos.yaml");

	REQUIRE(text);
	REQUIRE(profile_load_file(QREMAP_SOURCE_DIR "/profiles/macos.yaml", &p, &err) == 0);
	r = profile_match_nic(&p, "eth0", "dev-incus_eth0");
	REQUIRE(r && r->target == NIC_TO_HUB && r->model[0]);
	REQUIRE(p.n_disks >= 1);
	snprintf(c.profile, sizeof(c.profile), "%s", text);
	snprintf(c.nic_driver, sizeof(c.nic_driver), "%s", linux_nic_driver(r->model));
	snprintf(c.disk_driver, sizeof(c.disk_driver), "%s",
	         p.disks[0].target == DISK_TO_VIRTIO_BLK ? "virtio_blk" : "ahci");
	fprintf(stderr, "profiles/macos.yaml: NIC %s (guest driver %s), disk driver %s\n", r->model,
	        c.nic_driver, c.disk_driver);
	incus_case_run(&c);
}

/*
 * Incus's own USB NIC (io.bus=usb) on 4 vCPUs: usb-net on four tap queues,
 * of which it reads one. Remapped to usb-net on one fresh queue, no fresh
 * flow may be lost after a burst; without qremap, the loss is printed.
 */
static void test_incus_io_bus_usb(void)
{
	static struct incus_case c = {
	        .profile = PROFILE_USBNET_SATA,
	        .nic_driver = "cdc_ether",
	        .disk_driver = "ahci",
	        .cpus = 4,
	        .io_bus_usb = true,
	        .flows = 40,
	        .without = true,
	};

	incus_case_run(&c);
}

TEST_MAIN(test_incus_usbnet, test_incus_macos_default, test_incus_io_bus_usb)
