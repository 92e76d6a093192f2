/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - tests/fuzz/fuzz_split.h: read boundaries chosen by the fuzz input
 *
 * The stream fuzzers (fuzz_json_frame, fuzz_qmp) take their first input byte
 * as the "split byte": its two low bits pick the largest chunk (1, 16, 256 or
 * 4096 bytes), the whole byte seeds a small PRNG that picks each chunk's
 * length up to that bound. The rest of the input is the byte stream. Seeds
 * start with ' ' (1-byte reads), '!' (up to 16), '"' (up to 256) or '#' (up
 * to 4096), so they stay readable text; libFuzzer mutates the split byte like
 * any other, so a stream is tried under many read patterns.
 */
#ifndef QREMAP_FUZZ_SPLIT_H
#define QREMAP_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* No chunk is larger: the QMP client always offers at least this much room */
#define FUZZ_SPLIT_MAX 4096

/**
 * struct fuzz_split - chunk length generator
 * @state:	xorshift32 state, never 0
 * @max:	largest chunk
 */
struct fuzz_split {
	uint32_t state;
	size_t max;
};

/**
 * fuzz_split_init() - set up the generator from the split byte
 * @s:		generator
 * @b:		the input's first byte
 */
static inline void fuzz_split_init(struct fuzz_split *s, uint8_t b)
{
	static const size_t max[4] = {1, 16, 256, FUZZ_SPLIT_MAX};

	s->state = 0x9e3779b9u ^ ((uint32_t)b * 0x01000193u);
	s->max = max[b & 3];
}

/**
 * fuzz_split_next() - length of the next chunk
 * @s:		generator
 * @left:	bytes of the stream not yet delivered, > 0
 *
 * Return: 1 to min(@s->max, @left)
 */
static inline size_t fuzz_split_next(struct fuzz_split *s, size_t left)
{
	size_t n;

	s->state ^= s->state << 13;
	s->state ^= s->state >> 17;
	s->state ^= s->state << 5;
	n = 1 + s->state % s->max;
	return n < left ? n : left;
}

#endif /* QREMAP_FUZZ_SPLIT_H */
