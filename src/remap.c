// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - remap.c: the executor (see remap.h for the outcomes)
 *
 * Every step that changes QEMU or the host has its undo in the plan; this
 * file runs steps, keeps the descriptors the host steps need, and decides,
 * when something fails, whether going back is still possible (phase A) or
 * the exact state must be reported instead (phase B).
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "qremap/infonet.h"
#include "qremap/log.h"
#include "qremap/qmp_query.h"
#include "qremap/remap.h"
#include "qremap/tap.h"

/* How long a lost connection waits to see QEMU's process end. A dying
 * process closes its files after its memory is torn down and reports its
 * exit right after (do_exit()), so this only has to cover the last threads
 * of a killed QEMU; a monitor that hangs up on a live QEMU pays it once.
 */
#define QEMU_EXIT_WAIT_MS 500

/* "LABEL: " before each log line, when the caller gave a label (qremapd: the VM) */
#define LBL(o) ((o)->label ? (o)->label : ""), ((o)->label ? ": " : "")

/**
 * struct nic_fds - host descriptors held for one NIC during a remap
 * @fresh:	the fresh queue (our copy; QEMU gets its own via getfd)
 * @old:	pidfd_getfd() copies of the old netdev's queues: after
 *		netdev_del QEMU has closed them, and these are then the only
 *		way left to detach queues that are still attached
 * @n_old:	number of @old
 * @fd_given:	QEMU owns the getfd'd queue through a netdev now (closefd
 *		would find nothing to close)
 */
struct nic_fds {
	int fresh;
	int old[PLAN_MAX_QUEUES];
	unsigned n_old;
	bool fd_given;
};

/**
 * struct exec - state of one apply
 * @c:		QMP client
 * @plan:	plan
 * @opts:	options
 * @rep:	report being filled
 * @proc:	QEMU held by pidfd: @opts->proc, or @own; NULL until a host
 *		step needs it
 * @own:	the handle opened from @opts->pid when the caller gave none
 * @nics:	per plan NIC
 * @pending:	devices whose unplug waits for reset (ACPI)
 * @n_pending:	number of @pending
 * @inflight:	devices asked to go (native hotplug) whose DEVICE_DELETED is
 *		awaited together, at the last of a run of removals
 * @n_inflight:	number of @inflight
 * @committed:	a phase-B step has had an effect
 * @seen:	QEMU's view after the remap, read once for every verification
 *		step (see read_seen())
 * @q_block:	index of query-block in @seen
 * @q_devs:	index of qom-list /machine/peripheral in @seen
 * @q_net:	index of "info network" in @seen
 */
struct exec {
	struct qmp_client *c;
	const struct plan *plan;
	const struct remap_opts *opts;
	struct remap_report *rep;
	const struct qr_proc *proc;
	struct qr_proc own;
	struct nic_fds *nics;
	const char **pending;
	size_t n_pending;
	const char **inflight;
	size_t n_inflight;
	bool committed;
	struct qq_batch seen;
	int q_block, q_devs, q_net;
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Close every descriptor held for NIC @i. */
static void nic_fds_close(struct nic_fds *n)
{
	if (n->fresh >= 0)
		close(n->fresh);
	n->fresh = -1;
	for (unsigned q = 0; q < n->n_old; q++)
		if (n->old[q] >= 0)
			close(n->old[q]);
	n->n_old = 0;
}

/*
 * QEMU's handle, the first time a host step needs it; each later use checks
 * that QEMU is still the process it was (its pidfd alive), so nothing is ever
 * copied from or done to a process that took over its pid. NULL on failure.
 */
static const struct qr_proc *need_proc(struct exec *x, struct qr_error *err)
{
	if (!x->proc && x->opts->proc) {
		x->proc = x->opts->proc;
	} else if (!x->proc) {
		if (x->opts->pid <= 0) {
			qr_err_set(err, QR_ERR_STATE,
			           "QEMU's pid is unknown (the QMP socket gave no peer "
			           "credentials); pass --pid");
			return NULL;
		}
		if (proc_open_pid(x->opts->pid, &x->own, err) < 0)
			return NULL;
		x->proc = &x->own;
	}
	if (!proc_alive(x->proc)) {
		qr_err_sys(err, ESRCH, "QEMU (pid %d) has exited", (int)x->proc->pid);
		return NULL;
	}
	return x->proc;
}

/*
 * STEP_TAP_QUEUE: copy every old queue out of QEMU (needed later, when QEMU
 * has closed its own), then open one fresh queue like them.
 */
static int do_tap_queue(struct exec *x, const struct plan_nic *pn, struct nic_fds *n,
                        struct qr_error *err)
{
	const struct qr_proc *qemu;
	char ifname[IFNAMSIZ];
	unsigned flags;
	bool detached;

	if (!pn->tap[0])
		return qr_err_set(err, QR_ERR_STATE,
		                  "the host tap of %s is unknown: qremap needs to run as root "
		                  "(CAP_SYS_PTRACE to copy QEMU's queue fds, CAP_NET_ADMIN to open "
		                  "a queue); see 'qremap inspect' for why it could not see it",
		                  pn->orig_netdev);
	qemu = need_proc(x, err);
	if (!qemu)
		return -1;
	for (unsigned q = 0; q < pn->n_old; q++) {
		int fd = tap_get_queue_fd(qemu->pidfd, pn->old_fds[q], err);

		if (fd < 0)
			return qr_err_prefix(err, "copying queue %u (QEMU fd %d) of %s", q,
			                     pn->old_fds[q], pn->orig_netdev);
		n->old[n->n_old++] = fd;
		if (tap_fd_info(fd, ifname, &flags, &detached, err) < 0)
			return qr_err_prefix(err, "QEMU fd %d of %s", pn->old_fds[q],
			                     pn->orig_netdev);
		if (strcmp(ifname, pn->tap))
			return qr_err_set(err, QR_ERR_STATE,
			                  "QEMU fd %d of %s is a queue of %s, not of %s: the VM "
			                  "changed since it was inspected",
			                  pn->old_fds[q], pn->orig_netdev, ifname, pn->tap);
	}
	n->fresh = tap_open_queue_like(n->old[0], err);
	return n->fresh < 0 ? -1 : 0;
}

/* STEP_TAP_DETACH: detach what is still attached of the old queues. */
static int do_tap_detach(const struct plan_nic *pn, struct nic_fds *n, char *note, size_t len,
                         struct qr_error *err)
{
	unsigned was = 0;

	for (unsigned q = 0; q < n->n_old; q++) {
		bool attached;

		if (tap_detach_queue(n->old[q], &attached, err) < 0)
			return qr_err_prefix(err, "old queue %u of %s", q, pn->tap);
		was += attached;
	}
	snprintf(note, len, "%u of %u old queues were attached", was, n->n_old);
	/* Done with the copies: with QEMU's own closed by netdev_del, this
	 * frees the old queues for good.
	 */
	for (unsigned q = 0; q < n->n_old; q++)
		close(n->old[q]);
	n->n_old = 0;
	return 0;
}

/**
 * read_seen() - what QEMU says once the remap is done, for every verification step
 * @x:		apply state: fills @x->seen the first time
 * @err:	error object
 *
 * The verification steps come last and change nothing in QEMU, so one
 * reading serves them all, sent together: "info network" if the plan has
 * NICs, query-block if it has disks, and qom-list /machine/peripheral. Read
 * per step, it was two commands for each NIC and each disk, each costing
 * QEMU about a millisecond (docs/performance.md).
 *
 * Return: 0 on success, -1 on failure
 */
static int read_seen(struct exec *x, struct qr_error *err)
{
	/* A reading from an earlier step stands only while QEMU does: a step
	 * that asks QEMU nothing must still not report success for a VM that
	 * has gone (the pidfd says so without a command).
	 */
	if (x->seen.n)
		return (x->proc || x->opts->proc || x->opts->pid > 0) && !need_proc(x, err) ? -1
		                                                                            : 0;
	x->q_net = x->q_block = -1;
	if ((x->plan->n_nics && (x->q_net = qq_add_hmp(&x->seen, "info network", err)) < 0) ||
	    (x->plan->n_disks && (x->q_block = qq_add(&x->seen, err, "query-block", NULL)) < 0) ||
	    (x->q_devs = qq_add_qom_list(&x->seen, "/machine/peripheral", err)) < 0 ||
	    qq_run(x->c, &x->seen, err) < 0) {
		qq_batch_free(&x->seen);
		return -1;
	}
	return 0;
}

/**
 * ends_run() - whether step @i ends a run of removals
 * @x:		apply state
 * @i:		a device_del or reset step
 *
 * A run is the device_del steps and the reset after them: nothing in it
 * needs a device to be gone, so the events of its native removals are
 * awaited once, at its last step.
 *
 * Return: true if the step after @i is neither a device_del nor the reset
 */
static bool ends_run(const struct exec *x, size_t i)
{
	const struct plan_step *next = i + 1 < x->plan->n_steps ? &x->plan->steps[i + 1] : NULL;

	return !next || (next->kind != STEP_DEVICE_DEL && next->kind != STEP_RESET);
}

/**
 * await_inflight() - wait for the DEVICE_DELETED of every native removal asked for
 * @x:		apply state
 * @err:	error object
 *
 * One deadline for all: the unplug bound, from now.
 *
 * Return: 0 when every one has gone, -1 naming the first that has not
 */
static int await_inflight(struct exec *x, struct qr_error *err)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t k = 0; k < x->n_inflight; k++) {
		int left = x->plan->unplug_timeout_ms - (int)ms_since(&t0);

		if (qmp_wait_device_deleted(x->c, x->inflight[k], left > 1 ? left : 1, err) < 0)
			return qr_err_prefix(err, "%s did not go", x->inflight[k]);
	}
	x->n_inflight = 0;
	return 0;
}

/**
 * do_device_del() - STEP_DEVICE_DEL: ask QEMU to remove a device
 * @x:		apply state
 * @i:		the step's index
 * @note:	the step's note
 * @len:	its size
 * @err:	error object
 *
 * Under ACPI hotplug the unplug completes only at reset (docs/facts.md §7):
 * STEP_RESET waits for it. Under native hotplug each DEVICE_DELETED comes
 * some 50 ms after the command (QEMU finalises devices in its call_rcu
 * thread, in batches: docs/facts.md §7), so a run of removals is asked
 * for first and its events awaited together at its last step (ends_run()):
 * as safe as one at a time, since nothing in the run depends on a device
 * being gone, and the step after it (deleting the null nodes the originals
 * held) still comes only once every one is. When the run ends with the
 * reset, the wait is after it: the ACPI unplugs the reset completes free
 * enough RCU callbacks for QEMU to run the batch at once, where a lone
 * scsi-hd waits out the whole ~50 ms (docs/facts.md §7).
 *
 * Return: 0 on success, -1 on failure
 */
static int do_device_del(struct exec *x, size_t i, char *note, size_t len, struct qr_error *err)
{
	const struct plan_step *s = &x->plan->steps[i];

	if (qmp_executef(x->c, NULL, err, "device_del", "{s:s}", "id", s->dev) < 0)
		return -1;
	x->committed = true;
	if (s->until_reset) {
		x->pending[x->n_pending++] = s->dev;
		snprintf(note, len, "unplug pending until reset (ACPI)");
	} else {
		x->inflight[x->n_inflight++] = s->dev;
		if (!ends_run(x, i))
			snprintf(note, len, "DEVICE_DELETED awaited at the end of the run");
		else if (x->n_inflight > 1)
			snprintf(note, len, "%zu removals awaited together", x->n_inflight);
	}
	return ends_run(x, i) ? await_inflight(x, err) : 0;
}

/**
 * do_reset() - STEP_RESET: reset the paused VM; wait for every pending unplug
 * @x:		apply state
 * @i:		the step's index
 * @note:	the step's note
 * @len:	its size
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int do_reset(struct exec *x, size_t i, char *note, size_t len, struct qr_error *err)
{
	if (qmp_execute(x->c, "system_reset", NULL, NULL, err) < 0)
		return -1;
	for (size_t k = 0; k < x->n_pending; k++) {
		if (qmp_wait_device_deleted(x->c, x->pending[k], x->plan->unplug_timeout_ms, err) <
		    0)
			return qr_err_prefix(err, "%s still there after reset", x->pending[k]);
	}
	if (!ends_run(x, i) || !x->n_inflight) {
		snprintf(note, len, "%zu pending unplug(s) completed", x->n_pending);
		return 0;
	}
	snprintf(note, len, "%zu pending unplug(s) completed, then %zu removal(s) asked for before",
	         x->n_pending, x->n_inflight);
	return await_inflight(x, err);
}

/**
 * netdev_fd() - the QEMU fd number of netdev @id in "info network"
 * @text:	"info network" output
 * @id:		netdev id
 * @err:	error object
 *
 * Return: the fd, -1 if not found, -2 if @text could not be parsed
 */
static int netdev_fd(const char *text, const char *id, struct qr_error *err)
{
	struct infonet in;
	int fd = -1;

	if (infonet_parse(text, &in, err) < 0)
		return -2;
	for (size_t i = 0; i < in.n; i++) {
		const struct infonet_entry *e = &in.entries[i];

		if (e->has_client && !strcmp(e->client.name, id))
			fd = e->client.fd;
		else if (e->has_peer && !strcmp(e->peer.name, id))
			fd = e->peer.fd;
	}
	infonet_free(&in);
	return fd;
}

/* STEP_VERIFY_NIC: see plan.h. */
static int do_verify_nic(struct exec *x, const struct plan_nic *pn, struct nic_fds *n, char *note,
                         size_t len, struct qr_error *err)
{
	_cleanup_close_ int ns = -1;
	const struct qr_proc *qemu;
	unsigned attached, detached, flags;
	char ifname[IFNAMSIZ];
	int fds[8], fd;
	const char *text;
	size_t nfds;
	bool fresh_detached;
	int gone;

	ns = tap_netns_of(n->fresh, err);
	if (ns < 0)
		return -1;
	if (tap_link_queues(ns, pn->tap, &attached, &detached, err) < 0)
		return -1;
	if (attached != 1)
		return qr_err_set(err, QR_ERR_STATE,
		                  "tap %s has %u attached queues (and %u detached), not 1: flows "
		                  "hashed to the others would be lost",
		                  pn->tap, attached, detached);
	if (tap_fd_info(n->fresh, ifname, &flags, &fresh_detached, err) < 0)
		return -1;
	if (fresh_detached)
		return qr_err_set(err, QR_ERR_STATE,
		                  "the one attached queue of %s is not the new one", pn->tap);
	qemu = need_proc(x, err);
	if (!qemu || tap_qemu_tun_fds(qemu, pn->tap, fds, 8, &nfds, err) < 0)
		return -1;
	if (nfds != 1)
		return qr_err_set(err, QR_ERR_STATE, "QEMU holds %zu descriptors for tap %s, not 1",
		                  nfds, pn->tap);
	if (read_seen(x, err) < 0 || qq_text(&x->seen, x->q_net, &text, err) < 0)
		return -1;
	fd = netdev_fd(text, pn->new_netdev, err);
	if (fd == -2)
		return -1;
	if (fd != fds[0])
		return qr_err_set(err, QR_ERR_STATE,
		                  "QEMU's one fd for %s is %d, but netdev %s uses fd %d", pn->tap,
		                  fds[0], pn->new_netdev, fd);
	gone = qq_has_child(&x->seen, x->q_devs, pn->orig_dev, err);
	if (gone < 0)
		return -1;
	if (gone)
		return qr_err_set(err, QR_ERR_STATE, "%s is still there", pn->orig_dev);
	snprintf(note, len, "tap %s: 1 attached queue (%u detached), QEMU fd %d = %s", pn->tap,
	         detached, fd, pn->new_netdev);
	/* our copy of the fresh queue is no longer needed: QEMU has its own */
	close(n->fresh);
	n->fresh = -1;
	return 0;
}

/**
 * do_verify_disk() - STEP_VERIFY_DISK: the node has one frontend, the placeholder; original gone
 * @x:		apply state
 * @pd:		the disk
 * @note:	the step's note
 * @len:	its size
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int do_verify_disk(struct exec *x, const struct plan_disk *pd, char *note, size_t len,
                          struct qr_error *err)
{
	_cleanup_free_ struct qq_block *blocks = NULL;
	unsigned users = 0;
	bool on_ph = false;
	size_t n;
	int there;

	if (read_seen(x, err) < 0 || qq_blocks(&x->seen, x->q_block, &blocks, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!blocks[i].inserted || strcmp(blocks[i].node, pd->node))
			continue;
		users++;
		if (blocks[i].qdev[0] && qq_qdev_is(blocks[i].qdev, pd->placeholder))
			on_ph = blocks[i].size == pd->size;
	}
	if (users != 1 || !on_ph)
		return qr_err_set(err, QR_ERR_STATE,
		                  "node %s has %u frontends%s; expected exactly %s with %" PRIu64
		                  " bytes",
		                  pd->node, users, on_ph ? "" : " and not the placeholder",
		                  pd->placeholder, pd->size);
	there = qq_has_child(&x->seen, x->q_devs, pd->orig_dev, err);
	if (there < 0)
		return -1;
	if (there)
		return qr_err_set(err, QR_ERR_STATE, "%s is still there", pd->orig_dev);
	snprintf(note, len, "%s on %s only, %" PRIu64 " bytes", pd->node, pd->placeholder,
	         pd->size);
	return 0;
}

/*
 * Whether step @s works on its NIC's descriptors (@n in run_step() and
 * undo_step()). The planner gives each such step a NIC; one without would be
 * a planner bug, refused by the callers rather than dereferenced.
 */
static bool step_uses_nic(const struct plan_step *s)
{
	return s->kind == STEP_TAP_QUEUE || s->kind == STEP_TAP_DETACH ||
	       s->kind == STEP_VERIFY_NIC || (s->kind == STEP_QMP && s->pass_fd);
}

/* Run step @i. */
static int run_step(struct exec *x, size_t i, struct qr_error *err)
{
	const struct plan_step *s = &x->plan->steps[i];
	char *note = x->rep->notes[i];
	size_t nlen = sizeof(x->rep->notes[i]);
	struct nic_fds *n = s->nic >= 0 ? &x->nics[s->nic] : NULL;

	if (x->opts->stop_step == i + 1)
		(void)raise(SIGSTOP); /* test hook; fails only for a bad signal */
	if (x->opts->fail_step == i + 1)
		return qr_err_qmp(err, "GenericError", "injected failure at step %zu (test hook)",
		                  i + 1);
	if (!n && step_uses_nic(s))
		return qr_err_set(err, QR_ERR_INVALID, "step %zu (%s) has no NIC", i + 1, s->what);
	if (s->kind != STEP_VERIFY_NIC && s->kind != STEP_VERIFY_DISK)
		qq_batch_free(&x->seen); /* what QEMU said before this step */
	switch (s->kind) {
	case STEP_TAP_QUEUE:
		return do_tap_queue(x, &x->plan->nics[s->nic], n, err);
	case STEP_QMP:
		if (s->pass_fd) {
			if (qmp_execute_fd(x->c, s->cmd, s->args, n->fresh, x->plan->qmp_timeout_ms,
			                   NULL, err) < 0)
				return -1;
		} else if (qmp_execute(x->c, s->cmd, s->args, NULL, err) < 0) {
			return -1;
		}
		if (n && !strcmp(s->cmd, "netdev_add"))
			n->fd_given = true;
		if (s->commit)
			x->committed = true;
		return 0;
	case STEP_DEVICE_DEL:
		return do_device_del(x, i, note, nlen, err);
	case STEP_TAP_DETACH:
		x->committed = true;
		return do_tap_detach(&x->plan->nics[s->nic], n, note, nlen, err);
	case STEP_RESET:
		x->committed = true;
		return do_reset(x, i, note, nlen, err);
	case STEP_VERIFY_NIC:
		return do_verify_nic(x, &x->plan->nics[s->nic], n, note, nlen, err);
	case STEP_VERIFY_DISK:
		return do_verify_disk(x, &x->plan->disks[s->disk], note, nlen, err);
	}
	return qr_err_set(err, QR_ERR_INVALID, "unknown step kind %d", (int)s->kind);
}

/* Undo step @i (phase A only). */
static int undo_step(struct exec *x, size_t i, struct qr_error *err)
{
	const struct plan_step *s = &x->plan->steps[i];
	struct nic_fds *n = s->nic >= 0 ? &x->nics[s->nic] : NULL;

	if (!n && step_uses_nic(s))
		return qr_err_set(err, QR_ERR_INVALID, "step %zu (%s) has no NIC", i + 1, s->what);
	if (s->kind != STEP_VERIFY_NIC && s->kind != STEP_VERIFY_DISK)
		qq_batch_free(&x->seen); /* what QEMU said before this step */
	switch (s->kind) {
	case STEP_TAP_QUEUE:
		nic_fds_close(n);
		return 0;
	case STEP_QMP:
		if (!s->undo_cmd[0])
			return 0;
		if (s->pass_fd && n->fd_given)
			return 0; /* the netdev owned it; netdev_del closed it */
		if (qmp_execute(x->c, s->undo_cmd, s->undo_args, NULL, err) < 0)
			return -1;
		if (s->undo_wait_deleted &&
		    qmp_wait_device_deleted(x->c, s->dev, x->plan->unplug_timeout_ms, err) < 0)
			return -1;
		return 0;
	default:
		return 0;
	}
}

/* Undo steps [0, upto) in reverse; 0 if all undone. */
static int rollback(struct exec *x, size_t upto)
{
	for (size_t i = upto; i-- > 0;) {
		struct timespec t0;
		struct qr_error e = {0};

		if (x->rep->results[i] != STEP_DONE)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (undo_step(x, i, &e) < 0) {
			x->rep->results[i] = STEP_UNDO_FAILED;
			x->rep->undo_error = e;
			log_error("%s%sundo of step %zu (%s) failed: %s; stopping here",
			          LBL(x->opts), i + 1, x->plan->steps[i].what, e.msg);
			return -1;
		}
		x->rep->results[i] = STEP_UNDONE;
		log_info("%s%sundone step %zu: %s (%.1f ms)", LBL(x->opts), i + 1,
		         x->plan->steps[i].what, ms_since(&t0));
	}
	return 0;
}

/*
 * After a failure: whether QEMU itself is gone, rather than only refusing or
 * slow. A lost connection is the sign; QEMU's monitor socket closes as its
 * files are, a moment before the process counts as exited, so that case
 * waits for its pidfd, bounded.
 */
static bool qemu_has_exited(struct exec *x)
{
	struct pollfd p = {.events = POLLIN};
	struct qr_proc tmp = QR_PROC_INIT;
	bool lost = x->rep->error.kind == QR_ERR_DISCONNECTED ||
	            x->rep->undo_error.kind == QR_ERR_DISCONNECTED;
	bool gone;

	if (x->rep->outcome == REMAP_DONE)
		return false;
	if (x->proc || x->opts->proc) {
		p.fd = (x->proc ? x->proc : x->opts->proc)->pidfd;
	} else {
		struct qr_error e = {0};

		if (x->opts->pid <= 0)
			return false;
		if (proc_open_pid(x->opts->pid, &tmp, &e) < 0 && tmp.pidfd < 0) {
			proc_close(&tmp);
			return e.errnum == ESRCH;
		}
		p.fd = tmp.pidfd;
	}
	gone = poll(&p, 1, lost ? QEMU_EXIT_WAIT_MS : 0) == 1;
	proc_close(&tmp);
	return gone;
}

/**
 * remap_apply() - apply a plan
 * @c:		QMP client
 * @plan:	plan (PLAN_READY, or the outcome just reflects its verdict)
 * @opts:	options
 * @rep:	report; free with remap_report_free()
 *
 * Return: 0 if done or nothing to do, -1 otherwise (see @rep->outcome)
 */
int remap_apply(struct qmp_client *c, const struct plan *plan, const struct remap_opts *opts,
                struct remap_report *rep)
{
	struct exec x = {.c = c, .plan = plan, .opts = opts, .rep = rep, .own = QR_PROC_INIT};
	int saved_timeout = qmp_get_timeout(c);
	struct timespec t_all;
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	rep->failed = -1;
	if (plan->verdict != PLAN_READY) {
		rep->outcome = plan->verdict == PLAN_NOTHING ? REMAP_NOTHING : REMAP_REFUSED;
		if (plan->verdict == PLAN_REFUSED)
			qr_err_set(&rep->error, QR_ERR_INVALID, "%s", plan->refusal);
		return plan->verdict == PLAN_NOTHING ? 0 : -1;
	}
	rep->results = calloc(plan->n_steps, sizeof(*rep->results));
	rep->ms = calloc(plan->n_steps, sizeof(*rep->ms));
	rep->notes = calloc(plan->n_steps, sizeof(*rep->notes));
	x.nics = calloc(plan->n_nics ? plan->n_nics : 1, sizeof(*x.nics));
	x.pending = calloc(plan->n_steps, sizeof(*x.pending));
	x.inflight = calloc(plan->n_steps, sizeof(*x.inflight));
	if (!rep->results || !rep->ms || !rep->notes || !x.nics || !x.pending || !x.inflight) {
		free(x.nics);
		free(x.pending);
		free(x.inflight);
		rep->outcome = REMAP_ROLLED_BACK;
		qr_err_sys(&rep->error, ENOMEM, "starting the remap");
		return -1;
	}
	for (size_t i = 0; i < plan->n_nics; i++)
		x.nics[i].fresh = -1;
	qmp_set_timeout(c, plan->qmp_timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &t_all);

	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct plan_step *s = &plan->steps[i];
		struct qr_error e = {0};
		struct timespec t0;
		bool was_committed = x.committed, definite;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (run_step(&x, i, &e) < 0) {
			rep->ms[i] = ms_since(&t0);
			if (s->best_effort) {
				rep->results[i] = STEP_FAILED;
				snprintf(rep->notes[i], sizeof(rep->notes[i]), "ignored: %.140s",
				         e.msg);
				log_warn("%s%sstep %zu/%zu: %s: %s (tidying only, carrying on)",
				         LBL(opts), i + 1, plan->n_steps, s->what, e.msg);
				continue;
			}
			rep->results[i] = STEP_FAILED;
			rep->failed = (long)i;
			rep->error = e;
			log_error("%s%sstep %zu/%zu failed: %s: %s", LBL(opts), i + 1,
			          plan->n_steps, s->what, e.msg);
			/* Only a QMP error reply (or a host step, which is ours
			 * and undone on exit) says for sure that the step
			 * changed nothing. No answer at all - a timeout, a
			 * dropped connection - may hide a command QEMU carried
			 * out: a device_del then counts as asked for (it can't
			 * be taken back), and any other step leaves its own
			 * effect unknown even if the steps before it are undone.
			 */
			definite = e.kind == QR_ERR_QMP || s->kind == STEP_TAP_QUEUE ||
			           s->kind == STEP_TAP_DETACH;
			if (!definite && s->kind == STEP_DEVICE_DEL)
				x.committed = true;
			if (!was_committed && !(s->commit && x.committed)) {
				rep->outcome = rollback(&x, i) < 0 || !definite ? REMAP_UNSAFE
				                                                : REMAP_ROLLED_BACK;
				if (!definite && !rep->undo_error.kind)
					log_error("%s%sstep %zu got no answer: whether QEMU "
					          "carried it "
					          "out is unknown",
					          LBL(opts), i + 1);
			} else {
				rep->outcome = REMAP_UNSAFE;
			}
			goto out;
		}
		rep->ms[i] = ms_since(&t0);
		rep->results[i] = STEP_DONE;
		log_info("%s%sstep %zu/%zu: %s: ok (%.1f ms)%s%s", LBL(opts), i + 1, plan->n_steps,
		         s->what, rep->ms[i], rep->notes[i][0] ? "; " : "", rep->notes[i]);
	}
	rep->outcome = REMAP_DONE;
	r = 0;
out:
	rep->total_ms = ms_since(&t_all);
	rep->qemu_exited = qemu_has_exited(&x);
	if (rep->qemu_exited)
		log_error("%s%sQEMU (pid %d) exited during the remap: no guest can run on what "
		          "is left, and no disk has a writer; the VM has to be started again",
		          LBL(opts), (int)opts->pid);
	if (rep->outcome == REMAP_UNSAFE && opts->quit_on_unsafe && !rep->qemu_exited) {
		struct qr_error e = {0};

		log_error(
		        "%s%sunsafe state: telling QEMU to quit so the guest never runs like this",
		        LBL(opts));
		/* QEMU may close the socket as it quits, before answering;
		 * but if the connection was already gone, nothing was sent.
		 */
		rep->quit_sent =
		        qmp_execute(c, "quit", NULL, NULL, &e) == 0 ||
		        (e.kind == QR_ERR_DISCONNECTED && rep->error.kind != QR_ERR_DISCONNECTED &&
		         rep->undo_error.kind != QR_ERR_DISCONNECTED);
	}
	for (size_t i = 0; i < plan->n_nics; i++)
		nic_fds_close(&x.nics[i]);
	proc_close(&x.own);
	qq_batch_free(&x.seen);
	free(x.nics);
	free(x.pending);
	free(x.inflight);
	qmp_set_timeout(c, saved_timeout);
	return r;
}

/**
 * remap_report_free() - free a report's contents
 * @rep:	report
 */
void remap_report_free(struct remap_report *rep)
{
	free(rep->results);
	free(rep->ms);
	free(rep->notes);
	memset(rep, 0, sizeof(*rep));
}

static const char *const outcome_names[] = {
        [REMAP_DONE] = "done",       [REMAP_NOTHING] = "nothing-to-do",
        [REMAP_REFUSED] = "refused", [REMAP_ROLLED_BACK] = "rolled-back",
        [REMAP_UNSAFE] = "unsafe",
};

/**
 * remap_outcome_str() - an outcome's name, as in JSON
 * @o:	outcome
 *
 * Return: static string
 */
const char *remap_outcome_str(enum remap_outcome o)
{
	return (size_t)o < ARRAY_SIZE(outcome_names) && outcome_names[o] ? outcome_names[o] : "?";
}

static const char *const step_result_names[] = {
        [STEP_NOT_RUN] = "not-run",         [STEP_DONE] = "done",
        [STEP_FAILED] = "failed",           [STEP_UNDONE] = "undone",
        [STEP_UNDO_FAILED] = "undo-failed",
};

/**
 * step_result_str() - a step result's name, as in JSON
 * @r:	result
 *
 * Return: static string
 */
const char *step_result_str(enum step_result r)
{
	return (size_t)r < ARRAY_SIZE(step_result_names) && step_result_names[r]
	               ? step_result_names[r]
	               : "?";
}
