// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_privilege.c: what privilege_drop() leaves
 *
 * Each case runs in a forked child (the drop can't be undone), which reports
 * its findings on a pipe, one "key value" line each; the parent checks them.
 * Before the drop the child makes what it will probe: files in a temporary
 * directory that is not in the writable list (a root-owned file, a listening
 * unix socket, a file kept open for writing), a subdirectory that is, and,
 * as root, a network namespace of its own, so that the tap it opens leaves
 * nothing behind. After the drop it tries what a hijacked qremapd would
 * (io_uring, signals to another root process, writing /proc/PID/mem or a
 * root-owned file, chmod, an inet socket, setns into other kinds of
 * namespace...) and what a remap must still do (a tap queue, pidfd_getfd,
 * /proc reads, setns into a network namespace, the state directory, threads).
 *
 * The other root process is a sleeper the parent forks and kills, by pid,
 * once the child is done; the parent also removes the temporary directory.
 *
 * QREMAP_TEST_VERBOSE=1 prints each child's report, including two probes
 * that are not checked because they succeed by design (privilege.h): through
 * /proc/PID/root of another process, CAP_SYS_PTRACE still reaches that
 * process's writable mounts.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qremap/privilege.h"
#include "qremap/util.h"
#include "testlib.h"

#define CHILD_TIMEOUT_S 20

/* The capabilities privilege.h says are kept, as a CapEff/CapBnd mask */
#define KEPT_MASK ((1ULL << CAP_NET_ADMIN) | (1ULL << CAP_SYS_ADMIN) | (1ULL << CAP_SYS_PTRACE))

/* Read by the child in the sleeper's memory, through /proc/PID/mem */
static volatile unsigned long long sleeper_magic;
#define SLEEPER_MAGIC 0x5152454d41505f31ULL

/**
 * struct child_opts - one child's drop and what surrounds it
 * @seccomp:	install the filter
 * @readonly_fs: make the read-only mount namespace
 * @fallback:	use the pre-5.12 way to make it (QREMAP_TEST_MOUNT_FALLBACK)
 * @bad_writable: name a writable directory that doesn't exist: the drop fails
 * @open_dir:	keep a directory open across the drop: the drop fails
 * @dir:	temporary directory (not writable after the drop)
 * @parent:	the test process (getppid() is a call the filter refuses in
 *		release builds: qremap never makes it)
 * @sleeper:	another root process of ours, which must survive the child
 * @keep:	a descriptor the parent and the sleeper both have
 * @as_user:	leave uid 0 for TEST_UID (qremapd's --user)
 */
struct child_opts {
	bool as_user;
	bool seccomp;
	bool readonly_fs;
	bool fallback;
	bool bad_writable;
	bool open_dir;
	const char *dir;
	pid_t parent;
	pid_t sleeper;
	int keep;
};

/**
 * status_hex() - a hexadecimal field of /proc/self/status
 * @field:	name with its colon ("CapEff:")
 * @out:	value
 *
 * Return: true if found
 */
static bool status_hex(const char *field, unsigned long long *out)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (str_has_prefix(line, field))
			found = sscanf(line + strlen(field), "%llx", out) == 1;
	(void)fclose(f); /* read only */
	return found;
}

/* A thread that does nothing: pthread_create must still work */
static void *idle_thread(void *arg)
{
	return arg;
}

/* errno of a call that returned < 0, else 0 */
#define RES(call) ((call) < 0 ? errno : 0)

/* the uid and gid of test_drop_as_user(): no passwd entry, no process */
#define TEST_UID   4291
#define TEST_GROUP 4292 /* a supplementary group of TEST_UID's */

/**
 * path_in() - @name inside @dir, into a static buffer (four in rotation)
 * @dir:	directory
 * @name:	relative name
 *
 * Return: the path
 */
static const char *path_in(const char *dir, const char *name)
{
	static char buf[4][512];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/**
 * open_errno() - errno of open(@path, @flags), 0 if it opened (then closed)
 * @path:	file
 * @flags:	open flags
 *
 * Return: 0 or errno
 */
static int open_errno(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/**
 * probe_signals() - signals to the sleeper, by every call that sends one
 * @out:	report
 * @o:		options
 *
 * With the filter the signal is SIGKILL, so that one getting through shows in
 * the parent too (the sleeper is gone); without, 0, which only checks
 * permission.
 */
static void probe_signals(FILE *out, const struct child_opts *o)
{
	int sig = o->seccomp ? SIGKILL : 0;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	fprintf(out, "sig-kill %d\n", RES(kill(o->sleeper, sig)));
	fprintf(out, "sig-tgkill %d\n", RES(syscall(SYS_tgkill, o->sleeper, o->sleeper, sig)));
	fprintf(out, "sig-queue %d\n", RES(syscall(SYS_rt_sigqueueinfo, o->sleeper, sig, &si)));
	fprintf(out, "sig-tgqueue %d\n",
	        RES(syscall(SYS_rt_tgsigqueueinfo, o->sleeper, o->sleeper, sig, &si)));
	fprintf(out, "kill-parent %d\n", RES(kill(o->parent, 0)));
	fprintf(out, "kill-all %d\n", RES(kill(-1, 0)));
	fprintf(out, "kill-self %d\n", RES(kill(getpid(), 0)));
}

/**
 * probe_proc() - the sleeper's /proc entries: what a remap reads, and its
 *		  memory
 * @out:	report
 * @o:		options
 */
static void probe_proc(FILE *out, const struct child_opts *o)
{
	char path[128], buf[256];
	unsigned long long v = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)o->sleeper);
	fprintf(out, "mem-rw %d\n", open_errno(path, O_RDWR));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && pread(fd, &v, sizeof(v), (off_t)(uintptr_t)&sleeper_magic) == sizeof(v))
		fprintf(out, "mem-read %s\n", v == SLEEPER_MAGIC ? "magic" : "other");
	else
		fprintf(out, "mem-read %d\n", errno);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)o->sleeper, o->keep);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	fprintf(out, "fdinfo %d\n", fd < 0 ? errno : read(fd, buf, sizeof(buf)) > 0 ? 0 : errno);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)o->sleeper);
	fprintf(out, "ns-net-open %d\n", open_errno(path, O_RDONLY));
	fprintf(out, "proc-sys %d\n", open_errno("/proc/sys/kernel/hostname", O_WRONLY));
	/* known limits, not checked (privilege.h): the sleeper's root is the
	 * host's, reached around our namespace
	 */
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)o->sleeper,
	         path_in(o->dir, "root-file"));
	fprintf(out, "limit-root-write %d\n", open_errno(path, O_WRONLY));
	snprintf(path, sizeof(path), "/proc/%d/root/proc/%d/mem", (int)o->sleeper, (int)o->sleeper);
	fprintf(out, "limit-mem-rw %d\n", open_errno(path, O_RDWR));
}

/**
 * probe_files() - writes outside and inside the writable directory
 * @out:	report
 * @o:		options
 * @pre:	a file of @o->dir opened for writing before the drop
 *
 * @o->dir has a unix socket listening, "sock", made before the drop too.
 */
static void probe_files(FILE *out, const struct child_opts *o, int pre)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char rw[300];
	int fd;

	/* path_in()'s buffers rotate: keep what is used throughout */
	str_copy(sa.sun_path, sizeof(sa.sun_path), path_in(o->dir, "sock"));
	str_copy(rw, sizeof(rw), path_in(o->dir, "rw"));

	fprintf(out, "ro-write %d\n", open_errno(path_in(o->dir, "root-file"), O_WRONLY));
	fprintf(out, "ro-create %d\n", open_errno(path_in(o->dir, "new"), O_WRONLY | O_CREAT));
	fprintf(out, "ro-long-create %d\n",
	        open_errno(path_in(o->dir, "long/new"), O_WRONLY | O_CREAT));
	fprintf(out, "ro-chmod %d\n", RES(chmod(path_in(o->dir, "root-file"), 04755)));
	/* around the namespace: the same root-owned file, through the root of
	 * a process in the host's mounts (CAP_SYS_PTRACE lets us there); only
	 * a uid other than 0 stops this write
	 */
	{
		char via[400];

		snprintf(via, sizeof(via), "/proc/%d/root%s", (int)o->sleeper,
		         path_in(o->dir, "root-file"));
		fprintf(out, "proc-root-write %d\n", open_errno(via, O_WRONLY));
	}
	fprintf(out, "pre-write %d\n", RES(write(pre, "x", 1)));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fprintf(out, "unix-connect %d\n",
	        fd < 0 ? errno : RES(connect(fd, (struct sockaddr *)&sa, sizeof(sa))));
	if (fd >= 0)
		close(fd);

	/* the state directory: create, write, rename, unlink, mkdir */
	fd = open(path_in(rw, "tmp"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	fprintf(out, "rw-create %d\n", fd < 0 ? errno : RES(write(fd, "{}\n", 3)));
	fprintf(out, "rw-fsync %d\n", fd < 0 ? errno : RES(fsync(fd)));
	if (fd >= 0)
		close(fd);
	fprintf(out, "rw-rename %d\n", RES(rename(path_in(rw, "tmp"), path_in(rw, "state.json"))));
	fd = open_errno(path_in(rw, "gone"), O_WRONLY | O_CREAT);
	fprintf(out, "rw-unlink %d\n", fd ? fd : RES(unlink(path_in(rw, "gone"))));
	fprintf(out, "rw-mkdir %d\n", RES(mkdir(path_in(rw, "sub"), 0700)));
	fprintf(out, "rw-inner-create %d\n",
	        open_errno(path_in(rw, "inner/x"), O_WRONLY | O_CREAT));
	/* noexec: nothing written there can be mapped as code */
	fd = open(path_in(rw, "state.json"), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);

		fprintf(out, "rw-map-exec %d\n", p == MAP_FAILED ? errno : 0);
		if (p != MAP_FAILED)
			munmap(p, 4096);
		close(fd);
	}
}

/**
 * probe_calls() - calls only the filter refuses (as root, all would work)
 * @out:	report
 * @pipefd:	a pipe of ours
 * @o:		options
 */
static void probe_calls(FILE *out, int pipefd, const struct child_opts *o)
{
	struct io_uring_params params;
	int fd, n;
	void *p;

	memset(&params, 0, sizeof(params));
	fd = (int)syscall(SYS_io_uring_setup, 1, &params);
	fprintf(out, "io-uring %d\n", fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fprintf(out, "inet %d\n", fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	fprintf(out, "nl-netfilter %d\n", fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	fprintf(out, "nl-route %d\n", fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	/* into our own UTS namespace: harmless if it goes through */
	fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	fprintf(out, "setns-uts %d\n", fd < 0 ? errno : RES(setns(fd, CLONE_NEWUTS)));
	fprintf(out, "setns-any %d\n", fd < 0 ? errno : RES(setns(fd, 0)));
	if (fd >= 0)
		close(fd);
	fprintf(out, "fcntl-setown %d\n", RES(fcntl(pipefd, F_SETOWN, (int)o->sleeper)));
	fprintf(out, "fcntl-getfl %d\n", RES(fcntl(pipefd, F_GETFL)));
	fprintf(out, "ioctl-fionread %d\n", RES(ioctl(pipefd, FIONREAD, &n)));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	         0);
	fprintf(out, "mmap-wx %d\n", p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fprintf(out, "mmap-rw %d\n", p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED) {
		fprintf(out, "mprotect-x %d\n", RES(mprotect(p, 4096, PROT_READ | PROT_EXEC)));
		munmap(p, 4096);
	}
	/* a target that doesn't exist: ENOENT unless the filter refuses first,
	 * so nothing is ever mounted
	 */
	fprintf(out, "mount %d\n",
	        RES(mount("none", "/nonexistent-qremap-test", "tmpfs", 0, NULL)));
	/* harmless if it went through: the namespace is the child's own */
	fprintf(out, "unshare %d\n", RES(unshare(CLONE_NEWNET)));
#ifdef SYS_clone3
	fprintf(out, "clone3 %d\n", RES(syscall(SYS_clone3, NULL, 0)));
#endif
	/* CAP_DAC_READ_SEARCH's other half, opening any inode by handle,
	 * stays refused: a bogus handle, so EPERM can only be the filter's
	 */
	{
		char h[64] = {0};

		fprintf(out, "open-by-handle %d\n",
		        RES(syscall(SYS_open_by_handle_at, AT_FDCWD, h, O_RDONLY)));
	}
}

/**
 * probe_remap() - what a remap does with the capabilities kept
 * @out:	report
 * @o:		options
 * @host_net:	the network namespace the child started in
 * @own_net:	the one it made (the tap's)
 */
static void probe_remap(FILE *out, const struct child_opts *o, int host_net, int own_net)
{
	int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	int pidfd = (int)syscall(SYS_pidfd_open, o->parent, 0), got;
	struct ifreq ifr = {0};

	str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), "qrpriv0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
	fprintf(out, "tap %d\n", tun < 0 ? errno : RES(ioctl(tun, TUNSETIFF, &ifr)));
	if (tun >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		fprintf(out, "tap-getiff %d\n", RES(ioctl(tun, TUNGETIFF, &ifr)));
		close(tun);
	}
	got = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, o->keep, 0);
	fprintf(out, "getfd %d\n", got < 0 ? errno : 0);
	/* there and back, as tap.c does for a tap in another namespace */
	if (host_net < 0 || own_net < 0)
		fprintf(out, "setns-net no-namespace\n");
	else if (setns(host_net, CLONE_NEWNET) < 0)
		fprintf(out, "setns-net %d\n", errno);
	else
		fprintf(out, "setns-net %d\n", RES(setns(own_net, CLONE_NEWNET)));
}

/**
 * dead_fuse_mount() - mount a FUSE file system at @path and end its connection
 * @path:	an empty directory
 *
 * Without libfuse: the kernel takes the /dev/fuse descriptor as mount option
 * fd= (Documentation/filesystems/fuse.rst), and closing the only one aborts
 * the connection, as when a FUSE daemon dies.
 *
 * Return: 0, or the errno that stopped it (ENOENT: no /dev/fuse here)
 */
static int dead_fuse_mount(const char *path)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC), ret = 0;
	char opts[96];

	if (fd < 0)
		return errno;
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("qremap-test", path, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
		ret = errno;
	close(fd);
	return ret;
}

/**
 * mount_options() - the per-mount options of the mount at @path
 * @path:	a mount point
 *
 * Read from /proc/self/mountinfo: statvfs() would ask the file system.
 *
 * Return: static buffer, "" if @path is no mount point
 */
static const char *mount_options(const char *path)
{
	static char opts[256];
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	opts[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[512], o[256];

		if (sscanf(line, "%*s %*s %*s %*s %511s %255s", mnt, o) == 2 && !strcmp(mnt, path))
			str_copy(opts, sizeof(opts), o);
	}
	if (f)
		fclose(f);
	return opts;
}

/**
 * child_checks() - in the child: prepare, drop, then report each finding
 * @fd:		pipe to the parent
 * @o:		options
 */
static void child_checks(int fd, const struct child_opts *o)
{
	char rw[300], inner[320], long_src[4000];
	const char *writable[] = {rw, NULL, NULL};
	const struct privilege_ids ids = {
	        .uid = TEST_UID, .gid = TEST_UID, .groups = {TEST_GROUP}, .n_groups = 1};
	struct privilege_opts popts = {
	        .seccomp = o->seccomp,
	        .readonly_fs = o->readonly_fs,
	        .writable = writable,
	};
	int host_net = -1, own_net = -1, pre, lsk, held_dir = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	bool root = test_is_root();
	struct privilege_report rep;
	struct qr_error err = {0};
	unsigned long long v = ~0ULL;
	FILE *out = fdopen(fd, "w");
	pthread_t t;

	if (!out)
		_exit(2);
	/* what the probes need, made while we still can */
	if (root) {
		host_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (unshare(CLONE_NEWNET) < 0)
			fprintf(out, "unshare-before %d\n", errno);
		own_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	}
	if (mkdir(path_in(o->dir, "rw"), 0700) < 0 ||
	    open_errno(path_in(o->dir, "root-file"), O_WRONLY | O_CREAT) ||
	    chmod(path_in(o->dir, "root-file"), 0644) < 0)
		_exit(2);
	pre = open(path_in(o->dir, "log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	str_copy(sa.sun_path, sizeof(sa.sun_path), path_in(o->dir, "sock"));
	lsk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pre < 0 || lsk < 0 || bind(lsk, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lsk, 4) < 0)
		_exit(2);
	str_copy(rw, sizeof(rw), path_in(o->dir, o->bad_writable ? "missing" : "rw"));
	/* as root, a file system of its own inside the writable directory,
	 * also writable: the one inside must be bound where it can be seen
	 */
	snprintf(inner, sizeof(inner), "%s/inner", rw);
	if (root && !o->bad_writable) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mkdir(inner, 0700) < 0 ||
		    mount("qremap-test", inner, "tmpfs", 0, "size=64k") < 0)
			_exit(2);
		writable[1] = inner;
		/* and one whose mountinfo line is longer than 4 KiB, not writable */
		memset(long_src, 'x', sizeof(long_src) - 1);
		long_src[sizeof(long_src) - 1] = '\0';
		if (mkdir(path_in(o->dir, "long"), 0700) < 0 ||
		    mount(long_src, path_in(o->dir, "long"), "tmpfs", 0, "size=64k") < 0)
			_exit(2);
		/* and a FUSE mount whose daemon is gone: everything asked of
		 * it answers ENOTCONN, and the drop must still work
		 */
		if (mkdir(path_in(o->dir, "deadfuse"), 0700) < 0)
			_exit(2);
		fprintf(out, "deadfuse %d\n", dead_fuse_mount(path_in(o->dir, "deadfuse")));
	}
	if (o->as_user) {
		/* as qremapd makes its state directory the daemon user's */
		/* and the socket as Incus's: 0660, reached through a
		 * supplementary group
		 */
		if (chown(sa.sun_path, 0, TEST_GROUP) < 0 || chmod(sa.sun_path, 0660) < 0 ||
		    chown(rw, TEST_UID, TEST_UID) < 0 ||
		    (writable[1] && chown(inner, TEST_UID, TEST_UID) < 0))
			_exit(2);
		popts.ids = &ids;
	}
	if (o->open_dir)
		held_dir = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->fallback)
		setenv("QREMAP_TEST_MOUNT_FALLBACK", "1", 1);

	if (privilege_drop(&popts, &rep, &err) < 0)
		fprintf(out, "drop-failed %s\n", err.msg);
	if (held_dir >= 0)
		close(held_dir);
	fprintf(out, "kept %s\n", rep.kept[0] ? rep.kept : "none");
	fprintf(out, "allowed %zu\n", rep.n_allowed);
	fprintf(out, "readonly %zu\n", rep.n_readonly);
	fprintf(out, "writable %s\n", rep.writable);
	fprintf(out, "fs-note %s\n", rep.fs_note);
	fprintf(out, "ids %s\n", rep.ids);
	fprintf(out, "uid %u %u\n", (unsigned)getuid(), (unsigned)geteuid());
	if (root && !o->bad_writable)
		fprintf(out, "deadfuse-opts %s\n", mount_options(path_in(o->dir, "deadfuse")));
	if (status_hex("CapEff:", &v))
		fprintf(out, "capeff %llx\n", v);
	if (status_hex("CapBnd:", &v))
		fprintf(out, "capbnd %llx\n", v);
	if (status_hex("CapInh:", &v))
		fprintf(out, "capinh %llx\n", v);
	if (status_hex("NoNewPrivs:", &v))
		fprintf(out, "nnp %llx\n", v);
	if (status_hex("Seccomp:", &v))
		fprintf(out, "seccomp %llx\n", v);
	(void)fflush(out);

	/* Without the filter, exec would succeed and end the report */
	if (o->seccomp) {
		char *const argv[] = {"/bin/true", NULL};

		execv("/bin/true", argv);
		fprintf(out, "execve %d\n", errno);
	}
	probe_signals(out, o);
	probe_proc(out, o);
	probe_files(out, o, pre);
	probe_calls(out, fd, o);
	fprintf(out, "thread %d\n", pthread_create(&t, NULL, idle_thread, NULL));
	pthread_join(t, NULL);
	if (root)
		probe_remap(out, o, host_net, own_net);
	(void)fclose(out); /* nowhere to report it: the parent sees a short report */
	_exit(0);
}

/**
 * run_child() - fork a sleeper and a child, run child_checks(), collect its
 *		 lines, check the sleeper survived, clean up
 * @o:		options; @dir, @sleeper and @keep are filled in here
 * @survived:	set to whether the sleeper was still there after the child
 *
 * Return: the child's report (malloc'd), or NULL if it failed
 */
static char *run_child(struct child_opts *o, bool *survived)
{
	_cleanup_close_ int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char buf[8192], dir[256];
	int p[2] = {-1, -1}, status = -1;
	pid_t pid = -1;
	size_t len = 0;
	ssize_t n;

	*survived = false;
	str_copy(dir, sizeof(dir), test_tmpdir("priv"));
	o->dir = dir;
	o->keep = keep;
	o->parent = getpid();
	sleeper_magic = SLEEPER_MAGIC;
	o->sleeper = fork();
	if (o->sleeper == 0) {
		alarm(CHILD_TIMEOUT_S + 5);
		for (;;)
			pause();
	}
	sleeper_magic = 0;
	if (o->sleeper > 0 && pipe2(p, O_CLOEXEC) == 0)
		pid = fork();
	if (pid == 0) {
		close(p[0]);
		alarm(CHILD_TIMEOUT_S);
		child_checks(p[1], o);
	}
	if (p[1] >= 0)
		close(p[1]);
	while (pid > 0 && len < sizeof(buf) - 1 &&
	       (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	if (p[0] >= 0)
		close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	/* the sleeper is ours: by pid, and only once we have looked */
	if (o->sleeper > 0) {
		*survived = waitpid(o->sleeper, NULL, WNOHANG) == 0;
		kill(o->sleeper, SIGKILL);
		waitpid(o->sleeper, NULL, 0);
	}
	test_rmtree(dir);
	o->dir = NULL; /* it was this function's */
	if (getenv("QREMAP_TEST_VERBOSE"))
		fputs(buf, stderr);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "child ended with status 0x%x; it said:\n%s", (unsigned)status,
		        buf);
		return NULL;
	}
	return strdup(buf);
}

/**
 * field() - the value after "@key " on its own line of @rep
 * @rep:	child report
 * @key:	first word
 *
 * Return: the rest of the line (static buffer), "" if there is no such line
 */
static const char *field(const char *rep, const char *key)
{
	static char val[256];
	size_t kl = strlen(key);

	val[0] = '\0';
	for (const char *l = rep; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == ' ') {
			size_t n = strcspn(l + kl + 1, "\n");

			snprintf(val, sizeof(val), "%.*s", (int)n, l + kl + 1);
			break;
		}
	}
	return val;
}

/**
 * field_num() - a count the child reported
 * @rep:	child report
 * @key:	first word
 *
 * Return: the number, 0 if there is none
 */
static unsigned long long field_num(const char *rep, const char *key)
{
	unsigned long long v;

	return parse_uint(field(rep, key), 1000000, &v) < 0 ? 0 : v;
}

/* An errno value as the child prints it */
static const char *num(int e)
{
	static char buf[4][16];
	static unsigned i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%d", e);
	return buf[i];
}

/**
 * check_caps() - capabilities, as root or not
 * @rep:	child report
 */
static void check_caps(const char *rep)
{
	char mask[32];

	CHECK_STR(field(rep, "nnp"), "1");
	CHECK_STR(field(rep, "capinh"), "0");
	if (!test_is_root()) {
		CHECK_STR(field(rep, "kept"), "none");
		CHECK_STR(field(rep, "capeff"), "0");
		return;
	}
	snprintf(mask, sizeof(mask), "%llx", (unsigned long long)KEPT_MASK);
	CHECK_STR(field(rep, "kept"), "cap_net_admin,cap_sys_admin,cap_sys_ptrace");
	CHECK_STR(field(rep, "capeff"), mask);
	CHECK_STR(field(rep, "capbnd"), mask);
}

/**
 * check_filter() - what the seccomp filter refuses, and lets through
 * @rep:	child report
 */
static void check_filter(const char *rep)
{
	CHECK_STR(field(rep, "seccomp"), "2");
	CHECK(field_num(rep, "allowed") > 50);
	CHECK_STR(field(rep, "execve"), num(EPERM));
	CHECK_STR(field(rep, "io-uring"), num(EPERM));
	CHECK_STR(field(rep, "sig-kill"), num(EPERM));
	CHECK_STR(field(rep, "sig-tgkill"), num(EPERM));
	CHECK_STR(field(rep, "sig-queue"), num(EPERM));
	CHECK_STR(field(rep, "sig-tgqueue"), num(EPERM));
	CHECK_STR(field(rep, "kill-parent"), num(EPERM));
	CHECK_STR(field(rep, "kill-all"), num(EPERM));
	CHECK_STR(field(rep, "kill-self"), "0");
	CHECK_STR(field(rep, "fcntl-setown"), num(EPERM));
	CHECK_STR(field(rep, "fcntl-getfl"), "0");
	CHECK_STR(field(rep, "ioctl-fionread"), num(EPERM));
	CHECK_STR(field(rep, "inet"), num(EPERM));
	CHECK_STR(field(rep, "nl-netfilter"), num(EPERM));
	CHECK_STR(field(rep, "nl-route"), "0");
	CHECK_STR(field(rep, "setns-uts"), num(EPERM));
	CHECK_STR(field(rep, "setns-any"), num(EPERM));
	CHECK_STR(field(rep, "mmap-wx"), num(EPERM));
	CHECK_STR(field(rep, "mmap-rw"), "0");
	CHECK_STR(field(rep, "mprotect-x"), num(EPERM));
	CHECK_STR(field(rep, "mount"), num(EPERM));
	CHECK_STR(field(rep, "unshare"), num(EPERM));
#ifdef SYS_clone3
	CHECK_STR(field(rep, "clone3"), num(ENOSYS));
#endif
	CHECK_STR(field(rep, "thread"), "0");
}

/**
 * check_fs() - the read-only namespace, as root (without root there is none)
 * @rep:	child report
 * @seccomp:	the filter is installed too (it answers chmod first)
 * @as_user:	not uid 0: the file's own mode refuses before the mount does
 */
static void check_fs(const char *rep, bool seccomp, bool as_user)
{
	const char *ro = num(as_user ? EACCES : EROFS);

	if (!test_is_root()) {
		CHECK_CONTAINS(field(rep, "fs-note"), "EPERM");
		CHECK_STR(field(rep, "readonly"), "0");
		return;
	}
	CHECK_STR(field(rep, "fs-note"), "");
	CHECK(field_num(rep, "readonly") > 0);
	CHECK_CONTAINS(field(rep, "writable"), "/rw");
	/* refused: regular files outside the writable directory, /proc */
	CHECK_STR(field(rep, "ro-write"), ro);
	CHECK_STR(field(rep, "ro-create"), num(EROFS));
	CHECK_STR(field(rep, "ro-long-create"), num(EROFS));
	CHECK_STR(field(rep, "ro-chmod"), num(seccomp ? EPERM : EROFS));
	CHECK_STR(field(rep, "mem-rw"), ro);
	CHECK_STR(field(rep, "proc-sys"), ro);
	CHECK_STR(field(rep, "rw-map-exec"), num(EPERM));
	/* still working: what was open, devices, sockets, reading /proc */
	CHECK_STR(field(rep, "pre-write"), "0");
	CHECK_STR(field(rep, "unix-connect"), "0");
	CHECK_STR(field(rep, "fdinfo"), "0");
	CHECK_STR(field(rep, "ns-net-open"), "0");
	/* privilege.h says reading another process's memory still works */
	CHECK_STR(field(rep, "mem-read"), "magic");
	/* the state directory */
	CHECK_STR(field(rep, "rw-create"), "0");
	CHECK_STR(field(rep, "rw-fsync"), "0");
	CHECK_STR(field(rep, "rw-rename"), "0");
	CHECK_STR(field(rep, "rw-unlink"), "0");
	CHECK_STR(field(rep, "rw-mkdir"), "0");
	CHECK_STR(field(rep, "rw-inner-create"), "0");
	/* a dead FUSE mount made read-only like the others */
	if (!strcmp(field(rep, "deadfuse"), num(ENOENT)))
		return; /* no /dev/fuse on this machine */
	CHECK_STR(field(rep, "deadfuse"), "0");
	CHECK(str_has_prefix(field(rep, "deadfuse-opts"), "ro,"));
}

/**
 * check_remap() - what a remap needs, as root
 * @rep:	child report
 */
static void check_remap(const char *rep)
{
	if (!test_is_root())
		return;
	CHECK_STR(field(rep, "tap"), "0");
	CHECK_STR(field(rep, "tap-getiff"), "0");
	CHECK_STR(field(rep, "getfd"), "0");
	CHECK_STR(field(rep, "setns-net"), "0");
}

/* The full drop: capabilities, read-only file system, filter; remaps work */
static void test_drop_full(void)
{
	struct child_opts o = {.seccomp = true, .readonly_fs = true};
	bool survived;
	_cleanup_free_ char *rep = run_child(&o, &survived);

	REQUIRE(rep);
	CHECK_STR(field(rep, "drop-failed"), "");
	CHECK(survived);
	check_caps(rep);
	check_filter(rep);
	check_fs(rep, true, false);
	check_remap(rep);
	/* what staying root leaves open, and test_drop_as_user() closes */
	if (test_is_root())
		CHECK_STR(field(rep, "proc-root-write"), "0");
}

/*
 * qremapd's --user: no uid 0 left, CAP_DAC_READ_SEARCH kept for QEMU's and
 * Incus's root-only files, and the write around the namespace that root
 * could make (/proc/PID/root) refused by the file's own permissions
 */
static void test_drop_as_user(void)
{
	struct child_opts o = {.seccomp = true, .readonly_fs = true, .as_user = true};
	bool survived;
	_cleanup_free_ char *rep = NULL;

	if (!test_is_root())
		SKIP("needs root: only root can leave uid 0 for another");
	rep = run_child(&o, &survived);
	REQUIRE(rep);
	CHECK_STR(field(rep, "drop-failed"), "");
	CHECK(survived);
	CHECK_STR(field(rep, "ids"), "uid 4291, gid 4291, groups 4292");
	CHECK_STR(field(rep, "uid"), "4291 4291");
	CHECK_STR(field(rep, "kept"),
	          "cap_net_admin,cap_sys_admin,cap_sys_ptrace,cap_dac_read_search");
	CHECK_STR(field(rep, "capeff"), "281004");
	CHECK_STR(field(rep, "capbnd"), "281004");
	CHECK_STR(field(rep, "proc-root-write"), num(EACCES));
	CHECK_STR(field(rep, "open-by-handle"), num(EPERM));
	check_filter(rep);
	check_fs(rep, true, true);
	check_remap(rep);
}

/* --no-seccomp: the namespace and the capabilities alone; the kernel answers */
static void test_drop_without_seccomp(void)
{
	struct child_opts o = {.readonly_fs = true};
	bool survived;
	_cleanup_free_ char *rep = run_child(&o, &survived);

	REQUIRE(rep);
	CHECK_STR(field(rep, "drop-failed"), "");
	CHECK(survived);
	CHECK_STR(field(rep, "seccomp"), "0");
	CHECK_STR(field(rep, "allowed"), "0");
	check_caps(rep);
	check_fs(rep, false, false);
	check_remap(rep);
	if (!test_is_root())
		return;
	/* the kernel, not the filter, answers now */
	CHECK_STR(field(rep, "mount"), num(ENOENT));
	CHECK_STR(field(rep, "inet"), "0");
	/* with CAP_KILL gone, root still owns other root processes */
	CHECK_STR(field(rep, "kill-parent"), "0");
	CHECK_STR(field(rep, "sig-tgqueue"), "0");
}

/* The namespace made the way kernels before 5.12 need (mountinfo walk) */
static void test_drop_mount_fallback(void)
{
	struct child_opts o = {.seccomp = true, .readonly_fs = true, .fallback = true};
	bool survived;
	_cleanup_free_ char *rep = NULL;

	if (!test_is_root())
		SKIP("needs root: without it there is no mount namespace to make");
#ifndef QREMAP_TEST_HOOKS
	/* the hook that forces this path exists only in sanitized (test) builds */
	SKIP("QREMAP_TEST_MOUNT_FALLBACK is honoured only by builds with test hooks "
	     "(QREMAP_SANITIZE=ON)");
#endif
	rep = run_child(&o, &survived);
	REQUIRE(rep);
	CHECK_STR(field(rep, "drop-failed"), "");
	check_fs(rep, true, false);
	check_remap(rep);
}

/* A failed namespace is an error, but the filter and the capabilities still go */
static void test_drop_failure_still_filters(void)
{
	struct child_opts o = {.seccomp = true, .readonly_fs = true, .bad_writable = true};
	bool survived;
	_cleanup_free_ char *rep = NULL;

	if (!test_is_root())
		SKIP("needs root: without it the namespace is only noted");
	rep = run_child(&o, &survived);
	REQUIRE(rep);
	CHECK_CONTAINS(field(rep, "drop-failed"), "/missing");
	CHECK(survived);
	check_caps(rep);
	check_filter(rep);
}

/* A directory open across the drop would be a way around it: refused */
static void test_drop_refuses_open_dir(void)
{
	struct child_opts o = {.seccomp = true, .readonly_fs = true, .open_dir = true};
	bool survived;
	_cleanup_free_ char *rep = NULL;

	if (!test_is_root())
		SKIP("needs root: without it there is no mount namespace to make");
#ifndef QREMAP_TEST_HOOKS
	/* the hook that forces this path exists only in sanitized (test) builds */
	SKIP("QREMAP_TEST_MOUNT_FALLBACK is honoured only by builds with test hooks "
	     "(QREMAP_SANITIZE=ON)");
#endif
	rep = run_child(&o, &survived);
	REQUIRE(rep);
	CHECK_CONTAINS(field(rep, "drop-failed"), "is open");
	check_filter(rep);
}

TEST_MAIN(test_drop_full, test_drop_as_user, test_drop_without_seccomp, test_drop_mount_fallback,
          test_drop_failure_still_filters, test_drop_refuses_open_dir)
