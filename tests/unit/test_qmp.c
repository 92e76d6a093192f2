// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_qmp.c: QMP client protocol tests against fakeqmp
 *
 * Each test is a conversation: a script for the fake peer (what it sends,
 * what it expects to receive) and the client calls that should produce it.
 * A test passes only if both sides agree: the client's results are checked
 * here, and fakeqmp_finish() checks that the client sent exactly the scripted
 * commands. The client is never put to sleep: it waits on the protocol with
 * bounded timeouts, and only the fake peer pauses, to shape the byte stream.
 */

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qremap/json_frame.h"
#include "qremap/qmp.h"
#include "qremap/qmp_query.h"
#include "qremap/util.h"
#include "fakeqmp.h"
#include "testlib.h"

/* Bound for waits that should succeed: never reached unless something broke */
#define OK_WAIT_MS 5000
/* Bound for waits that should time out: short, to keep the suite fast */
#define SHORT_MS 200
/* A wait that should time out must return well before this: a loose
 * "it did not hang" check, not a timing measurement
 */
#define HANG_MS (SHORT_MS + 3000)
/* Arrays inside {"return": ...}: one level deeper than the framer allows */
#define JSON_DEPTH_PROBE JSON_FRAME_MAX_DEPTH

/**
 * struct rig - one client talking to one fake peer
 * @fq:	the peer
 * @c:	the client
 */
struct rig {
	struct fakeqmp *fq;
	struct qmp_client *c;
};

/**
 * rig_end() - close the client, then require the peer's script to have run
 * @r:	rig; used as a cleanup handler, so a REQUIRE that returns early still
 *	reaps the peer and frees the client
 */
static void rig_end(struct rig *r)
{
	char why[600];
	int ok;

	qmp_close(r->c);
	r->c = NULL;
	if (!r->fq)
		return;
	ok = fakeqmp_finish(r->fq, why, sizeof(why)) == 0;
	r->fq = NULL;
	if (!ok)
		fprintf(stderr, "fake peer: %s\n", why);
	CHECK(ok);
}

#define _cleanup_rig_ _cleanup_(rig_end)

/**
 * rig_start() - fork a fake peer for @script and connect a client to it
 * @r:		rig to fill
 * @script:	the peer's steps
 * @n:		their number
 * @handshake:	also run qmp_handshake() (the script must start with it)
 *
 * Return: true on success; on failure the reason is on stderr and whatever
 *	   was set up is left in @r for rig_end()
 */
static bool rig_start(struct rig *r, const struct fq_step *script, size_t n, bool handshake)
{
	struct qr_error err = {0};
	int fd;

	r->fq = fakeqmp_start(script, n, &fd);
	if (!r->fq)
		return false;
	if (qmp_adopt_fd(fd, "fakeqmp", &r->c, &err) < 0) {
		fprintf(stderr, "qmp_adopt_fd: %s\n", err.msg);
		r->c = NULL;
		return false;
	}
	qmp_set_timeout(r->c, OK_WAIT_MS);
	if (handshake && qmp_handshake(r->c, OK_WAIT_MS, &err) < 0) {
		fprintf(stderr, "qmp_handshake: %s\n", err.msg);
		return false;
	}
	return true;
}

#define RIG_START(r, script, hs) REQUIRE(rig_start(&(r), (script), ARRAY_SIZE(script), (hs)))

/* Check an error's kind, showing its message if it is the wrong one. */
#define CHECK_KIND(e, k)                                                                           \
	do {                                                                                       \
		if ((e).kind != (k))                                                               \
			fprintf(stderr, "  got %s error: %s\n", qr_err_kind_str((e).kind),         \
			        (e).msg);                                                          \
		CHECK_INT((e).kind, (k));                                                          \
	} while (0)

/**
 * str_member() - a string member of a JSON object, for short checks
 * @o:		object (may be NULL)
 * @key:	member name
 *
 * Return: the string, or NULL if absent or not a string
 */
static const char *str_member(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/**
 * struct traffic - what the trace callback saw
 * @n_out:	commands sent
 * @n_in:	objects received
 * @first_out:	the first command sent
 */
struct traffic {
	int n_out;
	int n_in;
	char first_out[256];
};

/**
 * record_traffic() - qmp_trace_fn that counts messages and keeps the first
 *		      command
 * @opaque:	struct traffic
 * @outgoing:	direction
 * @text:	the message
 * @len:	its length
 * @fd:		descriptor passed, or -1
 */
static void record_traffic(void *opaque, bool outgoing, const char *text, size_t len, int fd)
{
	struct traffic *t = opaque;

	if (!outgoing) {
		t->n_in++;
		return;
	}
	if (!t->n_out++)
		snprintf(t->first_out, sizeof(t->first_out), "%.*s", (int)len, text);
}

/* The greeting is read, its version and package kept, and qmp_capabilities
 * is the first thing sent (the peer's script fails otherwise).
 */
static void test_handshake(void)
{
	static const struct fq_step script[] = {
	        FQ_GREETING(10, 0, 2, "Debian 1:10.0.2+ds-2"),
	        FQ_EXPECT("qmp_capabilities"),
	        FQ_RETURN("{}"),
	        FQ_EXPECT("query-status"),
	        FQ_RETURN("{\"status\": \"running\", \"running\": true}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct traffic t = {0};
	struct qr_error err = {0};
	const struct qmp_version *v;
	json_t *res = NULL;

	RIG_START(r, script, false);
	qmp_set_trace(r.c, record_traffic, &t);
	REQUIRE(qmp_handshake(r.c, OK_WAIT_MS, &err) == 0);
	v = qmp_get_version(r.c);
	CHECK_INT(v->major, 10);
	CHECK_INT(v->minor, 0);
	CHECK_INT(v->micro, 2);
	CHECK_STR(v->package, "Debian 1:10.0.2+ds-2");
	CHECK(qmp_version_at_least(r.c, 10, 0, 2));
	CHECK(qmp_version_at_least(r.c, 9, 2, 99));
	CHECK(!qmp_version_at_least(r.c, 10, 0, 3));
	CHECK(!qmp_version_at_least(r.c, 10, 1, 0));
	CHECK_CONTAINS(t.first_out, "\"execute\":\"qmp_capabilities\"");
	CHECK_INT(t.n_out, 1);
	CHECK_INT(t.n_in, 2);

	CHECK_INT(qmp_execute(r.c, "query-status", NULL, &res, &err), 0);
	CHECK_STR(str_member(res, "status"), "running");
	CHECK_INT(t.n_out, 2);
	json_decref(res);
}

/* A handshake that cannot complete fails with the right kind, never hangs. */
static void test_handshake_failures(void)
{
	static const struct fq_step silent[] = {FQ_EXPECT_EOF};
	static const struct fq_step not_greeting[] = {
	        FQ_SEND("{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, "
	                "\"microseconds\": 0}}\r\n"),
	        FQ_EXPECT_EOF,
	};
	static const struct fq_step hangup[] = {FQ_CLOSE(NULL)};
	static const struct fq_step refused[] = {
	        FQ_GREETING(7, 2, 0, "Debian 1:7.2+dfsg-7"),
	        FQ_EXPECT("qmp_capabilities"),
	        FQ_ERROR("CommandNotFound", "Capabilities negotiation is already complete"),
	        FQ_EXPECT_EOF,
	};
	static const struct {
		const struct fq_step *script;
		size_t n;
		int timeout_ms;
		enum qr_err_kind kind;
		const char *msg;
	} cases[] = {
	        {silent, ARRAY_SIZE(silent), SHORT_MS, QR_ERR_TIMEOUT, "another client"},
	        {not_greeting, ARRAY_SIZE(not_greeting), OK_WAIT_MS, QR_ERR_PROTOCOL,
	         "not a QMP greeting"},
	        {hangup, ARRAY_SIZE(hangup), OK_WAIT_MS, QR_ERR_DISCONNECTED, "closed"},
	        {refused, ARRAY_SIZE(refused), OK_WAIT_MS, QR_ERR_QMP, "negotiating"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_rig_ struct rig r = {0};
		struct qr_error err = {0};
		int64_t t0 = now_ms();

		REQUIRE(rig_start(&r, cases[i].script, cases[i].n, false));
		CHECK_INT(qmp_handshake(r.c, cases[i].timeout_ms, &err), -1);
		CHECK(now_ms() - t0 < HANG_MS);
		CHECK_KIND(err, cases[i].kind);
		CHECK_CONTAINS(err.msg, cases[i].msg);
	}
}

/* Greeting in 7-byte pieces, a reply one byte at a time: the client must
 * reassemble both, including a string full of braces and escapes.
 */
static void test_split_reads(void)
{
	static const struct fq_step script[] = {
	        FQ_SEND_CHUNKED("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
	                        "\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, "
	                        "\"capabilities\": [\"oob\"]}}\r\n",
	                        7, 1),
	        FQ_EXPECT("qmp_capabilities"),
	        FQ_RETURN("{}"),
	        FQ_EXPECT("query-name"),
	        FQ_SEND_CHUNKED("{\"return\": {\"name\": \"vm-\\\"}{\\\\\"}, \"id\": @ID@}\r\n", 1,
	                        1),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *res = NULL;

	RIG_START(r, script, true);
	CHECK_INT(qmp_get_version(r.c)->major, 7);
	CHECK_INT(qmp_get_version(r.c)->minor, 2);
	CHECK_STR(qmp_get_version(r.c)->package, "Debian 1:7.2+dfsg-7");
	CHECK_INT(qmp_execute(r.c, "query-name", NULL, &res, &err), 0);
	CHECK_STR(str_member(res, "name"), "vm-\"}{\\");
	json_decref(res);
}

/* Events and the reply in one write, an event after the reply too: the
 * reply is found, the events before it are queued in order, the one after
 * it is not lost.
 */
static void test_many_objects_in_one_write(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("cont"),
	        FQ_SEND("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": "
	                "1}}"
	                "\r\n{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, "
	                "\"microseconds\": 2}}\r\n{\"return\": {}, \"id\": @ID@}\r\n"
	                "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}, \"timestamp\": "
	                "{\"seconds\": 1, \"microseconds\": 3}}\r\n"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *ev = NULL;

	RIG_START(r, script, true);
	REQUIRE(qmp_execute(r.c, "cont", NULL, NULL, &err) == 0);
	CHECK_INT(qmp_queued_events(r.c), 2);

	ev = qmp_take_event(r.c, NULL, NULL, NULL);
	CHECK_STR(str_member(ev, "event"), "STOP");
	json_decref(ev);
	ev = qmp_take_event(r.c, NULL, NULL, NULL);
	CHECK_STR(str_member(ev, "event"), "RESUME");
	json_decref(ev);
	CHECK(!qmp_take_event(r.c, NULL, NULL, NULL));

	/* Already received, so even a zero bound must find it */
	ev = NULL;
	CHECK_INT(qmp_wait_event(r.c, "SHUTDOWN", NULL, NULL, 0, &ev, &err), 0);
	CHECK(json_is_true(json_object_get(json_object_get(ev, "data"), "guest")));
	json_decref(ev);
}

/* QEMU ends objects with CRLF, but nothing may depend on it: LF only, no
 * separator at all, and odd white space must work the same.
 */
static void test_line_endings(void)
{
	static const char *const eols[] = {"\r\n", "\n", "", " \t\n\n"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(eols); i++) {
		char greeting[256], caps[64], reply[128], name[16];
		const struct fq_step script[] = {
		        FQ_SEND(greeting), FQ_EXPECT("qmp_capabilities"),
		        FQ_SEND(caps),     FQ_EXPECT("query-name"),
		        FQ_SEND(reply),    FQ_EXPECT_EOF,
		};
		_cleanup_rig_ struct rig r = {0};
		struct qr_error err = {0};
		json_t *res = NULL;

		snprintf(greeting, sizeof(greeting),
		         "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 1, "
		         "\"major\": 9}, \"package\": \"\"}, \"capabilities\": []}}%s",
		         eols[i]);
		snprintf(caps, sizeof(caps), "{\"return\": {}, \"id\": @ID@}%s", eols[i]);
		snprintf(reply, sizeof(reply),
		         "{\"return\": {\"name\": \"eol%zu\"}, \"id\": @ID@}%s", i, eols[i]);
		RIG_START(r, script, true);
		CHECK_INT(qmp_get_version(r.c)->major, 9);
		CHECK_INT(qmp_execute(r.c, "query-name", NULL, &res, &err), 0);
		snprintf(name, sizeof(name), "eol%zu", i);
		CHECK_STR(str_member(res, "name"), name);
		json_decref(res);
	}
}

/* QEMU answers a request it cannot parse with an error without id: it is
 * this command's error, QR_ERR_QMP with the class. A "return" without id
 * is not something QEMU sends: protocol error.
 */
static void test_error_without_id(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-status"),
	        {.kind = FQK_ERROR,
	         .name = "GenericError",
	         .text = "JSON parse error, invalid keyword 'nul'",
	         .id = FQ_ID_NONE},
	        FQ_EXPECT("query-name"),
	        FQ_RETURN_ID("{}", FQ_ID_NONE, NULL),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *res = NULL;

	RIG_START(r, script, true);
	CHECK_INT(qmp_execute(r.c, "query-status", NULL, &res, &err), -1);
	CHECK(!res);
	CHECK_KIND(err, QR_ERR_QMP);
	CHECK_STR(err.qmp_class, "GenericError");
	CHECK_CONTAINS(err.msg, "JSON parse error");

	qr_err_clear(&err);
	CHECK_INT(qmp_execute(r.c, "query-name", NULL, &res, &err), -1);
	CHECK(!res);
	CHECK_KIND(err, QR_ERR_PROTOCOL);
}

/* Replies with someone else's id (string, number, even an error) are
 * dropped; the one with ours is taken.
 */
static void test_other_ids_dropped(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-name"),
	        FQ_RETURN_ID("{\"name\": \"stale-string\"}", FQ_ID_OTHER, "\"qremap-0\""),
	        FQ_RETURN_ID("{\"name\": \"stale-number\"}", FQ_ID_OTHER, "2"),
	        {.kind = FQK_ERROR,
	         .name = "DeviceNotFound",
	         .text = "stale error",
	         .id = FQ_ID_OTHER,
	         .id_json = "\"someone-else\""},
	        FQ_RETURN("{\"name\": \"fresh\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *res = NULL;

	RIG_START(r, script, true);
	CHECK_INT(qmp_execute(r.c, "query-name", NULL, &res, &err), 0);
	CHECK_STR(str_member(res, "name"), "fresh");
	json_decref(res);
}

/* A command times out; its reply comes late, just before the next command's
 * reply, and must not be mistaken for it.
 */
static void test_late_reply_after_timeout(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-slow"),
	        FQ_EXPECT("query-name"),
	        FQ_RETURN_ID("{\"name\": \"late\"}", FQ_ID_PREV, NULL),
	        FQ_RETURN("{\"name\": \"on-time\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *res = NULL;

	RIG_START(r, script, true);
	CHECK_INT(qmp_execute_fd(r.c, "query-slow", NULL, -1, SHORT_MS, &res, &err), -1);
	CHECK_KIND(err, QR_ERR_TIMEOUT);
	CHECK(!res);
	CHECK_INT(qmp_execute(r.c, "query-name", NULL, &res, &err), 0);
	CHECK_STR(str_member(res, "name"), "on-time");
	json_decref(res);
}

/* Events before a reply are queued and found later; for a virtio device only
 * the DEVICE_DELETED that names it matches, not the backend's (path only),
 * and not another device whose id merely starts the same.
 */
static void test_events_queued_before_reply(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT_ARGS("device_del", "{\"id\": \"net0\"}"),
	        FQ_EVENT("NIC_RX_FILTER_CHANGED",
	                 "{\"path\": \"/machine/peripheral/net1/virtio-backend\"}"),
	        FQ_EVENT("DEVICE_DELETED",
	                 "{\"path\": \"/machine/peripheral/net0/virtio-backend\"}"),
	        FQ_EVENT("DEVICE_DELETED",
	                 "{\"device\": \"net01\", \"path\": \"/machine/peripheral/net01\"}"),
	        FQ_EVENT("DEVICE_DELETED",
	                 "{\"device\": \"net0\", \"path\": \"/machine/peripheral/net0\"}"),
	        FQ_RETURN("{}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *ev, *data;

	RIG_START(r, script, true);
	REQUIRE(qmp_executef(r.c, NULL, &err, "device_del", "{s:s}", "id", "net0") == 0);
	CHECK_INT(qmp_queued_events(r.c), 4);

	CHECK_INT(qmp_wait_device_deleted(r.c, "net0", OK_WAIT_MS, &err), 0);
	CHECK_INT(qmp_queued_events(r.c), 3);

	/* What is left: the backend's event (first), then net01's */
	ev = qmp_take_event(r.c, "DEVICE_DELETED", NULL, NULL);
	data = json_object_get(ev, "data");
	CHECK(!json_object_get(data, "device"));
	CHECK(str_has_suffix(str_or(str_member(data, "path"), ""), "/virtio-backend"));
	json_decref(ev);
	ev = qmp_take_event(r.c, "DEVICE_DELETED", NULL, NULL);
	CHECK_STR(str_member(json_object_get(ev, "data"), "device"), "net01");
	json_decref(ev);

	ev = NULL;
	CHECK_INT(qmp_wait_event(r.c, "NIC_RX_FILTER_CHANGED", NULL, NULL, OK_WAIT_MS, &ev, &err),
	          0);
	CHECK(ev != NULL);
	json_decref(ev);
	CHECK_INT(qmp_queued_events(r.c), 0);
}

/* The virtio pattern arriving while the client waits: the backend's event
 * comes first and must not end the wait; the device's does.
 */
static void test_virtio_device_deleted_while_waiting(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT_ARGS("device_del", "{\"id\": \"virtio-disk1\"}"),
	        FQ_RETURN("{}"),
	        FQ_DELAY(20),
	        FQ_EVENT("DEVICE_DELETED",
	                 "{\"path\": \"/machine/peripheral/virtio-disk1/virtio-backend\"}"),
	        FQ_DELAY(20),
	        FQ_EVENT("DEVICE_DELETED", "{\"device\": \"virtio-disk1\", \"path\": "
	                                   "\"/machine/peripheral/virtio-disk1\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *ev;

	RIG_START(r, script, true);
	REQUIRE(qmp_executef(r.c, NULL, &err, "device_del", "{s:s}", "id", "virtio-disk1") == 0);
	CHECK_INT(qmp_wait_device_deleted(r.c, "virtio-disk1", OK_WAIT_MS, &err), 0);

	/* Had the backend's event matched, the device's would be the one left
	 * (or not yet read); it must be the backend's
	 */
	CHECK_INT(qmp_queued_events(r.c), 1);
	ev = qmp_take_event(r.c, "DEVICE_DELETED", NULL, NULL);
	CHECK(ev && !json_object_get(json_object_get(ev, "data"), "device"));
	json_decref(ev);
}

/* Waiting for an event that never comes ends with QR_ERR_TIMEOUT, and the
 * non-matching events seen meanwhile stay queued.
 */
static void test_event_wait_timeout(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EVENT("DEVICE_DELETED",
	                 "{\"path\": \"/machine/peripheral/disk1/virtio-backend\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *ev = NULL;
	int64_t t0;

	RIG_START(r, script, true);
	t0 = now_ms();
	CHECK_INT(qmp_wait_device_deleted(r.c, "disk1", SHORT_MS, &err), -1);
	CHECK(now_ms() - t0 < HANG_MS);
	CHECK_KIND(err, QR_ERR_TIMEOUT);
	CHECK_INT(qmp_queued_events(r.c), 1);

	qr_err_clear(&err);
	CHECK_INT(qmp_wait_event(r.c, "BLOCK_JOB_COMPLETED", NULL, NULL, 0, &ev, &err), -1);
	CHECK_KIND(err, QR_ERR_TIMEOUT);
	CHECK(!ev);
}

/* A peer that reads commands but never answers: each command times out,
 * with the per-call bound and with the client's default.
 */
static void test_silent_peer(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-status"),
	        FQ_EXPECT("query-name"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *res = NULL;
	int64_t t0;

	RIG_START(r, script, true);
	t0 = now_ms();
	CHECK_INT(qmp_execute_fd(r.c, "query-status", NULL, -1, SHORT_MS, &res, &err), -1);
	CHECK(now_ms() - t0 < HANG_MS);
	CHECK_KIND(err, QR_ERR_TIMEOUT);
	CHECK_CONTAINS(err.msg, "no reply to 'query-status'");
	CHECK(!res);

	qmp_set_timeout(r.c, SHORT_MS);
	CHECK_INT(qmp_get_timeout(r.c), SHORT_MS);
	qr_err_clear(&err);
	t0 = now_ms();
	CHECK_INT(qmp_execute(r.c, "query-name", NULL, &res, &err), -1);
	CHECK(now_ms() - t0 < HANG_MS);
	CHECK_KIND(err, QR_ERR_TIMEOUT);
}

/* The peer hangs up in the middle of a reply, after a complete event, or
 * between messages: QR_ERR_DISCONNECTED every time, and again for the
 * next command, never a hang.
 */
static void test_peer_closes(void)
{
	static const struct fq_step mid_reply[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-status"),
	        FQ_CLOSE("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": "
	                 "1}}"
	                 "\r\n{\"return\": {\"status\": \"runn"),
	};
	static const struct fq_step no_reply[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-status"),
	        FQ_CLOSE(NULL),
	};
	static const struct {
		const struct fq_step *script;
		size_t n;
		const char *msg;
		size_t events;
	} cases[] = {
	        {mid_reply, ARRAY_SIZE(mid_reply), "in the middle of a message", 1},
	        {no_reply, ARRAY_SIZE(no_reply), "closed the connection", 0},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_rig_ struct rig r = {0};
		struct qr_error err = {0};
		json_t *res = NULL;
		int64_t t0;

		REQUIRE(rig_start(&r, cases[i].script, cases[i].n, true));
		t0 = now_ms();
		CHECK_INT(qmp_execute(r.c, "query-status", NULL, &res, &err), -1);
		CHECK(now_ms() - t0 < HANG_MS);
		CHECK_KIND(err, QR_ERR_DISCONNECTED);
		CHECK_CONTAINS(err.msg, cases[i].msg);
		CHECK_INT(qmp_queued_events(r.c), cases[i].events);
		CHECK(!res);

		qr_err_clear(&err);
		CHECK_INT(qmp_execute(r.c, "query-name", NULL, &res, &err), -1);
		CHECK_KIND(err, QR_ERR_DISCONNECTED);
	}
}

/* Anything that is not a well-formed JSON object where one should start is
 * QR_ERR_PROTOCOL: stray bytes between objects, an object jansson rejects,
 * nesting beyond the framer's limit.
 */
static void test_malformed_stream(void)
{
	static char deep[2 * JSON_DEPTH_PROBE + 64];
	static const char *const payloads[] = {
	        "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 1}}\r\n"
	        "HTTP/1.1 200 OK\r\n{\"return\": {}, \"id\": @ID@}\r\n",
	        "{\"return\": {}, \"id\": @ID@,}\r\n",
	        "{\"return\": [}, \"id\": @ID@}\r\n",
	        deep,
	};
	static const char *const msgs[] = {"unexpected byte 0x48", "invalid JSON", "invalid JSON",
	                                   "nested deeper"};
	size_t i;

	memcpy(deep, "{\"return\": ", 11);
	memset(deep + 11, '[', JSON_DEPTH_PROBE);
	memset(deep + 11 + JSON_DEPTH_PROBE, ']', JSON_DEPTH_PROBE);
	strcpy(deep + 11 + 2 * JSON_DEPTH_PROBE, "}\r\n");

	for (i = 0; i < ARRAY_SIZE(payloads); i++) {
		const struct fq_step script[] = {
		        FQ_HANDSHAKE,
		        FQ_EXPECT("query-status"),
		        FQ_SEND(payloads[i]),
		        FQ_EXPECT_EOF,
		};
		_cleanup_rig_ struct rig r = {0};
		struct qr_error err = {0};
		json_t *res = NULL;

		RIG_START(r, script, true);
		CHECK_INT(qmp_execute(r.c, "query-status", NULL, &res, &err), -1);
		CHECK_KIND(err, QR_ERR_PROTOCOL);
		CHECK_CONTAINS(err.msg, msgs[i]);
		CHECK(!res);
	}
}

/* An error reply keeps its class for callers that branch on it; a missing
 * class reads as GenericError.
 */
static void test_error_class_kept(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT_ARGS("device_del", "{\"id\": \"nope\"}"),
	        FQ_ERROR("DeviceNotFound", "Device 'nope' not found"),
	        FQ_EXPECT("query-odd"),
	        FQ_SEND("{\"error\": {\"desc\": \"odd\"}, \"id\": @ID@}\r\n"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};

	RIG_START(r, script, true);
	CHECK_INT(qmp_executef(r.c, NULL, &err, "device_del", "{s:s}", "id", "nope"), -1);
	CHECK_KIND(err, QR_ERR_QMP);
	CHECK_STR(err.qmp_class, "DeviceNotFound");
	CHECK_CONTAINS(err.msg, "Device 'nope' not found");

	qr_err_clear(&err);
	CHECK_INT(qmp_execute(r.c, "query-odd", NULL, NULL, &err), -1);
	CHECK_KIND(err, QR_ERR_QMP);
	CHECK_STR(err.qmp_class, "GenericError");
}

#define FD_TEXT "qremap passed this through SCM_RIGHTS"

/* getfd carries a descriptor the peer receives and reads through; the
 * caller keeps its own copy, and a plain command after it carries none.
 */
static void test_getfd_passes_descriptor(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        {.kind = FQK_EXPECT,
	         .name = "getfd",
	         .args = "{\"fdname\": \"tap-fd0\"}",
	         .fd_text = FD_TEXT},
	        FQ_RETURN("{}"),
	        FQ_EXPECT("query-status"),
	        FQ_RETURN("{\"status\": \"running\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	_cleanup_close_ int rd = -1, wr = -1;
	struct qr_error err = {0};
	struct pollfd pfd;
	json_t *args;
	int p[2], rc;

	/* Started before the pipe exists, so the peer can only have its read
	 * end by receiving it
	 */
	RIG_START(r, script, true);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	rd = p[0];
	wr = p[1];
	REQUIRE(write(wr, FD_TEXT, strlen(FD_TEXT)) == (ssize_t)strlen(FD_TEXT));

	args = json_pack("{s:s}", "fdname", "tap-fd0");
	rc = qmp_execute_fd(r.c, "getfd", args, rd, 0, NULL, &err);
	json_decref(args);
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  getfd: %s\n", err.msg);
	CHECK(fcntl(rd, F_GETFD) >= 0);

	/* The peer read the text through its copy before replying, so ours
	 * has nothing left (and no EOF: the write end is still open)
	 */
	pfd = (struct pollfd){.fd = rd, .events = POLLIN};
	CHECK_INT(poll(&pfd, 1, 0), 0);

	CHECK_INT(qmp_execute(r.c, "query-status", NULL, NULL, &err), 0);
}

/* human-monitor-command returns text; anything else is a protocol error. */
static void test_hmp(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT_ARGS("human-monitor-command", "{\"command-line\": \"info network\"}"),
	        FQ_RETURN(
	                "\"hub 0\\r\\n \\\\ hub0port1: net0: index=0,type=tap,ifname=tap0\\r\\n\""),
	        FQ_EXPECT_ARGS("human-monitor-command", "{\"command-line\": \"info nothing\"}"),
	        FQ_RETURN("{}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	_cleanup_free_ char *out = NULL;
	struct qr_error err = {0};

	RIG_START(r, script, true);
	CHECK_INT(qmp_hmp(r.c, "info network", &out, &err), 0);
	CHECK_STR(out, "hub 0\r\n \\ hub0port1: net0: index=0,type=tap,ifname=tap0\r\n");
	free(steal_ptr(&out));

	CHECK_INT(qmp_hmp(r.c, "info nothing", &out, &err), -1);
	CHECK_KIND(err, QR_ERR_PROTOCOL);
	CHECK(!out);
}

/* A message beyond QMP_MAX_MESSAGE is refused. The peer streams it without
 * holding it, and is content when the client hangs up half way.
 */
static void test_oversized_message(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-huge"),
	        {.kind = FQK_SEND_HUGE,
	         .text = "{\"return\": \"",
	         .count = QMP_MAX_MESSAGE + (1u << 20),
	         .tail = "\", \"id\": @ID@}\r\n",
	         .hangup_ok = true},
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *res = NULL;

	RIG_START(r, script, true);
	CHECK_INT(qmp_execute(r.c, "query-huge", NULL, &res, &err), -1);
	CHECK_KIND(err, QR_ERR_PROTOCOL);
	CHECK_CONTAINS(err.msg, "larger than");
	CHECK(!res);
}

/**
 * seq_of() - the "seq" the fake peer numbers repeated events with
 * @ev:	event
 *
 * Return: its number, -1 if none
 */
static long long seq_of(json_t *ev)
{
	json_t *s = json_object_get(json_object_get(ev, "data"), "seq");

	return json_is_integer(s) ? json_integer_value(s) : -1;
}

/* More events than the queue holds: the oldest go, and are counted. */
static void test_event_queue_overflow(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-status"),
	        {.kind = FQK_EVENT,
	         .name = "BALLOON_CHANGE",
	         .value = "{\"actual\": 1073741824}",
	         .count = QMP_MAX_QUEUED_EVENTS + 5},
	        FQ_RETURN("{\"status\": \"running\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	long long expect = 5;
	bool in_order = true;
	json_t *ev;

	RIG_START(r, script, true);
	CHECK_INT(qmp_dropped_events(r.c), 0);
	REQUIRE(qmp_execute(r.c, "query-status", NULL, NULL, &err) == 0);
	CHECK_INT(qmp_queued_events(r.c), QMP_MAX_QUEUED_EVENTS);
	CHECK_INT(qmp_dropped_events(r.c), 5);

	/* Events 0..4 were dropped; 5..4100 remain, oldest first */
	while ((ev = qmp_take_event(r.c, "BALLOON_CHANGE", NULL, NULL))) {
		if (seq_of(ev) != expect++)
			in_order = false;
		json_decref(ev);
	}
	CHECK(in_order);
	CHECK_INT(expect, QMP_MAX_QUEUED_EVENTS + 5);
}

/* qmp_poll_events() queues what is available and reports how many. */
static void test_poll_events(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_SEND("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": "
	                "1}}"
	                "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, \"microseconds\": "
	                "2}}"
	                "{\"event\": \"POWERDOWN\", \"timestamp\": {\"seconds\": 1, "
	                "\"microseconds\": 3}}\r\n"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};

	RIG_START(r, script, true);
	CHECK_INT(qmp_poll_events(r.c, OK_WAIT_MS, &err), 3);
	CHECK_INT(qmp_queued_events(r.c), 3);
	CHECK_INT(qmp_poll_events(r.c, 0, &err), 0);
}

/* The bound qremapd gives a peer it hasn't identified yet */
#define SMALL_MESSAGE (64u << 10)
/* What the receive buffer may hold beyond the message bound: one read */
#define READ_SLACK 4096

/* With a 64 KiB bound, a reply just under it is taken; a 1 MiB one is
 * refused as soon as the bound is passed, having cost no more than about
 * the bound in buffer; a large buffer is given back once the peer is quiet.
 */
static void test_max_message_bound(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-big"),
	        {.kind = FQK_SEND_HUGE,
	         .text = "{\"return\": \"",
	         .count = SMALL_MESSAGE - 64,
	         .tail = "\", \"id\": @ID@}\r\n"},
	        FQ_EXPECT("query-small"),
	        FQ_RETURN("{}"),
	        FQ_EXPECT("query-huge"),
	        {.kind = FQK_SEND_HUGE,
	         .text = "{\"return\": \"",
	         .count = 1u << 20,
	         .tail = "\", \"id\": @ID@}\r\n",
	         .hangup_ok = true},
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *res = NULL;

	RIG_START(r, script, true);
	CHECK_INT(qmp_get_max_message(r.c), QMP_MAX_MESSAGE);
	qmp_set_max_message(r.c, SMALL_MESSAGE);
	CHECK_INT(qmp_get_max_message(r.c), SMALL_MESSAGE);

	CHECK_INT(qmp_execute(r.c, "query-big", NULL, &res, &err), 0);
	CHECK_INT(json_string_length(res), SMALL_MESSAGE - 64);
	json_decref(res);
	res = NULL;
	CHECK(qmp_buffered_bytes(r.c) > SMALL_MESSAGE / 2);
	CHECK(qmp_buffered_bytes(r.c) <= SMALL_MESSAGE + READ_SLACK);

	/* The peer went quiet after that reply: the buffer was given back */
	CHECK_INT(qmp_execute(r.c, "query-small", NULL, NULL, &err), 0);
	CHECK(qmp_buffered_bytes(r.c) <= SMALL_MESSAGE);

	CHECK_INT(qmp_execute(r.c, "query-huge", NULL, &res, &err), -1);
	CHECK_KIND(err, QR_ERR_PROTOCOL);
	CHECK_CONTAINS(err.msg, "larger than 65536 bytes");
	CHECK(!res);
	/* Refused without buffering the rest: the partial message is still
	 * there, so this is what the peer made us allocate
	 */
	CHECK(qmp_buffered_bytes(r.c) <= SMALL_MESSAGE + READ_SLACK);

	qmp_set_max_message(r.c, 0);
	CHECK_INT(qmp_get_max_message(r.c), QMP_MAX_MESSAGE);
}

/* Bound of test_max_message_exact() */
#define EXACT_BOUND 1000

/**
 * error_frame() - an error reply without id, exactly @len bytes from its
 *		   opening to its closing brace, then CRLF
 * @buf:	at least @len + 3 bytes
 * @len:	frame length, > 64
 *
 * Return: @buf
 */
static char *error_frame(char *buf, size_t len)
{
	static const char head[] = "{\"error\": {\"class\": \"GenericError\", \"desc\": \"";
	static const char tail[] = "\"}}";
	size_t fill = len - (sizeof(head) - 1) - (sizeof(tail) - 1);

	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'd', fill);
	memcpy(buf + sizeof(head) - 1 + fill, tail, sizeof(tail) - 1);
	strcpy(buf + len, "\r\n");
	return buf;
}

/* The bound is exact, and holds for a message that arrives whole in one
 * read, not only for one that is still growing: a frame of exactly the
 * bound is parsed (here an error reply), one byte more is refused.
 */
static void test_max_message_exact(void)
{
	static char at[EXACT_BOUND + 3], over[EXACT_BOUND + 4];
	const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-at"),
	        FQ_SEND(error_frame(at, EXACT_BOUND)),
	        FQ_EXPECT("query-over"),
	        FQ_SEND(error_frame(over, EXACT_BOUND + 1)),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};

	RIG_START(r, script, true);
	qmp_set_max_message(r.c, EXACT_BOUND);
	CHECK_INT(qmp_execute(r.c, "query-at", NULL, NULL, &err), -1);
	CHECK_KIND(err, QR_ERR_QMP);
	qr_err_clear(&err);
	CHECK_INT(qmp_execute(r.c, "query-over", NULL, NULL, &err), -1);
	CHECK_KIND(err, QR_ERR_PROTOCOL);
	CHECK_CONTAINS(err.msg, "larger than 1000 bytes");
}

/* An event is refused like any message once the bound is lowered: the
 * bound applies to all a peer sends, not only to replies.
 */
static void test_max_message_applies_to_events(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        {.kind = FQK_SEND_HUGE,
	         .text = "{\"event\": \"BIG\", \"data\": {\"blob\": \"",
	         .count = 2 * SMALL_MESSAGE,
	         .tail = "\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 1}}\r\n",
	         .hangup_ok = true},
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};

	RIG_START(r, script, true);
	qmp_set_max_message(r.c, SMALL_MESSAGE);
	CHECK_INT(qmp_wait_event(r.c, "BIG", NULL, NULL, OK_WAIT_MS, NULL, &err), -1);
	CHECK_KIND(err, QR_ERR_PROTOCOL);
	CHECK_CONTAINS(err.msg, "larger than");
	CHECK_INT(qmp_queued_events(r.c), 0);
	CHECK(qmp_buffered_bytes(r.c) <= SMALL_MESSAGE + READ_SLACK);
}

/**
 * struct queue_watch - the event queue as seen at each received message
 * @c:		client watched
 * @n_in:	messages received
 * @max_events:	most events queued at any time
 * @max_bytes:	most bytes queued at any time
 */
struct queue_watch {
	struct qmp_client *c;
	size_t n_in;
	size_t max_events;
	size_t max_bytes;
};

/**
 * watch_queue() - qmp_trace_fn that records the queue's high-water marks
 * @opaque:	struct queue_watch
 * @outgoing:	direction
 * @text:	the message
 * @len:	its length
 * @fd:		descriptor passed, or -1
 *
 * Called for each received message before it is handled, so it sees the
 * queue as every earlier message left it; the caller checks the last state
 * itself.
 */
static void watch_queue(void *opaque, bool outgoing, const char *text, size_t len, int fd)
{
	struct queue_watch *w = opaque;

	if (outgoing)
		return;
	w->n_in++;
	if (qmp_queued_events(w->c) > w->max_events)
		w->max_events = qmp_queued_events(w->c);
	if (qmp_queued_event_bytes(w->c) > w->max_bytes)
		w->max_bytes = qmp_queued_event_bytes(w->c);
}

/* Large events, far beyond the byte budget */
#define BIG_EVENTS     100
#define BIG_EVENT_DATA 40000

/* 100 events of 40 KB arrive while a reply is awaited: the reply is still
 * found, the queue never holds more than the default byte budget, and what
 * is left is the newest events, in order, the oldest having been dropped
 * and counted. A tighter budget set at run time keeps fewer.
 */
static void test_event_byte_budget(void)
{
	static char data[BIG_EVENT_DATA + 32];
	const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-status"),
	        {.kind = FQK_EVENT, .name = "BIG", .value = data, .count = BIG_EVENTS},
	        FQ_RETURN("{\"status\": \"running\"}"),
	        FQ_EXPECT("query-name"),
	        {.kind = FQK_EVENT, .name = "BIG", .value = data, .count = BIG_EVENTS},
	        FQ_RETURN("{\"name\": \"vm\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct queue_watch w = {0};
	struct qr_error err = {0};
	json_t *res = NULL, *ev;
	size_t kept, last_len = 0;
	long long expect;
	bool in_order = true;

	memcpy(data, "{\"blob\": \"", 10);
	memset(data + 10, 'e', BIG_EVENT_DATA);
	strcpy(data + 10 + BIG_EVENT_DATA, "\"}");

	RIG_START(r, script, true);
	w.c = r.c;
	qmp_set_trace(r.c, watch_queue, &w);
	CHECK_INT(qmp_execute(r.c, "query-status", NULL, &res, &err), 0);
	CHECK_STR(str_member(res, "status"), "running");
	json_decref(res);
	res = NULL;
	CHECK_INT(w.n_in, BIG_EVENTS + 1);

	kept = qmp_queued_events(r.c);
	CHECK(w.max_bytes <= QMP_MAX_QUEUED_BYTES);
	CHECK(qmp_queued_event_bytes(r.c) <= QMP_MAX_QUEUED_BYTES);
	/* As many as fit, not fewer: dropping stops once there is room */
	CHECK(qmp_queued_event_bytes(r.c) > QMP_MAX_QUEUED_BYTES - BIG_EVENT_DATA - 200);
	CHECK(kept > 0 && kept < BIG_EVENTS);
	CHECK_INT(qmp_dropped_events(r.c), BIG_EVENTS - kept);

	/* The newest survived, oldest first */
	expect = BIG_EVENTS - (long long)kept;
	while ((ev = qmp_take_event(r.c, "BIG", NULL, NULL))) {
		if (seq_of(ev) != expect++)
			in_order = false;
		json_decref(ev);
	}
	CHECK(in_order);
	CHECK_INT(expect, BIG_EVENTS);
	CHECK_INT(qmp_queued_event_bytes(r.c), 0);

	/* A budget of 4 events or 200 KB, whichever is tighter: 4 events */
	qmp_set_event_budget(r.c, 4, 200000);
	w.max_events = w.max_bytes = 0;
	CHECK_INT(qmp_execute(r.c, "query-name", NULL, NULL, &err), 0);
	CHECK(w.max_events <= 4);
	CHECK_INT(qmp_queued_events(r.c), 4);
	CHECK_INT(qmp_dropped_events(r.c), BIG_EVENTS - kept + BIG_EVENTS - 4);
	ev = qmp_take_event(r.c, NULL, NULL, NULL);
	CHECK_INT(seq_of(ev), BIG_EVENTS - 4);
	json_decref(ev);

	/* Shrinking the budget trims the queue at once, oldest first */
	qmp_set_event_budget(r.c, 4, 2 * (BIG_EVENT_DATA + 200));
	CHECK_INT(qmp_queued_events(r.c), 2);
	ev = qmp_take_event(r.c, NULL, NULL, NULL);
	CHECK_INT(seq_of(ev), BIG_EVENTS - 2);
	json_decref(ev);
	last_len = qmp_queued_event_bytes(r.c);
	CHECK(last_len > BIG_EVENT_DATA && last_len < BIG_EVENT_DATA + 200);
}

/* An event larger than the whole byte budget is dropped itself; the queue
 * keeps what it had.
 */
static void test_event_over_budget_alone(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-status"),
	        FQ_EVENT("SMALL", "{\"n\": 1}"),
	        FQ_EVENT("LARGE", "{\"blob\": \"0123456789012345678901234567890123456789\"}"),
	        FQ_RETURN("{}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	json_t *ev;

	RIG_START(r, script, true);
	qmp_set_event_budget(r.c, 10, 100);
	CHECK_INT(qmp_execute(r.c, "query-status", NULL, NULL, &err), 0);
	CHECK_INT(qmp_queued_events(r.c), 1);
	CHECK_INT(qmp_dropped_events(r.c), 1);
	ev = qmp_take_event(r.c, NULL, NULL, NULL);
	CHECK_STR(str_member(ev, "event"), "SMALL");
	json_decref(ev);
}

/* What qremapd keeps while it waits for Incus's signal */
static const char *const keep_reset[] = {"RESET", NULL};
/* ... and during a remap */
static const char *const keep_remap[] = {"RESET", "DEVICE_DELETED", NULL};

/* Filtered to RESET: 1000 other events and one RESET, while waiting for
 * the RESET and while awaiting a reply. Only the RESET is ever kept, the
 * rest are counted as dropped; widening and narrowing the filter between
 * commands keeps DEVICE_DELETED only while asked to.
 */
static void test_event_filter(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        {.kind = FQK_EVENT, .name = "NIC_RX_FILTER_CHANGED", .count = 1000},
	        FQ_EVENT("RESET", "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}"),
	        FQ_EXPECT("query-status"),
	        {.kind = FQK_EVENT, .name = "BALLOON_CHANGE", .count = 1000},
	        FQ_EVENT("RESET", "{\"guest\": true, \"reason\": \"guest-reset\"}"),
	        FQ_EVENT("DEVICE_DELETED", "{\"device\": \"net0\", \"path\": \"/x\"}"),
	        FQ_RETURN("{\"status\": \"prelaunch\"}"),
	        FQ_EXPECT_ARGS("device_del", "{\"id\": \"net1\"}"),
	        FQ_EVENT("STOP", NULL),
	        FQ_EVENT("DEVICE_DELETED", "{\"device\": \"net1\", \"path\": \"/y\"}"),
	        FQ_RETURN("{}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct queue_watch w = {0};
	struct qr_error err = {0};
	json_t *ev = NULL;

	RIG_START(r, script, true);
	w.c = r.c;
	qmp_set_trace(r.c, watch_queue, &w);
	qmp_set_event_filter(r.c, keep_reset);

	CHECK_INT(qmp_wait_event(r.c, "RESET", NULL, NULL, OK_WAIT_MS, &ev, &err), 0);
	CHECK(json_is_false(json_object_get(json_object_get(ev, "data"), "guest")));
	json_decref(ev);
	ev = NULL;
	CHECK(w.max_events <= 1);
	CHECK_INT(qmp_queued_events(r.c), 0);
	CHECK_INT(qmp_dropped_events(r.c), 1000);

	/* During a command: the RESET is queued, DEVICE_DELETED is not */
	CHECK_INT(qmp_execute(r.c, "query-status", NULL, NULL, &err), 0);
	CHECK(w.max_events <= 1);
	CHECK_INT(qmp_queued_events(r.c), 1);
	CHECK_INT(qmp_dropped_events(r.c), 2001);
	CHECK_INT(qmp_wait_event(r.c, "RESET", NULL, NULL, 0, &ev, &err), 0);
	CHECK(json_is_true(json_object_get(json_object_get(ev, "data"), "guest")));
	json_decref(ev);

	/* Widened for a remap: DEVICE_DELETED is kept, STOP still is not */
	qmp_set_event_filter(r.c, keep_remap);
	CHECK_INT(qmp_executef(r.c, NULL, &err, "device_del", "{s:s}", "id", "net1"), 0);
	CHECK_INT(qmp_queued_events(r.c), 1);
	CHECK_INT(qmp_dropped_events(r.c), 2002);

	/* Narrowed again: what the new filter rejects goes from the queue */
	qmp_set_event_filter(r.c, keep_reset);
	CHECK_INT(qmp_queued_events(r.c), 0);
	CHECK_INT(qmp_queued_event_bytes(r.c), 0);
	CHECK_INT(qmp_dropped_events(r.c), 2003);

	/* And no filter keeps all again */
	qmp_set_event_filter(r.c, NULL);
}

/* An event being waited for is handed over even if the filter or budget
 * would not keep it: they decide what is kept for later, not what a caller
 * explicitly waits for.
 */
static void test_awaited_event_bypasses_filter(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_DELAY(20),
	        FQ_EVENT("DEVICE_DELETED", "{\"device\": \"disk1\", \"path\": \"/z\"}"),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};

	RIG_START(r, script, true);
	qmp_set_event_filter(r.c, keep_reset);
	qmp_set_event_budget(r.c, 0, 0);
	CHECK_INT(qmp_wait_device_deleted(r.c, "disk1", OK_WAIT_MS, &err), 0);
	CHECK_INT(qmp_dropped_events(r.c), 0);
}

/* A peer that never stops sending events can't keep a bounded wait from
 * ending, nor qmp_poll_events() from returning: each takes what is already
 * there, within a bound, and comes back.
 */
static void test_flood_cannot_stretch_waits(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        {.kind = FQK_FLOOD,
	         .name = "BALLOON_CHANGE",
	         .value = "{\"actual\": 1073741824}",
	         .count = 1000,
	         .delay_ms = 30000,
	         .hangup_ok = true},
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	int64_t t0;
	int n;

	RIG_START(r, script, true);
	t0 = now_ms();
	CHECK_INT(qmp_wait_event(r.c, "RESET", NULL, NULL, SHORT_MS, NULL, &err), -1);
	CHECK(now_ms() - t0 < HANG_MS);
	CHECK_KIND(err, QR_ERR_TIMEOUT);
	CHECK(qmp_dropped_events(r.c) > 0);

	qmp_set_event_filter(r.c, keep_reset);
	t0 = now_ms();
	CHECK_INT(qmp_wait_event(r.c, "RESET", NULL, NULL, 0, NULL, &err), -1);
	CHECK(now_ms() - t0 < HANG_MS);
	CHECK_KIND(err, QR_ERR_TIMEOUT);

	qmp_set_event_filter(r.c, NULL);
	t0 = now_ms();
	n = qmp_poll_events(r.c, SHORT_MS, &err);
	CHECK(now_ms() - t0 < HANG_MS);
	CHECK(n > 0);
	CHECK(qmp_queued_event_bytes(r.c) <= QMP_MAX_QUEUED_BYTES);
	CHECK(qmp_queued_events(r.c) <= QMP_MAX_QUEUED_EVENTS);
}

/* A batch goes out whole before any reply is read: the peer takes all
 * three commands before it answers (a client that waited for each reply
 * would hang here). Replies are matched by id whatever their order; a
 * reply with an id outside the batch is dropped; one command's error is
 * that command's alone; events before the replies are queued.
 */
static void test_batch(void)
{
	static const struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-a"),
	        FQ_EXPECT("query-b"),
	        FQ_EXPECT_ARGS("query-c", "{\"x\": 1}"),
	        FQ_EVENT("RESET", "{\"guest\": false}"),
	        FQ_RETURN_ID("{\"who\": \"c\"}", FQ_ID_OTHER, "\"qremap-4\""),
	        FQ_RETURN_ID("{\"who\": \"stale\"}", FQ_ID_OTHER, "\"qremap-1\""),
	        {.kind = FQK_ERROR,
	         .name = "DeviceNotFound",
	         .text = "no a",
	         .id = FQ_ID_OTHER,
	         .id_json = "\"qremap-2\""},
	        FQ_RETURN_ID("{\"who\": \"b\"}", FQ_ID_OTHER, "\"qremap-3\""),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	struct qr_error err = {0};
	struct qmp_call calls[] = {
	        {.command = "query-a"},
	        {.command = "query-b"},
	        {.command = "query-c", .args = json_pack("{s:i}", "x", 1)},
	};

	RIG_START(r, script, true);
	CHECK_INT(qmp_execute_batch(r.c, calls, ARRAY_SIZE(calls), &err), 0);
	CHECK_KIND(calls[0].err, QR_ERR_QMP);
	CHECK_STR(calls[0].err.qmp_class, "DeviceNotFound");
	CHECK_CONTAINS(calls[0].err.msg, "'query-a' failed: no a");
	CHECK(!calls[0].ret);
	CHECK_KIND(calls[1].err, QR_OK);
	CHECK_STR(str_member(calls[1].ret, "who"), "b");
	CHECK_STR(str_member(calls[2].ret, "who"), "c");
	CHECK_INT((int)qmp_queued_events(r.c), 1);
	qmp_batch_free(calls, ARRAY_SIZE(calls));
}

/* A batch is bounded as a whole: a reply that never comes is a timeout that
 * says how many came; an error without id (a request QEMU could not
 * parse) can't be pinned on one command and fails the batch.
 */
static void test_batch_failures(void)
{
	static const struct fq_step silent[] = {
	        FQ_HANDSHAKE,         FQ_EXPECT("query-a"),
	        FQ_EXPECT("query-b"), FQ_RETURN_ID("{}", FQ_ID_OTHER, "\"qremap-2\""),
	        FQ_EXPECT_EOF,
	};
	static const struct fq_step unparsed[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-a"),
	        FQ_EXPECT("query-b"),
	        {.kind = FQK_ERROR,
	         .name = "GenericError",
	         .text = "JSON parse error",
	         .id = FQ_ID_NONE},
	        FQ_EXPECT_EOF,
	};
	struct qmp_call calls[2] = {{.command = "query-a"}, {.command = "query-b"}};

	{
		_cleanup_rig_ struct rig r = {0};
		struct qr_error err = {0};

		RIG_START(r, silent, true);
		qmp_set_timeout(r.c, SHORT_MS);
		CHECK_INT(qmp_execute_batch(r.c, calls, 2, &err), -1);
		CHECK_KIND(err, QR_ERR_TIMEOUT);
		CHECK_CONTAINS(err.msg, "1 of 2 replies");
		qmp_batch_free(calls, 2);
	}
	{
		_cleanup_rig_ struct rig r = {0};
		struct qr_error err = {0};

		RIG_START(r, unparsed, true);
		CHECK_INT(qmp_execute_batch(r.c, calls, 2, &err), -1);
		CHECK_KIND(err, QR_ERR_PROTOCOL);
		CHECK_CONTAINS(err.msg, "JSON parse error");
		qmp_batch_free(calls, 2);
	}
}

/**
 * json_repeat() - "[ITEM,ITEM,...]" with @n items
 * @item:	one item's JSON text
 * @n:		how many
 *
 * Return: the text (malloc'd), or NULL
 */
static char *json_repeat(const char *item, size_t n)
{
	size_t l = strlen(item);
	char *t = malloc(n * (l + 1) + 2), *p = t;

	if (!t)
		return NULL;
	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		memcpy(p, item, l);
		p += l;
		*p++ = ',';
	}
	p[n ? -1 : 0] = ']';
	p[n ? 0 : 1] = '\0';
	return t;
}

/* What one answer may make the client hold is bounded: a short entry in
 * query-block or qom-list costs a large struct here, and QEMU (as nobody)
 * writes the answers. One entry past QQ_MAX_BLOCKS or QQ_MAX_QDEVS is
 * refused, saying how many; the bounds themselves pass.
 */
static void test_query_answers_bounded(void)
{
	_cleanup_free_ char *blocks_ok = json_repeat("{}", QQ_MAX_BLOCKS);
	_cleanup_free_ char *blocks_over = json_repeat("{}", QQ_MAX_BLOCKS + 1);
	_cleanup_free_ char *devs_over =
	        json_repeat("{\"name\": \"d\", \"type\": \"child<x>\"}", QQ_MAX_QDEVS + 1);
	struct fq_step script[] = {
	        FQ_HANDSHAKE,
	        FQ_EXPECT("query-block"),
	        FQ_EXPECT("query-block"),
	        FQ_EXPECT("qom-list"),
	        FQ_RETURN_ID(blocks_ok, FQ_ID_OTHER, "\"qremap-2\""),
	        FQ_RETURN_ID(blocks_over, FQ_ID_OTHER, "\"qremap-3\""),
	        FQ_RETURN_ID(devs_over, FQ_ID_OTHER, "\"qremap-4\""),
	        FQ_EXPECT_EOF,
	};
	_cleanup_rig_ struct rig r = {0};
	_cleanup_qq_batch_ struct qq_batch b = {0};
	_cleanup_free_ struct qq_block *bl = NULL;
	struct qq_qdev *devs = NULL;
	struct qr_error err = {0};
	size_t n = 0;

	REQUIRE(blocks_ok && blocks_over && devs_over);
	RIG_START(r, script, true);
	REQUIRE(qq_add(&b, &err, "query-block", NULL) == 0);
	REQUIRE(qq_add(&b, &err, "query-block", NULL) == 1);
	REQUIRE(qq_add_qom_list(&b, "/machine/peripheral", &err) == 2);
	CHECK_INT(qq_run(r.c, &b, &err), 0);
	CHECK_INT(qq_blocks(&b, 0, &bl, &n, &err), 0);
	CHECK_INT((int)n, QQ_MAX_BLOCKS);
	free(steal_ptr(&bl));
	CHECK_INT(qq_blocks(&b, 1, &bl, &n, &err), -1);
	CHECK_KIND(err, QR_ERR_UNSUPPORTED);
	CHECK_CONTAINS(err.msg, "1025 block devices (at most 1024)");
	free(steal_ptr(&bl));
	n = 0;
	CHECK_INT(qq_qdevs(&b, 2, &devs, &n, &err), -1);
	CHECK_CONTAINS(err.msg, "more than 4096 devices");
	CHECK_INT((int)n, QQ_MAX_QDEVS);
	free(devs);
}

TEST_MAIN(test_handshake, test_handshake_failures, test_split_reads, test_many_objects_in_one_write,
          test_line_endings, test_error_without_id, test_other_ids_dropped,
          test_late_reply_after_timeout, test_events_queued_before_reply,
          test_virtio_device_deleted_while_waiting, test_event_wait_timeout, test_silent_peer,
          test_peer_closes, test_malformed_stream, test_error_class_kept,
          test_getfd_passes_descriptor, test_hmp, test_oversized_message, test_event_queue_overflow,
          test_poll_events, test_max_message_bound, test_max_message_exact,
          test_max_message_applies_to_events, test_event_byte_budget, test_event_over_budget_alone,
          test_event_filter, test_awaited_event_bypasses_filter, test_flood_cannot_stretch_waits,
          test_batch, test_batch_failures, test_query_answers_bounded)
