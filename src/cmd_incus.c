// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - cmd_incus.c: "qremap incus ...": the Incus side of qremapd */

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "qremap/handshake.h"
#include "qremap/log.h"

static void incus_usage(FILE *f)
{
	fprintf(f, "Usage: qremap incus scriptlet [--allow-unremapped]\n"
	           "\n"
	           "  scriptlet   print the raw.qemu.scriptlet whose pre-start stage signals\n"
	           "              qremapd and waits, bounded, for its answer; the start fails\n"
	           "              if qremapd fails or is absent, unless --allow-unremapped\n");
}

/**
 * cmd_incus() - "qremap incus"
 * @argc:	arguments after "qremap"
 * @argv:	argv[0] is "incus"
 * @g:		global options (unused)
 *
 * Return: process exit code
 */
int cmd_incus(int argc, char **argv, const struct global_opts *g)
{
	struct handshake_opts o = {0};

	(void)g;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		incus_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_DONE;
	}
	if (!strcmp(argv[1], "scriptlet")) {
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--allow-unremapped")) {
				log_error("incus scriptlet: unknown option '%s'", argv[i]);
				return EXIT_USAGE;
			}
			o.allow_unremapped = true;
		}
		handshake_scriptlet(stdout, &o);
		return fflush(stdout) == 0 ? EXIT_DONE : EXIT_FAILED;
	}
	log_error("incus: unknown subcommand '%s'", argv[1]);
	return EXIT_USAGE;
}
