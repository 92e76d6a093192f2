// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - plan.c: the planner (see plan.h for the two phases and why)
 *
 * Naming: what qremap adds is called after the Incus device it replaces, with
 * "qremap" where Incus has "incus": netdev incus_eth0 -> qremap_eth0, device
 * dev-incus_eth0 -> dev-qremap_eth0. That makes a second run see at once what
 * is already done, and makes "info network" and qom-list readable.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "qremap/log.h"
#include "qremap/plan.h"
#include "qremap/quirks.h"
#include "qremap/table.h"

#define INCUS_DEV_PREFIX  "dev-incus_"
#define QREMAP_DEV_PREFIX "dev-qremap_"
#define NULL_NODE_PREFIX  "qremap-null-"

/* Add a note (devices left alone, warnings); silently capped. */
static void note(struct plan *p, const char *fmt, ...) _printf_(2, 3);
static void note(struct plan *p, const char *fmt, ...)
{
	va_list ap;

	if (p->n_notes >= PLAN_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(p->notes[p->n_notes++], sizeof(p->notes[0]), fmt, ap);
	va_end(ap);
}

/* Refuse the plan; the first reason wins, later ones are logged. */
static void refuse(struct plan *p, const char *fmt, ...) _printf_(2, 3);
static void refuse(struct plan *p, const char *fmt, ...)
{
	char buf[sizeof(p->refusal)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (p->verdict == PLAN_REFUSED) {
		log_debug("also refused: %s", buf);
		return;
	}
	p->verdict = PLAN_REFUSED;
	memcpy(p->refusal, buf, sizeof(buf));
}

/* Append a zeroed step; NULL (and the plan is refused) if out of memory. */
static struct plan_step *step_new(struct plan *p, enum step_kind kind, bool commit, int nic,
                                  int disk)
{
	struct plan_step *s, *ns = realloc(p->steps, (p->n_steps + 1) * sizeof(*s));

	if (!ns)
		return NULL;
	p->steps = ns;
	s = &ns[p->n_steps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->commit = commit;
	s->nic = nic;
	s->disk = disk;
	return s;
}

/*
 * A STEP_QMP with its undo; takes ownership of both argument objects. Every
 * step here has arguments, so NULL ones (json_pack() failed: out of memory,
 * or a format that doesn't match its values) fail the plan instead of
 * sending a command without them.
 */
static struct plan_step *step_qmp(struct plan *p, bool commit, int nic, int disk, const char *cmd,
                                  json_t *args, const char *undo_cmd, json_t *undo_args)
{
	struct plan_step *s =
	        args && (!undo_cmd || undo_args) ? step_new(p, STEP_QMP, commit, nic, disk) : NULL;

	if (!s) {
		json_decref(args);
		json_decref(undo_args);
		return NULL;
	}
	str_copy(s->cmd, sizeof(s->cmd), cmd);
	s->args = args;
	if (undo_cmd)
		str_copy(s->undo_cmd, sizeof(s->undo_cmd), undo_cmd);
	s->undo_args = undo_args;
	return s;
}

/* Whether a device sits on PCI, i.e. can be held back by ACPI hotplug. */
static bool is_pci_driver(const char *driver)
{
	return str_has_suffix(driver, "-pci") ||
	       !strcmp(driver, "virtio-net-pci-non-transitional") ||
	       !strcmp(driver, "virtio-blk-pci-non-transitional");
}

/* Whether an ACPI unplug of this device would wait for reset. */
static bool unplug_waits_for_reset(const struct vm_inventory *inv, const char *driver)
{
	/* Unknown mode: assume the slower one, which is also the safer one */
	return is_pci_driver(driver) && inv->hotplug != HOTPLUG_NATIVE;
}

/* The one controller of @kind, or the one named @id; refuses otherwise. */
static const struct inv_controller *pick_ctrl(struct plan *p, const struct vm_inventory *inv,
                                              enum ctrl_kind kind, const char *id,
                                              const char *subject, const char *key)
{
	const struct inv_controller *found = NULL;
	unsigned n = 0;

	if (id && id[0]) {
		found = inventory_find_ctrl(inv, id);
		if (!found || found->kind != kind) {
			refuse(p,
			       "%s: the profile's %s '%s' is not a %s controller of this VM; "
			       "see 'qremap inspect' for the controllers there are",
			       subject, key, id, ctrl_kind_str(kind));
			return NULL;
		}
		return found;
	}
	for (size_t i = 0; i < inv->n_ctrl; i++) {
		if (inv->ctrl[i].kind != kind)
			continue;
		found = &inv->ctrl[i];
		n++;
	}
	if (n == 1)
		return found;
	if (!n)
		refuse(p, "%s: the VM has no %s controller; add one at QEMU start (%s)", subject,
		       ctrl_kind_str(kind),
		       kind == CTRL_USB ? "-device qemu-xhci,id=qremap_xhci,p2=8,p3=0"
		                        : "-device ich9-ahci,id=qremap_ahci");
	else
		refuse(p, "%s: the VM has %u %s controllers; say which in the profile (%s: ID)",
		       subject, n, ctrl_kind_str(kind), key);
	return NULL;
}

/* Whether port @port of @xhci is already taken by an earlier NIC of the plan. */
static bool port_planned(const struct plan *p, const char *bus, unsigned port)
{
	for (size_t i = 0; i < p->n_nics; i++)
		if (p->nics[i].port == port && !strcmp(p->nics[i].usb_bus, bus))
			return true;
	for (size_t i = 0; i < p->n_disks; i++)
		if (p->disks[i].port == port && !strcmp(p->disks[i].usb_bus, bus))
			return true;
	return false;
}

/* Choose a USB 2 root port for usb-net (full speed: USB 3 ports refuse it). */
static unsigned pick_port(struct plan *p, const struct inv_controller *x, const unsigned *want,
                          size_t n_want, const char *subject)
{
	unsigned free_ports[INV_MAX_USB_PORTS];
	int nfree = inventory_usb_free_ports(x, free_ports, INV_MAX_USB_PORTS);
	unsigned usb2 = x->usb2_ports ? x->usb2_ports : x->ports;

	if (nfree > INV_MAX_USB_PORTS)
		nfree = INV_MAX_USB_PORTS;
	if (n_want) {
		for (size_t i = 0; i < n_want; i++) {
			bool is_free = false;

			for (int j = 0; j < nfree; j++)
				is_free |= free_ports[j] == want[i];
			if (is_free && want[i] <= usb2 && !port_planned(p, x->bus, want[i]))
				return want[i];
		}
		refuse(p,
		       "%s: none of the profile's USB ports is a free USB 2 port of %s "
		       "(USB 2 ports: 1-%u); pick free ones from 'qremap inspect'",
		       subject, x->id, usb2);
		return 0;
	}
	for (int j = 0; j < nfree; j++)
		if (free_ports[j] <= usb2 && !port_planned(p, x->bus, free_ports[j]))
			return free_ports[j];
	refuse(p,
	       "%s: no free USB 2 port on %s (%u USB 2 ports, %u claimed); add an XHCI "
	       "with more at QEMU start (-device qemu-xhci,id=qremap_xhci,p2=8,p3=0) and "
	       "name it in the profile (xhci: qremap_xhci)",
	       subject, x->id, usb2, x->n_used);
	return 0;
}

/* Warn, as a note users should see. */
static void warn_note(struct plan *p, const char *text)
{
	if (p->n_notes < PLAN_MAX_NOTES)
		p->note_warns[p->n_notes] = true;
	note(p, "%s", text);
}

/* Whether a NIC placeholder is already taken by an earlier NIC of the plan. */
static bool nic_placeholder_planned(const struct plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_nics; i++)
		if (p->nics[i].target == NIC_TO_HUB && !strcmp(p->nics[i].new_dev, id))
			return true;
	return false;
}

/*
 * The NIC placeholder for a hub rule: the ones it names, in order, else any
 * NIC not made by Incus that sits on a net hub with no backend yet.
 */
static const struct inv_nic *
pick_nic_placeholder(const struct plan *p, const struct vm_inventory *inv, const struct nic_rule *r)
{
	size_t n = r->n_placeholders ? r->n_placeholders : inv->n_nics;

	for (size_t k = 0; k < n; k++) {
		const struct inv_nic *c = r->n_placeholders
		                                  ? inventory_find_nic(inv, r->placeholders[k])
		                                  : &inv->nics[k];

		if (!c || c->incus || c->hub_id < 0 || c->backend.id[0])
			continue;
		if (!nic_placeholder_planned(p, c->id))
			return c;
	}
	return NULL;
}

/* usb-net: a USB 2 port, and what the guest will see as the MAC. */
static bool plan_nic_usb_net(struct plan *p, const struct vm_inventory *inv,
                             const struct nic_rule *r, struct plan_nic *pn)
{
	const struct inv_controller *x;
	char text[320];

	x = pick_ctrl(p, inv, CTRL_USB, r->xhci, pn->name, "xhci");
	if (!x)
		return false;
	pn->port = pick_port(p, x, r->ports, r->n_ports, pn->name);
	if (!pn->port)
		return false;
	snprintf(pn->usb_bus, sizeof(pn->usb_bus), "%s", x->bus);
	snprintf(pn->new_dev, sizeof(pn->new_dev), QREMAP_DEV_PREFIX "%.100s", pn->name);
	snprintf(pn->model, sizeof(pn->model), "usb-net");
	quirk_usbnet_guest_mac(&inv->version, pn->mac, pn->guest_mac);
	if (!strcmp(pn->mac, pn->guest_mac))
		return true;
	if (r->mac_policy == MAC_REFUSE) {
		refuse(p,
		       "NIC %s: QEMU %d.%d.%d shows a usb-net guest the MAC %s instead of "
		       "%s (its first byte is forced to 0x40); use a QEMU with the fix "
		       "(7.2.21, 10.0.5, 10.1.1, 10.2.0 or later), or accept it with "
		       "'mac_rewritten: warn' in the profile",
		       pn->name, inv->version.major, inv->version.minor, inv->version.micro,
		       pn->guest_mac, pn->mac);
		return false;
	}
	snprintf(text, sizeof(text),
	         "NIC %s: the guest will see MAC %s, not %s: QEMU %d.%d.%d forces 0x40 "
	         "into usb-net's MAC (DHCP reservations and MAC filters won't match)",
	         pn->name, pn->guest_mac, pn->mac, inv->version.major, inv->version.minor,
	         inv->version.micro);
	warn_note(p, text);
	return true;
}

/* Whether NIC qremap_nic<k> or netdev qremap_nic<k>_hp exists. */
static bool nic_slot_used(const struct vm_inventory *inv, size_t k)
{
	char id[64], hp[64];

	snprintf(id, sizeof(id), "qremap_nic%zu", k);
	snprintf(hp, sizeof(hp), "qremap_nic%zu_hp", k);
	if (inventory_find_nic(inv, id))
		return true;
	for (size_t i = 0; i < inv->n_netdevs; i++)
		if (!strcmp(inv->netdevs[i].id, hp))
			return true;
	return false;
}

/* Whether any NIC or netdev is connected to hub @hub. */
static bool hub_used(const struct vm_inventory *inv, int hub)
{
	for (size_t i = 0; i < inv->n_nics; i++)
		if (inv->nics[i].hub_id == hub)
			return true;
	for (size_t i = 0; i < inv->n_netdevs; i++)
		if (inv->netdevs[i].hub_id == hub)
			return true;
	return false;
}

/**
 * free_nic_slot() - an id number and a hub id no device or netdev uses yet
 * @inv:	inventory
 * @k:		lowest N with no NIC qremap_nic<N> and no netdev qremap_nic<N>_hp
 * @hub:	lowest hub id no NIC or netdev is connected to
 *
 * For the placeholder a refusal asks for: QEMU refuses a duplicate id, and a
 * placeholder must sit alone on its hub.
 */
static void free_nic_slot(const struct vm_inventory *inv, size_t *k, int *hub)
{
	for (*k = 0; nic_slot_used(inv, *k); (*k)++)
		;
	for (*hub = 0; hub_used(inv, *hub); (*hub)++)
		;
}

/* hub: a free NIC placeholder of the right model; its MAC is what the guest sees. */
static bool plan_nic_hub(struct plan *p, const struct vm_inventory *inv, const struct nic_rule *r,
                         struct plan_nic *pn)
{
	const struct inv_nic *ph = pick_nic_placeholder(p, inv, r);
	char text[320];

	if (!ph) {
		size_t k;
		int hub;

		free_nic_slot(inv, &k, &hub);
		refuse(p,
		       "NIC %s: no free NIC placeholder on a net hub%s; create one at QEMU start, "
		       "e.g. -netdev hubport,id=qremap_nic%zu_hp,hubid=%d -device %s,"
		       "id=qremap_nic%zu,netdev=qremap_nic%zu_hp,mac=%s ('qremap config' prints "
		       "it)",
		       pn->name, r->n_placeholders ? " among the profile's placeholders" : "", k,
		       hub, r->model[0] ? r->model : "e1000", k, k, pn->mac);
		return false;
	}
	if (r->model[0] && strcmp(r->model, ph->model)) {
		refuse(p,
		       "NIC %s: placeholder %s is a %s, but the profile wants model %s; create "
		       "the placeholder as -device %s, or change 'model' in the profile",
		       pn->name, ph->id, ph->model, r->model, r->model);
		return false;
	}
	str_copy(pn->new_dev, sizeof(pn->new_dev), ph->id);
	str_copy(pn->model, sizeof(pn->model), ph->model);
	str_copy(pn->guest_mac, sizeof(pn->guest_mac), ph->mac);
	pn->hub_id = ph->hub_id;
	snprintf(pn->hubport, sizeof(pn->hubport), "qremap_%.100s_hp", pn->name);
	if (strcasecmp(pn->mac, ph->mac)) {
		if (r->mac_mismatch == MAC_REFUSE) {
			refuse(p,
			       "NIC %s: placeholder %s has MAC %s, but Incus gave this NIC %s; "
			       "create the placeholder with mac=%s ('qremap config' does), or "
			       "accept it with 'mac_mismatch: warn' in the profile",
			       pn->name, ph->id, ph->mac, pn->mac, pn->mac);
			return false;
		}
		snprintf(
		        text, sizeof(text),
		        "NIC %.60s: the guest will see placeholder %.100s's MAC %s, not Incus's %s",
		        pn->name, ph->id, ph->mac, pn->mac);
		warn_note(p, text);
	}
	return true;
}

/* The NIC qremap made for Incus NIC @name, if an earlier run did. */
static const struct inv_nic *remapped_nic(const struct vm_inventory *inv, const char *name)
{
	char dev[INV_ID_MAX + 16], netdev[INV_ID_MAX + 16];

	snprintf(dev, sizeof(dev), QREMAP_DEV_PREFIX "%s", name);
	snprintf(netdev, sizeof(netdev), "qremap_%s", name);
	for (size_t i = 0; i < inv->n_nics; i++)
		if (!strcmp(inv->nics[i].id, dev) || !strcmp(inv->nics[i].backend.id, netdev))
			return &inv->nics[i];
	return NULL;
}

/* Plan one NIC; a refusal or note explains what isn't planned. */
static void plan_nic(struct plan *p, const struct vm_inventory *inv, const struct profile *prof,
                     const struct inv_nic *n)
{
	const char *name = n->id + strlen(INCUS_DEV_PREFIX);
	const struct inv_nic *done;
	const struct nic_rule *r;
	struct plan_nic *pn, *nn;
	bool ok;

	r = profile_match_nic(prof, name, n->id);
	if (!r || r->target == NIC_TO_LEAVE) {
		note(p, "NIC %s (%s): left alone, %s", name, n->model,
		     r ? "as the profile says" : "no profile rule matches it");
		return;
	}
	done = remapped_nic(inv, name);
	if (done) {
		note(p, "NIC %s: already remapped to %s (the original goes at reset)", name,
		     done->id);
		return;
	}
	if (strcmp(n->backend.type, "tap")) {
		refuse(p, "NIC %s: its netdev %s is '%s', not a tap; qremap only remaps tap NICs",
		       name, n->backend.id, n->backend.type);
		return;
	}
	if (n->backend.n_queues > PLAN_MAX_QUEUES || !n->backend.n_queues) {
		refuse(p, "NIC %s: netdev %s has %u queues, qremap handles 1 to %d", name,
		       n->backend.id, n->backend.n_queues, PLAN_MAX_QUEUES);
		return;
	}

	nn = realloc(p->nics, (p->n_nics + 1) * sizeof(*nn));
	if (!nn) {
		refuse(p, "out of memory");
		return;
	}
	p->nics = nn;
	pn = &nn[p->n_nics];
	memset(pn, 0, sizeof(*pn));
	pn->target = r->target;
	pn->hub_id = -1;
	str_copy(pn->name, sizeof(pn->name), name);
	str_copy(pn->orig_dev, sizeof(pn->orig_dev), n->id);
	str_copy(pn->orig_model, sizeof(pn->orig_model), n->model);
	str_copy(pn->orig_netdev, sizeof(pn->orig_netdev), n->backend.id);
	str_copy(pn->tap, sizeof(pn->tap), n->backend.tap);
	for (unsigned i = 0; i < n->backend.n_queues; i++)
		pn->old_fds[i] = n->backend.queues[i].qemu_fd;
	pn->n_old = n->backend.n_queues;
	snprintf(pn->new_netdev, sizeof(pn->new_netdev), "qremap_%.100s", name);
	snprintf(pn->fdname, sizeof(pn->fdname), "qremap_%.100s.fd", name);
	str_copy(pn->mac, sizeof(pn->mac), n->mac);

	ok = r->target == NIC_TO_HUB ? plan_nic_hub(p, inv, r, pn)
	                             : plan_nic_usb_net(p, inv, r, pn);
	if (!ok)
		return;
	pn->unplug_at_reset = unplug_waits_for_reset(inv, n->model);
	p->acpi_pending |= pn->unplug_at_reset;
	p->n_nics++;
}

/**
 * pick_placeholder() - a free placeholder for a disk
 * @p:		plan so far (placeholders other disks took)
 * @inv:	inventory
 * @r:		the disk's rule: the placeholders it names, else every one of
 *		the target's kind (an ide-hd on @ahci for sata, a
 *		virtio-blk-pci for virtio-blk), in inventory order
 * @ahci:	the AHCI controller for sata, NULL for virtio-blk
 * @size:	the disk's size: a free placeholder of exactly that size wins
 *		over an earlier one (0: the first free one)
 *
 * An ide-hd's capacity is fixed when QEMU creates it, so with disks of
 * different sizes the order of disks and placeholders must not decide;
 * "qremap incus enable" makes one of each disk's size. With no exact match
 * the first free one is returned, and the caller's size check names it.
 *
 * Return: the placeholder, NULL if none is free
 */
static const struct inv_disk *pick_placeholder(const struct plan *p, const struct vm_inventory *inv,
                                               const struct disk_rule *r,
                                               const struct inv_controller *ahci, uint64_t size)
{
	const char *driver = r->target == DISK_TO_SATA ? "ide-hd" : "virtio-blk-pci";
	const struct inv_disk *first = NULL;

	for (size_t k = 0; k < (r->n_placeholders ? r->n_placeholders : inv->n_disks); k++) {
		const struct inv_disk *d = r->n_placeholders
		                                   ? inventory_find_disk(inv, r->placeholders[k])
		                                   : &inv->disks[k];
		bool taken = false;

		if (!d || !d->placeholder || strcmp(d->driver, driver))
			continue;
		/* ide-hd on AHCI sits on bus "<ahci>.<port>" */
		if (ahci) {
			size_t bl = strlen(ahci->id);

			if (strncmp(d->bus, ahci->id, bl) || d->bus[bl] != '.')
				continue;
		}
		for (size_t i = 0; i < p->n_disks; i++)
			taken |= !strcmp(p->disks[i].placeholder, d->id);
		if (taken)
			continue;
		if (!size || d->size == size)
			return d;
		if (!first)
			first = d;
	}
	return first;
}

/**
 * free_index() - the lowest N for which no device of @inv is PREFIX<N>
 * @inv:	inventory
 * @prefix:	"qremap_sata" or "qremap_vblk"
 *
 * For the placeholder a refusal asks for: never one that exists already.
 *
 * Return: N
 */
static size_t free_index(const struct vm_inventory *inv, const char *prefix)
{
	char id[64];

	for (size_t k = 0;; k++) {
		snprintf(id, sizeof(id), "%s%zu", prefix, k);
		if (!inventory_find_disk(inv, id))
			return k;
	}
}

/* Whether a disk of @inv sits on port @port of @ahci (bus "<ahci>.<port>"). */
static bool port_used(const struct vm_inventory *inv, const struct inv_controller *ahci,
                      unsigned port)
{
	size_t bl = strlen(ahci->id);

	for (size_t i = 0; i < inv->n_disks; i++) {
		const char *b = inv->disks[i].bus;
		char *end;

		if (!strncmp(b, ahci->id, bl) && b[bl] == '.' &&
		    strtoul(b + bl + 1, &end, 10) == port && !*end)
			return true;
	}
	return false;
}

/**
 * free_port() - the lowest port of @ahci no disk of @inv sits on
 * @inv:	inventory
 * @ahci:	the AHCI controller
 *
 * Return: the port, or @ahci's port count if all are taken
 */
static unsigned free_port(const struct vm_inventory *inv, const struct inv_controller *ahci)
{
	unsigned port = 0;

	while (port < ahci->ports && port_used(inv, ahci, port))
		port++;
	return port;
}

/* sata / virtio-blk: a free placeholder (of exactly the disk's size for SATA). */
static bool plan_disk_placeholder(struct plan *p, const struct vm_inventory *inv,
                                  const struct disk_rule *r, const struct inv_disk *d,
                                  struct plan_disk *pd)
{
	const struct inv_controller *ahci = NULL;
	const struct inv_disk *ph;
	size_t k;

	if (r->target == DISK_TO_SATA) {
		ahci = pick_ctrl(p, inv, CTRL_SATA, r->ahci, pd->name, "ahci");
		if (!ahci)
			return false;
	}
	ph = pick_placeholder(p, inv, r, ahci, ahci ? d->size : 0);
	if (!ph && ahci) {
		unsigned port = free_port(inv, ahci);

		k = free_index(inv, "qremap_sata");
		if (port >= ahci->ports) {
			refuse(p,
			       "disk %s: no free SATA placeholder on %s, and all its %u ports are "
			       "taken; add another ich9-ahci for it at QEMU start",
			       pd->name, ahci->id, ahci->ports);
			return false;
		}
		refuse(p,
		       "disk %s: no free SATA placeholder on %s; create one of exactly %" PRIu64
		       " bytes at QEMU start: -blockdev "
		       "driver=null-co,node-name=qremap_sata%zu_null,"
		       "size=%" PRIu64 ",read-zeroes=on -device ide-hd,id=qremap_sata%zu,"
		       "drive=qremap_sata%zu_null,bus=%s.%u",
		       pd->name, ahci->id, d->size, k, d->size, k, k, ahci->id, port);
		return false;
	}
	if (!ph) {
		k = free_index(inv, "qremap_vblk");
		refuse(p,
		       "disk %s: no free virtio-blk placeholder; create one at QEMU start: "
		       "-blockdev driver=null-co,node-name=qremap_vblk%zu_null,size=%" PRIu64
		       ",read-zeroes=on -device virtio-blk-pci,id=qremap_vblk%zu,"
		       "drive=qremap_vblk%zu_null",
		       pd->name, k, d->size, k, k);
		return false;
	}
	if (ahci && ph->size != d->size) {
		/* IDE capacity is fixed at realize: a wrong-sized placeholder
		 * would show the guest a truncated (or zero-sized) disk
		 */
		refuse(p,
		       "disk %s is %" PRIu64 " bytes but placeholder %s is %" PRIu64
		       " bytes (SATA capacity is fixed when QEMU starts); recreate it with "
		       "-blockdev driver=null-co,node-name=%s,size=%" PRIu64 ",read-zeroes=on",
		       pd->name, d->size, ph->id, ph->size, ph->node, d->size);
		return false;
	}
	/* virtio-blk reads the capacity from its block backend when the guest
	 * asks, so any placeholder size works there
	 */
	str_copy(pd->placeholder, sizeof(pd->placeholder), ph->id);
	str_copy(pd->placeholder_node, sizeof(pd->placeholder_node), ph->node);
	return true;
}

/* usb-storage: a USB 2 port for a device qremap adds. */
static bool plan_disk_usb_storage(struct plan *p, const struct vm_inventory *inv,
                                  const struct disk_rule *r, struct plan_disk *pd)
{
	const struct inv_controller *x = pick_ctrl(p, inv, CTRL_USB, r->xhci, pd->name, "xhci");

	if (!x)
		return false;
	pd->port = pick_port(p, x, r->ports, r->n_ports, pd->name);
	if (!pd->port)
		return false;
	snprintf(pd->usb_bus, sizeof(pd->usb_bus), "%s", x->bus);
	snprintf(pd->placeholder, sizeof(pd->placeholder), QREMAP_DEV_PREFIX "%.100s", pd->name);
	return true;
}

/* Plan one disk. */
static void plan_disk(struct plan *p, const struct vm_inventory *inv, const struct profile *prof,
                      const struct inv_disk *d)
{
	const char *name = d->id + strlen(INCUS_DEV_PREFIX);
	const struct disk_rule *r;
	struct plan_disk *pd, *nd;
	bool ok;

	if (d->cdrom) {
		note(p, "disk %s (%s): left alone, it is a CD-ROM", name, d->driver);
		return;
	}
	r = profile_match_disk(prof, name, d->id);
	if (!r || r->target == DISK_TO_LEAVE) {
		note(p, "disk %s (%s): left alone, %s", name, d->driver,
		     r ? "as the profile says" : "no profile rule matches it");
		return;
	}
	if (str_has_prefix(d->node, NULL_NODE_PREFIX)) {
		note(p,
		     "disk %s: already remapped (the original %s holds only %s and goes at "
		     "reset)",
		     name, d->id, d->node);
		return;
	}
	if (!d->has_medium || !d->node[0]) {
		note(p, "disk %s (%s): left alone, it has no block node", name, d->driver);
		return;
	}
	nd = realloc(p->disks, (p->n_disks + 1) * sizeof(*nd));
	if (!nd) {
		refuse(p, "out of memory");
		return;
	}
	p->disks = nd;
	pd = &nd[p->n_disks];
	memset(pd, 0, sizeof(*pd));
	pd->target = r->target;
	str_copy(pd->name, sizeof(pd->name), name);
	str_copy(pd->orig_dev, sizeof(pd->orig_dev), d->id);
	str_copy(pd->orig_driver, sizeof(pd->orig_driver), d->driver);
	str_copy(pd->node, sizeof(pd->node), d->node);
	snprintf(pd->null_node, sizeof(pd->null_node), NULL_NODE_PREFIX "%.100s", name);
	pd->size = d->size;
	ok = r->target == DISK_TO_USB_STORAGE ? plan_disk_usb_storage(p, inv, r, pd)
	                                      : plan_disk_placeholder(p, inv, r, d, pd);
	if (!ok)
		return;
	pd->unplug_at_reset = unplug_waits_for_reset(inv, d->driver);
	p->acpi_pending |= pd->unplug_at_reset;
	p->n_disks++;
}

/* Note what an earlier run already finished (originals gone). */
static void note_finished(struct plan *p, const struct vm_inventory *inv)
{
	for (size_t i = 0; i < inv->n_nics; i++) {
		const struct inv_nic *n = &inv->nics[i];
		const char *name = n->backend.id + strlen("qremap_");
		char orig[INV_ID_MAX + 16];

		/* usb-net or hub placeholder: fed by netdev qremap_<name> */
		if (!str_has_prefix(n->backend.id, "qremap_"))
			continue;
		snprintf(orig, sizeof(orig), INCUS_DEV_PREFIX "%s", name);
		if (!inventory_find_nic(inv, orig))
			note(p, "NIC %s: already remapped to %s", name, n->id);
	}
	for (size_t i = 0; i < inv->n_disks; i++) {
		const struct inv_disk *d = &inv->disks[i];

		if (!d->incus && str_has_prefix(d->node, "incus_"))
			note(p, "disk %s: already remapped to %s", d->node + strlen("incus_"),
			     d->id);
	}
}

/* Add the steps for everything planned, phase A then phase B. */
static int add_steps(struct plan *p)
{
	struct plan_step *s;
	bool pending = false;

#define NEED(x)                                                                                    \
	do {                                                                                       \
		if (!(s = (x)))                                                                    \
			return -1;                                                                 \
	} while (0)

	for (size_t i = 0; i < p->n_nics; i++) {
		const struct plan_nic *n = &p->nics[i];
		int ni = (int)i;

		NEED(step_new(p, STEP_TAP_QUEUE, false, ni, -1));
		snprintf(s->what, sizeof(s->what), "open one fresh queue on tap %s", n->tap);
		NEED(step_qmp(p, false, ni, -1, "getfd", json_pack("{s:s}", "fdname", n->fdname),
		              "closefd", json_pack("{s:s}", "fdname", n->fdname)));
		s->pass_fd = true;
		snprintf(s->what, sizeof(s->what), "give QEMU the fresh queue as '%s'", n->fdname);
		NEED(step_qmp(p, false, ni, -1, "netdev_add",
		              json_pack("{s:s, s:s, s:s}", "type", "tap", "id", n->new_netdev, "fd",
		                        n->fdname),
		              "netdev_del", json_pack("{s:s}", "id", n->new_netdev)));
		snprintf(s->what, sizeof(s->what), "add single-queue netdev %s on it",
		         n->new_netdev);
		if (n->target == NIC_TO_HUB) {
			/* the placeholder's hub gets a port whose peer is the tap */
			NEED(step_qmp(p, false, ni, -1, "netdev_add",
			              json_pack("{s:s, s:s, s:i, s:s}", "type", "hubport", "id",
			                        n->hubport, "hubid", n->hub_id, "netdev",
			                        n->new_netdev),
			              "netdev_del", json_pack("{s:s}", "id", n->hubport)));
			snprintf(s->what, sizeof(s->what),
			         "wire %s into hub %d, where placeholder %s (%s) sits",
			         n->new_netdev, n->hub_id, n->new_dev, n->model);
			continue;
		}
		NEED(step_qmp(p, false, ni, -1, "device_add",
		              json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "driver", "usb-net", "id",
		                        n->new_dev, "netdev", n->new_netdev, "mac", n->mac, "bus",
		                        n->usb_bus, "port", json_sprintf("%u", n->port)),
		              "device_del", json_pack("{s:s}", "id", n->new_dev)));
		s->undo_wait_deleted = true;
		str_copy(s->dev, sizeof(s->dev), n->new_dev);
		snprintf(s->what, sizeof(s->what), "add usb-net %s on %s port %u", n->new_dev,
		         n->usb_bus, n->port);
	}
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct plan_disk *d = &p->disks[i];
		int di = (int)i;

		NEED(step_qmp(p, false, -1, di, "blockdev-add",
		              json_pack("{s:s, s:s, s:I, s:b}", "driver", "null-co", "node-name",
		                        d->null_node, "size", (json_int_t)d->size, "read-zeroes",
		                        1),
		              "blockdev-del", json_pack("{s:s}", "node-name", d->null_node)));
		snprintf(s->what, sizeof(s->what), "add null node %s for the original to hold",
		         d->null_node);
		NEED(step_qmp(p, false, -1, di, "qom-set",
		              json_pack("{s:s, s:s, s:s}", "path", d->orig_dev, "property", "drive",
		                        "value", d->null_node),
		              "qom-set",
		              json_pack("{s:s, s:s, s:s}", "path", d->orig_dev, "property", "drive",
		                        "value", d->node)));
		snprintf(s->what, sizeof(s->what), "take %s away from %s (it holds %s instead)",
		         d->node, d->orig_dev, d->null_node);
		if (d->target == DISK_TO_USB_STORAGE) {
			NEED(step_qmp(p, false, -1, di, "device_add",
			              json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "driver",
			                        "usb-storage", "id", d->placeholder, "drive",
			                        d->node, "bus", d->usb_bus, "port",
			                        json_sprintf("%u", d->port), "removable", 0),
			              "device_del", json_pack("{s:s}", "id", d->placeholder)));
			s->undo_wait_deleted = true;
			str_copy(s->dev, sizeof(s->dev), d->placeholder);
			snprintf(s->what, sizeof(s->what),
			         "add usb-storage %s on %s port %u for %s", d->placeholder,
			         d->usb_bus, d->port, d->node);
			continue;
		}
		NEED(step_qmp(p, false, -1, di, "qom-set",
		              json_pack("{s:s, s:s, s:s}", "path", d->placeholder, "property",
		                        "drive", "value", d->node),
		              "qom-set",
		              json_pack("{s:s, s:s, s:s}", "path", d->placeholder, "property",
		                        "drive", "value", d->placeholder_node)));
		snprintf(s->what, sizeof(s->what), "attach %s to placeholder %s", d->node,
		         d->placeholder);
	}

	/* Phase B: remove the originals. */
	for (size_t i = 0; i < p->n_nics; i++) {
		const struct plan_nic *n = &p->nics[i];
		int ni = (int)i;

		NEED(step_new(p, STEP_DEVICE_DEL, true, ni, -1));
		str_copy(s->dev, sizeof(s->dev), n->orig_dev);
		s->until_reset = n->unplug_at_reset;
		snprintf(s->what, sizeof(s->what), "remove %s (%s)", n->orig_dev, n->orig_model);
		/* QEMU lets a netdev go while its NIC waits for an ACPI
		 * unplug: the NIC keeps no peer, the tap fds are closed.
		 */
		NEED(step_qmp(p, true, ni, -1, "netdev_del",
		              json_pack("{s:s}", "id", n->orig_netdev), NULL, NULL));
		snprintf(s->what, sizeof(s->what), "delete the old netdev %s (%u queues)",
		         n->orig_netdev, n->n_old);
		NEED(step_new(p, STEP_TAP_DETACH, true, ni, -1));
		snprintf(s->what, sizeof(s->what), "detach the old queues of tap %s", n->tap);
	}
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct plan_disk *d = &p->disks[i];

		NEED(step_new(p, STEP_DEVICE_DEL, true, -1, (int)i));
		str_copy(s->dev, sizeof(s->dev), d->orig_dev);
		s->until_reset = d->unplug_at_reset;
		snprintf(s->what, sizeof(s->what), "remove %s (%s)", d->orig_dev, d->orig_driver);
	}
	pending = p->acpi_pending;
	if (pending) {
		NEED(step_new(p, STEP_RESET, true, -1, -1));
		snprintf(s->what, sizeof(s->what),
		         "reset the paused VM so ACPI completes the pending unplugs");
	}
	for (size_t i = 0; i < p->n_disks; i++) {
		const struct plan_disk *d = &p->disks[i];

		NEED(step_qmp(p, true, -1, (int)i, "blockdev-del",
		              json_pack("{s:s}", "node-name", d->null_node), NULL, NULL));
		s->best_effort = true;
		snprintf(s->what, sizeof(s->what), "delete null node %s", d->null_node);
	}
	for (size_t i = 0; i < p->n_nics; i++) {
		NEED(step_new(p, STEP_VERIFY_NIC, true, (int)i, -1));
		snprintf(s->what, sizeof(s->what),
		         "verify tap %s: one attached queue, one QEMU fd, owned by %s",
		         p->nics[i].tap, p->nics[i].new_netdev);
	}
	for (size_t i = 0; i < p->n_disks; i++) {
		NEED(step_new(p, STEP_VERIFY_DISK, true, -1, (int)i));
		snprintf(s->what, sizeof(s->what), "verify %s: only %s uses it, %s is gone",
		         p->disks[i].node, p->disks[i].placeholder, p->disks[i].orig_dev);
	}
#undef NEED
	return 0;
}

/**
 * plan_build() - plan the remap of a VM
 * @inv:	its inventory
 * @prof:	profile
 * @plan:	result; free with plan_free(), also after a failure
 * @err:	error object
 *
 * A VM the profile doesn't fit is not an error: the plan says PLAN_REFUSED
 * and why. Only running out of memory is.
 *
 * Return: 0 on success, -1 on failure
 */
int plan_build(const struct vm_inventory *inv, const struct profile *prof, struct plan *plan,
               struct qr_error *err)
{
	memset(plan, 0, sizeof(*plan));
	plan->verdict = PLAN_READY;
	plan->qmp_timeout_ms = prof->qmp_timeout_ms;
	plan->unplug_timeout_ms = prof->unplug_timeout_ms;

	if (strcmp(inv->runstate, "prelaunch") && strcmp(inv->runstate, "paused")) {
		refuse(plan,
		       "the VM is %s; qremap only remaps a VM that has not run yet (start "
		       "QEMU with -S, or use Incus's pre-start stage)",
		       inv->runstate[0] ? inv->runstate : "in an unknown state");
		return 0;
	}
	note_finished(plan, inv);
	for (size_t i = 0; i < inv->n_nics; i++)
		if (inv->nics[i].incus && str_has_prefix(inv->nics[i].id, INCUS_DEV_PREFIX))
			plan_nic(plan, inv, prof, &inv->nics[i]);
	for (size_t i = 0; i < inv->n_disks; i++)
		if (inv->disks[i].incus && str_has_prefix(inv->disks[i].id, INCUS_DEV_PREFIX))
			plan_disk(plan, inv, prof, &inv->disks[i]);

	if (plan->verdict == PLAN_READY && plan->acpi_pending && prof->acpi_unplug == ACPI_REFUSE) {
		refuse(plan,
		       "this VM uses ACPI PCI hotplug, under which a virtio-pci original is "
		       "only removed at reset; start QEMU with -global "
		       "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off (native PCIe "
		       "hotplug), or set 'unplug: {acpi: verify-after-reset}' in the profile");
	}
	if (plan->verdict == PLAN_REFUSED)
		return 0;
	if (!plan->n_nics && !plan->n_disks) {
		plan->verdict = PLAN_NOTHING;
		return 0;
	}
	if (add_steps(plan) < 0)
		return qr_err_sys(err, ENOMEM, "building the plan");
	return 0;
}

/**
 * plan_free() - free a plan's contents
 * @plan:	plan (the struct itself is the caller's)
 */
void plan_free(struct plan *plan)
{
	for (size_t i = 0; i < plan->n_steps; i++) {
		json_decref(plan->steps[i].args);
		json_decref(plan->steps[i].undo_args);
	}
	free(plan->steps);
	free(plan->nics);
	free(plan->disks);
	memset(plan, 0, sizeof(*plan));
}

static const char *const plan_verdict_names[] = {
        [PLAN_READY] = "ready",
        [PLAN_NOTHING] = "nothing-to-do",
        [PLAN_REFUSED] = "refused",
};

/**
 * plan_verdict_str() - a verdict's name, as in JSON
 * @v:	verdict
 *
 * Return: static string, "?" for a value that is no verdict
 */
const char *plan_verdict_str(enum plan_verdict v)
{
	return (size_t)v < ARRAY_SIZE(plan_verdict_names) && plan_verdict_names[v]
	               ? plan_verdict_names[v]
	               : "?";
}

static const char *const step_kind_names[] = {
        [STEP_TAP_QUEUE] = "tap-queue",
        [STEP_QMP] = "qmp",
        [STEP_DEVICE_DEL] = "device-del",
        [STEP_TAP_DETACH] = "tap-detach",
        [STEP_RESET] = "reset",
        [STEP_VERIFY_NIC] = "verify-nic",
        [STEP_VERIFY_DISK] = "verify-disk",
};

/**
 * step_kind_str() - a step kind's name, as in JSON
 * @k:	kind
 *
 * Return: static string, "?" for a value that is no kind
 */
const char *step_kind_str(enum step_kind k)
{
	return (size_t)k < ARRAY_SIZE(step_kind_names) && step_kind_names[k] ? step_kind_names[k]
	                                                                     : "?";
}
