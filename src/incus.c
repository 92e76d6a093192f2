// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - incus.c: Incus REST API client and instance configuration reading
 * (see incus.h for what qremap writes and how it finds it again)
 */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "qremap/incus.h"

/* Incus's default size of a VM's root block volume (storage/drivers/volume.go) */
#define INCUS_DEFAULT_BLOCK_SIZE "10GiB"

struct buf {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
	struct buf *b = opaque;
	char *nd = realloc(b->data, b->len + size * n + 1);

	if (!nd)
		return 0;
	memcpy(nd + b->len, p, size * n);
	b->len += size * n;
	nd[b->len] = '\0';
	b->data = nd;
	return size * n;
}

/* Keep the ETag header. */
static size_t on_header(char *p, size_t size, size_t n, void *opaque)
{
	char *etag = opaque;
	size_t len = size * n;

	if (etag && len > 5 && !strncasecmp(p, "ETag:", 5)) {
		const char *v = p + 5;
		size_t l;

		while (*v == ' ')
			v++;
		l = strcspn(v, "\r\n");
		snprintf(etag, 128, "%.*s", (int)l, v);
	}
	return len;
}

/**
 * incus_request() - one REST call over Incus's unix socket
 * @socket:	path of Incus's socket
 * @method:	"GET", "PATCH", ...
 * @path:	"/1.0/instances/NAME"
 * @body:	JSON body, or NULL
 * @if_match:	ETag for If-Match, or NULL
 * @metadata:	the response's "metadata" (new reference), or NULL
 * @etag:	the response's ETag (at least 128 bytes), or NULL
 * @etag_len:	size of @etag
 * @err:	error object: Incus's own error message on failure
 *
 * Return: 0 on success, -1 on failure
 */
int incus_request(const char *socket, const char *method, const char *path, json_t *body,
                  const char *if_match, json_t **metadata, char *etag, size_t etag_len,
                  struct qr_error *err)
{
	struct buf b = {0};
	struct curl_slist *hdr = NULL;
	_cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char url[1024], im[200];
	long code = 0;
	json_t *resp;
	CURLcode rc;
	CURL *c;
	int r = -1;

	if (etag && etag_len)
		etag[0] = '\0';
	c = curl_easy_init();
	if (!c)
		return qr_err_set(err, QR_ERR_SYS, "curl_easy_init failed");
	snprintf(url, sizeof(url), "http://incus%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, etag && etag_len >= 128 ? etag : NULL);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (text) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	}
	if (if_match && if_match[0]) {
		snprintf(im, sizeof(im), "If-Match: %s", if_match);
		hdr = curl_slist_append(hdr, im);
	}
	if (hdr)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		qr_err_set(err, QR_ERR_SYS, "Incus API at %s: %s", socket, curl_easy_strerror(rc));
		goto out;
	}
	resp = json_loads(b.data ? b.data : "", 0, NULL);
	if (!resp) {
		qr_err_set(err, QR_ERR_PROTOCOL, "Incus API %s %s: HTTP %ld, not JSON", method,
		           path, code);
		goto out;
	}
	if (code >= 400 ||
	    !strcmp(str_or(json_string_value(json_object_get(resp, "type")), ""), "error")) {
		qr_err_set(err, QR_ERR_STATE, "Incus API %s %s: %s (HTTP %ld)", method, path,
		           str_or(json_string_value(json_object_get(resp, "error")), "error"),
		           code);
		json_decref(resp);
		goto out;
	}
	if (metadata)
		*metadata = json_incref(json_object_get(resp, "metadata"));
	json_decref(resp);
	r = 0;
out:
	free(b.data);
	return r;
}

/**
 * incus_parse_size() - an Incus size ("10GiB", "512MB", "1048576")
 * @s:		text
 * @bytes:	result
 *
 * Return: 0 on success, -1 if @s is not a size
 */
int incus_parse_size(const char *s, uint64_t *bytes)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
	        {"KiB", 1ull << 10},
	        {"MiB", 1ull << 20},
	        {"GiB", 1ull << 30},
	        {"TiB", 1ull << 40},
	        {"kB", 1000ull},
	        {"KB", 1000ull},
	        {"MB", 1000000ull},
	        {"GB", 1000000000ull},
	        {"TB", 1000000000000ull},
	        {"B", 1},
	        {"", 1},
	};
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(end, units[i].suffix)) {
			*bytes = v * units[i].mult;
			return 0;
		}
	return -1;
}

/* The size of a storage volume: its own "size", else the pool's default. */
static int volume_size(const char *socket, const char *pool, const char *type, const char *name,
                       const char *override, uint64_t *size, struct qr_error *err)
{
	json_t *md = NULL;
	char path[512];
	const char *s = override;

	if (!s || !s[0]) {
		snprintf(path, sizeof(path), "/1.0/storage-pools/%s/volumes/%s/%s", pool, type,
		         name);
		if (incus_request(socket, "GET", path, NULL, NULL, &md, NULL, 0, err) < 0)
			return -1;
		s = json_string_value(json_object_get(json_object_get(md, "config"), "size"));
		if (!s || !s[0]) {
			json_decref(md);
			md = NULL;
			snprintf(path, sizeof(path), "/1.0/storage-pools/%s", pool);
			if (incus_request(socket, "GET", path, NULL, NULL, &md, NULL, 0, err) < 0)
				return -1;
			s = json_string_value(
			        json_object_get(json_object_get(md, "config"), "volume.size"));
		}
		if (!s || !s[0])
			s = INCUS_DEFAULT_BLOCK_SIZE;
	}
	if (incus_parse_size(s, size) < 0) {
		json_decref(md);
		return qr_err_set(err, QR_ERR_PARSE, "volume %s/%s: size '%s' is not a size", pool,
		                  name, s);
	}
	json_decref(md);
	return 0;
}

/**
 * incus_instance_inventory() - the devices Incus will hot-plug, as an inventory
 * @socket:	Incus's socket
 * @name:	instance name
 * @instance:	the instance (GET /1.0/instances/NAME metadata)
 * @inv:	result, with what "qremap config" needs: Incus's NICs (MACs) and
 *		block disks (sizes), and Incus's XHCI with its usb-redir ports
 * @err:	error object
 *
 * The VM need not run: MACs come from volatile.DEV.hwaddr (Incus sets them at
 * the first start, or from hwaddr), sizes from the storage volumes.
 *
 * Return: 0 on success, -1 on failure
 */
int incus_instance_inventory(const char *socket, const char *name, json_t *instance,
                             struct vm_inventory *inv, struct qr_error *err)
{
	json_t *devs = json_object_get(instance, "expanded_devices");
	json_t *conf = json_object_get(instance, "expanded_config");
	const char *dev;
	json_t *d;

	memset(inv, 0, sizeof(*inv));
	snprintf(inv->name, sizeof(inv->name), "%s", name);
	snprintf(inv->runstate, sizeof(inv->runstate), "%s",
	         str_or(json_string_value(json_object_get(instance, "status")), "?"));
	inv->ctrl = calloc(1, sizeof(*inv->ctrl));
	inv->nics = calloc(json_object_size(devs) + 1, sizeof(*inv->nics));
	inv->disks = calloc(json_object_size(devs) + 1, sizeof(*inv->disks));
	if (!inv->ctrl || !inv->nics || !inv->disks)
		return qr_err_sys(err, ENOMEM, "instance inventory");
	/* Incus 6.0.4's XHCI: qemu-xhci p2=8 p3=8, ports 1-3 taken by usb-redir */
	inv->n_ctrl = 1;
	snprintf(inv->ctrl[0].id, sizeof(inv->ctrl[0].id), "qemu_usb");
	snprintf(inv->ctrl[0].driver, sizeof(inv->ctrl[0].driver), "qemu-xhci");
	snprintf(inv->ctrl[0].bus, sizeof(inv->ctrl[0].bus), "qemu_usb.0");
	inv->ctrl[0].kind = CTRL_USB;
	inv->ctrl[0].ports = inv->ctrl[0].usb2_ports = inv->ctrl[0].usb3_ports = 8;
	for (unsigned p = 1; p <= 3; p++) {
		struct inv_usb_port *u = &inv->ctrl[0].used[inv->ctrl[0].n_used++];

		snprintf(u->port, sizeof(u->port), "%u", p);
		snprintf(u->device, sizeof(u->device), "qemu_spice-usb%u", p);
	}

	json_object_foreach(devs, dev, d)
	{
		const char *type = json_string_value(json_object_get(d, "type"));

		if (type && !strcmp(type, "nic")) {
			struct inv_nic *n = &inv->nics[inv->n_nics];
			char key[160];
			const char *mac;

			snprintf(key, sizeof(key), "volatile.%s.hwaddr", dev);
			mac = json_string_value(json_object_get(conf, key));
			if (!mac)
				mac = json_string_value(json_object_get(d, "hwaddr"));
			if (!mac)
				return qr_err_set(
				        err, QR_ERR_STATE,
				        "NIC %s has no MAC yet (%s): start the instance once, "
				        "or set its hwaddr",
				        dev, key);
			snprintf(n->id, sizeof(n->id), "dev-incus_%s", dev);
			snprintf(
			        n->model, sizeof(n->model), "%s",
			        !strcmp(str_or(json_string_value(json_object_get(d, "io.bus")), ""),
			                "usb")
			                ? "usb-net"
			                : "virtio-net-pci");
			snprintf(n->mac, sizeof(n->mac), "%s", mac);
			n->incus = true;
			n->hub_id = -1;
			inv->n_nics++;
		} else if (type && !strcmp(type, "disk")) {
			struct inv_disk *k = &inv->disks[inv->n_disks];
			const char *path = json_string_value(json_object_get(d, "path"));
			const char *pool = json_string_value(json_object_get(d, "pool"));
			const char *source = json_string_value(json_object_get(d, "source"));
			const char *size = json_string_value(json_object_get(d, "size"));

			if (path && !strcmp(path, "/")) {
				if (volume_size(socket, str_or(pool, "default"), "virtual-machine",
				                name, size, &k->size, err) < 0)
					return -1;
			} else if (pool && source && !path) {
				/* a custom block volume, hot-plugged like the root disk */
				if (volume_size(socket, pool, "custom", source, size, &k->size,
				                err) < 0)
					return -1;
			} else {
				continue; /* a shared filesystem or the config drive: not a block
				             disk */
			}
			snprintf(k->id, sizeof(k->id), "dev-incus_%s", dev);
			snprintf(k->driver, sizeof(k->driver), "scsi-hd");
			k->incus = k->has_medium = true;
			k->fdset = -1;
			inv->n_disks++;
		}
	}
	return 0;
}

/**
 * incus_strip_added() - a configuration value without what qremap added
 * @value:	the current value ("" if unset)
 * @added:	exactly what qremap appended (as recorded at enable)
 *
 * The last occurrence is removed: qremap appends, and text the user added
 * after enabling stays. If the value no longer contains it, it is returned
 * unchanged (the caller says so).
 *
 * Return: new string (malloc'd), NULL if out of memory
 */
char *incus_strip_added(const char *value, const char *added)
{
	const char *hit = NULL, *p = value;
	size_t al = strlen(added);
	char *out;

	if (!al)
		return strdup(value);
	while ((p = strstr(p, added))) {
		hit = p;
		p++;
	}
	if (!hit)
		return strdup(value);
	if (asprintf(&out, "%.*s%s", (int)(hit - value), value, hit + al) < 0)
		return NULL;
	return out;
}
