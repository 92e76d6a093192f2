// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - incus.c: Incus REST API client and instance configuration reading
 * (see incus.h for what qremap writes and how it finds it again)
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <linux/fs.h>

#include "qremap/curl_lib.h"
#include "qremap/incus.h"
#include "qremap/names.h"

/* Incus's default size of a VM's root block volume (storage/drivers/volume.go) */
#define INCUS_DEFAULT_BLOCK_SIZE "10GiB"

/* The bound on a whole request, see incus_set_timeout_ms(); atomic because
 * qremapd's threads read it while the main thread may have set it
 */
static _Atomic long incus_timeout_ms = INCUS_TIMEOUT_MS_DEFAULT;

/**
 * incus_set_timeout_ms() - bound every later request to Incus
 * @ms:		milliseconds for a whole request (connect, send, answer), or
 *		0 or less for INCUS_TIMEOUT_MS_DEFAULT
 *
 * The default, 10 s, stays inside the pre-start scriptlet's budget (the
 * scriptlet polls for qremapd's answer for about 20 s), so qremapd asking
 * a hung Incus for a VM's profile still answers the scriptlet in time.
 * Connecting is bounded separately (INCUS_CONNECT_TIMEOUT_MS).
 */
void incus_set_timeout_ms(long ms)
{
	atomic_store(&incus_timeout_ms, ms > 0 ? ms : INCUS_TIMEOUT_MS_DEFAULT);
}

/**
 * unreserved() - whether a byte may stand unescaped in one of our paths
 * @c:		byte
 *
 * RFC 3986's unreserved characters less '.': with no '.' in any escaped
 * name, no segment can be "." or "..", which curl would squash and Incus
 * (whose router skips path cleaning) would not, and incus_request() can
 * refuse any path with ".." in it outright. Incus unescapes each segment
 * (url.PathUnescape() on every mux variable), so "%2E" reaches it as '.'.
 *
 * Return: true if @c needs no escaping
 */
static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '~';
}

/**
 * put_escaped() - append a percent-escaped string
 * @buf:	output
 * @len:	size of @buf
 * @o:		offset of the terminating NUL in @buf, advanced
 * @s:		string to escape (a path segment or the project)
 *
 * Return: 0 on success, -1 if it doesn't fit
 */
static int put_escaped(char *buf, size_t len, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t need = unreserved(*p) ? 1 : 3;

		if (*o + need >= len)
			return -1;
		if (need == 1) {
			buf[(*o)++] = (char)*p;
		} else {
			buf[(*o)++] = '%';
			buf[(*o)++] = hex[*p >> 4];
			buf[(*o)++] = hex[*p & 0xf];
		}
	}
	buf[*o] = '\0';
	return 0;
}

/**
 * put_raw() - append a string as it is
 * @buf:	output
 * @len:	size of @buf
 * @o:		offset of the terminating NUL in @buf, advanced
 * @s:		string
 *
 * Return: 0 on success, -1 if it doesn't fit
 */
static int put_raw(char *buf, size_t len, size_t *o, const char *s)
{
	size_t l = strlen(s);

	if (*o + l >= len)
		return -1;
	memcpy(buf + *o, s, l + 1);
	*o += l;
	return 0;
}

/**
 * query_ok() - whether extra query text is the plain "key=value&..." we write
 * @q:		query without the leading '&'
 *
 * Return: true if @q has only unreserved characters, '=' and '&', and doesn't
 *	   name the project again (which would make the request ambiguous)
 */
static bool query_ok(const char *q)
{
	if (!q[0] || strstr(q, "project="))
		return false;
	for (const unsigned char *p = (const unsigned char *)q; *p; p++)
		if (!unreserved(*p) && *p != '=' && *p != '&')
			return false;
	return true;
}

/**
 * incus_path() - the path of an Incus API request, every part escaped
 * @buf:	output
 * @len:	size of @buf
 * @project:	project the request is for, NULL for "default"
 * @query:	more query parameters ("recursion=1"), appended after '&' as
 *		they are (unreserved characters, '=' and '&' only), or NULL
 * @err:	error object
 * @...:	path segments after "/1.0", each a const char *, then NULL
 *
 * Produces "/1.0/SEG1/SEG2?project=PROJECT[&QUERY]". Each segment is one
 * segment whatever it holds: '/', '?', '&', '#', '%' and '.' are escaped.
 * Names should still be checked first (names.h): escaping keeps a bad name
 * from changing the request, checking says what is wrong with it.
 *
 * Return: 0 on success, -1 on failure (@buf then holds ""): the path
 *	   doesn't fit in @len, an empty segment or project, or a @query with
 *	   other characters or its own "project="
 */
int incus_path(char *buf, size_t len, const char *project, const char *query, struct qr_error *err,
               ...)
{
	const char *seg;
	size_t o = 0;
	va_list ap;
	int bad = 0;

	if (!len)
		return qr_err_set(err, QR_ERR_INVALID, "Incus API path: no room");
	buf[0] = '\0';
	if (!project)
		project = INCUS_DEFAULT_PROJECT;
	if (!project[0])
		return qr_err_set(err, QR_ERR_INVALID, "Incus API path: empty project");
	if (query && !query_ok(query))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "Incus API path: query '%s' is not plain key=value&... without "
		                  "project=",
		                  query);
	if (put_raw(buf, len, &o, "/1.0") < 0)
		goto too_long;
	va_start(ap, err);
	while ((seg = va_arg(ap, const char *))) {
		if (!seg[0]) {
			bad = 1;
			break;
		}
		if (put_raw(buf, len, &o, "/") < 0 || put_escaped(buf, len, &o, seg) < 0) {
			bad = 2;
			break;
		}
	}
	va_end(ap);
	if (bad == 1) {
		buf[0] = '\0';
		return qr_err_set(err, QR_ERR_INVALID, "Incus API path: empty segment");
	}
	if (bad == 2 || put_raw(buf, len, &o, "?project=") < 0 ||
	    put_escaped(buf, len, &o, project) < 0 ||
	    (query && (put_raw(buf, len, &o, "&") < 0 || put_raw(buf, len, &o, query) < 0)))
		goto too_long;
	return 0;
too_long:
	buf[0] = '\0';
	return qr_err_set(err, QR_ERR_INVALID, "Incus API path longer than %zu bytes", len - 1);
}

/**
 * escaped_run() - the length of a run of unreserved or %XX-escaped bytes
 * @s:		text
 *
 * Return: how many bytes at @s are unreserved characters or complete "%XX"
 *	   escapes
 */
static size_t escaped_run(const char *s)
{
	size_t i = 0;

	for (;;) {
		if (unreserved((unsigned char)s[i]))
			i++;
		else if (s[i] == '%' && isxdigit((unsigned char)s[i + 1]) &&
		         isxdigit((unsigned char)s[i + 2]))
			i += 3;
		else
			return i;
	}
}

/**
 * path_refused() - why incus_request() won't send a path, if it won't
 * @path:	the path
 *
 * The shape incus_path() produces, and nothing else: "/1.0", segments of
 * unreserved characters and %XX escapes, then "?project=" with a non-empty
 * escaped project, then optionally "&" and plain parameters. So no ".." and
 * no '.' segments (curl would resolve them, and a name like
 * "a/../../../1.0/certificates" would become another endpoint), no
 * unescaped '?', '#' or '&' from a name, no CR/LF for request smuggling, and
 * no request that silently falls back to whatever project Incus defaults to.
 *
 * Return: NULL if the path is acceptable, else the reason
 */
static const char *path_refused(const char *path)
{
	const char *p, *q;
	size_t n;

	if (!str_has_prefix(path, "/1.0") || (path[4] != '/' && path[4] != '?'))
		return "it doesn't start with \"/1.0/\" or \"/1.0?\"";
	if (strstr(path, ".."))
		return "it contains \"..\"";
	for (p = path + 4; *p == '/'; p += n) {
		p++;
		n = escaped_run(p);
		if (!n)
			return "it has an empty segment or one with unescaped characters";
	}
	if (!str_has_prefix(p, "?project="))
		return *p ? "it has unescaped characters in a segment" : "it names no project";
	p += strlen("?project=");
	n = escaped_run(p);
	if (!n)
		return "its project is empty or has unescaped characters";
	p += n;
	if (!*p)
		return NULL;
	if (*p != '&')
		return "its project has unescaped characters";
	for (q = p + 1; *q; q++)
		if (!unreserved((unsigned char)*q) && *q != '=' && *q != '&')
			return "its query has characters other than key=value&...";
	if (strstr(p, "project="))
		return "it names the project twice";
	return NULL;
}

/**
 * struct body - a response body read into memory, bounded
 * @data:	bytes read, NUL-terminated, or NULL
 * @len:	bytes in @data
 * @cap:	bytes allocated for @data
 * @too_big:	the response was longer than INCUS_RESPONSE_MAX
 */
struct body {
	char *data;
	size_t len;
	size_t cap;
	bool too_big;
};

/**
 * on_body() - libcurl's write callback: keep the body, up to the cap
 * @p:		bytes received
 * @size:	1 (libcurl's convention)
 * @n:		number of bytes
 * @opaque:	struct body
 *
 * The buffer doubles, so a large body costs O(n) copies, and never grows
 * past INCUS_RESPONSE_MAX + 1: past the cap the callback fails, libcurl
 * stops reading, and memory stays bounded whatever the peer sends.
 *
 * Return: @n if kept, 0 (libcurl aborts the transfer) if over the cap or out
 *	   of memory
 */
static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
	struct body *b = opaque;
	size_t add = size * n;

	if (add > INCUS_RESPONSE_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *nd;

		while (cap < b->len + add + 1)
			cap *= 2;
		if (cap > (size_t)INCUS_RESPONSE_MAX + 1)
			cap = (size_t)INCUS_RESPONSE_MAX + 1;
		nd = realloc(b->data, cap);
		if (!nd)
			return 0;
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/**
 * struct etag_buf - where on_header() puts the ETag
 * @buf:	caller's buffer, NULL not to keep it
 * @len:	size of @buf
 * @too_long:	the ETag didn't fit (the request then fails: a cut ETag
 *		would make the If-Match of the write that follows meaningless)
 */
struct etag_buf {
	char *buf;
	size_t len;
	bool too_long;
};

/**
 * on_header() - libcurl's header callback: keep the ETag
 * @p:		one header line, not NUL-terminated
 * @size:	1 (libcurl's convention)
 * @n:		length of the line
 * @opaque:	struct etag_buf
 *
 * Return: @n, or 0 (libcurl aborts the transfer) if the ETag doesn't fit
 */
static size_t on_header(char *p, size_t size, size_t n, void *opaque)
{
	struct etag_buf *e = opaque;
	size_t len = size * n;

	if (e->buf && len > 5 && !strncasecmp(p, "ETag:", 5)) {
		const char *v = p + 5, *end = p + len;
		size_t l;

		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		l = 0;
		while (v + l < end && v[l] != '\r' && v[l] != '\n')
			l++;
		if (l >= e->len) {
			e->too_long = true;
			return 0;
		}
		memcpy(e->buf, v, l);
		e->buf[l] = '\0';
	}
	return len;
}

/* A method qremap uses: anything else (or CR/LF in it) is refused. */
static bool method_ok(const char *m)
{
	static const char *const known[] = {"GET", "PUT", "PATCH", "POST", "DELETE"};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(m, known[i]))
			return true;
	return false;
}

/* An If-Match value: printable ASCII only, so it can't add header lines. */
static bool header_value_ok(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* Set a libcurl option; on failure fill @err and leave through "out". */
#define SETOPT(c, opt, val)                                                                        \
	do {                                                                                       \
		CURLcode rc_ = cl->easy_setopt(c, opt, val);                                       \
		if (rc_ != CURLE_OK) {                                                             \
			qr_err_set(err, QR_ERR_UNSUPPORTED, "Incus API: libcurl refused %s: %s",   \
			           #opt, cl->easy_strerror(rc_));                                  \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

/**
 * incus_request() - one REST call over Incus's unix socket
 * @socket:	path of Incus's socket
 * @method:	"GET", "PUT", "PATCH", "POST" or "DELETE"
 * @path:	from incus_path(): "/1.0/instances/NAME?project=P"; any other
 *		shape is refused before connecting (see path_refused())
 * @body:	JSON body, or NULL
 * @if_match:	ETag for If-Match, or NULL
 * @metadata:	the response's "metadata" (new reference), or NULL
 * @etag:	the response's ETag (INCUS_ETAG_MAX bytes suffice), or NULL
 * @etag_len:	size of @etag; an ETag that doesn't fit fails the request
 * @err:	error object: Incus's own error message on failure
 *
 * libcurl is held to what talking to Incus needs: HTTP only, also for
 * redirects, which aren't followed; no signals (qremapd is threaded, and
 * libcurl's SIGALRM-based resolver timeout is not thread-safe); a connect
 * bound of INCUS_CONNECT_TIMEOUT_MS and a total bound (incus_set_timeout_ms());
 * at most INCUS_RESPONSE_MAX bytes of response.
 *
 * Return: 0 on success, -1 on failure
 */
int incus_request(const char *socket, const char *method, const char *path, json_t *body,
                  const char *if_match, json_t **metadata, char *etag, size_t etag_len,
                  struct qr_error *err)
{
	struct etag_buf eb = {.buf = etag_len ? etag : NULL, .len = etag_len};
	_cleanup_free_ char *text = NULL, *url = NULL, *im = NULL;
	long code = 0, timeout = atomic_load(&incus_timeout_ms);
	struct curl_slist *hdr = NULL, *h;
	struct body b = {0};
	json_error_t jerr;
	const char *why;
	char shown[512];
	CURLcode rc;
	json_t *resp;
	const struct curl_lib *cl;
	CURL *c = NULL;
	int r = -1;

	if (etag && etag_len)
		etag[0] = '\0';
	if (!method_ok(method))
		return qr_err_set(err, QR_ERR_INVALID, "Incus API: refusing method '%s'",
		                  names_printable(shown, sizeof(shown), method));
	why = path_refused(path);
	if (why)
		return qr_err_set(err, QR_ERR_INVALID, "Incus API: refusing path '%s': %s",
		                  names_printable(shown, sizeof(shown), path), why);
	if (if_match && !header_value_ok(if_match))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "Incus API: refusing If-Match with control characters");
	if (asprintf(&url, "http://incus%s", path) < 0) {
		url = NULL;
		return qr_err_sys(err, ENOMEM, "Incus API request");
	}
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return qr_err_sys(err, ENOMEM, "Incus API request body");
	}
	cl = curl_lib(err);
	if (!cl)
		return -1;
	c = cl->easy_init();
	if (!c)
		return qr_err_set(err, QR_ERR_SYS, "curl_easy_init failed");
	SETOPT(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(c, CURLOPT_PROTOCOLS_STR, "http");
	SETOPT(c, CURLOPT_REDIR_PROTOCOLS_STR, "http");
#else
	SETOPT(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
	SETOPT(c, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	SETOPT(c, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(c, CURLOPT_UNIX_SOCKET_PATH, socket);
	SETOPT(c, CURLOPT_URL, url);
	SETOPT(c, CURLOPT_CUSTOMREQUEST, method);
	SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(c, CURLOPT_WRITEDATA, &b);
	SETOPT(c, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(c, CURLOPT_HEADERDATA, &eb);
	/* refused early when a Content-Length announces more than the cap;
	 * on_body() enforces it for bodies that don't say
	 */
	SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)INCUS_RESPONSE_MAX);
	SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, (long)INCUS_CONNECT_TIMEOUT_MS);
	SETOPT(c, CURLOPT_TIMEOUT_MS, timeout);
	if (text) {
		h = cl->slist_append(hdr, "Content-Type: application/json");
		if (!h)
			goto oom;
		hdr = h;
		SETOPT(c, CURLOPT_POSTFIELDS, text);
	}
	if (if_match && if_match[0]) {
		if (asprintf(&im, "If-Match: %s", if_match) < 0) {
			im = NULL;
			goto oom;
		}
		h = cl->slist_append(hdr, im);
		if (!h)
			goto oom;
		hdr = h;
	}
	if (hdr)
		SETOPT(c, CURLOPT_HTTPHEADER, hdr);
	rc = cl->easy_perform(c);
	cl->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		qr_err_set(err, QR_ERR_TIMEOUT,
		           "Incus API %s %s at %s: no answer within %ld ms (connecting: %d ms)",
		           method, path, socket, timeout, INCUS_CONNECT_TIMEOUT_MS);
		goto out;
	}
	if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && b.too_big)) {
		qr_err_set(err, QR_ERR_PROTOCOL, "Incus API %s %s: response larger than %u bytes",
		           method, path, INCUS_RESPONSE_MAX);
		goto out;
	}
	if (eb.too_long) {
		qr_err_set(err, QR_ERR_PROTOCOL,
		           "Incus API %s %s: ETag longer than %zu bytes, can't keep it for "
		           "If-Match",
		           method, path, etag_len ? etag_len - 1 : 0);
		goto out;
	}
	if (rc != CURLE_OK) {
		qr_err_set(err, QR_ERR_SYS, "Incus API at %s: %s", socket, cl->easy_strerror(rc));
		goto out;
	}
	resp = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	if (!json_is_object(resp)) {
		json_decref(resp);
		qr_err_set(err, QR_ERR_PROTOCOL, "Incus API %s %s: HTTP %ld, not a JSON object",
		           method, path, code);
		goto out;
	}
	/* 2xx only: a redirect isn't followed, and its body is no answer */
	if (code < 200 || code >= 300 ||
	    !strcmp(str_or(json_string_value(json_object_get(resp, "type")), ""), "error")) {
		/* Incus's message, with any control characters made visible */
		qr_err_set(err, QR_ERR_STATE, "Incus API %s %s: %s (HTTP %ld)", method, path,
		           names_printable(shown, sizeof(shown),
		                           str_or(json_string_value(json_object_get(resp, "error")),
		                                  "error")),
		           code);
		json_decref(resp);
		goto out;
	}
	if (metadata)
		*metadata = json_incref(json_object_get(resp, "metadata"));
	json_decref(resp);
	r = 0;
	goto out;
oom:
	qr_err_sys(err, ENOMEM, "Incus API request");
out:
	cl->slist_free_all(hdr);
	cl->easy_cleanup(c);
	free(b.data);
	if (r < 0 && etag && etag_len)
		etag[0] = '\0';
	return r;
}

/**
 * incus_state_file_name() - the name of qremapd's state file for a VM
 * @buf:	output
 * @len:	size of @buf
 * @project:	the VM's project, NULL for "default"
 * @name:	the VM's instance name
 * @err:	error object
 *
 * "NAME.json" in the default project, "PROJECT_NAME.json" in any other:
 * Incus's own naming of per-instance run directories and files
 * (internal/server/project/project.go, Instance()), unambiguous because
 * neither instance nor project names may contain '_'. Both names are
 * checked (names.h) first: the result is a single file name, never a path.
 *
 * Return: 0 on success, -1 on failure (@buf then holds "")
 */
int incus_state_file_name(char *buf, size_t len, const char *project, const char *name,
                          struct qr_error *err)
{
	int n;

	if (len)
		buf[0] = '\0';
	if (!project)
		project = INCUS_DEFAULT_PROJECT;
	if (names_check_instance(name, err) < 0 || names_check_project(project, err) < 0)
		return qr_err_prefix(err, "state file name");
	if (!strcmp(project, INCUS_DEFAULT_PROJECT))
		n = snprintf(buf, len, "%s.json", name);
	else
		n = snprintf(buf, len, "%s_%s.json", project, name);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return qr_err_set(err, QR_ERR_INVALID,
		                  "state file name of %s in project %s: longer than %zu bytes",
		                  name, project, len ? len - 1 : 0);
	}
	return 0;
}

/**
 * incus_mac_valid() - whether a MAC read from Incus is six hex octets
 * @mac:	text, such as "10:66:6a:12:34:56"
 *
 * volatile.DEV.hwaddr and hwaddr are instance configuration, which anyone
 * allowed to edit the instance controls; qremap writes the MAC into
 * raw.qemu.conf and QEMU arguments, so only this exact shape is taken.
 *
 * Return: true if @mac is "XX:XX:XX:XX:XX:XX" with hex digits (either case)
 */
bool incus_mac_valid(const char *mac)
{
	if (!mac || strlen(mac) != 17)
		return false;
	for (size_t i = 0; i < 17; i++) {
		unsigned char c = (unsigned char)mac[i];

		if (i % 3 == 2) {
			if (c != ':')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		             (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return true;
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

/**
 * volume_size() - the size of a storage volume: its own "size", else the pool's default
 * @socket:	Incus's socket
 * @project:	the instance's project
 * @pool:	storage pool
 * @type:	volume type ("virtual-machine", "custom")
 * @name:	volume name
 * @override:	the disk device's own "size", used if set
 * @size:	result, bytes
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int volume_size(const char *socket, const char *project, const char *pool, const char *type,
                       const char *name, const char *override, uint64_t *size, struct qr_error *err)
{
	json_t *md = NULL;
	char path[1024], shown[96];
	const char *s = override;

	if (!s || !s[0]) {
		if (incus_path(path, sizeof(path), project, NULL, err, "storage-pools", pool,
		               "volumes", type, name, NULL) < 0)
			return qr_err_prefix(err, "volume %s/%s", pool, name);
		if (incus_request(socket, "GET", path, NULL, NULL, &md, NULL, 0, err) < 0)
			return -1;
		s = json_string_value(json_object_get(json_object_get(md, "config"), "size"));
		if (!s || !s[0]) {
			json_decref(md);
			md = NULL;
			if (incus_path(path, sizeof(path), project, NULL, err, "storage-pools",
			               pool, NULL) < 0)
				return qr_err_prefix(err, "storage pool %s", pool);
			if (incus_request(socket, "GET", path, NULL, NULL, &md, NULL, 0, err) < 0)
				return -1;
			s = json_string_value(
			        json_object_get(json_object_get(md, "config"), "volume.size"));
		}
		if (!s || !s[0])
			s = INCUS_DEFAULT_BLOCK_SIZE;
	}
	if (incus_parse_size(s, size) < 0) {
		qr_err_set(err, QR_ERR_PARSE, "volume %s/%s: size '%s' is not a size", pool, name,
		           names_printable(shown, sizeof(shown), s));
		json_decref(md);
		return -1;
	}
	json_decref(md);
	return 0;
}

/**
 * struct dev_ent - a NIC or disk device, to be put in Incus's order
 * @name:	device name
 * @d:		its configuration (expanded_devices entry)
 * @nic:	a NIC (else a disk)
 * @nested:	a NIC with "nested" set
 * @path:	a disk's "path" ("" if unset)
 * @prio:	boot.priority as Incus reads it (see boot_prio())
 * @order:	position in Incus's device order (DevicesSortable)
 */
struct dev_ent {
	const char *name;
	json_t *d;
	bool nic;
	bool nested;
	const char *path;
	uint32_t prio;
	size_t order;
};

/* A string option of a device, "" if unset. */
static const char *dev_opt(json_t *d, const char *key)
{
	return str_or(json_string_value(json_object_get(d, key)), "");
}

/**
 * incus_order_cmp() - Incus's device order, for NICs and disks
 * @a:		struct dev_ent
 * @b:		struct dev_ent
 *
 * DevicesSortable.Less() (internal/server/device/config/devices_sort.go,
 * 6.0.4): NICs before every other type, non-nested NICs before nested ones;
 * disks in "path" order with the root disk ("/") first; otherwise by name.
 * Incus starts devices, and so hot-plugs disks, in this order, and numbers
 * boot indexes from it. Names are unique, so this is a total order and
 * qsort() gives the one order Go's sort.Sort() gives.
 *
 * Return: <0, 0 or >0 as for qsort()
 */
static int incus_order_cmp(const void *a, const void *b)
{
	const struct dev_ent *x = a, *y = b;

	if (x->nic != y->nic)
		return x->nic ? -1 : 1;
	if (x->nic && x->nested != y->nested)
		return x->nested ? 1 : -1;
	if (!x->nic && strcmp(x->path, y->path)) {
		if (!strcmp(x->path, "/"))
			return -1;
		if (!strcmp(y->path, "/"))
			return 1;
		return strcmp(x->path, y->path);
	}
	return strcmp(x->name, y->name);
}

/**
 * incus_boot_cmp() - Incus's boot order: higher boot.priority first
 * @a:		struct dev_ent
 * @b:		struct dev_ent
 *
 * deviceBootPriorities() (driver_qemu.go, 6.0.4) sorts the devices, in
 * their incus_order_cmp() order, stably by priority, highest first; equal
 * priorities keep that order, which @order holds.
 *
 * Return: <0, 0 or >0 as for qsort()
 */
static int incus_boot_cmp(const void *a, const void *b)
{
	const struct dev_ent *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio > y->prio ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/**
 * boot_prio() - a device's boot priority as Incus reads it
 * @e:		the device (name, configuration, kind)
 * @prio:	result
 * @err:	error object
 *
 * boot.priority if set (Incus validates it as a uint32), else 1 for the
 * root disk ("higher than any device without a boot prio") and 0 for the
 * rest (deviceBootPriorities(), driver_qemu.go).
 *
 * Return: 0 on success, -1 if boot.priority is not a number Incus accepts
 */
static int boot_prio(const struct dev_ent *e, uint32_t *prio, struct qr_error *err)
{
	const char *p = dev_opt(e->d, "boot.priority");
	unsigned long long v;
	char shown[64];

	if (!p[0]) {
		*prio = !e->nic && !strcmp(e->path, "/") ? 1 : 0;
		return 0;
	}
	if (parse_uint(p, UINT32_MAX, &v) < 0)
		return qr_err_set(err, QR_ERR_INVALID,
		                  "device %s: boot.priority '%s' is not a number from 0 to %u",
		                  e->name, names_printable(shown, sizeof(shown), p), UINT32_MAX);
	*prio = (uint32_t)v;
	return 0;
}

/**
 * raw_has_kernel() - whether raw.qemu passes -kernel
 * @raw:	raw.qemu
 *
 * Incus numbers boot indexes from 1 instead of 0 when the split raw.qemu
 * has a "-kernel" argument (generateQemuConfig(), driver_qemu.go). Incus
 * splits with shell quoting rules; here a word is taken whole between
 * blanks, with one pair of surrounding quotes removed, which agrees for
 * every raw.qemu that has "-kernel" as an argument of its own.
 *
 * Return: true if one argument is "-kernel"
 */
static bool raw_has_kernel(const char *raw)
{
	const char *p = raw;

	while (*p) {
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (n >= 2 && (p[0] == '"' || p[0] == '\'') && p[n - 1] == p[0]) {
			if (n - 2 == strlen("-kernel") && !strncmp(p + 1, "-kernel", n - 2))
				return true;
		} else if (n == strlen("-kernel") && !strncmp(p, "-kernel", n)) {
			return true;
		}
		p += n;
	}
	return false;
}

/**
 * incus_host_disk_size() - the size of a host file or block device Incus attaches
 * @path:	the disk device's "source"
 * @size:	result, bytes
 * @err:	error object: what the path is, if it isn't either
 *
 * Incus opens the source itself, following symlinks (O_PATH, then the
 * descriptor's /proc/self/fd path for QEMU: localSourceOpen() and
 * addDriveConfig()), and gives it to QEMU raw, with no format layer: the
 * guest sees the file's bytes, so its size is the disk's. enable runs as
 * root on a path anyone who may edit the instance chose, so nothing is
 * opened for reading that could block or act on open (a FIFO, a tape, a
 * tty): O_PATH first, fstat(), and only a block device is reopened, read-only
 * and non-blocking, through that descriptor (the same inode, whatever the
 * path now names), for BLKGETSIZE64.
 *
 * Return: 0 on success, -1 on failure (missing, or neither a regular file
 *	   nor a block device)
 */
int incus_host_disk_size(const char *path, uint64_t *size, struct qr_error *err)
{
	_cleanup_close_ int fd = -1, bfd = -1;
	char proc[64], shown[160];
	struct stat sb;

	names_printable(shown, sizeof(shown), path);
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return qr_err_sys(err, errno, "disk source %s", shown);
	if (S_ISREG(sb.st_mode)) {
		*size = (uint64_t)sb.st_size;
		return 0;
	}
	if (!S_ISBLK(sb.st_mode))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "disk source %s is neither a regular file nor a block device",
		                  shown);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	bfd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (bfd < 0 || ioctl(bfd, BLKGETSIZE64, size) < 0)
		return qr_err_sys(err, errno, "size of block device %s", shown);
	return 0;
}

/**
 * extra_note() - keep a note about a disk left as Incus hot-plugs it
 * @x:		where, or NULL
 * @fmt:	printf format
 */
static void extra_note(struct incus_extra *x, const char *fmt, ...) _printf_(2, 3);
static void extra_note(struct incus_extra *x, const char *fmt, ...)
{
	va_list ap;

	if (!x || x->n_notes >= ARRAY_SIZE(x->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(x->notes[x->n_notes++], sizeof(x->notes[0]), fmt, ap);
	va_end(ap);
}

/**
 * custom_volume() - a custom volume's size and content type
 * @socket:	Incus's socket
 * @project:	the instance's project (Incus maps it to the volume's)
 * @pool:	storage pool
 * @source:	the disk's "source": the volume name (what follows a '/' is
 *		a path inside it, which Incus ignores for block volumes)
 * @size:	result, bytes (block volumes)
 * @iso:	result: an ISO volume, which Incus attaches as a CD-ROM
 * @fs:		result: a filesystem volume, which Incus shares, not attaches
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int custom_volume(const char *socket, const char *project, const char *pool,
                         const char *source, uint64_t *size, bool *iso, bool *fs,
                         struct qr_error *err)
{
	char vol[256], path[1024];
	const char *ct;
	json_t *md = NULL;

	snprintf(vol, sizeof(vol), "%.*s", (int)strcspn(source, "/"), source);
	if (incus_path(path, sizeof(path), project, NULL, err, "storage-pools", pool, "volumes",
	               "custom", vol, NULL) < 0)
		return qr_err_prefix(err, "volume %s/%s", pool, vol);
	if (incus_request(socket, "GET", path, NULL, NULL, &md, NULL, 0, err) < 0)
		return -1;
	/* content_type: "block", "filesystem" or "iso" (api.StorageVolume) */
	ct = str_or(json_string_value(json_object_get(md, "content_type")), "");
	*iso = !strcmp(ct, "iso");
	*fs = !strcmp(ct, "filesystem");
	json_decref(md);
	if (*iso || *fs)
		return 0;
	return volume_size(socket, project, pool, "custom", vol, NULL, size, err);
}

/**
 * add_disk() - one disk device of the instance, in Incus's order
 * @socket:	Incus's socket
 * @project:	the instance's project
 * @name:	instance name
 * @e:		the device
 * @inv:	inventory, a disk appended if it is one Incus hot-plugs as a
 *		hard disk
 * @x:		extras (notes, recorded sizes), or NULL
 * @err:	error object
 *
 * Which disks Incus 6.0.4 hot-plugs, and how (disk.go startVM(),
 * driver_qemu.go addDriveConfig()): the root disk and custom block volumes
 * from their pool; a host file or block device ("source" an absolute path,
 * no pool) through an fd Incus opens and passes with add-fd, as node
 * "incus_NAME" with driver "file" or "host_device" on "/dev/fdset/N", raw,
 * as for the root disk; all under id "dev-incus_NAME" on virtio-scsi unless
 * io.bus says otherwise. qremap remaps the block node, whatever backs it.
 * As a CD-ROM (scsi-cd, FSType iso9660): a host source whose name ends in
 * ".iso", a custom volume of content type "iso", and the agent and
 * cloud-init config drives. A "path" other than "/" makes a shared
 * filesystem (9p / virtio-fs), no block device at all. What qremap leaves
 * alone gets a note, never silence.
 *
 * Return: 0 on success, -1 on failure
 */
static int add_disk(const char *socket, const char *project, const char *name,
                    const struct dev_ent *e, struct vm_inventory *inv, struct incus_extra *x,
                    struct qr_error *err)
{
	struct inv_disk *k = &inv->disks[inv->n_disks];
	const char *pool = dev_opt(e->d, "pool"), *source = dev_opt(e->d, "source");
	const char *bus = dev_opt(e->d, "io.bus");
	char shown[160];
	json_t *rec;

	names_printable(shown, sizeof(shown), source);
	if (!strcmp(e->path, "/")) {
		if (volume_size(socket, project, pool[0] ? pool : "default", "virtual-machine",
		                name, dev_opt(e->d, "size"), &k->size, err) < 0)
			return -1;
	} else if (e->path[0]) {
		extra_note(x,
		           "disk %s: a shared filesystem (path %.80s), which the guest mounts over "
		           "9p or virtio-fs, not a block device: left as it is",
		           e->name, e->path);
		return 0;
	} else if (str_has_prefix(source, "agent:") || str_has_prefix(source, "cloud-init:")) {
		extra_note(x, "disk %s: Incus attaches %s as a CD-ROM: left as it is", e->name,
		           shown);
		return 0;
	} else if (str_has_prefix(source, "ceph:") || str_has_prefix(source, "cephfs:")) {
		extra_note(x,
		           "disk %s: %.60s is Ceph, whose size qremap can't read: left as Incus "
		           "hot-plugs it (a guest without PCI hotplug won't see it)",
		           e->name, shown);
		return 0;
	} else if (pool[0] && source[0]) {
		bool iso = false, fs = false;

		if (custom_volume(socket, project, pool, source, &k->size, &iso, &fs, err) < 0)
			return -1;
		if (iso || fs) {
			extra_note(x, "disk %s: custom volume %.80s is %s: left as it is", e->name,
			           shown,
			           iso ? "an ISO, which Incus attaches as a CD-ROM"
			               : "a filesystem, which Incus shares rather than attaches");
			return 0;
		}
	} else if (source[0] == '/') {
		/* Incus's own test (disk.go startVM()): the name, before opening */
		if (str_has_suffix(source, ".iso")) {
			extra_note(x,
			           "disk %s: %s ends in .iso, so Incus attaches it as a CD-ROM: "
			           "left as it is",
			           e->name, shown);
			return 0;
		}
		if (incus_host_disk_size(source, &k->size, err) < 0)
			return qr_err_prefix(err, "disk %s", e->name);
	} else {
		extra_note(x, "disk %s: source '%s' is no kind qremap knows: left as it is",
		           e->name, shown);
		return 0;
	}
	snprintf(k->id, sizeof(k->id), "dev-incus_%s", e->name);
	/* addDriveConfig(): io.bus picks the device; virtio-scsi by default */
	snprintf(k->driver, sizeof(k->driver), "%s",
	         !strcmp(bus, "virtio-blk") ? "virtio-blk-pci"
	         : !strcmp(bus, "nvme")     ? "nvme"
	         : !strcmp(bus, "usb")      ? "usb-storage"
	                                    : "scsi-hd");
	k->incus = k->has_medium = true;
	k->fdset = -1;
	inv->n_disks++;
	if (x) {
		rec = json_pack("{s:I}", "size", (json_int_t)k->size);
		if (!rec ||
		    (source[0] == '/' &&
		     json_object_set_new(rec, "source", json_string(source)) < 0) ||
		    json_object_set_new(x->disks, e->name, rec) < 0)
			return qr_err_sys(err, ENOMEM, "instance inventory");
	}
	return 0;
}

/**
 * add_nic() - one NIC device of the instance
 * @e:		the device
 * @conf:	the instance's expanded config (for volatile.DEV.hwaddr)
 * @inv:	inventory, the NIC appended
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
static int add_nic(const struct dev_ent *e, json_t *conf, struct vm_inventory *inv,
                   struct qr_error *err)
{
	struct inv_nic *n = &inv->nics[inv->n_nics];
	char key[160], sdev[80], smac[80];
	const char *mac, *from = key;

	snprintf(key, sizeof(key), "volatile.%s.hwaddr", e->name);
	mac = json_string_value(json_object_get(conf, key));
	if (!mac) {
		mac = json_string_value(json_object_get(e->d, "hwaddr"));
		from = "hwaddr";
	}
	if (!mac)
		return qr_err_set(err, QR_ERR_STATE,
		                  "NIC %s has no MAC yet (%s): start the instance once, or set "
		                  "its hwaddr",
		                  e->name, key);
	if (!incus_mac_valid(mac))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "NIC %s: MAC '%s' (%s) is not six hex octets separated by colons",
		                  names_printable(sdev, sizeof(sdev), e->name),
		                  names_printable(smac, sizeof(smac), mac), from);
	snprintf(n->id, sizeof(n->id), "dev-incus_%s", e->name);
	snprintf(n->model, sizeof(n->model), "%s",
	         !strcmp(dev_opt(e->d, "io.bus"), "usb") ? "usb-net" : "virtio-net-pci");
	snprintf(n->mac, sizeof(n->mac), "%s", mac);
	n->incus = true;
	n->hub_id = -1;
	inv->n_nics++;
	return 0;
}

/**
 * incus_instance_inventory() - the devices Incus will hot-plug, as an inventory
 * @socket:	Incus's socket
 * @project:	the instance's project, NULL for "default"
 * @name:	instance name
 * @instance:	the instance (GET /1.0/instances/NAME metadata)
 * @inv:	result, with what "qremap config" needs: Incus's NICs (MACs) and
 *		block disks (sizes), and Incus's XHCI with its usb-redir ports;
 *		free with inventory_free(), also after a failure
 * @x:		result, or NULL: each disk's bootindex, sizes to record, notes
 *		on disks left alone; free with incus_extra_free(), also after a
 *		failure
 * @err:	error object
 *
 * The VM need not run: MACs come from volatile.DEV.hwaddr (Incus sets them at
 * the first start, or from hwaddr), sizes from the storage volumes and host
 * files (add_disk()). A MAC that isn't six hex octets is an error naming the
 * device: it goes into raw.qemu.conf as it is.
 *
 * Devices are listed in the order Incus starts them (incus_order_cmp()), so
 * the disks are in the order Incus hot-plugs them: the order QEMU's
 * query-block lists them in at pre-start, which the planner walks, giving
 * each disk the next free placeholder of its kind. Placeholders generated in
 * this order therefore each receive the disk they were sized for.
 *
 * Return: 0 on success, -1 on failure
 */
int incus_instance_inventory(const char *socket, const char *project, const char *name,
                             json_t *instance, struct vm_inventory *inv, struct incus_extra *x,
                             struct qr_error *err)
{
	json_t *devs = json_object_get(instance, "expanded_devices");
	json_t *conf = json_object_get(instance, "expanded_config");
	struct dev_ent *ents = NULL;
	size_t n = 0, base;
	int r = -1;
	const char *dev;
	json_t *d;

	memset(inv, 0, sizeof(*inv));
	if (x) {
		memset(x, 0, sizeof(*x));
		x->disks = json_object();
		if (!x->disks)
			return qr_err_sys(err, ENOMEM, "instance inventory");
	}
	if (!project)
		project = INCUS_DEFAULT_PROJECT;
	if (names_check_instance(name, err) < 0 || names_check_project(project, err) < 0)
		return -1;
	snprintf(inv->name, sizeof(inv->name), "%s", name);
	snprintf(inv->runstate, sizeof(inv->runstate), "%s",
	         str_or(json_string_value(json_object_get(instance, "status")), "?"));
	inv->ctrl = calloc(1, sizeof(*inv->ctrl));
	inv->nics = calloc(json_object_size(devs) + 1, sizeof(*inv->nics));
	inv->disks = calloc(json_object_size(devs) + 1, sizeof(*inv->disks));
	ents = calloc(json_object_size(devs) + 1, sizeof(*ents));
	if (!inv->ctrl || !inv->nics || !inv->disks || !ents ||
	    (x && !(x->bootindex = calloc(json_object_size(devs) + 1, sizeof(*x->bootindex))))) {
		qr_err_sys(err, ENOMEM, "instance inventory");
		goto out;
	}
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

	/* every NIC and disk: Incus numbers boot indexes over all of them */
	json_object_foreach(devs, dev, d)
	{
		const char *type = dev_opt(d, "type");

		if (strcmp(type, "nic") && strcmp(type, "disk"))
			continue;
		ents[n] = (struct dev_ent){.name = dev,
		                           .d = d,
		                           .nic = !strcmp(type, "nic"),
		                           .nested = dev_opt(d, "nested")[0] != '\0',
		                           .path = dev_opt(d, "path")};
		if (boot_prio(&ents[n], &ents[n].prio, err) < 0)
			goto out;
		n++;
	}
	qsort(ents, n, sizeof(*ents), incus_order_cmp);
	for (size_t i = 0; i < n; i++)
		ents[i].order = i;
	for (size_t i = 0; i < n; i++) {
		r = ents[i].nic ? add_nic(&ents[i], conf, inv, err)
		                : add_disk(socket, project, name, &ents[i], inv, x, err);

		if (r < 0)
			goto out;
	}
	r = 0;
	if (!x)
		goto out;
	/* bootindex = base + rank in the boot order (deviceBootPriorities()) */
	base = raw_has_kernel(str_or(json_string_value(json_object_get(conf, "raw.qemu")), ""));
	x->boot_end = (int)(base + n);
	qsort(ents, n, sizeof(*ents), incus_boot_cmp);
	for (size_t i = 0; i < inv->n_disks; i++)
		for (size_t k = 0; k < n; k++)
			if (!ents[k].nic &&
			    !strcmp(inv->disks[i].id + strlen("dev-incus_"), ents[k].name))
				x->bootindex[i] = (int)(base + k);
out:
	free(ents);
	return r;
}

/**
 * incus_extra_free() - release what incus_instance_inventory() put in extras
 * @x:		extras
 */
void incus_extra_free(struct incus_extra *x)
{
	free(x->bootindex);
	json_decref(x->disks);
	memset(x, 0, sizeof(*x));
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

/**
 * incus_profile_value() - what the instance's Incus profiles give a config key
 * @socket:	Incus's socket
 * @project:	the instance's project, NULL for "default" (Incus maps it to
 *		the project its profiles live in)
 * @instance:	the instance (its "profiles", in order)
 * @key:	config key, such as "raw.qemu.conf"
 * @value:	result (malloc'd): the value, "" if no profile sets it
 * @profile:	result: the profile it comes from, "" if none
 * @profile_len: size of @profile
 * @err:	error object
 *
 * Incus expands an instance's config by applying its profiles in order,
 * each overriding the ones before, then the instance's own config on top
 * (ExpandInstanceConfig(), internal/server/db/cluster/profiles.go). So the
 * last profile that sets @key is the one the instance inherits it from.
 * One GET /1.0/profiles/NAME per profile, in the instance's project.
 *
 * Return: 0 on success, -1 on failure
 */
int incus_profile_value(const char *socket, const char *project, json_t *instance, const char *key,
                        char **value, char *profile, size_t profile_len, struct qr_error *err)
{
	json_t *profiles = json_object_get(instance, "profiles"), *p;
	char *found = NULL;
	size_t i;

	*value = NULL;
	if (profile_len)
		profile[0] = '\0';
	json_array_foreach(profiles, i, p)
	{
		const char *pname = json_string_value(p), *v;
		char path[512];
		json_t *md = NULL;

		if (!pname)
			continue;
		if (incus_path(path, sizeof(path), project, NULL, err, "profiles", pname, NULL) <
		            0 ||
		    incus_request(socket, "GET", path, NULL, NULL, &md, NULL, 0, err) < 0) {
			free(found);
			return qr_err_prefix(err, "Incus profile %s", pname);
		}
		v = json_string_value(json_object_get(json_object_get(md, "config"), key));
		if (v && v[0]) {
			free(found);
			found = strdup(v);
			if (!found) {
				json_decref(md);
				return qr_err_sys(err, ENOMEM, "Incus profile %s", pname);
			}
			if (profile_len)
				snprintf(profile, profile_len, "%s", pname);
		}
		json_decref(md);
	}
	*value = found ? found : strdup("");
	if (!*value)
		return qr_err_sys(err, ENOMEM, "Incus profiles");
	return 0;
}

/**
 * incus_apparmor_rule() - the raw.apparmor line QEMU needs to dial qremapd
 * @buf:	output
 * @len:	size of @buf
 * @socket_path: qremapd's socket, absolute
 * @err:	error object
 *
 * Where Incus confines QEMU with AppArmor, its profile for the VM
 * (qemuProfileTpl, internal/server/apparmor/instance_qemu.profile.go, 6.0.4)
 * already allows every unix stream socket operation with no peer condition
 * ("unix (bind, listen, accept, send, receive, connect) type=stream," for
 * migration's NBD), but files only under the instance's own log, run,
 * instance and devices directories. Connecting to a socket that has a path
 * is also checked as file access to that path, read and write
 * (AppArmor's af_unix mediation, unix_fs_perm()), so the one rule missing is
 * "PATH rw,". raw.apparmor is pasted inside the profile's braces, one line
 * per line, indented (instanceProfile(), apparmor/instance.go): one line.
 *
 * AppArmor matches the path with symlinks resolved, so the socket's
 * directory is resolved if it exists. The path is written bare, so it must
 * be plain: letters, digits and "/._+-" only (no blanks, globs, '@{', ',').
 *
 * Return: 0 on success, -1 on failure (the path can't be written as a rule)
 */
int incus_apparmor_rule(char *buf, size_t len, const char *socket_path, struct qr_error *err)
{
	char dir[PATH_MAX], real[PATH_MAX], shown[160];
	const char *base = strrchr(socket_path, '/'), *path = socket_path;
	char full[PATH_MAX + NAME_MAX + 2];
	int n;

	if (len)
		buf[0] = '\0';
	names_printable(shown, sizeof(shown), socket_path);
	if (socket_path[0] != '/' || !base || !base[1])
		return qr_err_set(err, QR_ERR_INVALID,
		                  "qremapd socket %s: not an absolute path to a file", shown);
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - socket_path), socket_path);
	if (dir[0] && realpath(dir, real) && strcmp(real, dir)) {
		snprintf(full, sizeof(full), "%s%s", strcmp(real, "/") ? real : "", base);
		path = full;
	}
	for (const char *p = path; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._+-", *p))
			return qr_err_set(err, QR_ERR_INVALID,
			                  "qremapd socket %s: can't be written into an AppArmor "
			                  "rule as it is (only letters, digits and \"/._+-\")",
			                  names_printable(shown, sizeof(shown), path));
	n = snprintf(buf, len, "%s rw,", path);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return qr_err_set(err, QR_ERR_INVALID, "qremapd socket %s: AppArmor rule too long",
		                  shown);
	}
	return 0;
}

/**
 * incus_bootindex_floor() - the lowest bootindex no user setting mentions
 * @raw_qemu_conf: raw.qemu.conf as the instance has it
 * @raw_qemu:	raw.qemu as the instance has it
 *
 * QEMU refuses a second device with a bootindex already in use
 * (check_boot_index(): "The bootindex N has already been used"), so
 * qremap's placeholders must not take one that the user's own devices use.
 * Finds every "bootindex", then '=' with optional blanks and a quote, then
 * digits, in either text.
 *
 * Return: one more than the largest such number, 0 if none
 */
int incus_bootindex_floor(const char *raw_qemu_conf, const char *raw_qemu)
{
	const char *texts[] = {raw_qemu_conf, raw_qemu};
	long floor = 0;

	for (size_t t = 0; t < ARRAY_SIZE(texts); t++) {
		for (const char *p = texts[t]; p && (p = strstr(p, "bootindex"));) {
			long v;

			p += strlen("bootindex");
			p += strspn(p, " \t");
			if (*p != '=')
				continue;
			p++;
			p += strspn(p, " \t\"");
			if (!isdigit((unsigned char)*p))
				continue;
			errno = 0;
			v = strtol(p, NULL, 10);
			if (!errno && v < INT_MAX / 2 && v + 1 > floor)
				floor = v + 1;
		}
	}
	return (int)floor;
}

/**
 * incus_conf_has_section() - whether raw.qemu.conf text has a section header
 * @conf:	raw.qemu.conf text
 * @section:	section name as in its header, such as "device \"qremap_ahci\""
 *
 * Incus takes the text between '[' and ']', trimmed, as the section's name
 * (parseConfOverride(), driver_qemu_config_override.go); a second section of
 * a name qremap generates would change that section rather than add one.
 *
 * Return: true if a line holds "[" @section "]" (blanks around allowed)
 */
bool incus_conf_has_section(const char *conf, const char *section)
{
	size_t sl = strlen(section);

	for (const char *p = conf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *q = p + strspn(p, " \t"), *end;

		if (*q != '[')
			continue;
		q++;
		q += strspn(q, " \t");
		end = strchr(q, ']');
		if (!end || memchr(q, '\n', (size_t)(end - q)))
			continue;
		while (end > q && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - q) == sl && !strncmp(q, section, sl))
			return true;
	}
	return false;
}
