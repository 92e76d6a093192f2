// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/test_daemon.c: qremapd with several real VMs
 *
 * Each fixture VM's QEMU dials qremapd through a client-mode monitor, as
 * Incus VMs do with the raw.qemu.conf from 'qremap config --client-monitor'.
 * The test then plays the generated pre-start scriptlet over each VM's
 * "Incus" monitor, call for call (handshake.h): query-chardev, system_reset,
 * ringbuf-read until a line. It asserts every VM is remapped before Incus
 * would send cont, concurrently, with one VM's QEMU deliberately stopped
 * (SIGSTOP) in the middle of its remap not delaying the others; and that
 * qremapd survives VMs going away, restarts (QEMU reconnects as nobody), and
 * stops cleanly on SIGTERM.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "fixture.h"
#include "qremap/handshake.h"
#include "qremap/util.h"
#include "testlib.h"

#define N_VMS  3
#define N_IDLE 300 /* idle connections an attacker holds */

/* Start qremapd (QREMAPD_BIN, else the build's) in d->dir; bounded. */
static bool daemon_start(struct fx_daemon *d, const char *profile)
{
	const char *bin = getenv("QREMAPD_BIN") ? getenv("QREMAPD_BIN") : QREMAPD_BIN_DEFAULT;

	return fx_daemon_start(d, bin, profile, N_VMS, NULL);
}

static void print_log(const struct fx_daemon *d)
{
	char line[512];
	FILE *f = fopen(d->log, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  | %s", line);
	fclose(f);
}

/* Start one VM whose QEMU dials the daemon; SATA placeholder for root. */
static bool vm_start(struct fixture **f, const char *dir, const char *daemon_sock, int idx)
{
	static char names[N_VMS][16];
	struct qr_error err = {0};
	struct fixture_opts o;

	fixture_opts_init(&o);
	o.dir = dir;
	snprintf(names[idx], sizeof(names[idx]), "vm%d", idx);
	o.name = names[idx];
	o.vcpus = 2;
	o.nics = 1;
	o.n_disks = 1;
	o.client_monitor = daemon_sock;
	if (getenv("QREMAP_QEMU"))
		o.qemu = getenv("QREMAP_QEMU");
	o.args[o.n_args++] = "-device";
	o.args[o.n_args++] = "ich9-ahci,id=qremap_ahci";
	o.args[o.n_args++] = "-blockdev";
	o.args[o.n_args++] = "driver=null-co,node-name=qremap_sata0_null,size=67108864,"
	                     "read-zeroes=on";
	o.args[o.n_args++] = "-device";
	o.args[o.n_args++] = "ide-hd,id=qremap_sata0,drive=qremap_sata0_null,bus=qremap_ahci.0";
	if (fixture_start(&o, f, &err) < 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		*f = NULL;
		return false;
	}
	return true;
}

/* Scriptlet step 1: is qremapd there (its status chardev exists)? Bounded. */
static bool wait_chardev(struct fixture *f, int timeout_ms, unsigned *calls)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		struct qr_error err = {0};
		json_t *ret = NULL, *c;
		bool found = false;
		size_t i;

		(*calls)++;
		if (qmp_execute(f->incus, "query-chardev", NULL, &ret, &err) < 0)
			return false;
		json_array_foreach(ret, i, c) found |=
		        !strcmp(str_or(json_string_value(json_object_get(c, "label")), ""),
		                HANDSHAKE_CHARDEV);
		json_decref(ret);
		if (found)
			return true;
		/* the test, unlike the scriptlet, may start before QEMU dialled */
		poll(NULL, 0, 20);
	}
	return false;
}

/* Scriptlet step 2: the signal. */
static bool signal_prestart(struct fixture *f, unsigned *calls)
{
	struct qr_error err = {0};

	(*calls)++;
	return qmp_execute(f->incus, "system_reset", NULL, NULL, &err) == 0;
}

/* Scriptlet step 3: ringbuf-read until a line; back to back, like the scriptlet. */
static bool read_status(struct fixture *f, char *line, size_t len, unsigned max_polls,
                        unsigned *calls)
{
	size_t have = 0;

	line[0] = '\0';
	for (unsigned i = 0; i < max_polls; i++) {
		struct qr_error err = {0};
		json_t *ret = NULL;

		(*calls)++;
		if (qmp_executef(f->incus, &ret, &err, "ringbuf-read", "{s:s, s:i, s:s}", "device",
		                 HANDSHAKE_CHARDEV, "size", HANDSHAKE_RING_SIZE, "format",
		                 "utf8") < 0) {
			fprintf(stderr, "ringbuf-read: %s\n", err.msg);
			return false;
		}
		snprintf(line + have, len - have, "%s", str_or(json_string_value(ret), ""));
		have = strlen(line);
		json_decref(ret);
		if (strchr(line, '\n'))
			return true;
	}
	return false;
}

/* Whether /machine/peripheral has @id, via the "Incus" monitor. */
static bool has_device(struct fixture *f, const char *id)
{
	struct qr_error err = {0};
	json_t *ret = NULL, *e;
	bool found = false;
	size_t i;

	if (qmp_executef(f->incus, &ret, &err, "qom-list", "{s:s}", "path", "/machine/peripheral") <
	    0)
		return false;
	json_array_foreach(ret, i, e) found |=
	        !strcmp(str_or(json_string_value(json_object_get(e, "name")), ""), id);
	json_decref(ret);
	return found;
}

static bool log_has(const struct fx_daemon *d, const char *what)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(d->log, "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, what) != NULL;
	fclose(f);
	return found;
}

/**
 * proc_status() - one field of /proc/PID/status
 * @pid:	process
 * @key:	field name, without the colon
 *
 * Return: its value (static buffer), "" if not found
 */
static const char *proc_status(pid_t pid, const char *key)
{
	static char val[64];
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;

	val[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return val;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			/* the whole value: Uid and Gid have four, tab-separated */
			const char *v = line + kl + 1 + strspn(line + kl + 1, " \t");

			snprintf(val, sizeof(val), "%.*s", (int)strcspn(v, "\n"), v);
			break;
		}
	fclose(f);
	return val;
}

static void test_daemon_many_vms_one_hung(void)
{
	struct fixture *vm[N_VMS] = {NULL};
	char dirs[N_VMS][256] = {""}, profile[320];
	struct fx_daemon d __attribute__((cleanup(fx_daemon_cleanup))) = {0};
	unsigned calls[N_VMS] = {0};
	char line[600];
	int64_t t0, t_others;
	FILE *pf;
	bool ok = true;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	snprintf(d.dir, sizeof(d.dir), "%s", test_tmpdir("daemon"));
	chmod(d.dir, 0755);
	snprintf(profile, sizeof(profile), "%s/vm.yaml", d.dir);
	pf = fopen(profile, "we");
	REQUIRE(pf);
	fputs("qremap_profile: 1\nname: daemon-test\n"
	      "nics:\n  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"
	      "disks:\n  - {match: \"*\", to: sata}\n"
	      "timeouts: {qmp_ms: 3000, unplug_ms: 3000}\n",
	      pf);
	fclose(pf);
	REQUIRE(daemon_start(&d, profile));

	for (int i = 0; i < N_VMS && ok; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s", test_tmpdir("daemon-vm"));
		ok = vm_start(&vm[i], dirs[i], d.sock, i);
	}
	CHECK(ok);
	for (int i = 0; i < N_VMS && ok; i++) {
		ok = wait_chardev(vm[i], 10000, &calls[i]);
		CHECK(ok);
	}
	if (!ok)
		goto out;
	/* Serving VMs, so start-up is over: only the remap's capabilities
	 * are left, under no_new_privs and the seccomp filter, and no uid or
	 * gid of root's (privilege.h)
	 */
	CHECK_STR(proc_status(d.pid, "CapEff"), "0000000000281004");
	CHECK_STR(proc_status(d.pid, "CapBnd"), "0000000000281004");
	CHECK_STR(proc_status(d.pid, "Uid"), "4290\t4290\t4290\t4290");
	CHECK_STR(proc_status(d.pid, "Gid"), "4290\t4290\t4290\t4290");
	CHECK_STR(proc_status(d.pid, "Groups"), "");
	CHECK_STR(proc_status(d.pid, "CapInh"), "0000000000000000");
	CHECK_STR(proc_status(d.pid, "NoNewPrivs"), "1");
	CHECK_STR(proc_status(d.pid, "Seccomp"), "2");
	CHECK(log_has(&d, "privileges: capabilities kept: cap_net_admin,cap_sys_admin,"
	                  "cap_sys_ptrace,cap_dac_read_search; seccomp refuses"));
	CHECK(log_has(&d, "runs as uid 4290, gid 4290, groups none"));

	/* VM 0 signals, then its QEMU freezes in the middle of its remap */
	CHECK(signal_prestart(vm[0], &calls[0]));
	kill(vm[0]->qemu_pid, SIGSTOP);
	t0 = now_ms();

	/* the others: signal both, then poll both, as two Incus starts would */
	for (int i = 1; i < N_VMS; i++)
		CHECK(signal_prestart(vm[i], &calls[i]));
	for (int i = 1; i < N_VMS; i++) {
		CHECK(read_status(vm[i], line, sizeof(line), HANDSHAKE_MAX_POLLS, &calls[i]));
		CHECK(str_has_prefix(line, HANDSHAKE_DONE));
		/* remapped before Incus would send cont */
		CHECK(has_device(vm[i], "dev-qremap_eth0"));
		CHECK(!has_device(vm[i], "dev-incus_eth0"));
		CHECK(!has_device(vm[i], "dev-incus_root"));
		fprintf(stderr, "vm %d: %s", i, line);
		fprintf(stderr,
		        "vm %d: the scriptlet's handshake made %u QMP calls (1 query-chardev"
		        " poll counted per wait, 1 system_reset, the rest ringbuf-read)\n",
		        i, calls[i]);
	}
	t_others = now_ms() - t0;
	/* each result is kept where 'qremap incus status' reads it */
	{
		char path[400];

		snprintf(path, sizeof(path), "%s/state/vm1.json", d.dir);
		CHECK(access(path, R_OK) == 0);
	}
	fprintf(stderr, "the other VMs were done %lld ms after VM 0 froze\n", (long long)t_others);
	/* VM 0's QMP timeout is 3 s: the others must not have waited for it */
	CHECK(t_others < 3000);

	/* VM 0 thaws: depending on where it froze, its remap goes on (the
	 * signal was still in QEMU's output buffer) or timed out (then it
	 * fails closed: "failed", and QEMU is told to quit). Never a hang.
	 */
	kill(vm[0]->qemu_pid, SIGCONT);
	{
		int pfd = (int)syscall(SYS_pidfd_open, vm[0]->qemu_pid, 0);
		bool answered = read_status(vm[0], line, sizeof(line), 100000, &calls[0]);
		bool done = answered && str_has_prefix(line, HANDSHAKE_DONE);
		bool failed = answered && str_has_prefix(line, HANDSHAKE_FAILED);
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		bool gone = !done && pfd >= 0 && poll(&p, 1, 10000) == 1;

		fprintf(stderr, "vm 0 (frozen, then thawed): %s%s\n",
		        answered ? line : "no status line; QEMU ",
		        answered ? "" : (gone ? "quit" : "still running"));
		CHECK(done || failed || gone);
		if (done)
			CHECK(has_device(vm[0], "dev-qremap_eth0") &&
			      !has_device(vm[0], "dev-incus_eth0"));
		if (pfd >= 0)
			close(pfd);
	}

	/* qremapd survives a VM going away, and restarts: QEMU reconnects as nobody */
	fixture_destroy(vm[2]);
	vm[2] = NULL;
	CHECK_INT(fx_daemon_stop(&d), 0);
	CHECK(access(d.sock, F_OK) != 0);
	REQUIRE(daemon_start(&d, profile));
	{
		int64_t deadline = now_ms() + 10000;

		while (!log_has(&d, "uid 65534") && now_ms() < deadline)
			poll(NULL, 0, 50);
		CHECK(log_has(&d, "uid 65534"));
		calls[1] = 0;
		CHECK(signal_prestart(vm[1], &calls[1]));
		CHECK(read_status(vm[1], line, sizeof(line), HANDSHAKE_MAX_POLLS, &calls[1]));
		/* already remapped: the second remap finds nothing to do */
		CHECK(str_has_prefix(line, HANDSHAKE_NOTHING));
	}
	CHECK_INT(fx_daemon_stop(&d), 0);
out:
	if (test_failures)
		print_log(&d);
	if (d.pid > 0)
		fx_daemon_stop(&d);
	for (int i = 0; i < N_VMS; i++) {
		if (vm[i]) {
			kill(vm[i]->qemu_pid, SIGCONT);
			fixture_destroy(vm[i]);
		}
		test_rmtree(dirs[i]);
	}
	test_rmtree(d.dir);
}

/*
 * An attacker's process as @uid: opens up to N_IDLE connections to @sock and
 * holds them, saying nothing, until a byte arrives on the returned pipe (or
 * 60 s pass). Writes how many it opened on @count_fd. Return: its pid.
 */
static pid_t idle_attacker(const char *sock, uid_t uid, int *stop_fd, int *count_fd)
{
	int stop[2], count[2];
	pid_t pid;

	if (pipe2(stop, O_CLOEXEC) < 0 || pipe2(count, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		struct pollfd p = {.fd = stop[0], .events = POLLIN};
		unsigned n = 0;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(1);
		/* blocking connects, each bounded: a full backlog makes them
		 * wait for qremapd's accept, so all N_IDLE get through
		 */
		for (unsigned i = 0; i < N_IDLE; i++) {
			struct timeval tv = {.tv_sec = 2};
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);

			if (fd >= 0 &&
			    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
			    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				n++;
		}
		if (write(count[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		poll(&p, 1, 60000);
		_exit(0);
	}
	close(stop[0]);
	close(count[1]);
	*stop_fd = stop[1];
	*count_fd = count[0];
	return pid;
}

/* utime + stime of @pid, in clock ticks */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *s;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	s = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after ')': state(3) ... utime(14) stime(15) */
	if (!s ||
	    sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* The lowest descriptor number @pid doesn't use: with RLIMIT_NOFILE set to
 * it, the process can open nothing more
 */
static unsigned lowest_free_fd(pid_t pid)
{
	char path[64];
	bool used[1024] = {false};
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		unsigned long v = strtoul(de->d_name, NULL, 10);

		if (de->d_name[0] != '.' && v < ARRAY_SIZE(used))
			used[v] = true;
	}
	closedir(d);
	while (n < ARRAY_SIZE(used) && used[n])
		n++;
	return n;
}

/*
 * Denial of service: 300 idle connections from another user and 300 from
 * nobody (QEMU's own uid) while a real VM starts; then qremapd out of
 * descriptors must back off, not spin, and recover.
 */
/**
 * prlimit_as_daemon() - get or set qremapd's RLIMIT_NOFILE
 * @pid:	qremapd
 * @lim:	the new limit (soft at most the hard one), NULL to only get
 * @old:	the limit before, or NULL
 *
 * Root here may lack CAP_SYS_RESOURCE, and qremapd runs as its own user
 * once set up: prlimit(2) is then allowed to a process of the same uids and
 * gids only. A child of ours becomes that user to make the call.
 *
 * Return: true if it worked
 */
static bool prlimit_as_daemon(pid_t pid, const struct rlimit *lim, struct rlimit *old)
{
	struct rlimit got = {0};
	int st = -1, p[2];
	pid_t kid;
	bool ok;

	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	kid = fork();
	if (kid == 0) {
		if (setresgid(FX_DAEMON_USER_UID, FX_DAEMON_USER_UID, FX_DAEMON_USER_UID) < 0 ||
		    setresuid(FX_DAEMON_USER_UID, FX_DAEMON_USER_UID, FX_DAEMON_USER_UID) < 0 ||
		    prlimit(pid, RLIMIT_NOFILE, lim, &got) < 0)
			_exit(1);
		_exit(write(p[1], &got, sizeof(got)) == sizeof(got) ? 0 : 2);
	}
	close(p[1]);
	ok = kid > 0 && read(p[0], &got, sizeof(got)) == sizeof(got);
	close(p[0]);
	ok = kid > 0 && waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0 && ok;
	if (ok && old)
		*old = got;
	return ok;
}

static void test_daemon_under_attack(void)
{
	struct fixture *vm = NULL;
	char dir[256], vmdir[256], profile[320], line[600];
	struct fx_daemon d __attribute__((cleanup(fx_daemon_cleanup))) = {0};
	int stop[2] = {-1, -1}, count[2] = {-1, -1};
	pid_t att[2] = {-1, -1};
	unsigned calls = 0, opened[2] = {0, 0};
	FILE *pf;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps, other uids)");
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("daemon-dos"));
	chmod(dir, 0755);
	snprintf(d.dir, sizeof(d.dir), "%s", dir);
	snprintf(profile, sizeof(profile), "%s/vm.yaml", dir);
	pf = fopen(profile, "we");
	REQUIRE(pf);
	fputs("qremap_profile: 1\nname: dos-test\n"
	      "nics:\n  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"
	      "disks:\n  - {match: \"*\", to: sata}\n",
	      pf);
	fclose(pf);
	REQUIRE(daemon_start(&d, profile));

	att[0] = idle_attacker(d.sock, 4242, &stop[0], &count[0]);
	att[1] = idle_attacker(d.sock, 65534, &stop[1], &count[1]);
	REQUIRE(att[0] > 0 && att[1] > 0);
	for (int i = 0; i < 2; i++) {
		struct pollfd p = {.fd = count[i], .events = POLLIN};

		CHECK(poll(&p, 1, 30000) == 1 &&
		      read(count[i], &opened[i], sizeof(opened[i])) == sizeof(opened[i]));
	}
	fprintf(stderr, "attackers opened %u (uid 4242) and %u (nobody) connections\n", opened[0],
	        opened[1]);
	CHECK_INT(opened[0], N_IDLE);
	CHECK_INT(opened[1], N_IDLE);
	/* a real VM starts meanwhile, and is remapped as usual */
	snprintf(vmdir, sizeof(vmdir), "%s", test_tmpdir("daemon-dos-vm"));
	REQUIRE(vm_start(&vm, vmdir, d.sock, 0));
	CHECK(wait_chardev(vm, 10000, &calls));
	CHECK(signal_prestart(vm, &calls));
	CHECK(read_status(vm, line, sizeof(line), HANDSHAKE_MAX_POLLS, &calls));
	CHECK(str_has_prefix(line, HANDSHAKE_DONE));
	/* bounded: a thread per admitted connection, and few are admitted */
	{
		unsigned long long threads = strtoull(proc_status(d.pid, "Threads"), NULL, 10);

		fprintf(stderr, "qremapd runs %llu threads under attack\n", threads);
		CHECK(threads > 0 && threads <= 1 + 64 + 2);
	}
	for (int i = 0; i < 2; i++) {
		CHECK(write(stop[i], "x", 1) == 1);
		waitpid(att[i], NULL, 0);
		close(stop[i]);
		close(count[i]);
	}

	/* out of descriptors: accept() fails with EMFILE while a connection
	 * waits; qremapd must back off instead of spinning a core
	 */
	{
		struct rlimit old, low;
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		struct pollfd p;
		long long t0, t1;
		int fd, fd2;
		char c;

		/* the attackers' sessions end as their connections close: wait
		 * (bounded) until only the main thread and the VM's are left, so
		 * that no descriptor frees up after the limit is set
		 */
		int64_t settle = now_ms() + 20000;

		while (strtoull(proc_status(d.pid, "Threads"), NULL, 10) > 2 && now_ms() < settle)
			poll(NULL, 0, 50);
		CHECK_INT(strtoull(proc_status(d.pid, "Threads"), NULL, 10), 2);
		REQUIRE(prlimit_as_daemon(d.pid, NULL, &old));
		low = old;
		low.rlim_cur = lowest_free_fd(d.pid);
		REQUIRE(prlimit_as_daemon(d.pid, &low, NULL));
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%.107s", d.sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		REQUIRE(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		t0 = cpu_ticks(d.pid);
		/* a measurement window, not a synchronisation */
		poll(NULL, 0, 1000);
		t1 = cpu_ticks(d.pid);
		fprintf(stderr, "qremapd used %lld ticks of CPU in 1 s without descriptors\n",
		        t1 - t0);
		CHECK(t0 >= 0 && t1 - t0 < sysconf(_SC_CLK_TCK) / 4);
		CHECK(log_has(&d, "accept: Too many open files"));
		REQUIRE(prlimit_as_daemon(d.pid, &old, NULL));
		/* recovered: a connection from a uid it doesn't serve is now
		 * accepted and closed at once
		 */
		fd2 = -1;
		pid_t kid = fork();

		if (kid == 0) {
			if (setresgid(4242, 4242, 4242) < 0 || setresuid(4242, 4242, 4242) < 0)
				_exit(1);
			fd2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd2 < 0 || connect(fd2, (struct sockaddr *)&sa, sizeof(sa)) < 0)
				_exit(1);
			p = (struct pollfd){.fd = fd2, .events = POLLIN};
			_exit(poll(&p, 1, 5000) == 1 && read(fd2, &c, 1) == 0 ? 0 : 1);
		} else {
			int st = -1;

			CHECK(kid > 0 && waitpid(kid, &st, 0) == kid);
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		close(fd);
	}
	CHECK_INT(fx_daemon_stop(&d), 0);
	if (test_failures)
		print_log(&d);
	if (d.pid > 0)
		fx_daemon_stop(&d);
	fixture_destroy(vm);
	test_rmtree(vmdir);
	test_rmtree(dir);
}

TEST_MAIN(test_daemon_many_vms_one_hung, test_daemon_under_attack)
