// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - qmp_query.c: batches of read-only QMP queries, answers read by type
 *
 * See qmp_query.h. Each accessor fails with the query it answers in the
 * message ("reading /machine property 'type': ..."), so callers need no
 * context of their own.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qremap/qmp_query.h"
#include "qremap/util.h"

/**
 * qq_slot() - a new call at the end of a batch
 * @b:		batch
 * @command:	command name (a string literal: borrowed)
 * @args:	arguments or NULL; stolen, also on failure
 * @err:	error object
 *
 * Return: the call's index, or -1
 */
static int qq_slot(struct qq_batch *b, const char *command, json_t *args, struct qr_error *err)
{
	if (b->n == QQ_MAX_QUERIES) {
		json_decref(args);
		return qr_err_set(err, QR_ERR_UNSUPPORTED,
		                  "more than %d queries at once: too many devices", QQ_MAX_QUERIES);
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct qmp_call *nc = realloc(b->calls, cap * sizeof(*nc));
		char(*nw)[256];

		if (nc)
			b->calls = nc;
		nw = nc ? realloc(b->what, cap * sizeof(*nw)) : NULL;
		if (!nw) {
			json_decref(args);
			return qr_err_sys(err, ENOMEM, "query batch");
		}
		b->what = nw;
		b->cap = cap;
	}
	memset(&b->calls[b->n], 0, sizeof(b->calls[b->n]));
	b->calls[b->n].command = command;
	b->calls[b->n].args = args;
	snprintf(b->what[b->n], sizeof(b->what[b->n]), "%s", command);
	return (int)b->n++;
}

/**
 * qq_add() - add a query, arguments built by json_pack()
 * @b:		batch
 * @err:	error object
 * @command:	command name (a string literal: borrowed)
 * @fmt:	json_pack() format of the arguments, NULL for none
 *
 * Return: the query's index in @b, or -1
 */
int qq_add(struct qq_batch *b, struct qr_error *err, const char *command, const char *fmt, ...)
{
	json_t *args = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = qmp_vpack_args(command, &args, err, fmt, ap);
	va_end(ap);
	return r < 0 ? -1 : qq_slot(b, command, args, err);
}

/**
 * qq_add_qom_get() - add qom-get of property @prop of object @path
 * @b:		batch
 * @path:	QOM path
 * @prop:	property
 * @err:	error object
 *
 * Return: the query's index in @b, or -1
 */
int qq_add_qom_get(struct qq_batch *b, const char *path, const char *prop, struct qr_error *err)
{
	int i = qq_add(b, err, "qom-get", "{s:s, s:s}", "path", path, "property", prop);

	if (i >= 0)
		snprintf(b->what[i], sizeof(b->what[i]), "reading %.180s property '%.48s'", path,
		         prop);
	return i;
}

/**
 * qq_add_qom_list() - add qom-list of object @path
 * @b:		batch
 * @path:	QOM path
 * @err:	error object
 *
 * Return: the query's index in @b, or -1
 */
int qq_add_qom_list(struct qq_batch *b, const char *path, struct qr_error *err)
{
	int i = qq_add(b, err, "qom-list", "{s:s}", "path", path);

	if (i >= 0)
		snprintf(b->what[i], sizeof(b->what[i]), "listing %.200s", path);
	return i;
}

/**
 * qq_add_hmp() - add a human monitor command (its answer is text)
 * @b:			batch
 * @command_line:	e.g. "info network"
 * @err:		error object
 *
 * Return: the query's index in @b, or -1
 */
int qq_add_hmp(struct qq_batch *b, const char *command_line, struct qr_error *err)
{
	int i = qq_add(b, err, "human-monitor-command", "{s:s}", "command-line", command_line);

	if (i >= 0)
		snprintf(b->what[i], sizeof(b->what[i]), "HMP '%.200s'", command_line);
	return i;
}

/**
 * qq_run() - send every query of @b at once and read their answers
 * @c:		client
 * @b:		batch
 * @err:	error object
 *
 * QMP_MAX_BATCH at a time: what is sent ahead stays small, whatever the
 * number of devices.
 *
 * Return: 0 when every query has its answer (which may be an error: see the
 *	   accessors), -1 when the batch as a whole failed
 */
int qq_run(struct qmp_client *c, struct qq_batch *b, struct qr_error *err)
{
	for (size_t i = 0; i < b->n; i += QMP_MAX_BATCH) {
		size_t n = b->n - i < QMP_MAX_BATCH ? b->n - i : QMP_MAX_BATCH;

		if (qmp_execute_batch(c, b->calls + i, n, err) < 0)
			return -1;
	}
	return 0;
}

/**
 * qq_batch_free() - free a batch and its answers; it can be used again
 * @b:	batch
 */
void qq_batch_free(struct qq_batch *b)
{
	qmp_batch_free(b->calls, b->n);
	free(b->calls);
	free(b->what);
	memset(b, 0, sizeof(*b));
}

/**
 * qq_answer() - the answer to query @i, whatever its type
 * @b:		batch, run
 * @i:		query index
 * @ret:	the answer (borrowed from @b)
 * @err:	error object: QEMU's error, prefixed with what the query read
 *
 * Return: 0 on success, -1 if QEMU answered with an error
 */
int qq_answer(const struct qq_batch *b, int i, json_t **ret, struct qr_error *err)
{
	const struct qmp_call *call = &b->calls[i];

	if (call->err.kind) {
		if (err)
			*err = call->err;
		return qr_err_prefix(err, "%s", b->what[i]);
	}
	if (!call->answered || !call->ret)
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: no answer", b->what[i]);
	*ret = call->ret;
	return 0;
}

/**
 * qq_string() - the answer to query @i, a string that must fit @buf
 * @b:		batch, run
 * @i:		query index
 * @buf:	result
 * @size:	its size
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qq_string(const struct qq_batch *b, int i, char *buf, size_t size, struct qr_error *err)
{
	json_t *v = NULL;

	if (qq_answer(b, i, &v, err) < 0)
		return -1;
	if (!json_is_string(v))
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: not a string", b->what[i]);
	if (!str_copy(buf, size, json_string_value(v)))
		return qr_err_set(err, QR_ERR_UNSUPPORTED, "%s: longer than %zu bytes", b->what[i],
		                  size - 1);
	return 0;
}

/**
 * qq_uint() - the answer to query @i, a count
 * @b:		batch, run
 * @i:		query index
 * @out:	result
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qq_uint(const struct qq_batch *b, int i, unsigned *out, struct qr_error *err)
{
	json_t *v = NULL;

	if (qq_answer(b, i, &v, err) < 0)
		return -1;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX)
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: not a count", b->what[i]);
	*out = (unsigned)json_integer_value(v);
	return 0;
}

/**
 * qq_bool() - the answer to query @i, a boolean
 * @b:		batch, run
 * @i:		query index
 * @out:	result
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qq_bool(const struct qq_batch *b, int i, bool *out, struct qr_error *err)
{
	json_t *v = NULL;

	if (qq_answer(b, i, &v, err) < 0)
		return -1;
	if (!json_is_boolean(v))
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: not a boolean", b->what[i]);
	*out = json_is_true(v);
	return 0;
}

/**
 * qq_array() - the answer to query @i, an array
 * @b:		batch, run
 * @i:		query index
 * @arr:	result (borrowed from @b)
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qq_array(const struct qq_batch *b, int i, json_t **arr, struct qr_error *err)
{
	json_t *v = NULL;

	if (qq_answer(b, i, &v, err) < 0)
		return -1;
	if (!json_is_array(v))
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s: not an array", b->what[i]);
	*arr = v;
	return 0;
}

/**
 * qq_text() - the answer to HMP query @i: its text
 * @b:		batch, run
 * @i:		query index
 * @text:	result (borrowed from @b); HMP reports its own errors here,
 *		as text, and callers must check it
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qq_text(const struct qq_batch *b, int i, const char **text, struct qr_error *err)
{
	json_t *v = NULL;

	if (qq_answer(b, i, &v, err) < 0)
		return -1;
	if (!json_is_string(v))
		return qr_err_set(err, QR_ERR_PROTOCOL, "%s did not return a string", b->what[i]);
	*text = json_string_value(v);
	return 0;
}

/**
 * qq_qdevs() - the devices in a qom-list of /machine/peripheral, appended to @list
 * @b:		batch, run
 * @i:		index of that qom-list
 * @list:	devices (realloc'd; the caller frees it)
 * @n:		their number
 * @err:	error object
 *
 * Only "child<TYPE>" properties are devices; the rest ("type", ...) are
 * the container's own.
 *
 * Return: 0 on success, -1 on failure
 */
int qq_qdevs(const struct qq_batch *b, int i, struct qq_qdev **list, size_t *n,
             struct qr_error *err)
{
	json_t *arr = NULL, *item;
	size_t k;

	if (qq_array(b, i, &arr, err) < 0)
		return -1;
	json_array_foreach(arr, k, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));
		const char *type = json_string_value(json_object_get(item, "type"));
		struct qq_qdev *e, *ne;
		size_t tl;

		if (!name || !type || !str_has_prefix(type, "child<"))
			continue;
		if (*n >= QQ_MAX_QDEVS)
			return qr_err_set(err, QR_ERR_UNSUPPORTED, "%s: more than %d devices",
			                  b->what[i], QQ_MAX_QDEVS);
		tl = strlen(type);
		if (type[tl - 1] != '>' || tl - 7 >= sizeof(e->type) || strlen(name) >= QQ_ID_MAX)
			return qr_err_set(err, QR_ERR_UNSUPPORTED,
			                  "%s: device name or type too long: %.64s", b->what[i],
			                  name);
		ne = realloc(*list, (*n + 1) * sizeof(*ne));
		if (!ne)
			return qr_err_sys(err, ENOMEM, "device list");
		*list = ne;
		e = &ne[(*n)++];
		memset(e, 0, sizeof(*e));
		memcpy(e->id, name, strlen(name) + 1);
		memcpy(e->type, type + 6, tl - 7);
		e->type[tl - 7] = '\0';
	}
	return 0;
}

/**
 * qq_has_child() - whether a qom-list answer has a child @name
 * @b:		batch, run
 * @i:		index of a qom-list
 * @name:	child's name (a device id, for /machine/peripheral)
 * @err:	error object
 *
 * Return: 1 if it has, 0 if not, -1 if the list could not be read
 */
int qq_has_child(const struct qq_batch *b, int i, const char *name, struct qr_error *err)
{
	json_t *arr = NULL, *item;
	size_t k;

	if (qq_array(b, i, &arr, err) < 0)
		return -1;
	json_array_foreach(arr, k, item)
	{
		const char *n = json_string_value(json_object_get(item, "name"));

		if (n && !strcmp(n, name))
			return 1;
	}
	return 0;
}

/**
 * qq_qdev_path() - the QOM path of a device created with an id
 * @buf:	result
 * @size:	its size
 * @id:		the device's id
 */
void qq_qdev_path(char *buf, size_t size, const char *id)
{
	snprintf(buf, size, "/machine/peripheral/%s", id);
}

/**
 * qq_qdev_id() - the device id in a query-block "qdev"
 * @qdev:	an id, or a QOM path: "/machine/peripheral/<id>[/...]" gives
 *		<id> (virtio-blk-pci's ".../virtio-backend", usb-storage's
 *		inner disk); any other path is kept whole (an anonymous device)
 * @id:		result
 * @size:	its size
 */
void qq_qdev_id(const char *qdev, char *id, size_t size)
{
	static const char base[] = "/machine/peripheral/";
	const char *p = qdev + strlen(base);

	if (str_has_prefix(qdev, base))
		snprintf(id, size, "%.*s", (int)strcspn(p, "/"), p);
	else
		str_copy(id, size, qdev);
}

/**
 * qq_qdev_is() - whether a query-block "qdev" names device @id
 * @qdev:	an id or QOM path
 * @id:		device id
 *
 * Return: true for the bare id, its /machine/peripheral path, or a path below it
 */
bool qq_qdev_is(const char *qdev, const char *id)
{
	static const char base[] = "/machine/peripheral/";
	size_t l = strlen(id);

	if (!strcmp(qdev, id))
		return true;
	if (!str_has_prefix(qdev, base))
		return false;
	qdev += strlen(base);
	return !strncmp(qdev, id, l) && (qdev[l] == '\0' || qdev[l] == '/');
}

/**
 * qq_blocks() - the BlockBackends in a query-block answer
 * @b:		batch, run
 * @i:		index of a query-block
 * @list:	result (malloc'd, NULL if none; the caller frees it)
 * @n:		its length
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int qq_blocks(const struct qq_batch *b, int i, struct qq_block **list, size_t *n,
              struct qr_error *err)
{
	json_t *arr = NULL, *item;
	size_t k;

	*list = NULL;
	*n = 0;
	if (qq_array(b, i, &arr, err) < 0)
		return -1;
	if (!json_array_size(arr))
		return 0;
	if (json_array_size(arr) > QQ_MAX_BLOCKS)
		return qr_err_set(err, QR_ERR_UNSUPPORTED,
		                  "query-block: %zu block devices (at most %d)",
		                  json_array_size(arr), QQ_MAX_BLOCKS);
	*list = calloc(json_array_size(arr), sizeof(**list));
	if (!*list)
		return qr_err_sys(err, ENOMEM, "block list");
	json_array_foreach(arr, k, item)
	{
		struct qq_block *bl = &(*list)[(*n)++];
		json_t *ins, *vs;
		const char *qdev;

		if (!json_is_object(item))
			return qr_err_set(err, QR_ERR_PROTOCOL,
			                  "query-block: entry %zu is not an object", k);
		ins = json_object_get(item, "inserted");
		vs = json_object_get(json_object_get(ins, "image"), "virtual-size");
		qdev = json_string_value(json_object_get(item, "qdev"));
		str_copy(bl->qdev, sizeof(bl->qdev), str_or(qdev, ""));
		if (bl->qdev[0])
			qq_qdev_id(bl->qdev, bl->id, sizeof(bl->id));
		bl->removable = json_is_true(json_object_get(item, "removable"));
		if (!json_is_object(ins))
			continue;
		bl->inserted = true;
		str_copy(bl->node, sizeof(bl->node),
		         str_or(json_string_value(json_object_get(ins, "node-name")), ""));
		str_copy(bl->drv, sizeof(bl->drv),
		         str_or(json_string_value(json_object_get(ins, "drv")), ""));
		str_copy(bl->file, sizeof(bl->file),
		         str_or(json_string_value(json_object_get(ins, "file")), ""));
		bl->read_only = json_is_true(json_object_get(ins, "ro"));
		bl->size = json_is_integer(vs) && json_integer_value(vs) > 0
		                   ? (uint64_t)json_integer_value(vs)
		                   : 0;
	}
	return 0;
}
