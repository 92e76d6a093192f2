// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - pipeline.c: one VM's remap from inventory to report (remap_vm()),
 * the sequence both "qremap remap" and qremapd run
 */

#include <string.h>

#include "qremap/pipeline.h"

/**
 * remap_vm() - collect a VM's inventory, plan its remap, and apply the plan
 * @c:		QMP client, connected and past the handshake
 * @prof:	the VM's profile, loaded
 * @opts:	how to collect and apply, and whether to apply at all
 * @res:	result; free with remap_vm_result_free(), also after a failure
 * @err:	error object, for a failure to collect or to plan
 *
 * The inventory is freed before anything is applied: the plan holds all the
 * executor needs. The outcome of applying (done, refused, rolled back...) is
 * in @res->rep, not a failure of this function: the plan and report are what
 * the caller prints or keeps.
 *
 * Return: 0 once planned (@opts->plan_only) or applied, whatever the
 *	   outcome; -1 if collecting or planning failed (@res->stage says which)
 */
int remap_vm(struct qmp_client *c, const struct profile *prof, const struct remap_vm_opts *opts,
             struct remap_vm_result *res, struct qr_error *err)
{
	_cleanup_(inventory_free) struct vm_inventory inv = {0};
	struct remap_opts ropts = opts->apply;

	memset(res, 0, sizeof(*res));
	res->stage = REMAP_VM_INSPECT;
	if (inventory_collect(c, &opts->inventory, &inv, err) < 0)
		return -1;
	res->stage = REMAP_VM_PLAN;
	if (plan_build(&inv, prof, &res->plan, err) < 0) {
		plan_free(&res->plan);
		return -1;
	}
	ropts.pid = inv.pid;
	inventory_free(&inv);
	if (opts->plan_only)
		return 0;

	if (opts->before_apply)
		opts->before_apply(&res->plan, opts->opaque);
	res->stage = REMAP_VM_APPLY;
	remap_apply(c, &res->plan, &ropts, &res->rep);
	return 0;
}

/**
 * remap_vm_result_free() - free what remap_vm() left in a result
 * @res:	result (zeroed, or filled by remap_vm()); zeroed again
 *
 * Usable as a cleanup attribute: _cleanup_(remap_vm_result_free).
 */
void remap_vm_result_free(struct remap_vm_result *res)
{
	remap_report_free(&res->rep);
	plan_free(&res->plan);
	memset(res, 0, sizeof(*res));
}

static const char *const stage_names[] = {
        [REMAP_VM_INSPECT] = "inspecting the VM",
        [REMAP_VM_PLAN] = "planning",
        [REMAP_VM_APPLY] = "applying",
};

/**
 * remap_vm_stage_str() - what a stage was doing, as a prefix for its error
 * @s:	stage
 *
 * Return: static string: "inspecting the VM", "planning" or "applying"
 */
const char *remap_vm_stage_str(enum remap_vm_stage s)
{
	return (size_t)s < ARRAY_SIZE(stage_names) && stage_names[s] ? stage_names[s] : "?";
}
