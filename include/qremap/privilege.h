/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - privilege.h: keep only the privileges a remap needs
 *
 * A remap needs three capabilities and nothing else of root's:
 * - CAP_SYS_PTRACE: pidfd_getfd(2) on QEMU, which Incus runs as nobody
 *   (PTRACE_MODE_ATTACH), and reading its /proc/PID/fd and fdinfo;
 * - CAP_NET_ADMIN: TUNSETIFF on a tap another user owns, to open a fresh
 *   queue, and TUNSETQUEUE to detach the old ones (drivers/net/tun.c);
 * - CAP_SYS_ADMIN: setns(2) into the tap's network namespace, only when the
 *   tap lives in another one than qremap (a containerised host, the tests);
 *   Incus's taps are in the host's namespace and need no setns.
 * Access to the QMP socket is ordinary file access, used before the drop.
 *
 * privilege_drop() runs once start-up is over (the socket is bound or the
 * monitor connected, the profile read), before any thread exists, in four
 * steps:
 * 1. a private mount namespace (propagation from the host kept one way:
 *    MS_SLAVE, so that the host can still unmount what we see) in which every
 *    mount is read-only, /proc included, except the directories the caller
 *    names, which are bind mounts of themselves, writable but nosuid, nodev
 *    and noexec. A regular file can then only be opened for writing there:
 *    not a root-owned file elsewhere, not /proc/PID/mem (EROFS), while
 *    reading /proc, opening /dev/net/tun (a device: no write access to the
 *    mount is taken) and connecting to unix sockets still work;
 * 2. the bounding, ambient and inheritable sets emptied, the three kept
 *    capabilities alone in the permitted and effective sets;
 * 3. no_new_privs;
 * 4. a seccomp filter that allows, by number, the system calls qremap and
 *    qremapd make after the drop (privilege.c says where the list comes
 *    from), some only with the arguments they use, and refuses every other
 *    one with EPERM: a hijacked qremapd can't io_uring, exec, mount, chmod,
 *    signal another process, open an inet socket, or map memory writable and
 *    executable.
 * The filter is installed even when an earlier step failed, and a process
 * that can't make the namespace (no CAP_SYS_ADMIN: EPERM) gets the rest.
 *
 * Hand-built BPF rather than libseccomp: the allow list is a table of
 * numbers (named by the kernel headers' __NR_ macros) checked in one linear
 * pass, the argument checks are a few comparisons each, and both
 * architectures we build a filter for (x86_64, aarch64) are 64-bit with one
 * native ABI, so what libseccomp adds (multi-ABI filters, socketcall and
 * ipc multiplexers, a generated decision tree) isn't needed. Another
 * run-time dependency for some 150 instructions, tested call by call in
 * test_privilege, is not worth it.
 *
 * With @ids (qremapd), step 2 also leaves uid 0: every uid and gid becomes
 * the daemon's own user, supplementary groups as given (the Incus socket's
 * group), and CAP_DAC_READ_SEARCH is kept too, since what root owned by
 * being root it now reads by capability: QEMU's /proc/PID/fd and fdinfo
 * (QEMU drops to nobody from root, so the kernel makes it non-dumpable and
 * its /proc files root's, 0500 and 0400) and Incus's pid files (0600 root).
 *
 * What a hijacked qremapd can still do, by design (qremapd(8), PRIVILEGES):
 * read any process's memory and any file (CAP_SYS_PTRACE, /proc,
 * CAP_DAC_READ_SEARCH), copy any process's descriptors (pidfd_getfd) and use
 * them, including files another process has open for writing. Through
 * /proc/PID/root of another process it reaches that process's writable
 * mounts, but with @ids it writes there only what its own user, or the
 * Incus socket's group, may write: not root's files.
 */
#ifndef QREMAP_PRIVILEGE_H
#define QREMAP_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qremap/error.h"

/**
 * struct privilege_ids - the identity to take in the drop
 * @uid:	real, effective, saved and file-system uid (not 0)
 * @gid:	the same for gids
 * @groups:	supplementary groups, @n_groups of them (0: none)
 * @n_groups:	how many
 */
struct privilege_ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[4];
	size_t n_groups;
};

/**
 * struct privilege_opts - what privilege_drop() sets up
 * @seccomp:	install the seccomp filter (off: --no-seccomp)
 * @readonly_fs: make every mount read-only in a private mount namespace
 * @writable:	NULL-terminated list of existing directories that stay
 *		writable (qremapd: its socket's directory and its state
 *		directory), or NULL. Symbolic links are refused. Open them, and
 *		any other directory, only after the drop: a directory opened
 *		before it still reaches the writable mounts through openat(), so
 *		privilege_drop() refuses to set up the namespace while one is open
 * @ids:	leave uid 0 for these, keeping CAP_DAC_READ_SEARCH; NULL: stay
 */
struct privilege_opts {
	bool seccomp;
	bool readonly_fs;
	const char *const *writable;
	const struct privilege_ids *ids;
};

/**
 * struct privilege_report - what privilege_drop() did
 * @kept:		capability names kept, comma-separated ("" if none)
 * @n_allowed:		system calls the seccomp filter allows (0: no filter)
 * @filter_note:	why there is no filter, if there is none
 * @n_readonly:		mounts read-only in the private namespace (0: none)
 * @writable:		the directories left writable, comma-separated
 * @fs_note:		why there is no read-only namespace, if there is none
 * @ids:		"uid U, gid G, groups A,B" after the drop
 */
struct privilege_report {
	char kept[96];
	size_t n_allowed;
	char filter_note[160];
	size_t n_readonly;
	char writable[256];
	char fs_note[160];
	char ids[96];
};

int privilege_drop(const struct privilege_opts *opts, struct privilege_report *rep,
                   struct qr_error *err);
void privilege_log(const char *who, const struct privilege_report *rep);

#endif /* QREMAP_PRIVILEGE_H */
