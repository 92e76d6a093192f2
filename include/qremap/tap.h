/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - tap.h: look at (and later, rewire) the host side of QEMU's taps
 *
 * QEMU's tap netdevs hold one /dev/net/tun file per queue. QMP can't show
 * them; "info network" gives QEMU's fd numbers, and from there the kernel
 * tells the rest:
 * - pidfd_getfd(2) (Linux >= 5.6, needs PTRACE_MODE_ATTACH on QEMU: root or
 *   CAP_SYS_PTRACE, since Incus runs QEMU as nobody) gives us the very same
 *   open file; TUNGETIFF on it returns the tap name and flags, with
 *   IFF_DETACH_QUEUE set if that queue is detached (drivers/net/tun.c).
 *   Re-opening /proc/<pid>/fd/N would give a new, different tun file.
 * - TUNGETDEVNETNS (Linux >= 5.2) returns the tap's network namespace, so a
 *   tap inside a namespace (tests, or a containerised host) can be handled.
 * - /proc/<pid>/fdinfo/<fd> has "iff:\t<name>" for tun files, attached or
 *   not: the fallback when pidfd_getfd is refused, and how verification
 *   counts every tun fd QEMU holds for a tap.
 * - RTM_GETLINK's IFLA_TUN_NUM_QUEUES / IFLA_TUN_NUM_DISABLED_QUEUES give
 *   the attached and detached queue counts of the whole device.
 */
#ifndef QREMAP_TAP_H
#define QREMAP_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <sys/types.h>

#include "qremap/error.h"
#include "qremap/proc.h"

/**
 * enum tap_queue_state - what we know about one queue
 * @TAPQ_UNKNOWN:	could not look (see @why in struct tap_queue_info)
 * @TAPQ_ATTACHED:	attached: the kernel may put packets on it
 * @TAPQ_DETACHED:	detached with TUNSETQUEUE IFF_DETACH_QUEUE
 */
enum tap_queue_state {
	TAPQ_UNKNOWN = 0,
	TAPQ_ATTACHED,
	TAPQ_DETACHED,
};

/**
 * struct tap_queue_info - host view of one QEMU tun descriptor
 * @qemu_fd:	descriptor number inside QEMU
 * @is_tun:	it is a /dev/net/tun file bound to a device
 * @ifname:	tap name, if known
 * @flags:	TUNGETIFF flags without IFF_DETACH_QUEUE / IFF_NOFILTER
 * @state:	attached or detached, if known
 * @netns_ino:	inode of the tap's network namespace (0 if unknown)
 * @why:	reason for missing information, empty if complete
 */
struct tap_queue_info {
	int qemu_fd;
	bool is_tun;
	char ifname[IFNAMSIZ];
	unsigned flags;
	enum tap_queue_state state;
	unsigned long netns_ino;
	char why[160];
};

int tap_inspect_qemu_fd(const struct qr_proc *p, int qemu_fd, struct tap_queue_info *out);
int tap_get_queue_fd(int pidfd, int qemu_fd, struct qr_error *err);
int tap_fd_info(int fd, char ifname[IFNAMSIZ], unsigned *flags, bool *detached,
                struct qr_error *err);
int tap_qemu_tun_fds(const struct qr_proc *p, const char *ifname, int *fds, size_t max, size_t *n,
                     struct qr_error *err);
int tap_link_queues(int netns_fd, const char *ifname, unsigned *attached, unsigned *detached,
                    struct qr_error *err);
int tap_netns_of(int tunfd, struct qr_error *err);
unsigned long tap_netns_ino_self(void);
int tap_open_queue_like(int model_fd, struct qr_error *err);
int tap_detach_queue(int fd, bool *was_attached, struct qr_error *err);
int tap_attach_queue(int fd, struct qr_error *err);

#endif /* QREMAP_TAP_H */
