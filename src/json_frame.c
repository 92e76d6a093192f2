// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - json_frame.c: split a QMP byte stream into JSON objects */

#include <string.h>

#include "qremap/json_frame.h"

/**
 * json_framer_init() - reset the framer to "between objects, offset 0"
 * @f:	framer
 */
void json_framer_init(struct json_framer *f)
{
	memset(f, 0, sizeof(*f));
}

/**
 * json_framer_scan() - continue scanning @buf for the end of an object
 * @f:		framer state; @f->pos bytes of @buf were already scanned
 * @buf:	stream buffer, holding everything not yet consumed
 * @len:	bytes valid in @buf
 * @start:	on JSON_FRAME_READY, offset of the object's '{'
 * @flen:	on JSON_FRAME_READY, length of the object
 *
 * On JSON_FRAME_READY the framer is positioned after the object, so calling
 * again finds the next one. On JSON_FRAME_GARBAGE, @f->pos is the offending
 * byte.
 *
 * Return: enum json_frame_status
 */
enum json_frame_status json_framer_scan(struct json_framer *f, const char *buf, size_t len,
                                        size_t *start, size_t *flen)
{
	for (; f->pos < len; f->pos++) {
		char c = buf[f->pos];

		if (f->depth == 0) {
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
				continue;
			if (c != '{')
				return JSON_FRAME_GARBAGE;
			f->start = f->pos;
			f->depth = 1;
			continue;
		}
		if (f->in_string) {
			if (f->escape)
				f->escape = false;
			else if (c == '\\')
				f->escape = true;
			else if (c == '"')
				f->in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			f->in_string = true;
			break;
		case '{':
		case '[':
			if (f->depth >= JSON_FRAME_MAX_DEPTH)
				return JSON_FRAME_TOO_DEEP;
			f->depth++;
			break;
		case '}':
		case ']':
			/* Mismatched brackets are jansson's to reject: the
			 * framer only needs the depth to reach zero.
			 */
			if (--f->depth == 0) {
				*start = f->start;
				*flen = f->pos + 1 - f->start;
				f->pos++;
				return JSON_FRAME_READY;
			}
			break;
		default:
			break;
		}
	}
	return JSON_FRAME_NEED_MORE;
}

/**
 * json_framer_shift() - account for @n bytes removed from the buffer's front
 * @f:	framer
 * @n:	bytes removed; must not exceed what was scanned, nor reach into an
 *	object still being scanned
 */
void json_framer_shift(struct json_framer *f, size_t n)
{
	f->pos -= n;
	if (f->depth)
		f->start -= n;
}
