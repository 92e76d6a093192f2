/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - coldplug.h: what must exist when QEMU starts for a profile to
 * apply: controllers, exact-size SATA placeholders, virtio-blk placeholders,
 * NIC placeholders on net hubs, qremap's own monitor, globals.
 *
 * Computed from a VM's Incus devices (its inventory) and a profile; printed
 * as QEMU arguments or as a -readconfig / Incus raw.qemu.conf fragment. The
 * fragment only adds sections with names of its own ("qremap..."): under
 * Incus's override rules a section with an existing name would change or,
 * when empty, delete one of Incus's, so none is ever emitted by accident.
 */
#ifndef QREMAP_COLDPLUG_H
#define QREMAP_COLDPLUG_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "qremap/error.h"
#include "qremap/inventory.h"
#include "qremap/profile.h"

#define CP_MAX_KEYS 8

/**
 * enum cp_kind - a QEMU option group
 * @CP_DRIVE:	-drive (null-co placeholder media; -blockdev has no
 *		-readconfig form)
 * @CP_NETDEV:	-netdev
 * @CP_DEVICE:	-device
 * @CP_CHARDEV:	-chardev
 * @CP_MON:	-mon
 * @CP_GLOBAL:	-global (arguments only: see coldplug_print_conf())
 */
enum cp_kind {
	CP_DRIVE,
	CP_NETDEV,
	CP_DEVICE,
	CP_CHARDEV,
	CP_MON,
	CP_GLOBAL,
};

/**
 * struct cp_item - one option group entry
 * @kind:	group
 * @id:		its id ("" for -global)
 * @key:	option names, in order (the first is the "type" for -netdev,
 *		"driver" for -device, "backend" for -chardev)
 * @val:	option values
 * @n:		number of options
 * @why:	one line for humans: what it is for
 */
struct cp_item {
	enum cp_kind kind;
	char id[INV_ID_MAX];
	char key[CP_MAX_KEYS][32];
	char val[CP_MAX_KEYS][160];
	unsigned n;
	char why[200];
};

/**
 * struct coldplug_opts - options
 * @monitor:	path of qremap's own QMP socket to add (server mode), or NULL
 * @client_monitor: path of qremapd's socket for QEMU to dial (client mode,
 *		reconnecting), or NULL
 * @reconnect_ms: spell the reconnect delay "reconnect-ms" (QEMU >= 9.2)
 * @disk_bootindex: for each disk of the inventory (same index), the
 *		bootindex its placeholder gets, -1 for none; NULL for none at all
 */
struct coldplug_opts {
	const char *monitor;
	const char *client_monitor;
	bool reconnect_ms;
	const int *disk_bootindex;
};

/**
 * struct coldplug - the result
 * @items:	entries, in creation order
 * @n:		number of @items
 * @notes:	things to tell the user (profile changes needed, ...)
 * @n_notes:	number of @notes
 */
struct coldplug {
	struct cp_item *items;
	size_t n;
	char notes[16][256];
	size_t n_notes;
};

int coldplug_build(const struct vm_inventory *inv, const struct profile *prof,
                   const struct coldplug_opts *opts, struct coldplug *cp, struct qr_error *err);
void coldplug_free(struct coldplug *cp);
int coldplug_check_conf_value(const char *what, const char *value, struct qr_error *err);
void coldplug_print_args(FILE *f, const struct coldplug *cp);
void coldplug_print_conf(FILE *f, const struct coldplug *cp);
unsigned coldplug_print_raw_qemu(FILE *f, const struct coldplug *cp);
json_t *coldplug_to_json(const struct coldplug *cp);

#endif /* QREMAP_COLDPLUG_H */
