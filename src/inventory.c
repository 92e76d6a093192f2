// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - inventory.c: collect struct vm_inventory over QMP (read-only) */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qremap/infonet.h"
#include "qremap/inventory.h"
#include "qremap/log.h"

/* A user-created device: qom-list /machine/peripheral{,-anon} "child<TYPE>". */
struct qdev_entry {
	char id[INV_ID_MAX];
	char type[64];
	bool anon;
};

struct qdev_list {
	struct qdev_entry *e;
	size_t n;
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

/* QOM helpers */

static int qom_get(struct qmp_client *c, const char *path, const char *prop, json_t **val,
                   struct qr_error *err)
{
	if (qmp_executef(c, val, err, "qom-get", "{s:s, s:s}", "path", path, "property", prop) < 0)
		return qr_err_prefix(err, "reading %s property '%s'", path, prop);
	return 0;
}

static int qom_get_str(struct qmp_client *c, const char *path, const char *prop, char *buf,
                       size_t size, struct qr_error *err)
{
	json_t *v = NULL;
	bool fits;

	if (qom_get(c, path, prop, &v, err) < 0)
		return -1;
	if (!json_is_string(v)) {
		json_decref(v);
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s property '%s' is not a string", path,
		                  prop);
	}
	fits = str_copy(buf, size, json_string_value(v));
	json_decref(v);
	if (!fits)
		return qr_err_set(err, QR_ERR_UNSUPPORTED, "%s property '%s' longer than %zu bytes",
		                  path, prop, size - 1);
	return 0;
}

static int qom_get_uint(struct qmp_client *c, const char *path, const char *prop, unsigned *out,
                        struct qr_error *err)
{
	json_t *v = NULL;

	if (qom_get(c, path, prop, &v, err) < 0)
		return -1;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		json_decref(v);
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s property '%s' is not a count", path,
		                  prop);
	}
	*out = (unsigned)json_integer_value(v);
	json_decref(v);
	return 0;
}

static void dev_path(char *buf, size_t size, const struct qdev_entry *d)
{
	snprintf(buf, size, "/machine/%s/%s", d->anon ? "peripheral-anon" : "peripheral", d->id);
}

static int list_qdevs(struct qmp_client *c, const char *container, bool anon, struct qdev_list *out,
                      struct qr_error *err)
{
	json_t *ret = NULL, *item;
	size_t i;

	if (qmp_executef(c, &ret, err, "qom-list", "{s:s}", "path", container) < 0)
		return qr_err_prefix(err, "listing %s", container);
	if (!json_is_array(ret)) {
		json_decref(ret);
		return qr_err_set(err, QR_ERR_PROTOCOL, "qom-list %s: not an array", container);
	}
	json_array_foreach(ret, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));
		const char *type = json_string_value(json_object_get(item, "type"));
		struct qdev_entry *e, *ne;
		size_t tl;

		if (!name || !type || strncmp(type, "child<", 6))
			continue;
		tl = strlen(type);
		if (type[tl - 1] != '>' || tl - 7 >= sizeof(e->type) ||
		    strlen(name) >= INV_ID_MAX) {
			json_decref(ret);
			return qr_err_set(err, QR_ERR_UNSUPPORTED,
			                  "%s: device name or type too long: %s", container, name);
		}
		ne = realloc(out->e, (out->n + 1) * sizeof(*ne));
		if (!ne) {
			json_decref(ret);
			return qr_err_sys(err, ENOMEM, "device list");
		}
		out->e = ne;
		e = &out->e[out->n++];
		memset(e, 0, sizeof(*e));
		memcpy(e->id, name, strlen(name) + 1);
		memcpy(e->type, type + 6, tl - 7);
		e->type[tl - 7] = '\0';
		e->anon = anon;
	}
	json_decref(ret);
	return 0;
}

static const struct qdev_entry *find_qdev(const struct qdev_list *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!l->e[i].anon && !strcmp(l->e[i].id, id))
			return &l->e[i];
	return NULL;
}

/* Bus name = last component of the device's parent_bus link. */
static int read_bus(struct qmp_client *c, const struct qdev_entry *d, char *bus, size_t size,
                    struct qr_error *err)
{
	char path[INV_PATH_MAX], busp[INV_PATH_MAX];
	const char *slash;

	dev_path(path, sizeof(path), d);
	if (qom_get_str(c, path, "parent_bus", busp, sizeof(busp), err) < 0)
		return -1;
	slash = strrchr(busp, '/');
	str_copy(bus, size, slash ? slash + 1 : busp);
	return 0;
}

/* Machine-level facts */

static int collect_machine(struct qmp_client *c, struct vm_inventory *inv, struct qr_error *err)
{
	json_t *ret = NULL, *v;
	char acpi[INV_PATH_MAX];
	struct qr_error e2;

	if (qmp_execute(c, "query-status", NULL, &ret, err) < 0)
		return -1;
	str_copy(inv->runstate, sizeof(inv->runstate),
	         str_or(json_string_value(json_object_get(ret, "status")), "unknown"));
	json_decref(ret);

	if (qmp_execute(c, "query-name", NULL, &ret, err) < 0)
		return -1;
	str_copy(inv->name, sizeof(inv->name),
	         str_or(json_string_value(json_object_get(ret, "name")), ""));
	json_decref(ret);

	if (qom_get_str(c, "/machine", "type", inv->machine, sizeof(inv->machine), err) < 0)
		return -1;

	/*
	 * PC machines link their ACPI PM device (ICH9-LPC on q35, PIIX4_PM on
	 * pc) as /machine's "acpi-device"; its acpi-pci-hotplug-with-bridge-
	 * support property says whether ACPI or native PCIe hotplug handles
	 * bridges and root ports (hw/i386/pc_q35.c, hw/acpi/ich9.c).
	 */
	inv->hotplug = HOTPLUG_UNKNOWN;
	if (qom_get_str(c, "/machine", "acpi-device", acpi, sizeof(acpi), &e2) < 0 || !acpi[0]) {
		log_debug("no ACPI device link: %s", e2.msg);
		return 0;
	}
	if (qom_get(c, acpi, "acpi-pci-hotplug-with-bridge-support", &v, &e2) < 0) {
		log_debug("no ACPI PCI hotplug property: %s", e2.msg);
		return 0;
	}
	if (json_is_true(v))
		inv->hotplug = HOTPLUG_ACPI;
	else if (json_is_false(v) && strstr(inv->machine, "q35"))
		inv->hotplug = HOTPLUG_NATIVE;
	json_decref(v);
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

static int collect_controllers(struct qmp_client *c, const struct qdev_list *devs,
                               struct vm_inventory *inv, struct qr_error *err)
{
	size_t i;

	for (i = 0; i < devs->n; i++) {
		const struct qdev_entry *d = &devs->e[i];
		struct inv_controller *ct;
		char path[INV_PATH_MAX];

		if (d->anon)
			continue; /* no id, no bus name anything could refer to */
		if (!IN_LIST(d->type, usb_xhci_types) && !IN_LIST(d->type, sata_types) &&
		    !IN_LIST(d->type, scsi_types))
			continue;
		ct = add_ctrl(inv, err);
		if (!ct)
			return -1;
		str_copy(ct->id, sizeof(ct->id), d->id);
		str_copy(ct->driver, sizeof(ct->driver), d->type);
		snprintf(ct->bus, sizeof(ct->bus), "%s.0", d->id);
		dev_path(path, sizeof(path), d);
		if (IN_LIST(d->type, usb_xhci_types)) {
			ct->kind = CTRL_USB;
			if (qom_get_uint(c, path, "p2", &ct->usb2_ports, err) < 0 ||
			    qom_get_uint(c, path, "p3", &ct->usb3_ports, err) < 0)
				return -1;
			/* hw/usb/hcd-xhci.c: the bus gets MAX(p2, p3) ports,
			 * 1..p2 usable by USB 1/2 devices (p2, p3 capped at 15)
			 */
			ct->usb2_ports = ct->usb2_ports > 15 ? 15 : ct->usb2_ports;
			ct->usb3_ports = ct->usb3_ports > 15 ? 15 : ct->usb3_ports;
			ct->ports =
			        ct->usb2_ports > ct->usb3_ports ? ct->usb2_ports : ct->usb3_ports;
		} else if (IN_LIST(d->type, sata_types)) {
			ct->kind = CTRL_SATA;
			ct->ports = 6; /* ICH9 AHCI: buses <id>.0 .. <id>.5 */
		} else {
			ct->kind = CTRL_SCSI;
		}
	}
	return 0;
}

/*
 * "info usb": "  Device B.A, Port P, Speed S Mb/s, Product NAME[, ID: id]"
 * (hw/usb/bus.c). Ports are mapped to controllers through the device's
 * parent_bus; an anonymous device can only be placed when there is one USB
 * controller.
 */
static int collect_usb_ports(struct qmp_client *c, const struct qdev_list *devs,
                             struct vm_inventory *inv, struct qr_error *err)
{
	_cleanup_free_ char *out = NULL;
	struct inv_controller *only = NULL;
	unsigned n_usb = 0;
	size_t i;
	char *line, *save = NULL;

	for (i = 0; i < inv->n_ctrl; i++) {
		if (inv->ctrl[i].kind == CTRL_USB) {
			only = &inv->ctrl[i];
			n_usb++;
		}
	}
	if (!n_usb)
		return 0;
	if (qmp_hmp(c, "info usb", &out, err) < 0)
		return -1;

	for (line = strtok_r(out, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char port[16] = "", product[64] = "", id[INV_ID_MAX] = "", bus[INV_ID_MAX];
		struct inv_controller *ct = NULL;
		const char *p, *q;
		struct inv_usb_port *u;

		p = strstr(line, ", Port ");
		if (strncmp(line, "  Device ", 9) || !p)
			return qr_err_set(err, QR_ERR_PARSE, "info usb: unexpected line \"%.80s\"",
			                  line);
		p += 7;
		q = strchr(p, ',');
		if (!q || (size_t)(q - p) >= sizeof(port))
			return qr_err_set(err, QR_ERR_PARSE, "info usb: bad port in \"%.80s\"",
			                  line);
		memcpy(port, p, (size_t)(q - p));
		p = strstr(q, ", Product ");
		if (p) {
			p += 10;
			q = strstr(p, ", ID: ");
			snprintf(product, sizeof(product), "%.*s",
			         (int)(q ? (size_t)(q - p) : strlen(p)), p);
			if (q && !str_copy(id, sizeof(id), q + 6))
				return qr_err_set(err, QR_ERR_PARSE, "info usb: id too long");
		}
		if (id[0]) {
			const struct qdev_entry *d = find_qdev(devs, id);

			if (d && read_bus(c, d, bus, sizeof(bus), err) < 0)
				return -1;
			for (i = 0; d && i < inv->n_ctrl; i++)
				if (inv->ctrl[i].kind == CTRL_USB && !strcmp(inv->ctrl[i].bus, bus))
					ct = &inv->ctrl[i];
		} else if (n_usb == 1) {
			ct = only;
		}
		if (!ct || ct->n_used == INV_MAX_USB_PORTS)
			continue;
		u = &ct->used[ct->n_used++];
		str_copy(u->port, sizeof(u->port), port);
		str_copy(u->device, sizeof(u->device), id);
		str_copy(u->product, sizeof(u->product), product);
	}
	return 0;
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

static int collect_nics(struct qmp_client *c, const struct qdev_list *devs,
                        const struct inventory_opts *opts, struct vm_inventory *inv,
                        struct qr_error *err)
{
	_cleanup_free_ char *text = NULL;
	struct qr_proc own = QR_PROC_INIT;
	const struct qr_proc *proc = opts->proc;
	struct infonet in;
	bool look = !opts->no_host && (proc || inv->pid > 0);
	size_t i, j;
	int r = -1;

	if (qmp_hmp(c, "info network", &text, err) < 0)
		return -1;
	if (infonet_parse(text, &in, err) < 0) {
		infonet_free(&in);
		return -1;
	}

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

	for (i = 0; i < in.n; i++) {
		const struct infonet_entry *e = &in.entries[i];
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
		const struct qdev_entry *d = find_qdev(devs, n->id);

		if (!d)
			continue; /* created without id, e.g. -nic */
		str_copy(n->model, sizeof(n->model), d->type);
		if (read_bus(c, d, n->bus, sizeof(n->bus), err) < 0)
			goto out;
	}
	r = 0;
out:
	infonet_free(&in);
	proc_close(&own);
	return r;
}

/* Disks, from query-block */

/*
 * query-block's "qdev" is the device id, or the QOM path of the device that
 * holds the BlockBackend: for virtio-blk-pci that is the virtio backend
 * child, "/machine/peripheral/<id>/virtio-backend".
 */
static void qdev_to_id(const char *qdev, char *id, size_t size)
{
	const char *p = qdev + strlen("/machine/peripheral/");

	if (str_has_prefix(qdev, "/machine/peripheral/"))
		snprintf(id, size, "%.*s", (int)strcspn(p, "/"), p);
	else
		str_copy(id, size, qdev); /* an id, or the path of an anonymous device */
}

static int collect_disks(struct qmp_client *c, const struct qdev_list *devs,
                         struct vm_inventory *inv, struct qr_error *err)
{
	json_t *ret = NULL, *b;
	size_t i;

	if (qmp_execute(c, "query-block", NULL, &ret, err) < 0)
		return -1;
	if (!json_is_array(ret)) {
		json_decref(ret);
		return qr_err_set(err, QR_ERR_PROTOCOL, "query-block: not an array");
	}
	json_array_foreach(ret, i, b)
	{
		const char *qdev = json_string_value(json_object_get(b, "qdev"));
		json_t *ins = json_object_get(b, "inserted");
		const struct qdev_entry *d;
		struct inv_disk *nd, *disk;
		char id[INV_ID_MAX];

		if (!qdev || !qdev[0])
			continue; /* a node without frontend (e.g. -drive if=none) */
		qdev_to_id(qdev, id, sizeof(id));
		d = find_qdev(devs, id);
		nd = realloc(inv->disks, (inv->n_disks + 1) * sizeof(*nd));
		if (!nd) {
			json_decref(ret);
			return qr_err_sys(err, ENOMEM, "disk list");
		}
		inv->disks = nd;
		disk = &nd[inv->n_disks++];
		memset(disk, 0, sizeof(*disk));
		str_copy(disk->id, sizeof(disk->id), id);
		str_copy(disk->driver, sizeof(disk->driver), d ? d->type : "");
		disk->fdset = -1;
		disk->incus = str_has_prefix(id, "dev-incus_");
		disk->cdrom = json_is_true(json_object_get(b, "removable")) ||
		              (d && (!strcmp(d->type, "scsi-cd") || !strcmp(d->type, "ide-cd")));
		if (d && read_bus(c, d, disk->bus, sizeof(disk->bus), err) < 0) {
			json_decref(ret);
			return -1;
		}
		if (ins) {
			const char *node = json_string_value(json_object_get(ins, "node-name"));
			const char *drv = json_string_value(json_object_get(ins, "drv"));
			const char *file = json_string_value(json_object_get(ins, "file"));
			json_t *vs = json_object_get(json_object_get(ins, "image"), "virtual-size");
			unsigned long long fs;

			disk->has_medium = true;
			str_copy(disk->node, sizeof(disk->node), node ? node : "");
			str_copy(disk->format, sizeof(disk->format), drv ? drv : "");
			str_copy(disk->file, sizeof(disk->file), file ? file : "");
			disk->read_only = json_is_true(json_object_get(ins, "ro"));
			disk->size = json_is_integer(vs) ? (uint64_t)json_integer_value(vs) : 0;
			if (file && str_has_prefix(file, "/dev/fdset/") &&
			    !parse_uint(file + 11, 0x7fffffff, &fs))
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
	json_decref(ret);
	return 0;
}

/**
 * inventory_collect() - read everything qremap needs to know about a VM
 * @c:		QMP client, negotiated
 * @opts:	options (pid override, skip host inspection)
 * @inv:	result; free with inventory_free(), also after a failure
 * @err:	error object
 *
 * Changes nothing in QEMU. Host tap details are best effort: when they can't
 * be had, @inv->tap_note says why and per-queue reasons are recorded.
 *
 * Return: 0 on success, -1 on failure
 */
int inventory_collect(struct qmp_client *c, const struct inventory_opts *opts,
                      struct vm_inventory *inv, struct qr_error *err)
{
	static const struct inventory_opts defaults;
	struct qdev_list devs = {0};
	int r = -1;

	if (!opts)
		opts = &defaults;
	memset(inv, 0, sizeof(*inv));
	inv->version = *qmp_get_version(c);
	inv->pid = opts->proc ? opts->proc->pid : opts->pid > 0 ? opts->pid : qmp_peer_pid(c);

	if (collect_machine(c, inv, err) < 0 ||
	    list_qdevs(c, "/machine/peripheral", false, &devs, err) < 0 ||
	    list_qdevs(c, "/machine/peripheral-anon", true, &devs, err) < 0 ||
	    collect_controllers(c, &devs, inv, err) < 0 ||
	    collect_usb_ports(c, &devs, inv, err) < 0 ||
	    collect_nics(c, &devs, opts, inv, err) < 0 || collect_disks(c, &devs, inv, err) < 0)
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
	free(devs.e);
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
