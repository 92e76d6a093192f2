// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - privilege.c: keep only the privileges a remap needs
 *
 * See privilege.h for what is kept and why. Capabilities, the mount namespace
 * and the seccomp filter all belong to the calling thread and are inherited by
 * the threads it creates afterwards: privilege_drop() must run before the
 * first thread exists (qremapd calls it before accepting any VM), and refuses
 * to run after.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "qremap/log.h"
#include "qremap/privilege.h"
#include "qremap/util.h"

/* The capabilities a remap uses (privilege.h), by number and name; some
 * only once the process has left uid 0 (@with_ids), for what root read by
 * owning it
 */
static const struct {
	const char *name;
	int cap;
	bool with_ids;
} kept_caps[] = {
        {"cap_net_admin", CAP_NET_ADMIN, false},
        {"cap_sys_admin", CAP_SYS_ADMIN, false},
        {"cap_sys_ptrace", CAP_SYS_PTRACE, false},
        {"cap_dac_read_search", CAP_DAC_READ_SEARCH, true},
};

/*
 * LeakSanitizer stops the world when the process exits: a tracer cloned
 * without CLONE_THREAD ptrace()s every thread, waits for them, and sets its
 * parent-death signal. Refusing any of that turns every sanitized run into a
 * LeakSanitizer failure; sanitized builds are test builds, they allow it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define QR_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QR_SANITIZED 1
#endif
#endif

/*
 * Test builds only (sanitized, like the rest of the suite's builds): make
 * the mount namespace the pre-5.12 way on a newer kernel, so that
 * tests/unit/test_privilege.c covers that path too. Release binaries carry
 * no test hooks: there it is always false.
 */
static bool test_mount_fallback(void)
{
#ifdef QREMAP_TEST_HOOKS
	return !strcmp(str_or(getenv("QREMAP_TEST_MOUNT_FALLBACK"), ""), "1");
#else
	return false;
#endif
}

#if defined(__x86_64__)
#define QR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define QR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * The allow list: every system call qremap and qremapd make once privileges
 * are dropped, collected by tracing the unit and integration tests (every
 * call after the filter was installed, ASan and release builds, QEMU 7.2 and
 * 10.0), plus the other name glibc versions use for the same operation
 * (open/openat, rename/renameat2...), which grants nothing more. Calls that
 * need their arguments checked (clone, kill, tgkill, socket, setns, ioctl,
 * fcntl, mmap, mprotect, prctl) are not here but in filter_build().
 */
/* clang-format off */
static const long allowed_syscalls[] = {
	/* descriptors: QMP and Incus sockets, netlink, /proc, profiles, logs */
	__NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64, __NR_lseek, __NR_close,
	__NR_fstat, __NR_newfstatat, __NR_ppoll,
#ifdef __NR_statx
	__NR_statx,
#endif
	/* sockets (socket() itself is checked: unix and NETLINK_ROUTE only) */
	__NR_connect, __NR_accept4, __NR_sendmsg, __NR_recvmsg, __NR_sendto, __NR_recvfrom,
	__NR_getsockopt, __NR_setsockopt, __NR_getsockname, __NR_getpeername, __NR_shutdown,
	__NR_socketpair,
	/* libcurl's wake-up channel: a socket pair, a pipe or an eventfd, by version */
	__NR_pipe2, __NR_eventfd2,
	/* files by name: profiles, /proc, Incus's run directory, the state directory */
	__NR_openat, __NR_readlinkat, __NR_faccessat, __NR_getdents64, __NR_mkdirat,
	__NR_renameat, __NR_renameat2, __NR_unlinkat,
	/* a state file is on disk before it is renamed into place */
	__NR_fsync, __NR_fdatasync,
#ifdef __NR_faccessat2
	__NR_faccessat2,
#endif
	/* QEMU's process and tap queues (ioctl and setns are checked) */
#ifdef __NR_pidfd_open
	__NR_pidfd_open,
#endif
#ifdef __NR_pidfd_getfd
	__NR_pidfd_getfd,
#endif
	/* memory (mmap and mprotect are checked: never writable and executable) */
	__NR_brk, __NR_munmap, __NR_mremap, __NR_madvise,
	/* threads, one per VM (clone is checked, clone3 gets ENOSYS) */
	__NR_futex, __NR_set_robust_list, __NR_sched_getaffinity, __NR_sched_yield, __NR_exit,
	__NR_exit_group, __NR_getpid, __NR_gettid,
#ifdef __NR_rseq
	__NR_rseq,
#endif
	/* who we are: harmless, and asked before a directory is trusted */
	__NR_getuid, __NR_geteuid, __NR_getgid, __NR_getegid,
	/* signals: handlers and masks (kill and tgkill, checked: only to ourselves) */
	__NR_rt_sigaction, __NR_rt_sigprocmask, __NR_rt_sigreturn, __NR_sigaltstack,
	__NR_restart_syscall,
	/* time, when the vDSO can't answer; bounded waits */
	__NR_clock_gettime, __NR_clock_getres, __NR_gettimeofday, __NR_clock_nanosleep,
	__NR_nanosleep,
	/* jansson's and libcurl's random numbers */
	__NR_getrandom,
#ifdef __x86_64__
	/* the same operations by the older names x86_64 glibc uses */
	__NR_open, __NR_stat, __NR_lstat, __NR_access, __NR_readlink, __NR_getdents, __NR_mkdir,
	__NR_rename, __NR_unlink, __NR_poll, __NR_pipe,
#endif
#ifdef QR_SANITIZED
	/* LeakSanitizer at exit (see QR_SANITIZED) */
	__NR_ptrace, __NR_wait4, __NR_getppid,
#endif
};
/* clang-format on */

#define N_ALLOWED (sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]))

/* ioctl(2) requests: the tap's (tap.c), and isatty() for stdio buffering */
static const unsigned allowed_ioctls[] = {
        TUNSETIFF, TUNSETQUEUE, TUNGETIFF, TUNGETDEVNETNS, TCGETS,
};

/*
 * fcntl(2) commands: descriptor and status flags, duplication. Not F_SETOWN
 * or F_SETSIG: SIGIO sent to a process of our choosing is a signal to another
 * process by other means.
 */
static const unsigned allowed_fcntls[] = {
        F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL,
};

#ifdef QR_SANITIZED
#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
/* prctl(2) options LeakSanitizer's tracer uses; release builds need none */
static const unsigned allowed_prctls[] = {
        PR_SET_PDEATHSIG,
        PR_GET_DUMPABLE,
        PR_SET_DUMPABLE,
        PR_SET_PTRACER,
};
#endif

/* The argument-checked calls of filter_build(), counted in the report too */
#ifdef QR_SANITIZED
#define N_CHECKED 10
#else
#define N_CHECKED 9
#endif

/* Room for the whole program: list, checks and their argument lists */
#define FILTER_MAX 512

/* clone(2) flags that create namespaces: no thread qremapd starts uses them */
#define CLONE_NEW_ANY                                                                              \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

#define RET_DENY  (SECCOMP_RET_ERRNO | EPERM)
#define ARG_LO(n) ((unsigned)offsetof(struct seccomp_data, args[n]))
#define ARG_HI(n) ((unsigned)offsetof(struct seccomp_data, args[n]) + 4)

/**
 * struct filter - a seccomp program being built
 * @ins:	instructions
 * @n:		number of @ins
 * @bad:	a jump didn't fit its 8 bits, or @ins overflowed: don't install
 */
struct filter {
	struct sock_filter ins[FILTER_MAX];
	size_t n;
	bool bad;
};

/**
 * emit() - append one instruction
 * @f:		program
 * @code:	BPF opcode
 * @k:		operand
 * @jt:		forward jump if true
 * @jf:		forward jump if false
 */
static void emit(struct filter *f, unsigned short code, unsigned k, unsigned char jt,
                 unsigned char jf)
{
	if (f->n >= FILTER_MAX) {
		f->bad = true;
		return;
	}
	f->ins[f->n++] = (struct sock_filter){.code = code, .jt = jt, .jf = jf, .k = k};
}

/**
 * emit_ret() - append a return
 * @f:		program
 * @action:	SECCOMP_RET_* value
 */
static void emit_ret(struct filter *f, unsigned action)
{
	emit(f, BPF_RET | BPF_K, action, 0, 0);
}

/**
 * block_begin() - start the checks of one system call
 * @f:		program, with the call number in the accumulator
 * @nr:		system call
 *
 * Every path through the block that follows ends in a return, so other calls
 * jump over it with the accumulator still holding their number.
 *
 * Return: index of the comparison, for block_end()
 */
static size_t block_begin(struct filter *f, long nr)
{
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 0);
	return f->n - 1;
}

/**
 * block_end() - make other calls skip the block begun at @at
 * @f:		program
 * @at:		return value of block_begin()
 */
static void block_end(struct filter *f, size_t at)
{
	size_t skip = f->n - at - 1;

	if (f->bad || skip > 255)
		f->bad = true;
	else
		f->ins[at].jf = (unsigned char)skip;
}

/**
 * emit_arg_in() - allow the call if (the low half of) argument @arg is in
 *		   @vals, refuse it otherwise
 * @f:		program
 * @arg:	argument number
 * @vals:	allowed values
 * @n:		number of @vals (at most 254)
 *
 * The low half is all there is to check: every argument checked this way is
 * an int or unsigned int for the kernel, which ignores the upper half.
 */
static void emit_arg_in(struct filter *f, unsigned arg, const unsigned *vals, size_t n)
{
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(arg), 0, 0);
	for (size_t i = 0; i < n; i++)
		emit(f, BPF_JMP | BPF_JEQ | BPF_K, vals[i], (unsigned char)(n - i), 0);
	emit_ret(f, RET_DENY);
	emit_ret(f, SECCOMP_RET_ALLOW);
}

/**
 * emit_self_only() - kill() or tgkill() only to this process
 * @f:		program
 * @self:	our pid
 *
 * The first argument must be our pid with a zero upper half (kill(-1)
 * sign-extends): abort(), raise() and pthread_kill() work, nothing reaches
 * another process.
 */
static void emit_self_only(struct filter *f, pid_t self)
{
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_HI(0), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)self, 1, 0);
	emit_ret(f, RET_DENY);
	emit_ret(f, SECCOMP_RET_ALLOW);
}

/**
 * filter_build() - the seccomp program described in privilege.h
 * @f:		program to fill
 * @self:	our pid, the only target kill()/tgkill() may have
 *
 * Return: 0, or -1 if the program doesn't fit (a bug, caught by the tests)
 */
static int filter_build(struct filter *f, pid_t self)
{
	static const unsigned newnet[] = {CLONE_NEWNET};
	size_t at;

	f->n = 0;
	f->bad = false;
	/* A foreign ABI (int 0x80 on x86_64) has other numbers for everything
	 * below: a process that tries one is killed, never let through.
	 */
	emit(f, BPF_LD | BPF_W | BPF_ABS, (unsigned)offsetof(struct seccomp_data, arch), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, QR_AUDIT_ARCH, 1, 0);
	emit_ret(f, SECCOMP_RET_KILL_PROCESS);
	emit(f, BPF_LD | BPF_W | BPF_ABS, (unsigned)offsetof(struct seccomp_data, nr), 0, 0);
#ifdef __x86_64__
	/* x32 calls are the same numbers with a high bit set */
	emit(f, BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);
	emit_ret(f, RET_DENY);
#endif
#ifdef __NR_clone3
	/* clone3 hides its flags behind a pointer the filter can't read:
	 * ENOSYS makes glibc fall back to clone(2), whose flags it can.
	 */
	at = block_begin(f, __NR_clone3);
	emit_ret(f, SECCOMP_RET_ERRNO | ENOSYS);
	block_end(f, at);
#endif
	/* clone(2): threads, never namespaces (flags are argument 0 on x86_64
	 * and aarch64 alike, and only their low half counts); only threads in
	 * release builds, where nothing forks
	 */
	at = block_begin(f, __NR_clone);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
#ifdef QR_SANITIZED
	emit(f, BPF_JMP | BPF_JSET | BPF_K, CLONE_NEW_ANY, 0, 1);
#else
	emit(f, BPF_JMP | BPF_JSET | BPF_K, CLONE_NEW_ANY, 1, 0);
	emit(f, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0);
#endif
	emit_ret(f, RET_DENY);
	emit_ret(f, SECCOMP_RET_ALLOW);
	block_end(f, at);
	/* signals: only to ourselves (abort(), raise(), pthread_kill()) */
	at = block_begin(f, __NR_kill);
	emit_self_only(f, self);
	block_end(f, at);
	at = block_begin(f, __NR_tgkill);
	emit_self_only(f, self);
	block_end(f, at);
	/* socket(2): unix (QMP, Incus, libcurl) or NETLINK_ROUTE (tap queue
	 * counts); not inet, not netfilter or any other netlink family
	 */
	at = block_begin(f, __NR_socket);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 4, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 2);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(2), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, NETLINK_ROUTE, 1, 0);
	emit_ret(f, RET_DENY);
	emit_ret(f, SECCOMP_RET_ALLOW);
	block_end(f, at);
	/* setns(2): into a tap's network namespace, no other kind */
	at = block_begin(f, __NR_setns);
	emit_arg_in(f, 1, newnet, 1);
	block_end(f, at);
	at = block_begin(f, __NR_ioctl);
	emit_arg_in(f, 1, allowed_ioctls, sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]));
	block_end(f, at);
	at = block_begin(f, __NR_fcntl);
	emit_arg_in(f, 1, allowed_fcntls, sizeof(allowed_fcntls) / sizeof(allowed_fcntls[0]));
	block_end(f, at);
	/* mmap(2): not writable and executable at once; mprotect(2): never
	 * executable. Libraries still map their code (read and execute, from
	 * files, none of them in a writable, noexec directory), nothing can
	 * write code and run it.
	 */
	at = block_begin(f, __NR_mmap);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(2), 0, 0);
	emit(f, BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC, 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1);
	emit_ret(f, RET_DENY);
	emit_ret(f, SECCOMP_RET_ALLOW);
	block_end(f, at);
	at = block_begin(f, __NR_mprotect);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(2), 0, 0);
	emit(f, BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1);
	emit_ret(f, RET_DENY);
	emit_ret(f, SECCOMP_RET_ALLOW);
	block_end(f, at);
#ifdef QR_SANITIZED
	at = block_begin(f, __NR_prctl);
	emit_arg_in(f, 0, allowed_prctls, sizeof(allowed_prctls) / sizeof(allowed_prctls[0]));
	block_end(f, at);
#endif
	/* The allow list: each entry jumps to the ALLOW at the very end */
	_Static_assert(N_ALLOWED < 255, "allow list too long for 8-bit jumps");
	for (size_t i = 0; i < N_ALLOWED; i++)
		emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed_syscalls[i],
		     (unsigned char)(N_ALLOWED - i), 0);
	emit_ret(f, RET_DENY);
	emit_ret(f, SECCOMP_RET_ALLOW);
	return f->bad ? -1 : 0;
}

/**
 * filter_install() - build and install the filter, or say why there is none
 * @rep:	report: @n_allowed or @filter_note is filled
 * @err:	error object
 *
 * A kernel without seccomp filters (EINVAL) is noted, not an error: the rest
 * of the drop is still worth having.
 *
 * Return: 0 on success or when noted, -1 on failure
 */
static int filter_install(struct privilege_report *rep, struct qr_error *err)
{
#if defined(QR_AUDIT_ARCH) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	static struct filter f;
	struct sock_fprog prog;

	if (filter_build(&f, getpid()) < 0)
		return qr_err_set(err, QR_ERR_STATE, "the seccomp filter doesn't fit its jumps");
	prog = (struct sock_fprog){.len = (unsigned short)f.n, .filter = f.ins};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
		if (errno != EINVAL)
			return qr_err_sys(err, errno, "installing the seccomp filter");
		snprintf(rep->filter_note, sizeof(rep->filter_note),
		         "not installed: %s (kernel without CONFIG_SECCOMP_FILTER?)",
		         strerror(errno));
		return 0;
	}
	rep->n_allowed = N_ALLOWED + N_CHECKED;
#else
	(void)err;
	snprintf(rep->filter_note, sizeof(rep->filter_note),
	         "not installed: no filter for this architecture");
#endif
	return 0;
}

/*
 * Highest capability number this kernel knows (cap_last_cap), or CAP_LAST_CAP.
 * Parsed strictly (fscanf("%d") can't report overflow): anything but a number
 * within the 64 bits capget() reports falls back to CAP_LAST_CAP.
 */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	unsigned long long n;
	char line[32];
	bool got;

	if (!f)
		return CAP_LAST_CAP;
	got = fgets(line, sizeof(line), f) != NULL;
	/* read only: fclose() has nothing buffered to lose */
	(void)fclose(f);
	if (!got)
		return CAP_LAST_CAP;
	line[strcspn(line, "\n")] = '\0';
	if (parse_uint(line, 63, &n) < 0)
		return CAP_LAST_CAP;
	return (int)n;
}

/**
 * have_cap() - whether capability @cap is in our effective set
 * @cap:	CAP_* number
 *
 * Return: true if it is (false if capget() fails)
 */
static bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[cap / 32].effective & 1U << (cap % 32);
}

/**
 * take_ids() - become @ids: supplementary groups, then gids, then uids
 * @ids:	the identity
 * @err:	error object
 *
 * With PR_SET_KEEPCAPS the permitted set survives leaving uid 0 (the
 * effective set doesn't: capabilities(7), "Effect of user ID changes on
 * capabilities"), so drop_caps() can raise what it keeps again. Each call
 * is checked: a half-changed identity is an error, not a state to run in.
 *
 * Return: 0 on success, -1 on failure
 */
static int take_ids(const struct privilege_ids *ids, struct qr_error *err)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return qr_err_sys(err, errno, "PR_SET_KEEPCAPS");
	if (setgroups(ids->n_groups, ids->groups) < 0)
		return qr_err_sys(err, errno, "setting the supplementary groups");
	if (setresgid(ids->gid, ids->gid, ids->gid) < 0)
		return qr_err_sys(err, errno, "becoming gid %u", (unsigned)ids->gid);
	if (setresuid(ids->uid, ids->uid, ids->uid) < 0)
		return qr_err_sys(err, errno, "becoming uid %u", (unsigned)ids->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return qr_err_sys(err, errno, "PR_SET_KEEPCAPS");
	return 0;
}

/**
 * drop_caps() - keep only kept_caps[] (those we have), everywhere; with @ids,
 *		 become that identity on the way
 * @ids:	the identity to take, NULL to keep ours
 * @rep:	report: @kept and @ids are filled
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int drop_caps(const struct privilege_ids *ids, struct privilege_report *rep,
                     struct qr_error *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};
	unsigned long long have, keep = 0;
	size_t off = 0;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return qr_err_sys(err, errno, "capget");
	have = (unsigned long long)data[0].permitted | (unsigned long long)data[1].permitted << 32;
	rep->kept[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(kept_caps); i++) {
		if (!(have & 1ULL << kept_caps[i].cap) || (kept_caps[i].with_ids && !ids))
			continue;
		keep |= 1ULL << kept_caps[i].cap;
		off += (size_t)snprintf(rep->kept + off, sizeof(rep->kept) - off, "%s%s",
		                        off ? "," : "", kept_caps[i].name);
	}
	/* The bounding set needs CAP_SETPCAP, so it goes first; without it
	 * (an unprivileged run) there is nothing in it worth dropping to us.
	 */
	if (have & 1ULL << CAP_SETPCAP) {
		for (int cap = 0, last = last_cap(); cap <= last; cap++)
			if (!(keep & 1ULL << cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
			    errno != EINVAL)
				return qr_err_sys(err, errno,
				                  "dropping capability %d from the "
				                  "bounding set",
				                  cap);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return qr_err_sys(err, errno, "clearing the ambient capabilities");
	/* CAP_SETUID and CAP_SETGID are still effective here, and no longer
	 * after the capset below
	 */
	if (ids) {
		if (take_ids(ids, err) < 0)
			return -1;
		off = (size_t)snprintf(rep->ids, sizeof(rep->ids), "uid %u, gid %u, groups ",
		                       (unsigned)ids->uid, (unsigned)ids->gid);
		for (size_t i = 0; i < ids->n_groups && off < sizeof(rep->ids); i++)
			off += (size_t)snprintf(rep->ids + off, sizeof(rep->ids) - off, "%s%u",
			                        i ? "," : "", (unsigned)ids->groups[i]);
		if (!ids->n_groups && off < sizeof(rep->ids))
			snprintf(rep->ids + off, sizeof(rep->ids) - off, "none");
	}
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (unsigned)(keep & 0xffffffffU);
	data[1].permitted = data[1].effective = (unsigned)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return qr_err_sys(err, errno, "capset");
	return 0;
}

/*
 * The mount API of Linux 5.2 (open_tree, move_mount) and 5.12 (mount_setattr),
 * called directly: glibc wraps them only from 2.36, and its <sys/mount.h> and
 * <linux/mount.h> can't both be included. The numbers are the same on every
 * architecture.
 */
#if defined(__NR_mount_setattr) && defined(__NR_open_tree) && defined(__NR_move_mount)
#define QR_MOUNT_API 1
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV  0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/**
 * struct qr_mount_attr - the kernel's struct mount_attr (linux/mount.h)
 * @attr_set:	MOUNT_ATTR_* to set
 * @attr_clr:	MOUNT_ATTR_* to clear
 * @propagation: MS_SHARED etc., 0 to leave alone
 * @userns_fd:	for idmapped mounts, unused
 */
struct qr_mount_attr {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};

/**
 * no_dir_fds() - refuse if a directory is open
 * @err:	error object
 *
 * A directory opened before the namespace is made stays on the host's mounts:
 * openat() relative to it (and its "..") would write anywhere they are
 * writable, around the read-only namespace. Callers open directories after
 * privilege_drop() instead; this catches the one that doesn't.
 *
 * Return: 0 if none is open, -1 otherwise
 */
static int no_dir_fds(struct qr_error *err)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int ret = 0;

	if (!d)
		return qr_err_sys(err, errno, "listing /proc/self/fd");
	while (!ret && (de = readdir(d))) {
		unsigned long long fd;
		char link[64], path[256];
		struct stat st;
		ssize_t n;

		if (parse_uint(de->d_name, 0x7fffffff, &fd) < 0 || (int)fd == dirfd(d))
			continue;
		if (fstat((int)fd, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%llu", fd);
		n = readlink(link, path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = '\0';
		ret = qr_err_set(err, QR_ERR_STATE,
		                 "directory %s (fd %llu) is open: opened before the drop, it "
		                 "would keep write access around the read-only file system",
		                 path, fd);
	}
	closedir(d);
	return ret;
}

/**
 * mount_flags() - the MS_* flags of a mount to keep on a remount
 * @opts:	its per-mount options, field 6 of /proc/self/mountinfo
 *
 * Read from mountinfo, not with statvfs(): that asks the file system, and a
 * FUSE mount whose daemon is gone answers ENOTCONN, while the bind remount
 * itself only changes the mount and works on it. Atime flags are left out:
 * a remount that names none keeps the mount's own (fs/namespace.c,
 * path_mount()).
 *
 * Return: MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOSYMFOLLOW as set there
 */
static unsigned long mount_flags(const char *opts)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} keep[] = {
	        {"nosuid", MS_NOSUID},
	        {"nodev", MS_NODEV},
	        {"noexec", MS_NOEXEC},
#ifdef MS_NOSYMFOLLOW
	        {"nosymfollow", MS_NOSYMFOLLOW},
#endif
	};
	unsigned long flags = 0;
	const char *p = opts;

	while (*p) {
		size_t len = strcspn(p, ",");

		for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
			if (len == strlen(keep[i].name) && !strncmp(p, keep[i].name, len))
				flags |= keep[i].flag;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return flags;
}

/**
 * unescape_octal() - undo /proc/self/mountinfo's \ooo escapes, in place
 * @s:		a mount point as mountinfo prints it
 */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/**
 * mountinfo_walk() - remount every mount read-only, or count the read-only
 * @remount:	remount (false: only count)
 * @n_ro:	mounts read-only, after the remounts
 * @err:	error object
 *
 * The way before Linux 5.12's mount_setattr(): one bind remount per mount
 * point, keeping its nosuid, nodev, noexec and (the kernel's default for a
 * remount) atime flags. A mount hidden under another one at the same place
 * can't be reached by its path and stays as it was (writable, shown again if
 * the one on top goes); a mount point that no longer exists is skipped.
 *
 * Return: 0 on success, -1 on failure
 */
static int mountinfo_walk(bool remount, size_t *n_ro, struct qr_error *err)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	bool more = false;
	char line[4096];
	int ret = 0;

	*n_ro = 0;
	if (!f)
		return qr_err_sys(err, errno, "reading /proc/self/mountinfo");
	while (!ret && fgets(line, sizeof(line), f)) {
		char *field[6], *save = NULL, *tok;
		bool rest = more;
		unsigned long flags;
		size_t n = 0;

		/* a long line (overlayfs options) comes in pieces: the fields
		 * we read are all in the first one
		 */
		more = !strchr(line, '\n');
		if (rest)
			continue;
		for (tok = strtok_r(line, " ", &save); tok && n < 6;
		     tok = strtok_r(NULL, " ", &save))
			field[n++] = tok;
		if (n < 6)
			continue;
		if (!remount) {
			*n_ro += str_has_prefix(field[5], "ro,") || !strcmp(field[5], "ro");
			continue;
		}
		unescape_octal(field[4]);
		flags = mount_flags(field[5]);
		if (mount(NULL, field[4], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, NULL) <
		    0) {
			if (errno != ENOENT)
				ret = qr_err_sys(err, errno, "remounting %s read-only", field[4]);
			continue;
		}
		(*n_ro)++;
	}
	(void)fclose(f); /* read only: nothing buffered to lose */
	return ret;
}

/**
 * open_writable() - open a directory the caller wants writable
 * @path:	its name
 * @err:	error object
 *
 * Opened by name only now, after the binds of the directories before it in
 * the list: one inside another then lands on the outer one's bind, where it
 * can be seen, not on the directory the bind covers.
 *
 * Return: an O_PATH descriptor, -1 if @path is not a directory (or a
 *	   symbolic link to one)
 */
static int open_writable(const char *path, struct qr_error *err)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return qr_err_sys(err, errno, "writable directory %s", path);
	return fd;
}

/**
 * writable_bind() - make directory @path a writable bind mount of itself, on
 *		     a file system that is read-only already
 * @path:	directory
 * @err:	error object
 *
 * The bind is recursive (mounts below the directory stay visible, read-only)
 * and made writable alone, nosuid, nodev and noexec: nothing written there can
 * become a set-uid program, a device, or code. The copy is set up detached,
 * then attached over the original.
 *
 * Return: 0 on success, -1 on failure
 */
static int writable_bind(const char *path, struct qr_error *err)
{
#ifdef QR_MOUNT_API
	struct qr_mount_attr attr = {
	        .attr_clr = MOUNT_ATTR_RDONLY,
	        .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};
	_cleanup_close_ int fd = open_writable(path, err), tree = -1;

	if (fd < 0)
		return -1;
	tree = (int)syscall(__NR_open_tree, fd, "",
	                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (tree < 0)
		return qr_err_sys(err, errno, "open_tree(%s)", path);
	if (syscall(__NR_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return qr_err_sys(err, errno, "making %s writable", path);
	if (syscall(__NR_move_mount, tree, "", fd, "",
	            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return qr_err_sys(err, errno, "move_mount(%s)", path);
	return 0;
#else
	(void)path;
	return qr_err_set(err, QR_ERR_UNSUPPORTED, "built without the mount API");
#endif
}

/**
 * legacy_readonly() - the read-only namespace without mount_setattr()
 * @writable:	directories that stay writable
 * @n:		how many
 * @err:	error object
 *
 * Binds first, while everything is writable (the walk then remounts them
 * read-only with the rest), then each made writable again by name: its bind
 * is the top mount there.
 *
 * Return: 0 on success, -1 on failure
 */
static int legacy_readonly(const char *const *writable, size_t n, struct qr_error *err)
{
	size_t ignored;

	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int fd = open_writable(writable[i], err);
		char self[64];

		if (fd < 0)
			return -1;
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		if (mount(self, self, NULL, MS_BIND | MS_REC, NULL) < 0)
			return qr_err_sys(err, errno, "bind-mounting %s", writable[i]);
	}
	if (mountinfo_walk(true, &ignored, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct statvfs sv;
		unsigned long flags = 0;

		/* our own directories, on live file systems: statvfs() is safe
		 * here, and nosymfollow can only be kept if it is named
		 */
		if (statvfs(writable[i], &sv) < 0)
			return qr_err_sys(err, errno, "making %s writable", writable[i]);
#ifdef ST_NOSYMFOLLOW
		if (sv.f_flag & ST_NOSYMFOLLOW)
			flags |= MS_NOSYMFOLLOW;
#endif
		if (mount(NULL, writable[i], NULL,
		          MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | flags,
		          NULL) < 0)
			return qr_err_sys(err, errno, "making %s writable", writable[i]);
	}
	return 0;
}

#define TUN_DIR  "/dev/net"
#define TUN_PATH TUN_DIR "/tun"

/**
 * own_tun() - in the private namespace, a /dev/net/tun of our own that group
 *	       @gid may open
 * @gid:	the group of the identity the drop takes
 * @err:	error object
 *
 * Leaving uid 0 means opening /dev/net/tun by its mode. The kernel creates it
 * 0600 (drivers/net/tun.c gives the misc device no mode) and udev makes it
 * 0666 (systemd's rules/50-udev-default.rules), so without udev (containers,
 * minimal hosts) only root could open it. A node of the same device on a
 * small tmpfs over /dev/net, in our namespace only, doesn't depend on that
 * and changes nothing on the host; it is read-only, nosuid and noexec like
 * the rest. The device itself checks CAP_NET_ADMIN on TUNSETIFF.
 *
 * Return: 0 on success (or no /dev/net/tun at all), -1 on failure
 */
static int own_tun(gid_t gid, struct qr_error *err)
{
	struct stat st;

	if (stat(TUN_PATH, &st) < 0) {
		if (errno == ENOENT)
			return 0; /* no tun here: nothing a remap could open */
		return qr_err_sys(err, errno, "%s", TUN_PATH);
	}
	if (!S_ISCHR(st.st_mode))
		return qr_err_set(err, QR_ERR_STATE, "%s is not a character device", TUN_PATH);
	if (mount("qremap-tun", TUN_DIR, "tmpfs", MS_NOSUID | MS_NOEXEC,
	          "mode=0755,size=4k,nr_inodes=4") < 0)
		return qr_err_sys(err, errno, "a private %s", TUN_DIR);
	if (mknod(TUN_PATH, S_IFCHR | 0660, st.st_rdev) < 0 || chown(TUN_PATH, 0, gid) < 0 ||
	    chmod(TUN_PATH, 0660) < 0)
		return qr_err_sys(err, errno, "a private %s", TUN_PATH);
	if (mount(NULL, TUN_DIR, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
	          NULL) < 0)
		return qr_err_sys(err, errno, "making the private %s read-only", TUN_DIR);
	return 0;
}

/**
 * fs_readonly() - the private, read-only mount namespace of privilege.h
 * @writable:	NULL-terminated directories that stay writable, or NULL
 * @ids:	the identity the drop takes (own_tun() for its group), or NULL
 * @rep:	report: @n_readonly and @writable, or @fs_note
 * @err:	error object
 *
 * Return: 0 on success (or noted: no CAP_SYS_ADMIN), -1 on failure
 */
static int fs_readonly(const char *const *writable, const struct privilege_ids *ids,
                       struct privilege_report *rep, struct qr_error *err)
{
	size_t n = 0, off = 0;
	bool modern = false;

	while (writable && writable[n])
		n++;
	if (unshare(CLONE_NEWNS) < 0) {
		/* without CAP_SYS_ADMIN (not root) there can't be one; with it,
		 * something (a seccomp policy, an LSM) refuses what we asked for
		 */
		if (errno == EPERM && !have_cap(CAP_SYS_ADMIN)) {
			snprintf(rep->fs_note, sizeof(rep->fs_note),
			         "not read-only: no mount namespace without CAP_SYS_ADMIN (EPERM)");
			return 0;
		}
		return qr_err_sys(err, errno, "unshare(CLONE_NEWNS)");
	}
	if (no_dir_fds(err) < 0)
		return -1;
	/* Our mounts stop propagating back, but the host's unmounts still
	 * reach us: a private copy would keep their file systems busy.
	 */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return qr_err_sys(err, errno, "making / a slave mount");
#ifdef QR_MOUNT_API
	if (!test_mount_fallback()) {
		struct qr_mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};

		if (syscall(__NR_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) == 0)
			modern = true;
		else if (errno != ENOSYS)
			return qr_err_sys(err, errno, "making every mount read-only");
	}
#endif
	if (modern) {
		for (size_t i = 0; i < n; i++)
			if (writable_bind(writable[i], err) < 0)
				return -1;
	} else if (legacy_readonly(writable, n, err) < 0) {
		return -1;
	}
	if (ids && own_tun(ids->gid, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		off += (size_t)snprintf(rep->writable + off, sizeof(rep->writable) - off, "%s%s",
		                        off ? ", " : "", writable[i]);
		off = off < sizeof(rep->writable) ? off : sizeof(rep->writable) - 1;
	}
	return mountinfo_walk(false, &rep->n_readonly, err);
}

/**
 * n_threads() - threads in this process, from /proc/self/status
 *
 * Return: the count, 0 if unknown
 */
static unsigned long long n_threads(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned long long n = 0;
	char line[256];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		const char *v = line + strlen("Threads:");

		if (!str_has_prefix(line, "Threads:"))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (parse_uint(v + strspn(v, " \t"), 1ULL << 32, &n) < 0)
			n = 0;
		break;
	}
	(void)fclose(f); /* read only: nothing buffered to lose */
	return n;
}

/**
 * keep_first() - remember the first of several failures
 * @first:	the error to report, filled once
 * @e:		the latest one (cleared for the next step)
 */
static void keep_first(struct qr_error *first, struct qr_error *e)
{
	if (first->kind == QR_OK)
		*first = *e;
	qr_err_clear(e);
}

/**
 * privilege_drop() - drop what a remap doesn't need (see privilege.h)
 * @opts:	what to set up
 * @rep:	what was kept, refused and left writable
 * @err:	error object
 *
 * Call it once, before creating any thread. Each step runs even if one before
 * it failed, and the filter is installed last whatever happened: a caller that
 * carried on after a failure would still be confined as far as possible. A
 * missing seccomp (kernel without it, unknown architecture), and no mount
 * namespace for a process without CAP_SYS_ADMIN (not root), are noted in
 * @rep, not errors.
 *
 * Return: 0 on success, -1 on failure (privileges partly dropped: exit)
 */
int privilege_drop(const struct privilege_opts *opts, struct privilege_report *rep,
                   struct qr_error *err)
{
	struct qr_error first = {0}, e = {0};
	unsigned long long threads = n_threads();

	memset(rep, 0, sizeof(*rep));
	if (threads != 1) {
		qr_err_set(&e, QR_ERR_STATE,
		           "%llu threads (0: unknown): privileges must be dropped before the "
		           "first thread, which would keep them",
		           threads);
		keep_first(&first, &e);
	}
	if (!opts->readonly_fs)
		snprintf(rep->fs_note, sizeof(rep->fs_note), "not read-only: turned off");
	else if (fs_readonly(opts->writable, opts->ids, rep, &e) < 0)
		keep_first(&first, &e);
	if (drop_caps(opts->ids, rep, &e) < 0)
		keep_first(&first, &e);
	/* No exec is ever wanted; this also lets an unprivileged process
	 * install the filter.
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		qr_err_sys(&e, errno, "PR_SET_NO_NEW_PRIVS");
		keep_first(&first, &e);
	}
	if (!opts->seccomp)
		snprintf(rep->filter_note, sizeof(rep->filter_note), "turned off (--no-seccomp)");
	else if (filter_install(rep, &e) < 0)
		keep_first(&first, &e);
	if (first.kind != QR_OK) {
		*err = first;
		return -1;
	}
	return 0;
}

/**
 * privilege_log() - say what privilege_drop() did, at debug level for one-shot
 *		     runs and info for the daemon
 * @who:	"qremapd" logs at info, anything else at debug
 * @rep:	report
 */
void privilege_log(const char *who, const struct privilege_report *rep)
{
	enum log_level lvl = strcmp(who, "qremapd") ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	char fs[384], filter[192];

	/* "capabilities kept: ...; seccomp ..." first, as before the read-only
	 * file system: the integration tests and people's log searches look
	 * for it
	 */
	if (rep->n_allowed)
		snprintf(filter, sizeof(filter),
		         "seccomp refuses all but %zu system calls (some allowed only with the "
		         "arguments a remap uses)",
		         rep->n_allowed);
	else
		snprintf(filter, sizeof(filter), "seccomp filter %s", rep->filter_note);
	if (rep->n_readonly)
		snprintf(fs, sizeof(fs), "%zu mounts read-only, writable: %s", rep->n_readonly,
		         rep->writable[0] ? rep->writable : "nothing");
	else
		snprintf(fs, sizeof(fs), "%s", rep->fs_note);
	log_msg(lvl, "privileges: capabilities kept: %s; %s; file system: %s; runs as %s",
	        rep->kept[0] ? rep->kept : "none", filter, fs,
	        rep->ids[0] ? rep->ids : "the user that started it");
}
