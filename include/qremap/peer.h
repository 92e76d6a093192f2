/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - peer.h: which Incus VM, if any, is at the other end of a
 * connection to qremapd.
 *
 * qremapd's socket must accept QEMU running as nobody, so any local user can
 * connect to it; nothing the peer says (its -name, query-name, its messages)
 * can tell who it is. The identity comes from Incus instead:
 *
 * - The peer is the process that connected, held by a pidfd
 *   (SO_PEERPIDFD; proc.h), never a pid looked up later.
 * - Incus's API reports a VM's QEMU pid only once the start operation is
 *   over: while the start lock is held, the qemu driver's statusCode()
 *   answers "Stopped" and renderState() leaves the pid out
 *   (internal/server/instance/drivers/driver_qemu.go, Incus 6.0.4 and main).
 *   qremapd must know the VM *during* that start (pre-start), so it reads
 *   what Incus's own pid() reads: the pid file QEMU writes (as root, before
 *   it drops to nobody) into the instance's run directory, RunPath() =
 *   /run/incus/<project>_<name> (plain <name> in the default project;
 *   internal/util/paths.go, internal/server/project/project.go). That
 *   directory is root's, mode 0700: no other user can write it. The file
 *   must be root's, not writable by anyone else, and name the peer's pid.
 * - Then Incus is asked for that instance: it must exist, be a virtual
 *   machine, and the peer must run with its volatile.uuid as -uuid (the very
 *   check pid() makes on /proc/PID/cmdline).
 * - A pid file outlives a QEMU that crashed; a process that later gets the
 *   same pid would match it. It would also have started after the file was
 *   written, so the peer must have started no later than the pid file's
 *   mtime (plus PEER_START_SLACK_MS for the clocks' resolution).
 * - The checks end with the pidfd still showing the process alive, so the
 *   pid compared was the peer's own.
 */
#ifndef QREMAP_PEER_H
#define QREMAP_PEER_H

#include "qremap/error.h"
#include "qremap/proc.h"

#define PEER_RUN_DIR          "/run/incus"
#define PEER_MAX_RUN_ENTRIES  4096 /* run directories looked at, at most */
#define PEER_START_SLACK_MS   2000
#define PEER_NAME_MAX         64 /* Incus: instance names <= 63 chars */
#define PEER_PROFILE_NAME_MAX 128

/**
 * struct peer_id - an identified VM
 * @project:	Incus project
 * @name:	instance name
 * @rundir:	its run directory's name below PEER_RUN_DIR
 * @uuid:	its volatile.uuid
 * @profile:	expanded_config's user.qremap.profile, "" if unset
 */
struct peer_id {
	char project[PEER_NAME_MAX];
	char name[PEER_NAME_MAX];
	char rundir[2 * PEER_NAME_MAX + 2];
	char uuid[40];
	char profile[PEER_PROFILE_NAME_MAX];
};

int peer_open_run_dir(const char *path, struct qr_error *err);
int peer_identify_incus(const char *incus_socket, int run_dirfd, const struct qr_proc *p,
                        struct peer_id *id, struct qr_error *err);
int peer_recheck_incus(int run_dirfd, const struct qr_proc *p, const struct peer_id *id,
                       struct qr_error *err);
void peer_label(const struct peer_id *id, char *buf, size_t len);

#endif /* QREMAP_PEER_H */
