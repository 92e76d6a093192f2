// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - privilege.c: keep only the privileges a remap needs
 *
 * See privilege.h for what is kept and why. Capabilities are per thread:
 * privilege_drop() must run before the first thread is created (qremapd
 * calls it before accepting any VM), so that every thread inherits the
 * reduced sets; the seccomp filter, installed last, is inherited likewise.
 */

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qremap/log.h"
#include "qremap/privilege.h"
#include "qremap/util.h"

/* The capabilities a remap uses (privilege.h), by number and name */
static const struct {
	int cap;
	const char *name;
} kept_caps[] = {
        {CAP_NET_ADMIN, "cap_net_admin"},
        {CAP_SYS_ADMIN, "cap_sys_admin"},
        {CAP_SYS_PTRACE, "cap_sys_ptrace"},
};

/*
 * LeakSanitizer stops the world with ptrace(2) from a cloned tracer when the
 * process exits; refusing ptrace would turn every sanitized run into a
 * LeakSanitizer failure. Sanitized builds are test builds: they keep ptrace.
 */
#if defined(__SANITIZE_ADDRESS__)
#define QR_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QR_SANITIZED 1
#endif
#endif

#if defined(__x86_64__)
#define QR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define QR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/*
 * Refused outright: nothing in qremap or qremapd makes these calls (no exec,
 * no mounts, no modules, no new namespaces, no uid changes), and each is a
 * step a hijacked root process would take. Guarded one by one, since older
 * headers lack the newer calls.
 */
static const long denied_syscalls[] = {
#ifdef __NR_execve
        __NR_execve,
#endif
#ifdef __NR_execveat
        __NR_execveat,
#endif
#if defined(__NR_ptrace) && !defined(QR_SANITIZED)
        __NR_ptrace,
#endif
#ifdef __NR_process_vm_readv
        __NR_process_vm_readv,
#endif
#ifdef __NR_process_vm_writev
        __NR_process_vm_writev,
#endif
#ifdef __NR_mount
        __NR_mount,
#endif
#ifdef __NR_umount2
        __NR_umount2,
#endif
#ifdef __NR_pivot_root
        __NR_pivot_root,
#endif
#ifdef __NR_chroot
        __NR_chroot,
#endif
#ifdef __NR_open_tree
        __NR_open_tree,
#endif
#ifdef __NR_move_mount
        __NR_move_mount,
#endif
#ifdef __NR_fsopen
        __NR_fsopen,
#endif
#ifdef __NR_fsconfig
        __NR_fsconfig,
#endif
#ifdef __NR_fsmount
        __NR_fsmount,
#endif
#ifdef __NR_fspick
        __NR_fspick,
#endif
#ifdef __NR_mount_setattr
        __NR_mount_setattr,
#endif
#ifdef __NR_unshare
        __NR_unshare,
#endif
#ifdef __NR_init_module
        __NR_init_module,
#endif
#ifdef __NR_finit_module
        __NR_finit_module,
#endif
#ifdef __NR_delete_module
        __NR_delete_module,
#endif
#ifdef __NR_kexec_load
        __NR_kexec_load,
#endif
#ifdef __NR_kexec_file_load
        __NR_kexec_file_load,
#endif
#ifdef __NR_reboot
        __NR_reboot,
#endif
#ifdef __NR_swapon
        __NR_swapon,
#endif
#ifdef __NR_swapoff
        __NR_swapoff,
#endif
#ifdef __NR_bpf
        __NR_bpf,
#endif
#ifdef __NR_perf_event_open
        __NR_perf_event_open,
#endif
#ifdef __NR_userfaultfd
        __NR_userfaultfd,
#endif
#ifdef __NR_open_by_handle_at
        __NR_open_by_handle_at,
#endif
#ifdef __NR_name_to_handle_at
        __NR_name_to_handle_at,
#endif
#ifdef __NR_keyctl
        __NR_keyctl,
#endif
#ifdef __NR_add_key
        __NR_add_key,
#endif
#ifdef __NR_request_key
        __NR_request_key,
#endif
#ifdef __NR_iopl
        __NR_iopl,
#endif
#ifdef __NR_ioperm
        __NR_ioperm,
#endif
#ifdef __NR_acct
        __NR_acct,
#endif
#ifdef __NR_settimeofday
        __NR_settimeofday,
#endif
#ifdef __NR_clock_settime
        __NR_clock_settime,
#endif
#ifdef __NR_clock_adjtime
        __NR_clock_adjtime,
#endif
#ifdef __NR_adjtimex
        __NR_adjtimex,
#endif
#ifdef __NR_sethostname
        __NR_sethostname,
#endif
#ifdef __NR_setdomainname
        __NR_setdomainname,
#endif
#ifdef __NR_quotactl
        __NR_quotactl,
#endif
#ifdef __NR_personality
        __NR_personality,
#endif
#ifdef __NR_setuid
        __NR_setuid,
#endif
#ifdef __NR_setgid
        __NR_setgid,
#endif
#ifdef __NR_setreuid
        __NR_setreuid,
#endif
#ifdef __NR_setregid
        __NR_setregid,
#endif
#ifdef __NR_setresuid
        __NR_setresuid,
#endif
#ifdef __NR_setresgid
        __NR_setresgid,
#endif
#ifdef __NR_setgroups
        __NR_setgroups,
#endif
#ifdef __NR_setfsuid
        __NR_setfsuid,
#endif
#ifdef __NR_setfsgid
        __NR_setfsgid,
#endif
#ifdef __NR_capset
        __NR_capset,
#endif
#ifdef __NR_tkill
        __NR_tkill,
#endif
#ifdef __NR_rt_sigqueueinfo
        __NR_rt_sigqueueinfo,
#endif
#ifdef __NR_pidfd_send_signal
        __NR_pidfd_send_signal,
#endif
};

/* Room for the fixed part of the filter plus one jump per denied call */
#define FILTER_FIXED 32
#define FILTER_MAX   (FILTER_FIXED + sizeof(denied_syscalls) / sizeof(denied_syscalls[0]))

/* clone(2) flags that create namespaces: no thread qremapd starts uses them */
#define CLONE_NEW_ANY                                                                              \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

#define ARG_LO(n) ((unsigned)offsetof(struct seccomp_data, args[n]))
#define ARG_HI(n) ((unsigned)offsetof(struct seccomp_data, args[n]) + 4)

/**
 * struct filter - a seccomp program being built
 * @ins:	instructions
 * @n:		number of @ins
 */
struct filter {
	struct sock_filter ins[FILTER_MAX];
	size_t n;
};

/* Append one instruction; the fixed part is sized so that it always fits. */
static void emit(struct filter *f, unsigned short code, unsigned k, unsigned char jt,
                 unsigned char jf)
{
	f->ins[f->n++] = (struct sock_filter){.code = code, .jt = jt, .jf = jf, .k = k};
}

/*
 * kill() or tgkill() (@nr) only to this process (@self): the first argument
 * must be our pid, with a zero upper half (kill(-1) sign-extends).
 */
static void emit_self_only(struct filter *f, long nr, pid_t self)
{
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 7);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_HI(0), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, 0, 0);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)self, 1, 0);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, 0, 0);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
}

/**
 * filter_build() - the seccomp program described in privilege.h
 * @f:		program to fill
 * @self:	our pid, the only target kill()/tgkill() may have
 */
static void filter_build(struct filter *f, pid_t self)
{
	const size_t n_deny = sizeof(denied_syscalls) / sizeof(denied_syscalls[0]);

	f->n = 0;
	/* A foreign ABI (int 0x80 on x86_64) would get around every number
	 * below: a process that tries one is killed, never let through.
	 */
	emit(f, BPF_LD | BPF_W | BPF_ABS, (unsigned)offsetof(struct seccomp_data, arch), 0, 0);
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, QR_AUDIT_ARCH, 1, 0);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit(f, BPF_LD | BPF_W | BPF_ABS, (unsigned)offsetof(struct seccomp_data, nr), 0, 0);
#ifdef __x86_64__
	/* x32 calls are the same numbers with a high bit set */
	emit(f, BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, 0, 0);
#endif
#ifdef __NR_clone3
	/* clone3 hides its flags behind a pointer the filter can't read:
	 * ENOSYS makes glibc fall back to clone(2), whose flags it can.
	 */
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)__NR_clone3, 0, 1);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
#endif
	/* clone(2): threads yes, namespaces no (flags are argument 0 on
	 * x86_64 and aarch64 alike)
	 */
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)__NR_clone, 0, 4);
	emit(f, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
	emit(f, BPF_JMP | BPF_JSET | BPF_K, CLONE_NEW_ANY, 0, 1);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, 0, 0);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	/* Signals: only to ourselves (abort(), raise(), pthread_kill()) */
	emit_self_only(f, __NR_kill, self);
	emit_self_only(f, __NR_tgkill, self);
	/* The deny list: each entry jumps to the EPERM at the very end */
	for (size_t i = 0; i < n_deny; i++)
		emit(f, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied_syscalls[i],
		     (unsigned char)(n_deny - i), 0);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	emit(f, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM, 0, 0);
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
 * drop_caps() - keep only kept_caps[] (those we have), everywhere
 * @rep:	report: @kept is filled
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int drop_caps(struct privilege_report *rep, struct qr_error *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};
	unsigned long long have, keep = 0;
	size_t off = 0;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return qr_err_sys(err, errno, "capget");
	have = (unsigned long long)data[0].permitted | (unsigned long long)data[1].permitted << 32;
	rep->kept[0] = '\0';
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++) {
		if (!(have & 1ULL << kept_caps[i].cap))
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
	memset(data, 0, sizeof(data));
	data[0].permitted = data[0].effective = (unsigned)(keep & 0xffffffffU);
	data[1].permitted = data[1].effective = (unsigned)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return qr_err_sys(err, errno, "capset");
	return 0;
}

/**
 * privilege_drop() - drop what a remap doesn't need (see privilege.h)
 * @seccomp:	install the seccomp filter too
 * @rep:	what was kept and refused
 * @err:	error object
 *
 * Call it once, before creating any thread. A missing seccomp (kernel without
 * it, unknown architecture) is noted in @rep, not an error: the capability
 * drop alone is still worth having.
 *
 * Return: 0 on success, -1 on failure (privileges may be partly dropped)
 */
int privilege_drop(bool seccomp, struct privilege_report *rep, struct qr_error *err)
{
	memset(rep, 0, sizeof(*rep));
	if (drop_caps(rep, err) < 0)
		return -1;
	/* No exec is ever wanted; this also lets an unprivileged process
	 * install the filter.
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return qr_err_sys(err, errno, "PR_SET_NO_NEW_PRIVS");
	if (!seccomp) {
		snprintf(rep->filter_note, sizeof(rep->filter_note), "turned off (--no-seccomp)");
		return 0;
	}
#if defined(QR_AUDIT_ARCH) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		static struct filter f;
		struct sock_fprog prog;

		filter_build(&f, getpid());
		prog = (struct sock_fprog){.len = (unsigned short)f.n, .filter = f.ins};
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
			snprintf(rep->filter_note, sizeof(rep->filter_note),
			         "not installed: %s (kernel without CONFIG_SECCOMP_FILTER?)",
			         strerror(errno));
			return 0;
		}
		rep->n_denied = sizeof(denied_syscalls) / sizeof(denied_syscalls[0]);
	}
#else
	snprintf(rep->filter_note, sizeof(rep->filter_note),
	         "not installed: no filter for this architecture");
#endif
	return 0;
}

/**
 * privilege_log() - say what privilege_drop() kept, at debug level for
 *		     one-shot runs and info for the daemon
 * @who:	"qremapd" logs at info, anything else at debug
 * @rep:	report
 */
void privilege_log(const char *who, const struct privilege_report *rep)
{
	if (rep->n_denied)
		log_msg(strcmp(who, "qremapd") ? LOG_LVL_DEBUG : LOG_LVL_INFO,
		        "privileges: capabilities kept: %s; seccomp refuses %zu system calls, "
		        "clone3, namespaces and signals to other processes",
		        rep->kept[0] ? rep->kept : "none", rep->n_denied);
	else
		log_msg(strcmp(who, "qremapd") ? LOG_LVL_DEBUG : LOG_LVL_INFO,
		        "privileges: capabilities kept: %s; seccomp filter %s",
		        rep->kept[0] ? rep->kept : "none", rep->filter_note);
}
