/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - tests/unit/remap_checks.h: checks the executor tests share
 *
 * test_remap_exec.c (disk steps) and test_remap_nic_faults.c (NIC steps)
 * compare a remap report with what their golden tables expect.
 */
#ifndef QREMAP_REMAP_CHECKS_H
#define QREMAP_REMAP_CHECKS_H

#include <stddef.h>

#include "qremap/plan.h"
#include "qremap/remap.h"

void check_results(const struct remap_report *rep, const enum step_result *want, size_t n,
                   const char *label);
void check_step_golden(const struct plan_step *s, const char *cmd, const char *args,
                       const char *undo_cmd, const char *undo_args);

#endif /* QREMAP_REMAP_CHECKS_H */
