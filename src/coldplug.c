// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - coldplug.c: what must exist at QEMU start for a profile (see
 * coldplug.h), and its two spellings: arguments and -readconfig sections
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "qremap/coldplug.h"
#include "qremap/names.h"

#define AHCI_PORTS 6 /* ich9-ahci has six SATA ports */

/* Add an item; NULL if out of memory. */
static struct cp_item *item_new(struct coldplug *cp, enum cp_kind kind, const char *id,
                                const char *why)
{
	struct cp_item *n = realloc(cp->items, (cp->n + 1) * sizeof(*n)), *it;

	if (!n)
		return NULL;
	cp->items = n;
	it = &n[cp->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	/* ids are bounded where they come from; a reason is cut if long */
	str_copy(it->id, sizeof(it->id), id);
	str_copy(it->why, sizeof(it->why), why);
	return it;
}

/* Add one option to an item. */
static void item_set(struct cp_item *it, const char *key, const char *fmt, ...) _printf_(3, 4);
static void item_set(struct cp_item *it, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (it->n >= CP_MAX_KEYS)
		return;
	snprintf(it->key[it->n], sizeof(it->key[0]), "%s", key);
	va_start(ap, fmt);
	vsnprintf(it->val[it->n], sizeof(it->val[0]), fmt, ap);
	va_end(ap);
	it->n++;
}

static void cp_note(struct coldplug *cp, const char *fmt, ...) _printf_(2, 3);
static void cp_note(struct coldplug *cp, const char *fmt, ...)
{
	va_list ap;

	if (cp->n_notes >= ARRAY_SIZE(cp->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(cp->notes[cp->n_notes++], sizeof(cp->notes[0]), fmt, ap);
	va_end(ap);
}

/* SATA ports of AHCI @ahci already given to placeholders. */
static unsigned ahci_ports_used(const struct coldplug *cp, const char *ahci)
{
	size_t l = strlen(ahci);
	unsigned n = 0;

	for (size_t i = 0; i < cp->n; i++)
		for (unsigned k = 0; k < cp->items[i].n; k++)
			n += !strcmp(cp->items[i].key[k], "bus") &&
			     !strncmp(cp->items[i].val[k], ahci, l) &&
			     cp->items[i].val[k][l] == '.';
	return n;
}

static bool have_item(const struct coldplug *cp, enum cp_kind kind, const char *id)
{
	for (size_t i = 0; i < cp->n; i++)
		if (cp->items[i].kind == kind && !strcmp(cp->items[i].id, id))
			return true;
	return false;
}

/* The next placeholder id of a rule: the ones it lists, then @fmt with @k. */
static void next_id(char *buf, size_t len, char (*listed)[PROFILE_ID_MAX], size_t n_listed,
                    size_t *used, const char *prefix, size_t k)
{
	if (*used < n_listed)
		snprintf(buf, len, "%s", listed[(*used)++]);
	else
		snprintf(buf, len, "%s%zu", prefix, k);
}

/* Free USB 2 root ports of @x, not counting devices qremap itself added. */
static unsigned usb2_free(const struct inv_controller *x)
{
	unsigned usb2 = x->usb2_ports ? x->usb2_ports : x->ports, n = 0;

	for (unsigned p = 1; p <= usb2; p++) {
		char name[16];
		bool used = false;

		snprintf(name, sizeof(name), "%u", p);
		for (unsigned i = 0; i < x->n_used; i++) {
			size_t l = strlen(name);

			if (!strncmp(x->used[i].port, name, l) &&
			    (x->used[i].port[l] == '\0' || x->used[i].port[l] == '.') &&
			    !str_has_prefix(x->used[i].device, "dev-qremap_"))
				used = true;
		}
		n += !used;
	}
	return n;
}

#define NEED(x)                                                                                    \
	do {                                                                                       \
		if (!(x))                                                                          \
			return qr_err_sys(err, ENOMEM, "building the cold-plug configuration");    \
	} while (0)

/**
 * add_placeholder() - a disk placeholder: null-co media and the device holding it
 * @cp:		result
 * @id:		the device's id
 * @driver:	"ide-hd" or "virtio-blk-pci"
 * @disk:	name of the Incus disk it is for
 * @size:	that disk's exact size (-drive, since -blockdev has no
 *		-readconfig form)
 * @bootindex:	its bootindex, -1 for none
 *
 * The bootindex is set when QEMU creates the device and stays when the
 * remap puts the real disk's node under it, so the firmware's boot order
 * (rebuilt at the reset after pre-start) has the placeholder where the disk
 * was meant to be.
 *
 * Return: the device item, for a bus to be added; NULL if out of memory
 */
static struct cp_item *add_placeholder(struct coldplug *cp, const char *id, const char *driver,
                                       const char *disk, uint64_t size, int bootindex)
{
	char node[INV_ID_MAX + 8], why[200];
	struct cp_item *it;

	snprintf(node, sizeof(node), "%s_null", id);
	snprintf(why, sizeof(why), "null media of disk %s's exact size (%" PRIu64 " bytes)", disk,
	         size);
	it = item_new(cp, CP_DRIVE, node, why);
	if (!it)
		return NULL;
	item_set(it, "if", "none");
	item_set(it, "driver", "null-co");
	item_set(it, "size", "%" PRIu64, size);
	item_set(it, "read-zeroes", "on");
	snprintf(why, sizeof(why), "%s placeholder for disk %s", driver, disk);
	it = item_new(cp, CP_DEVICE, id, why);
	if (!it)
		return NULL;
	item_set(it, "driver", "%s", driver);
	item_set(it, "drive", "%s", node);
	if (bootindex >= 0)
		item_set(it, "bootindex", "%d", bootindex);
	return it;
}

/**
 * add_disks() - SATA and virtio-blk placeholders, one per matching disk
 * @inv:	the VM's inventory
 * @prof:	profile
 * @bootindex:	per disk of @inv, its placeholder's bootindex (-1: none), or
 *		NULL
 * @cp:		result
 * @usb_needed:	USB ports needed, increased for usb-storage disks
 * @err:	error object
 *
 * Placeholders are made in the order of @inv's disks. The planner walks the
 * VM's disks in query-block order and gives each the next free placeholder
 * of its kind, in query-block order too: with @inv in the order the disks
 * will be hot-plugged (incus_instance_inventory() gives that), the k-th disk
 * of a kind gets the k-th placeholder of that kind, the one sized (and given
 * the bootindex) for it.
 *
 * Return: 0 on success, -1 on failure
 */
static int add_disks(const struct vm_inventory *inv, const struct profile *prof,
                     const int *bootindex, struct coldplug *cp, unsigned *usb_needed,
                     struct qr_error *err)
{
	size_t used[PROFILE_MAX_RULES] = {0}, k_sata = 0, k_vblk = 0;

	for (size_t i = 0; i < inv->n_disks; i++) {
		const struct inv_disk *d = &inv->disks[i];
		const char *name = d->id + strlen("dev-incus_");
		const struct disk_rule *r;
		struct cp_item *it;
		char ph[INV_ID_MAX];
		unsigned port;
		size_t ri;

		if (!d->incus || d->cdrom || !str_has_prefix(d->id, "dev-incus_"))
			continue;
		r = profile_match_disk(prof, name, d->id);
		if (!r || r->target == DISK_TO_LEAVE)
			continue;
		ri = (size_t)(r - prof->disks);
		if (r->target == DISK_TO_USB_STORAGE) {
			(*usb_needed)++;
			continue;
		}
		if (r->target == DISK_TO_SATA) {
			const char *ahci = r->ahci[0] ? r->ahci : "qremap_ahci";

			if (!have_item(cp, CP_DEVICE, ahci)) {
				NEED(it = item_new(cp, CP_DEVICE, ahci,
				                   "AHCI controller for the SATA placeholders"));
				item_set(it, "driver", "ich9-ahci");
			}
			port = ahci_ports_used(cp, ahci);
			if (port >= AHCI_PORTS)
				return qr_err_set(
				        err, QR_ERR_INVALID,
				        "more than %d disks for AHCI %s: give the disks rule "
				        "of line %u a second controller (ahci:) for the rest",
				        AHCI_PORTS, ahci, r->at.line);
			next_id(ph, sizeof(ph), (char(*)[PROFILE_ID_MAX])r->placeholders,
			        r->n_placeholders, &used[ri], "qremap_sata", k_sata++);
			NEED(it = add_placeholder(cp, ph, "ide-hd", name, d->size,
			                          bootindex ? bootindex[i] : -1));
			item_set(it, "bus", "%s.%u", ahci, port);
			continue;
		}
		next_id(ph, sizeof(ph), (char(*)[PROFILE_ID_MAX])r->placeholders, r->n_placeholders,
		        &used[ri], "qremap_vblk", k_vblk++);
		NEED(add_placeholder(cp, ph, "virtio-blk-pci", name, d->size,
		                     bootindex ? bootindex[i] : -1));
	}
	return 0;
}

/* NIC placeholders on net hubs, one per matching NIC; count usb-net ports. */
static int add_nics(const struct vm_inventory *inv, const struct profile *prof, struct coldplug *cp,
                    unsigned *usb_needed, struct qr_error *err)
{
	size_t used[PROFILE_MAX_RULES] = {0}, k = 0;

	for (size_t i = 0; i < inv->n_nics; i++) {
		const struct inv_nic *n = &inv->nics[i];
		const char *name = n->id + strlen("dev-incus_");
		const struct nic_rule *r;
		struct cp_item *it;
		char ph[INV_ID_MAX], hp[INV_ID_MAX + 8], why[200];
		size_t ri;

		if (!n->incus || !str_has_prefix(n->id, "dev-incus_"))
			continue;
		r = profile_match_nic(prof, name, n->id);
		if (!r || r->target == NIC_TO_LEAVE)
			continue;
		if (r->target == NIC_TO_USB_NET) {
			(*usb_needed)++;
			continue;
		}
		ri = (size_t)(r - prof->nics);
		next_id(ph, sizeof(ph), (char(*)[PROFILE_ID_MAX])r->placeholders, r->n_placeholders,
		        &used[ri], "qremap_nic", k);
		snprintf(hp, sizeof(hp), "%s_hp", ph);
		snprintf(why, sizeof(why), "hub %zu port for NIC %s's placeholder", k, name);
		NEED(it = item_new(cp, CP_NETDEV, hp, why));
		item_set(it, "type", "hubport");
		item_set(it, "hubid", "%zu", k);
		snprintf(why, sizeof(why), "placeholder for NIC %s, with the MAC Incus gave it",
		         name);
		NEED(it = item_new(cp, CP_DEVICE, ph, why));
		item_set(it, "driver", "%s", r->model[0] ? r->model : "e1000");
		item_set(it, "netdev", "%s", hp);
		item_set(it, "mac", "%s", n->mac);
		k++;
	}
	return 0;
}

/**
 * conf_bad_char() - what a byte is, if it can't be in a raw.qemu.conf value
 * @c:		byte
 *
 * Return: its description ("a double quote"), NULL if it can be
 */
static const char *conf_bad_char(unsigned char c)
{
	switch (c) {
	case '"':
		return "a double quote";
	case '\\':
		return "a backslash";
	case '\n':
		return "a newline";
	case '\r':
		return "a carriage return";
	default:
		return c < 0x20 || c == 0x7f ? "a control character" : NULL;
	}
}

/**
 * coldplug_check_conf_value() - whether a value can be written into raw.qemu.conf
 * @what:	what the value is, for the message ("--qremapd-socket", ...)
 * @value:	the value
 * @err:	error object: which character, where, and the rule
 *
 * Values are written as key = "value" (coldplug_print_conf()). Incus reads
 * raw.qemu.conf with one regular expression in which a quoted value is
 * "[^"]*" (driver_qemu_config_override.go, parseConfOverride()), so a '"'
 * would end the value early and the rest would be parsed as more keys or
 * sections of the user's choosing; a newline would start a new line of the
 * file QEMU reads. '\' is no escape in either parser, and no value qremap
 * writes needs one. So a value with '"', '\' or any control character
 * (CR and LF included) is refused, never escaped or cut.
 *
 * Return: 0 if @value can be written, -1 if not
 */
int coldplug_check_conf_value(const char *what, const char *value, struct qr_error *err)
{
	char shown[120];

	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		const char *bad = conf_bad_char(*p);

		if (bad)
			return qr_err_set(
			        err, QR_ERR_INVALID,
			        "%s '%s' contains %s at position %zu: values written into "
			        "raw.qemu.conf can't hold '\"', '\\' or control "
			        "characters",
			        what, names_printable(shown, sizeof(shown), value), bad,
			        (size_t)(p - (const unsigned char *)value) + 1);
	}
	return 0;
}

/**
 * check_items() - every id and value of a result can be written out as it is
 * @cp:		result
 * @err:	error object
 *
 * Values come from the profile, the user's options and Incus (MACs, sizes):
 * checked once here, so that both spellings (arguments, one per line, and
 * raw.qemu.conf) carry exactly what was computed. An id also stands in a
 * section header, [group "id"], which Incus's parser ends at the first ']'.
 *
 * Return: 0 if all can be written, -1 if not
 */
static int check_items(const struct coldplug *cp, struct qr_error *err)
{
	for (size_t i = 0; i < cp->n; i++) {
		const struct cp_item *it = &cp->items[i];
		char what[sizeof(it->key[0]) + sizeof(it->id) + 8];

		if (coldplug_check_conf_value("placeholder id", it->id, err) < 0)
			return -1;
		if (strpbrk(it->id, "[]"))
			return qr_err_set(err, QR_ERR_INVALID,
			                  "id '%s' contains '[' or ']': it can't stand in a "
			                  "raw.qemu.conf section header",
			                  it->id);
		for (unsigned k = 0; k < it->n; k++) {
			snprintf(what, sizeof(what), "%s of %s", it->key[k], it->id);
			if (coldplug_check_conf_value(what, it->val[k], err) < 0)
				return -1;
		}
	}
	return 0;
}

/**
 * check_socket_path() - a monitor socket path fits where coldplug puts it
 * @what:	which option, for the message
 * @path:	the path
 * @err:	error object
 *
 * item_set() would cut a longer value silently, and QEMU would then dial
 * or create a different socket.
 *
 * Return: 0 if it fits and can be written, -1 if not
 */
static int check_socket_path(const char *what, const char *path, struct qr_error *err)
{
	const struct cp_item *it = NULL;

	if (strlen(path) >= sizeof(it->val[0]))
		return qr_err_set(err, QR_ERR_INVALID, "%s is longer than %zu bytes", what,
		                  sizeof(it->val[0]) - 1);
	return coldplug_check_conf_value(what, path, err);
}

/**
 * coldplug_build() - compute what must exist at QEMU start
 * @inv:	the VM's inventory (its Incus NICs and disks: MACs and sizes)
 * @prof:	profile
 * @opts:	options
 * @cp:		result; free with coldplug_free(), also after a failure
 * @err:	error object
 *
 * Every id and value is checked (coldplug_check_conf_value()): one that
 * can't be written into raw.qemu.conf as it is fails the build.
 *
 * Return: 0 on success, -1 on failure (a profile/VM mismatch it can't cover,
 *	   or a value that can't be written out)
 */
int coldplug_build(const struct vm_inventory *inv, const struct profile *prof,
                   const struct coldplug_opts *opts, struct coldplug *cp, struct qr_error *err)
{
	unsigned usb_needed = 0;
	struct cp_item *it;

	memset(cp, 0, sizeof(*cp));
	if ((opts && opts->monitor && opts->monitor[0] &&
	     check_socket_path("monitor socket path", opts->monitor, err) < 0) ||
	    (opts && opts->client_monitor && opts->client_monitor[0] &&
	     check_socket_path("qremapd socket path", opts->client_monitor, err) < 0))
		return -1;
	if (add_disks(inv, prof, opts ? opts->disk_bootindex : NULL, cp, &usb_needed, err) < 0 ||
	    add_nics(inv, prof, cp, &usb_needed, err) < 0)
		return -1;

	if (usb_needed) {
		const struct inv_controller *x = NULL;
		unsigned n_xhci = 0;

		for (size_t i = 0; i < inv->n_ctrl; i++)
			if (inv->ctrl[i].kind == CTRL_USB &&
			    str_has_prefix(inv->ctrl[i].driver, "qemu-xhci")) {
				x = &inv->ctrl[i];
				n_xhci++;
			}
		if (n_xhci != 1 || usb2_free(x) < usb_needed) {
			char p2[16];

			NEED(it = item_new(
			             cp, CP_DEVICE, "qremap_xhci",
			             "XHCI with enough USB 2 ports for usb-net / usb-storage"));
			snprintf(p2, sizeof(p2), "%u", usb_needed < 4 ? 4 : usb_needed);
			item_set(it, "driver", "qemu-xhci");
			item_set(it, "p2", "%s", p2);
			item_set(it, "p3", "0");
			cp_note(cp,
			        "the VM's own XHCI has too few free USB 2 ports for %u usb "
			        "devices: "
			        "qremap_xhci is added; set 'xhci: qremap_xhci' in the profile's "
			        "usb-net and usb-storage rules",
			        usb_needed);
		}
	}
	if (opts && opts->monitor && opts->monitor[0]) {
		NEED(it = item_new(cp, CP_CHARDEV, "qremap", "qremap's own QMP socket"));
		item_set(it, "backend", "socket");
		item_set(it, "path", "%s", opts->monitor);
		item_set(it, "server", "on");
		item_set(it, "wait", "off");
		NEED(it = item_new(cp, CP_MON, "qremap", "qremap's own QMP monitor"));
		item_set(it, "chardev", "qremap");
		item_set(it, "mode", "control");
	}
	if (opts && opts->client_monitor && opts->client_monitor[0]) {
		/* QEMU dials qremapd at launch; without a reconnect delay a
		 * missing listener would fail the start (docs/facts.md §2)
		 */
		NEED(it = item_new(cp, CP_CHARDEV, "qremapd", "QEMU dials qremapd (client mode)"));
		item_set(it, "backend", "socket");
		item_set(it, "path", "%s", opts->client_monitor);
		item_set(it, "server", "off");
		if (opts->reconnect_ms)
			item_set(it, "reconnect-ms", "1000");
		else
			item_set(it, "reconnect", "1");
		NEED(it = item_new(cp, CP_MON, "qremapd", "qremapd's monitor of this VM"));
		item_set(it, "chardev", "qremapd");
		item_set(it, "mode", "control");
	}
	if (prof->acpi_unplug == ACPI_REFUSE) {
		NEED(it = item_new(cp, CP_GLOBAL, "",
		                   "native PCIe hotplug: unplugs in pre-start complete at once "
		                   "(the profile refuses to wait for ACPI's reset)"));
		item_set(it, "driver", "ICH9-LPC");
		item_set(it, "property", "acpi-pci-hotplug-with-bridge-support");
		item_set(it, "value", "off");
	}
	return check_items(cp, err);
}

/**
 * coldplug_free() - free a result's contents
 * @cp:	result
 */
void coldplug_free(struct coldplug *cp)
{
	free(cp->items);
	memset(cp, 0, sizeof(*cp));
}

static const char *const group_names[] = {
        [CP_DRIVE] = "drive",     [CP_NETDEV] = "netdev", [CP_DEVICE] = "device",
        [CP_CHARDEV] = "chardev", [CP_MON] = "mon",       [CP_GLOBAL] = "global",
};

/**
 * group_name() - a QEMU option group's name, as in arguments, sections and JSON
 * @k:	group
 *
 * Return: static string ("device" for -device), "?" for a value that is no group
 */
static const char *group_name(enum cp_kind k)
{
	return (size_t)k < ARRAY_SIZE(group_names) && group_names[k] ? group_names[k] : "?";
}

/* A value in QEMU's option syntax: ',' is doubled. */
static void put_opt_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == ',')
			fputc(',', f);
		fputc(*v, f);
	}
}

/**
 * coldplug_print_args() - as QEMU arguments, one per line
 * @f:	stream
 * @cp:	result
 *
 * One argument per line (no shell quoting needed: read them with mapfile).
 */
void coldplug_print_args(FILE *f, const struct coldplug *cp)
{
	for (size_t i = 0; i < cp->n; i++) {
		const struct cp_item *it = &cp->items[i];
		unsigned k = 0;

		fprintf(f, "-%s\n", group_name(it->kind));
		if (it->kind == CP_GLOBAL) {
			fprintf(f, "%s.%s=%s\n", it->val[0], it->val[1], it->val[2]);
			continue;
		}
		/* -device DRIVER, -netdev TYPE, -chardev BACKEND lead with it */
		if (it->kind == CP_DEVICE || it->kind == CP_NETDEV || it->kind == CP_CHARDEV) {
			put_opt_value(f, it->val[0]);
			fputc(',', f);
			k = 1;
		}
		fprintf(f, "id=%s", it->id);
		for (; k < it->n; k++) {
			fprintf(f, ",%s=", it->key[k]);
			put_opt_value(f, it->val[k]);
		}
		fputc('\n', f);
	}
}

/**
 * coldplug_print_conf() - as a -readconfig file / Incus raw.qemu.conf fragment
 * @f:	stream
 * @cp:	result
 *
 * No comments: Incus parses raw.qemu.conf with one regular expression
 * (driver_qemu_config_override.go) whose key part, [^=]+, would swallow a
 * comment line together with the section header after it. Only
 * [group "id"] headers and key = "value" lines are written.
 *
 * -global is left out (see coldplug_print_raw_qemu()): Incus's own
 * configuration already has unnamed [global] sections, and under its
 * override rules a [global] section here would change the first of them
 * instead of adding one.
 */
void coldplug_print_conf(FILE *f, const struct coldplug *cp)
{
	bool first = true;

	for (size_t i = 0; i < cp->n; i++) {
		const struct cp_item *it = &cp->items[i];

		if (it->kind == CP_GLOBAL)
			continue;
		fprintf(f, "%s[%s \"%s\"]\n", first ? "" : "\n", group_name(it->kind), it->id);
		for (unsigned k = 0; k < it->n; k++)
			fprintf(f, "%s = \"%s\"\n", it->key[k], it->val[k]);
		first = false;
	}
}

/**
 * coldplug_print_raw_qemu() - what belongs in Incus's raw.qemu (arguments)
 * @f:	stream
 * @cp:	result
 *
 * Return: number of arguments printed (space-separated, no newline)
 */
unsigned coldplug_print_raw_qemu(FILE *f, const struct coldplug *cp)
{
	unsigned n = 0;

	for (size_t i = 0; i < cp->n; i++) {
		const struct cp_item *it = &cp->items[i];

		if (it->kind != CP_GLOBAL)
			continue;
		fprintf(f, "%s-global %s.%s=%s", n ? " " : "", it->val[0], it->val[1], it->val[2]);
		n++;
	}
	return n;
}

/**
 * coldplug_to_json() - as JSON: items with their options, and notes
 * @cp:	result
 *
 * Return: new reference
 */
json_t *coldplug_to_json(const struct coldplug *cp)
{
	json_t *items = json_array(), *notes = json_array();

	for (size_t i = 0; i < cp->n; i++) {
		const struct cp_item *it = &cp->items[i];
		json_t *opts = json_object();

		for (unsigned k = 0; k < it->n; k++)
			json_object_set_new(opts, it->key[k], json_string(it->val[k]));
		json_array_append_new(items, json_pack("{s:s, s:s, s:o, s:s}", "group",
		                                       group_name(it->kind), "id", it->id,
		                                       "options", opts, "why", it->why));
	}
	for (size_t i = 0; i < cp->n_notes; i++)
		json_array_append_new(notes, json_string(cp->notes[i]));
	return json_pack("{s:o, s:o}", "items", items, "notes", notes);
}
