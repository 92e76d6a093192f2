/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - proc.h: a handle on one process (QEMU) that survives pid reuse.
 *
 * A pid is only a number: once its process exits, another may get it, and
 * whatever qremap then reads from /proc/PID or copies with pidfd_getfd()
 * belongs to that other process. A struct qr_proc holds instead:
 * - a pidfd (pidfd_open(2), Linux >= 5.3; or SO_PEERPIDFD on a unix socket,
 *   Linux >= 6.5, which names the process that connected, race-free);
 * - a descriptor of its /proc/PID directory, opened while the pidfd still
 *   showed the process alive. A /proc/PID directory belongs to the process
 *   it was looked up for: once that process is gone, lookups beneath it
 *   fail, even if the number is reused (fs/proc/base.c). Every /proc read
 *   goes through it (openat), never through a path built from the number.
 * "Alive" is poll(2) on the pidfd: POLLIN once the process has exited
 * (pidfd_open(2)).
 */
#ifndef QREMAP_PROC_H
#define QREMAP_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "qremap/error.h"

/**
 * struct qr_proc - a process held by pidfd
 * @pid:	its pid (for messages and comparisons; never used to open)
 * @uid:	its real uid when the handle was made (socket credentials or
 *		/proc/PID/status)
 * @pidfd:	pidfd, -1 if none
 * @dirfd:	its /proc/PID directory, -1 if none
 */
struct qr_proc {
	pid_t pid;
	uid_t uid;
	int pidfd;
	int dirfd;
};

#define QR_PROC_INIT                                                                               \
	{                                                                                          \
		.pid = 0, .uid = (uid_t)-1, .pidfd = -1, .dirfd = -1                               \
	}

int proc_open_pid(pid_t pid, struct qr_proc *p, struct qr_error *err);
int proc_open_socket_peer(int sock, struct qr_proc *p, struct qr_error *err);
bool proc_alive(const struct qr_proc *p);
int proc_openat(const struct qr_proc *p, const char *rel, int flags, struct qr_error *err);
int proc_read_file(const struct qr_proc *p, const char *rel, char *buf, size_t len, size_t *got,
                   struct qr_error *err);
int proc_start_ticks(const struct qr_proc *p, uint64_t *ticks, struct qr_error *err);
void proc_close(struct qr_proc *p);

#endif /* QREMAP_PROC_H */
