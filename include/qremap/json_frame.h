/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - json_frame.h: find complete JSON objects in a byte stream
 *
 * QMP is a stream of JSON objects. QEMU happens to end each with CRLF, but a
 * reader that splits on newlines breaks on any peer that doesn't, and on a
 * reply split across reads it must still wait for the rest. This framer
 * tracks nesting depth and string state byte by byte, so it finds the end of
 * each top-level object whatever the read boundaries and whitespace are; the
 * complete frame is then handed to jansson. It never allocates: it is the
 * first thing a fuzzer should hit.
 */
#ifndef QREMAP_JSON_FRAME_H
#define QREMAP_JSON_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_FRAME_MAX_DEPTH 1024

/**
 * struct json_framer - scanning state, resumable across reads
 * @pos:	offset of the next byte to scan
 * @start:	offset of the first byte of the object being scanned
 * @depth:	current nesting depth, 0 between objects
 * @in_string:	inside a string literal
 * @escape:	the previous byte was a backslash inside a string
 */
struct json_framer {
	size_t pos;
	size_t start;
	unsigned depth;
	bool in_string;
	bool escape;
};

/**
 * enum json_frame_status - result of json_framer_scan()
 * @JSON_FRAME_NEED_MORE:	no complete object yet
 * @JSON_FRAME_READY:		a complete object was found
 * @JSON_FRAME_GARBAGE:		a byte between objects is neither white space
 *				nor '{' (QMP only sends objects)
 * @JSON_FRAME_TOO_DEEP:	nesting exceeds JSON_FRAME_MAX_DEPTH
 */
enum json_frame_status {
	JSON_FRAME_NEED_MORE = 0,
	JSON_FRAME_READY = 1,
	JSON_FRAME_GARBAGE = -1,
	JSON_FRAME_TOO_DEEP = -2,
};

void json_framer_init(struct json_framer *f);
enum json_frame_status json_framer_scan(struct json_framer *f, const char *buf, size_t len,
                                        size_t *start, size_t *flen);
void json_framer_shift(struct json_framer *f, size_t n);

#endif /* QREMAP_JSON_FRAME_H */
