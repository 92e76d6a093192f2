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
 * monitor connected, the profile read): it empties the bounding, ambient and
 * inheritable sets, keeps only those three in the permitted and effective
 * sets, sets no_new_privs, and installs a seccomp filter that refuses, with
 * EPERM, the system calls a remap never makes but a hijacked process would
 * want (exec, mount, module loading, kexec, bpf, ptrace, namespace creation,
 * signals to other processes...). It is a deny list, not passt's allow list:
 * qremapd links glibc and libcurl, whose exact system calls vary between
 * versions, and an allow list that misses one would fail a VM's start, where
 * a deny list only ever refuses what qremap provably never does.
 */
#ifndef QREMAP_PRIVILEGE_H
#define QREMAP_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>

#include "qremap/error.h"

/**
 * struct privilege_report - what privilege_drop() did
 * @kept:		capability names kept, comma-separated ("" if none)
 * @n_denied:		system calls the seccomp filter refuses (0: no filter)
 * @filter_note:	why there is no filter, if there is none
 */
struct privilege_report {
	char kept[96];
	size_t n_denied;
	char filter_note[160];
};

int privilege_drop(bool seccomp, struct privilege_report *rep, struct qr_error *err);
void privilege_log(const char *who, const struct privilege_report *rep);

#endif /* QREMAP_PRIVILEGE_H */
