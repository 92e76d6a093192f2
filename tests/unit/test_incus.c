// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_incus.c: the Incus glue: size strings, removing
 * exactly what "qremap incus enable" appended, instance and project names,
 * escaped API paths, MACs and raw.qemu.conf values from Incus, and the REST
 * client against a fake Incus (a thread serving HTTP on a unix socket) that
 * records what reaches it: no request for a name Incus wouldn't have, every
 * name one escaped segment, a response over the cap refused, a silent
 * server given up on within the timeout. Then what enable reads and writes:
 * disks in Incus's order with Incus's boot indexes, host files and block
 * devices sized, CD-ROMs and shares left with a note, the AppArmor rule,
 * and enable / disable against a fake Incus whose instance gets its
 * raw.qemu.conf, raw.apparmor or scriptlet from an Incus profile.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/fs.h>

#include "qremap/coldplug.h"
#include "qremap/incus.h"
#include "qremap/names.h"
#include "testlib.h"

static void test_sizes(void)
{
	uint64_t v = 0;

	CHECK_INT(incus_parse_size("10GiB", &v), 0);
	CHECK(v == 10ull << 30);
	CHECK_INT(incus_parse_size("512MiB", &v), 0);
	CHECK(v == 512ull << 20);
	CHECK_INT(incus_parse_size("10GB", &v), 0);
	CHECK(v == 10000000000ull);
	CHECK_INT(incus_parse_size("1048576", &v), 0);
	CHECK(v == 1048576);
	CHECK_INT(incus_parse_size("4096B", &v), 0);
	CHECK(v == 4096);
	CHECK_INT(incus_parse_size("", &v), -1);
	CHECK_INT(incus_parse_size("GiB", &v), -1);
	CHECK_INT(incus_parse_size("10 parsecs", &v), -1);
	CHECK_INT(incus_parse_size("-1GiB", &v), -1);
}

/* enable appends; disable strips the recorded text, byte for byte */
static void test_strip_added(void)
{
	static const struct {
		const char *orig, *added, *user_after;
	} cases[] = {
	        {"", "[device \"qremap_ahci\"]\ndriver = \"ich9-ahci\"\n", ""},
	        {"[device \"qemu_vsock\"]\n", "\n[device \"qremap_ahci\"]\n", ""},
	        {"[machine]\naccel = \"tcg\"", "\n\n[device \"qremap_ahci\"]\n", ""},
	        /* the user appended more after enabling: theirs stays */
	        {"[a]\n", "\n[device \"qremap_x\"]\nk = \"v\"\n", "[b]\nk = \"w\"\n"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *value = NULL, *want = NULL, *got;

		REQUIRE(asprintf(&value, "%s%s%s", cases[i].orig, cases[i].added,
		                 cases[i].user_after) >= 0);
		REQUIRE(asprintf(&want, "%s%s", cases[i].orig, cases[i].user_after) >= 0);
		got = incus_strip_added(value, cases[i].added);
		CHECK_STR(got, want);
		free(got);
		free(value);
		free(want);
	}
	/* not there any more: unchanged */
	{
		char *got = incus_strip_added("[a]\n", "[device \"qremap_x\"]\n");

		CHECK_STR(got, "[a]\n");
		free(got);
	}
}

/* Names Incus could never have created, each trying to change a request */
static const char *const bad_names[] = {
        "../x",
        "a/b",
        "vm1?project=other",
        "a/../../../1.0/certificates",
        "x\r\ny",
        "",
        "vm 1",
        "vm#1",
        "vm%2e",
        "vm&x=1",
        "-vm",
        "vm-",
        "12345",
        "vm_1",
        "vm.1",
        "\xc3\xa9t\xc3\xa9",
        "0123456789012345678901234567890123456789012345678901234567890123", /* 64 */
};

static void test_instance_names(void)
{
	static const char *const good[] = {
	        "vm1",
	        "my-vm",
	        "a",
	        "VM-2-b",
	        "123456789012345678901",
	        /* 63: the limit */
	        "v12345678901234567890123456789012345678901234567890123456789012",
	};
	struct qr_error err = {0};

	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		qr_err_clear(&err);
		if (names_check_instance(bad_names[i], &err) != -1) {
			fprintf(stderr, "accepted instance name '%s'\n", bad_names[i]);
			CHECK(0);
		}
		CHECK(err.kind == QR_ERR_INVALID);
		/* what is shown of the name can't break the log line */
		CHECK(!strpbrk(err.msg, "\r\n"));
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		qr_err_clear(&err);
		CHECK_INT(names_check_instance(good[i], &err), 0);
	}
	CHECK_INT(names_check_instance(NULL, &err), -1);
	/* the rule is in the message */
	names_check_instance("a/b", &err);
	CHECK_CONTAINS(err.msg, "snapshot");
	names_check_instance("x\r\ny", &err);
	CHECK_CONTAINS(err.msg, "x\\x0d\\x0ay");
	CHECK_CONTAINS(err.msg, "letters, digits and '-'");
	names_check_instance(bad_names[ARRAY_SIZE(bad_names) - 1], &err);
	CHECK_CONTAINS(err.msg, "1-63 characters");
	names_check_instance("12345", &err);
	CHECK_CONTAINS(err.msg, "number");
}

static void test_project_names(void)
{
	static const char *const bad[] = {
	        "",
	        "a/b",
	        "../x",
	        "..",
	        ".",
	        "*",
	        "my project",
	        "my_project",
	        "it's",
	        "say\"hi\"",
	        "x\r\ny",
	        "p?x",
	        "p&x",
	        "p#x",
	        "p%2F",
	        "p\\x",
	        "\x1b[31m",
	        "caf\xc3\xa9",
	        "0123456789012345678901234567890123456789012345678901234567890123",
	};
	static const char *const good[] = {"default", "my-proj", "team.a", "p1", "A-b.c:d"};
	struct qr_error err = {0};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		qr_err_clear(&err);
		if (names_check_project(bad[i], &err) != -1) {
			fprintf(stderr, "accepted project name '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK(!strpbrk(err.msg, "\r\n\x1b"));
	}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECK_INT(names_check_project(good[i], &err), 0);
	names_check_project("my_project", &err);
	CHECK_CONTAINS(err.msg, "'_'");
}

/* The segment after "/1.0/instances/" up to the query: one segment, escaped */
static void check_one_segment(const char *path)
{
	const char *seg = path + strlen("/1.0/instances/");
	size_t n = strcspn(seg, "?");

	REQUIRE(!strncmp(path, "/1.0/instances/", strlen("/1.0/instances/")));
	for (size_t i = 0; i < n; i++)
		if (strchr("/?&#. \r\n", seg[i])) {
			fprintf(stderr, "unescaped '%c' in %s\n", seg[i], path);
			CHECK(0);
		}
	CHECK(seg[n] == '?');
	CHECK(!strncmp(seg + n, "?project=", strlen("?project=")));
	CHECK(!strstr(path, ".."));
}

static void test_paths(void)
{
	struct qr_error err = {0};
	char buf[512];

	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		if (!bad_names[i][0])
			continue;
		CHECK_INT(incus_path(buf, sizeof(buf), NULL, NULL, &err, "instances", bad_names[i],
		                     NULL),
		          0);
		check_one_segment(buf);
		CHECK(str_has_suffix(buf, "?project=default"));
	}
	CHECK_INT(incus_path(buf, sizeof(buf), NULL, NULL, &err, "instances",
	                     "a/../../../1.0/certificates", NULL),
	          0);
	CHECK_STR(buf, "/1.0/instances/a%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F1%2E0%2Fcertificates"
	               "?project=default");
	CHECK_INT(incus_path(buf, sizeof(buf), NULL, NULL, &err, "instances", "vm1?project=other",
	                     NULL),
	          0);
	CHECK_STR(buf, "/1.0/instances/vm1%3Fproject%3Dother?project=default");
	/* the project is escaped too, and always there */
	CHECK_INT(incus_path(buf, sizeof(buf), "p&project=default", NULL, &err, "instances", "vm1",
	                     NULL),
	          0);
	CHECK_STR(buf, "/1.0/instances/vm1?project=p%26project%3Ddefault");
	CHECK_INT(incus_path(buf, sizeof(buf), "my-proj", "recursion=1", &err, "storage-pools",
	                     "default", "volumes", "virtual-machine", "vm1", NULL),
	          0);
	CHECK_STR(buf, "/1.0/storage-pools/default/volumes/virtual-machine/vm1?project=my-proj"
	               "&recursion=1");
	CHECK_INT(incus_path(buf, sizeof(buf), NULL, NULL, &err, NULL), 0);
	CHECK_STR(buf, "/1.0?project=default");
	/* refused: empty segment or project, a query naming the project,
	 * truncation (and then nothing half-built is left in the buffer)
	 */
	CHECK_INT(incus_path(buf, sizeof(buf), NULL, NULL, &err, "instances", "", NULL), -1);
	CHECK_CONTAINS(err.msg, "empty segment");
	CHECK_INT(incus_path(buf, sizeof(buf), "", NULL, &err, "instances", "vm1", NULL), -1);
	CHECK_INT(incus_path(buf, sizeof(buf), NULL, "project=x", &err, "instances", "vm1", NULL),
	          -1);
	CHECK_INT(incus_path(buf, sizeof(buf), NULL, "a=#", &err, "instances", "vm1", NULL), -1);
	CHECK_INT(incus_path(buf, 30, NULL, NULL, &err, "instances", "vm1", NULL), -1);
	CHECK_CONTAINS(err.msg, "longer than 29 bytes");
	CHECK_STR(buf, "");
	/* exactly fitting is fine: 35 characters and the NUL */
	CHECK_INT(incus_path(buf, 36, NULL, NULL, &err, "instances", "vm1-", NULL), 0);
	CHECK_STR(buf, "/1.0/instances/vm1-?project=default");
	CHECK_INT(incus_path(buf, 35, NULL, NULL, &err, "instances", "vm1-", NULL), -1);
}

static void test_state_file_name(void)
{
	struct qr_error err = {0};
	char buf[160];

	CHECK_INT(incus_state_file_name(buf, sizeof(buf), NULL, "vm1", &err), 0);
	CHECK_STR(buf, "vm1.json");
	CHECK_INT(incus_state_file_name(buf, sizeof(buf), "default", "vm1", &err), 0);
	CHECK_STR(buf, "vm1.json");
	CHECK_INT(incus_state_file_name(buf, sizeof(buf), "my-proj", "vm1", &err), 0);
	CHECK_STR(buf, "my-proj_vm1.json");
	CHECK_INT(incus_state_file_name(buf, sizeof(buf), NULL, "../x", &err), -1);
	CHECK_CONTAINS(err.msg, "instance name '../x'");
	CHECK_STR(buf, "");
	CHECK_INT(incus_state_file_name(buf, sizeof(buf), "a/b", "vm1", &err), -1);
	CHECK_INT(incus_state_file_name(buf, sizeof(buf), "..", "vm1", &err), -1);
	CHECK_INT(incus_state_file_name(buf, 8, NULL, "vm1", &err), -1);
	CHECK_CONTAINS(err.msg, "longer than 7 bytes");
}

static void test_macs(void)
{
	static const char *const good[] = {"10:66:6a:12:34:56", "00:16:3E:AB:cd:EF"};
	static const char *const bad[] = {
	        "",
	        "10:66:6a:12:34",
	        "10:66:6a:12:34:567",
	        "10-66-6a-12-34-56",
	        "10:66:6a:12:34:5g",
	        "10:66:6a:12:34:56\n",
	        "10:66:6a:12:34:5\"",
	        "1:066:6a:12:34:56",
	        "10:66:6a:12:34:56:78",
	        " 0:66:6a:12:34:56",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECK(incus_mac_valid(good[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (incus_mac_valid(bad[i])) {
			fprintf(stderr, "accepted MAC '%s'\n", bad[i]);
			CHECK(0);
		}
	CHECK(!incus_mac_valid(NULL));
}

/* An instance whose NIC has a MAC that would break out of raw.qemu.conf */
static void test_inventory_bad_mac(void)
{
	struct qr_error err = {0};
	struct vm_inventory inv;
	json_t *inst =
	        json_pack("{s:s, s:{s:s}, s:{s:{s:s}}}", "status", "Stopped", "expanded_config",
	                  "volatile.eth0.hwaddr", "10:66:6a:12:34:56\"\n[device \"evil\"]",
	                  "expanded_devices", "eth0", "type", "nic");

	REQUIRE(inst);
	CHECK_INT(incus_instance_inventory("/nonexistent", NULL, "vm1", inst, &inv, NULL, &err),
	          -1);
	CHECK_CONTAINS(err.msg, "NIC eth0");
	CHECK_CONTAINS(err.msg, "six hex octets");
	CHECK(!strpbrk(err.msg, "\r\n"));
	inventory_free(&inv);
	/* a good one passes (no disks: no request is made) */
	json_object_set_new(json_object_get(inst, "expanded_config"), "volatile.eth0.hwaddr",
	                    json_string("10:66:6a:12:34:56"));
	CHECK_INT(incus_instance_inventory("/nonexistent", NULL, "vm1", inst, &inv, NULL, &err), 0);
	CHECK_INT(inv.n_nics, 1);
	if (inv.n_nics == 1)
		CHECK_STR(inv.nics[0].mac, "10:66:6a:12:34:56");
	inventory_free(&inv);
	/* and a bad name is refused before anything */
	CHECK_INT(incus_instance_inventory("/nonexistent", NULL, "../x", inst, &inv, NULL, &err),
	          -1);
	inventory_free(&inv);
	CHECK_INT(incus_instance_inventory("/nonexistent", "a/b", "vm1", inst, &inv, NULL, &err),
	          -1);
	inventory_free(&inv);
	json_decref(inst);
}

static void test_conf_values(void)
{
	static const char *const bad[] = {
	        "/run/q\"uote.sock", "/run/back\\slash", "/run/new\nline",
	        "/run/cr\r",         "/run/tab\t",       "/run/del\x7f",
	};
	struct qr_error err = {0};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		qr_err_clear(&err);
		CHECK_INT(coldplug_check_conf_value("--qremapd-socket", bad[i], &err), -1);
		CHECK_CONTAINS(err.msg, "--qremapd-socket");
		CHECK(!strpbrk(err.msg, "\r\n\t\x7f"));
	}
	coldplug_check_conf_value("--qremapd-socket", "/run/q\"uote.sock", &err);
	CHECK_CONTAINS(err.msg, "double quote at position 7");
	CHECK_INT(coldplug_check_conf_value("mac", "10:66:6a:12:34:56", &err), 0);
	CHECK_INT(coldplug_check_conf_value("path", "/run/qremap/qremap.sock", &err), 0);
}

/*
 * The fake Incus: one thread, one connection at a time, recording each
 * request line. Every wait is a poll() with a bound, so a broken client
 * fails the test rather than hanging it.
 */

enum fake_mode {
	FAKE_OK,       /* 200 and a small instance */
	FAKE_HUGE,     /* a body without Content-Length, past the cap */
	FAKE_HUGE_LEN, /* a Content-Length past the cap, then the body */
	FAKE_SILENT,   /* reads the request, never answers */
	FAKE_ROUTES,   /* GET: @routes[path] as metadata, else 404; PATCH: kept */
};

#define FAKE_MAX_REQ 32

/**
 * struct fake - the fake Incus
 * @dir:	its temporary directory
 * @sock:	its socket
 * @lfd:	listening socket
 * @wake:	pipe that stops the thread
 * @mode:	what it answers
 * @thread:	the serving thread
 * @lock:	held over @routes, @patch and the records
 * @routes:	FAKE_ROUTES: request path ("/1.0/...?project=...") -> metadata
 * @patch:	FAKE_ROUTES: the last PATCH's body (new reference), or NULL
 * @n_patch:	PATCHes received
 * @n_req:	requests received
 * @req:	their request lines
 * @sent:	bytes sent (FAKE_HUGE*)
 */
struct fake {
	char dir[256];
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int wake[2];
	enum fake_mode mode;
	pthread_t thread;
	pthread_mutex_t lock;
	json_t *routes;
	json_t *patch;
	unsigned n_patch;
	unsigned n_req;
	char req[FAKE_MAX_REQ][512];
	size_t sent;
};

/* Send all of @p; false if the peer is gone (or doesn't read for 3 s). */
static bool fake_send(int fd, const void *p, size_t len, size_t *sent)
{
	const char *c = p;

	while (len) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		ssize_t n;

		if (poll(&pfd, 1, 3000) <= 0)
			return false;
		n = send(fd, c, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return false;
		c += n;
		len -= (size_t)n;
		if (sent)
			*sent += (size_t)n;
	}
	return true;
}

/**
 * fake_route() - answer a FAKE_ROUTES request
 * @f:		the fake
 * @fd:		connection
 * @req:	the request head, NUL-terminated
 * @len:	bytes of @req read (the head and maybe part of the body)
 * @cap:	size of @req
 *
 * A PATCH's body (Content-Length bytes; "100 Continue" first if curl asks)
 * is kept in @f->patch. A GET gets its route's metadata, or a 404 in
 * Incus's error format.
 */
static void fake_route(struct fake *f, int fd, char *req, size_t len, size_t cap)
{
	char *head_end = strstr(req, "\r\n\r\n"), *cl, path[512], hdr[256];
	const char *sp = strchr(req, ' ');
	size_t body_at, want = 0, n = sp ? strcspn(sp + 1, " ") : 0;
	json_t *md, *resp;
	char *text;
	int code = 200;

	if (!head_end || !sp || n >= sizeof(path))
		return;
	snprintf(path, sizeof(path), "%.*s", (int)n, sp + 1);
	body_at = (size_t)(head_end + 4 - req);
	cl = strcasestr(req, "Content-Length:");
	if (cl && cl < head_end)
		want = strtoul(cl + strlen("Content-Length:"), NULL, 10);
	if (want && strcasestr(req, "Expect: 100-continue"))
		fake_send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL);
	while (want && len - body_at < want && len < cap - 1) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t got;

		if (poll(&pfd, 1, 3000) <= 0)
			return;
		got = recv(fd, req + len, cap - 1 - len, MSG_DONTWAIT);
		if (got <= 0)
			return;
		len += (size_t)got;
	}
	req[len] = '\0';
	pthread_mutex_lock(&f->lock);
	if (str_has_prefix(req, "PATCH ")) {
		json_decref(f->patch);
		f->patch = json_loadb(req + body_at, len - body_at, 0, NULL);
		f->n_patch++;
		md = json_object();
	} else {
		md = json_incref(json_object_get(f->routes, path));
	}
	pthread_mutex_unlock(&f->lock);
	if (md)
		resp = json_pack("{s:s, s:i, s:o}", "type", "sync", "status_code", 200, "metadata",
		                 md);
	else
		resp = json_pack("{s:s, s:i, s:s}", "type", "error", "error_code", code = 404,
		                 "error", "not found");
	text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (!text)
		return;
	snprintf(hdr, sizeof(hdr),
	         "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nETag: \"e1\"\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	         code, code == 200 ? "OK" : "Not Found", strlen(text));
	if (fake_send(fd, hdr, strlen(hdr), NULL))
		fake_send(fd, text, strlen(text), NULL);
	free(text);
}

/* Serve one connection as @f->mode says. */
static void fake_serve(struct fake *f, int fd)
{
	static const char ok_body[] =
	        "{\"type\":\"sync\",\"status_code\":200,\"metadata\":{\"status\":\"Stopped\","
	        "\"config\":{},\"expanded_config\":{},\"expanded_devices\":{}}}";
	static char req[1 << 17];
	char hdr[512];
	size_t len = 0;

	/* the request head, bounded in size and time */
	while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 3000) <= 0)
			return;
		n = recv(fd, req + len, sizeof(req) - 1 - len, MSG_DONTWAIT);
		if (n <= 0)
			return;
		len += (size_t)n;
	}
	req[len] = '\0';
	pthread_mutex_lock(&f->lock);
	if (f->n_req < FAKE_MAX_REQ)
		snprintf(f->req[f->n_req], sizeof(f->req[0]), "%.*s", (int)strcspn(req, "\r\n"),
		         req);
	f->n_req++;
	pthread_mutex_unlock(&f->lock);
	switch (f->mode) {
	case FAKE_ROUTES:
		fake_route(f, fd, req, len, sizeof(req));
		break;
	case FAKE_OK:
		snprintf(hdr, sizeof(hdr),
		         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nETag: \"e1\"\r\n"
		         "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		         strlen(ok_body));
		if (fake_send(fd, hdr, strlen(hdr), NULL))
			fake_send(fd, ok_body, strlen(ok_body), NULL);
		break;
	case FAKE_HUGE:
	case FAKE_HUGE_LEN: {
		static char chunk[65536];
		bool more = true;

		memset(chunk, ' ', sizeof(chunk));
		if (f->mode == FAKE_HUGE)
			snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		else
			snprintf(hdr, sizeof(hdr),
			         "HTTP/1.1 200 OK\r\nContent-Length: %u\r\nConnection: "
			         "close\r\n\r\n",
			         INCUS_RESPONSE_MAX + 1);
		if (!fake_send(fd, hdr, strlen(hdr), NULL))
			break;
		/* until the client hangs up, or twice the cap: a client that
		 * read it all would have taken it whole
		 */
		while (more && f->sent < 2 * (size_t)INCUS_RESPONSE_MAX)
			more = fake_send(fd, chunk, sizeof(chunk), &f->sent);
		break;
	}
	case FAKE_SILENT: {
		/* until the client gives up and closes */
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		while (poll(&pfd, 1, 5000) > 0 && recv(fd, req, sizeof(req), MSG_DONTWAIT) > 0)
			;
		break;
	}
	}
}

static void *fake_main(void *opaque)
{
	struct fake *f = opaque;

	for (;;) {
		struct pollfd pfd[2] = {{.fd = f->lfd, .events = POLLIN},
		                        {.fd = f->wake[0], .events = POLLIN}};
		int fd;

		if (poll(pfd, 2, 10000) <= 0 || pfd[1].revents)
			break;
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		fake_serve(f, fd);
		close(fd);
	}
	return NULL;
}

static bool fake_start(struct fake *f, enum fake_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->routes = json_object();
	if (!f->routes || pthread_mutex_init(&f->lock, NULL))
		return false;
	if (snprintf(f->dir, sizeof(f->dir), "%s", test_tmpdir("incus")) >= (int)sizeof(f->dir) ||
	    snprintf(f->sock, sizeof(f->sock), "%s/unix.socket", f->dir) >= (int)sizeof(f->sock))
		return false;
	memcpy(sa.sun_path, f->sock, sizeof(f->sock));
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f->lfd, 4) < 0 || pipe2(f->wake, O_CLOEXEC) < 0)
		return false;
	return pthread_create(&f->thread, NULL, fake_main, f) == 0;
}

/* Stop the server; after this its records can be read. */
static void fake_stop(struct fake *f)
{
	if (write(f->wake[1], "x", 1) != 1)
		abort();
	pthread_join(f->thread, NULL);
	close(f->lfd);
	close(f->wake[0]);
	close(f->wake[1]);
	test_rmtree(f->dir);
	pthread_mutex_destroy(&f->lock);
	json_decref(f->routes);
	json_decref(f->patch);
	f->routes = f->patch = NULL;
}

/**
 * fake_set() - serve @md (reference taken) at @path from now on
 * @f:		the fake
 * @path:	request path, "/1.0/...?project=..."
 * @md:		metadata
 */
static void fake_set(struct fake *f, const char *path, json_t *md)
{
	REQUIRE(md);
	pthread_mutex_lock(&f->lock);
	json_object_set_new(f->routes, path, md);
	pthread_mutex_unlock(&f->lock);
}

static void test_fake_paths(void)
{
	struct qr_error err = {0};
	struct fake f;
	json_t *md = NULL;
	char path[512], etag[INCUS_ETAG_MAX];

	REQUIRE(fake_start(&f, FAKE_OK));
	/* a raw path with a name in it is refused before connecting */
	CHECK_INT(incus_request(f.sock, "GET",
	                        "/1.0/instances/a/../../../1.0/certificates?project=default", NULL,
	                        NULL, &md, NULL, 0, &err),
	          -1);
	CHECK_CONTAINS(err.msg, "refusing path");
	CHECK_INT(
	        incus_request(f.sock, "GET", "/1.0/instances/vm1", NULL, NULL, &md, NULL, 0, &err),
	        -1);
	CHECK_CONTAINS(err.msg, "names no project");
	CHECK_INT(incus_request(f.sock, "GET", "/1.0/instances/vm1?project=a&project=b", NULL, NULL,
	                        &md, NULL, 0, &err),
	          -1);
	CHECK_INT(incus_request(f.sock, "GET", "/1.0/instances/vm 1?project=default", NULL, NULL,
	                        &md, NULL, 0, &err),
	          -1);
	CHECK_INT(incus_request(f.sock, "GET", "/1.0/instances/vm1?project=default\r\nX: y", NULL,
	                        NULL, &md, NULL, 0, &err),
	          -1);
	CHECK(!strpbrk(err.msg, "\r\n"));
	CHECK_INT(incus_request(f.sock, "GET", "/2.0/instances?project=default", NULL, NULL, &md,
	                        NULL, 0, &err),
	          -1);
	CHECK_INT(incus_request(f.sock, "GET\r\nX: y", "/1.0?project=default", NULL, NULL, &md,
	                        NULL, 0, &err),
	          -1);
	CHECK_INT(incus_request(f.sock, "PATCH", "/1.0?project=default", NULL, "\"e1\"\r\nX: y",
	                        NULL, NULL, 0, &err),
	          -1);
	/* the escaped path goes through as one segment */
	REQUIRE(incus_path(path, sizeof(path), NULL, NULL, &err, "instances",
	                   "a/../../../1.0/certificates", NULL) == 0);
	CHECK_INT(incus_request(f.sock, "GET", path, NULL, NULL, &md, etag, sizeof(etag), &err), 0);
	CHECK_STR(etag, "\"e1\"");
	CHECK_STR(json_string_value(json_object_get(md, "status")), "Stopped");
	json_decref(md);
	md = NULL;
	REQUIRE(incus_path(path, sizeof(path), "p1", NULL, &err, "instances", "vm1", NULL) == 0);
	CHECK_INT(incus_request(f.sock, "GET", path, NULL, NULL, &md, NULL, 0, &err), 0);
	json_decref(md);
	/* an ETag that doesn't fit fails rather than being cut */
	CHECK_INT(incus_request(f.sock, "GET", path, NULL, NULL, NULL, etag, 3, &err), -1);
	CHECK_CONTAINS(err.msg, "ETag longer");
	fake_stop(&f);
	CHECK_INT(f.n_req, 3);
	CHECK_STR(f.req[0], "GET /1.0/instances/a%2F%2E%2E%2F%2E%2E%2F%2E%2E%2F1%2E0%2Fcertificates"
	                    "?project=default HTTP/1.1");
	CHECK_STR(f.req[1], "GET /1.0/instances/vm1?project=p1 HTTP/1.1");
	for (unsigned i = 0; i < f.n_req && i < FAKE_MAX_REQ; i++)
		CHECK(!str_has_prefix(f.req[i], "GET /1.0/certificates"));
}

static void test_fake_huge(void)
{
	static const enum fake_mode modes[] = {FAKE_HUGE, FAKE_HUGE_LEN};

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		struct qr_error err = {0};
		char path[128], want[64];
		json_t *md = NULL;
		struct fake f;

		REQUIRE(fake_start(&f, modes[i]));
		REQUIRE(incus_path(path, sizeof(path), NULL, NULL, &err, "instances", "vm1",
		                   NULL) == 0);
		CHECK_INT(incus_request(f.sock, "GET", path, NULL, NULL, &md, NULL, 0, &err), -1);
		CHECK(!md);
		snprintf(want, sizeof(want), "response larger than %u bytes", INCUS_RESPONSE_MAX);
		CHECK_CONTAINS(err.msg, want);
		fake_stop(&f);
		CHECK_INT(f.n_req, 1);
		/* the client stopped reading near the cap (what the sockets
		 * buffer is the slack), not after taking everything
		 */
		CHECK(f.sent < (size_t)INCUS_RESPONSE_MAX + (4u << 20));
	}
}

static void test_fake_timeout(void)
{
	struct qr_error err = {0};
	char path[128];
	json_t *md = NULL;
	struct fake f;
	int64_t t0, took;

	REQUIRE(fake_start(&f, FAKE_SILENT));
	REQUIRE(incus_path(path, sizeof(path), NULL, NULL, &err, "instances", "vm1", NULL) == 0);
	incus_set_timeout_ms(300);
	t0 = now_ms();
	CHECK_INT(incus_request(f.sock, "GET", path, NULL, NULL, &md, NULL, 0, &err), -1);
	took = now_ms() - t0;
	incus_set_timeout_ms(0);
	CHECK(err.kind == QR_ERR_TIMEOUT);
	CHECK_CONTAINS(err.msg, "no answer within 300 ms");
	CHECK(took >= 250 && took < 2000);
	fake_stop(&f);
	CHECK_INT(f.n_req, 1);
}

/* The qremap binary beside this test's directory (build/tests/..), or $QREMAP_BIN */
static const char *qremap_bin(void)
{
	static char bin[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n;

	if (getenv("QREMAP_BIN"))
		return getenv("QREMAP_BIN");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	snprintf(bin, sizeof(bin), "%s/../qremap", dirname(self));
	return access(bin, X_OK) == 0 ? bin : NULL;
}

/* "qremap incus": names checked before any request, project in every path,
 * the state file found by project and never followed through a symlink or
 * blocked on as a FIFO
 */
static void test_cmd_layer(void)
{
	static const char *const bad[][2] = {
	        {"a/../../../1.0/certificates", "default"},
	        {"vm1?project=other", "default"},
	        {"vm1", "other&x"},
	        {"vm1", "../p"},
	};
	const char *bin = qremap_bin();
	struct fake f;
	char state[sizeof(f.dir) + 8], file[sizeof(state) + 32];

	if (!bin)
		SKIP("no qremap binary next to the test (build the qremap target, or set "
		     "QREMAP_BIN)");
	REQUIRE(fake_start(&f, FAKE_OK));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		static const char *const subs[] = {"status", "disable", "enable"};

		for (size_t k = 0; k < ARRAY_SIZE(subs); k++) {
			const char *argv[] = {
			        bin,       "incus",          subs[k], bad[i][0],   "--project",
			        bad[i][1], "--incus-socket", f.sock,  "--profile", "macos",
			        NULL};
			char *out = NULL, *errs = NULL;

			CHECK_INT(test_run_capture(argv, &out, &errs), 2);
			CHECK_CONTAINS(errs, "name");
			free(out);
			free(errs);
		}
	}
	{
		const char *argv[] = {bin,
		                      "incus",
		                      "enable",
		                      "vm1",
		                      "--profile",
		                      "macos",
		                      "--incus-socket",
		                      f.sock,
		                      "--qremapd-socket",
		                      "/run/q\"x.sock",
		                      NULL};
		char *errs = NULL;

		CHECK_INT(test_run_capture(argv, NULL, &errs), 2);
		CHECK_CONTAINS(errs, "double quote");
		free(errs);
	}
	/* a good name and project: one request, in that project, and the
	 * state file PROJECT_NAME.json
	 */
	snprintf(state, sizeof(state), "%s/state", f.dir);
	REQUIRE(mkdir(state, 0700) == 0);
	snprintf(file, sizeof(file), "%s/p1_vm1.json", state);
	{
		FILE *sf = fopen(file, "w");

		REQUIRE(sf);
		fputs("{\"outcome\": \"done\"}\n", sf);
		fclose(sf);
	}
	{
		const char *argv[] = {bin,  "incus",          "status", "vm1",         "--project",
		                      "p1", "--incus-socket", f.sock,   "--state-dir", state,
		                      NULL};
		char *out = NULL;

		CHECK_INT(test_run_capture(argv, &out, NULL), 0);
		CHECK_CONTAINS(out, "last remap: done");
		CHECK_CONTAINS(out, "project p1");
		free(out);
	}
	/* without --project, INCUS_PROJECT chooses, as for the incus client;
	 * checked like --project
	 */
	{
		const char *argv[] = {bin,    "incus",       "status", "vm1", "--incus-socket",
		                      f.sock, "--state-dir", state,    NULL};
		char *out = NULL, *errs = NULL;

		setenv("INCUS_PROJECT", "p1", 1);
		CHECK_INT(test_run_capture(argv, &out, NULL), 0);
		CHECK_CONTAINS(out, "last remap: done");
		setenv("INCUS_PROJECT", "../p1", 1);
		CHECK(test_run_capture(argv, NULL, &errs) != 0);
		CHECK_CONTAINS(errs, "project");
		unsetenv("INCUS_PROJECT");
		free(out);
		free(errs);
	}
	/* vm1 in the default project: a FIFO there must not block status,
	 * a symlink must not be followed
	 */
	snprintf(file, sizeof(file), "%s/vm1.json", state);
	REQUIRE(mkfifo(file, 0600) == 0);
	{
		const char *argv[] = {bin,    "incus",       "status", "vm1", "--incus-socket",
		                      f.sock, "--state-dir", state,    NULL};
		char *out = NULL, *errs = NULL;

		CHECK_INT(test_run_capture(argv, &out, &errs), 0);
		CHECK_CONTAINS(out, "none recorded");
		CHECK_CONTAINS(errs, "not a regular file");
		free(out);
		free(errs);
	}
	unlink(file);
	{
		char target[sizeof(state) + 32];

		snprintf(target, sizeof(target), "%s/p1_vm1.json", state);
		REQUIRE(symlink(target, file) == 0);
	}
	{
		const char *argv[] = {bin,    "incus",       "status", "vm1", "--incus-socket",
		                      f.sock, "--state-dir", state,    NULL};
		char *out = NULL;

		CHECK_INT(test_run_capture(argv, &out, NULL), 0);
		CHECK_CONTAINS(out, "none recorded");
		free(out);
	}
	fake_stop(&f);
	/* only the four good status runs reached the fake Incus */
	CHECK_INT(f.n_req, 4);
	CHECK_STR(f.req[0], "GET /1.0/instances/vm1?project=p1 HTTP/1.1");
	CHECK_STR(f.req[1], "GET /1.0/instances/vm1?project=p1 HTTP/1.1");
	CHECK_STR(f.req[2], "GET /1.0/instances/vm1?project=default HTTP/1.1");
}

/* The last PATCH body the fake received (new reference), NULL if none; reset */
static json_t *fake_take_patch(struct fake *f)
{
	json_t *p;

	pthread_mutex_lock(&f->lock);
	p = f->patch;
	f->patch = NULL;
	pthread_mutex_unlock(&f->lock);
	return p;
}

/* A file of @size bytes (sparse) at @dir/@name; its path in @buf */
static void make_file(char *buf, size_t len, const char *dir, const char *name, off_t size)
{
	int fd;

	REQUIRE(snprintf(buf, len, "%s/%s", dir, name) < (int)len);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, size) == 0);
	close(fd);
}

/* Host files and block devices: sized without reading; nothing else taken */
static void test_host_disk_size(void)
{
	const char *dir = test_tmpdir("hostdisk");
	char file[PATH_MAX], fifo[PATH_MAX], link[PATH_MAX];
	struct qr_error err = {0};
	uint64_t size = 0;
	int64_t t0;

	make_file(file, sizeof(file), dir, "disk.img", 12345);
	CHECK_INT(incus_host_disk_size(file, &size, &err), 0);
	CHECK(size == 12345);
	/* Incus follows a symlink to the file, so does enable */
	snprintf(link, sizeof(link), "%s/link.img", dir);
	REQUIRE(symlink(file, link) == 0);
	size = 0;
	CHECK_INT(incus_host_disk_size(link, &size, &err), 0);
	CHECK(size == 12345);
	/* a FIFO is refused at once: never opened for reading */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	REQUIRE(mkfifo(fifo, 0600) == 0);
	t0 = now_ms();
	CHECK_INT(incus_host_disk_size(fifo, &size, &err), -1);
	CHECK(now_ms() - t0 < 1000);
	CHECK_CONTAINS(err.msg, "neither a regular file nor a block device");
	CHECK_INT(incus_host_disk_size(dir, &size, &err), -1);
	CHECK_INT(incus_host_disk_size("/dev/null", &size, &err), -1);
	CHECK_CONTAINS(err.msg, "/dev/null");
	snprintf(link, sizeof(link), "%s/missing.img", dir);
	CHECK_INT(incus_host_disk_size(link, &size, &err), -1);
	CHECK(err.errnum == ENOENT);
	/* a block device: BLKGETSIZE64, as the kernel says (root only) */
	{
		static const char *const devs[] = {"/dev/loop0", "/dev/vda", "/dev/sda",
		                                   "/dev/nvme0n1"};

		for (size_t i = 0; i < ARRAY_SIZE(devs); i++) {
			uint64_t want = 0;
			struct stat sb;
			int fd;

			if (stat(devs[i], &sb) < 0 || !S_ISBLK(sb.st_mode))
				continue;
			fd = open(devs[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (ioctl(fd, BLKGETSIZE64, &want) == 0) {
				size = 1;
				CHECK_INT(incus_host_disk_size(devs[i], &size, &err), 0);
				CHECK(size == want);
			}
			close(fd);
			break;
		}
	}
	test_rmtree(dir);
}

/* Section headers as Incus reads them; boot indexes users wrote */
static void test_conf_scan(void)
{
	static const char conf[] = "[device \"qemu_vsock\"]\n"
	                           "  [ device \"qremap_ahci\" ]  \n"
	                           "driver = \"ich9-ahci\"\n"
	                           "[machine]\naccel = \"tcg\"\n"
	                           "[device \"mine\"]\nbootindex = \"7\"\n";

	CHECK(incus_conf_has_section(conf, "device \"qremap_ahci\""));
	CHECK(incus_conf_has_section(conf, "machine"));
	CHECK(incus_conf_has_section(conf, "device \"qemu_vsock\""));
	CHECK(!incus_conf_has_section(conf, "device \"qremap_sata0\""));
	CHECK(!incus_conf_has_section(conf, "device"));
	CHECK(!incus_conf_has_section("", "machine"));
	CHECK(!incus_conf_has_section("driver = \"[machine]\"\n", "machine"));
	CHECK_INT(incus_bootindex_floor("", ""), 0);
	CHECK_INT(incus_bootindex_floor(conf, ""), 8);
	CHECK_INT(incus_bootindex_floor(conf, "-device ide-hd,drive=x,bootindex=12 -m 1G"), 13);
	CHECK_INT(incus_bootindex_floor("bootindex", "bootindex=x"), 0);
}

/* The raw.apparmor line: one plain rule for qremapd's socket, accepted by
 * apparmor_parser inside a profile laid out as Incus lays out its QEMU one
 */
static void test_apparmor_rule(void)
{
	static const char *const bad[] = {
	        "relative.sock",       "/run/q remap.sock", "/run/q*.sock", "/run/{a,b}.sock",
	        "/run/@{HOME}/q.sock", "/run/q,x.sock",     "/run/",        "/run/q\"x.sock",
	};
	const char *dir = test_tmpdir("apparmor");
	char rule[PATH_MAX + 8], real[PATH_MAX], link[PATH_MAX + 8], sock[PATH_MAX + 16],
	        want[PATH_MAX + 32];
	struct qr_error err = {0};

	CHECK_INT(incus_apparmor_rule(rule, sizeof(rule), "/run/qremap/qremap.sock", &err), 0);
	if (!realpath("/run", real) || !strcmp(real, "/run"))
		CHECK_STR(rule, "/run/qremap/qremap.sock rw,");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		qr_err_clear(&err);
		if (incus_apparmor_rule(rule, sizeof(rule), bad[i], &err) != -1) {
			fprintf(stderr, "accepted socket path '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK_STR(rule, "");
	}
	CHECK_INT(incus_apparmor_rule(rule, 8, "/run/qremap/qremap.sock", &err), -1);
	/* AppArmor sees the resolved path: a symlinked directory is resolved */
	REQUIRE(realpath(dir, real));
	snprintf(link, sizeof(link), "%s/lnk", real);
	REQUIRE(mkdir(link, 0700) == 0);
	snprintf(sock, sizeof(sock), "%s/alias", real);
	REQUIRE(symlink(link, sock) == 0);
	snprintf(sock, sizeof(sock), "%s/alias/q.sock", real);
	CHECK_INT(incus_apparmor_rule(rule, sizeof(rule), sock, &err), 0);
	snprintf(want, sizeof(want), "%s/q.sock rw,", link);
	CHECK_STR(rule, want);

	/* syntax: Incus pastes raw.apparmor into its profile, each line
	 * indented, after its own unix stream rule (instance_qemu.profile.go)
	 */
	if (access("/usr/sbin/apparmor_parser", X_OK) == 0 ||
	    access("/sbin/apparmor_parser", X_OK) == 0) {
		char prof[PATH_MAX + 16];
		FILE *f;

		snprintf(prof, sizeof(prof), "%s/qemu.profile", real);
		f = fopen(prof, "we");
		REQUIRE(f);
		CHECK_INT(incus_apparmor_rule(rule, sizeof(rule), "/run/qremap/qremap.sock", &err),
		          0);
		fprintf(f,
		        "profile \"incus-vm1\" flags=(attach_disconnected,mediate_deleted) {\n"
		        "  unix (bind, listen, accept, send, receive, connect) type=stream,\n"
		        "  /run/incus/vm1/** rwk,\n"
		        "\n  ### Configuration: raw.apparmor\n  %s\n}\n",
		        rule);
		fclose(f);
		{
			const char *argv[] = {"apparmor_parser", "-Q", "-K", prof, NULL};
			char *errs = NULL;

			CHECK_INT(test_run_capture(argv, NULL, &errs), 0);
			free(errs);
		}
	}
	test_rmtree(dir);
}

/* An instance with every kind of disk, as GET /1.0/instances/NAME shows it */
static json_t *instance_with_disks(const char *img, const char *iso, const char *dir)
{
	return json_pack("{s:s, s:s, s:[s,s], s:{s:s}, s:{s:s, s:s},"
	                 " s:{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s},"
	                 " s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:{s:s, s:s}}}",
	                 "name", "vm1", "status", "Stopped", "profiles", "default", "mac", "config",
	                 "volatile.eth0.hwaddr", "10:66:6a:12:34:56", "expanded_config",
	                 "volatile.eth0.hwaddr", "10:66:6a:12:34:56", "raw.qemu", "-cpu max",
	                 "expanded_devices",
	                 /* sorted by Incus: eth0 | root, cd, data, img, vol-iso, zz | share */
	                 "root", "type", "disk", "path", "/", "pool", "default", "eth0", "type",
	                 "nic", "network", "incusbr0", "img", "type", "disk", "source", img,
	                 "boot.priority", "5", "cd", "type", "disk", "source", iso, "data", "type",
	                 "disk", "pool", "default", "source", "vol1", "vol-iso", "type", "disk",
	                 "pool", "default", "source", "isos", "share", "type", "disk", "source",
	                 dir, "path", "/mnt", "zz", "type", "disk", "source", "cloud-init:config");
}

/* Routes of the fake for that instance's volumes, in project @proj */
static void fake_volumes(struct fake *f, const char *proj)
{
	char path[256];

	snprintf(path, sizeof(path),
	         "/1.0/storage-pools/default/volumes/virtual-machine/vm1?project=%s", proj);
	fake_set(f, path,
	         json_pack("{s:{s:s}, s:s}", "config", "size", "20GiB", "content_type", "block"));
	snprintf(path, sizeof(path), "/1.0/storage-pools/default/volumes/custom/vol1?project=%s",
	         proj);
	fake_set(f, path, json_pack("{s:{}, s:s}", "config", "content_type", "block"));
	snprintf(path, sizeof(path), "/1.0/storage-pools/default?project=%s", proj);
	fake_set(f, path, json_pack("{s:{s:s}}", "config", "volume.size", "3GiB"));
	snprintf(path, sizeof(path), "/1.0/storage-pools/default/volumes/custom/isos?project=%s",
	         proj);
	fake_set(f, path, json_pack("{s:{}, s:s}", "config", "content_type", "iso"));
}

/* Disks in the order Incus hot-plugs them, sized, with Incus's boot indexes */
static void test_inventory_disks(void)
{
	char dir[256], img[PATH_MAX], iso[PATH_MAX], notes[4096] = "";
	struct incus_extra x;
	struct qr_error err = {0};
	struct vm_inventory inv;
	struct fake f;
	json_t *inst;

	/* test_tmpdir()'s buffer is reused by fake_start() */
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("disks"));
	make_file(img, sizeof(img), dir, "data.img", 1 << 20);
	make_file(iso, sizeof(iso), dir, "installer.iso", 4096);
	inst = instance_with_disks(img, iso, dir);
	REQUIRE(inst);
	REQUIRE(fake_start(&f, FAKE_ROUTES));
	fake_volumes(&f, "p1");
	CHECK_INT(incus_instance_inventory(f.sock, "p1", "vm1", inst, &inv, &x, &err), 0);
	if (err.msg[0])
		fprintf(stderr, "%s\n", err.msg);
	REQUIRE(inv.n_disks == 3);
	/* root first, then the others by path ("") and name */
	CHECK_STR(inv.disks[0].id, "dev-incus_root");
	CHECK(inv.disks[0].size == 20ull << 30);
	CHECK_STR(inv.disks[1].id, "dev-incus_data");
	CHECK(inv.disks[1].size == 3ull << 30);
	CHECK_STR(inv.disks[2].id, "dev-incus_img");
	CHECK(inv.disks[2].size == 1 << 20);
	/* deviceBootPriorities(): eth0 0, root 1, cd 2, data 3, img 4 (prio 5),
	 * vol-iso 5, zz 6, share 7 -> img 0, root 1, then the rest in order
	 */
	CHECK_INT(x.bootindex[0], 1);
	CHECK_INT(x.bootindex[1], 4);
	CHECK_INT(x.bootindex[2], 0);
	CHECK_INT(x.boot_end, 8);
	/* recorded: sizes, and the host file's path */
	CHECK(json_integer_value(json_object_get(json_object_get(x.disks, "img"), "size")) ==
	      1 << 20);
	CHECK_STR(json_string_value(json_object_get(json_object_get(x.disks, "img"), "source")),
	          img);
	CHECK(!json_object_get(x.disks, "cd"));
	/* every disk left alone is said, and why */
	for (size_t i = 0; i < x.n_notes; i++)
		snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), "%s\n", x.notes[i]);
	CHECK_INT(x.n_notes, 4);
	CHECK_CONTAINS(notes, "disk cd:");
	CHECK_CONTAINS(notes, "ends in .iso");
	CHECK_CONTAINS(notes, "disk vol-iso: custom volume isos is an ISO");
	CHECK_CONTAINS(notes, "disk share: a shared filesystem");
	CHECK_CONTAINS(notes, "disk zz: Incus attaches cloud-init:config as a CD-ROM");
	inventory_free(&inv);
	incus_extra_free(&x);

	/* -kernel in raw.qemu: Incus counts from 1 */
	json_object_set_new(json_object_get(inst, "expanded_config"), "raw.qemu",
	                    json_string("-cpu max -kernel /boot/vmlinuz"));
	CHECK_INT(incus_instance_inventory(f.sock, "p1", "vm1", inst, &inv, &x, &err), 0);
	CHECK_INT(x.bootindex[2], 1);
	CHECK_INT(x.bootindex[0], 2);
	CHECK_INT(x.boot_end, 9);
	inventory_free(&inv);
	incus_extra_free(&x);

	/* a bad boot.priority, a source that is a directory without path */
	json_object_set_new(json_object_get(json_object_get(inst, "expanded_devices"), "img"),
	                    "boot.priority", json_string("-1"));
	CHECK_INT(incus_instance_inventory(f.sock, "p1", "vm1", inst, &inv, &x, &err), -1);
	CHECK_CONTAINS(err.msg, "boot.priority");
	inventory_free(&inv);
	incus_extra_free(&x);
	json_object_set_new(json_object_get(json_object_get(inst, "expanded_devices"), "img"),
	                    "boot.priority", json_string("5"));
	json_object_set_new(json_object_get(json_object_get(inst, "expanded_devices"), "img"),
	                    "source", json_string(dir));
	CHECK_INT(incus_instance_inventory(f.sock, "p1", "vm1", inst, &inv, &x, &err), -1);
	CHECK_CONTAINS(err.msg, "disk img");
	CHECK_CONTAINS(err.msg, "neither a regular file nor a block device");
	inventory_free(&inv);
	incus_extra_free(&x);
	fake_stop(&f);
	/* every request named the project */
	for (unsigned i = 0; i < f.n_req && i < FAKE_MAX_REQ; i++)
		CHECK_CONTAINS(f.req[i], "project=p1");
	json_decref(inst);
	test_rmtree(dir);
}

/* The value a profile gives: the last of the instance's profiles that sets it */
static void test_profile_value(void)
{
	struct qr_error err = {0};
	char prof[64], *v = NULL;
	struct fake f;
	json_t *inst = json_pack("{s:[s,s,s]}", "profiles", "default", "mac", "extra");

	REQUIRE(inst);
	REQUIRE(fake_start(&f, FAKE_ROUTES));
	fake_set(&f, "/1.0/profiles/default?project=p1",
	         json_pack("{s:{s:s}}", "config", "raw.qemu.conf", "[a]\n"));
	fake_set(&f, "/1.0/profiles/mac?project=p1",
	         json_pack("{s:{s:s}}", "config", "raw.qemu.conf", "[b]\n"));
	fake_set(&f, "/1.0/profiles/extra?project=p1", json_pack("{s:{}}", "config"));
	CHECK_INT(incus_profile_value(f.sock, "p1", inst, "raw.qemu.conf", &v, prof, sizeof(prof),
	                              &err),
	          0);
	CHECK_STR(v, "[b]\n");
	CHECK_STR(prof, "mac");
	free(v);
	CHECK_INT(incus_profile_value(f.sock, "p1", inst, "raw.qemu", &v, prof, sizeof(prof), &err),
	          0);
	CHECK_STR(v, "");
	CHECK_STR(prof, "");
	free(v);
	/* a profile Incus doesn't have: an error, not a guess */
	json_array_append_new(json_object_get(inst, "profiles"), json_string("gone"));
	CHECK_INT(incus_profile_value(f.sock, "p1", inst, "raw.qemu", &v, prof, sizeof(prof), &err),
	          -1);
	CHECK_CONTAINS(err.msg, "profile gone");
	CHECK(!v);
	fake_stop(&f);
	for (unsigned i = 0; i < f.n_req && i < FAKE_MAX_REQ; i++)
		CHECK_CONTAINS(f.req[i], "?project=p1");
	json_decref(inst);
}

/* The profile of the enable tests, installed where qremapd looks (root only);
 * which of /etc/qremap and /etc/qremap/profiles it created, to remove after
 */
static bool install_test_profile(char *name, size_t nlen, char *path, size_t plen, bool created[2])
{
	static const char *const dirs[] = {"/etc/qremap", "/etc/qremap/profiles"};
	FILE *f;

	if (!test_is_root())
		return false;
	snprintf(name, nlen, "qremap-unit-%d", (int)getpid());
	snprintf(path, plen, "/etc/qremap/profiles/%s.yaml", name);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		created[i] = mkdir(dirs[i], 0755) == 0;
		if (!created[i] && errno != EEXIST)
			return false;
	}
	f = fopen(path, "we");
	if (!f)
		return false;
	fprintf(f,
	        "qremap_profile: 1\nname: %s\n"
	        "nics:\n  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"
	        "disks:\n  - {match: \"*\", to: sata}\n",
	        name);
	return fclose(f) == 0;
}

/* Remove the test profile, and the directories if the test made them */
static void remove_test_profile(const char *path, const bool created[2])
{
	unlink(path);
	if (created[1])
		rmdir("/etc/qremap/profiles");
	if (created[0])
		rmdir("/etc/qremap");
}

/* Run "qremap incus SUB vm1 --project p1 ..." against the fake */
static int run_incus(const char *bin, const struct fake *f, const char *sub, const char *profile,
                     char **out, char **errs)
{
	const char *argv[] = {bin,
	                      "incus",
	                      sub,
	                      "vm1",
	                      "--project",
	                      "p1",
	                      "--incus-socket",
	                      f->sock,
	                      profile ? "--profile" : NULL,
	                      profile,
	                      NULL};

	return test_run_capture(argv, out, errs);
}

/* The instance after a PATCH: Incus's merge of config keys ("" removes) */
static void apply_patch(json_t *inst, json_t *patch)
{
	json_t *conf = json_object_get(inst, "config"),
	       *exp = json_object_get(inst, "expanded_config");
	json_t *v;
	const char *k;

	json_object_foreach(json_object_get(patch, "config"), k, v)
	{
		if (!json_string_value(v)[0]) {
			json_object_del(conf, k);
			json_object_del(exp, k);
		} else {
			json_object_set(conf, k, v);
			json_object_set(exp, k, v);
		}
	}
}

/* A config key of a PATCH body, NULL if absent */
static const char *patched(json_t *patch, const char *key)
{
	return json_string_value(json_object_get(json_object_get(patch, "config"), key));
}

/* enable with raw.qemu.conf from an Incus profile, disable back; host-file
 * disks with boot indexes; a profile's scriptlet refused; sections that
 * exist already refused
 */
static void test_enable_profiles(void)
{
	static const char prof_conf[] =
	        "[device \"isa-applesmc\"]\n"
	        "osk = \"ourhardworkbythesewordsguardedpleasedontsteal(c)AppleComputerInc\"\n";
	const char *bin = qremap_bin();
	char dir[256], pname[64], ppath[PATH_MAX], img[PATH_MAX], iso[PATH_MAX], want[8192];
	bool created[2] = {false, false};
	json_t *inst, *before, *patch;
	char *out = NULL, *errs = NULL;
	const char *v;
	struct fake f;

	if (!bin)
		SKIP("no qremap binary next to the test (build the qremap target, or set "
		     "QREMAP_BIN)");
	if (!install_test_profile(pname, sizeof(pname), ppath, sizeof(ppath), created))
		SKIP("needs root: the profile goes to /etc/qremap/profiles, where qremapd looks");
	/* test_tmpdir()'s buffer is reused by fake_start() */
	snprintf(dir, sizeof(dir), "%s", test_tmpdir("enable"));
	make_file(img, sizeof(img), dir, "data.img", 1 << 20);
	make_file(iso, sizeof(iso), dir, "installer.iso", 4096);
	inst = instance_with_disks(img, iso, dir);
	REQUIRE(inst);
	json_object_set_new(json_object_get(inst, "expanded_config"), "raw.qemu.conf",
	                    json_string(prof_conf));
	/* raw.apparmor is the instance's own */
	json_object_set_new(json_object_get(inst, "config"), "raw.apparmor",
	                    json_string("/srv/x r,"));
	json_object_set_new(json_object_get(inst, "expanded_config"), "raw.apparmor",
	                    json_string("/srv/x r,"));
	before = json_deep_copy(inst);
	REQUIRE(fake_start(&f, FAKE_ROUTES));
	fake_volumes(&f, "p1");
	fake_set(&f, "/1.0/instances/vm1?project=p1", json_incref(inst));
	fake_set(&f, "/1.0?project=p1",
	         json_pack("{s:{s:s}}", "environment", "driver_version", "10.0.2 | 10.0.2"));
	fake_set(&f, "/1.0/profiles/default?project=p1", json_pack("{s:{}}", "config"));
	fake_set(&f, "/1.0/profiles/mac?project=p1",
	         json_pack("{s:{s:s}}", "config", "raw.qemu.conf", prof_conf));

	CHECK_INT(run_incus(bin, &f, "enable", pname, &out, &errs), 0);
	CHECK_CONTAINS(out, "note: disk cd:");
	CHECK_CONTAINS(out, "note: disk share:");
	CHECK_CONTAINS(out, "raw.qemu.conf came from Incus profile mac");
	patch = fake_take_patch(&f);
	REQUIRE(patch);
	/* the profile's value, then qremap's: isa-applesmc survives */
	v = patched(patch, "raw.qemu.conf");
	REQUIRE(v);
	CHECK(str_has_prefix(v, prof_conf));
	snprintf(want, sizeof(want), "%s%s", prof_conf, str_or(patched(patch, INCUS_KEY_CONF), ""));
	CHECK(str_has_prefix(str_or(patched(patch, INCUS_KEY_CONF), ""), "\n["));
	CHECK_STR(v, want);
	CHECK_STR(patched(patch, INCUS_KEY_INHERITED), "raw.qemu.conf");
	/* no comment can reach Incus's parser */
	CHECK(!strstr(v, "#"));
	/* placeholders in Incus's hot-plug order, each with its disk's boot
	 * index past Incus's 8 (root 1, data 4, img 0)
	 */
	{
		const char *r = strstr(v, "qremap_sata0\"]"), *d = strstr(v, "qremap_sata1\"]"),
		           *i = strstr(v, "qremap_sata2\"]");

		REQUIRE(r && d && i);
		CHECK(r < d && d < i);
		CHECK(strstr(r, "bootindex = \"9\"") < d);
		CHECK(strstr(d, "bootindex = \"12\"") && strstr(d, "bootindex = \"12\"") < i);
		CHECK_CONTAINS(i, "bootindex = \"8\"");
		CHECK_CONTAINS(v, "size = \"21474836480\"");
		CHECK_CONTAINS(v, "size = \"1048576\"");
	}
	/* raw.apparmor: the instance's own, plus one rule on its own line */
	CHECK_STR(patched(patch, "raw.apparmor"), "/srv/x r,\n/run/qremap/qremap.sock rw,");
	CHECK_STR(patched(patch, INCUS_KEY_APPARMOR), "\n/run/qremap/qremap.sock rw,");
	/* raw.qemu had nothing to add: not written, the profile's stays unshadowed */
	CHECK(!patched(patch, "raw.qemu"));
	CHECK_CONTAINS(patched(patch, INCUS_KEY_DISKS), "\"img\":{\"size\":1048576");
	CHECK_CONTAINS(patched(patch, "raw.qemu.scriptlet"), "# qremap: pre-start handshake");
	CHECK_STR(patched(patch, INCUS_KEY_PROFILE), pname);
	free(out);
	free(errs);

	/* status: the disks re-checked against what enable recorded */
	apply_patch(inst, patch);
	json_decref(patch);
	fake_set(&f, "/1.0/instances/vm1?project=p1", json_incref(inst));
	make_file(img, sizeof(img), dir, "data.img", 2 << 20);
	CHECK_INT(run_incus(bin, &f, "status", NULL, &out, NULL), 0);
	CHECK_CONTAINS(out, "disk img: 2097152 bytes now, its placeholder was made for 1048576");
	CHECK_CONTAINS(out, "inherited:  raw.qemu.conf");
	free(out);

	/* disable: the instance key goes, the instance inherits again */
	CHECK_INT(run_incus(bin, &f, "disable", NULL, &out, &errs), 0);
	patch = fake_take_patch(&f);
	REQUIRE(patch);
	CHECK_STR(patched(patch, "raw.qemu.conf"), "");
	CHECK_STR(patched(patch, "raw.apparmor"), "/srv/x r,");
	CHECK_STR(patched(patch, "raw.qemu.scriptlet"), "");
	CHECK(!patched(patch, "raw.qemu"));
	apply_patch(inst, patch);
	json_decref(patch);
	/* byte for byte what it was, expanded_config included */
	json_object_set_new(json_object_get(inst, "expanded_config"), "raw.qemu.conf",
	                    json_string(prof_conf));
	CHECK(json_equal(inst, before));
	if (!json_equal(inst, before)) {
		char *a = json_dumps(inst, JSON_SORT_KEYS), *b = json_dumps(before, JSON_SORT_KEYS);

		fprintf(stderr, "after: %s\nbefore: %s\n", a, b);
		free(a);
		free(b);
	}
	free(out);
	free(errs);

	/* the profile changed since enable: what's left stays on the instance */
	CHECK_INT(run_incus(bin, &f, "enable", pname, NULL, NULL), 0);
	patch = fake_take_patch(&f);
	REQUIRE(patch);
	apply_patch(inst, patch);
	json_decref(patch);
	fake_set(&f, "/1.0/instances/vm1?project=p1", json_incref(inst));
	fake_set(&f, "/1.0/profiles/mac?project=p1",
	         json_pack("{s:{s:s}}", "config", "raw.qemu.conf", "[machine]\n"));
	CHECK_INT(run_incus(bin, &f, "disable", NULL, NULL, &errs), 0);
	CHECK_CONTAINS(errs, "kept on the instance");
	patch = fake_take_patch(&f);
	REQUIRE(patch);
	CHECK_STR(patched(patch, "raw.qemu.conf"), prof_conf);
	json_decref(patch);
	free(errs);
	json_decref(inst);
	inst = json_deep_copy(before);

	/* a scriptlet from a profile that isn't qremap's: refused, named */
	json_object_set_new(json_object_get(inst, "expanded_config"), "raw.qemu.scriptlet",
	                    json_string("def qemu_hook(instance, stage):\n  pass\n"));
	fake_set(&f, "/1.0/instances/vm1?project=p1", json_incref(inst));
	fake_set(&f, "/1.0/profiles/mac?project=p1",
	         json_pack("{s:{s:s, s:s}}", "config", "raw.qemu.conf", prof_conf,
	                   "raw.qemu.scriptlet", "def qemu_hook(instance, stage):\n  pass\n"));
	CHECK_INT(run_incus(bin, &f, "enable", pname, NULL, &errs), 1);
	CHECK_CONTAINS(errs, "from Incus profile mac");
	CHECK_CONTAINS(errs, "Merge 'qremap incus scriptlet' into that profile's");
	free(errs);
	CHECK(!fake_take_patch(&f));

	/* a section of qremap's already there (pasted, or in a profile): refused,
	 * not duplicated, and not asked for again
	 */
	json_object_del(json_object_get(inst, "expanded_config"), "raw.qemu.scriptlet");
	json_object_set_new(json_object_get(inst, "expanded_config"), "raw.qemu.conf",
	                    json_string("[device \"qremap_ahci\"]\ndriver = \"ich9-ahci\"\n"));
	fake_set(&f, "/1.0/instances/vm1?project=p1", json_incref(inst));
	fake_set(&f, "/1.0/profiles/mac?project=p1",
	         json_pack("{s:{s:s}}", "config", "raw.qemu.conf",
	                   "[device \"qremap_ahci\"]\ndriver = \"ich9-ahci\"\n"));
	CHECK_INT(run_incus(bin, &f, "enable", pname, NULL, &errs), 1);
	CHECK_CONTAINS(errs, "already has section [device \"qremap_ahci\"]");
	CHECK_CONTAINS(errs, "from Incus profile mac");
	free(errs);
	CHECK(!fake_take_patch(&f));
	fake_stop(&f);
	/* --project reached every request */
	for (unsigned i = 0; i < f.n_req && i < FAKE_MAX_REQ; i++)
		CHECK_CONTAINS(f.req[i], "project=p1");
	json_decref(inst);
	json_decref(before);
	remove_test_profile(ppath, created);
	test_rmtree(dir);
}

TEST_MAIN(test_sizes, test_strip_added, test_instance_names, test_project_names, test_paths,
          test_state_file_name, test_macs, test_inventory_bad_mac, test_conf_values,
          test_fake_paths, test_fake_huge, test_fake_timeout, test_cmd_layer, test_host_disk_size,
          test_conf_scan, test_apparmor_rule, test_inventory_disks, test_profile_value,
          test_enable_profiles)
