/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - commands.h: entry points of the qremap subcommands and the
 * helpers they share (private to the qremap binary)
 */
#ifndef QREMAP_COMMANDS_H
#define QREMAP_COMMANDS_H

#include <stdbool.h>

#include "qremap/qmp.h"

/* Exit codes shared by every subcommand (documented in qremap(1)) */
enum qremap_exit {
	EXIT_DONE = 0,        /* done */
	EXIT_FAILED = 1,      /* failed before changing anything (connect, bad profile) */
	EXIT_USAGE = 2,       /* bad command line */
	EXIT_NOTHING = 3,     /* remap: nothing to do (already remapped, nothing matches) */
	EXIT_REFUSED = 4,     /* remap: profile and VM don't fit; nothing changed */
	EXIT_ROLLED_BACK = 5, /* remap: a step failed, every change was undone */
	EXIT_UNSAFE = 6,      /* remap: failed in an unsafe state (see the report) */
};

/**
 * struct global_opts - options valid before any subcommand
 * @trace_qmp:	print every QMP message on stderr
 * @no_seccomp:	connect_monitor() drops capabilities but installs no seccomp
 *		filter
 */
struct global_opts {
	bool trace_qmp;
	bool no_seccomp;
};

int cmd_inspect(int argc, char **argv, const struct global_opts *g);
int cmd_remap(int argc, char **argv, const struct global_opts *g);
int cmd_profile(int argc, char **argv, const struct global_opts *g);
int cmd_config(int argc, char **argv, const struct global_opts *g);
int cmd_incus(int argc, char **argv, const struct global_opts *g);

/* What the subcommands share (cmd_common.c) */
int parse_pid_arg(const char *arg, pid_t *pid);
int connect_monitor(const char *path, int timeout_ms, const struct global_opts *g,
                    struct qmp_client **out, struct qr_error *err);

#endif /* QREMAP_COMMANDS_H */
