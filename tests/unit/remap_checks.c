// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/remap_checks.c: checks the executor tests share */

#include <stdio.h>

#include <jansson.h>

#include "remap_checks.h"
#include "testlib.h"

/**
 * check_results() - compare a report's per-step results with expectations
 * @rep:	report
 * @want:	expected result per step
 * @n:		number of steps
 * @label:	names the case in failure messages
 */
void check_results(const struct remap_report *rep, const enum step_result *want, size_t n,
                   const char *label)
{
	if (!rep->results) {
		fprintf(stderr, "%s: report has no results\n", label);
		CHECK(rep->results);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (rep->results[i] == want[i])
			continue;
		fprintf(stderr, "%s: step %zu is %s, expected %s\n", label, i,
		        step_result_str(rep->results[i]), step_result_str(want[i]));
		CHECK_INT(rep->results[i], want[i]);
	}
}

/**
 * check_step_golden() - a plan step's commands are the golden ones
 * @s:		plan step
 * @cmd:	STEP_QMP: the command
 * @args:	STEP_QMP: its arguments, exactly; STEP_DEVICE_DEL: {"id": dev}
 * @undo_cmd:	the undo command, or NULL if the step has none
 * @undo_args:	its arguments, exactly
 */
void check_step_golden(const struct plan_step *s, const char *cmd, const char *args,
                       const char *undo_cmd, const char *undo_args)
{
	if (s->kind == STEP_QMP) {
		json_t *a = json_loads(args, 0, NULL);

		CHECK_STR(s->cmd, cmd);
		CHECK(json_equal(s->args, a));
		json_decref(a);
	}
	if (s->kind == STEP_DEVICE_DEL) {
		json_t *a = json_loads(args, 0, NULL);

		CHECK_STR(s->dev, json_string_value(json_object_get(a, "id")));
		json_decref(a);
	}
	if (undo_cmd) {
		json_t *u = json_loads(undo_args, 0, NULL);

		CHECK_STR(s->undo_cmd, undo_cmd);
		CHECK(json_equal(s->undo_args, u));
		json_decref(u);
	} else {
		CHECK_STR(s->undo_cmd, "");
	}
}
