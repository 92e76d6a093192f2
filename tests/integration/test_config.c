// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/integration/test_config.c: "qremap config" against real QEMU
 *
 * What qremap config prints must start QEMU cleanly and be exactly what the
 * remap then needs: the test reads the configuration off one Incus-style VM,
 * starts a second one with it (as arguments, and as a -readconfig fragment
 * the way Incus's raw.qemu.conf ends up in its qemu.conf), and remaps that.
 * The fragment is also checked against Incus 6.0.4's override rules
 * (internal/server/instance/drivers/driver_qemu_config_override.go): a
 * section whose name and index match one of Incus's changes it, an empty
 * one deletes it; qremap's must do neither.
 */

#include <unistd.h>

#include <jansson.h>

#include "fixture.h"
#include "qremap/util.h"
#include "testlib.h"

static const char *qremap_bin(void)
{
	return getenv("QREMAP_BIN") ? getenv("QREMAP_BIN") : QREMAP_BIN_DEFAULT;
}

/* Both NIC targets and both placeholder disk targets, native hotplug. */
static const char profile_text[] = "qremap_profile: 1\n"
                                   "name: config-test\n"
                                   "nics:\n"
                                   "  - {match: eth0, to: hub, model: vmxnet3}\n"
                                   "  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"
                                   "disks:\n"
                                   "  - {match: root, to: sata}\n"
                                   "  - {match: \"*\", to: virtio-blk}\n"
                                   "unplug: {acpi: refuse}\n";

struct vm {
	struct fixture *f;
	char dir[256];
};

static void vm_end(struct vm *v)
{
	if (v->f)
		fixture_destroy(v->f);
	v->f = NULL;
	if (v->dir[0])
		test_rmtree(v->dir);
}

#define _cleanup_vm_ _cleanup_(vm_end)

/* Start the fixture (2 NICs, default disks) with extra args and/or conf. */
static bool vm_start(struct vm *v, const char *const *args, size_t n_args, const char *conf)
{
	struct qr_error err = {0};
	struct fixture_opts o;

	fixture_opts_init(&o);
	snprintf(v->dir, sizeof(v->dir), "%s", test_tmpdir("config"));
	o.dir = v->dir;
	o.vcpus = 2;
	o.nics = 2;
	if (getenv("QREMAP_QEMU"))
		o.qemu = getenv("QREMAP_QEMU");
	for (size_t i = 0; i < n_args && o.n_args < FX_MAX_ARGS; i++)
		o.args[o.n_args++] = args[i];
	if (conf)
		o.conf_extra = conf;
	if (fixture_start(&o, &v->f, &err) < 0) {
		fprintf(stderr, "fixture: %s\n", err.msg);
		v->f = NULL;
		return false;
	}
	return true;
}

/* Write the test profile into @dir; returns its path (static). */
static const char *write_profile(const char *dir)
{
	static char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/config-test.yaml", dir);
	f = fopen(path, "we");
	if (!f)
		return NULL;
	fputs(profile_text, f);
	fclose(f);
	return path;
}

/* qremap config --format FMT; stdout returned (malloc'd). */
static char *run_config(struct vm *v, const char *profile, const char *fmt)
{
	const char *argv[] = {qremap_bin(),      "config",   "--profile", profile, "--qmp",
	                      v->f->qremap_sock, "--format", fmt,         NULL};
	char *out = NULL, *errs = NULL;
	int rc = test_run_capture(argv, &out, &errs);

	if (rc) {
		fprintf(stderr, "qremap config exited %d: %s\n", rc, errs);
		free(out);
		out = NULL;
	}
	free(errs);
	return out;
}

/* Remap with the profile; the outcome string, and whether a reset was planned. */
static int remap(struct vm *v, const char *profile, bool *reset)
{
	const char *argv[] = {qremap_bin(), "remap", "--json",          "--profile",
	                      profile,      "--qmp", v->f->qremap_sock, NULL};
	char *out = NULL, *errs = NULL;
	json_t *j;
	int rc = test_run_capture(argv, &out, &errs);

	if (rc)
		fprintf(stderr, "qremap remap exited %d:\n%s\n%s\n", rc, out, errs);
	j = json_loads(out ? out : "", 0, NULL);
	*reset = j && json_is_true(json_object_get(json_object_get(j, "plan"), "reset_needed"));
	json_decref(j);
	free(out);
	free(errs);
	return rc;
}

/* The QEMU configuration from "qremap config", started, then remapped: as arguments. */
static void test_config_args_start_and_remap(void)
{
	_cleanup_vm_ struct vm a = {0}, b = {0};
	_cleanup_free_ char *args = NULL;
	const char *argv[64], *profile;
	size_t n = 0;
	bool reset = true;
	char *line, *save = NULL;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	REQUIRE(vm_start(&a, NULL, 0, NULL));
	profile = write_profile(a.dir);
	REQUIRE(profile);
	args = run_config(&a, profile, "args");
	REQUIRE(args);
	CHECK_CONTAINS(args, "ide-hd,id=qremap_sata0,drive=qremap_sata0_null,bus=qremap_ahci.0");
	CHECK_CONTAINS(args, "size=67108864");
	CHECK_CONTAINS(args, "virtio-blk-pci,id=qremap_vblk0");
	CHECK_CONTAINS(args, a.f->nics[0].mac);
	CHECK_CONTAINS(args, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
	vm_end(&a);

	for (line = strtok_r(args, "\n", &save); line && n < ARRAY_SIZE(argv);
	     line = strtok_r(NULL, "\n", &save))
		argv[n++] = line;
	REQUIRE(vm_start(&b, argv, n, NULL));
	profile = write_profile(b.dir);
	CHECK_INT(remap(&b, profile, &reset), 0);
	/* native PCIe hotplug from the generated -global: no reset needed */
	CHECK(!reset);
}

/* One [name "id"] section header of a -readconfig file. */
struct section {
	char name[160];
	unsigned index;
	unsigned entries;
};

/* Sections of a -readconfig text, with Incus's per-name index. */
static size_t parse_sections(const char *text, struct section *s, size_t max)
{
	size_t n = 0;
	const char *l = text;

	while (l && *l) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);

		if (len > 2 && l[0] == '[' && n < max) {
			const char *close = memchr(l, ']', len);

			memset(&s[n], 0, sizeof(s[n]));
			snprintf(s[n].name, sizeof(s[n].name), "%.*s",
			         (int)(close ? close - l - 1 : 0), l + 1);
			for (size_t i = 0; i < n; i++)
				s[n].index += !strcmp(s[i].name, s[n].name);
			n++;
		} else if (len && l[0] != '#' && n) {
			s[n - 1].entries++;
		}
		l = eol ? eol + 1 : NULL;
	}
	return n;
}

/* The same as a -readconfig fragment, checked against Incus's override rules. */
static void test_config_conf_start_and_remap(void)
{
	_cleanup_vm_ struct vm a = {0}, b = {0};
	_cleanup_free_ char *conf = NULL, *base = NULL;
	struct section frag[64], inc[256];
	size_t nf, ni, blen = 0;
	const char *profile, *g, *argv[2];
	char path[320], global[160] = "";
	bool reset = true;
	FILE *f;

	if (!test_is_root())
		SKIP("needs root (network namespaces, taps)");
	REQUIRE(vm_start(&a, NULL, 0, NULL));
	profile = write_profile(a.dir);
	conf = run_config(&a, profile, "conf");
	REQUIRE(conf);
	/* the fixture's qemu.conf has Incus 6.0.4's sections */
	snprintf(path, sizeof(path), "%s/qemu.conf", a.dir);
	f = fopen(path, "re");
	REQUIRE(f);
	{
		FILE *m = open_memstream(&base, &blen);
		char buf[4096];
		size_t r;

		while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, r, m);
		fclose(m);
	}
	fclose(f);
	vm_end(&a);

	nf = parse_sections(conf, frag, ARRAY_SIZE(frag));
	ni = parse_sections(base, inc, ARRAY_SIZE(inc));
	CHECK(nf >= 6);
	CHECK(ni >= 10);
	for (size_t i = 0; i < nf; i++) {
		/* an empty section would delete Incus's section of that name */
		CHECK(frag[i].entries > 0);
		/* a known name+index would override Incus's keys */
		for (size_t j = 0; j < ni; j++) {
			bool clash =
			        !strcmp(frag[i].name, inc[j].name) && frag[i].index == inc[j].index;

			if (clash)
				fprintf(stderr, "section [%s][%u] would change Incus's\n",
				        frag[i].name, frag[i].index);
			CHECK(!clash);
		}
		CHECK(strstr(frag[i].name, "\"qremap") != NULL);
	}
	/* Incus parses raw.qemu.conf with one regular expression whose key
	 * part ([^=]+) would swallow a comment line and the section header
	 * after it: only headers, key = "value" lines and blank lines may
	 * appear, values without quotes inside
	 */
	for (const char *l = conf; *l;) {
		size_t len = strcspn(l, "\n");
		const char *eq = memchr(l, '=', len);

		if (len && l[0] != '[') {
			bool ok = eq && eq + 3 < l + len && eq[1] == ' ' && eq[2] == '"' &&
			          l[len - 1] == '"' &&
			          !memchr(eq + 3, '"', (size_t)(l + len - 1 - (eq + 3)));

			if (!ok)
				fprintf(stderr, "line Incus would misread: %.*s\n", (int)len, l);
			CHECK(ok);
		}
		l += len + (l[len] == '\n');
	}
	/* -global goes to raw.qemu, not raw.qemu.conf (see coldplug_print_conf) */
	{
		_cleanup_free_ char *args = NULL;

		REQUIRE(vm_start(&a, NULL, 0, NULL));
		profile = write_profile(a.dir);
		args = run_config(&a, profile, "args");
		vm_end(&a);
		REQUIRE(args);
		g = strstr(args, "-global\n");
		REQUIRE(g);
		snprintf(global, sizeof(global), "%.*s", (int)strcspn(g + 8, "\n"), g + 8);
	}

	snprintf(path, sizeof(path), "%s/qremap.conf", test_tmpdir("config-frag"));
	f = fopen(path, "we");
	REQUIRE(f);
	fputs(conf, f);
	fclose(f);
	argv[0] = "-global";
	argv[1] = global;
	REQUIRE(vm_start(&b, argv, 2, path));
	profile = write_profile(b.dir);
	CHECK_INT(remap(&b, profile, &reset), 0);
	CHECK(!reset);
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}

TEST_MAIN(test_config_args_start_and_remap, test_config_conf_start_and_remap)
