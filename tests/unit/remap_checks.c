// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/remap_checks.c: checks the executor tests share */

#include <stdio.h>

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
