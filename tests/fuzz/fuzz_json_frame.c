// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/fuzz/fuzz_json_frame.c: libFuzzer target for the QMP framer
 *
 * Input: a split byte (fuzz_split.h), then a byte stream. The stream is
 * framed twice: once in one piece, as the reference, and once arriving in
 * chunks into a buffer that is consumed and shifted exactly as qmp.c does
 * (drop each frame, drop white space between objects). Both passes must find
 * the same objects at the same stream offsets and stop with the same status at
 * the same offset: read boundaries must never change what the framer sees.
 * Every complete frame goes to json_loadb(), as the client hands it on.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qremap/json_frame.h"
#include "fuzz_split.h"

/**
 * struct frame - one object found, as offsets into the whole stream
 * @start:	offset of its '{'
 * @len:	its length
 */
struct frame {
	size_t start;
	size_t len;
};

/**
 * struct outcome - what a framing pass found
 * @frames:	objects, in stream order
 * @n:		number of @frames
 * @status:	status that ended the pass: NEED_MORE at the end of the stream,
 *		or GARBAGE / TOO_DEEP
 * @stop:	for GARBAGE and TOO_DEEP, the stream offset where it stopped
 */
struct outcome {
	struct frame *frames;
	size_t n;
	enum json_frame_status status;
	size_t stop;
};

/* Report a disagreement between the passes and crash, so libFuzzer keeps it. */
static void mismatch(const char *what, size_t a, size_t b)
{
	fprintf(stderr,
	        "fuzz_json_frame: chunked and whole-stream framing differ: %s (%zu vs %zu)\n", what,
	        a, b);
	abort();
}

/* Parse one frame as the QMP client does; only crashes and leaks matter. */
static void load_frame(const char *text, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);

	json_decref(j);
}

/* The reference: the whole stream in one buffer, nothing consumed. */
static void frame_whole(const char *s, size_t len, struct outcome *o)
{
	struct json_framer f;
	size_t start, flen;

	json_framer_init(&f);
	for (;;) {
		o->status = json_framer_scan(&f, s, len, &start, &flen);
		if (o->status != JSON_FRAME_READY)
			break;
		o->frames[o->n].start = start;
		o->frames[o->n].len = flen;
		o->n++;
	}
	o->stop = f.pos;
}

/* Compare one frame of the chunked pass with the reference. */
static void check_frame(const struct outcome *ref, size_t i, size_t start, size_t len)
{
	if (i >= ref->n)
		mismatch("extra frame, index", i, ref->n);
	if (start != ref->frames[i].start)
		mismatch("frame start", start, ref->frames[i].start);
	if (len != ref->frames[i].len)
		mismatch("frame length", len, ref->frames[i].len);
}

/* Drop @n bytes from the front of the chunked pass's buffer, as qmp.c does. */
static void consume(struct json_framer *f, char *buf, size_t *len, size_t *base, size_t n)
{
	memmove(buf, buf + n, *len - n);
	*len -= n;
	*base += n;
	json_framer_shift(f, n);
}

/* The chunked pass, checked against @ref as it goes. */
static void frame_chunked(uint8_t split, const char *s, size_t size, const struct outcome *ref)
{
	struct fuzz_split sp;
	struct json_framer f;
	size_t len = 0, base = 0, fed = 0, n = 0;
	char *buf = malloc(size ? size : 1);

	if (!buf)
		abort();
	fuzz_split_init(&sp, split);
	json_framer_init(&f);
	while (fed < size) {
		size_t k = fuzz_split_next(&sp, size - fed);

		memcpy(buf + len, s + fed, k);
		len += k;
		fed += k;
		for (;;) {
			enum json_frame_status st;
			size_t start, flen;

			st = json_framer_scan(&f, buf, len, &start, &flen);
			if (st == JSON_FRAME_READY) {
				check_frame(ref, n++, base + start, flen);
				load_frame(buf + start, flen);
				consume(&f, buf, &len, &base, start + flen);
				continue;
			}
			if (st == JSON_FRAME_NEED_MORE) {
				if (!f.depth && f.pos)
					consume(&f, buf, &len, &base, f.pos);
				break;
			}
			if (st != ref->status)
				mismatch("final status", (size_t)-st, (size_t)-ref->status);
			if (base + f.pos != ref->stop)
				mismatch("stop offset", base + f.pos, ref->stop);
			goto out;
		}
	}
	if (ref->status != JSON_FRAME_NEED_MORE)
		mismatch("chunked pass did not stop; reference status", 0, (size_t)-ref->status);
out:
	if (n != ref->n)
		mismatch("number of frames", n, ref->n);
	free(buf);
}

/**
 * LLVMFuzzerTestOneInput() - libFuzzer entry point
 * @data:	split byte, then the stream
 * @size:	its length
 *
 * Return: 0
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome ref = {0};
	const char *s = (const char *)data + 1;

	if (!size)
		return 0;
	size--;
	/* a frame is at least "{}" */
	ref.frames = malloc((size / 2 + 1) * sizeof(*ref.frames));
	if (!ref.frames)
		abort();
	frame_whole(s, size, &ref);
	frame_chunked(data[0], s, size, &ref);
	free(ref.frames);
	return 0;
}
