/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - pipeline.h: one VM's remap from inventory to report, the one
 * sequence "qremap remap" and qremapd both run: collect the inventory, plan,
 * apply.
 *
 * What differs between the two stays with them: the QMP connection (qremap
 * dials the VM; the VM dials qremapd), the profile (qremap takes any path,
 * and needs the profile's QMP timeout before it connects; qremapd takes only
 * a name from Incus, follows no link, and checks that its peer is still the
 * VM before anything reads the VM's taps), and what becomes of the result
 * (qremap prints it and exits with a code; qremapd saves it and answers the
 * scriptlet). Nothing here prints: the executor's log lines are its own.
 */
#ifndef QREMAP_PIPELINE_H
#define QREMAP_PIPELINE_H

#include <stdbool.h>

#include "qremap/error.h"
#include "qremap/inventory.h"
#include "qremap/plan.h"
#include "qremap/profile.h"
#include "qremap/qmp.h"
#include "qremap/remap.h"

/**
 * enum remap_vm_stage - how far remap_vm() got
 * @REMAP_VM_INSPECT:	collecting the inventory
 * @REMAP_VM_PLAN:	planning
 * @REMAP_VM_APPLY:	applying
 */
enum remap_vm_stage {
	REMAP_VM_INSPECT,
	REMAP_VM_PLAN,
	REMAP_VM_APPLY,
};

/**
 * struct remap_vm_opts - how remap_vm() runs
 * @inventory:		for inventory_collect(): QEMU's pid or pidfd
 * @apply:		for remap_apply(); its @pid is ignored: the executor
 *			works on the pid the inventory found
 * @plan_only:		stop once planned, change nothing (--dry-run)
 * @before_apply:	called with the plan right before it is applied, or
 *			NULL (qremap logs the plan's notes there)
 * @opaque:		passed to @before_apply
 */
struct remap_vm_opts {
	struct inventory_opts inventory;
	struct remap_opts apply;
	bool plan_only;
	void (*before_apply)(const struct plan *plan, void *opaque);
	void *opaque;
};

/**
 * struct remap_vm_result - what remap_vm() found and did
 * @stage:	the last stage it entered: after a failure, the one that failed
 *		(REMAP_VM_INSPECT or REMAP_VM_PLAN); after success,
 *		REMAP_VM_PLAN with @plan_only, else REMAP_VM_APPLY
 * @plan:	the plan (valid from REMAP_VM_PLAN on, after success)
 * @rep:	the executor's report (valid at REMAP_VM_APPLY)
 */
struct remap_vm_result {
	enum remap_vm_stage stage;
	struct plan plan;
	struct remap_report rep;
};

int remap_vm(struct qmp_client *c, const struct profile *prof, const struct remap_vm_opts *opts,
             struct remap_vm_result *res, struct qr_error *err);
void remap_vm_result_free(struct remap_vm_result *res);
const char *remap_vm_stage_str(enum remap_vm_stage s);

#endif /* QREMAP_PIPELINE_H */
