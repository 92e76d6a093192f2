// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/test_kext.c: the macOS kit against what QEMU presents
 *
 * The codeless kext (kext/) only works if its match keys equal the USB
 * descriptors QEMU's usb-net really has, and if the configuration it asks
 * Apple's CDC driver to select is the CDC-ECM one. Neither can be checked on
 * macOS here, so this test checks both ends it can see:
 *
 * - the generated Info.plist (both personalities: the CDC one and its
 *   AppleUSBHostMergeProperties fallback) and the OpenCore snippet are
 *   parsed with a small, strict XML-plist reader (only what plists use;
 *   anything else is an error, so a typo can't silently turn an <integer>
 *   into a <string>);
 * - the Linux test guest boots with a usb-net on QEMU's XHCI and reports the
 *   device and configuration descriptors it read from sysfs (QG USB /
 *   QG USBCFG lines, tests/guest/README.md); those are compared with the
 *   kext's keys, so a QEMU build that changes them fails the suite.
 *
 * The usb-net sits on a QEMU hub port with no other member: the guest gets a
 * NIC, but no frame can leave QEMU, so the test needs no network namespace
 * and no privileges beyond running QEMU.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define BOOT_TIMEOUT_S 240 /* TCG boot to "QG READY"; measured 12-13 s */
#define GUEST_MAC      "52:54:00:12:34:56"

/* ---- a strict XML property-list reader ------------------------------------ */

/**
 * enum pl_type - the plist value types this reader knows
 * @PL_DICT:	<dict>, keys in @pl_node.keys
 * @PL_ARRAY:	<array>
 * @PL_STRING:	<string>
 * @PL_INTEGER:	<integer>, decimal
 * @PL_BOOL:	<true/> or <false/>
 */
enum pl_type { PL_DICT, PL_ARRAY, PL_STRING, PL_INTEGER, PL_BOOL };

/**
 * struct pl_node - one parsed plist value
 * @type:	what it is
 * @str:	text of a string (entities decoded)
 * @num:	value of an integer
 * @flag:	value of a boolean
 * @keys:	dict keys, parallel to @kids
 * @kids:	dict values or array elements
 * @n:		number of @kids
 */
struct pl_node {
	enum pl_type type;
	char *str;
	long long num;
	bool flag;
	char **keys;
	struct pl_node **kids;
	size_t n;
};

/**
 * struct pl_parser - cursor over the document
 * @p:		next unread byte
 * @err:	first error, "" while none
 */
struct pl_parser {
	const char *p;
	char err[160];
};

static void pl_free(struct pl_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			free(n->keys[i]);
		pl_free(n->kids[i]);
	}
	free(n->keys);
	free(n->kids);
	free(n->str);
	free(n);
}

static void pl_fail(struct pl_parser *ps, const char *what)
{
	if (!ps->err[0])
		snprintf(ps->err, sizeof(ps->err), "%s at \"%.24s\"", what, ps->p);
}

static void pl_skip_ws(struct pl_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

/* Consume @lit if it comes next (after blanks); a plist has no other syntax. */
static bool pl_eat(struct pl_parser *ps, const char *lit)
{
	pl_skip_ws(ps);
	if (strncmp(ps->p, lit, strlen(lit)))
		return false;
	ps->p += strlen(lit);
	return true;
}

/**
 * pl_text() - character data up to the next '<', entities decoded
 * @ps:		parser
 *
 * Only &amp; &lt; &gt; are accepted: they are all Apple's writers emit in
 * the values plists hold, and a bare '&' or '>' in hand-written input is a
 * mistake worth catching.
 *
 * Return: malloc'd text, or NULL on error
 */
static char *pl_text(struct pl_parser *ps)
{
	size_t cap = strcspn(ps->p, "<") + 1, len = 0;
	char *out = malloc(cap);

	if (!out)
		abort();
	while (*ps->p && *ps->p != '<') {
		if (*ps->p == '&') {
			static const struct {
				const char *ent;
				char c;
			} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}};
			size_t i;

			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
				if (!strncmp(ps->p, ents[i].ent, strlen(ents[i].ent)))
					break;
			if (i == sizeof(ents) / sizeof(ents[0])) {
				pl_fail(ps, "unknown entity");
				free(out);
				return NULL;
			}
			out[len++] = ents[i].c;
			ps->p += strlen(ents[i].ent);
		} else if (*ps->p == '>') {
			pl_fail(ps, "bare '>' in text");
			free(out);
			return NULL;
		} else {
			out[len++] = *ps->p++;
		}
	}
	out[len] = '\0';
	return out;
}

/* "<tag>text</tag>" or "<tag/>" with the opening "<tag" already eaten. */
static char *pl_leaf_text(struct pl_parser *ps, const char *tag)
{
	char close[32];
	char *t;

	if (!strncmp(ps->p, "/>", 2)) {
		ps->p += 2;
		t = strdup("");
		if (!t)
			abort();
		return t;
	}
	if (*ps->p != '>') {
		pl_fail(ps, "attributes or junk in a value tag");
		return NULL;
	}
	ps->p++;
	t = pl_text(ps);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (t && strncmp(ps->p, close, strlen(close))) {
		pl_fail(ps, "expected closing tag");
		free(t);
		return NULL;
	}
	if (t)
		ps->p += strlen(close);
	return t;
}

static struct pl_node *pl_value(struct pl_parser *ps, int depth);

static struct pl_node *pl_new(enum pl_type t)
{
	struct pl_node *n = calloc(1, sizeof(*n));

	if (!n)
		abort();
	n->type = t;
	return n;
}

static void pl_push(struct pl_node *n, char *key, struct pl_node *kid)
{
	n->kids = realloc(n->kids, (n->n + 1) * sizeof(*n->kids));
	if (!n->kids)
		abort();
	if (n->type == PL_DICT) {
		n->keys = realloc(n->keys, (n->n + 1) * sizeof(*n->keys));
		if (!n->keys)
			abort();
		n->keys[n->n] = key;
	}
	n->kids[n->n++] = kid;
}

/* The body of a <dict> or <array>, after its opening tag, through its close. */
static struct pl_node *pl_container(struct pl_parser *ps, enum pl_type t, int depth)
{
	const char *close = t == PL_DICT ? "</dict>" : "</array>";
	struct pl_node *n = pl_new(t);

	while (!pl_eat(ps, close)) {
		char *key = NULL;
		struct pl_node *v;

		if (t == PL_DICT) {
			if (!pl_eat(ps, "<key")) {
				pl_fail(ps, "expected <key> or </dict>");
				goto bad;
			}
			key = pl_leaf_text(ps, "key");
			if (!key)
				goto bad;
			for (size_t i = 0; i < n->n; i++)
				if (!strcmp(n->keys[i], key)) {
					pl_fail(ps, "duplicate key");
					free(key);
					goto bad;
				}
		}
		v = pl_value(ps, depth + 1);
		if (!v) {
			free(key);
			goto bad;
		}
		pl_push(n, key, v);
	}
	return n;
bad:
	pl_free(n);
	return NULL;
}

/* A decimal integer, optional sign, nothing else: what CFPropertyList writes. */
static bool pl_parse_int(const char *s, long long *v)
{
	char *end;

	if (!*s || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return !errno && end != s && !*end && (s[0] != '-' || s[1]);
}

/**
 * pl_value() - parse one value element
 * @ps:		parser
 * @depth:	nesting depth, bounded so hostile input can't exhaust the stack
 *
 * Return: the value, or NULL with @ps->err set
 */
static struct pl_node *pl_value(struct pl_parser *ps, int depth)
{
	struct pl_node *n;
	char *t;

	if (depth > 32) {
		pl_fail(ps, "nesting too deep");
		return NULL;
	}
	if (pl_eat(ps, "<dict/>"))
		return pl_new(PL_DICT);
	if (pl_eat(ps, "<array/>"))
		return pl_new(PL_ARRAY);
	if (pl_eat(ps, "<dict>"))
		return pl_container(ps, PL_DICT, depth);
	if (pl_eat(ps, "<array>"))
		return pl_container(ps, PL_ARRAY, depth);
	if (pl_eat(ps, "<true/>")) {
		n = pl_new(PL_BOOL);
		n->flag = true;
		return n;
	}
	if (pl_eat(ps, "<false/>"))
		return pl_new(PL_BOOL);
	if (pl_eat(ps, "<string")) {
		t = pl_leaf_text(ps, "string");
		if (!t)
			return NULL;
		n = pl_new(PL_STRING);
		n->str = t;
		return n;
	}
	if (pl_eat(ps, "<integer")) {
		t = pl_leaf_text(ps, "integer");
		if (!t)
			return NULL;
		n = pl_new(PL_INTEGER);
		if (!pl_parse_int(t, &n->num)) {
			pl_fail(ps, "integer is not a decimal number");
			free(t);
			pl_free(n);
			return NULL;
		}
		free(t);
		return n;
	}
	pl_fail(ps, "unsupported or malformed element");
	return NULL;
}

/**
 * pl_parse() - parse a whole XML plist document
 * @doc:	NUL-terminated text
 * @err:	error message on failure
 * @errlen:	its size
 *
 * Accepts an optional XML declaration and the Apple plist DOCTYPE, then
 * exactly one <plist version="1.0"> holding one value. Comments, processing
 * instructions elsewhere and any unknown element are errors: kext
 * Info.plist files are read by the booter and may not contain comments.
 *
 * Return: the root value, or NULL
 */
static struct pl_node *pl_parse(const char *doc, char *err, size_t errlen)
{
	struct pl_parser ps = {.p = doc};
	struct pl_node *root = NULL;

	if (pl_eat(&ps, "<?xml ")) {
		const char *e = strstr(ps.p, "?>");

		if (!e) {
			pl_fail(&ps, "unterminated XML declaration");
			goto out;
		}
		ps.p = e + 2;
	}
	if (pl_eat(&ps, "<!DOCTYPE plist ")) {
		const char *e = strchr(ps.p, '>');

		if (!e) {
			pl_fail(&ps, "unterminated DOCTYPE");
			goto out;
		}
		ps.p = e + 1;
	}
	if (!pl_eat(&ps, "<plist version=\"1.0\">")) {
		pl_fail(&ps, "expected <plist version=\"1.0\">");
		goto out;
	}
	root = pl_value(&ps, 0);
	if (root && !pl_eat(&ps, "</plist>")) {
		pl_fail(&ps, "expected </plist> after the one top-level value");
		pl_free(root);
		root = NULL;
	}
	pl_skip_ws(&ps);
	if (root && *ps.p) {
		pl_fail(&ps, "trailing data");
		pl_free(root);
		root = NULL;
	}
out:
	snprintf(err, errlen, "%s", ps.err);
	return root;
}

/* The value of @key in dict @d, or NULL. */
static const struct pl_node *pl_get(const struct pl_node *d, const char *key)
{
	if (!d || d->type != PL_DICT)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->keys[i], key))
			return d->kids[i];
	return NULL;
}

/* A string value's text, or NULL when missing or not a <string>. */
static const char *pl_str(const struct pl_node *d, const char *key)
{
	const struct pl_node *v = pl_get(d, key);

	return v && v->type == PL_STRING ? v->str : NULL;
}

/* An <integer> value, or -1 (none of the checked keys may be negative). */
static long long pl_int(const struct pl_node *d, const char *key)
{
	const struct pl_node *v = pl_get(d, key);

	if (!v || v->type != PL_INTEGER) {
		fprintf(stderr, "key %s: missing or not an <integer>\n", key);
		return -1;
	}
	return v->num;
}

/* Read a whole file; NULL if it can't be (with a message unless @quiet). */
static char *slurp_quiet(const char *path, bool quiet)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	char chunk[4096];
	size_t n;

	if (!f) {
		if (!quiet)
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

static char *slurp_file(const char *path)
{
	return slurp_quiet(path, false);
}

static struct pl_node *parse_file(const char *path)
{
	char err[200];
	char *doc = slurp_file(path);
	struct pl_node *root;

	if (!doc)
		return NULL;
	root = pl_parse(doc, err, sizeof(err));
	if (!root)
		fprintf(stderr, "%s: %s\n", path, err);
	free(doc);
	return root;
}

static const char *kext_plist(void)
{
	return getenv("QREMAP_KEXT_PLIST") ? getenv("QREMAP_KEXT_PLIST") : QREMAP_KEXT_PLIST;
}

static const char *guest_dir(void)
{
	return getenv("QREMAP_GUEST_DIR") ? getenv("QREMAP_GUEST_DIR") : QREMAP_GUEST_DIR_DEFAULT;
}

/* The kext has exactly two personalities: the CDC one and its merge fallback. */
#define N_PERSONALITIES 2
#define IOCLASS_CDC     "AppleUSBCDCCompositeDevice"
#define IOCLASS_MERGE   "AppleUSBHostMergeProperties"

/**
 * personality() - the kext's personality whose IOClass is @ioclass
 * @root:	the Info.plist's top-level dict
 * @ioclass:	IOClass to look for
 *
 * Return: the personality dict, or NULL if the kext doesn't have exactly
 *	   N_PERSONALITIES personalities (all dicts) with one of that IOClass
 */
static const struct pl_node *personality(const struct pl_node *root, const char *ioclass)
{
	const struct pl_node *p = pl_get(root, "IOKitPersonalities"), *found = NULL;

	if (!p || p->type != PL_DICT || p->n != N_PERSONALITIES)
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		const char *c = pl_str(p->kids[i], "IOClass");

		if (p->kids[i]->type != PL_DICT)
			return NULL;
		if (c && !strcmp(c, ioclass)) {
			if (found)
				return NULL;
			found = p->kids[i];
		}
	}
	return found;
}

/* ---- tests ------------------------------------------------------------- */

/*
 * The reader must refuse what a plist must not contain, or the other tests
 * would pass on files macOS rejects.
 */
static void test_reader_is_strict(void)
{
	static const char *const bad[] = {
	        "<plist version=\"1.0\"><dict><key>a</key><integer>1x</integer></dict></plist>",
	        "<plist version=\"1.0\"><dict><key>a</key><integer></integer></dict></plist>",
	        "<plist version=\"1.0\"><dict><key>a</key><string>1</string><key>a</key>"
	        "<string>2</string></dict></plist>",
	        "<plist version=\"1.0\"><dict><key>a</key></dict></plist>",
	        "<plist version=\"1.0\"><dict><!-- c --></dict></plist>",
	        "<plist version=\"1.0\"><dict><key>a</key><string>x &quot;</string></dict></plist>",
	        "<plist version=\"1.0\"><dict><key>a</key><string>x</strin></dict></plist>",
	        "<plist version=\"1.0\"><dict><key>a</key><real>1.0</real></dict></plist>",
	        "<plist version=\"1.0\"><dict></dict><dict></dict></plist>",
	        "<plist version=\"1.0\"><dict></dict></plist> junk",
	        "<plist><dict></dict></plist>",
	        "<plist version=\"1.0\"><dict><key>a</key><true></true></dict></plist>",
	};
	static const char good[] =
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	        "<plist version=\"1.0\">\n<dict>\n\t<key>s</key>\n\t<string>a &amp; "
	        "&lt;b&gt;</string>\n"
	        "\t<key>e</key>\n\t<string/>\n\t<key>i</key>\n\t<integer>-42</integer>\n"
	        "\t<key>t</key>\n\t<true/>\n\t<key>f</key>\n\t<false/>\n"
	        "\t<key>a</key>\n\t<array>\n\t\t<integer>7</integer>\n\t</array>\n</dict>\n</"
	        "plist>\n";
	char err[200];
	struct pl_node *n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = pl_parse(bad[i], err, sizeof(err));
		if (n)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK(n == NULL);
		pl_free(n);
	}
	n = pl_parse(good, err, sizeof(err));
	if (!n)
		fprintf(stderr, "rejected the good document: %s\n", err);
	REQUIRE(n != NULL);
	CHECK_STR(pl_str(n, "s"), "a & <b>");
	CHECK_STR(pl_str(n, "e"), "");
	CHECK_INT(pl_get(n, "i")->num, -42);
	CHECK(pl_get(n, "t")->type == PL_BOOL && pl_get(n, "t")->flag);
	CHECK(pl_get(n, "f")->type == PL_BOOL && !pl_get(n, "f")->flag);
	CHECK(pl_get(n, "a")->type == PL_ARRAY && pl_get(n, "a")->n == 1);
	pl_free(n);
}

/*
 * The generated Info.plist: a codeless kext whose one personality hands
 * QEMU's usb-net to Apple's CDC composite driver, configuration 1.
 * Why each key is there (or absent): kext/README.md.
 */
static void test_info_plist(void)
{
	struct pl_node *root = parse_file(kext_plist());
	const struct pl_node *pers, *v;
	char contents[512], *slash;
	struct stat st;
	static const char *const required[] = {"Root", "Local-Root", "Network-Root", "Console",
	                                       "Safe Boot"};
	bool req_ok = false;

	REQUIRE(root != NULL);
	REQUIRE(root->type == PL_DICT);
	CHECK_STR(pl_str(root, "CFBundlePackageType"), "KEXT");
	CHECK_STR(pl_str(root, "CFBundleInfoDictionaryVersion"), "6.0");
	CHECK(pl_str(root, "CFBundleIdentifier") != NULL);
	CHECK(pl_str(root, "CFBundleName") != NULL);
	/* kext versions: up to three dot-separated numbers (KEXTConcept) */
	v = pl_get(root, "CFBundleVersion");
	CHECK(v && v->type == PL_STRING && v->str[0] >= '0' && v->str[0] <= '9' &&
	      strspn(v->str, "0123456789.") == strlen(v->str));
	/* codeless: no executable, nothing to link against */
	CHECK(pl_get(root, "CFBundleExecutable") == NULL);
	CHECK(pl_get(root, "OSBundleLibraries") == NULL);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (pl_str(root, "OSBundleRequired") &&
		    !strcmp(pl_str(root, "OSBundleRequired"), required[i]))
			req_ok = true;
	CHECK(req_ok);

	pers = personality(root, IOCLASS_CDC);
	REQUIRE(pers != NULL);
	CHECK_STR(pl_str(pers, "IOProviderClass"), "IOUSBHostDevice");
	CHECK_STR(pl_str(pers, "IOClass"), IOCLASS_CDC);
	CHECK_STR(pl_str(pers, "CFBundleIdentifier"), "com.apple.driver.usb.cdc");
	CHECK_INT(pl_int(pers, "idVendor"), 1317);
	CHECK_INT(pl_int(pers, "idProduct"), 42146);
	CHECK_INT(pl_int(pers, "bcdDevice"), 0);
	CHECK_INT(pl_int(pers, "kUSBPreferredConfiguration"), 1);
	/* the CDC driver competes in the default match category, where the
	 * vendor+product+release match beats Apple's class-based personalities
	 */
	CHECK(pl_get(pers, "IOMatchCategory") == NULL);
	/* Apple QA1076: never set IOProbeScore on a USB personality; the
	 * family scores idVendor+idProduct+bcdDevice above any class match.
	 */
	CHECK(pl_get(pers, "IOProbeScore") == NULL);
	CHECK(pl_get(root, "IOProbeScore") == NULL);

	/* The fallback: Apple's property-merging driver puts the preferred
	 * configuration on the IOUSBHostDevice itself. Same device, same
	 * match keys; a match category of its own, so it never displaces the
	 * CDC driver (xnu IOService.h: one started driver per category).
	 */
	{
		const struct pl_node *m = personality(root, IOCLASS_MERGE), *mp;
		const char *cat;

		REQUIRE(m != NULL);
		CHECK_STR(pl_str(m, "CFBundleIdentifier"),
		          "com.apple.driver.AppleUSBHostMergeProperties");
		CHECK_STR(pl_str(m, "IOProviderClass"), "IOUSBHostDevice");
		CHECK_INT(pl_int(m, "idVendor"), pl_int(pers, "idVendor"));
		CHECK_INT(pl_int(m, "idProduct"), pl_int(pers, "idProduct"));
		CHECK_INT(pl_int(m, "bcdDevice"), pl_int(pers, "bcdDevice"));
		cat = pl_str(m, "IOMatchCategory");
		CHECK(cat && cat[0] && strcmp(cat, "IODefaultMatchCategory"));
		CHECK(pl_get(m, "IOProbeScore") == NULL);
		/* the key is merged into the device, not read from this dict */
		CHECK(pl_get(m, "kUSBPreferredConfiguration") == NULL);
		mp = pl_get(m, "IOProviderMergeProperties");
		REQUIRE(mp != NULL && mp->type == PL_DICT);
		CHECK_INT((long long)mp->n, 1);
		CHECK_INT(pl_int(mp, "kUSBPreferredConfiguration"),
		          pl_int(pers, "kUSBPreferredConfiguration"));
	}

	/* The bundle is Contents/Info.plist and nothing else. */
	snprintf(contents, sizeof(contents), "%s", kext_plist());
	slash = strrchr(contents, '/');
	REQUIRE(slash != NULL);
	*slash = '\0';
	CHECK(stat(contents, &st) == 0 && S_ISDIR(st.st_mode));
	{
		char p[600];

		snprintf(p, sizeof(p), "%s/MacOS", contents);
		CHECK(access(p, F_OK) != 0);
	}
	pl_free(root);
}

/* The OpenCore Kernel -> Add entry points at that bundle, codeless. */
static void test_opencore_snippet(void)
{
	struct pl_node *root = parse_file(QREMAP_SOURCE_DIR "/kext/opencore-kernel-add.plist");
	const struct pl_node *en;
	const char *mk, *bp;
	unsigned a, b, c;
	char bundle[512], tail[64];

	REQUIRE(root != NULL);
	REQUIRE(root->type == PL_DICT);
	CHECK_STR(pl_str(root, "Arch"), "Any");
	CHECK_STR(pl_str(root, "BundlePath"), "QRemapUSBNet.kext");
	CHECK(pl_str(root, "Comment") != NULL);
	en = pl_get(root, "Enabled");
	CHECK(en && en->type == PL_BOOL && en->flag);
	CHECK_STR(pl_str(root, "ExecutablePath"), "");
	CHECK_STR(pl_str(root, "MaxKernel"), "");
	CHECK_STR(pl_str(root, "PlistPath"), "Contents/Info.plist");
	/* Darwin 15 = OS X 10.11, the first with IOUSBHostDevice */
	mk = pl_str(root, "MinKernel");
	CHECK(mk && sscanf(mk, "%u.%u.%u", &a, &b, &c) == 3);
	CHECK_STR(mk, "15.0.0");

	/* BundlePath + PlistPath must name the file the build produced. */
	bp = pl_str(root, "BundlePath");
	snprintf(tail, sizeof(tail), "/%s/%s", bp ? bp : "?",
	         pl_str(root, "PlistPath") ? pl_str(root, "PlistPath") : "?");
	snprintf(bundle, sizeof(bundle), "%s", kext_plist());
	CHECK(strlen(bundle) > strlen(tail) &&
	      !strcmp(bundle + strlen(bundle) - strlen(tail), tail));
	pl_free(root);
}

/* ---- the booted guest ------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * struct guest - one QEMU running the test guest
 * @dir:	scratch directory (removed at the end)
 * @serial:	console file the guest writes QG lines to
 * @pid:	QEMU's PID (the 10.0 wrapper execs, so it is QEMU's own)
 */
struct guest {
	char dir[256];
	char serial[300];
	pid_t pid;
};

/* Stop QEMU by the PID we started (TERM, then KILL), remove the scratch dir. */
static void guest_end(struct guest *g)
{
	if (g->pid > 0) {
		long long deadline = now_ms() + 5000;
		int status;

		kill(g->pid, SIGTERM);
		while (waitpid(g->pid, &status, WNOHANG) == 0) {
			if (now_ms() >= deadline) {
				kill(g->pid, SIGKILL);
				waitpid(g->pid, &status, 0);
				break;
			}
			/* waiting for a child to exit: no fd to poll on */
			poll(NULL, 0, 50);
		}
		g->pid = 0;
	}
	if (g->dir[0])
		test_rmtree(g->dir);
	g->dir[0] = '\0';
}

/**
 * guest_start() - boot the test guest with one usb-net on a hub port
 * @g:		result
 * @qemu:	QEMU binary
 *
 * -nodefaults gives no NIC; the usb-net's only peer is hub port "h" of a
 * hub with no other port, so the guest's frames go nowhere (the test needs
 * only the descriptors). A 1 MiB null disk on q35's AHCI is there because
 * the guest's init stops at its block-device report when /sys/block is
 * empty. panic=-1 with -no-reboot turns a guest panic into a QEMU exit the
 * test sees at once; qremap.poweroff_after makes a leaked guest power itself
 * off even if this process dies before guest_end().
 *
 * Return: true if QEMU started
 */
static bool guest_start(struct guest *g, const char *qemu)
{
	char kernel[300], initrd[300], pidfile[300], qout[300], serial_arg[320];
	/* one option and its value per line */
	/* clang-format off */
	const char *argv[] = {
		qemu,
		"-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "512",
		"-nographic", "-nodefaults", "-no-reboot",
		"-serial", serial_arg,
		"-pidfile", pidfile,
		"-kernel", kernel,
		"-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 qremap.poweroff_after=900",
		"-nic", "none",
		"-blockdev", "driver=null-co,node-name=d0,size=1048576,read-zeroes=on",
		"-device", "ide-hd,drive=d0,bus=ide.0",
		"-device", "qemu-xhci,id=xhci",
		"-netdev", "hubport,id=h,hubid=0",
		"-device", "usb-net,netdev=h,bus=xhci.0,mac=" GUEST_MAC,
		NULL,
	};
	/* clang-format on */
	int fd;

	snprintf(g->dir, sizeof(g->dir), "%s", test_tmpdir("kext"));
	snprintf(g->serial, sizeof(g->serial), "%s/console.log", g->dir);
	snprintf(serial_arg, sizeof(serial_arg), "file:%s", g->serial);
	snprintf(pidfile, sizeof(pidfile), "%s/qemu.pid", g->dir);
	snprintf(qout, sizeof(qout), "%s/qemu.out", g->dir);
	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", guest_dir());
	snprintf(initrd, sizeof(initrd), "%s/initrd.img", guest_dir());

	fd = open(qout, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	g->pid = fork();
	if (g->pid < 0) {
		close(fd);
		g->pid = 0;
		return false;
	}
	if (g->pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(qemu, (char *const *)argv);
		_exit(127);
	}
	close(fd);
	return true;
}

/**
 * guest_wait_ready() - poll the console, bounded, until "QG READY"
 * @g:		guest
 * @timeout_s:	upper bound
 *
 * Return: the console text (malloc'd, \r removed), or NULL on timeout or
 * if QEMU exited first (its output is printed)
 */
static char *guest_wait_ready(struct guest *g, int timeout_s)
{
	long long deadline = now_ms() + (long long)timeout_s * 1000;
	int status;

	for (;;) {
		/* QEMU creates the file a moment after fork(): absent is normal */
		char *buf = slurp_quiet(g->serial, true), *r, *w;

		if (buf) {
			for (r = w = buf; *r; r++)
				if (*r != '\r')
					*w++ = *r;
			*w = '\0';
			if (strstr(buf, "\nQG READY") || !strncmp(buf, "QG READY", 8))
				return buf;
		}
		if (waitpid(g->pid, &status, WNOHANG) == g->pid) {
			char qout[300], *o;

			g->pid = 0;
			snprintf(qout, sizeof(qout), "%s/qemu.out", g->dir);
			o = slurp_file(qout);
			fprintf(stderr, "QEMU exited before QG READY:\n%s\nconsole:\n%s\n",
			        o ? o : "", buf ? buf : "");
			free(o);
			free(buf);
			return NULL;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "no QG READY in %d s; console:\n%s\n", timeout_s,
			        buf ? buf : "");
			free(buf);
			return NULL;
		}
		free(buf);
		/* polling a file the guest appends to: there is no event */
		poll(NULL, 0, 200);
	}
}

/* Copy field @key's value ("key=value", space-delimited) from @line into @out. */
static bool field(const char *line, const char *key, char *out, size_t len)
{
	char k[48];
	const char *f, *eol = strchr(line, '\n');

	snprintf(k, sizeof(k), " %s=", key);
	f = strstr(line, k);
	if (!f || (eol && f > eol))
		return false;
	f += strlen(k);
	snprintf(out, len, "%.*s", (int)strcspn(f, " \n"), f);
	return true;
}

/* A hex descriptor field as sysfs prints it (idVendor=0525): its value. */
static long long hex_field(const char *line, const char *key)
{
	char v[32], *end;
	long long n;

	if (!field(line, key, v, sizeof(v)) || !v[0])
		return -1;
	n = strtoll(v, &end, 16);
	return *end ? -1 : n;
}

/*
 * The descriptors QEMU's usb-net presents, as the booted guest reads them,
 * against the kext's match keys and preferred configuration.
 */
static void test_guest_descriptors(void)
{
	const char *qemu = getenv("QREMAP_QEMU");
	struct pl_node *root;
	const struct pl_node *pers, *merge;
	struct guest g = {0};
	char *console = NULL, path[32], cfgkey[64], classes[256], nconf[16];
	const char *usb = NULL, *l, *ecm = NULL;
	long long want_cfg;
	unsigned n_usb = 0, n_cfg = 0;
	char k[300], i[300];

	snprintf(k, sizeof(k), "%s/vmlinuz", guest_dir());
	snprintf(i, sizeof(i), "%s/initrd.img", guest_dir());
	if (!qemu || access(qemu, X_OK))
		SKIP("no QEMU (QREMAP_QEMU)");
	if (access(k, R_OK) || access(i, R_OK))
		SKIP("no test guest in %s (tests/guest/build-guest.sh)", guest_dir());

	root = parse_file(kext_plist());
	REQUIRE(root != NULL);
	pers = personality(root, IOCLASS_CDC);
	merge = personality(root, IOCLASS_MERGE);
	if (!pers || !merge)
		pl_free(root);
	REQUIRE(pers != NULL && merge != NULL);

	if (!guest_start(&g, qemu)) {
		fprintf(stderr, "could not start %s: %s\n", qemu, strerror(errno));
		guest_end(&g);
		pl_free(root);
		REQUIRE(false);
	}
	console = guest_wait_ready(&g, BOOT_TIMEOUT_S);
	if (console && g.pid > 0) {
		/* QEMU wrote its pidfile long before the guest got this far */
		char pf[300], *pid_text;

		snprintf(pf, sizeof(pf), "%s/qemu.pid", g.dir);
		pid_text = slurp_file(pf);
		CHECK(pid_text && atol(pid_text) == (long)g.pid);
		free(pid_text);
	}
	guest_end(&g);
	if (!console) {
		pl_free(root);
		REQUIRE(console != NULL);
	}

	/* Exactly one USB device: the usb-net (root hubs aren't reported). */
	for (l = console; (l = strstr(l, "QG USB ")); l++)
		if (l == console || l[-1] == '\n') {
			usb = l;
			n_usb++;
		}
	CHECK_INT(n_usb, 1);
	if (n_usb != 1 || !field(usb, "path", path, sizeof(path))) {
		fprintf(stderr, "console:\n%s\n", console);
		free(console);
		pl_free(root);
		REQUIRE(false);
	}
	printf("guest: %.*s\n", (int)strcspn(usb, "\n"), usb);

	/* The match keys: IOKit compares them as numbers with the descriptor. */
	CHECK_INT(hex_field(usb, "idVendor"), pl_int(pers, "idVendor"));
	CHECK_INT(hex_field(usb, "idProduct"), pl_int(pers, "idProduct"));
	CHECK_INT(hex_field(usb, "bcdDevice"), pl_int(pers, "bcdDevice"));
	/* and the fallback's, which must match the same device */
	CHECK_INT(hex_field(usb, "idVendor"), pl_int(merge, "idVendor"));
	CHECK_INT(hex_field(usb, "idProduct"), pl_int(merge, "idProduct"));
	CHECK_INT(hex_field(usb, "bcdDevice"), pl_int(merge, "bcdDevice"));

	/* The configuration the kext asks for exists and is CDC-ECM (02.06)
	 * with its CDC-data interface (0a): what AppleUSBCDCCompositeDevice
	 * can drive. RNDIS (02.02.ff) is not.
	 */
	want_cfg = pl_int(pers, "kUSBPreferredConfiguration");
	snprintf(cfgkey, sizeof(cfgkey), "QG USBCFG path=%s config=", path);
	for (l = console; (l = strstr(l, cfgkey)); l++) {
		char val[16];

		if (l != console && l[-1] != '\n')
			continue;
		n_cfg++;
		printf("guest: %.*s\n", (int)strcspn(l, "\n"), l);
		if (field(l, "config", val, sizeof(val)) && atoll(val) == want_cfg)
			ecm = l;
	}
	CHECK(field(usb, "bNumConfigurations", nconf, sizeof(nconf)) && atoi(nconf) >= 1);
	CHECK_INT(n_cfg, atoi(nconf));
	CHECK(ecm != NULL);
	if (ecm && field(ecm, "classes", classes, sizeof(classes))) {
		char *save = NULL, *tok;
		bool ctrl = false, data = false;

		for (tok = strtok_r(classes, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			ctrl |= !strncmp(tok, "02.06.", 6);
			data |= !strncmp(tok, "0a.", 3);
		}
		CHECK(ctrl);
		CHECK(data);
	} else {
		CHECK(false);
	}
	free(console);
	pl_free(root);
}

TEST_MAIN(test_reader_is_strict, test_info_plist, test_opencore_snippet, test_guest_descriptors)
