// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - cmd_incus.c: "qremap incus ...": the Incus side of qremapd */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "qremap/coldplug.h"
#include "qremap/handshake.h"
#include "qremap/incus.h"
#include "qremap/log.h"
#include "qremap/names.h"
#include "qremap/plan.h"
#include "qremap/profile.h"

/* Largest state file "qremap incus status" reads (qremapd's are a few KiB) */
#define STATE_FILE_MAX (1 << 20)

static void incus_usage(FILE *f)
{
	fprintf(f,
	        "Usage: qremap incus enable VM --profile PROFILE [--allow-unremapped]\n"
	        "       qremap incus disable VM\n"
	        "       qremap incus status VM [--json]\n"
	        "       qremap incus scriptlet [--allow-unremapped]\n"
	        "Options for all: [--project PROJECT] [--incus-socket PATH]\n"
	        "                 [--qremapd-socket PATH] [--state-dir DIR]\n"
	        "\n"
	        "  enable     write what VM needs into its Incus configuration (it must be\n"
	        "             stopped): placeholders and qremapd's client monitor in\n"
	        "             raw.qemu.conf, -global arguments in raw.qemu, the pre-start\n"
	        "             handshake in raw.qemu.scriptlet, user.qremap.profile; content\n"
	        "             of your own is kept. Written with If-Match on the ETag read.\n"
	        "  disable    remove exactly what enable added\n"
	        "  status     profile, what is enabled, qremapd's last result for VM and the\n"
	        "             devices as the guest sees them\n"
	        "  scriptlet  print the raw.qemu.scriptlet alone\n"
	        "\n"
	        "Defaults: --project %s, --incus-socket %s,\n"
	        "--qremapd-socket /run/qremap/qremap.sock, --state-dir /run/qremap/state.\n"
	        "VM and PROJECT must be names Incus allows; the --qremapd-socket path goes\n"
	        "into raw.qemu.conf and can't hold '\"', '\\' or control characters.\n",
	        INCUS_DEFAULT_PROJECT, INCUS_DEFAULT_SOCKET);
}

/**
 * struct incus_opts - options of "qremap incus"
 * @vm:		instance name
 * @project:	the instance's Incus project
 * @profile:	profile (enable)
 * @socket:	Incus's socket
 * @qremapd:	qremapd's socket, for the client monitor
 * @state_dir:	qremapd's state directory (status)
 * @allow_unremapped: the scriptlet lets the VM start if qremapd is absent
 * @json:	machine-readable status
 */
struct incus_opts {
	const char *vm;
	const char *project;
	const char *profile;
	const char *socket;
	const char *qremapd;
	const char *state_dir;
	bool allow_unremapped;
	bool json;
};

/* A config value of the instance, "" if unset. */
static const char *conf_get(json_t *inst, const char *key)
{
	return str_or(json_string_value(json_object_get(json_object_get(inst, "config"), key)), "");
}

/**
 * instance_path() - the API path of the instance, in its project
 * @o:		options (instance and project, both checked by cmd_incus())
 * @buf:	output
 * @len:	size of @buf
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int instance_path(const struct incus_opts *o, char *buf, size_t len, struct qr_error *err)
{
	if (incus_path(buf, len, o->project, NULL, err, "instances", o->vm, NULL) < 0)
		return qr_err_prefix(err, "instance %s", o->vm);
	return 0;
}

/**
 * get_instance() - read the instance and its ETag
 * @o:		options
 * @inst:	the instance (new reference)
 * @etag:	its ETag, INCUS_ETAG_MAX bytes
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int get_instance(const struct incus_opts *o, json_t **inst, char *etag, struct qr_error *err)
{
	char path[512];

	if (instance_path(o, path, sizeof(path), err) < 0)
		return -1;
	return incus_request(o->socket, "GET", path, NULL, NULL, inst, etag, INCUS_ETAG_MAX, err);
}

/**
 * patch_config() - PATCH the instance's config keys in @changes
 * @o:		options
 * @changes:	keys and values ("" removes a key)
 * @etag:	the ETag get_instance() read
 * @err:	error object
 *
 * Without an ETag the write could silently undo a concurrent change, so it
 * is refused rather than sent without If-Match.
 *
 * Return: 0 on success, -1 on failure
 */
static int patch_config(const struct incus_opts *o, json_t *changes, const char *etag,
                        struct qr_error *err)
{
	char path[512];
	json_t *body;
	int r;

	if (!etag || !etag[0])
		return qr_err_set(err, QR_ERR_PROTOCOL,
		                  "Incus sent no ETag for instance %s: not writing without "
		                  "If-Match",
		                  o->vm);
	if (instance_path(o, path, sizeof(path), err) < 0)
		return -1;
	body = json_pack("{s:O}", "config", changes);
	if (!body)
		return qr_err_sys(err, ENOMEM, "configuration of instance %s", o->vm);
	r = incus_request(o->socket, "PATCH", path, body, etag, NULL, NULL, 0, err);
	json_decref(body);
	return r;
}

/**
 * parse_major_minor() - read "MAJOR.MINOR" at the start of a version string
 * @s:		version, such as "9.2.0" (what follows MINOR is ignored)
 * @maj:	major version
 * @min:	minor version
 *
 * strtoul() with its errors checked, not sscanf("%d.%d"): a number too large
 * for an int is undefined behaviour for sscanf(), and it can't tell.
 *
 * Return: 0 on success, -1 if @s doesn't start with "digits.digits"
 */
static int parse_major_minor(const char *s, unsigned long *maj, unsigned long *min)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*maj = strtoul(s, &end, 10);
	if (errno || *end != '.' || !isdigit((unsigned char)end[1]))
		return -1;
	*min = strtoul(end + 1, &end, 10);
	return errno ? -1 : 0;
}

/**
 * memstream_done() - finish a string printed with open_memstream()
 * @m:		the stream, NULL if open_memstream() failed
 *
 * open_memstream() fails, and so does the fclose() that makes the final
 * buffer, only for lack of memory; the string is then missing or cut short,
 * and enable would write a partial configuration into the instance.
 *
 * Return: 0 if the string is complete, -1 otherwise
 */
static int memstream_done(FILE *m)
{
	if (!m)
		return -1;
	return fclose(m) ? -1 : 0;
}

/* Whether a scriptlet is qremap's own. */
static bool is_our_scriptlet(const char *s)
{
	return str_has_prefix(s, "# qremap: pre-start handshake");
}

static int incus_enable(const struct incus_opts *o)
{
	struct coldplug_opts copts = {.client_monitor = o->qremapd, .reconnect_ms = true};
	struct handshake_opts hopts = {.allow_unremapped = o->allow_unremapped};
	_cleanup_free_ char *block = NULL, *args = NULL, *script = NULL, *conf = NULL, *raw = NULL,
	                    *old_conf = NULL, *old_raw = NULL;
	struct qr_error err = {0};
	struct vm_inventory inv;
	struct coldplug cp;
	struct profile prof;
	json_t *inst = NULL, *env = NULL, *changes;
	char etag[INCUS_ETAG_MAX], path[1024], api[256];
	size_t len = 0;
	const char *status, *qv;
	FILE *m;
	int rc = EXIT_FAILED;
	bool printed;

	if (profile_resolve(o->profile, path, sizeof(path), &err) < 0 ||
	    profile_load_file(path, &prof, &err) < 0 || get_instance(o, &inst, etag, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	status = str_or(json_string_value(json_object_get(inst, "status")), "");
	if (strcmp(status, "Stopped")) {
		log_error("instance %s is %s: raw.qemu* can only change while it is stopped "
		          "(incus stop %s)",
		          o->vm, status, o->vm);
		goto out;
	}
	if (conf_get(inst, INCUS_KEY_CONF)[0]) {
		log_error("qremap is already enabled on %s (profile %s); run 'qremap incus disable "
		          "%s' first to change it",
		          o->vm, conf_get(inst, INCUS_KEY_PROFILE), o->vm);
		goto out;
	}
	if (conf_get(inst, "raw.qemu.scriptlet")[0] &&
	    !is_our_scriptlet(conf_get(inst, "raw.qemu.scriptlet"))) {
		log_error("%s already has a raw.qemu.scriptlet of its own; merge 'qremap incus "
		          "scriptlet' into it by hand (one qemu_hook() calling both)",
		          o->vm);
		goto out;
	}
	/* reconnect-ms needs QEMU >= 9.2: ask Incus which QEMU it runs */
	if (incus_path(api, sizeof(api), o->project, NULL, &err, NULL) == 0 &&
	    incus_request(o->socket, "GET", api, NULL, NULL, &env, NULL, 0, &err) == 0) {
		qv = json_string_value(
		        json_object_get(json_object_get(env, "environment"), "driver_version"));
		if (qv && strstr(qv, "| ")) {
			unsigned long maj, min;

			if (!parse_major_minor(strstr(qv, "| ") + 2, &maj, &min))
				copts.reconnect_ms = maj > 9 || (maj == 9 && min >= 2);
		}
	}
	if (incus_instance_inventory(o->socket, o->project, o->vm, inst, &inv, &err) < 0 ||
	    coldplug_build(&inv, &prof, &copts, &cp, &err) < 0) {
		log_error("%s", err.msg);
		inventory_free(&inv);
		goto out;
	}
	inventory_free(&inv);
	m = open_memstream(&block, &len);
	if (m)
		coldplug_print_conf(m, &cp);
	printed = memstream_done(m) == 0;
	m = open_memstream(&args, &len);
	if (m)
		coldplug_print_raw_qemu(m, &cp);
	printed = memstream_done(m) == 0 && printed;
	m = open_memstream(&script, &len);
	if (m)
		handshake_scriptlet(m, &hopts);
	printed = memstream_done(m) == 0 && printed;
	if (!printed) {
		log_error("out of memory building the configuration of %s", o->vm);
		coldplug_free(&cp);
		goto out;
	}
	for (size_t i = 0; i < cp.n_notes; i++)
		log_warn("%s", cp.notes[i]);
	coldplug_free(&cp);

	/* appended, after a separating newline: recorded exactly, for disable */
	old_conf = strdup(conf_get(inst, "raw.qemu.conf"));
	old_raw = strdup(conf_get(inst, "raw.qemu"));
	if (!old_conf || !old_raw)
		goto out;
	{
		_cleanup_free_ char *added = NULL, *added_raw = NULL;
		size_t ol = strlen(old_conf);

		if (asprintf(&added, "%s%s",
		             ol && old_conf[ol - 1] != '\n' ? "\n\n"
		             : ol                           ? "\n"
		                                            : "",
		             block) < 0 ||
		    asprintf(&conf, "%s%s", old_conf, added) < 0)
			goto out;
		if (asprintf(&added_raw, "%s%s", args[0] && old_raw[0] ? " " : "", args) < 0 ||
		    asprintf(&raw, "%s%s", old_raw, added_raw) < 0)
			goto out;
		/* qremapd resolves it: a name as given, a file as an absolute path */
		char abs[PATH_MAX];
		const char *stored = strchr(o->profile, '/') || str_has_suffix(o->profile, ".yaml")
		                             ? (realpath(path, abs) ? abs : path)
		                             : o->profile;

		changes =
		        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "raw.qemu.conf", conf,
		                  "raw.qemu", raw, "raw.qemu.scriptlet", script, INCUS_KEY_PROFILE,
		                  stored, INCUS_KEY_CONF, added, INCUS_KEY_RAW_QEMU, added_raw);
	}
	if (patch_config(o, changes, etag, &err) < 0) {
		log_error("%s", err.msg);
		json_decref(changes);
		goto out;
	}
	json_decref(changes);
	printf("enabled qremap on %s with profile %s: %zu bytes added to raw.qemu.conf%s%s, "
	       "pre-start scriptlet set\n",
	       o->vm, prof.name, strlen(conf) - strlen(old_conf), args[0] ? ", raw.qemu += " : "",
	       args);
	printf("qremapd must run with access to %s (it maps %s to profile %s through %s)\n",
	       o->qremapd, o->vm, prof.name, INCUS_KEY_PROFILE);
	rc = EXIT_DONE;
out:
	/* old_conf and old_raw are freed by _cleanup_free_, which clang-tidy
	 * 14's analyzer doesn't model: to it they leak on the way out.
	 * NOLINTBEGIN(clang-analyzer-unix.Malloc)
	 */
	json_decref(env);
	json_decref(inst);
	return rc;
	/* NOLINTEND(clang-analyzer-unix.Malloc) */
}

static int incus_disable(const struct incus_opts *o)
{
	_cleanup_free_ char *conf = NULL, *raw = NULL;
	struct qr_error err = {0};
	json_t *inst = NULL, *changes;
	const char *status;
	char etag[INCUS_ETAG_MAX];
	int rc = EXIT_FAILED;

	if (get_instance(o, &inst, etag, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	status = str_or(json_string_value(json_object_get(inst, "status")), "");
	if (strcmp(status, "Stopped")) {
		log_error("instance %s is %s: stop it first", o->vm, status);
		goto out;
	}
	if (!conf_get(inst, INCUS_KEY_CONF)[0] && !conf_get(inst, INCUS_KEY_PROFILE)[0]) {
		printf("qremap is not enabled on %s: nothing to do\n", o->vm);
		rc = EXIT_NOTHING;
		goto out;
	}
	conf = incus_strip_added(conf_get(inst, "raw.qemu.conf"), conf_get(inst, INCUS_KEY_CONF));
	raw = incus_strip_added(conf_get(inst, "raw.qemu"), conf_get(inst, INCUS_KEY_RAW_QEMU));
	if (!conf || !raw)
		goto out;
	if (!strcmp(conf, conf_get(inst, "raw.qemu.conf")) && conf_get(inst, INCUS_KEY_CONF)[0])
		log_warn("raw.qemu.conf no longer contains what qremap added (edited since?); "
		         "left as it is");
	changes = json_pack("{s:s, s:s, s:s, s:s, s:s}", "raw.qemu.conf", conf, "raw.qemu", raw,
	                    INCUS_KEY_PROFILE, "", INCUS_KEY_CONF, "", INCUS_KEY_RAW_QEMU, "");
	if (is_our_scriptlet(conf_get(inst, "raw.qemu.scriptlet")))
		json_object_set_new(changes, "raw.qemu.scriptlet", json_string(""));
	if (patch_config(o, changes, etag, &err) < 0) {
		log_error("%s", err.msg);
		json_decref(changes);
		goto out;
	}
	json_decref(changes);
	printf("disabled qremap on %s: its additions to raw.qemu.conf, raw.qemu and "
	       "raw.qemu.scriptlet are removed\n",
	       o->vm);
	rc = EXIT_DONE;
out:
	json_decref(inst);
	return rc;
}

/**
 * load_state() - qremapd's last result for the VM, if there is one
 * @o:		options (state directory, project, instance)
 *
 * The state directory is qremapd's, but whoever can write there could put
 * a FIFO (open() would block), a symlink to a file of someone else's, or a
 * huge file in the VM's place. So: no symlink as the last component, no
 * blocking open, a regular file, at most STATE_FILE_MAX bytes. Anything
 * else is reported and treated as no result.
 *
 * Return: the result (new reference), NULL if none or unusable
 */
static json_t *load_state(const struct incus_opts *o)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	char name[NAME_MAX + 1], path[PATH_MAX];
	struct qr_error err = {0};
	json_error_t jerr;
	struct stat sb;
	size_t got = 0;
	json_t *st;

	if (incus_state_file_name(name, sizeof(name), o->project, o->vm, &err) < 0) {
		log_warn("%s", err.msg);
		return NULL;
	}
	if (snprintf(path, sizeof(path), "%s/%s", o->state_dir, name) >= (int)sizeof(path)) {
		log_warn("--state-dir %s: too long", o->state_dir);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			log_warn("%s is a symlink: not followed, ignored", path);
		else if (errno != ENOENT)
			log_warn("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > STATE_FILE_MAX) {
		log_warn("%s: not a regular file of at most %d bytes: ignored", path,
		         STATE_FILE_MAX);
		return NULL;
	}
	/* one byte more than the file had: a file that grew is noticed */
	text = malloc((size_t)sb.st_size + 1);
	if (!text)
		return NULL;
	while (got <= (size_t)sb.st_size) {
		ssize_t n = read(fd, text + got, (size_t)sb.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("%s: %s", path, strerror(errno));
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)sb.st_size) {
		log_warn("%s: changed while read: ignored", path);
		return NULL;
	}
	st = json_loadb(text, got, 0, &jerr);
	if (!json_is_object(st)) {
		log_warn("%s: not a JSON object: ignored", path);
		json_decref(st);
		return NULL;
	}
	return st;
}

static int incus_status(const struct incus_opts *o)
{
	struct qr_error err = {0};
	json_t *inst = NULL, *st, *out, *devs;
	char etag[INCUS_ETAG_MAX];
	const char *dev;
	json_t *d;

	if (get_instance(o, &inst, etag, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	st = load_state(o);
	out = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:o}", "instance", o->vm, "project",
	                o->project, "status",
	                str_or(json_string_value(json_object_get(inst, "status")), "?"), "profile",
	                conf_get(inst, INCUS_KEY_PROFILE), "conf_added",
	                conf_get(inst, INCUS_KEY_CONF)[0] != '\0', "scriptlet",
	                is_our_scriptlet(conf_get(inst, "raw.qemu.scriptlet")), "last_remap",
	                st ? st : json_null());
	/* NICs on io.bus=usb (Incus >= 6.11) are usb-net already, with N queues */
	devs = json_object_get(inst, "expanded_devices");
	json_object_set_new(out, "usb_nics", json_array());
	json_object_foreach(
	        devs, dev,
	        d) if (!strcmp(str_or(json_string_value(json_object_get(d, "io.bus")), ""), "usb"))
	        json_array_append_new(json_object_get(out, "usb_nics"), json_string(dev));
	if (o->json) {
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		json_t *ch = json_object_get(st, "changes"), *c;
		size_t i;

		printf("instance:   %s (%s), project %s\n", o->vm,
		       json_string_value(json_object_get(out, "status")), o->project);
		printf("profile:    %s\n", str_or(conf_get(inst, INCUS_KEY_PROFILE)[0]
		                                          ? conf_get(inst, INCUS_KEY_PROFILE)
		                                          : NULL,
		                                  "(qremap not enabled)"));
		printf("enabled:    raw.qemu.conf %s, scriptlet %s\n",
		       conf_get(inst, INCUS_KEY_CONF)[0] ? "yes" : "no",
		       is_our_scriptlet(conf_get(inst, "raw.qemu.scriptlet")) ? "yes" : "no");
		printf("last remap: %s\n",
		       st ? str_or(json_string_value(json_object_get(st, "outcome")), "?")
		          : "none recorded by qremapd");
		json_array_foreach(ch, i, c) printf(
		        "  %s %s: %s -> %s%s%s\n", json_string_value(json_object_get(c, "kind")),
		        json_string_value(json_object_get(c, "name")),
		        json_string_value(json_object_get(c, "old")),
		        json_string_value(json_object_get(c, "new")),
		        json_object_get(c, "guest_mac") ? ", guest MAC " : "",
		        str_or(json_string_value(json_object_get(c, "guest_mac")), ""));
		json_array_foreach(json_object_get(out, "usb_nics"), i, c) printf(
		        "note: NIC %s uses io.bus=usb: Incus gives its usb-net one tap queue "
		        "per vCPU, and usb-net only reads the first (facts.md §4); a profile "
		        "rule 'to: usb-net' matching it replaces it with a single-queue one\n",
		        json_string_value(c));
	}
	json_decref(out);
	json_decref(inst);
	return EXIT_DONE;
}

/**
 * check_qremapd_socket() - the --qremapd-socket path enable writes
 * @path:	the path
 * @err:	error object
 *
 * It goes into raw.qemu.conf for QEMU to dial: absolute (QEMU doesn't run
 * in our directory), short enough for a unix socket address, and free of
 * what raw.qemu.conf can't carry (coldplug_check_conf_value()).
 *
 * Return: 0 if usable, -1 if not
 */
static int check_qremapd_socket(const char *path, struct qr_error *err)
{
	struct sockaddr_un sa;

	if (coldplug_check_conf_value("--qremapd-socket", path, err) < 0)
		return -1;
	if (path[0] != '/')
		return qr_err_set(err, QR_ERR_INVALID, "--qremapd-socket '%s' is not absolute",
		                  path);
	if (strlen(path) >= sizeof(sa.sun_path))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "--qremapd-socket is longer than a unix socket path can be "
		                  "(%zu bytes)",
		                  sizeof(sa.sun_path) - 1);
	return 0;
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
	static const struct option longopts[] = {
	        {"profile", required_argument, NULL, 'P'},
	        {"project", required_argument, NULL, 'p'},
	        {"incus-socket", required_argument, NULL, 'I'},
	        {"qremapd-socket", required_argument, NULL, 'Q'},
	        {"state-dir", required_argument, NULL, 'S'},
	        {"allow-unremapped", no_argument, NULL, 'A'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct incus_opts o = {.socket = INCUS_DEFAULT_SOCKET,
	                       .project = INCUS_DEFAULT_PROJECT,
	                       .qremapd = "/run/qremap/qremap.sock",
	                       .state_dir = "/run/qremap/state"};
	struct qr_error err = {0};
	const char *sub;
	int opt;

	(void)g;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		incus_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_DONE;
	}
	sub = argv[1];
	/* parse after the subcommand, as if it were the program name; optind 0
	 * makes GNU getopt start afresh (main() has used it already)
	 */
	argc--;
	argv++;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			o.profile = optarg;
			break;
		case 'p':
			o.project = optarg;
			break;
		case 'I':
			o.socket = optarg;
			break;
		case 'Q':
			o.qremapd = optarg;
			break;
		case 'S':
			o.state_dir = optarg;
			break;
		case 'A':
			o.allow_unremapped = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			incus_usage(stdout);
			return EXIT_DONE;
		default:
			incus_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!strcmp(sub, "scriptlet")) {
		struct handshake_opts h = {.allow_unremapped = o.allow_unremapped};

		handshake_scriptlet(stdout, &h);
		return fflush(stdout) == 0 ? EXIT_DONE : EXIT_FAILED;
	}
	if (optind != argc - 1) {
		log_error("incus %s: which instance? (qremap incus %s VM)", sub, sub);
		return EXIT_USAGE;
	}
	o.vm = argv[optind];
	/* before any request: a name Incus wouldn't have could only be an
	 * attempt to reach another endpoint or project through the path
	 */
	if (names_check_instance(o.vm, &err) < 0 || names_check_project(o.project, &err) < 0) {
		log_error("incus %s: %s", sub, err.msg);
		return EXIT_USAGE;
	}
	if (!strcmp(sub, "enable")) {
		if (!o.profile) {
			log_error("incus enable: --profile is required");
			return EXIT_USAGE;
		}
		if (check_qremapd_socket(o.qremapd, &err) < 0) {
			log_error("incus enable: %s", err.msg);
			return EXIT_USAGE;
		}
		return incus_enable(&o);
	}
	if (!strcmp(sub, "disable"))
		return incus_disable(&o);
	if (!strcmp(sub, "status"))
		return incus_status(&o);
	log_error("incus: unknown subcommand '%s' (enable, disable, status, scriptlet)", sub);
	return EXIT_USAGE;
}
