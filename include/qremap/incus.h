/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - incus.h: the Incus REST API over its unix socket (libcurl), and what
 * qremap reads from and writes to an instance's configuration.
 *
 * qremap's additions to an instance are always recognisable, so that
 * "qremap incus disable" removes exactly them: the block appended to
 * raw.qemu.conf (recorded verbatim in user.qremap.conf: raw.qemu.conf can't
 * carry comment markers, see coldplug_print_conf()), the suffix appended to
 * raw.qemu (user.qremap.raw_qemu), the AppArmor rule appended to
 * raw.apparmor (user.qremap.apparmor), a raw.qemu.scriptlet that starts with
 * qremap's header, and the user.qremap.* keys themselves. A key that came
 * from an Incus profile (in expanded_config, not in the instance's config)
 * is written at the instance level as the profile's value plus qremap's
 * addition, and listed in user.qremap.inherited, so that disable removes the
 * instance key again rather than leaving a copy of the profile's value. The
 * disk sizes enable sized the placeholders for are in user.qremap.disks.
 * Writes use If-Match with the ETag read, so a concurrent change makes the
 * write fail rather than be lost.
 *
 * Every request names its project, and every name in its path is escaped:
 * paths come from incus_path() only, and incus_request() refuses any other
 * shape (no "..", no unescaped separator, no request without "?project=").
 */
#ifndef QREMAP_INCUS_H
#define QREMAP_INCUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "qremap/error.h"
#include "qremap/inventory.h"

#define INCUS_DEFAULT_SOCKET  "/var/lib/incus/unix.socket"
#define INCUS_DEFAULT_PROJECT "default"
#define INCUS_KEY_PROFILE     "user.qremap.profile"
#define INCUS_KEY_CONF        "user.qremap.conf"
#define INCUS_KEY_RAW_QEMU    "user.qremap.raw_qemu"
#define INCUS_KEY_APPARMOR    "user.qremap.apparmor"
#define INCUS_KEY_INHERITED   "user.qremap.inherited"
#define INCUS_KEY_DISKS       "user.qremap.disks"

/* Most notes incus_instance_inventory() keeps about disks it leaves alone */
#define INCUS_MAX_NOTES 16

/**
 * struct incus_extra - what enable needs besides the inventory
 * @bootindex:	for each disk of the inventory (same index), the bootindex
 *		Incus gives it (see incus_boot_order())
 * @boot_end:	first bootindex Incus gives no device of this instance
 * @disks:	device name -> {"size": bytes[, "source": host path]} for each
 *		disk in the inventory (recorded in user.qremap.disks)
 * @notes:	disks left as Incus hot-plugs them, and why
 * @n_notes:	number of @notes
 */
struct incus_extra {
	int *bootindex;
	int boot_end;
	json_t *disks;
	char notes[INCUS_MAX_NOTES][256];
	size_t n_notes;
};

/* Largest response body read from Incus: an instance with its expanded
 * config and devices is a few KiB; anything near this is not Incus
 */
#define INCUS_RESPONSE_MAX (16u << 20)
/* Bound on connecting to Incus's socket (a listener that doesn't accept) */
#define INCUS_CONNECT_TIMEOUT_MS 2000
/* Default bound on a whole request: inside the pre-start scriptlet's budget
 * (it polls qremapd's answer for about 20 s), so an Incus that hangs fails
 * one lookup, not the VM's start
 */
#define INCUS_TIMEOUT_MS_DEFAULT 10000
/* Size of the ETag buffer callers pass to incus_request() */
#define INCUS_ETAG_MAX 128

int incus_path(char *buf, size_t len, const char *project, const char *query, struct qr_error *err,
               ...) __attribute__((sentinel));
void incus_set_timeout_ms(long ms);
int incus_request(const char *socket, const char *method, const char *path, json_t *body,
                  const char *if_match, json_t **metadata, char *etag, size_t etag_len,
                  struct qr_error *err);
int incus_instance_inventory(const char *socket, const char *project, const char *name,
                             json_t *instance, struct vm_inventory *inv, struct incus_extra *x,
                             struct qr_error *err);
void incus_extra_free(struct incus_extra *x);
int incus_host_disk_size(const char *path, uint64_t *size, struct qr_error *err);
int incus_profile_value(const char *socket, const char *project, json_t *instance, const char *key,
                        char **value, char *profile, size_t profile_len, struct qr_error *err);
int incus_apparmor_rule(char *buf, size_t len, const char *socket_path, struct qr_error *err);
int incus_bootindex_floor(const char *raw_qemu_conf, const char *raw_qemu);
bool incus_conf_has_section(const char *conf, const char *section);
int incus_state_file_name(char *buf, size_t len, const char *project, const char *name,
                          struct qr_error *err);
bool incus_mac_valid(const char *mac);
int incus_parse_size(const char *s, uint64_t *bytes);
char *incus_strip_added(const char *value, const char *added);

#endif /* QREMAP_INCUS_H */
