// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - cmd_config.c: "qremap config": what to cold-plug for a profile */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "qremap/coldplug.h"
#include "qremap/inventory.h"
#include "qremap/log.h"
#include "qremap/profile.h"

static void config_usage(FILE *f)
{
	fprintf(f, "Usage: qremap config --profile PROFILE --qmp PATH [--format args|conf|json]\n"
	           "                     [--monitor PATH]\n"
	           "\n"
	           "Print what must exist when QEMU starts for PROFILE to apply to this VM:\n"
	           "the AHCI controller and SATA placeholders of each disk's exact size,\n"
	           "virtio-blk placeholders, NIC placeholders on net hubs with the MACs Incus\n"
	           "gave the NICs, an XHCI with enough USB 2 ports if the VM's has too few,\n"
	           "qremap's own monitor, and globals the profile needs. The sizes and MACs\n"
	           "come from the VM on --qmp (e.g. one started once without them).\n"
	           "\n"
	           "  --format args  QEMU arguments, one per line (default)\n"
	           "  --format conf  a -readconfig file, which is also an Incus raw.qemu.conf\n"
	           "                 fragment: every section has a name of qremap's own, so\n"
	           "                 none changes or deletes one of Incus's\n"
	           "  --format json  the items and notes as JSON\n"
	           "  --monitor PATH also create qremap's own QMP socket at PATH\n"
	           "  --client-monitor PATH\n"
	           "                 also make QEMU dial qremapd at PATH (e.g.\n"
	           "                 /run/qremap/qremap.sock), reconnecting\n");
}

/**
 * cmd_config() - "qremap config"
 * @argc:	arguments after "qremap"
 * @argv:	argv[0] is "config"
 * @g:		global options
 *
 * Return: process exit code
 */
int cmd_config(int argc, char **argv, const struct global_opts *g)
{
	static const struct option longopts[] = {
	        {"profile", required_argument, NULL, 'P'},
	        {"qmp", required_argument, NULL, 'm'},
	        {"format", required_argument, NULL, 'f'},
	        {"monitor", required_argument, NULL, 'M'},
	        {"client-monitor", required_argument, NULL, 'C'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_qmp_ struct qmp_client *c = NULL;
	struct inventory_opts iopts = {.no_host = true};
	struct coldplug_opts copts = {0};
	const char *profile_arg = NULL, *qmp_path = NULL, *format = "args";
	struct qr_error err = {0};
	struct vm_inventory inv;
	struct coldplug cp;
	struct profile prof;
	char path[1024];
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			profile_arg = optarg;
			break;
		case 'm':
			qmp_path = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'M':
			copts.monitor = optarg;
			break;
		case 'C':
			copts.client_monitor = optarg;
			break;
		case 'h':
			config_usage(stdout);
			return EXIT_DONE;
		default:
			config_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !profile_arg || !qmp_path) {
		log_error("config: --profile and --qmp are required");
		config_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(format, "args") && strcmp(format, "conf") && strcmp(format, "json")) {
		log_error("config: --format must be args, conf or json, not '%s'", format);
		return EXIT_USAGE;
	}
	if (profile_resolve(profile_arg, path, sizeof(path), &err) < 0 ||
	    profile_load_file(path, &prof, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	if (connect_monitor(qmp_path, prof.qmp_timeout_ms, g, &c, &err) < 0 ||
	    inventory_collect(c, &iopts, &inv, &err) < 0) {
		log_error("%s", err.msg);
		if (c)
			inventory_free(&inv);
		return EXIT_FAILED;
	}
	copts.reconnect_ms =
	        inv.version.major > 9 || (inv.version.major == 9 && inv.version.minor >= 2);
	if (coldplug_build(&inv, &prof, &copts, &cp, &err) < 0) {
		log_error("%s", err.msg);
		inventory_free(&inv);
		coldplug_free(&cp);
		return EXIT_REFUSED;
	}
	inventory_free(&inv);
	for (size_t i = 0; i < cp.n_notes; i++)
		log_warn("%s", cp.notes[i]);
	if (!strcmp(format, "args")) {
		coldplug_print_args(stdout, &cp);
	} else if (!strcmp(format, "conf")) {
		coldplug_print_conf(stdout, &cp);
		/* arguments that can't go in raw.qemu.conf: say so on stderr */
		if (coldplug_print_raw_qemu(stderr, &cp))
			fputs("   <- also needed, as arguments (Incus: raw.qemu)\n", stderr);
	} else {
		json_t *j = coldplug_to_json(&cp);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	}
	coldplug_free(&cp);
	return fflush(stdout) == 0 ? EXIT_DONE : EXIT_FAILED;
}
