// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - inventory.c: collect struct vm_inventory over QMP (read-only) */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "qremap/infonet.h"
#include "qremap/inventory.h"
#include "qremap/log.h"
#include "qremap/qmp_query.h"

/* USB buses known by one device's parent_bus; past that, each device's is asked */
#define USB_BUS_REPS 32

/**
 * struct usb_bus_rep - a USB bus, known through one device on it
 * @nr:		its number in "info usb" ("Device B.A")
 * @dev:	index in &struct qdev_list.e of a named device on it, whose
 *		parent_bus is asked
 */
struct usb_bus_rep {
	unsigned nr;
	size_t dev;
};

/**
 * struct qdev_list - the user-created devices, and where to find each one's bus
 * @e:		devices with an id (qom-list /machine/peripheral)
 * @bus_q:	per device, the index of its parent_bus query in @answers,
 *		-1 if not asked
 * @n:		number of @e
 * @answers:	the second round's answers, once run
 * @usb_reps:	USB buses by number, each with the device that names it
 * @n_usb_reps:	number of @usb_reps
 */
struct qdev_list {
	struct qq_qdev *e;
	int *bus_q;
	size_t n;
	const struct qq_batch *answers;
	struct usb_bus_rep usb_reps[USB_BUS_REPS];
	size_t n_usb_reps;
};

/* Device types qremap knows. Anything else is ignored by the inventory. */
static const char *const usb_xhci_types[] = {"qemu-xhci", "nec-usb-xhci"};
static const char *const sata_types[] = {"ich9-ahci"};
static const char *const scsi_types[] = {"virtio-scsi-pci",
                                         "virtio-scsi-pci-transitional",
                                         "virtio-scsi-pci-non-transitional",
                                         "lsi53c895a",
                                         "megasas",
                                         "megasas-gen2",
                                         "mptsas1068"};
static bool in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

#define IN_LIST(s, l) in_list(s, l, ARRAY_SIZE(l))

/* Devices */

/* Whether @d is a USB controller qremap knows */
static bool is_usb_ctrl(const struct qq_qdev *d)
{
	return IN_LIST(d->type, usb_xhci_types);
}

static const struct qq_qdev *find_qdev(const struct qdev_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->e[i].id, id))
			return &l->e[i];
	return NULL;
}

/* The device that names USB bus @nr, or NULL if none was picked */
static const struct qq_qdev *usb_bus_rep(const struct qdev_list *l, unsigned nr)
{
	for (size_t i = 0; i < l->n_usb_reps; i++)
		if (l->usb_reps[i].nr == nr)
			return &l->e[l->usb_reps[i].dev];
	return NULL;
}

/**
 * read_bus() - the name of the bus device @d sits on
 * @l:		devices, with the second round's answers
 * @d:		one of them
 * @bus:	result: the last component of its parent_bus link, "" if
 *		wanted_buses() did not ask for it
 * @size:	size of @bus
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int read_bus(const struct qdev_list *l, const struct qq_qdev *d, char *bus, size_t size,
                    struct qr_error *err)
{
	char busp[INV_PATH_MAX];
	const char *slash;
	int q = l->bus_q[d - l->e];

	bus[0] = '\0';
	if (q < 0)
		return 0;
	if (qq_string(l->answers, q, busp, sizeof(busp), err) < 0)
		return -1;
	slash = strrchr(busp, '/');
	str_copy(bus, size, slash ? slash + 1 : busp);
	return 0;
}

/**
 * struct first_round - the queries that need no other answer, by index
 * @status:	query-status
 * @name:	query-name, or -1 (only a reader needs it)
 * @type:	/machine's type, or -1 (planning needs it only when @hotplug is
 *		false: then the second round asks)
 * @hotplug:	acpi-pci-hotplug-with-bridge-support of the ACPI device, asked
 *		through /machine's "acpi-device" link (QOM paths follow links)
 * @peripheral:	qom-list /machine/peripheral
 * @network:	HMP "info network"
 * @block:	query-block
 * @usb:	HMP "info usb" (only read when there is a USB controller: else
 *		it says "USB support not enabled")
 *
 * Devices created without an id (/machine/peripheral-anon) are not asked
 * for: nothing could name them in a command, so nothing here reads them.
 */
struct first_round {
	int status, name, type, hotplug, peripheral, network, block, usb;
};

/**
 * struct second_round - the queries that need the first round's answers
 * @type:	/machine's type, if the first round did not ask and ACPI PCI
 *		hotplug is off; else -1
 * @ports:	per controller, its qom-get of "p2" (and "p3" after it), or -1
 */
struct second_round {
	int type;
	int *ports;
};

/* Machine-level facts */

/**
 * collect_machine() - run state, name, machine type and ACPI PCI hotplug
 * @r1:		first round, run
 * @q:		its indices
 * @inv:	inventory being filled
 * @acpi_off:	result: the ACPI device says ACPI PCI hotplug is off, so the
 *		machine type decides (collect_hotplug())
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int collect_machine(const struct qq_batch *r1, const struct first_round *q,
                           struct vm_inventory *inv, bool *acpi_off, struct qr_error *err)
{
	json_t *ret;
	struct qr_error e2;
	bool on;

	if (qq_answer(r1, q->status, &ret, err) < 0)
		return -1;
	str_copy(inv->runstate, sizeof(inv->runstate),
	         str_or(json_string_value(json_object_get(ret, "status")), "unknown"));
	if (q->name >= 0) {
		if (qq_answer(r1, q->name, &ret, err) < 0)
			return -1;
		str_copy(inv->name, sizeof(inv->name),
		         str_or(json_string_value(json_object_get(ret, "name")), ""));
	}
	if (q->type >= 0 && qq_string(r1, q->type, inv->machine, sizeof(inv->machine), err) < 0)
		return -1;

	/*
	 * PC machines link their ACPI PM device (ICH9-LPC on q35, PIIX4_PM on
	 * pc) as /machine's "acpi-device"; its acpi-pci-hotplug-with-bridge-
	 * support property says whether ACPI or native PCIe hotplug handles
	 * bridges and root ports (hw/i386/pc_q35.c, hw/acpi/ich9.c). No link
	 * or no property: the mode is unknown.
	 */
	inv->hotplug = HOTPLUG_UNKNOWN;
	*acpi_off = false;
	if (qq_bool(r1, q->hotplug, &on, &e2) < 0)
		log_debug("no ACPI PCI hotplug property: %s", e2.msg);
	else if (on)
		inv->hotplug = HOTPLUG_ACPI;
	else
		*acpi_off = true;
	return 0;
}

/**
 * collect_hotplug() - with ACPI PCI hotplug off, the mode the machine type gives
 * @r2:		second round, run
 * @q:		its indices
 * @inv:	inventory being filled: its machine type, if the second round
 *		asked for it
 * @acpi_off:	what collect_machine() found
 * @err:	error object
 *
 * q35 then uses native PCIe hotplug; on pc it stays unknown.
 *
 * Return: 0 on success, -1 on failure
 */
static int collect_hotplug(const struct qq_batch *r2, const struct second_round *q,
                           struct vm_inventory *inv, bool acpi_off, struct qr_error *err)
{
	if (q->type >= 0 && qq_string(r2, q->type, inv->machine, sizeof(inv->machine), err) < 0)
		return -1;
	if (acpi_off && strstr(inv->machine, "q35"))
		inv->hotplug = HOTPLUG_NATIVE;
	return 0;
}

/* Controllers */

static struct inv_controller *add_ctrl(struct vm_inventory *inv, struct qr_error *err)
{
	struct inv_controller *n = realloc(inv->ctrl, (inv->n_ctrl + 1) * sizeof(*n));

	if (!n) {
		qr_err_sys(err, ENOMEM, "controller list");
		return NULL;
	}
	inv->ctrl = n;
	memset(&n[inv->n_ctrl], 0, sizeof(*n));
	return &n[inv->n_ctrl++];
}

/**
 * find_controllers() - the controllers qremap knows, and the queries their ports need
 * @devs:	user-created devices
 * @inv:	inventory being filled: gets the controllers
 * @r2:		second round being built: gets XHCI p2/p3 queries
 * @q:		its indices: @q->ports, one per controller
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int find_controllers(const struct qdev_list *devs, struct vm_inventory *inv,
                            struct qq_batch *r2, struct second_round *q, struct qr_error *err)
{
	for (size_t i = 0; i < devs->n; i++) {
		const struct qq_qdev *d = &devs->e[i];
		struct inv_controller *ct;
		char path[INV_PATH_MAX];
		int *np;

		if (!IN_LIST(d->type, usb_xhci_types) && !IN_LIST(d->type, sata_types) &&
		    !IN_LIST(d->type, scsi_types))
			continue;
		ct = add_ctrl(inv, err);
		np = ct ? realloc(q->ports, inv->n_ctrl * sizeof(*np)) : NULL;
		if (!np)
			return ct ? qr_err_sys(err, ENOMEM, "controller list") : -1;
		q->ports = np;
		q->ports[inv->n_ctrl - 1] = -1;
		str_copy(ct->id, sizeof(ct->id), d->id);
		str_copy(ct->driver, sizeof(ct->driver), d->type);
		snprintf(ct->bus, sizeof(ct->bus), "%s.0", d->id);
		qq_qdev_path(path, sizeof(path), d->id);
		if (is_usb_ctrl(d)) {
			ct->kind = CTRL_USB;
			q->ports[inv->n_ctrl - 1] = qq_add_qom_get(r2, path, "p2", err);
			if (q->ports[inv->n_ctrl - 1] < 0 ||
			    qq_add_qom_get(r2, path, "p3", err) < 0)
				return -1;
		} else if (IN_LIST(d->type, sata_types)) {
			ct->kind = CTRL_SATA;
			ct->ports = 6; /* ICH9 AHCI: buses <id>.0 .. <id>.5 */
		} else {
			ct->kind = CTRL_SCSI;
		}
	}
	return 0;
}

/**
 * collect_usb_sizes() - each XHCI's root ports, from its p2 and p3
 * @r2:		second round, run
 * @q:		its indices
 * @inv:	inventory being filled
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int collect_usb_sizes(const struct qq_batch *r2, const struct second_round *q,
                             struct vm_inventory *inv, struct qr_error *err)
{
	for (size_t i = 0; i < inv->n_ctrl; i++) {
		struct inv_controller *ct = &inv->ctrl[i];

		if (ct->kind != CTRL_USB || !q->ports) /* find_controllers() sets both */
			continue;
		if (qq_uint(r2, q->ports[i], &ct->usb2_ports, err) < 0 ||
		    qq_uint(r2, q->ports[i] + 1, &ct->usb3_ports, err) < 0)
			return -1;
		/* hw/usb/hcd-xhci.c: the bus gets MAX(p2, p3) ports, 1..p2
		 * usable by USB 1/2 devices (p2, p3 capped at 15)
		 */
		ct->usb2_ports = ct->usb2_ports > 15 ? 15 : ct->usb2_ports;
		ct->usb3_ports = ct->usb3_ports > 15 ? 15 : ct->usb3_ports;
		ct->ports = ct->usb2_ports > ct->usb3_ports ? ct->usb2_ports : ct->usb3_ports;
	}
	return 0;
}

/**
 * usb_line_next() - the next device of "info usb"
 * @text:	where to read from; advanced past the line
 * @u:		result: its port, product and id ("" for an anonymous device)
 * @err:	error object
 *
 * A line is "  Device B.A, Port P, Speed S Mb/s, Product NAME[, ID: id]"
 * (hw/usb/bus.c), B the bus's number; blank lines are skipped. The one
 * parser of that text: wanted_buses() and collect_usb_ports() both read it
 * through here.
 *
 * Return: 1 with @u filled, 0 at the end, -1 on a line of another shape
 */
static int usb_line_next(const char **text, struct inv_usb_port *u, struct qr_error *err)
{
	const char *t = *text + strspn(*text, "\r\n"), *p, *q;
	size_t ll = strcspn(t, "\r\n");
	unsigned long long nr;
	char line[512], *dot;
	bool bad_nr;

	if (!*t)
		return 0;
	*text = t + ll;
	memset(u, 0, sizeof(*u));
	snprintf(line, sizeof(line), "%.*s", (int)ll, t);
	p = strstr(line, ", Port ");
	if (strncmp(line, "  Device ", 9) || !p)
		return qr_err_set(err, QR_ERR_PARSE, "info usb: unexpected line \"%.80s\"", line);
	dot = strchr(line + 9, '.');
	if (!dot || dot > p)
		return qr_err_set(err, QR_ERR_PARSE, "info usb: no bus number in \"%.80s\"", line);
	*dot = '\0';
	bad_nr = parse_uint(line + 9, UINT_MAX, &nr) < 0;
	*dot = '.';
	if (bad_nr)
		return qr_err_set(err, QR_ERR_PARSE, "info usb: bad bus number in \"%.80s\"", line);
	u->bus_nr = (unsigned)nr;
	p += 7;
	q = strchr(p, ',');
	if (!q || (size_t)(q - p) >= sizeof(u->port))
		return qr_err_set(err, QR_ERR_PARSE, "info usb: bad port in \"%.80s\"", line);
	memcpy(u->port, p, (size_t)(q - p));
	p = strstr(q, ", Product ");
	if (p) {
		p += 10;
		q = strstr(p, ", ID: ");
		snprintf(u->product, sizeof(u->product), "%.*s",
		         (int)(q ? (size_t)(q - p) : strlen(p)), p);
		if (q && !str_copy(u->device, sizeof(u->device), q + 6))
			return qr_err_set(err, QR_ERR_PARSE, "info usb: id too long");
	}
	return 1;
}

/*
 * The USB ports in use, from "info usb" (@usb, NULL without a USB
 * controller). Ports are mapped to controllers through the bus number:
 * every device of a bus sits where the device that names it does
 * (wanted_buses()). A device on a bus with no named device can only be
 * placed when there is one USB controller.
 */
static int collect_usb_ports(const char *usb, const struct qdev_list *devs,
                             struct vm_inventory *inv, struct qr_error *err)
{
	struct inv_controller *only = NULL;
	struct inv_usb_port u;
	unsigned n_usb = 0;
	int r;

	for (size_t i = 0; i < inv->n_ctrl; i++) {
		if (inv->ctrl[i].kind == CTRL_USB) {
			only = &inv->ctrl[i];
			n_usb++;
		}
	}
	if (!n_usb || !usb)
		return 0;
	while ((r = usb_line_next(&usb, &u, err)) > 0) {
		struct inv_controller *ct = NULL;
		char bus[INV_ID_MAX];

		const struct qq_qdev *d = u.device[0] ? find_qdev(devs, u.device) : NULL;

		if (!d || devs->bus_q[d - devs->e] < 0)
			d = usb_bus_rep(devs, u.bus_nr);
		if (d) {
			if (read_bus(devs, d, bus, sizeof(bus), err) < 0)
				return -1;
			for (size_t i = 0; i < inv->n_ctrl; i++)
				if (inv->ctrl[i].kind == CTRL_USB && !strcmp(inv->ctrl[i].bus, bus))
					ct = &inv->ctrl[i];
		} else if (!u.device[0] && n_usb == 1) {
			ct = only;
		}
		if (ct && ct->n_used < INV_MAX_USB_PORTS)
			ct->used[ct->n_used++] = u;
	}
	return r;
}

/* NICs and netdevs, from "info network" */

static int add_queue(struct inv_backend *b, const struct infonet_client *cl,
                     const struct qr_proc *proc, bool look, struct qr_error *err)
{
	struct inv_queue *nq = realloc(b->queues, (b->n_queues + 1) * sizeof(*nq)), *q;

	if (!nq)
		return qr_err_sys(err, ENOMEM, "queue list");
	b->queues = nq;
	q = &nq[b->n_queues++];
	memset(q, 0, sizeof(*q));
	q->index = cl->index;
	q->qemu_fd = cl->fd;
	q->tap.qemu_fd = cl->fd;
	if (cl->fd < 0)
		return 0;
	if (look)
		tap_inspect_qemu_fd(proc, cl->fd, &q->tap);
	else
		snprintf(q->tap.why, sizeof(q->tap.why), "host not inspected");
	switch (q->tap.state) {
	case TAPQ_ATTACHED:
		b->attached++;
		break;
	case TAPQ_DETACHED:
		b->detached++;
		break;
	case TAPQ_UNKNOWN:
		b->unknown++;
		break;
	}
	if (q->tap.ifname[0]) {
		if (!b->tap[0])
			memcpy(b->tap, q->tap.ifname, IFNAMSIZ);
		else if (strcmp(b->tap, q->tap.ifname))
			return qr_err_set(err, QR_ERR_STATE,
			                  "netdev %s: queues on different taps (%s, %s)", b->id,
			                  b->tap, q->tap.ifname);
	}
	return 0;
}

static struct inv_nic *nic_get(struct vm_inventory *inv, const char *id, struct qr_error *err)
{
	struct inv_nic *n;
	size_t i;

	for (i = 0; i < inv->n_nics; i++)
		if (!strcmp(inv->nics[i].id, id))
			return &inv->nics[i];
	n = realloc(inv->nics, (inv->n_nics + 1) * sizeof(*n));
	if (!n) {
		qr_err_sys(err, ENOMEM, "NIC list");
		return NULL;
	}
	inv->nics = n;
	n = &inv->nics[inv->n_nics++];
	memset(n, 0, sizeof(*n));
	str_copy(n->id, sizeof(n->id), id);
	n->hub_id = -1;
	n->backend.hub_id = -1;
	n->incus = str_has_prefix(id, "dev-incus_");
	return n;
}

static struct inv_backend *netdev_get(struct vm_inventory *inv, const char *id, const char *type,
                                      int hub_id, const char *hub_port, struct qr_error *err)
{
	struct inv_backend *b;
	size_t i;

	for (i = 0; i < inv->n_netdevs; i++)
		if (!strcmp(inv->netdevs[i].id, id))
			return &inv->netdevs[i];
	b = realloc(inv->netdevs, (inv->n_netdevs + 1) * sizeof(*b));
	if (!b) {
		qr_err_sys(err, ENOMEM, "netdev list");
		return NULL;
	}
	inv->netdevs = b;
	b = &inv->netdevs[inv->n_netdevs++];
	memset(b, 0, sizeof(*b));
	str_copy(b->id, sizeof(b->id), id);
	str_copy(b->type, sizeof(b->type), type);
	b->hub_id = hub_id;
	str_copy(b->hub_port, sizeof(b->hub_port), hub_port ? hub_port : "");
	return b;
}

static int check_queue_order(const char *what, const char *id, unsigned have, unsigned index,
                             struct qr_error *err)
{
	if (index != have)
		return qr_err_set(err, QR_ERR_PARSE,
		                  "info network: %s %s: queue %u listed where %u was expected",
		                  what, id, index, have);
	return 0;
}

static int collect_nics(const struct infonet *net, const struct qdev_list *devs,
                        const struct inventory_opts *opts, struct vm_inventory *inv,
                        struct qr_error *err)
{
	struct qr_proc own = QR_PROC_INIT;
	const struct qr_proc *proc = opts->proc;
	bool look = !opts->no_host && (proc || inv->pid > 0);
	size_t i, j;
	int r = -1;

	if (look && !proc) {
		struct qr_error e2;

		/* /proc is still readable without a pidfd; proc_open_pid()
		 * leaves what it could open in @own
		 */
		if (proc_open_pid(inv->pid, &own, &e2) < 0)
			str_copy(inv->tap_note, sizeof(inv->tap_note), e2.msg);
		proc = &own;
	} else if (!look) {
		snprintf(inv->tap_note, sizeof(inv->tap_note), "%s",
		         opts->no_host ? "host taps not inspected (--no-host)"
		                       : "QEMU's pid is unknown: host taps not inspected");
	}

	for (i = 0; i < net->n; i++) {
		const struct infonet_entry *e = &net->entries[i];
		const struct infonet_client *cl = &e->client;

		if (!e->has_client)
			continue;
		if (!strcmp(cl->type, "nic")) {
			struct inv_nic *n = nic_get(inv, cl->name, err);

			if (!n)
				goto out;
			if (check_queue_order("NIC", n->id, n->n_queues, cl->index, err) < 0)
				goto out;
			n->n_queues++;
			if (cl->index == 0) {
				str_copy(n->model, sizeof(n->model), cl->model);
				str_copy(n->mac, sizeof(n->mac), cl->mac);
				n->hub_id = e->hub_id;
				str_copy(n->hub_port, sizeof(n->hub_port), e->port);
			}
			if (e->has_peer) {
				struct inv_backend *b = &n->backend;

				if (!b->id[0]) {
					str_copy(b->id, sizeof(b->id), e->peer.name);
					str_copy(b->type, sizeof(b->type), e->peer.type);
				}
				if (check_queue_order("netdev", b->id, b->n_queues, e->peer.index,
				                      err) < 0 ||
				    add_queue(b, &e->peer, proc, look, err) < 0)
					goto out;
			}
		} else {
			/* a backend: without peer, or on a hub port */
			struct inv_backend *b =
			        netdev_get(inv, cl->name, cl->type, e->hub_id, e->port, err);

			if (!b)
				goto out;
			if (check_queue_order("netdev", b->id, b->n_queues, cl->index, err) < 0 ||
			    add_queue(b, cl, proc, look, err) < 0)
				goto out;
		}
	}

	/*
	 * A NIC on a hub reaches the host through the hub's other ports: if
	 * exactly one backend sits on that hub, it is the NIC's backend, and it
	 * moves from the netdev list into the NIC.
	 */
	for (i = 0; i < inv->n_nics; i++) {
		struct inv_nic *n = &inv->nics[i];
		size_t found = SIZE_MAX, count = 0;

		if (n->hub_id < 0)
			continue;
		for (j = 0; j < inv->n_netdevs; j++) {
			if (inv->netdevs[j].hub_id == n->hub_id) {
				found = j;
				count++;
			}
		}
		if (count != 1)
			continue;
		n->backend = inv->netdevs[found];
		memmove(&inv->netdevs[found], &inv->netdevs[found + 1],
		        (inv->n_netdevs - found - 1) * sizeof(*inv->netdevs));
		inv->n_netdevs--;
	}

	/* the model and bus come from QOM, which knows the device's real type */
	for (i = 0; i < inv->n_nics; i++) {
		struct inv_nic *n = &inv->nics[i];
		const struct qq_qdev *d = find_qdev(devs, n->id);

		if (!d)
			continue; /* created without id, e.g. -nic */
		str_copy(n->model, sizeof(n->model), d->type);
		if (read_bus(devs, d, n->bus, sizeof(n->bus), err) < 0)
			goto out;
	}
	r = 0;
out:
	proc_close(&own);
	return r;
}

/* Disks, from query-block */

static int collect_disks(const struct qq_block *blocks, size_t n, const struct qdev_list *devs,
                         struct vm_inventory *inv, struct qr_error *err)
{
	if (!n)
		return 0;
	inv->disks = calloc(n, sizeof(*inv->disks));
	if (!inv->disks)
		return qr_err_sys(err, ENOMEM, "disk list");
	for (size_t i = 0; i < n; i++) {
		const struct qq_block *bl = &blocks[i];
		const struct qq_qdev *d;
		struct inv_disk *disk;

		if (!bl->qdev[0])
			continue; /* a node without frontend (e.g. -drive if=none) */
		d = find_qdev(devs, bl->id);
		disk = &inv->disks[inv->n_disks++];
		str_copy(disk->id, sizeof(disk->id), bl->id);
		str_copy(disk->driver, sizeof(disk->driver), d ? d->type : "");
		disk->fdset = -1;
		disk->incus = str_has_prefix(bl->id, "dev-incus_");
		disk->cdrom = bl->removable ||
		              (d && (!strcmp(d->type, "scsi-cd") || !strcmp(d->type, "ide-cd")));
		if (d && read_bus(devs, d, disk->bus, sizeof(disk->bus), err) < 0)
			return -1;
		if (bl->inserted) {
			unsigned long long fs;

			disk->has_medium = true;
			str_copy(disk->node, sizeof(disk->node), bl->node);
			str_copy(disk->format, sizeof(disk->format), bl->drv);
			str_copy(disk->file, sizeof(disk->file), bl->file);
			disk->read_only = bl->read_only;
			disk->size = bl->size;
			if (str_has_prefix(bl->file, "/dev/fdset/") &&
			    !parse_uint(bl->file + 11, 0x7fffffff, &fs))
				disk->fdset = (int)fs;
		}
		/* A placeholder is a cold-plugged frontend holding a null-co
		 * node until qremap gives it a real one: ide-hd (SATA) or
		 * virtio-blk-pci (for guests with the driver but no hotplug).
		 */
		disk->placeholder =
		        d && !disk->incus && disk->has_medium && !strcmp(disk->format, "null-co") &&
		        (!strcmp(d->type, "ide-hd") || !strcmp(d->type, "virtio-blk-pci"));
	}
	return 0;
}

/**
 * first_round() - the queries that need no other answer, sent together
 * @c:		QMP client
 * @complete:	also what only a reader needs (&struct inventory_opts)
 * @r1:		batch to fill and run
 * @q:		result: indices
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int first_round(struct qmp_client *c, bool complete, struct qq_batch *r1,
                       struct first_round *q, struct qr_error *err)
{
	q->name = q->type = -1;
	if ((q->status = qq_add(r1, err, "query-status", NULL)) < 0 ||
	    (complete && (q->name = qq_add(r1, err, "query-name", NULL)) < 0) ||
	    (complete && (q->type = qq_add_qom_get(r1, "/machine", "type", err)) < 0) ||
	    (q->hotplug = qq_add_qom_get(r1, "/machine/acpi-device",
	                                 "acpi-pci-hotplug-with-bridge-support", err)) < 0 ||
	    (q->peripheral = qq_add_qom_list(r1, "/machine/peripheral", err)) < 0 ||
	    (q->network = qq_add_hmp(r1, "info network", err)) < 0 ||
	    (q->block = qq_add(r1, err, "query-block", NULL)) < 0 ||
	    (q->usb = qq_add_hmp(r1, "info usb", err)) < 0)
		return -1;
	return qq_run(c, r1, err);
}

/**
 * want_bus() - note that device @d's bus is needed
 * @devs:	user-created devices
 * @d:		one of them, or NULL (a device without an id: nothing to ask)
 */
static void want_bus(struct qdev_list *devs, const struct qq_qdev *d)
{
	if (d)
		devs->bus_q[d - devs->e] = 0;
}

/**
 * want_usb_bus() - note that USB device @u's bus is needed, once per bus
 * @devs:	user-created devices
 * @u:		a device line of "info usb"
 *
 * Bus numbers are unique (hw/usb/bus.c gives each new bus the next one),
 * so one named device's parent_bus places every device of its bus: an
 * Incus VM's XHCI with three usb-redir and USB NICs and disks costs one
 * query. Past USB_BUS_REPS buses each device's own is asked.
 */
static void want_usb_bus(struct qdev_list *devs, const struct inv_usb_port *u)
{
	const struct qq_qdev *d = u->device[0] ? find_qdev(devs, u->device) : NULL;

	if (!d || usb_bus_rep(devs, u->bus_nr))
		return;
	want_bus(devs, d);
	if (devs->n_usb_reps < USB_BUS_REPS)
		devs->usb_reps[devs->n_usb_reps++] =
		        (struct usb_bus_rep){u->bus_nr, (size_t)(d - devs->e)};
}

/* Whether a device of type @type sits on an IDE bus (AHCI ports): the only
 * disks whose bus planning reads
 */
static bool on_ide_bus(const char *type)
{
	return str_has_prefix(type, "ide-");
}

/**
 * wanted_buses() - which devices' buses the inventory needs
 * @devs:	user-created devices: @devs->bus_q becomes 0 for each one
 *		needed, -1 for the rest
 * @net:	"info network", parsed: its NICs
 * @blocks:	query-block: its frontends
 * @n_blocks:	number of @blocks
 * @usb:	"info usb" text, or NULL without a USB controller: its
 *		devices with an id
 * @complete:	also every NIC's and disk's (&struct inventory_opts)
 * @err:	error object
 *
 * Each parent_bus is one more command QEMU runs (0.5-1 ms on the machines
 * of docs/performance.md), and Incus VMs have dozens of devices (root
 * ports above all) whose bus nothing reads. Planning reads the bus of IDE
 * disks (which AHCI port) and of one device per USB bus (which XHCI's
 * ports are used); a NIC's, a SCSI or virtio disk's only a reader needs.
 *
 * Return: 0 on success, -1 on failure
 */
static int wanted_buses(struct qdev_list *devs, const struct infonet *net,
                        const struct qq_block *blocks, size_t n_blocks, const char *usb,
                        bool complete, struct qr_error *err)
{
	struct inv_usb_port u;
	int r = 0;

	devs->bus_q = malloc((devs->n ? devs->n : 1) * sizeof(*devs->bus_q));
	if (!devs->bus_q)
		return qr_err_sys(err, ENOMEM, "device list");
	for (size_t i = 0; i < devs->n; i++)
		devs->bus_q[i] = -1;
	for (size_t i = 0; complete && i < net->n; i++)
		if (net->entries[i].has_client && !strcmp(net->entries[i].client.type, "nic"))
			want_bus(devs, find_qdev(devs, net->entries[i].client.name));
	for (size_t i = 0; i < n_blocks; i++) {
		const struct qq_qdev *d = blocks[i].id[0] ? find_qdev(devs, blocks[i].id) : NULL;

		if (d && (complete || on_ide_bus(d->type)))
			want_bus(devs, d);
	}
	while (usb && (r = usb_line_next(&usb, &u, err)) > 0)
		want_usb_bus(devs, &u);
	return r;
}

/**
 * second_round() - the queries that need the first round's answers, sent together
 * @c:		QMP client
 * @need_type:	ask for /machine's type (collect_hotplug() reads it)
 * @devs:	user-created devices, with wanted_buses() done: each wanted
 *		one's @devs->bus_q becomes its query's index
 * @inv:	inventory being filled: gets the controllers
 * @r2:		batch to fill and run
 * @q:		result: indices
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int second_round(struct qmp_client *c, bool need_type, struct qdev_list *devs,
                        struct vm_inventory *inv, struct qq_batch *r2, struct second_round *q,
                        struct qr_error *err)
{
	q->type = -1;
	if (need_type && (q->type = qq_add_qom_get(r2, "/machine", "type", err)) < 0)
		return -1;
	if (find_controllers(devs, inv, r2, q, err) < 0)
		return -1;
	for (size_t i = 0; i < devs->n; i++) {
		char path[INV_PATH_MAX];

		if (devs->bus_q[i] < 0)
			continue;
		qq_qdev_path(path, sizeof(path), devs->e[i].id);
		devs->bus_q[i] = qq_add_qom_get(r2, path, "parent_bus", err);
		if (devs->bus_q[i] < 0)
			return -1;
	}
	devs->answers = r2;
	return qq_run(c, r2, err);
}

/**
 * inventory_collect() - read everything qremap needs to know about a VM
 * @c:		QMP client, negotiated
 * @opts:	options (pid override, skip host inspection)
 * @inv:	result; free with inventory_free(), also after a failure
 * @err:	error object
 *
 * Changes nothing in QEMU. Two round trips: the queries that need nothing
 * else go together, then those that need their answers (which device is a
 * controller, which buses are needed). Each query costs QEMU about 1 ms of
 * CPU (docs/performance.md), so a remap asks only what planning reads;
 * @opts->complete asks the rest too. Host tap details are best effort:
 * when they can't be had, @inv->tap_note says why and per-queue reasons
 * are recorded.
 *
 * Return: 0 on success, -1 on failure
 */
int inventory_collect(struct qmp_client *c, const struct inventory_opts *opts,
                      struct vm_inventory *inv, struct qr_error *err)
{
	static const struct inventory_opts defaults;
	_cleanup_qq_batch_ struct qq_batch r1 = {0};
	_cleanup_qq_batch_ struct qq_batch r2 = {0};
	_cleanup_free_ struct qq_block *blocks = NULL;
	struct first_round q1;
	struct second_round q2 = {.type = -1};
	struct qdev_list devs = {0};
	struct infonet net = {0};
	const char *network, *usb = NULL;
	size_t n_blocks = 0;
	bool acpi_off;
	int r = -1;

	if (!opts)
		opts = &defaults;
	memset(inv, 0, sizeof(*inv));
	inv->version = *qmp_get_version(c);
	inv->pid = opts->proc ? opts->proc->pid : opts->pid > 0 ? opts->pid : qmp_peer_pid(c);

	if (first_round(c, opts->complete, &r1, &q1, err) < 0 ||
	    collect_machine(&r1, &q1, inv, &acpi_off, err) < 0 ||
	    qq_qdevs(&r1, q1.peripheral, &devs.e, &devs.n, err) < 0 ||
	    qq_text(&r1, q1.network, &network, err) < 0 || infonet_parse(network, &net, err) < 0 ||
	    qq_blocks(&r1, q1.block, &blocks, &n_blocks, err) < 0)
		goto out;
	for (size_t i = 0; i < devs.n && !usb; i++)
		if (is_usb_ctrl(&devs.e[i]) && qq_text(&r1, q1.usb, &usb, err) < 0)
			goto out;
	if (wanted_buses(&devs, &net, blocks, n_blocks, usb, opts->complete, err) < 0 ||
	    second_round(c, acpi_off && q1.type < 0, &devs, inv, &r2, &q2, err) < 0 ||
	    collect_hotplug(&r2, &q2, inv, acpi_off, err) < 0 ||
	    collect_usb_sizes(&r2, &q2, inv, err) < 0 ||
	    collect_usb_ports(usb, &devs, inv, err) < 0 ||
	    collect_nics(&net, &devs, opts, inv, err) < 0 ||
	    collect_disks(blocks, n_blocks, &devs, inv, err) < 0)
		goto out;

	/* SATA units in use: an ide-hd/ide-cd on <ahci>.N occupies unit N */
	for (size_t i = 0; i < inv->n_ctrl; i++) {
		struct inv_controller *ct = &inv->ctrl[i];

		if (ct->kind != CTRL_SATA)
			continue;
		for (size_t j = 0; j < inv->n_disks; j++)
			if (str_has_prefix(inv->disks[j].bus, ct->id) &&
			    inv->disks[j].bus[strlen(ct->id)] == '.')
				ct->n_used++;
	}
	r = 0;
out:
	infonet_free(&net);
	free(devs.e);
	free(devs.bus_q);
	free(q2.ports);
	if (r < 0)
		qr_err_prefix(err, "reading the VM inventory from %s", qmp_label(c));
	return r;
}

/**
 * inventory_free() - release an inventory
 * @inv:	inventory
 */
void inventory_free(struct vm_inventory *inv)
{
	size_t i;

	for (i = 0; i < inv->n_nics; i++)
		free(inv->nics[i].backend.queues);
	for (i = 0; i < inv->n_netdevs; i++)
		free(inv->netdevs[i].queues);
	free(inv->nics);
	free(inv->netdevs);
	free(inv->disks);
	free(inv->ctrl);
	memset(inv, 0, sizeof(*inv));
}

/* Lookups and names */

/**
 * inventory_find_nic() - NIC by qdev id
 * @inv:	inventory
 * @id:		qdev id
 *
 * Return: the NIC, or NULL
 */
const struct inv_nic *inventory_find_nic(const struct vm_inventory *inv, const char *id)
{
	for (size_t i = 0; i < inv->n_nics; i++)
		if (!strcmp(inv->nics[i].id, id))
			return &inv->nics[i];
	return NULL;
}

/**
 * inventory_find_disk() - disk by qdev id
 * @inv:	inventory
 * @id:		qdev id
 *
 * Return: the disk, or NULL
 */
const struct inv_disk *inventory_find_disk(const struct vm_inventory *inv, const char *id)
{
	for (size_t i = 0; i < inv->n_disks; i++)
		if (!strcmp(inv->disks[i].id, id))
			return &inv->disks[i];
	return NULL;
}

/**
 * inventory_find_ctrl() - controller by qdev id
 * @inv:	inventory
 * @id:		qdev id
 *
 * Return: the controller, or NULL
 */
const struct inv_controller *inventory_find_ctrl(const struct vm_inventory *inv, const char *id)
{
	for (size_t i = 0; i < inv->n_ctrl; i++)
		if (!strcmp(inv->ctrl[i].id, id))
			return &inv->ctrl[i];
	return NULL;
}

/**
 * inventory_usb_free_ports() - root ports of a USB controller nobody claims
 * @c:		USB controller
 * @ports:	result, ascending
 * @max:	size of @ports
 *
 * Return: number of free root ports (all of them, even beyond @max)
 */
int inventory_usb_free_ports(const struct inv_controller *c, unsigned *ports, unsigned max)
{
	unsigned p, n = 0;

	for (p = 1; p <= c->ports; p++) {
		char name[16];
		bool used = false;

		snprintf(name, sizeof(name), "%u", p);
		for (unsigned i = 0; i < c->n_used; i++) {
			/* "2.1" sits behind a hub on root port 2 */
			size_t l = strlen(name);

			if (!strncmp(c->used[i].port, name, l) &&
			    (c->used[i].port[l] == '\0' || c->used[i].port[l] == '.'))
				used = true;
		}
		if (used)
			continue;
		if (n < max)
			ports[n] = p;
		n++;
	}
	return (int)n;
}

static const char *const hotplug_mode_names[] = {
        [HOTPLUG_UNKNOWN] = "unknown",
        [HOTPLUG_ACPI] = "acpi",
        [HOTPLUG_NATIVE] = "native-pcie",
};

/**
 * hotplug_mode_str() - name of a hotplug mode, as in JSON output
 * @m:	mode
 *
 * Return: static string
 */
const char *hotplug_mode_str(enum hotplug_mode m)
{
	return (size_t)m < ARRAY_SIZE(hotplug_mode_names) && hotplug_mode_names[m]
	               ? hotplug_mode_names[m]
	               : "unknown";
}

static const char *const ctrl_kind_names[] = {
        [CTRL_USB] = "usb",
        [CTRL_SATA] = "sata",
        [CTRL_SCSI] = "scsi",
};

/**
 * ctrl_kind_str() - name of a controller family, as in JSON output
 * @k:	family
 *
 * Return: static string
 */
const char *ctrl_kind_str(enum ctrl_kind k)
{
	return (size_t)k < ARRAY_SIZE(ctrl_kind_names) && ctrl_kind_names[k] ? ctrl_kind_names[k]
	                                                                     : "unknown";
}

static const char *const tap_queue_state_names[] = {
        [TAPQ_UNKNOWN] = "unknown",
        [TAPQ_ATTACHED] = "attached",
        [TAPQ_DETACHED] = "detached",
};

/**
 * tap_queue_state_str() - name of a queue state, as in JSON output
 * @s:	state
 *
 * Return: static string
 */
const char *tap_queue_state_str(enum tap_queue_state s)
{
	return (size_t)s < ARRAY_SIZE(tap_queue_state_names) && tap_queue_state_names[s]
	               ? tap_queue_state_names[s]
	               : "unknown";
}
