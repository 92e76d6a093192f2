/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - tests/unit/golden_rows.h: the row type of the executor tests'
 * golden tables
 *
 * test_remap_exec.c (disk steps) and test_remap_nic_faults.c (NIC steps)
 * each hold one table, golden_rows[], with every step of their plans and the
 * exact QMP conversation of a good run and of its undo; both build the fake
 * peer's script from it at run time. This is the one row type both use, so
 * that the same thing has the same name in both: which plans have the row,
 * what an error reply leads to, the command, its undo and what follows each.
 * The fields only NIC host steps need are zero in disk rows.
 */
#ifndef QREMAP_GOLDEN_ROWS_H
#define QREMAP_GOLDEN_ROWS_H

#include <stdbool.h>

#include "qremap/plan.h"
#include "fakeqmp.h"

/* Entries of golden_row.after and .undo_after; a zeroed one ends the list */
#define GOLDEN_AFTER_MAX 6

/**
 * enum golden_fault - what QEMU refusing a step's first command must lead to
 * @F_ROLLBACK:	nothing is committed yet: every earlier step is undone in
 *		reverse, outcome REMAP_ROLLED_BACK
 * @F_UNSAFE:	an original was already asked to go: no undo, outcome
 *		REMAP_UNSAFE ("quit" if asked to)
 * @F_IGNORED:	tidying only: the step is marked failed, the remap goes on
 */
enum golden_fault {
	F_ROLLBACK,
	F_UNSAFE,
	F_IGNORED,
};

/**
 * struct golden_row - one plan step and its golden conversation
 * @sets:	which plans have it: a mask of the test's own plan bits
 * @kind:	the plan step's kind
 * @commit:	the plan step is in phase B
 * @on_error:	what an error reply to @cmd must lead to
 * @what:	a substring of the plan step's description
 * @cmd:	first command the step sends, NULL for a host step
 * @args:	its arguments, exactly (the plan's, for STEP_QMP), or NULL
 * @pass_fd:	NIC: the fresh queue comes with @cmd (getfd)
 * @hold:	NIC: in a good run QEMU keeps that queue as this fd number
 * @owns_fd:	NIC: once this step is done, a netdev owns the getfd'd queue
 * @undo_unless_owned: NIC: no undo is sent once an @owns_fd step is done
 *		(the netdev's own undo closes the queue)
 * @undo_cmd:	command that undoes the step, or NULL
 * @undo_args:	its arguments, exactly
 * @after:	what follows @cmd in a good run (replies, events, further
 *		commands, queues QEMU closes); a zeroed entry ends it
 * @undo_after:	what follows @undo_cmd, reply included
 */
struct golden_row {
	unsigned sets;
	enum step_kind kind;
	bool commit;
	enum golden_fault on_error;
	const char *what;
	const char *cmd;
	const char *args;
	bool pass_fd;
	int hold;
	bool owns_fd;
	bool undo_unless_owned;
	const char *undo_cmd;
	const char *undo_args;
	struct fq_step after[GOLDEN_AFTER_MAX];
	struct fq_step undo_after[GOLDEN_AFTER_MAX];
};

#endif /* QREMAP_GOLDEN_ROWS_H */
