// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - profile.c: load, check and match per-guest-OS profiles (YAML)
 *
 * Loading runs in two steps. libyaml's event parser first builds a small
 * tree of scalars, lists and mappings, each node remembering where it
 * started (src/yaml_tree.c, which also refuses the YAML features profiles
 * don't use). The tree is then checked here against schema version 1 and
 * copied into struct profile. Every message has the form
 * "FILE:LINE:COL: what is wrong; how to fix it", and only the first problem
 * is reported: later ones are often consequences of it.
 *
 * The schema is documented in docs/profiles.md; keep the two in step.
 */

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "qremap/profile.h"
#include "yaml_tree.h"

/* Profiles are a few hundred bytes; the cap only bounds memory for junk.
 * size_t, as what it is compared with and added to.
 */
#define PROFILE_MAX_BYTES ((size_t)1024 * 1024)

#define TIMEOUT_MIN_MS 1
#define TIMEOUT_MAX_MS 600000
#define USB_PORT_MIN   1
#define USB_PORT_MAX   255

#define QMP_TIMEOUT_DEFAULT_MS    10000
#define UNPLUG_TIMEOUT_DEFAULT_MS 5000

/**
 * struct field - a key a mapping may hold
 * @key:	the key
 * @example:	a valid "key: value" line, quoted in messages as the fix
 */
struct field {
	const char *key;
	const char *example;
};

/**
 * struct slot - a key found in a mapping, and its value
 * @key:	key node, NULL if the key is absent
 * @val:	value node, NULL if the key is absent
 */
struct slot {
	const struct ynode *key;
	const struct ynode *val;
};

/**
 * is_null() - is a node YAML's null ("key:" with nothing after it, "~")
 * @n:	node
 *
 * Return: true for a plain null scalar
 */
static bool is_null(const struct ynode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->kind != Y_SCALAR || n->quoted)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(n->value, nulls[i]))
			return true;
	return false;
}

/**
 * kind_str() - how a node's shape reads in a message ("not a list")
 * @n:	node
 *
 * Return: static string with an article
 */
static const char *kind_str(const struct ynode *n)
{
	if (n->kind == Y_SEQ)
		return "a list";
	if (n->kind == Y_MAP)
		return "a mapping";
	return is_null(n) ? "empty" : "a single value";
}

/**
 * edit_distance() - optimal string alignment distance, capped
 * @a:	first string
 * @b:	second string
 *
 * Levenshtein plus transpositions ("nsic" is one edit from "nics"), the
 * typos people actually make in keys.
 *
 * Return: the distance, or INT_MAX if a string is too long to bother
 */
static int edit_distance(const char *a, const char *b)
{
	enum { MAXLEN = 64 };
	int d[MAXLEN + 1][MAXLEN + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > MAXLEN || lb > MAXLEN)
		return INT_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/**
 * join_keys() - "a, b, c" from a field table, for messages
 * @fields:	table
 * @n:		entries in @fields
 * @buf:	output
 * @size:	size of @buf
 *
 * Return: @buf
 */
static const char *join_keys(const struct field *fields, size_t n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
		                        fields[i].key);
	return buf;
}

/**
 * map_fields() - sort a mapping's entries into the slots of known keys
 * @ld:		loader
 * @map:	mapping node
 * @fields:	keys this mapping may hold
 * @n:		entries in @fields
 * @where:	"at the top level", "in a nics rule", ... for messages
 * @slots:	one per field, filled; absent keys leave {NULL, NULL}
 *
 * Return: 0, or -1 on a key that is not a string, unknown or repeated
 */
static int map_fields(const struct loader *ld, const struct ynode *map, const struct field *fields,
                      size_t n, const char *where, struct slot *slots)
{
	memset(slots, 0, n * sizeof(*slots));
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *k = map->kids[i], *v = map->kids[i + 1];
		const char *best = NULL;
		int best_d = 3;
		char keys[256];
		size_t f;

		if (k->kind != Y_SCALAR)
			return ytree_err(ld, k->at,
			                 "a key %s is %s; keys are plain words, as in %s", where,
			                 kind_str(k), fields[0].example);
		for (f = 0; f < n; f++)
			if (!strcmp(k->value, fields[f].key))
				break;
		if (f < n) {
			if (slots[f].key)
				return ytree_err(ld, k->at,
				                 "duplicate key \"%s\" (first at line %u); "
				                 "remove one of them",
				                 fields[f].key, slots[f].key->at.line);
			slots[f].key = k;
			slots[f].val = v;
			continue;
		}
		for (f = 0; f < n; f++) {
			int d = edit_distance(k->value, fields[f].key);

			if (d < best_d) {
				best_d = d;
				best = fields[f].key;
			}
		}
		if (best)
			return ytree_err(ld, k->at,
			                 "unknown key \"%.64s\" %s; did you mean \"%s\"?", k->value,
			                 where, best);
		return ytree_err(ld, k->at, "unknown key \"%.64s\" %s; allowed keys: %s", k->value,
		                 where, join_keys(fields, n, keys, sizeof(keys)));
	}
	return 0;
}

/**
 * want_kind() - require a value to be a list, a mapping or a string
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description, for the message
 * @kind:	wanted kind
 *
 * Return: 0 if @s's value has @kind (and, for scalars, is not null), else -1
 */
static int want_kind(const struct loader *ld, const struct slot *s, const struct field *f,
                     enum ynode_kind kind)
{
	static const char *const names[] = {
	        [Y_SCALAR] = "a string",
	        [Y_SEQ] = "a list",
	        [Y_MAP] = "a mapping",
	};

	if (s->val->kind == kind && !is_null(s->val))
		return 0;
	return ytree_err(ld, s->val->at, "\"%s\" must be %s, not %s; for example: %s", f->key,
	                 names[kind], kind_str(s->val), f->example);
}

/**
 * get_string() - copy a string value into a fixed buffer
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @dst:	destination
 * @size:	size of @dst
 *
 * Return: 0, or -1 if the value is not a string or does not fit
 */
static int get_string(const struct loader *ld, const struct slot *s, const struct field *f,
                      char *dst, size_t size)
{
	if (want_kind(ld, s, f, Y_SCALAR) < 0)
		return -1;
	if (strlen(s->val->value) != s->val->len)
		return ytree_err(ld, s->val->at,
		                 "\"%s\" contains a NUL character; remove the \"\\0\"", f->key);
	if (!str_copy(dst, size, s->val->value))
		return ytree_err(ld, s->val->at, "\"%s\" is longer than %zu characters; shorten it",
		                 f->key, size - 1);
	return 0;
}

/**
 * node_uint() - read an integer scalar within bounds
 * @ld:		loader
 * @n:		scalar node
 * @f:		field description
 * @min:	smallest accepted value
 * @max:	largest accepted value
 * @out:	the value; 0 on failure
 *
 * Only plain decimal digits are accepted: "0x10", "1e3", "+5" and quoted
 * numbers are refused rather than guessed at. A minus sign is recognised
 * only to call the value out of range instead of "not an integer".
 *
 * Return: 0, or -1 with the error filled
 */
static int node_uint(const struct loader *ld, const struct ynode *n, const struct field *f,
                     unsigned long long min, unsigned long long max, unsigned long long *out)
{
	const char *digits = n->value;
	unsigned long long v;
	bool neg = false;

	/* Defined on every path: ytree_err() is variadic, so the static analyzer
	 * doesn't step into it and can't know it always returns -1; it would
	 * follow callers that read @out after a failure.
	 */
	*out = 0;
	if (n->kind != Y_SCALAR || is_null(n))
		return ytree_err(ld, n->at, "\"%s\" must be an integer, not %s; for example: %s",
		                 f->key, kind_str(n), f->example);
	if (!n->quoted && *digits == '-') {
		neg = true;
		digits++;
	}
	if (!*digits || strspn(digits, "0123456789") != strlen(digits) ||
	    strlen(n->value) != n->len) {
		return ytree_err(ld, n->at,
		                 "\"%s\" value \"%.40s\" is not an integer; for example: %s",
		                 f->key, n->value, f->example);
	}
	if (n->quoted)
		return ytree_err(ld, n->at,
		                 "\"%s\" value \"%.40s\" is quoted, so it is a string; "
		                 "remove the quotes",
		                 f->key, n->value);
	if (neg || parse_uint(digits, max, &v) < 0 || v < min)
		return ytree_err(ld, n->at,
		                 "\"%s\" value %.40s is out of range; use a whole number "
		                 "from %llu to %llu",
		                 f->key, n->value, min, max);
	*out = v;
	return 0;
}

/**
 * get_int() - read an integer value within bounds into an int
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @min:	smallest accepted value
 * @max:	largest accepted value, at most INT_MAX
 * @out:	the value
 *
 * Return: 0, or -1 with the error filled
 */
static int get_int(const struct loader *ld, const struct slot *s, const struct field *f, int min,
                   int max, int *out)
{
	unsigned long long v;

	if (node_uint(ld, s->val, f, (unsigned long long)min, (unsigned long long)max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/**
 * get_enum() - map a string value to an enum by its YAML spelling
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @names:	spellings, indexed by enum value; the message lists them in this
 *		order
 * @n:		entries in @names
 * @out:	index of the matching spelling
 *
 * Return: 0, or -1 with the error filled
 */
static int get_enum(const struct loader *ld, const struct slot *s, const struct field *f,
                    const char *const *names, size_t n, int *out)
{
	char allowed[256];
	size_t off = 0;

	if (want_kind(ld, s, f, Y_SCALAR) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(s->val->value, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	allowed[0] = '\0';
	for (size_t i = 0; i < n && off < sizeof(allowed); i++)
		off += (size_t)snprintf(allowed + off, sizeof(allowed) - off, "%s%s", i ? ", " : "",
		                        names[i]);
	return ytree_err(ld, s->val->at, "\"%s\" value \"%.40s\" is not valid; use one of: %s",
	                 f->key, s->val->value, allowed);
}

/**
 * valid_qdev_id() - would QEMU accept this as a device id
 * @s:	candidate
 *
 * Same rule as QEMU's id_wellformed(): a letter, then letters, digits,
 * '-', '.', '_'.
 *
 * Return: true if it would
 */
static bool valid_qdev_id(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		          (*s >= '0' && *s <= '9') || strchr("-._", *s);

		if (!ok)
			return false;
	}
	return true;
}

/**
 * check_qdev_id() - complain about a string that is not a QEMU id
 * @ld:		loader
 * @n:		node holding the id
 * @f:		field description
 *
 * Return: 0 if the id is well formed (or "", the default), else -1
 */
static int check_qdev_id(const struct loader *ld, const struct ynode *n, const struct field *f)
{
	if (!n->value[0] || valid_qdev_id(n->value))
		return 0;
	return ytree_err(ld, n->at,
	                 "\"%s\" value \"%.64s\" is not a valid QEMU id; ids start with a "
	                 "letter and hold only letters, digits, \"-\", \".\" and \"_\"",
	                 f->key, n->value);
}

/**
 * valid_name() - is this a valid profile name: [a-z0-9][a-z0-9._-]*
 * @s:	candidate, already known to be shorter than PROFILE_NAME_MAX; may be ""
 *
 * Names end up in file names and log lines, hence the small alphabet.
 *
 * Return: true if it is
 */
static bool valid_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

/**
 * check_not_for() - refuse a key that the rule's target ignores
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @target:	YAML spelling of the rule's target
 * @needs:	YAML spelling of the target the key belongs to
 *
 * A key that would be silently ignored is a misunderstanding waiting to
 * happen ("I set ports, why does it stay virtio?"), so it is an error.
 *
 * Return: 0 if the key is absent, else -1
 */
static int check_not_for(const struct loader *ld, const struct slot *s, const struct field *f,
                         const char *target, const char *needs)
{
	if (!s->key)
		return 0;
	return ytree_err(ld, s->key->at,
	                 "\"%s\" does not apply to \"to: %s\"; remove it, or set "
	                 "\"to: %s\"",
	                 f->key, target, needs);
}

/**
 * missing() - report a required key that is absent
 * @ld:		loader
 * @at:		start of the mapping that lacks it
 * @f:		field description
 * @where:	"at the top level", "in a nics rule", ...
 *
 * Return: -1
 */
static int missing(const struct loader *ld, struct profile_mark at, const struct field *f,
                   const char *where)
{
	return ytree_err(ld, at, "missing required key \"%s\" %s; add it, for example: %s", f->key,
	                 where, f->example);
}

/**
 * get_list() - require a list value of at most @max entries
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @max:	most entries allowed
 * @what:	what an entry is, plural, for the message ("nics rules")
 * @fix:	how to get under @max, for the message
 *
 * Return: 0, or -1 with the error filled
 */
static int get_list(const struct loader *ld, const struct slot *s, const struct field *f,
                    size_t max, const char *what, const char *fix)
{
	if (want_kind(ld, s, f, Y_SEQ) < 0)
		return -1;
	if (s->val->n > max)
		return ytree_err(ld, s->val->kids[max]->at, "more than %zu %s; %s", max, what, fix);
	return 0;
}

static const char *const nic_target_names[] = {
        [NIC_TO_LEAVE] = "leave",
        [NIC_TO_USB_NET] = "usb-net",
        [NIC_TO_HUB] = "hub",
};
static const char *const disk_target_names[] = {
        [DISK_TO_LEAVE] = "leave",
        [DISK_TO_SATA] = "sata",
        [DISK_TO_VIRTIO_BLK] = "virtio-blk",
        [DISK_TO_USB_STORAGE] = "usb-storage",
};
static const char *const mac_policy_names[] = {
        [MAC_REFUSE] = "refuse",
        [MAC_WARN] = "warn",
};
static const char *const acpi_names[] = {
        [ACPI_VERIFY_AFTER_RESET] = "verify-after-reset",
        [ACPI_REFUSE] = "refuse",
};
/* NIC models a hub placeholder can be; all can sit on a hub port. */
static const char *const nic_model_names[] = {
        "e1000", "e1000-82545em", "e1000e", "vmxnet3", "rtl8139", "virtio-net-pci", "usb-net",
};

/* Messages list enum values in this order: the useful one first. */
static const char *const nic_target_order[] = {"usb-net", "hub", "leave"};
static const char *const disk_target_order[] = {"sata", "virtio-blk", "usb-storage", "leave"};

/**
 * get_target() - read "to:", listed in @order but stored by @names index
 * @ld:		loader
 * @s:		slot of "to"
 * @f:		field description
 * @order:	spellings in the order messages list them
 * @names:	spellings indexed by enum value
 * @n:		entries in both
 * @out:	enum value
 *
 * Return: 0, or -1 with the error filled
 */
static int get_target(const struct loader *ld, const struct slot *s, const struct field *f,
                      const char *const *order, const char *const *names, size_t n, int *out)
{
	int i = 0;

	if (get_enum(ld, s, f, order, n, &i) < 0)
		return -1;
	for (size_t j = 0; j < n; j++)
		if (!strcmp(order[i], names[j]))
			*out = (int)j;
	return 0;
}

/**
 * get_match() - read a rule's "match:" glob
 * @ld:		loader
 * @s:		slot of "match"
 * @f:		field description
 * @dst:	destination, PROFILE_ID_MAX bytes
 *
 * Return: 0, or -1 with the error filled
 */
static int get_match(const struct loader *ld, const struct slot *s, const struct field *f,
                     char *dst)
{
	if (get_string(ld, s, f, dst, PROFILE_ID_MAX) < 0)
		return -1;
	if (!dst[0])
		return ytree_err(ld, s->val->at,
		                 "\"match\" is empty; use \"*\" to match every device");
	return 0;
}

enum { NIC_MATCH, NIC_TO, NIC_XHCI, NIC_PORTS, NIC_MAC, NIC_PH, NIC_MODEL, NIC_MISMATCH, NIC_N };
static const struct field nic_fields[NIC_N] = {
        [NIC_MATCH] = {"match", "match: \"*\""},
        [NIC_TO] = {"to", "to: usb-net"},
        [NIC_XHCI] = {"xhci", "xhci: qemu_usb"},
        [NIC_PORTS] = {"ports", "ports: [4, 5]"},
        [NIC_MAC] = {"mac_rewritten", "mac_rewritten: refuse"},
        [NIC_PH] = {"placeholders", "placeholders: [qremap_nic0]"},
        [NIC_MODEL] = {"model", "model: vmxnet3"},
        [NIC_MISMATCH] = {"mac_mismatch", "mac_mismatch: refuse"},
};

/*
 * Which optional keys each target takes, indexed [key][target]: a key that
 * would be silently ignored is an error (see check_not_for()).
 */
static const bool nic_key_applies[NIC_N][4] = {
        [NIC_XHCI] = {[NIC_TO_USB_NET] = true}, [NIC_PORTS] = {[NIC_TO_USB_NET] = true},
        [NIC_MAC] = {[NIC_TO_USB_NET] = true},  [NIC_PH] = {[NIC_TO_HUB] = true},
        [NIC_MODEL] = {[NIC_TO_HUB] = true},    [NIC_MISMATCH] = {[NIC_TO_HUB] = true},
};

/**
 * get_id() - read an optional qdev id ("" = the default)
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @dst:	destination, PROFILE_ID_MAX bytes
 *
 * Return: 0, or -1 with the error filled
 */
static int get_id(const struct loader *ld, const struct slot *s, const struct field *f, char *dst)
{
	if (!s->key)
		return 0;
	if (get_string(ld, s, f, dst, PROFILE_ID_MAX) < 0 || check_qdev_id(ld, s->val, f) < 0)
		return -1;
	return 0;
}

/**
 * get_ports() - read an optional list of USB port numbers, no repeats
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @ports:	destination, PROFILE_MAX_PORTS entries
 * @n:		number stored
 *
 * Return: 0, or -1 with the error filled
 */
static int get_ports(const struct loader *ld, const struct slot *s, const struct field *f,
                     unsigned *ports, size_t *n)
{
	const struct ynode *l = s->val;

	if (!s->key)
		return 0;
	if (get_list(ld, s, f, PROFILE_MAX_PORTS, "\"ports\"", "list fewer") < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		unsigned long long p;

		if (node_uint(ld, l->kids[i], f, USB_PORT_MIN, USB_PORT_MAX, &p) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (ports[j] == p)
				return ytree_err(
				        ld, l->kids[i]->at,
				        "port %llu is listed twice in \"ports\"; remove one", p);
		ports[(*n)++] = (unsigned)p;
	}
	return 0;
}

/**
 * get_placeholders() - read an optional list of placeholder qdev ids, no repeats
 * @ld:		loader
 * @s:		slot of the key
 * @f:		field description
 * @dst:	destination, PROFILE_MAX_PLACEHOLDERS ids
 * @n:		number stored
 *
 * Return: 0, or -1 with the error filled
 */
static int get_placeholders(const struct loader *ld, const struct slot *s, const struct field *f,
                            char (*dst)[PROFILE_ID_MAX], size_t *n)
{
	const struct ynode *l = s->val;

	if (!s->key)
		return 0;
	if (get_list(ld, s, f, PROFILE_MAX_PLACEHOLDERS, "\"placeholders\"", "list fewer") < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		struct slot e = {s->key, l->kids[i]};
		char *d = dst[*n];

		if (get_string(ld, &e, f, d, PROFILE_ID_MAX) < 0)
			return -1;
		/* "" means "the default" for ahci:, but here it names nothing */
		if (!d[0] || !valid_qdev_id(d))
			return ytree_err(ld, l->kids[i]->at,
			                 "\"placeholders\" value \"%.64s\" is not a valid QEMU "
			                 "id; ids start with a letter and hold only letters, "
			                 "digits, \"-\", \".\" and \"_\"",
			                 d);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(dst[j], d))
				return ytree_err(ld, l->kids[i]->at,
				                 "placeholder \"%s\" is listed twice in "
				                 "\"placeholders\"; remove one",
				                 d);
		(*n)++;
	}
	return 0;
}

/**
 * check_keys_apply() - refuse optional keys the rule's target doesn't use
 * @ld:		loader
 * @s:		slots of the rule
 * @fields:	field descriptions
 * @applies:	[key][target] table
 * @first:	first optional key index
 * @n:		number of keys
 * @target:	the rule's target
 * @names:	target spellings by enum value
 * @n_targets:	number of targets
 *
 * Return: 0, or -1 with the error filled
 */
static int check_keys_apply(const struct loader *ld, const struct slot *s,
                            const struct field *fields, const bool (*applies)[4], int first, int n,
                            int target, const char *const *names, size_t n_targets)
{
	for (int k = first; k < n; k++) {
		char needs[64] = "";

		if (!s[k].key || applies[k][target])
			continue;
		for (size_t t = 0; t < n_targets; t++)
			if (applies[k][t]) {
				size_t l = strlen(needs);

				snprintf(needs + l, sizeof(needs) - l, "%s%s",
				         l ? "\" or \"to: " : "", names[t]);
			}
		return check_not_for(ld, &s[k], &fields[k], names[target], needs);
	}
	return 0;
}

/**
 * load_nic_rule() - check one entry of "nics:" and store it
 * @ld:		loader
 * @n:		the entry
 * @r:		rule to fill
 *
 * Return: 0, or -1 with the error filled
 */
static int load_nic_rule(const struct loader *ld, const struct ynode *n, struct nic_rule *r)
{
	static const char where[] = "in a nics rule";
	struct slot s[NIC_N];
	int v = 0;

	if (n->kind != Y_MAP)
		return ytree_err(ld, n->at,
		                 "a nics rule must be a mapping, not %s; for example: "
		                 "- {match: \"*\", to: usb-net}",
		                 kind_str(n));
	if (map_fields(ld, n, nic_fields, NIC_N, where, s) < 0)
		return -1;
	r->at = n->at;
	if (!s[NIC_MATCH].key)
		return missing(ld, n->at, &nic_fields[NIC_MATCH], where);
	if (!s[NIC_TO].key)
		return missing(ld, n->at, &nic_fields[NIC_TO], where);
	if (get_match(ld, &s[NIC_MATCH], &nic_fields[NIC_MATCH], r->match) < 0)
		return -1;
	if (get_target(ld, &s[NIC_TO], &nic_fields[NIC_TO], nic_target_order, nic_target_names,
	               ARRAY_SIZE(nic_target_names), &v) < 0)
		return -1;
	r->target = (enum nic_target)v;
	if (check_keys_apply(ld, s, nic_fields, nic_key_applies, NIC_XHCI, NIC_N, r->target,
	                     nic_target_names, ARRAY_SIZE(nic_target_names)) < 0)
		return -1;

	if (get_id(ld, &s[NIC_XHCI], &nic_fields[NIC_XHCI], r->xhci) < 0 ||
	    get_ports(ld, &s[NIC_PORTS], &nic_fields[NIC_PORTS], r->ports, &r->n_ports) < 0 ||
	    get_placeholders(ld, &s[NIC_PH], &nic_fields[NIC_PH], r->placeholders,
	                     &r->n_placeholders) < 0)
		return -1;
	if (s[NIC_MAC].key) {
		if (get_enum(ld, &s[NIC_MAC], &nic_fields[NIC_MAC], mac_policy_names,
		             ARRAY_SIZE(mac_policy_names), &v) < 0)
			return -1;
		r->mac_policy = (enum mac_policy)v;
	}
	if (s[NIC_MISMATCH].key) {
		if (get_enum(ld, &s[NIC_MISMATCH], &nic_fields[NIC_MISMATCH], mac_policy_names,
		             ARRAY_SIZE(mac_policy_names), &v) < 0)
			return -1;
		r->mac_mismatch = (enum mac_policy)v;
	}
	if (s[NIC_MODEL].key) {
		if (get_enum(ld, &s[NIC_MODEL], &nic_fields[NIC_MODEL], nic_model_names,
		             ARRAY_SIZE(nic_model_names), &v) < 0)
			return -1;
		snprintf(r->model, sizeof(r->model), "%s", nic_model_names[v]);
	}
	return 0;
}

enum { DISK_MATCH, DISK_TO, DISK_AHCI, DISK_PH, DISK_XHCI, DISK_PORTS, DISK_N };
static const struct field disk_fields[DISK_N] = {
        [DISK_MATCH] = {"match", "match: \"*\""},
        [DISK_TO] = {"to", "to: sata"},
        [DISK_AHCI] = {"ahci", "ahci: qremap_ahci"},
        [DISK_PH] = {"placeholders", "placeholders: [qremap_sata0, qremap_sata1]"},
        [DISK_XHCI] = {"xhci", "xhci: qemu_usb"},
        [DISK_PORTS] = {"ports", "ports: [5]"},
};

static const bool disk_key_applies[DISK_N][4] = {
        [DISK_AHCI] = {[DISK_TO_SATA] = true},
        [DISK_PH] = {[DISK_TO_SATA] = true, [DISK_TO_VIRTIO_BLK] = true},
        [DISK_XHCI] = {[DISK_TO_USB_STORAGE] = true},
        [DISK_PORTS] = {[DISK_TO_USB_STORAGE] = true},
};

/**
 * load_disk_rule() - check one entry of "disks:" and store it
 * @ld:		loader
 * @n:		the entry
 * @r:		rule to fill
 *
 * Return: 0, or -1 with the error filled
 */
static int load_disk_rule(const struct loader *ld, const struct ynode *n, struct disk_rule *r)
{
	static const char where[] = "in a disks rule";
	struct slot s[DISK_N];
	int v = 0;

	if (n->kind != Y_MAP)
		return ytree_err(ld, n->at,
		                 "a disks rule must be a mapping, not %s; for example: "
		                 "- {match: \"*\", to: sata}",
		                 kind_str(n));
	if (map_fields(ld, n, disk_fields, DISK_N, where, s) < 0)
		return -1;
	r->at = n->at;
	if (!s[DISK_MATCH].key)
		return missing(ld, n->at, &disk_fields[DISK_MATCH], where);
	if (!s[DISK_TO].key)
		return missing(ld, n->at, &disk_fields[DISK_TO], where);
	if (get_match(ld, &s[DISK_MATCH], &disk_fields[DISK_MATCH], r->match) < 0)
		return -1;
	if (get_target(ld, &s[DISK_TO], &disk_fields[DISK_TO], disk_target_order, disk_target_names,
	               ARRAY_SIZE(disk_target_names), &v) < 0)
		return -1;
	r->target = (enum disk_target)v;
	if (check_keys_apply(ld, s, disk_fields, disk_key_applies, DISK_AHCI, DISK_N, r->target,
	                     disk_target_names, ARRAY_SIZE(disk_target_names)) < 0)
		return -1;
	if (get_id(ld, &s[DISK_AHCI], &disk_fields[DISK_AHCI], r->ahci) < 0 ||
	    get_id(ld, &s[DISK_XHCI], &disk_fields[DISK_XHCI], r->xhci) < 0 ||
	    get_ports(ld, &s[DISK_PORTS], &disk_fields[DISK_PORTS], r->ports, &r->n_ports) < 0 ||
	    get_placeholders(ld, &s[DISK_PH], &disk_fields[DISK_PH], r->placeholders,
	                     &r->n_placeholders) < 0)
		return -1;
	return 0;
}

enum { TOP_VERSION, TOP_NAME, TOP_DESC, TOP_NICS, TOP_DISKS, TOP_UNPLUG, TOP_TIMEOUTS, TOP_N };
static const struct field top_fields[TOP_N] = {
        [TOP_VERSION] = {"qremap_profile", "qremap_profile: 1"},
        [TOP_NAME] = {"name", "name: macos"},
        [TOP_DESC] = {"description", "description: what this profile is for"},
        [TOP_NICS] = {"nics", "nics: [{match: \"*\", to: usb-net}]"},
        [TOP_DISKS] = {"disks", "disks: [{match: \"*\", to: sata}]"},
        [TOP_UNPLUG] = {"unplug", "unplug: {acpi: verify-after-reset}"},
        [TOP_TIMEOUTS] = {"timeouts", "timeouts: {qmp_ms: 10000, unplug_ms: 5000}"},
};

enum { UNPLUG_ACPI, UNPLUG_N };
static const struct field unplug_fields[UNPLUG_N] = {
        [UNPLUG_ACPI] = {"acpi", "acpi: verify-after-reset"},
};

enum { TO_QMP, TO_UNPLUG, TO_N };
static const struct field timeout_fields[TO_N] = {
        [TO_QMP] = {"qmp_ms", "qmp_ms: 10000"},
        [TO_UNPLUG] = {"unplug_ms", "unplug_ms: 5000"},
};

/**
 * check_version() - find and check "qremap_profile:" before anything else
 * @ld:		loader
 * @top:	top-level mapping
 *
 * This runs before the strict key check: a profile written for a later
 * schema may well use keys this qremap doesn't know, and "wrong version" is
 * then the useful message, not "unknown key".
 *
 * Return: 0 if the version is PROFILE_SCHEMA_VERSION, else -1
 */
static int check_version(const struct loader *ld, const struct ynode *top)
{
	const struct field *f = &top_fields[TOP_VERSION];
	unsigned long long v;

	for (size_t i = 0; i + 1 < top->n; i += 2) {
		const struct ynode *k = top->kids[i], *val = top->kids[i + 1];

		if (k->kind != Y_SCALAR || strcmp(k->value, f->key))
			continue;
		if (node_uint(ld, val, f, 0, INT_MAX, &v) < 0)
			return -1;
		if (v != PROFILE_SCHEMA_VERSION)
			return ytree_err(ld, val->at,
			                 "unsupported qremap_profile %llu: this qremap "
			                 "reads only qremap_profile: %d; convert the "
			                 "profile, or use a newer qremap",
			                 v, PROFILE_SCHEMA_VERSION);
		return 0;
	}
	return missing(ld, top->at, f, "at the top level");
}

/**
 * load_top() - check the whole document and fill the profile
 * @ld:		loader
 * @top:	root node, NULL for an empty stream
 * @p:		profile to fill, zeroed
 *
 * Return: 0, or -1 with the error filled
 */
static int load_top(const struct loader *ld, const struct ynode *top, struct profile *p)
{
	static const char where[] = "at the top level";
	struct slot s[TOP_N], u[UNPLUG_N], t[TO_N];
	/* 0, as in the rule loaders: get_enum() sets v whenever it returns 0,
	 * but clang-tidy's analyzer can't see that ytree_err() (yaml_tree.c) always
	 * returns -1, and would follow a failure on to read v unset
	 */
	int v = 0;

	if (!top || is_null(top)) {
		struct profile_mark at = top ? top->at : (struct profile_mark){1, 1};

		return ytree_err(ld, at,
		                 "the profile is empty; start it with \"qremap_profile: 1\" "
		                 "and \"name: ...\" (see docs/profiles.md)");
	}
	if (top->kind != Y_MAP)
		return ytree_err(ld, top->at,
		                 "the profile must be a mapping of keys, not %s; start it "
		                 "with \"qremap_profile: 1\" and \"name: ...\"",
		                 kind_str(top));
	if (check_version(ld, top) < 0 || map_fields(ld, top, top_fields, TOP_N, where, s) < 0)
		return -1;

	if (!s[TOP_NAME].key)
		return missing(ld, top->at, &top_fields[TOP_NAME], where);
	if (get_string(ld, &s[TOP_NAME], &top_fields[TOP_NAME], p->name, sizeof(p->name)) < 0)
		return -1;
	if (!valid_name(p->name))
		return ytree_err(
		        ld, s[TOP_NAME].val->at,
		        "\"name\" value \"%s\" is not a valid profile name; use lower-case "
		        "letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit",
		        p->name);

	if (s[TOP_DESC].key) {
		size_t n;

		if (get_string(ld, &s[TOP_DESC], &top_fields[TOP_DESC], p->description,
		               sizeof(p->description)) < 0)
			return -1;
		/* folded and literal scalars (">", "|") end in a newline */
		n = strlen(p->description);
		while (n && (p->description[n - 1] == '\n' || p->description[n - 1] == ' '))
			p->description[--n] = '\0';
	}

	if (s[TOP_NICS].key) {
		const struct ynode *l = s[TOP_NICS].val;

		if (get_list(ld, &s[TOP_NICS], &top_fields[TOP_NICS], PROFILE_MAX_RULES,
		             "nics rules", "merge rules with globs such as \"eth*\"") < 0)
			return -1;
		for (size_t i = 0; i < l->n; i++)
			if (load_nic_rule(ld, l->kids[i], &p->nics[p->n_nics++]) < 0)
				return -1;
	}
	if (s[TOP_DISKS].key) {
		const struct ynode *l = s[TOP_DISKS].val;

		if (get_list(ld, &s[TOP_DISKS], &top_fields[TOP_DISKS], PROFILE_MAX_RULES,
		             "disks rules", "merge rules with globs such as \"data*\"") < 0)
			return -1;
		for (size_t i = 0; i < l->n; i++)
			if (load_disk_rule(ld, l->kids[i], &p->disks[p->n_disks++]) < 0)
				return -1;
	}

	p->acpi_unplug = ACPI_VERIFY_AFTER_RESET;
	if (s[TOP_UNPLUG].key) {
		if (want_kind(ld, &s[TOP_UNPLUG], &top_fields[TOP_UNPLUG], Y_MAP) < 0 ||
		    map_fields(ld, s[TOP_UNPLUG].val, unplug_fields, UNPLUG_N, "in unplug", u) < 0)
			return -1;
		if (u[UNPLUG_ACPI].key) {
			if (get_enum(ld, &u[UNPLUG_ACPI], &unplug_fields[UNPLUG_ACPI], acpi_names,
			             ARRAY_SIZE(acpi_names), &v) < 0)
				return -1;
			p->acpi_unplug = (enum acpi_unplug_policy)v;
		}
	}

	p->qmp_timeout_ms = QMP_TIMEOUT_DEFAULT_MS;
	p->unplug_timeout_ms = UNPLUG_TIMEOUT_DEFAULT_MS;
	if (s[TOP_TIMEOUTS].key) {
		if (want_kind(ld, &s[TOP_TIMEOUTS], &top_fields[TOP_TIMEOUTS], Y_MAP) < 0 ||
		    map_fields(ld, s[TOP_TIMEOUTS].val, timeout_fields, TO_N, "in timeouts", t) < 0)
			return -1;
		if (t[TO_QMP].key &&
		    get_int(ld, &t[TO_QMP], &timeout_fields[TO_QMP], TIMEOUT_MIN_MS, TIMEOUT_MAX_MS,
		            &p->qmp_timeout_ms) < 0)
			return -1;
		if (t[TO_UNPLUG].key &&
		    get_int(ld, &t[TO_UNPLUG], &timeout_fields[TO_UNPLUG], TIMEOUT_MIN_MS,
		            TIMEOUT_MAX_MS, &p->unplug_timeout_ms) < 0)
			return -1;
	}
	return 0;
}

/**
 * load() - parse and check YAML text into a profile
 * @label:	name for messages
 * @path:	file name to record in the profile, "" for strings
 * @yaml:	text, need not be NUL-terminated
 * @len:	length of @yaml
 * @p:		profile, written only on success
 * @err:	error object
 *
 * Return: 0, or -1 with @err filled
 */
static int load(const char *label, const char *path, const char *yaml, size_t len,
                struct profile *p, struct qr_error *err)
{
	_cleanup_(ytree_freep) struct ynode *root = NULL;
	_cleanup_free_ struct profile *tmp = NULL;
	struct loader ld = {.label = label, .text = yaml, .len = len, .err = err};

	if (len > PROFILE_MAX_BYTES)
		return ytree_err(
		        &ld, (struct profile_mark){1, 1},
		        "the profile is larger than %zu bytes; profiles are small text files, "
		        "check the file name",
		        PROFILE_MAX_BYTES);
	/* built aside so that @p is untouched when loading fails */
	tmp = calloc(1, sizeof(*tmp));
	if (!tmp)
		return qr_err_sys(err, ENOMEM, "%s: loading profile", label);
	if (!str_copy(tmp->path, sizeof(tmp->path), path))
		return qr_err_set(err, QR_ERR_INVALID, "%s: profile path longer than %zu bytes",
		                  label, sizeof(tmp->path) - 1);
	if (ytree_build(&ld, &root) < 0 || load_top(&ld, root, tmp) < 0)
		return -1;
	memcpy(p, tmp, sizeof(*p));
	return 0;
}

/**
 * profile_load_string() - load a profile from YAML text
 * @label:	what to call the text in messages (a file name, "<stdin>", ...)
 * @yaml:	the text, need not be NUL-terminated
 * @len:	its length in bytes
 * @p:		profile to fill; left untouched on failure
 * @err:	error object; QR_ERR_PARSE messages read
 *		"LABEL:LINE:COL: what is wrong; how to fix it"
 *
 * Return: 0 on success, -1 on the first problem found
 */
int profile_load_string(const char *label, const char *yaml, size_t len, struct profile *p,
                        struct qr_error *err)
{
	return load(label, "", yaml, len, p, err);
}

/**
 * profile_load_file() - load a profile from a YAML file
 * @path:	file to read; also the label in messages
 * @p:		profile to fill; left untouched on failure
 * @err:	error object; QR_ERR_SYS if the file can't be read, else as for
 *		profile_load_string()
 *
 * Return: 0 on success, -1 on failure
 */
int profile_load_file(const char *path, struct profile *p, struct qr_error *err)
{
	return profile_load_path(path, 0, p, err);
}

/**
 * profile_load_path() - load a profile from a YAML file, with open flags
 * @path:	file to read; also the label in messages
 * @flags:	PROFILE_NOFOLLOW: refuse a symbolic link (qremapd, as root)
 * @p:		profile to fill; left untouched on failure
 * @err:	error object, as for profile_load_file()
 *
 * The file is opened non-blocking, so a FIFO or device put where a profile
 * should be is refused by the regular-file check instead of blocking the
 * open (a FIFO without a writer would hang a daemon thread for good).
 *
 * Return: 0 on success, -1 on failure
 */
int profile_load_path(const char *path, unsigned flags, struct profile *p, struct qr_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	                                            (flags & PROFILE_NOFOLLOW ? O_NOFOLLOW : 0));
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fd < 0 && errno == ELOOP && (flags & PROFILE_NOFOLLOW))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "cannot open profile %s: it is a symbolic link, which qremapd "
		                  "does not follow (name the file itself)",
		                  path);
	if (fd < 0)
		return qr_err_sys(err, errno, "cannot open profile %s", path);
	if (fstat(fd, &st) < 0)
		return qr_err_sys(err, errno, "cannot read profile %s", path);
	if (!S_ISREG(st.st_mode))
		return qr_err_set(err, QR_ERR_INVALID, "cannot read profile %s: not a regular file",
		                  path);
	/* One byte more than the limit, so load() sees an oversized file as such
	 * without us reading all of it.
	 */
	buf = malloc(PROFILE_MAX_BYTES + 1);
	if (!buf)
		return qr_err_sys(err, ENOMEM, "cannot read profile %s", path);
	while (len < PROFILE_MAX_BYTES + 1) {
		ssize_t r = read(fd, buf + len, PROFILE_MAX_BYTES + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return qr_err_sys(err, errno, "cannot read profile %s", path);
		if (!r)
			break;
		len += (size_t)r;
	}
	return load(path, path, buf, len, p, err);
}

/**
 * glob_hits() - does a rule's glob match the device's name or qdev id
 * @pattern:	glob(7)
 * @name:	Incus device name, may be NULL
 * @qdev_id:	qdev id, may be NULL
 *
 * Return: true on a match of either
 */
static bool glob_hits(const char *pattern, const char *name, const char *qdev_id)
{
	return (name && !fnmatch(pattern, name, 0)) || (qdev_id && !fnmatch(pattern, qdev_id, 0));
}

/**
 * profile_match_nic() - the rule that decides what a NIC becomes
 * @p:		profile
 * @name:	Incus device name ("eth0"), may be NULL
 * @qdev_id:	qdev id ("dev-incus_eth0"), may be NULL
 *
 * Return: the first rule whose glob matches @name or @qdev_id, NULL if none
 *	   does (the NIC is then left as it is)
 */
const struct nic_rule *profile_match_nic(const struct profile *p, const char *name,
                                         const char *qdev_id)
{
	for (size_t i = 0; i < p->n_nics; i++)
		if (glob_hits(p->nics[i].match, name, qdev_id))
			return &p->nics[i];
	return NULL;
}

/**
 * profile_match_disk() - the rule that decides what a disk becomes
 * @p:		profile
 * @name:	Incus disk name ("root"), may be NULL
 * @qdev_id:	qdev id, may be NULL
 *
 * Return: the first rule whose glob matches @name or @qdev_id, NULL if none
 *	   does (the disk is then left as it is)
 */
const struct disk_rule *profile_match_disk(const struct profile *p, const char *name,
                                           const char *qdev_id)
{
	for (size_t i = 0; i < p->n_disks; i++)
		if (glob_hits(p->disks[i].match, name, qdev_id))
			return &p->disks[i];
	return NULL;
}

/**
 * nic_rule_json() - one NIC rule as JSON, defaults filled in
 * @r:	rule
 *
 * Return: new object, NULL if out of memory
 */
static json_t *nic_rule_json(const struct nic_rule *r)
{
	json_t *o = json_object(), *ports = json_array(), *ph = json_array();
	int rc = 0;

	for (size_t i = 0; ports && i < r->n_ports; i++)
		rc |= json_array_append_new(ports, json_integer(r->ports[i]));
	for (size_t i = 0; ph && i < r->n_placeholders; i++)
		rc |= json_array_append_new(ph, json_string(r->placeholders[i]));
	if (!o || !ph || rc) {
		json_decref(ph);
		json_decref(ports);
		json_decref(o);
		return NULL;
	}
	rc |= json_object_set_new(o, "match", json_string(r->match));
	rc |= json_object_set_new(o, "to", json_string(nic_target_str(r->target)));
	rc |= json_object_set_new(o, "xhci", json_string(r->xhci));
	rc |= json_object_set_new(o, "ports", ports);
	rc |= json_object_set_new(o, "mac_rewritten", json_string(mac_policy_str(r->mac_policy)));
	rc |= json_object_set_new(o, "placeholders", ph);
	rc |= json_object_set_new(o, "model", json_string(r->model));
	rc |= json_object_set_new(o, "mac_mismatch", json_string(mac_policy_str(r->mac_mismatch)));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/**
 * disk_rule_json() - one disk rule as JSON, defaults filled in
 * @r:	rule
 *
 * Return: new object, NULL if out of memory
 */
static json_t *disk_rule_json(const struct disk_rule *r)
{
	json_t *o = json_object(), *ph = json_array(), *ports = json_array();
	int rc = 0;

	for (size_t i = 0; ph && i < r->n_placeholders; i++)
		rc |= json_array_append_new(ph, json_string(r->placeholders[i]));
	for (size_t i = 0; ports && i < r->n_ports; i++)
		rc |= json_array_append_new(ports, json_integer(r->ports[i]));
	if (!o || !ports || rc) {
		json_decref(ports);
		json_decref(ph);
		json_decref(o);
		return NULL;
	}
	rc |= json_object_set_new(o, "match", json_string(r->match));
	rc |= json_object_set_new(o, "to", json_string(disk_target_str(r->target)));
	rc |= json_object_set_new(o, "ahci", json_string(r->ahci));
	rc |= json_object_set_new(o, "placeholders", ph);
	rc |= json_object_set_new(o, "xhci", json_string(r->xhci));
	rc |= json_object_set_new(o, "ports", ports);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/**
 * profile_to_json() - the resolved profile, every default filled in
 * @p:	profile
 *
 * Keys mirror the YAML ones, plus "path" (the file, "" if loaded from a
 * string); every key is always present, so consumers need no defaults of
 * their own.
 *
 * Return: new JSON object, NULL if out of memory
 */
json_t *profile_to_json(const struct profile *p)
{
	json_t *o = json_object(), *nics = json_array(), *disks = json_array();
	int rc = 0;

	for (size_t i = 0; nics && i < p->n_nics; i++)
		rc |= json_array_append_new(nics, nic_rule_json(&p->nics[i]));
	for (size_t i = 0; disks && i < p->n_disks; i++)
		rc |= json_array_append_new(disks, disk_rule_json(&p->disks[i]));
	if (!o || rc) {
		json_decref(nics);
		json_decref(disks);
		json_decref(o);
		return NULL;
	}
	rc |= json_object_set_new(o, "qremap_profile", json_integer(PROFILE_SCHEMA_VERSION));
	rc |= json_object_set_new(o, "path", json_string(p->path));
	rc |= json_object_set_new(o, "name", json_string(p->name));
	rc |= json_object_set_new(o, "description", json_string(p->description));
	rc |= json_object_set_new(o, "nics", nics);
	rc |= json_object_set_new(o, "disks", disks);
	rc |= json_object_set_new(
	        o, "unplug", json_pack("{s:s}", "acpi", acpi_unplug_policy_str(p->acpi_unplug)));
	rc |= json_object_set_new(o, "timeouts",
	                          json_pack("{s:i, s:i}", "qmp_ms", p->qmp_timeout_ms, "unplug_ms",
	                                    p->unplug_timeout_ms));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/**
 * nic_target_str() - YAML spelling of a NIC target
 * @t:	target
 *
 * Return: "usb-net", "hub", "leave", or "?" for an unknown value
 */
const char *nic_target_str(enum nic_target t)
{
	return (size_t)t < ARRAY_SIZE(nic_target_names) ? nic_target_names[t] : "?";
}

/**
 * disk_target_str() - YAML spelling of a disk target
 * @t:	target
 *
 * Return: "sata", "virtio-blk", "usb-storage", "leave", or "?" for an unknown value
 */
const char *disk_target_str(enum disk_target t)
{
	return (size_t)t < ARRAY_SIZE(disk_target_names) ? disk_target_names[t] : "?";
}

/**
 * mac_policy_str() - YAML spelling of a "mac_rewritten:" policy
 * @m:	policy
 *
 * Return: "refuse", "warn", or "?" for an unknown value
 */
const char *mac_policy_str(enum mac_policy m)
{
	return (size_t)m < ARRAY_SIZE(mac_policy_names) ? mac_policy_names[m] : "?";
}

/**
 * acpi_unplug_policy_str() - YAML spelling of an "unplug: acpi:" policy
 * @a:	policy
 *
 * Return: "verify-after-reset", "refuse", or "?" for an unknown value
 */
const char *acpi_unplug_policy_str(enum acpi_unplug_policy a)
{
	return (size_t)a < ARRAY_SIZE(acpi_names) ? acpi_names[a] : "?";
}
