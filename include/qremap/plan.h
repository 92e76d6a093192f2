/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - plan.h: the planner: from a VM's inventory and a profile, the
 * exact list of steps that remaps it, each step with its undo.
 *
 * A plan has two phases. Phase A only adds things beside what Incus made
 * (a fresh tap queue, a new netdev, a usb-net frontend, a null block node, a
 * drive swap): every step has an undo, and undoing them all in reverse gives
 * back the VM as it was. Phase B ("commit") removes the originals: device_del
 * can't be taken back (an ACPI unplug, once requested, can't be cancelled),
 * so phase B only starts once phase A is complete, and a failure in it is
 * reported as the exact state reached rather than papered over.
 *
 * The planner does nothing to QEMU or the host; --dry-run prints its result.
 */
#ifndef QREMAP_PLAN_H
#define QREMAP_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "qremap/inventory.h"
#include "qremap/profile.h"

#define PLAN_MAX_QUEUES 256

/**
 * enum step_kind - what a step does
 * @STEP_TAP_QUEUE:	host: open one fresh queue on a NIC's tap
 * @STEP_QMP:		send @cmd with @args (getfd passes the NIC's fresh queue);
 *			undo by sending @undo_cmd with @undo_args
 * @STEP_DEVICE_DEL:	device_del @dev, then wait for DEVICE_DELETED, or note
 *			that ACPI holds it until reset
 * @STEP_TAP_DETACH:	host: detach the NIC's old queues that are still attached
 * @STEP_RESET:		system_reset the paused VM so pending ACPI unplugs
 *			complete, and wait for each DEVICE_DELETED
 * @STEP_VERIFY_NIC:	check the NIC's tap has exactly one attached queue,
 *			QEMU holds one fd for it, owned by the new netdev
 * @STEP_VERIFY_DISK:	check the disk's node has exactly one frontend, the
 *			placeholder, and the original device is gone
 */
enum step_kind {
	STEP_TAP_QUEUE,
	STEP_QMP,
	STEP_DEVICE_DEL,
	STEP_TAP_DETACH,
	STEP_RESET,
	STEP_VERIFY_NIC,
	STEP_VERIFY_DISK,
};

/**
 * struct plan_step - one step
 * @kind:		what it does
 * @commit:		part of phase B (no undo)
 * @nic:		index into plan->nics, or -1
 * @disk:		index into plan->disks, or -1
 * @cmd:		QMP command (STEP_QMP)
 * @args:		its arguments, or NULL
 * @pass_fd:		send the NIC's fresh queue with @cmd (getfd)
 * @undo_cmd:		QMP command that undoes it, or NULL if nothing to undo
 * @undo_args:		its arguments
 * @undo_wait_deleted:	after @undo_cmd (a device_del), wait for the device to go
 * @best_effort:	a failure is reported but does not fail the remap (tidying)
 * @until_reset:	STEP_DEVICE_DEL: ACPI holds this unplug until reset
 * @dev:		device for STEP_DEVICE_DEL and @undo_wait_deleted
 * @what:		one line for humans
 */
struct plan_step {
	enum step_kind kind;
	bool commit;
	int nic;
	int disk;
	char cmd[32];
	json_t *args;
	bool pass_fd;
	char undo_cmd[32];
	json_t *undo_args;
	bool undo_wait_deleted;
	bool best_effort;
	bool until_reset;
	char dev[INV_ID_MAX];
	char what[512];
};

/**
 * struct plan_nic - one NIC to remap
 * @name:	Incus device name ("eth0")
 * @orig_dev:	qdev id Incus gave it
 * @orig_model:	its model (virtio-net-pci)
 * @orig_netdev: its netdev
 * @tap:	host tap name
 * @old_fds:	QEMU's fd numbers of the old netdev's queues
 * @n_old:	number of @old_fds
 * @new_dev:	qdev id of the usb-net frontend
 * @new_netdev:	id of the new single-queue netdev
 * @fdname:	getfd name of the fresh queue
 * @mac:	configured MAC (kept)
 * @guest_mac:	MAC the guest will see (differs on QEMU builds that rewrite it)
 * @usb_bus:	usb-net: XHCI bus ("qemu_usb.0")
 * @port:	usb-net: USB root port
 * @target:	usb-net or hub
 * @hub_id:	hub: the placeholder's net hub
 * @hubport:	hub: id of the hub port qremap adds for the tap
 * @model:	the frontend the guest sees (usb-net, or the placeholder's model)
 * @unplug_at_reset: the original is on PCI under ACPI hotplug
 */
struct plan_nic {
	char name[64];
	char orig_dev[INV_ID_MAX];
	char orig_model[64];
	char orig_netdev[INV_ID_MAX];
	char tap[16];
	int old_fds[PLAN_MAX_QUEUES];
	unsigned n_old;
	char new_dev[INV_ID_MAX];
	char new_netdev[INV_ID_MAX];
	char fdname[INV_ID_MAX];
	char mac[18];
	char guest_mac[18];
	char usb_bus[INV_ID_MAX + 4];
	unsigned port;
	enum nic_target target;
	int hub_id;
	char hubport[INV_ID_MAX];
	char model[64];
	bool unplug_at_reset;
};

/**
 * struct plan_disk - one disk to remap
 * @name:		Incus device name ("root")
 * @orig_dev:		qdev id Incus gave it
 * @orig_driver:	its driver (scsi-hd, virtio-blk-pci)
 * @node:		the block node it uses (kept: one node, one frontend)
 * @null_node:		null-co node the original holds until it is gone
 * @placeholder:	qdev id of the new frontend: the ide-hd or virtio-blk
 *			placeholder, or the usb-storage device qremap adds
 * @placeholder_node:	node the placeholder held before (put back on undo)
 * @size:		bytes
 * @target:		sata, virtio-blk or usb-storage
 * @usb_bus:		usb-storage: XHCI bus
 * @port:		usb-storage: USB root port
 * @unplug_at_reset:	the original is on PCI under ACPI hotplug
 */
struct plan_disk {
	char name[64];
	char orig_dev[INV_ID_MAX];
	char orig_driver[64];
	char node[INV_ID_MAX];
	char null_node[INV_ID_MAX];
	char placeholder[INV_ID_MAX];
	char placeholder_node[INV_ID_MAX];
	uint64_t size;
	enum disk_target target;
	char usb_bus[INV_ID_MAX + 4];
	unsigned port;
	bool unplug_at_reset;
};

/**
 * enum plan_verdict - what the planner concluded
 * @PLAN_READY:		there are steps to apply
 * @PLAN_NOTHING:	nothing to do (already remapped, or nothing matches)
 * @PLAN_REFUSED:	profile and VM don't fit; @refusal says why and how to fix
 */
enum plan_verdict {
	PLAN_READY,
	PLAN_NOTHING,
	PLAN_REFUSED,
};

#define PLAN_MAX_NOTES 64

/**
 * struct plan - a plan
 * @verdict:	see enum plan_verdict
 * @refusal:	why it was refused (PLAN_REFUSED)
 * @notes:	things worth saying: devices left alone, already remapped, MAC
 * @n_notes:	number of @notes
 * @note_warns:	per note: it warns of something the user should know (a MAC
 *		the guest sees differently), rather than just informs
 * @steps:	the steps, phase A then phase B
 * @n_steps:	number of @steps
 * @nics:	NICs to remap
 * @n_nics:	number of @nics
 * @disks:	disks to remap
 * @n_disks:	number of @disks
 * @acpi_pending: some original only goes at reset (ACPI hotplug)
 * @qmp_timeout_ms:	from the profile
 * @unplug_timeout_ms:	from the profile
 */
struct plan {
	enum plan_verdict verdict;
	char refusal[1024];
	char notes[PLAN_MAX_NOTES][256];
	size_t n_notes;
	bool note_warns[PLAN_MAX_NOTES];
	struct plan_step *steps;
	size_t n_steps;
	struct plan_nic *nics;
	size_t n_nics;
	struct plan_disk *disks;
	size_t n_disks;
	bool acpi_pending;
	int qmp_timeout_ms;
	int unplug_timeout_ms;
};

int plan_build(const struct vm_inventory *inv, const struct profile *prof, struct plan *plan,
               struct qr_error *err);
void plan_free(struct plan *plan);
const char *plan_verdict_str(enum plan_verdict v);
const char *step_kind_str(enum step_kind k);

/* src/plan_print.c: presenting a plan */
void plan_step_describe(const struct plan_step *s, char *buf, size_t len);
json_t *plan_to_json(const struct plan *plan);
void plan_print(FILE *f, const struct plan *plan);

#endif /* QREMAP_PLAN_H */
