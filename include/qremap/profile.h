/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - profile.h: per-guest-OS remap profiles, loaded from YAML.
 *
 * A profile says what the guest can see and so what each Incus device must
 * become: which NICs go to usb-net (on which XHCI), which disks go to which
 * SATA placeholders, what to do about QEMU builds that rewrite the usb-net MAC,
 * how to treat a PCI unplug that ACPI holds until reset, and the timeouts.
 * The schema is documented in docs/profiles.md; it is versioned
 * ("qremap_profile: 1") and every mapping is strict: an unknown key or a
 * wrong type is an error at its exact file:line:col, with a hint.
 *
 * Device rules are ordered lists, first match wins, so later schema versions
 * can add targets ("hub", "usb-storage", ...) without changing existing files.
 */
#ifndef QREMAP_PROFILE_H
#define QREMAP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "qremap/error.h"

#define PROFILE_SCHEMA_VERSION   1
#define PROFILE_NAME_MAX         64
#define PROFILE_ID_MAX           128
#define PROFILE_MAX_RULES        32
#define PROFILE_MAX_PORTS        32
#define PROFILE_MAX_PLACEHOLDERS 32

/**
 * enum nic_target - what an Incus NIC becomes
 * @NIC_TO_LEAVE:	leave the NIC as Incus made it
 * @NIC_TO_USB_NET:	a usb-net frontend on an XHCI, fed by one fresh tap queue
 * @NIC_TO_HUB:		one fresh tap queue wired into the net hub of a NIC
 *			placeholder cold-plugged at QEMU start (docs/facts.md §8)
 */
enum nic_target {
	NIC_TO_LEAVE = 0,
	NIC_TO_USB_NET,
	NIC_TO_HUB,
};

/**
 * enum mac_policy - what to do when the QEMU build rewrites the usb-net MAC
 * @MAC_REFUSE:	refuse to remap (the guest would see another MAC than Incus set)
 * @MAC_WARN:	remap, and warn naming the MAC the guest will see
 */
enum mac_policy {
	MAC_REFUSE = 0,
	MAC_WARN,
};

/**
 * enum disk_target - what an Incus disk becomes
 * @DISK_TO_LEAVE:	leave the disk as Incus made it
 * @DISK_TO_SATA:	its block node moves to a cold-plugged ide-hd placeholder
 * @DISK_TO_VIRTIO_BLK:	its block node moves to a cold-plugged virtio-blk-pci
 *			placeholder (guests with the driver but no hotplug)
 * @DISK_TO_USB_STORAGE: a usb-storage device is hot-plugged on its block node
 */
enum disk_target {
	DISK_TO_LEAVE = 0,
	DISK_TO_SATA,
	DISK_TO_VIRTIO_BLK,
	DISK_TO_USB_STORAGE,
};

/**
 * enum acpi_unplug_policy - a virtio-pci original that ACPI won't let go before reset
 * @ACPI_VERIFY_AFTER_RESET:	accept: the original is emptied first (null disk,
 *				no netdev), then qremap resets the paused VM
 *				so ACPI completes the unplug, and verifies it
 * @ACPI_REFUSE:		refuse unless the VM uses native PCIe hotplug
 */
enum acpi_unplug_policy {
	ACPI_VERIFY_AFTER_RESET = 0,
	ACPI_REFUSE,
};

/**
 * struct profile_mark - where a value came from, for messages
 * @line:	1-based line
 * @col:	1-based column
 */
struct profile_mark {
	unsigned line;
	unsigned col;
};

/**
 * struct nic_rule - one entry of "nics:"
 * @match:	glob(7) on the Incus device name ("eth0") or the qdev id
 *		("dev-incus_eth0"); "*" matches every Incus NIC
 * @target:	what matching NICs become
 * @xhci:	qdev id of the XHCI controller, "" = the only one there is
 * @ports:	USB port numbers to use, in order; none = free USB 2 ports
 * @n_ports:	number of @ports
 * @mac_policy:	for QEMU builds that rewrite the usb-net MAC
 * @placeholders: hub: qdev ids of NIC placeholders to use in order; none =
 *		every NIC on a net hub with no backend yet
 * @n_placeholders: number of @placeholders
 * @model:	hub: the placeholder's NIC model ("" = any); "qremap config"
 *		creates placeholders of this model (e1000 if "")
 * @mac_mismatch: hub: what to do when the placeholder's MAC isn't Incus's
 * @at:		where the rule starts in the file
 */
struct nic_rule {
	char match[PROFILE_ID_MAX];
	enum nic_target target;
	char xhci[PROFILE_ID_MAX];
	unsigned ports[PROFILE_MAX_PORTS];
	size_t n_ports;
	enum mac_policy mac_policy;
	char placeholders[PROFILE_MAX_PLACEHOLDERS][PROFILE_ID_MAX];
	size_t n_placeholders;
	char model[32];
	enum mac_policy mac_mismatch;
	struct profile_mark at;
};

/**
 * struct disk_rule - one entry of "disks:"
 * @match:		glob on the Incus disk name ("root") or the qdev id
 * @target:		what matching disks become
 * @ahci:		sata: qdev id of the AHCI controller, "" = the only one
 * @placeholders:	sata, virtio-blk: qdev ids of placeholders to use in
 *			order; none = every empty placeholder (on @ahci for sata)
 * @n_placeholders:	number of @placeholders
 * @xhci:		usb-storage: qdev id of the XHCI controller, "" = the only one
 * @ports:		usb-storage: USB ports to use, in order; none = free USB 2 ports
 * @n_ports:		number of @ports
 * @at:			where the rule starts in the file
 */
struct disk_rule {
	char match[PROFILE_ID_MAX];
	enum disk_target target;
	char ahci[PROFILE_ID_MAX];
	char placeholders[PROFILE_MAX_PLACEHOLDERS][PROFILE_ID_MAX];
	size_t n_placeholders;
	char xhci[PROFILE_ID_MAX];
	unsigned ports[PROFILE_MAX_PORTS];
	size_t n_ports;
	struct profile_mark at;
};

/**
 * struct profile - a loaded profile
 * @path:		file it came from ("" if from a string)
 * @name:		"name:", required
 * @description:	"description:", optional, free text
 * @nics:		NIC rules, first match wins; unmatched NICs are left
 * @n_nics:		number of @nics
 * @disks:		disk rules, first match wins; unmatched disks are left
 * @n_disks:		number of @disks
 * @acpi_unplug:	"unplug: acpi:" policy
 * @qmp_timeout_ms:	"timeouts: qmp_ms:", per QMP command
 * @unplug_timeout_ms:	"timeouts: unplug_ms:", bound on each DEVICE_DELETED wait
 */
struct profile {
	char path[512];
	char name[PROFILE_NAME_MAX];
	char description[256];
	struct nic_rule nics[PROFILE_MAX_RULES];
	size_t n_nics;
	struct disk_rule disks[PROFILE_MAX_RULES];
	size_t n_disks;
	enum acpi_unplug_policy acpi_unplug;
	int qmp_timeout_ms;
	int unplug_timeout_ms;
};

#define PROFILE_NOFOLLOW 0x1u /* profile_load_path(): refuse symbolic links */

int profile_load_path(const char *path, unsigned flags, struct profile *p, struct qr_error *err);
int profile_load_file(const char *path, struct profile *p, struct qr_error *err);
int profile_load_string(const char *label, const char *yaml, size_t len, struct profile *p,
                        struct qr_error *err);
const struct nic_rule *profile_match_nic(const struct profile *p, const char *name,
                                         const char *qdev_id);
const struct disk_rule *profile_match_disk(const struct profile *p, const char *name,
                                           const char *qdev_id);
json_t *profile_to_json(const struct profile *p);
const char *const *profile_search_dirs(void);
int profile_resolve(const char *arg, char *buf, size_t len, struct qr_error *err);
int profile_resolve_name(const char *name, char *buf, size_t len, struct qr_error *err);
bool profile_name_valid(const char *name);
int profile_stored_name(const char *arg, const char *path, char *name, size_t len,
                        struct qr_error *err);
const char *nic_target_str(enum nic_target t);
const char *disk_target_str(enum disk_target t);
const char *mac_policy_str(enum mac_policy m);
const char *acpi_unplug_policy_str(enum acpi_unplug_policy a);

#endif /* QREMAP_PROFILE_H */
