// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - plan_print.c: a plan as JSON (stable keys, documented in
 * docs/remap.md), as text for humans (--dry-run), and a step's QMP command
 * as one line for logs
 */

#include <inttypes.h>
#include <string.h>

#include "qremap/plan.h"

/**
 * qmp_text() - a QMP command as one line: "cmd {compact args}"
 * @cmd:	command
 * @args:	its arguments, or NULL for none
 * @buf:	result, keys sorted: the line doesn't depend on the packing order
 * @len:	size of @buf
 */
static void qmp_text(const char *cmd, json_t *args, char *buf, size_t len)
{
	_cleanup_free_ char *a = args ? json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	snprintf(buf, len, "%s%s%s", cmd, a ? " " : "", a ? a : "");
}

/**
 * plan_step_describe() - the QMP command of a step, as text, for logs
 * @s:		step
 * @buf:	result ("" for host steps)
 * @len:	size of @buf
 */
void plan_step_describe(const struct plan_step *s, char *buf, size_t len)
{
	if (s->kind == STEP_QMP)
		qmp_text(s->cmd, s->args, buf, len);
	else if (s->kind == STEP_DEVICE_DEL)
		snprintf(buf, len, "device_del {\"id\":\"%s\"}", s->dev);
	else if (s->kind == STEP_RESET)
		snprintf(buf, len, "system_reset");
	else if (len)
		buf[0] = '\0';
}

/**
 * qmp_json() - a QMP command as the object that is sent
 * @cmd:	command
 * @args:	its arguments (a new reference is taken), or NULL for none
 *
 * Return: new reference: {"execute": CMD, "arguments": ARGS}
 */
static json_t *qmp_json(const char *cmd, json_t *args)
{
	json_t *o = json_pack("{s:s}", "execute", cmd);

	if (args)
		json_object_set(o, "arguments", args);
	return o;
}

/**
 * plan_to_json() - a plan as JSON (documented in docs/remap.md)
 * @plan:	plan
 *
 * Return: new reference
 */
json_t *plan_to_json(const struct plan *plan)
{
	json_t *o, *notes = json_array(), *steps = json_array(), *nics = json_array(),
	           *disks = json_array();

	for (size_t i = 0; i < plan->n_notes; i++)
		json_array_append_new(notes, json_string(plan->notes[i]));
	for (size_t i = 0; i < plan->n_nics; i++) {
		const struct plan_nic *n = &plan->nics[i];

		json_array_append_new(
		        nics, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}",
		                        "name", n->name, "from", n->orig_dev, "from_model",
		                        n->orig_model, "from_netdev", n->orig_netdev, "to",
		                        n->new_dev, "to_netdev", n->new_netdev, "tap", n->tap,
		                        "mac", n->mac, "guest_mac", n->guest_mac, "usb_port",
		                        (int)n->port, "old_queues", (int)n->n_old));
		json_object_set_new(json_array_get(nics, i), "target",
		                    json_string(nic_target_str(n->target)));
		json_object_set_new(json_array_get(nics, i), "model", json_string(n->model));
		json_object_set_new(json_array_get(nics, i), "hub",
		                    n->hub_id >= 0 ? json_integer(n->hub_id) : json_null());
		if (!n->port)
			json_object_set_new(json_array_get(nics, i), "usb_port", json_null());
	}
	for (size_t i = 0; i < plan->n_disks; i++) {
		const struct plan_disk *d = &plan->disks[i];

		json_array_append_new(disks,
		                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "name", d->name,
		                                "from", d->orig_dev, "from_driver", d->orig_driver,
		                                "node", d->node, "to", d->placeholder, "size",
		                                (json_int_t)d->size));
		json_object_set_new(json_array_get(disks, i), "target",
		                    json_string(disk_target_str(d->target)));
		json_object_set_new(json_array_get(disks, i), "usb_port",
		                    d->port ? json_integer(d->port) : json_null());
	}
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct plan_step *s = &plan->steps[i];
		json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "index", (int)i, "phase",
		                      s->commit ? "commit" : "prepare", "kind",
		                      step_kind_str(s->kind), "what", s->what);

		if (s->kind == STEP_QMP)
			json_object_set_new(j, "qmp", qmp_json(s->cmd, s->args));
		else if (s->kind == STEP_DEVICE_DEL)
			json_object_set_new(j, "qmp",
			                    json_pack("{s:s, s:{s:s}}", "execute", "device_del",
			                              "arguments", "id", s->dev));
		else if (s->kind == STEP_RESET)
			json_object_set_new(j, "qmp",
			                    json_pack("{s:s}", "execute", "system_reset"));
		if (s->undo_cmd[0])
			json_object_set_new(j, "undo", qmp_json(s->undo_cmd, s->undo_args));
		else if (s->kind == STEP_TAP_QUEUE)
			json_object_set_new(j, "undo", json_string("close the fresh queue"));
		else
			json_object_set_new(j, "undo", json_null());
		json_array_append_new(steps, j);
	}
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "verdict", plan_verdict_str(plan->verdict),
	              "notes", notes, "nics", nics, "disks", disks, "steps", steps, "reset_needed",
	              plan->acpi_pending);
	json_object_set_new(o, "refusal",
	                    plan->verdict == PLAN_REFUSED ? json_string(plan->refusal)
	                                                  : json_null());
	return o;
}

/**
 * plan_print() - a plan for humans
 * @f:		stream
 * @plan:	plan
 */
void plan_print(FILE *f, const struct plan *plan)
{
	for (size_t i = 0; i < plan->n_notes; i++)
		fprintf(f, "note: %s\n", plan->notes[i]);
	if (plan->verdict == PLAN_REFUSED) {
		fprintf(f, "refused: %s\n", plan->refusal);
		return;
	}
	if (plan->verdict == PLAN_NOTHING) {
		fprintf(f, "nothing to do\n");
		return;
	}
	for (size_t i = 0; i < plan->n_nics; i++) {
		const struct plan_nic *n = &plan->nics[i];

		char where[256];

		if (n->target == NIC_TO_HUB)
			snprintf(where, sizeof(where), "%s placeholder on hub %d", n->model,
			         n->hub_id);
		else
			snprintf(where, sizeof(where), "usb-net, %s port %u", n->usb_bus, n->port);
		fprintf(f,
		        "NIC %s: %s (%s, %s, %u queues on %s) -> %s (%s, "
		        "1 queue), MAC %s%s%s\n",
		        n->name, n->orig_dev, n->orig_model, n->orig_netdev, n->n_old, n->tap,
		        n->new_dev, where, n->mac,
		        strcmp(n->mac, n->guest_mac) ? ", guest sees " : "",
		        strcmp(n->mac, n->guest_mac) ? n->guest_mac : "");
	}
	for (size_t i = 0; i < plan->n_disks; i++) {
		const struct plan_disk *d = &plan->disks[i];

		char what[256];

		if (d->target == DISK_TO_USB_STORAGE)
			snprintf(what, sizeof(what), "usb-storage, %s port %u", d->usb_bus,
			         d->port);
		else
			snprintf(what, sizeof(what), "%s",
			         d->target == DISK_TO_SATA ? "SATA" : "virtio-blk placeholder");
		fprintf(f, "disk %s: %s (%s) -> %s (%s), node %s, %" PRIu64 " bytes\n", d->name,
		        d->orig_dev, d->orig_driver, d->placeholder, what, d->node, d->size);
	}
	fprintf(f, "steps:\n");
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct plan_step *s = &plan->steps[i];
		char q[512], u[512];

		plan_step_describe(s, q, sizeof(q));
		fprintf(f, "  %2zu %s %s\n", i + 1, s->commit ? "commit " : "prepare", s->what);
		if (q[0])
			fprintf(f, "       %s\n", q);
		if (s->undo_cmd[0]) {
			qmp_text(s->undo_cmd, s->undo_args, u, sizeof(u));
			fprintf(f, "       undo: %s\n", u);
		}
	}
}
