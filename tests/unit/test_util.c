// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_util.c: UTF-8 hygiene (util.c) and log escaping
 * (log.c)
 *
 * Text from QEMU ends up in two places where it can do harm: status lines
 * posted back to QEMU (which refuses invalid UTF-8) and our log (where a
 * newline in a VM name would forge a line). The UTF-8 checks use jansson as
 * an independent judge of validity: it is what refuses the string on the
 * way to QEMU. The log checks capture stderr through a pipe.
 */

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qremap/log.h"
#include "qremap/util.h"
#include "testlib.h"

/**
 * json_ok() - whether jansson takes a string as JSON string content
 * @s:	NUL-terminated bytes
 *
 * Return: true if @s is valid UTF-8 by jansson's rules (QEMU's are the same)
 */
static bool json_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/**
 * trunc_copy() - utf8_truncate() on a copy, for table-driven checks
 * @s:		string
 * @max:	bound
 * @out:	the cut copy, at least strlen(@s) + 1 bytes
 *
 * Return: the length utf8_truncate() returned
 */
static size_t trunc_copy(const char *s, size_t max, char *out)
{
	strcpy(out, s);
	return utf8_truncate(out, max);
}

/* A cut that lands inside a 2-, 3- or 4-byte character moves back to its
 * start; one on a boundary, or beyond the end, changes nothing.
 */
static void test_utf8_truncate(void)
{
	static const struct {
		const char *s;
		size_t max;
		const char *want;
	} cases[] = {
	        {"a\xc3\xa9", 1, "a"},                 /* é: cut before it */
	        {"a\xc3\xa9", 2, "a"},                 /* inside it */
	        {"a\xc3\xa9", 3, "a\xc3\xa9"},         /* whole */
	        {"a\xe2\x82\xac", 2, "a"},             /* €, inside */
	        {"a\xe2\x82\xac", 3, "a"},             /* €, inside */
	        {"a\xe2\x82\xac", 4, "a\xe2\x82\xac"}, /* whole */
	        {"a\xf0\x9f\x98\x80", 2, "a"},         /* U+1F600, inside */
	        {"a\xf0\x9f\x98\x80", 3, "a"},         /* inside */
	        {"a\xf0\x9f\x98\x80", 4, "a"},         /* inside */
	        {"a\xf0\x9f\x98\x80", 5, "a\xf0\x9f\x98\x80"},
	        {"a\xf0\x9f\x98\x80z", 5, "a\xf0\x9f\x98\x80"}, /* on the boundary */
	        {"\xc3\xa9", 1, ""},                            /* nothing whole fits */
	        {"hello", 3, "hel"},
	        {"hello", 5, "hello"},
	        {"hello", 99, "hello"},
	        {"hello", 0, ""},
	        {"", 0, ""},
	        /* Not one character: nothing to keep whole, cut where asked */
	        {"\x80\x80\x80\x80\x80\x80", 5, "\x80\x80\x80\x80\x80"},
	};
	static const char mixed[] = "vm \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ok";
	char buf[64];
	size_t i, max;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = trunc_copy(cases[i].s, cases[i].max, buf);

		if (strcmp(buf, cases[i].want))
			fprintf(stderr, "  case %zu\n", i);
		CHECK_STR(buf, cases[i].want);
		CHECK_INT(n, strlen(cases[i].want));
	}

	/* Every cut of a valid string is valid, as long as it may be, and
	 * never longer than asked
	 */
	for (max = 0; max <= sizeof(mixed); max++) {
		size_t n = trunc_copy(mixed, max, buf);

		CHECK(n <= max);
		CHECK(json_ok(buf));
		CHECK(max >= sizeof(mixed) - 1 || n + 3 >= max);
		CHECK(!memcmp(buf, mixed, n));
	}
}

/* Bytes that are not part of well-formed UTF-8 become '?', one for one:
 * overlongs, surrogates, code points beyond U+10FFFF, cut and stray
 * sequences. So do control characters other than newline and tab. The
 * rest is left alone.
 */
static void test_utf8_sanitize(void)
{
	static const struct {
		const char *s;
		const char *want;
	} cases[] = {
	        {"ok\xff", "ok?"},
	        {"\xfe\xff", "??"},
	        {"\x80", "?"},                /* stray continuation */
	        {"\xc0\xaf", "??"},           /* overlong '/' */
	        {"\xc1\xbf", "??"},           /* overlong */
	        {"\xe0\x80\xaf", "???"},      /* overlong */
	        {"\xe0\x9f\xbf", "???"},      /* overlong U+07FF */
	        {"\xf0\x80\x80\xaf", "????"}, /* overlong */
	        {"\xf0\x8f\xbf\xbf", "????"}, /* overlong U+FFFF */
	        {"\xed\xa0\x80", "???"},      /* surrogate U+D800 */
	        {"\xed\xbf\xbf", "???"},      /* surrogate U+DFFF */
	        {"\xf4\x90\x80\x80", "????"}, /* U+110000 */
	        {"\xf5\x80\x80\x80", "????"}, /* lead beyond U+10FFFF */
	        {"a\xe2\x82", "a??"},         /* cut at the end */
	        {"\xe2\x82"
	         "a",
	         "??a"},                             /* cut before ASCII */
	        {"\xf0\x9f\x98", "???"},             /* 4-byte, cut */
	        {"\xc3\xa9\xa9", "\xc3\xa9?"},       /* one continuation too many */
	        {"line\r\nforged", "line?\nforged"}, /* CR goes, LF stays */
	        {"a\tb", "a\tb"},
	        {"\x1b[2Jx", "?[2Jx"}, /* terminal escape */
	        {"del\x7f", "del?"},
	        {"\x01\x1f", "??"},
	        {"nel\xc2\x85", "nel??"}, /* C1 control U+0085 */
	        {"\xc2\x9f", "??"},       /* last C1 */
	        {"\xc2\xa0", "\xc2\xa0"}, /* NBSP is text */
	        /* Valid, kept: é € U+1F600, the edges of the ranges */
	        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
	        {"\xc2\x80\xc2\xa1", "??\xc2\xa1"},
	        {"\xed\x9f\xbf", "\xed\x9f\xbf"},         /* U+D7FF */
	        {"\xee\x80\x80", "\xee\x80\x80"},         /* U+E000 */
	        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
	        {"\xe0\xa0\x80", "\xe0\xa0\x80"},         /* U+0800 */
	        {"\xf0\x90\x80\x80", "\xf0\x90\x80\x80"}, /* U+10000 */
	        {"", ""},
	};
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		strcpy(buf, cases[i].s);
		utf8_sanitize(buf);
		if (strcmp(buf, cases[i].want))
			fprintf(stderr, "  case %zu\n", i);
		CHECK_STR(buf, cases[i].want);
		CHECK(json_ok(buf));
	}
}

/**
 * has_control() - whether a valid UTF-8 string holds a control character
 *		   utf8_sanitize() replaces
 * @s:	string
 *
 * Return: true if it has one
 */
static bool has_control(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (; *u; u++) {
		if ((*u < 0x20 && *u != '\n' && *u != '\t') || *u == 0x7f)
			return true;
		if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] < 0xa0)
			return true;
	}
	return false;
}

/* Random bytes, heavy on the ones UTF-8 is made of, against jansson: the
 * result is always valid; a string jansson accepts and that has no control
 * characters is left exactly as it was; the length never changes.
 */
static void test_utf8_sanitize_vs_jansson(void)
{
	/* Lead bytes of every kind, continuation bytes at the range edges */
	static const unsigned char pool[] = {
	        'a',  'Z',  ' ',  '\n', '\t', '\r', 0x1b, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
	        0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee,
	        0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff, 0x85,
	};
	unsigned long long x = 0x9e3779b97f4a7c15ull;
	size_t round, kept = 0;

	for (round = 0; round < 200000; round++) {
		char s[12], orig[12];
		size_t len, i;
		bool valid;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		len = 1 + (size_t)((x >> 60) % 8);
		for (i = 0; i < len; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			s[i] = (char)pool[(x >> 33) % sizeof(pool)];
		}
		s[len] = '\0';
		memcpy(orig, s, len + 1);
		valid = json_ok(s) && !has_control(s);
		utf8_sanitize(s);
		if (!json_ok(s) || strlen(s) != len || (valid && strcmp(s, orig))) {
			fprintf(stderr, "  round %zu: ", round);
			for (i = 0; i < len; i++)
				fprintf(stderr, "%02x ", (unsigned char)orig[i]);
			fprintf(stderr, "\n");
			CHECK(false);
			break;
		}
		kept += valid;
	}
	/* The pool makes valid multi-byte strings too, not only garbage */
	CHECK(kept > 1000);
}

/**
 * struct capture - stderr redirected into a pipe
 * @saved:	the real stderr
 * @rd:		read end of the pipe
 */
struct capture {
	int saved;
	int rd;
};

/**
 * capture_start() - send stderr into a pipe
 * @cap:	filled in
 *
 * Return: true on success
 */
static bool capture_start(struct capture *cap)
{
	int p[2];

	fflush(stderr);
	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	cap->saved = dup(STDERR_FILENO);
	if (cap->saved < 0 || dup2(p[1], STDERR_FILENO) < 0) {
		close(p[0]);
		close(p[1]);
		return false;
	}
	close(p[1]);
	cap->rd = p[0];
	return true;
}

/**
 * capture_end() - restore stderr and return what was written to it
 * @cap:	from capture_start()
 * @out:	buffer for the text, NUL-terminated
 * @size:	its size
 *
 * The writer end is closed first, so reading ends at EOF; each read is
 * bounded by poll() all the same.
 *
 * Return: bytes captured
 */
static size_t capture_end(struct capture *cap, char *out, size_t size)
{
	size_t len = 0;

	fflush(stderr);
	dup2(cap->saved, STDERR_FILENO);
	close(cap->saved);
	for (;;) {
		struct pollfd pfd = {.fd = cap->rd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 5000) <= 0 || len + 1 >= size)
			break;
		n = read(cap->rd, out + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(cap->rd);
	out[len] = '\0';
	return len;
}

/**
 * count_char() - occurrences of a byte
 * @s:	string
 * @c:	byte
 *
 * Return: count
 */
static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* A name with CR LF can't start a line of its own: it comes out escaped, on
 * the one line of the message. Backslashes are doubled, so the escape
 * can't be forged; other controls, DEL, C1 and invalid bytes are escaped,
 * valid UTF-8 is not.
 */
static void test_log_escapes(void)
{
	static const struct {
		const char *arg;
		const char *want;
	} cases[] = {
	        {"a\r\nqremapd: forged", "qremapd: vm a\\x0d\\x0aqremapd: forged: up\n"},
	        {"a\\x0d\\x0aqremapd: forged", "qremapd: vm a\\\\x0d\\\\x0aqremapd: forged: up\n"},
	        {"t\tb", "qremapd: vm t\\x09b: up\n"},
	        {"\x1b[31mred\x7f", "qremapd: vm \\x1b[31mred\\x7f: up\n"},
	        {"bad\xff\xc0\xaf", "qremapd: vm bad\\xff\\xc0\\xaf: up\n"},
	        {"nel\xc2\x85", "qremapd: vm nel\\xc2\\x85: up\n"},
	        {"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	         "qremapd: vm \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80: up\n"},
	};
	enum log_level saved = log_get_level();
	struct capture cap;
	char out[1024];
	size_t i;

	log_set_level(LOG_LVL_INFO);
	log_set_prefix("qremapd");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		REQUIRE(capture_start(&cap));
		log_info("vm %s: up", cases[i].arg);
		capture_end(&cap, out, sizeof(out));
		CHECK_STR(out, cases[i].want);
		CHECK_INT(count_char(out, '\n'), 1);
	}

	/* The prefix and the level's tag go through the same door */
	log_set_prefix("q\nd");
	REQUIRE(capture_start(&cap));
	log_warn("x");
	log_debug("not at this level");
	capture_end(&cap, out, sizeof(out));
	CHECK_STR(out, "q\\x0ad: warning: x\n");

	log_set_prefix("qremap");
	log_set_level(saved);
}

/* A message beyond the format buffer, or whose escaped form is beyond the
 * line buffer, is cut at a whole character or escape and ends in "...":
 * still one line, never a half escape.
 */
static void test_log_long_lines(void)
{
	static char big[5000], ctl[3000], out[16384];
	enum log_level saved = log_get_level();
	struct capture cap;
	size_t len;

	memset(big, 'a', sizeof(big) - 1);
	memset(ctl, '\x01', sizeof(ctl) - 1);
	log_set_level(LOG_LVL_INFO);

	REQUIRE(capture_start(&cap));
	log_info("%s", big);
	len = capture_end(&cap, out, sizeof(out));
	CHECK_INT(count_char(out, '\n'), 1);
	CHECK(len < 2100);
	CHECK(str_has_prefix(out, "qremap: aaaa"));
	CHECK(str_has_suffix(out, "aaa...\n"));

	/* 2047 bytes formatted, each four when escaped: beyond 8 KiB */
	REQUIRE(capture_start(&cap));
	log_info("%s", ctl);
	len = capture_end(&cap, out, sizeof(out));
	CHECK_INT(count_char(out, '\n'), 1);
	CHECK(len <= 8192);
	CHECK(len > 8000);
	CHECK(str_has_suffix(out, "\\x01...\n"));

	log_set_level(saved);
}

TEST_MAIN(test_utf8_truncate, test_utf8_sanitize, test_utf8_sanitize_vs_jansson, test_log_escapes,
          test_log_long_lines)
