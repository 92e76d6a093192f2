/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - qmp_query.h: what qremap reads from QEMU, with type-checked replies
 *
 * The read-only side of QMP in one place: queries are collected in a batch
 * and sent together (qmp_execute_batch()), and each answer is read through an
 * accessor that checks its type and says, on failure, which query it was.
 * Inventory, executor and verification read QEMU only through here: the
 * shape of query-block, of QOM paths and of qom-list is known once.
 *
 * Facts (checked against QEMU 7.2 and 10.0; docs/facts.md §6, §7):
 * query-block's "qdev" is a device id or the QOM path of the device holding
 * the BlockBackend, which for virtio-blk-pci is its inner
 * "/machine/peripheral/<id>/virtio-backend" and for usb-storage its inner
 * SCSI disk (hw/block/block.c, block/qapi.c); qom-list of
 * /machine/peripheral lists each device created with an id as a
 * "child<TYPE>" property (qom/object.c).
 */
#ifndef QREMAP_QMP_QUERY_H
#define QREMAP_QMP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "qremap/error.h"
#include "qremap/qmp.h"

#define QQ_ID_MAX      128  /* a device id or QOM path component, with NUL */
#define QQ_NODE_MAX    128  /* a block node name */
#define QQ_FILE_MAX    512  /* a node's "file", a QOM path */
#define QQ_MAX_QUERIES 4096 /* in one struct qq_batch */
/* What one answer may make us hold: the peer (QEMU, running as nobody) writes
 * the answers, and a short JSON entry costs a large struct here */
#define QQ_MAX_QDEVS  4096 /* devices in qom-list /machine/peripheral */
#define QQ_MAX_BLOCKS 1024 /* BlockBackends in query-block */

/**
 * struct qq_batch - queries to send together, then their typed answers
 * @calls:	the commands (see struct qmp_call)
 * @what:	per call, what it reads, for error messages: "reading
 *		/machine property 'type'"
 * @n:		calls in use
 * @cap:	calls allocated
 */
struct qq_batch {
	struct qmp_call *calls;
	char (*what)[256];
	size_t n;
	size_t cap;
};

int qq_add(struct qq_batch *b, struct qr_error *err, const char *command, const char *fmt, ...);
int qq_add_qom_get(struct qq_batch *b, const char *path, const char *prop, struct qr_error *err);
int qq_add_qom_list(struct qq_batch *b, const char *path, struct qr_error *err);
int qq_add_hmp(struct qq_batch *b, const char *command_line, struct qr_error *err);
int qq_run(struct qmp_client *c, struct qq_batch *b, struct qr_error *err);
void qq_batch_free(struct qq_batch *b);
#define _cleanup_qq_batch_ _cleanup_(qq_batch_free)

int qq_answer(const struct qq_batch *b, int i, json_t **ret, struct qr_error *err);
int qq_string(const struct qq_batch *b, int i, char *buf, size_t size, struct qr_error *err);
int qq_uint(const struct qq_batch *b, int i, unsigned *out, struct qr_error *err);
int qq_bool(const struct qq_batch *b, int i, bool *out, struct qr_error *err);
int qq_array(const struct qq_batch *b, int i, json_t **arr, struct qr_error *err);
int qq_text(const struct qq_batch *b, int i, const char **text, struct qr_error *err);

/**
 * struct qq_qdev - one device created with an id, from qom-list /machine/peripheral
 * @id:		its id
 * @type:	its QOM type, e.g. "scsi-hd"
 */
struct qq_qdev {
	char id[QQ_ID_MAX];
	char type[64];
};

int qq_qdevs(const struct qq_batch *b, int i, struct qq_qdev **list, size_t *n,
             struct qr_error *err);
int qq_has_child(const struct qq_batch *b, int i, const char *name, struct qr_error *err);
void qq_qdev_path(char *buf, size_t size, const char *id);
void qq_qdev_id(const char *qdev, char *id, size_t size);
bool qq_qdev_is(const char *qdev, const char *id);

/**
 * struct qq_block - one BlockBackend from query-block, as qremap uses it
 * @qdev:	its frontend's "qdev" (id or QOM path), "" if none
 * @id:		the frontend's device id (qq_qdev_id() of @qdev), "" if none
 * @inserted:	it has a medium
 * @node:	the medium's node name
 * @drv:	its driver ("raw", "qcow2", "null-co", ...)
 * @file:	its "file" (e.g. "/dev/fdset/3")
 * @size:	its virtual size in bytes, 0 if QEMU gave none
 * @read_only:	read-only
 * @removable:	removable (a CD drive)
 */
struct qq_block {
	char qdev[QQ_FILE_MAX];
	char id[QQ_ID_MAX];
	bool inserted;
	char node[QQ_NODE_MAX];
	char drv[32];
	char file[QQ_FILE_MAX];
	uint64_t size;
	bool read_only;
	bool removable;
};

int qq_blocks(const struct qq_batch *b, int i, struct qq_block **list, size_t *n,
              struct qr_error *err);

#endif /* QREMAP_QMP_QUERY_H */
