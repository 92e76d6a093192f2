// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - cmd_inspect.c: "qremap inspect": print a VM's inventory */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "qremap/inventory.h"
#include "qremap/log.h"

static void inspect_usage(FILE *f)
{
	fprintf(f,
	        "Usage: qremap inspect --qmp PATH [--json] [--pid PID] [--no-host]\n"
	        "                      [--timeout MS]\n"
	        "\n"
	        "Print what a VM has, read-only: QEMU version and run state, PCI hotplug\n"
	        "mode, USB/SATA/SCSI controllers and free ports, NICs with their netdev,\n"
	        "queues, QEMU fd numbers and host taps, and disks with node, format and size.\n"
	        "\n"
	        "  --qmp PATH     QMP monitor socket of the VM (qremap needs its own monitor;\n"
	        "                 QEMU serves one client per monitor socket)\n"
	        "  --json         machine-readable output (keys: docs/inspect-json.md)\n"
	        "  --pid PID      QEMU's pid, if SO_PEERCRED on the socket would be wrong\n"
	        "  --no-host      don't inspect host taps (no /proc, no pidfd_getfd)\n"
	        "  --timeout MS   per-QMP-command timeout (default %d)\n"
	        "  -h, --help     this text\n",
	        QMP_DEFAULT_TIMEOUT_MS);
}

/**
 * cmd_inspect() - "qremap inspect"
 * @argc:	arguments after the subcommand name, getopt style
 * @argv:	argv[0] is "inspect"
 * @g:		global options
 *
 * Return: process exit code
 */
int cmd_inspect(int argc, char **argv, const struct global_opts *g)
{
	static const struct option longopts[] = {
	        {"qmp", required_argument, NULL, 'm'},
	        {"json", no_argument, NULL, 'j'},
	        {"pid", required_argument, NULL, 'p'},
	        {"no-host", no_argument, NULL, 'n'},
	        {"timeout", required_argument, NULL, 't'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct inventory_opts opts = {.complete = true};
	_cleanup_qmp_ struct qmp_client *c = NULL;
	const char *qmp_path = NULL;
	struct vm_inventory inv;
	unsigned long long v;
	int timeout = QMP_DEFAULT_TIMEOUT_MS;
	bool json = false;
	struct qr_error err;
	int opt, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			qmp_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			if (parse_pid_arg(optarg, &opts.pid) < 0)
				return EXIT_USAGE;
			break;
		case 'n':
			opts.no_host = true;
			break;
		case 't':
			if (parse_uint(optarg, 3600000, &v) < 0 || !v) {
				log_error("--timeout: expected milliseconds (1..3600000): %s",
				          optarg);
				return EXIT_USAGE;
			}
			timeout = (int)v;
			break;
		case 'h':
			inspect_usage(stdout);
			return EXIT_DONE;
		default:
			inspect_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("inspect: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!qmp_path) {
		log_error("inspect: --qmp PATH is required");
		inspect_usage(stderr);
		return EXIT_USAGE;
	}

	if (connect_monitor(qmp_path, timeout, g, &c, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	r = inventory_collect(c, &opts, &inv, &err);
	if (r < 0) {
		log_error("%s", err.msg);
		inventory_free(&inv);
		return EXIT_FAILED;
	}
	if (json) {
		json_t *j = inventory_to_json(&inv);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		inventory_print(stdout, &inv);
	}
	inventory_free(&inv);
	return fflush(stdout) == 0 ? EXIT_DONE : EXIT_FAILED;
}
