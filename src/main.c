// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - main.c: command line entry point and subcommand dispatch
 *
 * qremap rebuilds the disks and NICs that Incus (or anything else) hot-plugs
 * into a paused QEMU, so that guests without PCI hotplug can see them.
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "qremap/log.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: qremap [-v|-q] [--trace-qmp] [--no-seccomp] COMMAND [OPTIONS]\n"
	           "\n"
	           "Commands:\n"
	           "  inspect --qmp PATH [--json]   show a VM's controllers, NICs, taps and disks\n"
	           "  remap --profile P --qmp PATH [--dry-run] [--json]\n"
	           "                                remap a paused VM's NICs and disks (the\n"
	           "                                default command: 'qremap --profile P --qmp\n"
	           "                                PATH' is the same)\n"
	           "  profile check|show|list       validate, resolve and find profiles\n"
	           "  config --profile P --qmp PATH [--format args|conf|json]\n"
	           "                                what to cold-plug at QEMU start for P\n"
	           "  incus enable|disable|status VM, incus scriptlet\n"
	           "                                Incus glue for qremapd (docs/incus.md)\n"
	           "\n"
	           "Global options:\n"
	           "  -v, --verbose    more messages (repeat for debug output)\n"
	           "  -q, --quiet      errors only\n"
	           "  --trace-qmp      print every QMP message on stderr\n"
	           "  --no-seccomp     once connected to a VM, drop capabilities as always\n"
	           "                   but install no seccomp filter (qremap(1), PRIVILEGES)\n"
	           "  -h, --help       this text\n"
	           "  -V, --version    print the version\n"
	           "\n"
	           "'qremap COMMAND --help' describes each command. See qremap(1).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"trace-qmp", no_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {"no-seccomp", no_argument, NULL, 'S'},
	        {NULL, 0, NULL, 0},
	};
	struct global_opts g = {0};
	int level = LOG_LVL_WARN, opt;
	const char *cmd;

	/* "qremap --profile P --qmp S" is "qremap remap --profile P ..." */
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--profile") || str_has_prefix(argv[i], "--profile=")) {
			log_set_level(LOG_LVL_WARN);
			argv[0] = (char *)"remap";
			return cmd_remap(argc, argv, &g);
		}
	}
	/* stop at the first non-option: the subcommand parses the rest */
	while ((opt = getopt_long(argc, argv, "+vqhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			if (level < LOG_LVL_TRACE)
				level++;
			break;
		case 'q':
			level = LOG_LVL_ERROR;
			break;
		case 'T':
			g.trace_qmp = true;
			break;
		case 'S':
			g.no_seccomp = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_DONE;
		case 'V':
			printf("qremap %s\n", QREMAP_VERSION);
			return EXIT_DONE;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	log_set_level((enum log_level)level);
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc, argv, &g);
	if (!strcmp(cmd, "remap"))
		return cmd_remap(argc, argv, &g);
	if (!strcmp(cmd, "profile"))
		return cmd_profile(argc, argv, &g);
	if (!strcmp(cmd, "config"))
		return cmd_config(argc, argv, &g);
	if (!strcmp(cmd, "incus"))
		return cmd_incus(argc, argv, &g);
	log_error("unknown command '%s' (see qremap --help)", cmd);
	return EXIT_USAGE;
}
