// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - remap_report.c: what a remap did, as JSON (stable keys, documented
 * in docs/remap.md) and as text for humans
 */

#include <stdio.h>

#include "qremap/remap.h"

/**
 * remap_report_to_json() - a report as JSON (docs/remap.md)
 * @rep:	report
 * @plan:	the plan it applied
 *
 * Return: new reference
 */
json_t *remap_report_to_json(const struct remap_report *rep, const struct plan *plan)
{
	json_t *o = json_pack("{s:s, s:o}", "outcome", remap_outcome_str(rep->outcome), "plan",
	                      plan_to_json(plan));
	json_t *steps = json_array(), *changes = json_array();

	for (size_t i = 0; rep->results && i < plan->n_steps; i++) {
		json_t *j = json_pack("{s:i, s:s, s:s, s:f}", "index", (int)i, "what",
		                      plan->steps[i].what, "result",
		                      step_result_str(rep->results[i]), "ms", rep->ms[i]);

		if (rep->notes[i][0])
			json_object_set_new(j, "note", json_string(rep->notes[i]));
		json_array_append_new(steps, j);
	}
	if (rep->outcome == REMAP_DONE) {
		for (size_t i = 0; i < plan->n_nics; i++) {
			const struct plan_nic *n = &plan->nics[i];

			json_array_append_new(changes,
			                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			                                "kind", "nic", "name", n->name, "old",
			                                n->orig_dev, "new", n->new_dev,
			                                "old_netdev", n->orig_netdev, "new_netdev",
			                                n->new_netdev, "guest_mac", n->guest_mac));
		}
		for (size_t i = 0; i < plan->n_disks; i++) {
			const struct plan_disk *d = &plan->disks[i];

			json_array_append_new(changes,
			                      json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "disk",
			                                "name", d->name, "old", d->orig_dev, "new",
			                                d->placeholder, "node", d->node));
		}
	}
	json_object_set_new(o, "steps", steps);
	json_object_set_new(o, "changes", changes);
	json_object_set_new(o, "failed_step",
	                    rep->failed >= 0 ? json_integer(rep->failed) : json_null());
	json_object_set_new(o, "error",
	                    rep->error.kind ? json_string(rep->error.msg) : json_null());
	json_object_set_new(o, "undo_error",
	                    rep->undo_error.kind ? json_string(rep->undo_error.msg) : json_null());
	json_object_set_new(o, "quit_sent", json_boolean(rep->quit_sent));
	json_object_set_new(o, "qemu_exited", json_boolean(rep->qemu_exited));
	json_object_set_new(o, "total_ms", json_real(rep->total_ms));
	return o;
}

/* What a disk became, as the summary names it */
static const char *const disk_labels[] = {
        [DISK_TO_SATA] = "SATA",
        [DISK_TO_VIRTIO_BLK] = "virtio-blk",
        [DISK_TO_USB_STORAGE] = "usb-storage",
};

/**
 * disk_label() - how the summary names a disk target
 * @t:	target
 *
 * Return: "SATA", "virtio-blk", "usb-storage", or "?" for any other value
 */
static const char *disk_label(enum disk_target t)
{
	return (size_t)t < ARRAY_SIZE(disk_labels) && disk_labels[t] ? disk_labels[t] : "?";
}

/**
 * remap_report_print() - a report for humans
 * @f:		stream
 * @rep:	report
 * @plan:	the plan it applied
 */
void remap_report_print(FILE *f, const struct remap_report *rep, const struct plan *plan)
{
	switch (rep->outcome) {
	case REMAP_DONE:
		for (size_t i = 0; i < plan->n_nics; i++) {
			const struct plan_nic *n = &plan->nics[i];
			char where[96] = "usb-net";

			if (n->target == NIC_TO_HUB)
				snprintf(where, sizeof(where), "%s on hub %d", n->model, n->hub_id);
			fprintf(f, "NIC %s: %s -> %s (%s, netdev %s, guest MAC %s)\n", n->name,
			        n->orig_dev, n->new_dev, where, n->new_netdev, n->guest_mac);
		}
		for (size_t i = 0; i < plan->n_disks; i++) {
			const struct plan_disk *d = &plan->disks[i];

			fprintf(f, "disk %s: %s -> %s (%s, node %s)\n", d->name, d->orig_dev,
			        d->placeholder, disk_label(d->target), d->node);
		}
		fprintf(f, "remapped and verified in %.1f ms\n", rep->total_ms);
		return;
	case REMAP_NOTHING:
		for (size_t i = 0; i < plan->n_notes; i++)
			fprintf(f, "note: %s\n", plan->notes[i]);
		fprintf(f, "nothing to do\n");
		return;
	case REMAP_REFUSED:
		fprintf(f, "refused: %s\n", plan->refusal);
		return;
	case REMAP_ROLLED_BACK:
	case REMAP_UNSAFE:
		break;
	}
	fprintf(f, "%s: %s\n",
	        rep->outcome == REMAP_ROLLED_BACK
	                ? "failed, rolled back (the VM has its original devices)"
	                : "failed in an UNSAFE state",
	        rep->error.msg);
	if (rep->undo_error.kind)
		fprintf(f, "undo failed: %s\n", rep->undo_error.msg);
	for (size_t i = 0; rep->results && i < plan->n_steps; i++)
		fprintf(f, "  %2zu %-11s %s%s%s\n", i + 1, step_result_str(rep->results[i]),
		        plan->steps[i].what, rep->notes[i][0] ? " - " : "", rep->notes[i]);
	if (rep->quit_sent)
		fprintf(f, "QEMU was told to quit, so the guest does not run half remapped\n");
	if (rep->qemu_exited)
		fprintf(f, "QEMU exited during the remap: nothing can run on what is left; start "
		           "the VM again\n");
}
