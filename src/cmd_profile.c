// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - cmd_profile.c: "qremap profile check|show|list": profile authoring
 *
 * check validates strictly (errors are FILE:LINE:COL with a fix) and then
 * warns about settings that load fine but are known traps; show prints the
 * resolved profile with every default filled in; list shows what the
 * profile path holds.
 */

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "qremap/log.h"
#include "qremap/profile.h"

static void profile_usage(FILE *f)
{
	fprintf(f,
	        "Usage: qremap profile check FILE|NAME...\n"
	        "       qremap profile show [--json] FILE|NAME\n"
	        "       qremap profile list\n"
	        "\n"
	        "  check   validate profiles: every error as FILE:LINE:COL: what; how to fix,\n"
	        "          then warnings for settings that load but are known traps\n"
	        "  show    the resolved profile, every default filled in (YAML-like, or\n"
	        "          --json)\n"
	        "  list    profiles found in %s, %s\n"
	        "          (earlier directories win)\n"
	        "\n"
	        "A NAME is looked up as NAME.yaml in those directories; a path (with a\n"
	        "'/' or ending in .yaml) is read as it is.\n",
	        profile_search_dirs()[0], profile_search_dirs()[1]);
}

/**
 * profile_lint() - warnings for a profile that loads but is likely wrong
 * @p:		profile
 * @label:	file name for messages
 *
 * Return: number of warnings printed
 */
static unsigned profile_lint(const struct profile *p, const char *label)
{
	unsigned n = 0;

#define WARN(r, ...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "%s:%u:%u: warning: ", label, (r)->at.line, (r)->at.col);          \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		n++;                                                                               \
	} while (0)

	for (size_t i = 0; i < p->n_nics; i++) {
		const struct nic_rule *r = &p->nics[i];

		/* a rule after a catch-all never matches */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->nics[j].match, "*"))
				WARN(r,
				     "this rule comes after the catch-all rule of line %u, so it "
				     "never "
				     "matches; move it up",
				     p->nics[j].at.line);
		if (r->target == NIC_TO_HUB && !strcmp(r->model, "usb-net"))
			WARN(r, "a usb-net placeholder on a hub works, but 'to: usb-net' gives the "
			        "same frontend without a hub copy per packet");
		/* No warning for a virtio-net placeholder: it loses its offloads
		 * behind the hub (docs/performance.md), but a guest with virtio
		 * drivers and no PCI hotplug (macOS 11+) has no better choice
		 * it is known to drive; profiles/macos.yaml is one.
		 */
		if (r->target == NIC_TO_USB_NET && r->mac_policy == MAC_WARN)
			WARN(r,
			     "'mac_rewritten: warn' lets QEMU builds before 10.0.5/10.1.1/10.2.0 "
			     "give the guest a 40:... MAC: DHCP reservations and MAC filters "
			     "won't match");
	}
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct disk_rule *r = &p->disks[i];

		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->disks[j].match, "*"))
				WARN(r,
				     "this rule comes after the catch-all rule of line %u, so it "
				     "never "
				     "matches; move it up",
				     p->disks[j].at.line);
		if (r->target == DISK_TO_USB_STORAGE)
			WARN(r,
			     "usb-storage runs at USB 2 speed (about 30-40 MB/s) and a guest may "
			     "treat it as removable; prefer sata where the guest has AHCI");
	}
	if (p->unplug_timeout_ms < 100)
		fprintf(stderr,
		        "%s: warning: timeouts: unplug_ms %d is below 100 ms; a native PCIe unplug "
		        "alone takes about 10 ms and a busy host more\n",
		        label, p->unplug_timeout_ms),
		        n++;
#undef WARN
	return n;
}

/* Resolve NAME or FILE as "qremap remap --profile" does; log if not found. */
static int find_profile(const char *arg, char *buf, size_t len)
{
	struct qr_error err = {0};

	if (profile_resolve(arg, buf, len, &err) < 0) {
		log_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2) {
		log_error("profile check: which profile? (qremap profile check FILE...)");
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		struct qr_error err = {0};
		struct profile p;
		char path[1024];
		unsigned w;

		if (find_profile(argv[i], path, sizeof(path)) < 0) {
			bad = 1;
			continue;
		}
		if (profile_load_file(path, &p, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			bad = 1;
			continue;
		}
		w = profile_lint(&p, path);
		printf("%s: ok (profile %s, %zu NIC rule%s, %zu disk rule%s, %u warning%s)\n", path,
		       p.name, p.n_nics, p.n_nics == 1 ? "" : "s", p.n_disks,
		       p.n_disks == 1 ? "" : "s", w, w == 1 ? "" : "s");
	}
	return bad ? EXIT_FAILED : EXIT_DONE;
}

/*
 * Print a JSON value as compact YAML-ish text (scalars and flow lists).
 * Recursive, as deep as profile_to_json() nests (the profile's fixed schema,
 * a few levels), whatever the profile file says.
 */
static void print_yamlish(FILE *f, json_t *v, int indent) /* NOLINT(misc-no-recursion) */
{
	const char *key;
	json_t *val;
	size_t i;

	json_object_foreach(v, key, val)
	{
		if (json_is_object(val)) {
			fprintf(f, "%*s%s:\n", indent, "", key);
			print_yamlish(f, val, indent + 2);
		} else if (json_is_array(val) && json_array_size(val) &&
		           json_is_object(json_array_get(val, 0))) {
			json_t *e;

			fprintf(f, "%*s%s:\n", indent, "", key);
			json_array_foreach(val, i, e)
			{
				fprintf(f, "%*s-\n", indent + 2, "");
				print_yamlish(f, e, indent + 4);
			}
		} else {
			_cleanup_free_ char *s = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);

			fprintf(f, "%*s%s: %s\n", indent, "", key, s ? s : "?");
		}
	}
}

static int cmd_show(int argc, char **argv)
{
	struct qr_error err = {0};
	struct profile p;
	char path[1024];
	bool json = false;
	const char *arg = NULL;
	json_t *j;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!arg)
			arg = argv[i];
		else {
			log_error("profile show: one profile at a time");
			return EXIT_USAGE;
		}
	}
	if (!arg) {
		log_error("profile show: which profile?");
		return EXIT_USAGE;
	}
	if (find_profile(arg, path, sizeof(path)) < 0)
		return EXIT_FAILED;
	if (profile_load_file(path, &p, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_FAILED;
	}
	j = profile_to_json(&p);
	if (!j) {
		log_error("out of memory");
		return EXIT_FAILED;
	}
	if (json)
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	else
		print_yamlish(stdout, j, 0);
	if (json)
		fputc('\n', stdout);
	json_decref(j);
	return EXIT_DONE;
}

/**
 * shadowed() - whether NAME.yaml is also in a directory that comes first
 * @dirs:	the profile path
 * @i:		index of the directory NAME.yaml was found in
 * @file:	NAME.yaml
 *
 * Return: the earlier directory that wins, or NULL
 */
static const char *shadowed(const char *const *dirs, size_t i, const char *file)
{
	char path[1024];
	struct stat st;

	for (size_t j = 0; j < i; j++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[j], file);
		if (!lstat(path, &st))
			return dirs[j];
	}
	return NULL;
}

/**
 * cmd_list() - "qremap profile list": every profile in the profile path
 *
 * One line each: NAME, the file, and the first line of its description
 * (descriptions written with "|" may have more). A file that an earlier
 * directory's copy of the same NAME overrides says so: a NAME resolves to
 * the earlier one.
 *
 * Return: process exit code
 */
static int cmd_list(void)
{
	const char *const *dirs = profile_search_dirs();

	for (size_t i = 0; dirs[i]; i++) {
		struct dirent **names = NULL;
		int n = scandir(dirs[i], &names, NULL, alphasort);

		for (int k = 0; k < n; k++) {
			char path[1024], name[256];
			struct qr_error err = {0};
			struct profile p;
			const char *d = names[k]->d_name, *wins;
			size_t l = strlen(d);

			if (l > 5 && !strcmp(d + l - 5, ".yaml")) {
				snprintf(name, sizeof(name), "%.*s", (int)(l - 5), d);
				snprintf(path, sizeof(path), "%s/%s", dirs[i], d);
				wins = shadowed(dirs, i, d);
				if (wins)
					printf("%-20s %s (overridden by %s/%s)\n", name, path, wins,
					       d);
				else if (profile_load_file(path, &p, &err) < 0)
					printf("%-20s %s (broken: run 'qremap profile check %s')\n",
					       name, path, path);
				else
					printf("%-20s %s  %.*s\n", name, path,
					       (int)strcspn(p.description, "\n"), p.description);
			}
			free(names[k]);
		}
		free(names);
	}
	return EXIT_DONE;
}

/**
 * cmd_profile() - "qremap profile"
 * @argc:	arguments after "qremap"
 * @argv:	argv[0] is "profile"
 * @g:		global options (unused)
 *
 * Return: process exit code
 */
int cmd_profile(int argc, char **argv, const struct global_opts *g)
{
	(void)g;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		profile_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_DONE;
	}
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return cmd_list();
	log_error("profile: unknown subcommand '%s' (check, show, list)", argv[1]);
	return EXIT_USAGE;
}
