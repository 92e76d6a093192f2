// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/fuzz/fuzz_infonet.c: libFuzzer target for the "info network" parser
 *
 * Input: the text of HMP "info network" (QEMU sends it as a JSON string, so
 * it is NUL-terminated by the time infonet_parse() sees it; a NUL inside the
 * input ends the text early, as it would there). Besides crashes and leaks,
 * a successful parse is checked for what the remap relies on: every name is
 * a terminated string, line numbers rise, fd is -1 or a descriptor number.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qremap/infonet.h"

/* Crash with @what, so libFuzzer keeps the input. */
static void broken(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_infonet: entry %zu: %s\n", i, what);
	abort();
}

#define TERMINATED(a) (strnlen((a), sizeof(a)) < sizeof(a))

/* Check one client of entry @i. */
static void check_client(const struct infonet_client *cl, size_t i)
{
	if (!TERMINATED(cl->name) || !TERMINATED(cl->type) || !TERMINATED(cl->info) ||
	    !TERMINATED(cl->model) || !TERMINATED(cl->mac))
		broken("unterminated client string", i);
	if (!cl->name[0] || !cl->type[0])
		broken("client without name or type", i);
	if (cl->fd < -1)
		broken("fd below -1", i);
}

/* Check a successful parse. */
static void check(const struct infonet *in)
{
	unsigned line = 0;
	size_t i;

	for (i = 0; i < in->n; i++) {
		const struct infonet_entry *e = &in->entries[i];

		if (e->line <= line)
			broken("line numbers do not rise", i);
		line = e->line;
		if (e->hub_id < -1 || !TERMINATED(e->port))
			broken("bad hub id or port", i);
		if (e->has_client)
			check_client(&e->client, i);
		if (e->has_peer)
			check_client(&e->peer, i);
		if (e->has_peer && !e->has_client)
			broken("peer without client", i);
	}
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer entry point
 * @data:	the text
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qr_error err = {0};
	struct infonet in;
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (infonet_parse(text, &in, &err) == 0)
		check(&in);
	else if (!TERMINATED(err.msg) || !err.msg[0])
		broken("failure without a message", 0);
	infonet_free(&in);
	free(text);
	return 0;
}
