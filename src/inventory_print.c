// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - inventory_print.c: the inventory as JSON (stable keys, documented
 * in docs/inspect-json.md) and as aligned tables for humans
 */

#include <string.h>

#include "qremap/inventory.h"
#include "qremap/table.h"

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *queue_json(const struct inv_queue *q)
{
	json_t *o = json_pack("{s:i}", "index", (int)q->index);

	json_object_set_new(o, "qemu_fd", q->qemu_fd >= 0 ? json_integer(q->qemu_fd) : json_null());
	if (q->qemu_fd < 0)
		return o;
	json_object_set_new(o, "tap", str_or_null(q->tap.ifname));
	json_object_set_new(o, "state", json_string(tap_queue_state_str(q->tap.state)));
	json_object_set_new(o, "tun_flags",
	                    q->tap.is_tun && q->tap.state != TAPQ_UNKNOWN
	                            ? json_integer(q->tap.flags)
	                            : json_null());
	json_object_set_new(o, "netns_inode",
	                    q->tap.netns_ino ? json_integer((json_int_t)q->tap.netns_ino)
	                                     : json_null());
	if (q->tap.why[0])
		json_object_set_new(o, "note", json_string(q->tap.why));
	return o;
}

static json_t *backend_json(const struct inv_backend *b)
{
	json_t *o, *qs = json_array();
	unsigned i;

	for (i = 0; i < b->n_queues; i++)
		json_array_append_new(qs, queue_json(&b->queues[i]));
	o = json_pack("{s:s, s:s, s:i, s:o, s:i, s:i, s:i}", "id", b->id, "type", b->type,
	              "queue_count", (int)b->n_queues, "queues", qs, "attached_queues",
	              (int)b->attached, "detached_queues", (int)b->detached, "unknown_queues",
	              (int)b->unknown);
	json_object_set_new(o, "tap", str_or_null(b->tap));
	json_object_set_new(o, "hub", b->hub_id >= 0 ? json_integer(b->hub_id) : json_null());
	json_object_set_new(o, "hub_port", str_or_null(b->hub_port));
	return o;
}

/**
 * inventory_to_json() - the inventory as a JSON object
 * @inv:	inventory
 *
 * Keys are stable; see docs/inspect-json.md. Absent values are null, never
 * missing keys.
 *
 * Return: new reference
 */
json_t *inventory_to_json(const struct vm_inventory *inv)
{
	json_t *root, *ctrls = json_array(), *nics = json_array(), *nds = json_array();
	json_t *disks = json_array();
	char ver[32];
	size_t i;

	snprintf(ver, sizeof(ver), "%d.%d.%d", inv->version.major, inv->version.minor,
	         inv->version.micro);

	for (i = 0; i < inv->n_ctrl; i++) {
		const struct inv_controller *c = &inv->ctrl[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", c->id, "driver", c->driver,
		                      "kind", ctrl_kind_str(c->kind), "bus", c->bus);

		if (c->kind == CTRL_USB) {
			unsigned free_ports[64];
			int nf = inventory_usb_free_ports(c, free_ports, 64);
			json_t *used = json_array(), *fr = json_array();

			for (unsigned u = 0; u < c->n_used; u++)
				json_array_append_new(
				        used, json_pack("{s:s, s:o, s:s}", "port", c->used[u].port,
				                        "device", str_or_null(c->used[u].device),
				                        "product", c->used[u].product));
			for (int f = 0; f < nf && f < 64; f++)
				json_array_append_new(fr, json_integer(free_ports[f]));
			json_object_set_new(o, "ports", json_integer(c->ports));
			json_object_set_new(o, "usb2_ports", json_integer(c->usb2_ports));
			json_object_set_new(o, "usb3_ports", json_integer(c->usb3_ports));
			json_object_set_new(o, "used_ports", used);
			json_object_set_new(o, "free_ports", fr);
		} else if (c->kind == CTRL_SATA) {
			json_object_set_new(o, "ports", json_integer(c->ports));
			json_object_set_new(o, "used_ports", json_integer(c->n_used));
		}
		json_array_append_new(ctrls, o);
	}

	for (i = 0; i < inv->n_nics; i++) {
		const struct inv_nic *n = &inv->nics[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:b}", "id", n->id, "model", n->model,
		                      "mac", n->mac, "queue_count", (int)n->n_queues, "incus",
		                      n->incus);

		json_object_set_new(o, "bus", str_or_null(n->bus));
		json_object_set_new(o, "hub",
		                    n->hub_id >= 0 ? json_integer(n->hub_id) : json_null());
		json_object_set_new(o, "hub_port", str_or_null(n->hub_port));
		json_object_set_new(o, "netdev",
		                    n->backend.id[0] ? backend_json(&n->backend) : json_null());
		json_array_append_new(nics, o);
	}

	for (i = 0; i < inv->n_netdevs; i++)
		json_array_append_new(nds, backend_json(&inv->netdevs[i]));

	for (i = 0; i < inv->n_disks; i++) {
		const struct inv_disk *d = &inv->disks[i];
		json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b}", "id", d->id, "has_medium",
		                      d->has_medium, "read_only", d->read_only, "cdrom", d->cdrom,
		                      "incus", d->incus, "placeholder", d->placeholder);

		json_object_set_new(o, "driver", str_or_null(d->driver));
		json_object_set_new(o, "bus", str_or_null(d->bus));
		json_object_set_new(o, "node", str_or_null(d->node));
		json_object_set_new(o, "format", str_or_null(d->format));
		json_object_set_new(o, "file", str_or_null(d->file));
		json_object_set_new(o, "fdset",
		                    d->fdset >= 0 ? json_integer(d->fdset) : json_null());
		json_object_set_new(
		        o, "size", d->has_medium ? json_integer((json_int_t)d->size) : json_null());
		json_array_append_new(disks, o);
	}

	root = json_pack(
	        "{s:i, s:{s:s, s:i, s:i, s:i, s:s}, s:{s:o, s:o, s:s, s:s, s:s}}",
	        "qremap_inventory_version", INV_VERSION, "qemu", "version", ver, "major",
	        inv->version.major, "minor", inv->version.minor, "micro", inv->version.micro,
	        "package", inv->version.package, "vm", "name", str_or_null(inv->name), "pid",
	        inv->pid > 0 ? json_integer(inv->pid) : json_null(), "runstate", inv->runstate,
	        "machine", inv->machine, "hotplug", hotplug_mode_str(inv->hotplug));
	json_object_set_new(root, "controllers", ctrls);
	json_object_set_new(root, "nics", nics);
	json_object_set_new(root, "netdevs", nds);
	json_object_set_new(root, "disks", disks);
	json_object_set_new(root, "host_note", str_or_null(inv->tap_note));
	return root;
}

static void human_size(char *buf, size_t size, uint64_t bytes)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
}

/* "11,12,13" for QEMU fds; "1/8" attached of total */
static void fd_list(char *buf, size_t size, const struct inv_backend *b)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < b->n_queues && off < size; i++) {
		if (b->queues[i].qemu_fd < 0)
			continue;
		off += (size_t)snprintf(buf + off, size - off, "%s%d", off ? "," : "",
		                        b->queues[i].qemu_fd);
	}
	if (!buf[0])
		snprintf(buf, size, "-");
}

static void attach_summary(char *buf, size_t size, const struct inv_backend *b)
{
	if (!b->n_queues || !strcmp(b->type, "hubport"))
		snprintf(buf, size, "-");
	else if (b->unknown)
		snprintf(buf, size, "?/%u", b->n_queues);
	else
		snprintf(buf, size, "%u/%u", b->attached, b->n_queues);
}

/**
 * inventory_print() - the inventory as aligned tables for humans
 * @f:		stream
 * @inv:	inventory
 */
void inventory_print(FILE *f, const struct vm_inventory *inv)
{
	struct table t;
	char a[64], b[256];
	size_t i;

	fprintf(f, "VM %s: QEMU %d.%d.%d%s%s%s, pid %d, %s, %s, PCI hotplug: %s\n",
	        inv->name[0] ? inv->name : "(unnamed)", inv->version.major, inv->version.minor,
	        inv->version.micro, inv->version.package[0] ? " (" : "", inv->version.package,
	        inv->version.package[0] ? ")" : "", (int)inv->pid, inv->runstate, inv->machine,
	        hotplug_mode_str(inv->hotplug));

	fprintf(f, "\nControllers:\n");
	table_init(&t, 5);
	table_add(&t, "ID", "DRIVER", "KIND", "BUS", "PORTS");
	for (i = 0; i < inv->n_ctrl; i++) {
		const struct inv_controller *c = &inv->ctrl[i];

		table_add(&t, c->id, c->driver, ctrl_kind_str(c->kind), c->bus, "");
		if (c->kind == CTRL_USB) {
			unsigned fp[64];
			int nf = inventory_usb_free_ports(c, fp, 64);
			size_t off = 0;

			b[0] = '\0';
			for (int k = 0; k < nf && k < 64 && off < sizeof(b); k++)
				off += (size_t)snprintf(b + off, sizeof(b) - off, "%s%u",
				                        k ? "," : "", fp[k]);
			table_addf(&t, 4, "%u (usb2 %u, usb3 %u), free: %s", c->ports,
			           c->usb2_ports, c->usb3_ports, nf ? b : "none");
		} else if (c->kind == CTRL_SATA) {
			table_addf(&t, 4, "%u, %u used", c->ports, c->n_used);
		} else {
			table_addf(&t, 4, "-");
		}
	}
	table_print(f, &t, "  ");
	table_free(&t);

	fprintf(f, "\nNICs:\n");
	table_init(&t, 9);
	table_add(&t, "ID", "MODEL", "MAC", "BUS", "NETDEV", "QUEUES", "TAP", "ATTACHED",
	          "QEMU FDS");
	for (i = 0; i < inv->n_nics; i++) {
		const struct inv_nic *n = &inv->nics[i];

		fd_list(b, sizeof(b), &n->backend);
		attach_summary(a, sizeof(a), &n->backend);
		table_add(&t, n->id, n->model, n->mac, n->bus[0] ? n->bus : "-",
		          n->backend.id[0] ? n->backend.id : "-", "",
		          n->backend.tap[0] ? n->backend.tap : "-", a, b);
		if (n->hub_id >= 0)
			table_addf(&t, 4, "%s (hub %d)", n->backend.id[0] ? n->backend.id : "-",
			           n->hub_id);
		table_addf(&t, 5, "%u", n->n_queues);
	}
	table_print(f, &t, "  ");
	table_free(&t);

	if (inv->n_netdevs) {
		fprintf(f, "\nNetdevs without a NIC:\n");
		table_init(&t, 6);
		table_add(&t, "ID", "TYPE", "QUEUES", "TAP", "ATTACHED", "QEMU FDS");
		for (i = 0; i < inv->n_netdevs; i++) {
			const struct inv_backend *nd = &inv->netdevs[i];

			fd_list(b, sizeof(b), nd);
			attach_summary(a, sizeof(a), nd);
			table_add(&t, nd->id, nd->type, "", nd->tap[0] ? nd->tap : "-", a, b);
			if (nd->hub_id >= 0)
				table_addf(&t, 1, "%s (hub %d)", nd->type, nd->hub_id);
			table_addf(&t, 2, "%u", nd->n_queues);
		}
		table_print(f, &t, "  ");
		table_free(&t);
	}

	fprintf(f, "\nDisks:\n");
	table_init(&t, 8);
	table_add(&t, "ID", "DRIVER", "BUS", "NODE", "FORMAT", "SIZE", "FLAGS", "FILE");
	for (i = 0; i < inv->n_disks; i++) {
		const struct inv_disk *d = &inv->disks[i];

		if (d->has_medium)
			human_size(a, sizeof(a), d->size);
		else
			snprintf(a, sizeof(a), "-");
		snprintf(b, sizeof(b), "%s%s%s%s", d->read_only ? "ro " : "",
		         d->cdrom ? "cdrom " : "", d->placeholder ? "placeholder " : "",
		         d->incus ? "incus" : "");
		table_add(&t, d->id, d->driver[0] ? d->driver : "?", d->bus[0] ? d->bus : "-",
		          d->node[0] ? d->node : "-", d->format[0] ? d->format : "-", a,
		          b[0] ? b : "-", d->file[0] ? d->file : "-");
	}
	table_print(f, &t, "  ");
	table_free(&t);

	if (inv->tap_note[0])
		fprintf(f, "\nNote: %s\n", inv->tap_note);
}
