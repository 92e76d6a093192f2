// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_profile.c: the profile loader (docs/profiles.md)
 *
 * A full profile with every field checked, the defaults, rule matching
 * order, the JSON form, and a golden corpus: tests/profiles-bad/ holds one
 * small file per mistake and expected.txt the exact message for each, so a
 * change in wording or in a line/column shows up as a diff. Every profile
 * shipped in profiles/ must load.
 */

#include <dirent.h>
#include <errno.h>

#include "qremap/profile.h"
#include "testlib.h"

#define BAD_DIR      QREMAP_SOURCE_DIR "/tests/profiles-bad"
#define PROFILES_DIR QREMAP_SOURCE_DIR "/profiles"

/* the example from docs/profiles.md, every key set */
static const char full_yaml[] = "# qremap profile: macOS, usb-net + SATA\n"
                                "qremap_profile: 1\n"
                                "name: macos\n"
                                "description: >\n"
                                "  free text\n"
                                "  on two lines\n"
                                "nics:\n"
                                "  - match: \"*\"\n"
                                "    to: usb-net\n"
                                "    xhci: qemu_xhci\n"
                                "    ports: [4, 5]\n"
                                "    mac_rewritten: warn\n"
                                "disks:\n"
                                "  - match: root\n"
                                "    to: sata\n"
                                "    ahci: qremap_ahci\n"
                                "    placeholders: [qremap_sata0, qremap_sata1]\n"
                                "  - match: \"*\"\n"
                                "    to: leave\n"
                                "unplug:\n"
                                "  acpi: refuse\n"
                                "timeouts:\n"
                                "  qmp_ms: 2500\n"
                                "  unplug_ms: 600000\n";

static const char minimal_yaml[] = "qremap_profile: 1\n"
                                   "name: minimal\n"
                                   "nics:\n"
                                   "  - {match: eth0, to: usb-net}\n"
                                   "disks:\n"
                                   "  - {match: root, to: sata}\n";

/**
 * new_profile() - a zeroed profile on the heap (it is ~150 KiB)
 *
 * Return: the profile; aborts the test program if out of memory
 */
static struct profile *new_profile(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	return p;
}

/**
 * read_all() - read a whole file
 * @path:	file
 * @len:	its length
 *
 * Return: malloc'ed contents, NUL-terminated, or NULL
 */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Every field of a profile that sets every key */
static void test_full_profile(void)
{
	struct profile *p = new_profile();
	struct qr_error err;

	REQUIRE(profile_load_string("full.yaml", full_yaml, strlen(full_yaml), p, &err) == 0);
	CHECK_STR(p->path, "");
	CHECK_STR(p->name, "macos");
	/* folded scalar: lines joined, final newline dropped */
	CHECK_STR(p->description, "free text on two lines");

	CHECK_INT(p->n_nics, 1);
	CHECK_STR(p->nics[0].match, "*");
	CHECK_INT(p->nics[0].target, NIC_TO_USB_NET);
	CHECK_STR(p->nics[0].xhci, "qemu_xhci");
	CHECK_INT(p->nics[0].n_ports, 2);
	CHECK_INT(p->nics[0].ports[0], 4);
	CHECK_INT(p->nics[0].ports[1], 5);
	CHECK_INT(p->nics[0].mac_policy, MAC_WARN);
	CHECK_INT(p->nics[0].at.line, 8);
	CHECK_INT(p->nics[0].at.col, 5);

	CHECK_INT(p->n_disks, 2);
	CHECK_STR(p->disks[0].match, "root");
	CHECK_INT(p->disks[0].target, DISK_TO_SATA);
	CHECK_STR(p->disks[0].ahci, "qremap_ahci");
	CHECK_INT(p->disks[0].n_placeholders, 2);
	CHECK_STR(p->disks[0].placeholders[0], "qremap_sata0");
	CHECK_STR(p->disks[0].placeholders[1], "qremap_sata1");
	CHECK_INT(p->disks[0].at.line, 14);
	CHECK_INT(p->disks[0].at.col, 5);
	CHECK_STR(p->disks[1].match, "*");
	CHECK_INT(p->disks[1].target, DISK_TO_LEAVE);
	CHECK_INT(p->disks[1].n_placeholders, 0);
	CHECK_INT(p->disks[1].at.line, 18);

	CHECK_INT(p->acpi_unplug, ACPI_REFUSE);
	CHECK_INT(p->qmp_timeout_ms, 2500);
	CHECK_INT(p->unplug_timeout_ms, 600000);
	free(p);
}

/* Only the required keys, and rules with only match and to */
static void test_defaults(void)
{
	const char *text = "qremap_profile: 1\nname: bare\n";
	struct profile *p = new_profile();
	struct qr_error err;

	REQUIRE(profile_load_string("bare", text, strlen(text), p, &err) == 0);
	CHECK_STR(p->name, "bare");
	CHECK_STR(p->description, "");
	CHECK_INT(p->n_nics, 0);
	CHECK_INT(p->n_disks, 0);
	CHECK_INT(p->acpi_unplug, ACPI_VERIFY_AFTER_RESET);
	CHECK_INT(p->qmp_timeout_ms, 10000);
	CHECK_INT(p->unplug_timeout_ms, 5000);

	REQUIRE(profile_load_string("minimal", minimal_yaml, strlen(minimal_yaml), p, &err) == 0);
	REQUIRE(p->n_nics == 1 && p->n_disks == 1);
	CHECK_STR(p->nics[0].xhci, "");
	CHECK_INT(p->nics[0].n_ports, 0);
	CHECK_INT(p->nics[0].mac_policy, MAC_REFUSE);
	CHECK_STR(p->disks[0].ahci, "");
	CHECK_INT(p->disks[0].n_placeholders, 0);
	/* a timeouts mapping with one key leaves the other at its default */
	text = "qremap_profile: 1\nname: t\ntimeouts:\n  unplug_ms: 1\n";
	REQUIRE(profile_load_string("t", text, strlen(text), p, &err) == 0);
	CHECK_INT(p->qmp_timeout_ms, 10000);
	CHECK_INT(p->unplug_timeout_ms, 1);
	free(p);
}

/* First matching rule wins; name or qdev id; no match means "leave" */
static void test_matching_order(void)
{
	const char *text = "qremap_profile: 1\n"
	                   "name: order\n"
	                   "nics:\n"
	                   "  - {match: eth1, to: leave}\n"
	                   "  - {match: \"dev-incus_eth[0-3]\", to: usb-net, ports: [4]}\n"
	                   "  - {match: \"eth*\", to: usb-net, ports: [5]}\n"
	                   "disks:\n"
	                   "  - {match: root, to: sata, placeholders: [qremap_sata0]}\n"
	                   "  - {match: \"data?\", to: sata}\n"
	                   "  - {match: \"*\", to: leave}\n";
	struct profile *p = new_profile();
	const struct nic_rule *n;
	const struct disk_rule *d;
	struct qr_error err;

	REQUIRE(profile_load_string("order", text, strlen(text), p, &err) == 0);
	/* eth1 matches rule 0 by name, before rule 1 would match its qdev id */
	n = profile_match_nic(p, "eth1", "dev-incus_eth1");
	CHECK(n == &p->nics[0]);
	n = profile_match_nic(p, "eth0", "dev-incus_eth0");
	CHECK(n == &p->nics[1]);
	/* a name outside rule 1's glob, but a qdev id inside it */
	n = profile_match_nic(p, "lan", "dev-incus_eth2");
	CHECK(n == &p->nics[1]);
	n = profile_match_nic(p, "eth7", "dev-incus_eth7");
	CHECK(n == &p->nics[2]);
	CHECK(profile_match_nic(p, "lan", "dev-incus_lan") == NULL);
	CHECK(profile_match_nic(p, NULL, "eth9") == &p->nics[2]);
	CHECK(profile_match_nic(p, "eth9", NULL) == &p->nics[2]);
	CHECK(profile_match_nic(p, NULL, NULL) == NULL);

	d = profile_match_disk(p, "root", "incus_root");
	CHECK(d == &p->disks[0]);
	d = profile_match_disk(p, "data1", "incus_data1");
	CHECK(d == &p->disks[1]);
	d = profile_match_disk(p, "data10", "incus_data10");
	CHECK(d == &p->disks[2]);
	CHECK(d && d->target == DISK_TO_LEAVE);
	free(p);

	/* no rules at all: everything is left */
	p = new_profile();
	text = "qremap_profile: 1\nname: none\nnics: []\n";
	REQUIRE(profile_load_string("none", text, strlen(text), p, &err) == 0);
	CHECK(profile_match_nic(p, "eth0", "dev-incus_eth0") == NULL);
	CHECK(profile_match_disk(p, "root", "incus_root") == NULL);
	free(p);
}

/* The JSON form mirrors the YAML keys and fills in every default */
static void test_to_json(void)
{
	struct profile *p = new_profile();
	struct qr_error err;
	json_t *j, *nic, *disk;

	REQUIRE(profile_load_string("m", minimal_yaml, strlen(minimal_yaml), p, &err) == 0);
	j = profile_to_json(p);
	REQUIRE(j);
	CHECK_INT(json_integer_value(json_object_get(j, "qremap_profile")), 1);
	CHECK_STR(json_string_value(json_object_get(j, "name")), "minimal");
	CHECK_STR(json_string_value(json_object_get(j, "description")), "");
	CHECK_STR(json_string_value(json_object_get(j, "path")), "");
	nic = json_array_get(json_object_get(j, "nics"), 0);
	CHECK_STR(json_string_value(json_object_get(nic, "match")), "eth0");
	CHECK_STR(json_string_value(json_object_get(nic, "to")), "usb-net");
	CHECK_STR(json_string_value(json_object_get(nic, "xhci")), "");
	CHECK(json_is_array(json_object_get(nic, "ports")));
	CHECK_INT(json_array_size(json_object_get(nic, "ports")), 0);
	CHECK_STR(json_string_value(json_object_get(nic, "mac_rewritten")), "refuse");
	disk = json_array_get(json_object_get(j, "disks"), 0);
	CHECK_STR(json_string_value(json_object_get(disk, "to")), "sata");
	CHECK_STR(json_string_value(json_object_get(disk, "ahci")), "");
	CHECK_INT(json_array_size(json_object_get(disk, "placeholders")), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "unplug"), "acpi")),
	          "verify-after-reset");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "timeouts"), "qmp_ms")),
	          10000);
	CHECK_INT(json_integer_value(json_object_get(json_object_get(j, "timeouts"), "unplug_ms")),
	          5000);
	json_decref(j);

	REQUIRE(profile_load_string("f", full_yaml, strlen(full_yaml), p, &err) == 0);
	j = profile_to_json(p);
	REQUIRE(j);
	nic = json_array_get(json_object_get(j, "nics"), 0);
	CHECK_INT(json_integer_value(json_array_get(json_object_get(nic, "ports"), 1)), 5);
	CHECK_STR(json_string_value(json_object_get(nic, "mac_rewritten")), "warn");
	disk = json_array_get(json_object_get(j, "disks"), 0);
	CHECK_STR(json_string_value(json_array_get(json_object_get(disk, "placeholders"), 1)),
	          "qremap_sata1");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "unplug"), "acpi")),
	          "refuse");
	json_decref(j);
	free(p);
}

/* The *_str() functions give the YAML spellings */
static void test_str(void)
{
	CHECK_STR(nic_target_str(NIC_TO_USB_NET), "usb-net");
	CHECK_STR(nic_target_str(NIC_TO_LEAVE), "leave");
	CHECK_STR(disk_target_str(DISK_TO_SATA), "sata");
	CHECK_STR(disk_target_str(DISK_TO_LEAVE), "leave");
	CHECK_STR(mac_policy_str(MAC_REFUSE), "refuse");
	CHECK_STR(mac_policy_str(MAC_WARN), "warn");
	CHECK_STR(acpi_unplug_policy_str(ACPI_VERIFY_AFTER_RESET), "verify-after-reset");
	CHECK_STR(acpi_unplug_policy_str(ACPI_REFUSE), "refuse");
}

/* Only @len bytes are read, and a failed load leaves the profile alone */
static void test_string_bounds(void)
{
	const char text[] = "qremap_profile: 1\nname: cut\nthis is not YAML: [";
	struct profile *p = new_profile();
	struct qr_error err;
	size_t len = strlen("qremap_profile: 1\nname: cut\n");

	REQUIRE(profile_load_string("cut", text, len, p, &err) == 0);
	CHECK_STR(p->name, "cut");
	CHECK(profile_load_string("cut", text, strlen(text), p, &err) < 0);
	CHECK_INT(err.kind, QR_ERR_PARSE);
	CHECK_STR(p->name, "cut");
	free(p);
}

/* Files: the path is the label and is recorded; unreadable files say why */
static void test_load_file(void)
{
	struct profile *p = new_profile();
	struct qr_error err;
	char msg[1024];

	CHECK(profile_load_file(BAD_DIR "/no-such-file.yaml", p, &err) < 0);
	CHECK_INT(err.kind, QR_ERR_SYS);
	CHECK_INT(err.errnum, ENOENT);
	CHECK_CONTAINS(err.msg, "no-such-file.yaml");
	CHECK_CONTAINS(err.msg, strerror(ENOENT));

	CHECK(profile_load_file(BAD_DIR, p, &err) < 0);
	CHECK_CONTAINS(err.msg, "not a regular file");

	CHECK(profile_load_file(BAD_DIR "/port-zero.yaml", p, &err) < 0);
	CHECK_INT(err.kind, QR_ERR_PARSE);
	snprintf(msg, sizeof(msg), "%s/port-zero.yaml:6:13: ", BAD_DIR);
	CHECK(strncmp(err.msg, msg, strlen(msg)) == 0);

	REQUIRE(profile_load_file(PROFILES_DIR "/macos.yaml", p, &err) == 0);
	CHECK_STR(p->path, PROFILES_DIR "/macos.yaml");
	free(p);
}

/* tests/profiles-bad: each file fails with exactly the message in expected.txt */
static void test_bad_corpus(void)
{
	size_t len, n_expected = 0, n_files = 0;
	char *expected = read_all(BAD_DIR "/expected.txt", &len), *line, *save = NULL;
	struct profile *p = new_profile();
	struct dirent *de;
	DIR *dir;

	REQUIRE(expected);
	for (line = strtok_r(expected, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sep = strstr(line, ": "), path[1024], *text;
		struct qr_error err;
		size_t tlen;

		REQUIRE(sep);
		*sep = '\0';
		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, line);
		text = read_all(path, &tlen);
		if (!text) {
			fprintf(stderr, "%s: listed in expected.txt but can't be read\n", line);
			test_failures++;
			continue;
		}
		n_expected++;
		qr_err_clear(&err);
		if (profile_load_string(line, text, tlen, p, &err) == 0) {
			fprintf(stderr, "%s: loaded, but should fail\n", line);
			test_failures++;
		} else {
			CHECK_STR(err.msg, sep + 2);
			CHECK_INT(err.kind, QR_ERR_PARSE);
		}
		free(text);
	}
	free(expected);

	/* no file in the corpus without an expected message */
	dir = opendir(BAD_DIR);
	REQUIRE(dir);
	while ((de = readdir(dir)))
		if (strlen(de->d_name) > 5 && !strcmp(de->d_name + strlen(de->d_name) - 5, ".yaml"))
			n_files++;
	closedir(dir);
	CHECK_INT(n_files, n_expected);
	CHECK(n_expected >= 20);
	free(p);
}

/* Every profile shipped in profiles/ loads */
static void test_shipped_profiles(void)
{
	struct profile *p = new_profile();
	DIR *dir = opendir(PROFILES_DIR);
	struct dirent *de;
	size_t n = 0;

	REQUIRE(dir);
	while ((de = readdir(dir))) {
		size_t l = strlen(de->d_name);
		struct qr_error err;
		char path[1024];

		if (l <= 5 || strcmp(de->d_name + l - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", PROFILES_DIR, de->d_name);
		if (profile_load_file(path, p, &err) < 0) {
			fprintf(stderr, "shipped profile fails to load: %s\n", err.msg);
			test_failures++;
		}
		n++;
	}
	closedir(dir);
	CHECK(n >= 1);
	free(p);
}

TEST_MAIN(test_full_profile, test_defaults, test_matching_order, test_to_json, test_str,
          test_string_bounds, test_load_file, test_bad_corpus, test_shipped_profiles)
