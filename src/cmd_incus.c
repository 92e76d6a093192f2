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
	        "             raw.qemu.conf, -global arguments in raw.qemu, the AppArmor\n"
	        "             rule for qremapd's socket in raw.apparmor, the pre-start\n"
	        "             handshake in raw.qemu.scriptlet, user.qremap.*; content of\n"
	        "             your own, or of your Incus profiles, is kept. Written with\n"
	        "             If-Match on the ETag read.\n"
	        "  disable    remove exactly what enable added\n"
	        "  status     profile, what is enabled, qremapd's last result for VM and the\n"
	        "             devices as the guest sees them\n"
	        "  scriptlet  print the raw.qemu.scriptlet alone\n"
	        "\n"
	        "Defaults: --project $INCUS_PROJECT (as the incus client), else %s,\n"
	        "--incus-socket %s,\n"
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

/* A config value of the instance itself, "" if unset. */
static const char *conf_get(json_t *inst, const char *key)
{
	return str_or(json_string_value(json_object_get(json_object_get(inst, "config"), key)), "");
}

/* A config value as the instance gets it, its profiles' included; "" if unset. */
static const char *conf_expanded(json_t *inst, const char *key)
{
	return str_or(
	        json_string_value(json_object_get(json_object_get(inst, "expanded_config"), key)),
	        "");
}

/**
 * conf_inherited() - whether a key's value comes from one of the instance's profiles
 * @inst:	the instance
 * @key:	config key
 *
 * Incus keeps no empty values, so a key the instance doesn't set itself but
 * its expanded config has came from a profile (ExpandInstanceConfig()).
 *
 * Return: true if @key is set by a profile and not by the instance
 */
static bool conf_inherited(json_t *inst, const char *key)
{
	return !conf_get(inst, key)[0] && conf_expanded(inst, key)[0];
}

/**
 * listed() - whether a space-separated list has a word
 * @list:	"raw.qemu.conf raw.apparmor"
 * @word:	word
 *
 * Return: true if @word is one of @list's words
 */
static bool listed(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");

		if (n == wl && !strncmp(p, word, wl))
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
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

/**
 * struct addition - one config key enable appends to
 * @key:	the key ("raw.qemu.conf")
 * @record:	the user.qremap.* key that records what was appended
 * @base:	its value before: the instance's own, else its profiles'
 * @inherited:	@base came from a profile: the instance had no value
 * @added:	what is appended ("" for nothing: the key isn't written)
 * @value:	@base followed by @added
 */
struct addition {
	const char *key;
	const char *record;
	const char *base;
	bool inherited;
	char *added;
	char *value;
};

/**
 * addition_set() - what to append to a key, after a separator
 * @a:		the key, with @key, @record, @base and @inherited set
 * @text:	what qremap adds ("" for nothing)
 * @lines:	line-based text (raw.qemu.conf, raw.apparmor): separated by a
 *		newline, or an empty line for raw.qemu.conf; else words
 *		(raw.qemu): by a blank
 * @blank_line:	an empty line between the old text and @text
 *
 * Appended exactly this way, the addition is one contiguous run at the end
 * of the value, and incus_strip_added() removes it byte for byte.
 *
 * Return: 0 on success, -1 if out of memory
 */
static int addition_set(struct addition *a, const char *text, bool lines, bool blank_line)
{
	size_t ol = strlen(a->base);
	const char *sep = "";

	if (!text[0]) {
		a->added = strdup("");
		a->value = strdup(a->base);
		return a->added && a->value ? 0 : -1;
	}
	if (ol && lines && a->base[ol - 1] != '\n')
		sep = blank_line ? "\n\n" : "\n";
	else if (ol && lines && blank_line)
		sep = "\n";
	else if (ol && !lines)
		sep = " ";
	if (asprintf(&a->added, "%s%s", sep, text) < 0) {
		a->added = NULL;
		return -1;
	}
	if (asprintf(&a->value, "%s%s", a->base, a->added) < 0) {
		a->value = NULL;
		return -1;
	}
	return 0;
}

/**
 * where_from() - "its own" or "from Incus profile P", for messages
 * @o:		options
 * @inst:	the instance
 * @key:	config key
 * @buf:	output
 * @len:	size of @buf
 *
 * Return: @buf
 */
static const char *where_from(const struct incus_opts *o, json_t *inst, const char *key, char *buf,
                              size_t len)
{
	struct qr_error err = {0};
	char prof[128];
	char *v = NULL;

	if (!conf_inherited(inst, key)) {
		snprintf(buf, len, "the instance's own");
		return buf;
	}
	if (incus_profile_value(o->socket, o->project, inst, key, &v, prof, sizeof(prof), &err) <
	            0 ||
	    !prof[0])
		snprintf(buf, len, "from one of its Incus profiles");
	else
		snprintf(buf, len, "from Incus profile %s", prof);
	free(v);
	return buf;
}

/**
 * conf_collision() - a section qremap would add that raw.qemu.conf already has
 * @base:	raw.qemu.conf before enable
 * @block:	the sections enable appends
 * @section:	output: the first such section's name
 * @len:	size of @section
 *
 * Incus merges sections by name (incus_conf_has_section()): one of qremap's
 * already there, pasted from "qremap config" or carried by a profile, would
 * be changed rather than added, and the result is nothing enable computed.
 *
 * Return: true if one collides
 */
static bool conf_collision(const char *base, const char *block, char *section, size_t len)
{
	for (const char *p = block; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		size_t n;

		if (*p != '[')
			continue;
		n = strcspn(p + 1, "]\n");
		snprintf(section, len, "%.*s", (int)n, p + 1);
		if (incus_conf_has_section(base, section))
			return true;
	}
	return false;
}

/**
 * check_scriptlet() - whether enable may set raw.qemu.scriptlet, and must
 * @o:		options
 * @inst:	the instance
 * @from_profile: set if the instance gets qremap's own scriptlet from a
 *		profile
 *
 * A scriptlet that isn't qremap's, the instance's own or a profile's, is
 * refused: an instance-level one would replace the user's, and a profile's
 * would be shadowed by one set at the instance level.
 *
 * Return: 0 if enable can go on, -1 if refused (said why)
 */
static int check_scriptlet(const struct incus_opts *o, json_t *inst, bool *from_profile)
{
	const char *key = "raw.qemu.scriptlet";
	struct qr_error err = {0};
	char prof[128];
	char *v = NULL;

	*from_profile = false;
	if (conf_get(inst, key)[0]) {
		if (is_our_scriptlet(conf_get(inst, key)))
			return 0;
		log_error("%s already has a raw.qemu.scriptlet of its own; merge 'qremap incus "
		          "scriptlet' into it by hand (one qemu_hook() calling both)",
		          o->vm);
		return -1;
	}
	if (!conf_expanded(inst, key)[0])
		return 0;
	if (is_our_scriptlet(conf_expanded(inst, key))) {
		*from_profile = true;
		return 0;
	}
	if (incus_profile_value(o->socket, o->project, inst, key, &v, prof, sizeof(prof), &err) <
	    0) {
		log_error("%s", err.msg);
		return -1;
	}
	free(v);
	log_error("%s gets a raw.qemu.scriptlet from Incus profile %s; qremap's, set on the "
	          "instance, would shadow it. Merge 'qremap incus scriptlet' into that profile's "
	          "scriptlet by hand (one qemu_hook() calling both), or take the instance off "
	          "the profile, then enable again",
	          o->vm, prof[0] ? prof : "(not found among its profiles)");
	return -1;
}

/**
 * placeholder_bootindexes() - the bootindex each disk's placeholder gets
 * @inst:	the instance
 * @inv:	its inventory (disks in Incus's order)
 * @x:		extras: each disk's bootindex under Incus
 *
 * Incus's own devices take base .. base + N - 1 (N its NICs and disks,
 * deviceBootPriorities()) when it hot-plugs them, after QEMU created the
 * placeholders, and QEMU refuses a bootindex in use. So a placeholder gets
 * its disk's index shifted past all of Incus's, and past any the user's
 * raw.qemu.conf / raw.qemu mention: the placeholders boot in the order
 * Incus would boot their disks, after whatever Incus's devices remain (CD-
 * ROMs, disks and NICs the profile leaves alone).
 *
 * Return: array parallel to @inv's disks (malloc'd), NULL if out of memory
 */
static int *placeholder_bootindexes(json_t *inst, const struct vm_inventory *inv,
                                    const struct incus_extra *x)
{
	int floor = incus_bootindex_floor(conf_expanded(inst, "raw.qemu.conf"),
	                                  conf_expanded(inst, "raw.qemu"));
	int *b = calloc(inv->n_disks + 1, sizeof(*b));

	if (!b)
		return NULL;
	if (floor < x->boot_end)
		floor = x->boot_end;
	for (size_t i = 0; i < inv->n_disks; i++)
		b[i] = floor + x->bootindex[i];
	return b;
}

/**
 * incus_enable() - "qremap incus enable VM": write what the VM needs
 * @o:		options
 *
 * Reads the instance (config and expanded_config, devices, profiles),
 * computes the placeholders for its disks and NICs with their boot indexes,
 * and writes, in one PATCH with If-Match, the additions to raw.qemu.conf,
 * raw.qemu and raw.apparmor (each on top of the instance's own value, else
 * its profiles'), the scriptlet and the user.qremap.* records disable uses.
 *
 * Return: process exit code
 */
static int incus_enable(const struct incus_opts *o)
{
	struct coldplug_opts copts = {.client_monitor = o->qremapd, .reconnect_ms = true};
	struct handshake_opts hopts = {.allow_unremapped = o->allow_unremapped};
	_cleanup_free_ char *block = NULL, *args = NULL, *script = NULL, *disks = NULL;
	_cleanup_free_ int *boot = NULL;
	struct addition adds[] = {
	        {.key = "raw.qemu.conf", .record = INCUS_KEY_CONF},
	        {.key = "raw.qemu", .record = INCUS_KEY_RAW_QEMU},
	        {.key = "raw.apparmor", .record = INCUS_KEY_APPARMOR},
	};
	struct incus_extra x = {0};
	struct qr_error err = {0};
	struct coldplug cp = {0};
	struct vm_inventory inv;
	struct profile prof;
	json_t *inst = NULL, *env = NULL, *changes = NULL;
	char etag[INCUS_ETAG_MAX], path[1024], api[256], stored[80], rule[PATH_MAX + 8],
	        section[256], from[160], inherited[128] = "";
	size_t len = 0;
	const char *status, *qv;
	FILE *m;
	int rc = EXIT_FAILED;
	bool printed, script_from_profile;

	if (profile_resolve(o->profile, path, sizeof(path), &err) < 0 ||
	    profile_load_file(path, &prof, &err) < 0 ||
	    profile_stored_name(o->profile, path, stored, sizeof(stored), &err) < 0 ||
	    incus_apparmor_rule(rule, sizeof(rule), o->qremapd, &err) < 0 ||
	    get_instance(o, &inst, etag, &err) < 0) {
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
	if (conf_get(inst, INCUS_KEY_CONF)[0] || conf_get(inst, INCUS_KEY_PROFILE)[0]) {
		log_error("qremap is already enabled on %s (profile %s); run 'qremap incus disable "
		          "%s' first to change it",
		          o->vm, conf_get(inst, INCUS_KEY_PROFILE), o->vm);
		goto out;
	}
	if (check_scriptlet(o, inst, &script_from_profile) < 0)
		goto out;
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
	if (incus_instance_inventory(o->socket, o->project, o->vm, inst, &inv, &x, &err) < 0) {
		log_error("%s", err.msg);
		inventory_free(&inv);
		goto out_x;
	}
	boot = placeholder_bootindexes(inst, &inv, &x);
	copts.disk_bootindex = boot;
	if (!boot || coldplug_build(&inv, &prof, &copts, &cp, &err) < 0) {
		log_error("%s", boot ? err.msg : "out of memory");
		coldplug_free(&cp);
		inventory_free(&inv);
		goto out_x;
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
	disks = json_dumps(x.disks, JSON_COMPACT | JSON_SORT_KEYS);
	if (!printed || !disks) {
		log_error("out of memory building the configuration of %s", o->vm);
		coldplug_free(&cp);
		goto out_x;
	}
	for (size_t i = 0; i < x.n_notes; i++)
		printf("note: %s\n", x.notes[i]);
	for (size_t i = 0; i < cp.n_notes; i++)
		log_warn("%s", cp.notes[i]);
	coldplug_free(&cp);

	/* each key: the instance's own value, else the one its profiles give
	 * (which an instance value shadows, so it is copied); qremap's part
	 * appended after a separator and recorded exactly, for disable
	 */
	for (size_t i = 0; i < ARRAY_SIZE(adds); i++) {
		struct addition *a = &adds[i];
		const char *text = i == 0 ? block : i == 1 ? args : rule;

		a->inherited = conf_inherited(inst, a->key);
		a->base = a->inherited ? conf_expanded(inst, a->key) : conf_get(inst, a->key);
		if (addition_set(a, text, i != 1, i == 0) < 0)
			goto oom;
	}
	if (conf_collision(adds[0].base, block, section, sizeof(section))) {
		log_error("raw.qemu.conf of %s (%s) already has section [%s], which enable adds "
		          "itself: remove qremap's sections from it (they are what 'qremap config "
		          "--format conf' prints), then enable again",
		          o->vm, where_from(o, inst, "raw.qemu.conf", from, sizeof(from)), section);
		goto out_x;
	}
	changes = json_pack("{s:s, s:s}", INCUS_KEY_PROFILE, stored, INCUS_KEY_DISKS, disks);
	if (!changes)
		goto oom;
	for (size_t i = 0; i < ARRAY_SIZE(adds); i++) {
		const struct addition *a = &adds[i];

		if (!a->added[0])
			continue;
		if (json_object_set_new(changes, a->key, json_string(a->value)) < 0 ||
		    json_object_set_new(changes, a->record, json_string(a->added)) < 0)
			goto oom;
		if (a->inherited)
			snprintf(inherited + strlen(inherited),
			         sizeof(inherited) - strlen(inherited), "%s%s",
			         inherited[0] ? " " : "", a->key);
	}
	if (inherited[0] &&
	    json_object_set_new(changes, INCUS_KEY_INHERITED, json_string(inherited)) < 0)
		goto oom;
	/* qremap's scriptlet from a profile, the same: nothing to shadow it with */
	if (!(script_from_profile && !strcmp(conf_expanded(inst, "raw.qemu.scriptlet"), script)) &&
	    json_object_set_new(changes, "raw.qemu.scriptlet", json_string(script)) < 0)
		goto oom;
	if (patch_config(o, changes, etag, &err) < 0) {
		log_error("%s", err.msg);
		goto out_x;
	}
	printf("enabled qremap on %s with profile %s: %zu bytes added to raw.qemu.conf%s%s, "
	       "pre-start scriptlet set, raw.apparmor += %s\n",
	       o->vm, prof.name, strlen(adds[0].added), args[0] ? ", raw.qemu += " : "", args,
	       rule);
	for (size_t i = 0; i < ARRAY_SIZE(adds); i++)
		if (adds[i].inherited && adds[i].added[0])
			printf("%s came %s: set on the instance as that value plus qremap's; "
			       "disable removes it from the instance again\n",
			       adds[i].key, where_from(o, inst, adds[i].key, from, sizeof(from)));
	printf("qremapd must run with access to %s (it maps %s to profile %s through %s)\n",
	       o->qremapd, o->vm, prof.name, INCUS_KEY_PROFILE);
	rc = EXIT_DONE;
	goto out_x;
oom:
	log_error("out of memory building the configuration of %s", o->vm);
out_x:
	incus_extra_free(&x);
	for (size_t i = 0; i < ARRAY_SIZE(adds); i++) {
		free(adds[i].added);
		free(adds[i].value);
	}
	json_decref(changes);
out:
	json_decref(env);
	json_decref(inst);
	return rc;
}

/**
 * restore_key() - what disable writes to one key enable appended to
 * @o:		options
 * @inst:	the instance
 * @key:	the key ("raw.qemu.conf")
 * @record:	the user.qremap.* key holding what enable appended
 * @changes:	the PATCH body's config, the key added to it if it changes
 *
 * The recorded text is stripped. If the value came from a profile at
 * enable (user.qremap.inherited lists the key) and what remains is what the
 * profiles give now, the instance key is removed, so the instance inherits
 * again exactly as before; if it differs (the instance value or the profile
 * was edited since), what remains stays on the instance, and a warning says
 * so: nothing of the user's is dropped.
 *
 * Return: 0 on success, -1 on failure (said why)
 */
static int restore_key(const struct incus_opts *o, json_t *inst, const char *key,
                       const char *record, json_t *changes)
{
	const char *added = conf_get(inst, record), *cur = conf_get(inst, key);
	_cleanup_free_ char *left = NULL, *prof_val = NULL;
	struct qr_error err = {0};
	char prof[128];

	if (!added[0])
		return 0;
	left = incus_strip_added(cur, added);
	if (!left) {
		log_error("out of memory");
		return -1;
	}
	if (!strcmp(left, cur)) {
		log_warn("%s no longer contains what qremap added (edited since?); left as it is",
		         key);
		return 0;
	}
	if (listed(conf_get(inst, INCUS_KEY_INHERITED), key)) {
		if (incus_profile_value(o->socket, o->project, inst, key, &prof_val, prof,
		                        sizeof(prof), &err) < 0) {
			log_error("%s", err.msg);
			return -1;
		}
		if (!strcmp(left, prof_val))
			return json_object_set_new(changes, key, json_string("")) < 0 ? -1 : 0;
		log_warn("%s: without qremap's part it is no longer what %s gives (edited since "
		         "enable?); kept on the instance",
		         key, prof[0] ? prof : "the instance's profiles");
	}
	return json_object_set_new(changes, key, json_string(left)) < 0 ? -1 : 0;
}

/**
 * incus_disable() - "qremap incus disable VM": remove exactly what enable added
 * @o:		options
 *
 * Return: process exit code (EXIT_NOTHING if qremap isn't enabled)
 */
static int incus_disable(const struct incus_opts *o)
{
	static const char *const records[][2] = {
	        {"raw.qemu.conf", INCUS_KEY_CONF},
	        {"raw.qemu", INCUS_KEY_RAW_QEMU},
	        {"raw.apparmor", INCUS_KEY_APPARMOR},
	};
	static const char *const ours[] = {INCUS_KEY_PROFILE,  INCUS_KEY_CONF,
	                                   INCUS_KEY_RAW_QEMU, INCUS_KEY_APPARMOR,
	                                   INCUS_KEY_DISKS,    INCUS_KEY_INHERITED};
	struct qr_error err = {0};
	json_t *inst = NULL, *changes = NULL;
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
	changes = json_object();
	if (!changes)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(records); i++)
		if (restore_key(o, inst, records[i][0], records[i][1], changes) < 0)
			goto out;
	for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
		if (json_object_set_new(changes, ours[i], json_string("")) < 0)
			goto out;
	if (is_our_scriptlet(conf_get(inst, "raw.qemu.scriptlet")) &&
	    json_object_set_new(changes, "raw.qemu.scriptlet", json_string("")) < 0)
		goto out;
	if (patch_config(o, changes, etag, &err) < 0) {
		log_error("%s", err.msg);
		goto out;
	}
	printf("disabled qremap on %s: its additions to raw.qemu.conf, raw.qemu, raw.apparmor "
	       "and raw.qemu.scriptlet are removed\n",
	       o->vm);
	rc = EXIT_DONE;
out:
	json_decref(changes);
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

/**
 * disk_checks() - the instance's disks now against the sizes enable recorded
 * @o:		options
 * @inst:	the instance
 *
 * Placeholders are sized at enable (user.qremap.disks). A host file or
 * volume resized since, or a disk added or removed, leaves them wrong for
 * the next start, where the planner refuses: this says so beforehand, and
 * what to do. Sizes are read the way enable reads them.
 *
 * Return: array of messages (new reference), empty if all match or nothing
 *	   is recorded
 */
static json_t *disk_checks(const struct incus_opts *o, json_t *inst)
{
	const char *text = conf_get(inst, INCUS_KEY_DISKS), *name;
	json_t *out = json_array(), *rec, *was, *now;
	struct incus_extra x = {0};
	struct qr_error err = {0};
	struct vm_inventory inv;
	json_error_t jerr;

	if (!out || !text[0])
		return out;
	rec = json_loads(text, 0, &jerr);
	if (!json_is_object(rec)) {
		json_array_append_new(out, json_sprintf("%s is not what enable writes: can't "
		                                        "re-check the disks",
		                                        INCUS_KEY_DISKS));
		json_decref(rec);
		return out;
	}
	if (incus_instance_inventory(o->socket, o->project, o->vm, inst, &inv, &x, &err) < 0) {
		json_array_append_new(out, json_sprintf("can't re-check the disks: %s", err.msg));
		goto done;
	}
	json_object_foreach(rec, name, was)
	{
		json_int_t a = json_integer_value(json_object_get(was, "size")), b;

		now = json_object_get(x.disks, name);
		if (!now) {
			json_array_append_new(out,
			                      json_sprintf("disk %s: gone since enable", name));
			continue;
		}
		b = json_integer_value(json_object_get(now, "size"));
		if (a != b)
			json_array_append_new(out, json_sprintf("disk %s: %" JSON_INTEGER_FORMAT
			                                        " bytes now, its placeholder was "
			                                        "made for %" JSON_INTEGER_FORMAT,
			                                        name, b, a));
	}
	json_object_foreach(x.disks, name, now)
	{
		if (!json_object_get(rec, name))
			json_array_append_new(
			        out,
			        json_sprintf("disk %s: added since enable, it has no placeholder",
			                     name));
	}
done:
	inventory_free(&inv);
	incus_extra_free(&x);
	json_decref(rec);
	return out;
}

/**
 * incus_status() - "qremap incus status VM": what is enabled, disks re-checked,
 *		    qremapd's last result
 * @o:		options
 *
 * Return: process exit code
 */
static int incus_status(const struct incus_opts *o)
{
	struct qr_error err = {0};
	json_t *inst = NULL, *st, *out, *devs, *checks;
	char etag[INCUS_ETAG_MAX];
	const char *dev;
	json_t *d;

	if (get_instance(o, &inst, etag, &err) < 0) {
		log_error("%s", err.msg);
		return EXIT_FAILED;
	}
	st = load_state(o);
	checks = disk_checks(o, inst);
	out = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:o, s:o}", "instance", o->vm,
	                "project", o->project, "status",
	                str_or(json_string_value(json_object_get(inst, "status")), "?"), "profile",
	                conf_get(inst, INCUS_KEY_PROFILE), "conf_added",
	                conf_get(inst, INCUS_KEY_CONF)[0] != '\0', "scriptlet",
	                is_our_scriptlet(conf_expanded(inst, "raw.qemu.scriptlet")), "apparmor",
	                conf_get(inst, INCUS_KEY_APPARMOR)[0] != '\0', "inherited",
	                conf_get(inst, INCUS_KEY_INHERITED), "disk_checks",
	                checks ? checks : json_array(), "last_remap", st ? st : json_null());
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
		printf("enabled:    raw.qemu.conf %s, scriptlet %s, raw.apparmor %s\n",
		       conf_get(inst, INCUS_KEY_CONF)[0] ? "yes" : "no",
		       is_our_scriptlet(conf_expanded(inst, "raw.qemu.scriptlet")) ? "yes" : "no",
		       conf_get(inst, INCUS_KEY_APPARMOR)[0] ? "yes" : "no");
		if (conf_get(inst, INCUS_KEY_INHERITED)[0])
			printf("inherited:  %s (from profiles; disable removes them from the "
			       "instance)\n",
			       conf_get(inst, INCUS_KEY_INHERITED));
		json_array_foreach(json_object_get(out, "disk_checks"), i, c)
		        printf("disks:      %s: run 'qremap incus disable %s' and enable again\n",
		               json_string_value(c), o->vm);
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
		        "per vCPU, and usb-net only reads the first (docs/facts.md §4); a profile "
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
	const char *sub, *env_project;
	int opt;

	(void)g;
	/* the incus client's own default (cmd/incus/main.go); checked below
	 * like --project
	 */
	env_project = getenv("INCUS_PROJECT");
	if (env_project && env_project[0])
		o.project = env_project;
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
