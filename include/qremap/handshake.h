/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - handshake.h: how Incus's pre-start stage and qremapd agree that
 * the devices are in and the remap is done, with nothing but QMP.
 *
 * Incus can't run a program for a VM; its raw.qemu.scriptlet can only make
 * QMP calls, can't sleep and has no while loop (docs/facts.md §2). And QEMU runs
 * QMP commands from all monitors one at a time, so no call of the scriptlet
 * may wait for qremapd: it would stall qremapd's own monitor too. So:
 *
 *  1. When a VM's QEMU dials qremapd, qremapd negotiates, creates a ringbuf
 *     chardev HANDSHAKE_CHARDEV (its existence says "qremapd is here") and
 *     waits for a RESET event.
 *  2. The scriptlet's pre-start stage checks that chardev exists
 *     (query-chardev; absent: fail the start, or carry on unremapped if the
 *     profile allows it), then sends system_reset: harmless in prelaunch
 *     (Incus resets right after pre-start anyway), and QEMU broadcasts the
 *     RESET event to every monitor, qremapd's included.
 *  3. qremapd remaps and writes one line to the ringbuf:
 *     "done", "nothing" or "failed: why".
 *  4. The scriptlet polls ringbuf-read in a bounded for loop; each call is
 *     cheap and returns at once, so qremapd's commands run between them.
 *     "failed" or running out of polls fails the start.
 *
 * It can't race with Incus's own system_reset and cont: those come after the
 * pre-start stage returns, and it returns only once qremapd has answered.
 * qremapd ignores the RESETs it causes itself and every RESET after the
 * first remap (guest reboots).
 */
#ifndef QREMAP_HANDSHAKE_H
#define QREMAP_HANDSHAKE_H

#include <stdbool.h>
#include <stdio.h>

#define HANDSHAKE_CHARDEV   "qremap-status"
#define HANDSHAKE_RING_SIZE 4096
#define HANDSHAKE_MAX_POLLS 20000 /* ~20-40 s of back-to-back polls via Incus */
#define HANDSHAKE_DONE      "done"
#define HANDSHAKE_NOTHING   "nothing"
#define HANDSHAKE_FAILED    "failed: "

/**
 * struct handshake_opts - how the generated scriptlet behaves
 * @allow_unremapped:	if qremapd is not there, log and let the VM start
 *			unremapped instead of failing the start
 * @max_polls:		bound on ringbuf-read calls (0 = HANDSHAKE_MAX_POLLS)
 */
struct handshake_opts {
	bool allow_unremapped;
	unsigned max_polls;
};

void handshake_scriptlet(FILE *f, const struct handshake_opts *opts);

#endif /* QREMAP_HANDSHAKE_H */
