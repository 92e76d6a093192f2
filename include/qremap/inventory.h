/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - inventory.h: what a (paused) VM has, as read over QMP
 *
 * The inventory is everything the planner needs, collected read-only:
 * QEMU version and run state, PCI hotplug mode, USB/SATA/SCSI controllers
 * and their free ports, every NIC with its netdev, queues and QEMU fd
 * numbers (from "info network") and the host tap behind them, and every
 * disk with its block node, format, backing file and size (query-block).
 *
 * Sources, all of which work in prelaunch (query-pci doesn't: secondary bus
 * numbers are 0 before firmware runs): query-status, query-name, qom-list
 * /machine/peripheral{,-anon}, qom-get (machine type, the ACPI device's
 * acpi-pci-hotplug-with-bridge-support, XHCI p2/p3, parent_bus),
 * query-block, HMP "info network" and "info usb".
 */
#ifndef QREMAP_INVENTORY_H
#define QREMAP_INVENTORY_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "qremap/error.h"
#include "qremap/qmp.h"
#include "qremap/tap.h"

#define INV_ID_MAX   128
#define INV_PATH_MAX 256
#define INV_VERSION  1 /* "qremap_inventory_version" in JSON; bump on breaking changes */

/**
 * enum hotplug_mode - how PCI(e) hotplug is handled on this machine
 * @HOTPLUG_UNKNOWN:	not a PC machine, or the property is missing
 * @HOTPLUG_ACPI:	ACPI PCI hotplug (q35 default since QEMU 6.1): an
 *			unplug in prelaunch completes only at the next reset
 * @HOTPLUG_NATIVE:	native PCIe hotplug: prelaunch unplugs complete at once
 */
enum hotplug_mode {
	HOTPLUG_UNKNOWN = 0,
	HOTPLUG_ACPI,
	HOTPLUG_NATIVE,
};

/**
 * struct inv_queue - one queue of a NIC or netdev
 * @index:	queue index
 * @qemu_fd:	QEMU's descriptor for a tap queue, -1 otherwise
 * @tap:	host view of that descriptor (valid if @qemu_fd >= 0)
 */
struct inv_queue {
	unsigned index;
	int qemu_fd;
	struct tap_queue_info tap;
};

/**
 * struct inv_backend - a netdev and its queues
 * @id:		netdev id
 * @type:	"tap", "hubport", "user", ...
 * @hub_id:	hub the netdev is connected to, -1 if none
 * @hub_port:	its hub port name
 * @n_queues:	number of queues
 * @queues:	queues by index
 * @tap:	host tap name, if every tap queue agrees on it
 * @attached:	queues known attached
 * @detached:	queues known detached
 * @unknown:	queues whose state is unknown
 */
struct inv_backend {
	char id[INV_ID_MAX];
	char type[32];
	int hub_id;
	char hub_port[INV_ID_MAX];
	unsigned n_queues;
	struct inv_queue *queues;
	char tap[IFNAMSIZ];
	unsigned attached;
	unsigned detached;
	unsigned unknown;
};

/**
 * struct inv_nic - a NIC frontend (qdev)
 * @id:		qdev id (the net client name)
 * @model:	device type, e.g. "virtio-net-pci"
 * @mac:	MAC address QEMU was given
 * @bus:	name of the bus it sits on ("" if unknown)
 * @n_queues:	NIC queues
 * @hub_id:	hub it is connected to, -1 if it peers a netdev directly
 * @hub_port:	its hub port name
 * @backend:	the netdev behind it (direct peer, or the hub's host-side
 *		port); @backend.id is empty if none
 * @incus:	created by Incus (id "dev-incus_*")
 */
struct inv_nic {
	char id[INV_ID_MAX];
	char model[64];
	char mac[18];
	char bus[INV_ID_MAX];
	unsigned n_queues;
	int hub_id;
	char hub_port[INV_ID_MAX];
	struct inv_backend backend;
	bool incus;
};

/**
 * enum ctrl_kind - controller families qremap cares about
 */
enum ctrl_kind {
	CTRL_USB,
	CTRL_SATA,
	CTRL_SCSI,
};

#define INV_MAX_USB_PORTS 32

/**
 * struct inv_usb_port - a claimed port of a USB bus
 * @bus_nr:	QEMU's number of the USB bus ("Device B.A" in "info usb"):
 *		unique per bus, never reused (hw/usb/bus.c, usb_bus_new())
 * @port:	port path, e.g. "1" or "1.2"
 * @device:	qdev id of the device on it ("" if anonymous)
 * @product:	product string from "info usb"
 */
struct inv_usb_port {
	unsigned bus_nr;
	char port[16];
	char device[INV_ID_MAX];
	char product[64];
};

/**
 * struct inv_controller - a USB, SATA or SCSI controller
 * @id:		qdev id
 * @driver:	device type
 * @kind:	family
 * @bus:	name of its (first) child bus: "<id>.0"
 * @ports:	USB: root ports on the bus (MAX(p2, p3) for XHCI); SATA: 6
 * @usb2_ports:	XHCI p2: root ports 1..p2 accept USB 1/2 devices
 * @usb3_ports:	XHCI p3
 * @n_used:	claimed USB ports / used SATA units
 * @used:	USB ports claimed
 */
struct inv_controller {
	char id[INV_ID_MAX];
	char driver[64];
	enum ctrl_kind kind;
	char bus[INV_ID_MAX + 4];
	unsigned ports;
	unsigned usb2_ports;
	unsigned usb3_ports;
	unsigned n_used;
	struct inv_usb_port used[INV_MAX_USB_PORTS];
};

/**
 * struct inv_disk - a block frontend and the node behind it
 * @id:		qdev id
 * @driver:	device type, e.g. "scsi-hd", "virtio-blk-pci", "ide-hd"
 * @bus:	name of the bus it sits on
 * @has_medium:	a node is inserted
 * @node:	node name of the inserted (top) node
 * @format:	that node's driver: "file", "raw", "qcow2", "null-co", ...
 * @file:	its filename, e.g. "/dev/fdset/0"
 * @fdset:	N for "/dev/fdset/N", else -1
 * @size:	virtual size in bytes
 * @read_only:	node is read-only
 * @cdrom:	a CD-ROM (removable media)
 * @incus:	created by Incus (id "dev-incus_*")
 * @placeholder: an ide-hd on a SATA controller holding a null-co node: a
 *		cold-plugged placeholder waiting for a real disk
 */
struct inv_disk {
	char id[INV_ID_MAX];
	char driver[64];
	char bus[INV_ID_MAX];
	bool has_medium;
	char node[INV_ID_MAX];
	char format[32];
	char file[512];
	int fdset;
	uint64_t size;
	bool read_only;
	bool cdrom;
	bool incus;
	bool placeholder;
};

/**
 * struct vm_inventory - everything qremap knows about a VM
 * @version:	QEMU version from the greeting
 * @name:	query-name ("" if unnamed)
 * @pid:	QEMU's pid (SO_PEERCRED or given), -1 if unknown
 * @runstate:	query-status, e.g. "prelaunch"
 * @machine:	machine type, e.g. "pc-q35-10.0-machine"
 * @hotplug:	PCI hotplug mode
 * @ctrl:	controllers
 * @n_ctrl:	count
 * @nics:	NICs
 * @n_nics:	count
 * @netdevs:	netdevs no NIC uses (after a NIC was deleted, say)
 * @n_netdevs:	count
 * @disks:	disks
 * @n_disks:	count
 * @tap_note:	why host tap details are missing, empty if complete
 */
struct vm_inventory {
	struct qmp_version version;
	char name[256];
	pid_t pid;
	char runstate[32];
	char machine[64];
	enum hotplug_mode hotplug;
	struct inv_controller *ctrl;
	size_t n_ctrl;
	struct inv_nic *nics;
	size_t n_nics;
	struct inv_backend *netdevs;
	size_t n_netdevs;
	struct inv_disk *disks;
	size_t n_disks;
	char tap_note[256];
};

/**
 * struct inventory_opts - how to collect
 * @pid:	QEMU's pid if known better than SO_PEERCRED, else 0
 * @proc:	QEMU held by its pidfd (qremapd), used instead of @pid; NULL
 *		to open one from @pid or SO_PEERCRED
 * @no_host:	don't look at host taps (no /proc, no pidfd)
 * @complete:	also ask what only a reader needs (qremap inspect): the VM's
 *		name, its machine type (planning reads it only when ACPI PCI
 *		hotplug is off) and the bus of every NIC and disk. Planning
 *		needs only the buses of IDE disks (AHCI ports) and of one
 *		device per USB bus, and each question is one more command
 *		QEMU runs (docs/performance.md)
 */
struct inventory_opts {
	pid_t pid;
	const struct qr_proc *proc;
	bool no_host;
	bool complete;
};

int inventory_collect(struct qmp_client *c, const struct inventory_opts *opts,
                      struct vm_inventory *inv, struct qr_error *err);
void inventory_free(struct vm_inventory *inv);

const char *hotplug_mode_str(enum hotplug_mode m);
const char *ctrl_kind_str(enum ctrl_kind k);
const char *tap_queue_state_str(enum tap_queue_state s);
const struct inv_nic *inventory_find_nic(const struct vm_inventory *inv, const char *id);
const struct inv_disk *inventory_find_disk(const struct vm_inventory *inv, const char *id);
const struct inv_controller *inventory_find_ctrl(const struct vm_inventory *inv, const char *id);
int inventory_usb_free_ports(const struct inv_controller *c, unsigned *ports, unsigned max);

json_t *inventory_to_json(const struct vm_inventory *inv);
void inventory_print(FILE *f, const struct vm_inventory *inv);

#endif /* QREMAP_INVENTORY_H */
