// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/fuzz/fuzz_profile.c: libFuzzer target for the profile loader
 *
 * Input: a profile's YAML text, passed with its exact length and no NUL after
 * it (profile_load_string() must not need one). A loaded profile is turned
 * into JSON, as "qremap profile show --json" does, and matched against a NIC
 * and a disk. The loader's contract is also checked: on failure the profile
 * is left untouched and the error has a message.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qremap/profile.h"

/* Crash with @what, so libFuzzer keeps the input. */
static void broken(const char *what)
{
	fprintf(stderr, "fuzz_profile: %s\n", what);
	abort();
}

/* Use a loaded profile the ways qremap does. */
static void use(const struct profile *p)
{
	json_t *j = profile_to_json(p);
	char *text;

	if (!j)
		broken("profile_to_json() failed on a loaded profile");
	text = json_dumps(j, JSON_COMPACT);
	if (!text)
		broken("cannot encode profile_to_json()'s result");
	free(text);
	json_decref(j);
	(void)profile_match_nic(p, "eth0", "dev-incus_eth0");
	(void)profile_match_disk(p, "root", "incus_root");
	if (strnlen(p->name, sizeof(p->name)) == sizeof(p->name) || !p->name[0])
		broken("loaded profile without a terminated name");
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer entry point
 * @data:	YAML text
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct profile p, pristine;
	static bool ready;
	struct qr_error err = {0};

	if (!ready) {
		memset(&pristine, 0xa5, sizeof(pristine));
		ready = true;
	}
	memcpy(&p, &pristine, sizeof(p));
	if (profile_load_string("fuzz.yaml", (const char *)data, size, &p, &err) == 0) {
		use(&p);
		return 0;
	}
	if (memcmp(&p, &pristine, sizeof(p)))
		broken("failed load changed the profile");
	if (strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg) || !err.msg[0])
		broken("failed load without a message");
	return 0;
}
