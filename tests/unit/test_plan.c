// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_plan.c: the planner's rules, table-driven, no QEMU
 *
 * plan_build() turns an inventory and a profile into steps or a refusal.
 * Its rules (a SATA placeholder of exactly the disk's size, free USB 2
 * ports, a hub placeholder of the right model and MAC, ACPI hotplug holding
 * an unplug until reset, what counts as already done) otherwise only show
 * against a real QEMU. Here each row of plan_rows[] is a small VM, built
 * from a few device specs by helpers, and the rules part of a profile; the
 * row says what the planner must conclude: the verdict, and either a
 * substring of the refusal (with one that must not be in it, where a
 * suggestion could name something the VM already has) or a few facts of the
 * plan: which placeholder or port each disk gets, which device each NIC
 * becomes, the steps in order, a note.
 *
 * Refusal substrings are plan.c's own words. test_rows_can_fail() breaks
 * each row's expectation in turn and checks that the row then fails, so no
 * row passes whatever the planner does.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qremap/log.h"
#include "qremap/plan.h"
#include "qremap/profile.h"
#include "qremap/util.h"
#include "testlib.h"

#define MIB(n) ((uint64_t)(n)*1048576u)

#define MAX_CTRL   3
#define MAX_NICS   4
#define MAX_DISKS  6
#define MAX_USED   4
#define MAX_MAPS   3
#define TAP_QUEUES 2

#define MAC_A  "10:66:6a:aa:bb:cc"
#define MAC_B  "10:66:6a:11:22:33"
#define MAC_A2 "40:66:6a:aa:bb:cc" /* MAC_A as a usb-net guest sees it on 10.0.2 */

/**
 * struct ctrl_spec - a controller of the test VM
 * @id:		qdev id (NULL ends the list)
 * @kind:	family
 * @ports:	USB: root ports; SATA: ports
 * @usb2:	XHCI p2
 * @usb3:	XHCI p3
 * @used:	USB root ports already claimed ("1", "2.1"), NULL-terminated
 */
struct ctrl_spec {
	const char *id;
	enum ctrl_kind kind;
	unsigned ports;
	unsigned usb2;
	unsigned usb3;
	const char *used[MAX_USED];
};

/**
 * struct nic_spec - a NIC of the test VM
 * @id:		qdev id (NULL ends the list); "dev-incus_*" is an Incus NIC
 * @model:	device type
 * @mac:	its MAC
 * @netdev:	the netdev behind it, NULL for none (a hub placeholder
 *		waiting for qremap)
 * @type:	that netdev's type ("tap", "user")
 * @hub:	hub it sits on, -1 if it peers @netdev directly
 */
struct nic_spec {
	const char *id;
	const char *model;
	const char *mac;
	const char *netdev;
	const char *type;
	int hub;
};

/**
 * struct disk_spec - a disk of the test VM
 * @id:		qdev id (NULL ends the list); "dev-incus_*" is an Incus disk
 * @driver:	device type
 * @bus:	bus it sits on
 * @node:	inserted node
 * @size:	bytes
 * @placeholder: a cold-plugged placeholder on a null-co node
 * @cdrom:	a CD-ROM
 */
struct disk_spec {
	const char *id;
	const char *driver;
	const char *bus;
	const char *node;
	uint64_t size;
	bool placeholder;
	bool cdrom;
};

/**
 * struct map - an expected fact of the plan: where a device goes
 * @name:	Incus device name ("root", "eth0"); NULL ends the list
 * @to:		the placeholder, usb-storage or usb-net device it becomes
 * @port:	the USB port it gets (0: not checked)
 */
struct map {
	const char *name;
	const char *to;
	unsigned port;
};

/**
 * struct plan_row - one (VM, profile) and what the planner must conclude
 * @name:	for messages
 * @hotplug:	PCI hotplug mode
 * @qemu:	QEMU version, "10.0.5" if NULL (keeps usb-net's MAC)
 * @runstate:	"prelaunch" if NULL
 * @ctrl:	controllers
 * @nics:	NICs
 * @disks:	disks
 * @rules:	the profile after its "qremap_profile" and "name" lines
 * @verdict:	expected verdict
 * @refusal:	PLAN_REFUSED: a substring of the refusal
 * @refusal_not: a substring the refusal must not have, or NULL
 * @disk_to:	PLAN_READY: where each planned disk goes; every planned disk
 *		must be listed
 * @nic_to:	PLAN_READY: the same for NICs
 * @steps:	PLAN_READY: every step in order, space-separated: the QMP
 *		command of a STEP_QMP, step_kind_str() of the others; NULL:
 *		not checked
 * @note:	a substring of some note, or NULL
 * @warns:	some note is a warning
 */
struct plan_row {
	const char *name;
	enum hotplug_mode hotplug;
	const char *qemu;
	const char *runstate;
	struct ctrl_spec ctrl[MAX_CTRL];
	struct nic_spec nics[MAX_NICS];
	struct disk_spec disks[MAX_DISKS];
	const char *rules;
	enum plan_verdict verdict;
	const char *refusal;
	const char *refusal_not;
	struct map disk_to[MAX_MAPS];
	struct map nic_to[MAX_MAPS];
	const char *steps;
	const char *note;
	bool warns;
};

/* Controllers: an AHCI with @n ports; Incus's XHCI with p2/p3 and claimed ports */
#define AHCI(id, n)                                                                                \
	{                                                                                          \
		(id), CTRL_SATA, (n), 0, 0,                                                        \
		{                                                                                  \
			NULL                                                                       \
		}                                                                                  \
	}
/* XHCI(p2, p3, claimed ports..., NULL) */
#define XHCI(p2, p3, ...)                                                                          \
	{                                                                                          \
		"qemu_usb", CTRL_USB, (p2) > (p3) ? (p2) : (p3), (p2), (p3),                       \
		{                                                                                  \
			__VA_ARGS__                                                                \
		}                                                                                  \
	}

/* NICs: Incus's (virtio-net-pci on a 2-queue tap), a hub placeholder with
 * no backend yet, one already wired to a netdev, and what an earlier
 * qremap run made
 */
#define INCUS_NIC(n, mac)                                                                          \
	{                                                                                          \
		"dev-incus_" n, "virtio-net-pci", (mac), "incus_" n, "tap", -1                     \
	}
#define HUB_PH(id, model, mac)                                                                     \
	{                                                                                          \
		(id), (model), (mac), NULL, NULL, 0                                                \
	}
#define HUB_PH_WIRED(id, model, mac)                                                               \
	{                                                                                          \
		(id), (model), (mac), "user0", "user", 0                                           \
	}
#define USBNET_DONE(n, mac)                                                                        \
	{                                                                                          \
		"dev-qremap_" n, "usb-net", (mac), "qremap_" n, "tap", -1                          \
	}

/* Disks: Incus's, and the cold-plugged placeholders qremap uses */
#define INCUS_SCSI(n, size)                                                                        \
	{                                                                                          \
		"dev-incus_" n, "scsi-hd", "qemu_scsi.0", "incus_" n, (size)                       \
	}
#define INCUS_VBLK(n, size)                                                                        \
	{                                                                                          \
		"dev-incus_" n, "virtio-blk-pci", "qemu_pcie5", "incus_" n, (size)                 \
	}
#define SATA_PH(k, port, size)                                                                     \
	{                                                                                          \
		"qremap_sata" #k, "ide-hd", "qremap_ahci." #port, "qremap_sata" #k "_null",        \
		        (size), true                                                               \
	}
#define VBLK_PH(k, size)                                                                           \
	{                                                                                          \
		"qremap_vblk" #k, "virtio-blk-pci", "qemu_pcie6", "qremap_vblk" #k "_null",        \
		        (size), true                                                               \
	}

/* Step sequences of the common plans */
#define STEPS_SATA_2                                                                               \
	"blockdev-add qom-set qom-set blockdev-add qom-set qom-set device-del device-del "         \
	"blockdev-del blockdev-del verify-disk verify-disk"
#define STEPS_USBNET                                                                               \
	"tap-queue getfd netdev_add device_add device-del netdev_del tap-detach verify-nic"
#define STEPS_HUB                                                                                  \
	"tap-queue getfd netdev_add netdev_add device-del netdev_del tap-detach verify-nic"

#define DISKS_SATA  "disks:\n  - match: \"*\"\n    to: sata\n"
#define DISKS_VBLK  "disks:\n  - match: \"*\"\n    to: virtio-blk\n"
#define NICS_USBNET "nics:\n  - match: \"*\"\n    to: usb-net\n"
#define NICS_HUB    "nics:\n  - match: \"*\"\n    to: hub\n    model: vmxnet3\n"
#define ACPI_REFUSE "unplug: {acpi: refuse}\n"

/* The table. */
static const struct plan_row plan_rows[] = {
        /* --- SATA: placeholders matched by size, whatever their order --- */
        {.name = "sata placeholders in the disks' order",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), INCUS_SCSI("data", MIB(32)), SATA_PH(0, 0, MIB(64)),
                   SATA_PH(1, 1, MIB(32))},
         .rules = DISKS_SATA,
         .verdict = PLAN_READY,
         .disk_to = {{"root", "qremap_sata0"}, {"data", "qremap_sata1"}},
         .steps = STEPS_SATA_2},
        {.name = "sata placeholders in the other order",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), INCUS_SCSI("data", MIB(32)), SATA_PH(0, 0, MIB(32)),
                   SATA_PH(1, 1, MIB(64))},
         .rules = DISKS_SATA,
         .verdict = PLAN_READY,
         .disk_to = {{"root", "qremap_sata1"}, {"data", "qremap_sata0"}},
         .steps = STEPS_SATA_2},
        {.name = "sata placeholders named by the profile, matched by size",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), SATA_PH(0, 0, MIB(64)), SATA_PH(1, 1, MIB(32)),
                   SATA_PH(2, 2, MIB(64))},
         .rules = "disks:\n  - match: root\n    to: sata\n"
                  "    placeholders: [qremap_sata1, qremap_sata2]\n",
         .verdict = PLAN_READY,
         .disk_to = {{"root", "qremap_sata2"}}},
        {.name = "sata placeholder of the wrong size",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), INCUS_SCSI("data", MIB(32)), SATA_PH(0, 0, MIB(16)),
                   SATA_PH(1, 1, MIB(32))},
         .rules = DISKS_SATA,
         .verdict = PLAN_REFUSED,
         .refusal = "disk root is 67108864 bytes but placeholder qremap_sata0 is 16777216 "
                    "bytes (SATA capacity is fixed when QEMU starts); recreate it with "
                    "-blockdev driver=null-co,node-name=qremap_sata0_null,size=67108864"},
        {.name = "no free sata placeholder: the suggestion takes a new id and port",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         /* qremap_sata1 is a user's disk on port 1, not a placeholder */
         .disks = {INCUS_SCSI("root", MIB(64)),
                   INCUS_SCSI("data", MIB(32)),
                   SATA_PH(0, 0, MIB(64)),
                   {"qremap_sata1", "ide-hd", "qremap_ahci.1", "user_disk", MIB(8)}},
         .rules = DISKS_SATA,
         .verdict = PLAN_REFUSED,
         .refusal = "disk data: no free SATA placeholder on qremap_ahci; create one of "
                    "exactly 33554432 bytes at QEMU start: -blockdev "
                    "driver=null-co,node-name=qremap_sata2_null,size=33554432,read-zeroes=on "
                    "-device ide-hd,id=qremap_sata2,drive=qremap_sata2_null,bus=qremap_ahci.2",
         .refusal_not = "id=qremap_sata1,"},
        {.name = "no free sata placeholder and no free AHCI port",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 1)},
         .disks = {INCUS_SCSI("root", MIB(64)), INCUS_SCSI("data", MIB(32)),
                   SATA_PH(0, 0, MIB(64))},
         .rules = DISKS_SATA,
         .verdict = PLAN_REFUSED,
         .refusal = "disk data: no free SATA placeholder on qremap_ahci, and all its 1 ports "
                    "are taken"},
        {.name = "sata without an AHCI",
         .hotplug = HOTPLUG_NATIVE,
         .disks = {INCUS_SCSI("root", MIB(64))},
         .rules = DISKS_SATA,
         .verdict = PLAN_REFUSED,
         .refusal = "root: the VM has no sata controller; add one at QEMU start "
                    "(-device ich9-ahci,id=qremap_ahci)"},
        {.name = "sata with two AHCIs and none named",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6), AHCI("other_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), SATA_PH(0, 0, MIB(64))},
         .rules = DISKS_SATA,
         .verdict = PLAN_REFUSED,
         .refusal = "root: the VM has 2 sata controllers; say which in the profile (ahci: ID)"},
        {.name = "sata placeholder on another AHCI than the profile's",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6), AHCI("other_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)),
                   {"qremap_sata0", "ide-hd", "other_ahci.0", "qremap_sata0_null", MIB(64), true}},
         .rules = "disks:\n  - match: \"*\"\n    to: sata\n    ahci: qremap_ahci\n",
         .verdict = PLAN_REFUSED,
         .refusal = "disk root: no free SATA placeholder on qremap_ahci"},

        /* --- virtio-blk: any size will do --- */
        {.name = "virtio-blk placeholder of another size",
         .hotplug = HOTPLUG_NATIVE,
         .disks = {INCUS_SCSI("root", MIB(64)), VBLK_PH(0, MIB(1))},
         .rules = DISKS_VBLK,
         .verdict = PLAN_READY,
         .disk_to = {{"root", "qremap_vblk0"}},
         .steps = "blockdev-add qom-set qom-set device-del blockdev-del verify-disk"},
        {.name = "no free virtio-blk placeholder: the suggestion takes a new id",
         .hotplug = HOTPLUG_NATIVE,
         .disks = {INCUS_SCSI("root", MIB(64)), INCUS_SCSI("data", MIB(32)), VBLK_PH(0, MIB(1))},
         .rules = DISKS_VBLK,
         .verdict = PLAN_REFUSED,
         .refusal = "disk data: no free virtio-blk placeholder; create one at QEMU start: "
                    "-blockdev driver=null-co,node-name=qremap_vblk1_null,size=33554432,"
                    "read-zeroes=on -device virtio-blk-pci,id=qremap_vblk1,"
                    "drive=qremap_vblk1_null",
         .refusal_not = "id=qremap_vblk0,"},
        {.name = "an ide-hd placeholder is no virtio-blk placeholder",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), SATA_PH(0, 0, MIB(64))},
         .rules = DISKS_VBLK,
         .verdict = PLAN_REFUSED,
         .refusal = "disk root: no free virtio-blk placeholder"},

        /* --- usb-net --- */
        {.name = "usb-net on the first free USB 2 port",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(4, 4, "1", NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_USBNET,
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "dev-qremap_eth0", 2}},
         .steps = STEPS_USBNET},
        {.name = "usb-net, a port behind a hub claims its root port",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(4, 4, "1", "2.1", NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A), INCUS_NIC("eth1", MAC_B)},
         .rules = NICS_USBNET,
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "dev-qremap_eth0", 3}, {"eth1", "dev-qremap_eth1", 4}}},
        {.name = "usb-net without a free USB 2 port",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(2, 4, "1", "2", NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_USBNET,
         .verdict = PLAN_REFUSED,
         .refusal = "eth0: no free USB 2 port on qemu_usb (2 USB 2 ports, 2 claimed); add an "
                    "XHCI with more at QEMU start"},
        {.name = "usb-net, the profile's port is a USB 3 port",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(2, 4, NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_USBNET "    ports: [3]\n",
         .verdict = PLAN_REFUSED,
         .refusal = "eth0: none of the profile's USB ports is a free USB 2 port of qemu_usb "
                    "(USB 2 ports: 1-2)"},
        {.name = "usb-net without an XHCI",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_USBNET,
         .verdict = PLAN_REFUSED,
         .refusal = "eth0: the VM has no usb controller; add one at QEMU start "
                    "(-device qemu-xhci,id=qremap_xhci,p2=8,p3=0)"},
        {.name = "usb-net on a QEMU that rewrites its MAC",
         .hotplug = HOTPLUG_NATIVE,
         .qemu = "10.0.2",
         .ctrl = {XHCI(4, 4, NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_USBNET,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth0: QEMU 10.0.2 shows a usb-net guest the MAC " MAC_A2
                    " instead of " MAC_A},
        {.name = "usb-net on a QEMU that rewrites its MAC, accepted",
         .hotplug = HOTPLUG_NATIVE,
         .qemu = "10.0.2",
         .ctrl = {XHCI(4, 4, NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_USBNET "    mac_rewritten: warn\n",
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "dev-qremap_eth0", 1}},
         .note = "NIC eth0: the guest will see MAC " MAC_A2 ", not " MAC_A,
         .warns = true},
        {.name = "usb-storage and usb-net share the XHCI's free ports",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(4, 4, "1", NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .disks = {INCUS_SCSI("root", MIB(64))},
         .rules = NICS_USBNET "disks:\n  - match: \"*\"\n    to: usb-storage\n",
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "dev-qremap_eth0", 2}},
         .disk_to = {{"root", "dev-qremap_root", 3}},
         .steps = "tap-queue getfd netdev_add device_add blockdev-add qom-set device_add "
                  "device-del netdev_del tap-detach device-del blockdev-del verify-nic "
                  "verify-disk"},

        /* --- hub placeholders --- */
        {.name = "hub placeholder of the profile's model",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), HUB_PH("qremap_nic0", "vmxnet3", MAC_A)},
         .rules = NICS_HUB,
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "qremap_nic0"}},
         .steps = STEPS_HUB},
        {.name = "hub placeholder of the wrong model",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), HUB_PH("qremap_nic0", "e1000", MAC_A)},
         .rules = NICS_HUB,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth0: placeholder qremap_nic0 is a e1000, but the profile wants model "
                    "vmxnet3"},
        {.name = "hub placeholder with another MAC",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), HUB_PH("qremap_nic0", "vmxnet3", MAC_B)},
         .rules = NICS_HUB,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth0: placeholder qremap_nic0 has MAC " MAC_B
                    ", but Incus gave this NIC " MAC_A},
        {.name = "hub placeholder with another MAC, accepted",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), HUB_PH("qremap_nic0", "vmxnet3", MAC_B)},
         .rules = NICS_HUB "    mac_mismatch: warn\n",
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "qremap_nic0"}},
         .steps = STEPS_HUB,
         .note = "NIC eth0: the guest will see placeholder qremap_nic0's MAC " MAC_B
                 ", not Incus's " MAC_A,
         .warns = true},
        {.name = "hub placeholder MAC compared without case",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), HUB_PH("qremap_nic0", "vmxnet3", "10:66:6A:AA:BB:CC")},
         .rules = NICS_HUB,
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "qremap_nic0"}}},
        /* Unlike SATA sizes, hub placeholders are taken in inventory order
         * (docs/profiles.md: "in order"), not matched by MAC
         */
        {.name = "hub placeholders in the other order than the NICs' MACs",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), INCUS_NIC("eth1", MAC_B),
                  HUB_PH("qremap_nic0", "vmxnet3", MAC_B), HUB_PH("qremap_nic1", "vmxnet3", MAC_A)},
         .rules = NICS_HUB,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth0: placeholder qremap_nic0 has MAC " MAC_B},
        {.name = "no hub placeholder",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_HUB,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth0: no free NIC placeholder on a net hub; create one at QEMU start, "
                    "e.g. -netdev hubport,id=qremap_nic0_hp,hubid=0 -device vmxnet3,"
                    "id=qremap_nic0,netdev=qremap_nic0_hp,mac=" MAC_A},
        {.name = "hub placeholders: two NICs, one placeholder",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), INCUS_NIC("eth1", MAC_B),
                  HUB_PH("qremap_nic0", "vmxnet3", MAC_A)},
         .rules = NICS_HUB,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth1: no free NIC placeholder on a net hub; create one at QEMU start, "
                    "e.g. -netdev hubport,id=qremap_nic1_hp,hubid=1 -device vmxnet3,"
                    "id=qremap_nic1,"},
        {.name = "no free hub placeholder: the suggestion takes a new id",
         .hotplug = HOTPLUG_NATIVE,
         .nics = {INCUS_NIC("eth0", MAC_A), HUB_PH_WIRED("qremap_nic0", "vmxnet3", MAC_A)},
         .rules = NICS_HUB,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth0: no free NIC placeholder on a net hub; create one at QEMU start, "
                    "e.g. -netdev hubport,id=qremap_nic1_hp,hubid=1 -device vmxnet3,"
                    "id=qremap_nic1,",
         .refusal_not = "id=qremap_nic0,"},

        /* --- PCI hotplug mode and "unplug: acpi:" --- */
        {.name = "native hotplug: no reset",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_VBLK("data", MIB(32)), SATA_PH(0, 0, MIB(32))},
         .rules = DISKS_SATA ACPI_REFUSE,
         .verdict = PLAN_READY,
         .disk_to = {{"data", "qremap_sata0"}},
         .steps = "blockdev-add qom-set qom-set device-del blockdev-del verify-disk"},
        {.name = "acpi hotplug: the virtio-pci original goes at reset",
         .hotplug = HOTPLUG_ACPI,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_VBLK("data", MIB(32)), SATA_PH(0, 0, MIB(32))},
         .rules = DISKS_SATA,
         .verdict = PLAN_READY,
         .disk_to = {{"data", "qremap_sata0"}},
         .steps = "blockdev-add qom-set qom-set device-del reset blockdev-del verify-disk"},
        {.name = "acpi hotplug: usb-net, the virtio-net original goes at reset",
         .hotplug = HOTPLUG_ACPI,
         .ctrl = {XHCI(4, 4, NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = NICS_USBNET,
         .verdict = PLAN_READY,
         .nic_to = {{"eth0", "dev-qremap_eth0", 1}},
         .steps = "tap-queue getfd netdev_add device_add device-del netdev_del tap-detach "
                  "reset verify-nic"},
        {.name = "acpi hotplug refused by the profile",
         .hotplug = HOTPLUG_ACPI,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_VBLK("data", MIB(32)), SATA_PH(0, 0, MIB(32))},
         .rules = DISKS_SATA ACPI_REFUSE,
         .verdict = PLAN_REFUSED,
         .refusal = "this VM uses ACPI PCI hotplug, under which a virtio-pci original is only "
                    "removed at reset; start QEMU with -global "
                    "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"},
        {.name = "unknown hotplug mode taken as acpi",
         .hotplug = HOTPLUG_UNKNOWN,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_VBLK("data", MIB(32)), SATA_PH(0, 0, MIB(32))},
         .rules = DISKS_SATA ACPI_REFUSE,
         .verdict = PLAN_REFUSED,
         .refusal = "this VM uses ACPI PCI hotplug"},
        {.name = "acpi hotplug refused, but a scsi-hd original is not on PCI",
         .hotplug = HOTPLUG_ACPI,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), SATA_PH(0, 0, MIB(64))},
         .rules = DISKS_SATA ACPI_REFUSE,
         .verdict = PLAN_READY,
         .disk_to = {{"root", "qremap_sata0"}},
         .steps = "blockdev-add qom-set qom-set device-del blockdev-del verify-disk"},

        /* --- nothing to do, and other refusals --- */
        {.name = "no rule matches",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6), XHCI(4, 4, NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .disks = {INCUS_SCSI("root", MIB(64)), SATA_PH(0, 0, MIB(64))},
         .rules = "nics:\n  - match: eth9\n    to: usb-net\n"
                  "disks:\n  - match: data\n    to: sata\n",
         .verdict = PLAN_NOTHING,
         .note = "disk root (scsi-hd): left alone, no profile rule matches it"},
        {.name = "rules that leave everything",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(4, 4, NULL)},
         .nics = {INCUS_NIC("eth0", MAC_A)},
         .rules = "nics:\n  - match: \"*\"\n    to: leave\n",
         .verdict = PLAN_NOTHING,
         .note = "NIC eth0 (virtio-net-pci): left alone, as the profile says"},
        {.name = "a CD-ROM is left alone",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {{"dev-incus_iso", "scsi-cd", "qemu_scsi.0", "incus_iso", MIB(4), false, true},
                   SATA_PH(0, 0, MIB(4))},
         .rules = DISKS_SATA,
         .verdict = PLAN_NOTHING,
         .note = "disk iso (scsi-cd): left alone, it is a CD-ROM"},
        {.name = "NIC already remapped to usb-net",
         .hotplug = HOTPLUG_ACPI,
         .ctrl = {XHCI(4, 4, "1", NULL)},
         .nics = {{"dev-incus_eth0", "virtio-net-pci", MAC_A, NULL, NULL, -1},
                  USBNET_DONE("eth0", MAC_A)},
         .rules = NICS_USBNET,
         .verdict = PLAN_NOTHING,
         .note = "NIC eth0: already remapped to dev-qremap_eth0 (the original goes at reset)"},
        {.name = "NIC already remapped, original gone",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(4, 4, "1", NULL)},
         .nics = {USBNET_DONE("eth0", MAC_A)},
         .rules = NICS_USBNET,
         .verdict = PLAN_NOTHING,
         .note = "NIC eth0: already remapped to dev-qremap_eth0"},
        {.name = "disk already remapped",
         .hotplug = HOTPLUG_ACPI,
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {{"dev-incus_data", "virtio-blk-pci", "qemu_pcie5", "qremap-null-data", MIB(32)},
                   {"qremap_sata0", "ide-hd", "qremap_ahci.0", "incus_data", MIB(32)}},
         .rules = DISKS_SATA,
         .verdict = PLAN_NOTHING,
         .note = "disk data: already remapped (the original dev-incus_data holds only "
                 "qremap-null-data and goes at reset)"},
        {.name = "a VM that has run",
         .hotplug = HOTPLUG_NATIVE,
         .runstate = "running",
         .ctrl = {AHCI("qremap_ahci", 6)},
         .disks = {INCUS_SCSI("root", MIB(64)), SATA_PH(0, 0, MIB(64))},
         .rules = DISKS_SATA,
         .verdict = PLAN_REFUSED,
         .refusal = "the VM is running; qremap only remaps a VM that has not run yet"},
        {.name = "a NIC that is not on a tap",
         .hotplug = HOTPLUG_NATIVE,
         .ctrl = {XHCI(4, 4, NULL)},
         .nics = {{"dev-incus_eth0", "virtio-net-pci", MAC_A, "incus_eth0", "user", -1}},
         .rules = NICS_USBNET,
         .verdict = PLAN_REFUSED,
         .refusal = "NIC eth0: its netdev incus_eth0 is 'user', not a tap"},
};

/**
 * struct vm - the storage behind one row's inventory
 * @ctrl:	controllers
 * @nics:	NICs
 * @queues:	each NIC's netdev queues
 * @disks:	disks
 * @inv:	the inventory over them (nothing in it to free)
 */
struct vm {
	struct inv_controller ctrl[MAX_CTRL];
	struct inv_nic nics[MAX_NICS];
	struct inv_queue queues[MAX_NICS][TAP_QUEUES];
	struct inv_disk disks[MAX_DISKS];
	struct vm_inventory inv;
};

/**
 * add_ctrl() - fill one controller from its spec
 * @c:	controller
 * @s:	spec
 */
static void add_ctrl(struct inv_controller *c, const struct ctrl_spec *s)
{
	memset(c, 0, sizeof(*c));
	str_copy(c->id, sizeof(c->id), s->id);
	str_copy(c->driver, sizeof(c->driver), s->kind == CTRL_USB ? "qemu-xhci" : "ich9-ahci");
	snprintf(c->bus, sizeof(c->bus), "%s.0", s->id);
	c->kind = s->kind;
	c->ports = s->ports;
	c->usb2_ports = s->usb2;
	c->usb3_ports = s->usb3;
	for (size_t i = 0; i < MAX_USED && s->used[i]; i++) {
		str_copy(c->used[i].port, sizeof(c->used[i].port), s->used[i]);
		str_copy(c->used[i].product, sizeof(c->used[i].product), "QEMU USB Tablet");
		c->n_used++;
	}
}

/**
 * add_nic() - fill one NIC from its spec
 * @n:		NIC
 * @q:		storage for its netdev's queues
 * @s:		spec
 * @index:	its place in the VM, for distinct fd numbers and tap names
 */
static void add_nic(struct inv_nic *n, struct inv_queue *q, const struct nic_spec *s,
                    unsigned index)
{
	memset(n, 0, sizeof(*n));
	str_copy(n->id, sizeof(n->id), s->id);
	str_copy(n->model, sizeof(n->model), s->model);
	str_copy(n->mac, sizeof(n->mac), s->mac);
	n->incus = str_has_prefix(s->id, "dev-incus_");
	n->hub_id = s->hub;
	n->backend.hub_id = -1;
	if (s->hub >= 0)
		snprintf(n->hub_port, sizeof(n->hub_port), "%s_hp", s->id);
	n->n_queues = 1;
	if (!s->netdev)
		return;
	str_copy(n->backend.id, sizeof(n->backend.id), s->netdev);
	str_copy(n->backend.type, sizeof(n->backend.type), s->type);
	n->backend.hub_id = s->hub;
	if (strcmp(s->type, "tap"))
		return;
	snprintf(n->backend.tap, sizeof(n->backend.tap), "tap%u", index);
	n->n_queues = TAP_QUEUES;
	n->backend.n_queues = TAP_QUEUES;
	n->backend.queues = q;
	n->backend.attached = TAP_QUEUES;
	for (unsigned i = 0; i < TAP_QUEUES; i++) {
		q[i].index = i;
		q[i].qemu_fd = (int)(60 + index * TAP_QUEUES + i);
	}
}

/**
 * add_disk() - fill one disk from its spec
 * @d:	disk
 * @s:	spec
 */
static void add_disk(struct inv_disk *d, const struct disk_spec *s)
{
	bool null_node = s->placeholder || str_has_prefix(s->node, "qremap-null-");

	memset(d, 0, sizeof(*d));
	str_copy(d->id, sizeof(d->id), s->id);
	str_copy(d->driver, sizeof(d->driver), s->driver);
	str_copy(d->bus, sizeof(d->bus), s->bus);
	str_copy(d->node, sizeof(d->node), s->node);
	str_copy(d->format, sizeof(d->format), null_node ? "null-co" : "file");
	d->has_medium = true;
	d->fdset = -1;
	d->size = s->size;
	d->cdrom = s->cdrom;
	d->placeholder = s->placeholder;
	d->incus = str_has_prefix(s->id, "dev-incus_");
}

/**
 * build_vm() - the inventory of a row's VM
 * @vm:	storage, filled
 * @r:	row
 */
static void build_vm(struct vm *vm, const struct plan_row *r)
{
	struct vm_inventory *inv = &vm->inv;

	memset(vm, 0, sizeof(*vm));
	inv->version = (struct qmp_version){.major = 10, .minor = 0, .micro = 5};
	if (r->qemu)
		sscanf(r->qemu, "%d.%d.%d", &inv->version.major, &inv->version.minor,
		       &inv->version.micro);
	inv->pid = -1;
	str_copy(inv->runstate, sizeof(inv->runstate), r->runstate ? r->runstate : "prelaunch");
	str_copy(inv->machine, sizeof(inv->machine), "pc-q35-10.0-machine");
	inv->hotplug = r->hotplug;
	for (size_t i = 0; i < MAX_CTRL && r->ctrl[i].id; i++)
		add_ctrl(&vm->ctrl[inv->n_ctrl++], &r->ctrl[i]);
	for (size_t i = 0; i < MAX_NICS && r->nics[i].id; i++, inv->n_nics++)
		add_nic(&vm->nics[i], vm->queues[i], &r->nics[i], (unsigned)i);
	for (size_t i = 0; i < MAX_DISKS && r->disks[i].id; i++)
		add_disk(&vm->disks[inv->n_disks++], &r->disks[i]);
	inv->ctrl = vm->ctrl;
	inv->nics = vm->nics;
	inv->disks = vm->disks;
}

/**
 * step_list() - a plan's steps as in plan_row.steps
 * @p:		plan
 * @buf:	result
 * @len:	size of @buf
 */
static void step_list(const struct plan *p, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n_steps && off < len; i++) {
		const struct plan_step *s = &p->steps[i];
		int n = snprintf(buf + off, len - off, "%s%s", i ? " " : "",
		                 s->kind == STEP_QMP ? s->cmd : step_kind_str(s->kind));

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/**
 * struct verdict_ctx - the mismatches of one row
 * @row:	its name
 * @quiet:	don't print them (test_rows_can_fail())
 * @n:		how many so far
 */
struct verdict_ctx {
	const char *row;
	bool quiet;
	unsigned n;
};

/**
 * mismatch() - record (and unless quiet, print) one mismatch of a row
 * @c:		the row's context
 * @fmt:	what differs, printf-style
 */
static void mismatch(struct verdict_ctx *c, const char *fmt, ...) _printf_(2, 3);
static void mismatch(struct verdict_ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->n++;
	if (c->quiet)
		return;
	fprintf(stderr, "row \"%s\": ", c->row);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/**
 * check_maps() - every planned device goes where the row says, and no other
 * @c:		the row's context
 * @what:	"disk" or "NIC"
 * @want:	the row's maps
 * @n:		number of planned devices
 * @name:	the i-th planned device's name
 * @to:		where it goes
 * @port:	its USB port (0 if none)
 * @p:		plan
 */
static void check_maps(struct verdict_ctx *c, const char *what, const struct map *want, size_t n,
                       const char *(*name)(const struct plan *, size_t),
                       const char *(*to)(const struct plan *, size_t),
                       unsigned (*port)(const struct plan *, size_t), const struct plan *p)
{
	size_t n_want = 0;

	while (n_want < MAX_MAPS && want[n_want].name)
		n_want++;
	if (n != n_want)
		mismatch(c, "%zu %ss planned, expected %zu", n, what, n_want);
	for (size_t k = 0; k < n_want; k++) {
		size_t i = 0;

		while (i < n && strcmp(name(p, i), want[k].name))
			i++;
		if (i == n) {
			mismatch(c, "%s %s is not in the plan", what, want[k].name);
			continue;
		}
		if (strcmp(to(p, i), want[k].to))
			mismatch(c, "%s %s goes to %s, expected %s", what, want[k].name, to(p, i),
			         want[k].to);
		if (want[k].port && port(p, i) != want[k].port)
			mismatch(c, "%s %s gets USB port %u, expected %u", what, want[k].name,
			         port(p, i), want[k].port);
	}
}

/* Accessors for check_maps() */
static const char *disk_name(const struct plan *p, size_t i)
{
	return p->disks[i].name;
}
static const char *disk_to(const struct plan *p, size_t i)
{
	return p->disks[i].placeholder;
}
static unsigned disk_port(const struct plan *p, size_t i)
{
	return p->disks[i].port;
}
static const char *nic_name(const struct plan *p, size_t i)
{
	return p->nics[i].name;
}
static const char *nic_to(const struct plan *p, size_t i)
{
	return p->nics[i].new_dev;
}
static unsigned nic_port(const struct plan *p, size_t i)
{
	return p->nics[i].port;
}

/**
 * check_row() - plan a row's VM with its profile and compare
 * @r:		row
 * @quiet:	count mismatches without printing them
 *
 * Return: number of mismatches (0: the planner did what the row says),
 *	   -1 if the row couldn't be run (said on stderr)
 */
static int check_row(const struct plan_row *r, bool quiet)
{
	struct verdict_ctx c = {.row = r->name, .quiet = quiet};
	char yaml[4096], steps[1024];
	struct qr_error err = {0};
	struct profile prof;
	struct plan plan;
	struct vm vm;
	bool warns = false, noted = false;

	snprintf(yaml, sizeof(yaml), "qremap_profile: 1\nname: t\n%s", r->rules);
	build_vm(&vm, r);
	if (profile_load_string(r->name, yaml, strlen(yaml), &prof, &err) < 0) {
		fprintf(stderr, "row \"%s\": profile: %s\n", r->name, err.msg);
		return -1;
	}
	if (plan_build(&vm.inv, &prof, &plan, &err) < 0) {
		fprintf(stderr, "row \"%s\": plan_build: %s\n", r->name, err.msg);
		plan_free(&plan);
		return -1;
	}
	if (plan.verdict != r->verdict)
		mismatch(&c, "verdict %s, expected %s%s%s", plan_verdict_str(plan.verdict),
		         plan_verdict_str(r->verdict),
		         plan.verdict == PLAN_REFUSED ? ": refused: " : "",
		         plan.verdict == PLAN_REFUSED ? plan.refusal : "");
	if (r->refusal && !strstr(plan.refusal, r->refusal))
		mismatch(&c, "refusal \"%s\" lacks \"%s\"", plan.refusal, r->refusal);
	if (r->refusal_not && strstr(plan.refusal, r->refusal_not))
		mismatch(&c, "refusal \"%s\" has \"%s\"", plan.refusal, r->refusal_not);
	if (r->verdict == PLAN_READY) {
		check_maps(&c, "disk", r->disk_to, plan.n_disks, disk_name, disk_to, disk_port,
		           &plan);
		check_maps(&c, "NIC", r->nic_to, plan.n_nics, nic_name, nic_to, nic_port, &plan);
	}
	if (r->steps) {
		step_list(&plan, steps, sizeof(steps));
		if (strcmp(steps, r->steps))
			mismatch(&c, "steps \"%s\", expected \"%s\"", steps, r->steps);
	}
	for (size_t i = 0; i < plan.n_notes; i++) {
		warns |= plan.note_warns[i];
		noted |= r->note && strstr(plan.notes[i], r->note);
	}
	if (r->note && !noted)
		mismatch(&c, "no note has \"%s\"", r->note);
	if (warns != r->warns)
		mismatch(&c, "%s warning note", warns ? "a" : "no");
	if (c.n && !quiet && getenv("QREMAP_TEST_VERBOSE"))
		plan_print(stderr, &plan);
	plan_free(&plan);
	return (int)c.n;
}

/* Every row: the planner concludes what the row says. */
static void test_plan_rows(void)
{
	log_set_level(LOG_LVL_ERROR);
	for (size_t i = 0; i < ARRAY_SIZE(plan_rows); i++) {
		int n = check_row(&plan_rows[i], false);

		test_failures += n < 0 ? 1 : n;
	}
}

/**
 * broken() - a row with one expectation broken
 * @r:		row
 * @what:	which: 0 the verdict, 1 the refusal or the first device's
 *		destination, 2 the steps or the note
 * @out:	result, a copy of @r; its strings may point into @buf
 * @buf:	room for a changed string
 * @len:	size of @buf
 *
 * Return: true if @what applies to @r
 */
static bool broken(const struct plan_row *r, int what, struct plan_row *out, char *buf, size_t len)
{
	*out = *r;
	switch (what) {
	case 0:
		out->verdict = r->verdict == PLAN_READY ? PLAN_NOTHING : PLAN_READY;
		return true;
	case 1:
		if (r->refusal) {
			snprintf(buf, len, "%s!", r->refusal);
			out->refusal = buf;
			return true;
		}
		if (r->disk_to[0].name) {
			snprintf(buf, len, "%sX", r->disk_to[0].to);
			out->disk_to[0].to = buf;
			return true;
		}
		if (r->nic_to[0].name) {
			snprintf(buf, len, "%sX", r->nic_to[0].to);
			out->nic_to[0].to = buf;
			return true;
		}
		return false;
	case 2:
		if (r->steps) {
			snprintf(buf, len, "%s verify-disk", r->steps);
			out->steps = buf;
			return true;
		}
		if (r->note) {
			snprintf(buf, len, "%s!", r->note);
			out->note = buf;
			return true;
		}
		return false;
	}
	return false;
}

/* Each row can fail: break each of its expectations in turn, and it does. */
static void test_rows_can_fail(void)
{
	log_set_level(LOG_LVL_ERROR);
	for (size_t i = 0; i < ARRAY_SIZE(plan_rows); i++) {
		for (int what = 0; what < 3; what++) {
			struct plan_row b;
			char buf[1024];

			if (!broken(&plan_rows[i], what, &b, buf, sizeof(buf)))
				continue;
			if (check_row(&b, true) > 0)
				continue;
			fprintf(stderr, "row \"%s\" passes with expectation %d broken\n",
			        plan_rows[i].name, what);
			test_failures++;
		}
	}
}

/* The table covers every verdict, and each row says something checkable. */
static void test_rows_are_complete(void)
{
	unsigned seen[3] = {0};

	for (size_t i = 0; i < ARRAY_SIZE(plan_rows); i++) {
		const struct plan_row *r = &plan_rows[i];

		seen[r->verdict]++;
		if (r->verdict == PLAN_REFUSED && !r->refusal) {
			fprintf(stderr, "row \"%s\": refused without a refusal text\n", r->name);
			test_failures++;
		}
		if (r->verdict == PLAN_READY && !r->disk_to[0].name && !r->nic_to[0].name) {
			fprintf(stderr, "row \"%s\": ready, but no device's place\n", r->name);
			test_failures++;
		}
		if (r->verdict == PLAN_NOTHING && !r->note) {
			fprintf(stderr, "row \"%s\": nothing to do, but no note\n", r->name);
			test_failures++;
		}
	}
	CHECK(seen[PLAN_READY] > 0);
	CHECK(seen[PLAN_NOTHING] > 0);
	CHECK(seen[PLAN_REFUSED] > 0);
}

TEST_MAIN(test_plan_rows, test_rows_can_fail, test_rows_are_complete)
