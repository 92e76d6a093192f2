// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_incus.c: the pure parts of the Incus glue: size
 * strings, and removing exactly what "qremap incus enable" appended
 */

#include "qremap/incus.h"
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

TEST_MAIN(test_sizes, test_strip_added)
