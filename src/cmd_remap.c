// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - cmd_remap.c: "qremap remap" (also "qremap --profile P --qmp S"):
 * load the profile, connect, run remap_vm() (pipeline.c), and print the plan
 * (--dry-run) or the report
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "qremap/log.h"
#include "qremap/pipeline.h"

static void remap_usage(FILE *f)
{
	fprintf(f, "Usage: qremap remap --profile PROFILE --qmp PATH [--dry-run] [--json]\n"
	           "                    [--pid PID] [--leave-on-unsafe] [--no-seccomp]\n"
	           "       qremap --profile PROFILE --qmp PATH [...]   (the same)\n"
	           "\n"
	           "Rebuild the NICs and disks Incus hot-plugged into a paused QEMU (-S) as the\n"
	           "profile says: each NIC becomes usb-net on one fresh tap queue, each disk's\n"
	           "block node moves to a cold-plugged SATA placeholder, the virtio originals\n"
	           "go. Every change is verified; a failure undoes what was done.\n"
	           "\n"
	           "  --profile P    profile file, or a NAME looked up as NAME.yaml in\n"
	           "                 /etc/qremap/profiles, then the packaged profiles\n"
	           "  --qmp PATH     the VM's QMP socket for qremap (not Incus's own monitor)\n"
	           "  --dry-run      print the plan, change nothing\n"
	           "  --json         machine-readable plan or report (docs/remap.md)\n"
	           "  --pid PID      QEMU's pid, if SO_PEERCRED on the socket would be wrong\n"
	           "  --leave-on-unsafe  on an unsafe failure, leave QEMU paused instead of\n"
	           "                 telling it to quit (default: quit, so the guest never\n"
	           "                 runs half remapped)\n"
	           "  --no-seccomp   once connected, drop every capability but CAP_NET_ADMIN,\n"
	           "                 CAP_SYS_ADMIN and CAP_SYS_PTRACE, but install no seccomp\n"
	           "                 filter (default: both; see qremap(1), PRIVILEGES)\n"
	           "  -v, -q, --trace-qmp  as for qremap\n"
	           "  -h, --help     this text\n"
	           "\n"
	           "Exit status: 0 done, 1 failed before changing anything, 2 usage,\n"
	           "3 nothing to do, 4 refused (nothing changed), 5 failed and rolled back,\n"
	           "6 failed in an unsafe state.\n");
}

/* Print JSON to stdout. */
static void print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

static int outcome_exit(enum remap_outcome o)
{
	switch (o) {
	case REMAP_DONE:
		return EXIT_DONE;
	case REMAP_NOTHING:
		return EXIT_NOTHING;
	case REMAP_REFUSED:
		return EXIT_REFUSED;
	case REMAP_ROLLED_BACK:
		return EXIT_ROLLED_BACK;
	case REMAP_UNSAFE:
		break;
	}
	return EXIT_UNSAFE;
}

/**
 * log_notes() - log the plan's notes before it is applied (remap_vm_opts)
 * @plan:	the plan
 * @opaque:	unused
 */
static void log_notes(const struct plan *plan, void *opaque)
{
	(void)opaque;
	for (size_t i = 0; i < plan->n_notes; i++) {
		if (plan->note_warns[i])
			log_warn("%s", plan->notes[i]);
		else
			log_info("%s", plan->notes[i]);
	}
}

/**
 * apply_test_hooks() - fault injection from the environment, test builds only
 * @ropts:	remap options: fail_step and stop_step are set here
 *
 * QREMAP_TEST_FAIL_STEP=N makes step N fail as if QEMU had refused it;
 * QREMAP_TEST_STOP_STEP=N makes qremap stop itself (SIGSTOP) before step N,
 * so that a test can kill QEMU exactly there (tests/README.md). Only a
 * build with QREMAP_TEST_HOOKS (the sanitized test build) has them: any
 * other qremap neither reads these variables nor contains their names.
 */
static void apply_test_hooks(struct remap_opts *ropts)
{
#ifdef QREMAP_TEST_HOOKS
	unsigned long long v;
	const char *s;

	s = getenv("QREMAP_TEST_FAIL_STEP");
	if (s && parse_uint(s, 100000, &v) == 0)
		ropts->fail_step = (unsigned)v;
	s = getenv("QREMAP_TEST_STOP_STEP");
	if (s && parse_uint(s, 100000, &v) == 0)
		ropts->stop_step = (unsigned)v;
#endif
}

/**
 * cmd_remap() - "qremap remap"
 * @argc:	arguments after the subcommand name, getopt style
 * @argv:	argv[0] is "remap"
 * @g:		global options (may be extended by -v/-q/--trace-qmp here)
 *
 * Return: process exit code
 */
int cmd_remap(int argc, char **argv, const struct global_opts *g)
{
	static const struct option longopts[] = {
	        {"profile", required_argument, NULL, 'P'},
	        {"qmp", required_argument, NULL, 'm'},
	        {"dry-run", no_argument, NULL, 'n'},
	        {"json", no_argument, NULL, 'j'},
	        {"pid", required_argument, NULL, 'p'},
	        {"leave-on-unsafe", no_argument, NULL, 'L'},
	        {"no-seccomp", no_argument, NULL, 'S'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"trace-qmp", no_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	_cleanup_qmp_ struct qmp_client *c = NULL;
	struct global_opts gl = *g;
	struct remap_vm_opts vopts = {.apply = {.quit_on_unsafe = true}, .before_apply = log_notes};
	_cleanup_(remap_vm_result_free) struct remap_vm_result res = {0};
	const char *profile_arg = NULL, *qmp_path = NULL;
	bool json = false;
	struct profile prof;
	char path[1024];
	struct qr_error err = {0};
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			profile_arg = optarg;
			break;
		case 'm':
			qmp_path = optarg;
			break;
		case 'n':
			vopts.plan_only = true;
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			if (parse_pid_arg(optarg, &vopts.inventory.pid) < 0)
				return EXIT_USAGE;
			break;
		case 'L':
			vopts.apply.quit_on_unsafe = false;
			break;
		case 'S':
			gl.no_seccomp = true;
			break;
		case 'v':
			if (log_get_level() < LOG_LVL_TRACE)
				log_set_level(log_get_level() + 1);
			break;
		case 'q':
			log_set_level(LOG_LVL_ERROR);
			break;
		case 'T':
			gl.trace_qmp = true;
			break;
		case 'h':
			remap_usage(stdout);
			return EXIT_DONE;
		default:
			remap_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("remap: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!profile_arg || !qmp_path) {
		log_error("remap: --profile and --qmp are required");
		remap_usage(stderr);
		return EXIT_USAGE;
	}
	apply_test_hooks(&vopts.apply);

	if (profile_resolve(profile_arg, path, sizeof(path), &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	if (profile_load_file(path, &prof, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	log_info("profile %s (%s)", prof.name, path);
	if (connect_monitor(qmp_path, prof.qmp_timeout_ms, &gl, &c, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	if (remap_vm(c, &prof, &vopts, &res, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}

	if (vopts.plan_only) {
		if (json)
			print_json(plan_to_json(&res.plan));
		else
			plan_print(stdout, &res.plan);
		return res.plan.verdict == PLAN_READY     ? EXIT_DONE
		       : res.plan.verdict == PLAN_NOTHING ? EXIT_NOTHING
		                                          : EXIT_REFUSED;
	}

	if (json)
		print_json(remap_report_to_json(&res.rep, &res.plan));
	else
		remap_report_print(stdout, &res.rep, &res.plan);
	rc = outcome_exit(res.rep.outcome);
	if (res.rep.outcome == REMAP_REFUSED)
		log_error("refused: %s", res.plan.refusal);
	else if (res.rep.outcome == REMAP_ROLLED_BACK || res.rep.outcome == REMAP_UNSAFE)
		log_error("%s", res.rep.error.msg);
	if (fflush(stdout) != 0)
		return rc ? rc : EXIT_FAILED;
	return rc;
}
