/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - remap.h: the executor: applies a plan step by step, verifies the
 * result from QEMU's and the host's side, and on failure undoes what it did.
 *
 * Outcomes (and the exit codes qremap maps them to, see qremap(1)):
 * done; nothing to do; refused (the plan was, nothing touched); failed and
 * rolled back (the VM has exactly its original devices again); failed in an
 * unsafe state (a phase-B step failed after an original was already asked to
 * go, or an undo failed: the report lists every step's result, and QEMU is
 * told to quit unless the caller asked to leave it).
 */
#ifndef QREMAP_REMAP_H
#define QREMAP_REMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "qremap/error.h"
#include "qremap/inventory.h"
#include "qremap/plan.h"
#include "qremap/qmp.h"

/**
 * enum remap_outcome - how a remap ended
 * @REMAP_DONE:		applied and verified
 * @REMAP_NOTHING:	nothing to do
 * @REMAP_REFUSED:	the plan was refused; nothing was changed
 * @REMAP_ROLLED_BACK:	a step failed; everything done was undone
 * @REMAP_UNSAFE:	failed past the point of no return, or an undo failed
 */
enum remap_outcome {
	REMAP_DONE,
	REMAP_NOTHING,
	REMAP_REFUSED,
	REMAP_ROLLED_BACK,
	REMAP_UNSAFE,
};

/**
 * struct remap_opts - how to apply
 * @pid:		QEMU's pid (for pidfd_getfd and /proc checks)
 * @proc:		QEMU held by its pidfd (qremapd), used instead of @pid;
 *			NULL to open a handle from @pid
 * @quit_on_unsafe:	send "quit" to QEMU if the outcome is REMAP_UNSAFE, so
 *			that a half-remapped guest never runs
 * @fail_step:		test hook: make step @fail_step (1-based) fail as if
 *			QEMU had refused it; 0 = off
 * @stop_step:		test hook: stop (SIGSTOP) before step @stop_step
 *			(1-based), so a test can kill QEMU at exactly that
 *			point; 0 = off
 * @label:		prefix for log lines (qremapd: "vm NAME"), or NULL
 */
struct remap_opts {
	pid_t pid;
	const struct qr_proc *proc;
	bool quit_on_unsafe;
	unsigned fail_step;
	unsigned stop_step;
	const char *label;
};

/**
 * enum step_result - what happened to one step
 * @STEP_NOT_RUN:	never started
 * @STEP_DONE:		done
 * @STEP_FAILED:	tried and failed
 * @STEP_UNDONE:	done, then undone
 * @STEP_UNDO_FAILED:	done, and its undo failed
 */
enum step_result {
	STEP_NOT_RUN,
	STEP_DONE,
	STEP_FAILED,
	STEP_UNDONE,
	STEP_UNDO_FAILED,
};

/**
 * struct remap_report - what a remap did
 * @outcome:	how it ended
 * @results:	per plan step
 * @ms:		per plan step, time taken
 * @notes:	per plan step, what the step found (e.g. pending unplug), or ""
 * @failed:	index of the failed step, -1 if none
 * @error:	why it failed
 * @undo_error:	why an undo failed, if one did
 * @quit_sent:	QEMU was told to quit (REMAP_UNSAFE with quit_on_unsafe)
 * @qemu_exited: the remap failed because QEMU exited: no guest can run on
 *		what is left, and no disk has a writer
 * @total_ms:	whole apply
 */
struct remap_report {
	enum remap_outcome outcome;
	enum step_result *results;
	double *ms;
	char (*notes)[320];
	long failed;
	struct qr_error error;
	struct qr_error undo_error;
	bool quit_sent;
	bool qemu_exited;
	double total_ms;
};

int remap_apply(struct qmp_client *c, const struct plan *plan, const struct remap_opts *opts,
                struct remap_report *rep);
void remap_report_free(struct remap_report *rep);
const char *remap_outcome_str(enum remap_outcome o);
const char *step_result_str(enum step_result r);

/* src/remap_report.c: presenting a report */
json_t *remap_report_to_json(const struct remap_report *rep, const struct plan *plan);
void remap_report_print(FILE *f, const struct remap_report *rep, const struct plan *plan);

#endif /* QREMAP_REMAP_H */
