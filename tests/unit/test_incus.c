// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_incus.c: the Incus glue: size strings, removing
 * exactly what "qremap incus enable" appended, instance and project names,
 * escaped API paths, MACs and raw.qemu.conf values from Incus, and the REST
 * client against a fake Incus (a thread serving HTTP on a unix socket) that
 * records what reaches it: no request for a name Incus wouldn't have, every
 * name one escaped segment, a response over the cap refused, a silent
 * server given up on within the timeout.
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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
	CHECK_INT(incus_instance_inventory("/nonexistent", NULL, "vm1", inst, &inv, &err), -1);
	CHECK_CONTAINS(err.msg, "NIC eth0");
	CHECK_CONTAINS(err.msg, "six hex octets");
	CHECK(!strpbrk(err.msg, "\r\n"));
	inventory_free(&inv);
	/* a good one passes (no disks: no request is made) */
	json_object_set_new(json_object_get(inst, "expanded_config"), "volatile.eth0.hwaddr",
	                    json_string("10:66:6a:12:34:56"));
	CHECK_INT(incus_instance_inventory("/nonexistent", NULL, "vm1", inst, &inv, &err), 0);
	CHECK_INT(inv.n_nics, 1);
	if (inv.n_nics == 1)
		CHECK_STR(inv.nics[0].mac, "10:66:6a:12:34:56");
	inventory_free(&inv);
	/* and a bad name is refused before anything */
	CHECK_INT(incus_instance_inventory("/nonexistent", NULL, "../x", inst, &inv, &err), -1);
	inventory_free(&inv);
	CHECK_INT(incus_instance_inventory("/nonexistent", "a/b", "vm1", inst, &inv, &err), -1);
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
};

#define FAKE_MAX_REQ 8

struct fake {
	char dir[256];
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int wake[2];
	enum fake_mode mode;
	pthread_t thread;
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

/* Serve one connection as @f->mode says. */
static void fake_serve(struct fake *f, int fd)
{
	static const char ok_body[] =
	        "{\"type\":\"sync\",\"status_code\":200,\"metadata\":{\"status\":\"Stopped\","
	        "\"config\":{},\"expanded_config\":{},\"expanded_devices\":{}}}";
	char req[8192], hdr[512];
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
	if (f->n_req < FAKE_MAX_REQ)
		snprintf(f->req[f->n_req], sizeof(f->req[0]), "%.*s", (int)strcspn(req, "\r\n"),
		         req);
	f->n_req++;
	switch (f->mode) {
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
	/* only the three good status runs reached the fake Incus */
	CHECK_INT(f.n_req, 3);
	CHECK_STR(f.req[0], "GET /1.0/instances/vm1?project=p1 HTTP/1.1");
	CHECK_STR(f.req[1], "GET /1.0/instances/vm1?project=default HTTP/1.1");
}

TEST_MAIN(test_sizes, test_strip_added, test_instance_names, test_project_names, test_paths,
          test_state_file_name, test_macs, test_inventory_bad_mac, test_conf_values,
          test_fake_paths, test_fake_huge, test_fake_timeout, test_cmd_layer)
