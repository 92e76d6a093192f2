// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - yaml_tree.c: parse profile YAML into a tree with source positions
 *
 * The first of the two steps of loading a profile (the second, the schema,
 * is src/profile.c). libyaml's event parser builds a small tree of scalars,
 * lists and mappings, each node remembering where it started; this step
 * rejects what the schema never needs and what would make line numbers lie:
 * several documents, anchors and aliases, tags, nesting deeper than the
 * schema. libyaml's own errors become "FILE:LINE:COL: what is wrong; how to
 * fix it", the form ytree_err() gives every profile message, here and in the
 * schema alike. The messages speak of profiles: they are this tree's only
 * use.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml_tree.h"

/* The schema nests four levels (top, nics, rule, ports); allow some slack so
 * that deeper nesting gets a schema error naming the key, not this limit.
 */
#define YAML_MAX_DEPTH 8

/**
 * ynode_free() - free a node and everything under it
 * @n:	node, may be NULL
 *
 * Recursive, to a depth of at most YAML_MAX_DEPTH: ytree_build() refuses
 * anything nested deeper.
 */
static void ynode_free(struct ynode *n) /* NOLINT(misc-no-recursion): bounded */
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->value);
	free(n);
}

/**
 * ytree_freep() - ynode_free() for a _cleanup_ variable
 * @p:	address of the node pointer
 */
void ytree_freep(struct ynode **p)
{
	ynode_free(*p);
}

/**
 * mark_of() - convert a libyaml mark to a 1-based one
 * @m:	libyaml mark (0-based line and column)
 *
 * Return: the mark as users count: first line, first column = 1
 */
static struct profile_mark mark_of(yaml_mark_t m)
{
	struct profile_mark pm = {
	        .line = m.line >= UINT_MAX ? UINT_MAX : (unsigned)m.line + 1,
	        .col = m.column >= UINT_MAX ? UINT_MAX : (unsigned)m.column + 1,
	};

	return pm;
}

/**
 * ytree_err() - fill the error object with "LABEL:LINE:COL: message"
 * @ld:		loader, for the label and error object
 * @at:		where the problem is
 * @fmt:	"what is wrong; how to fix it", printf-style
 *
 * The schema checks in src/profile.c report through it too, so every profile
 * message has this one form, whichever step found the problem.
 *
 * Return: -1
 */
int ytree_err(const struct loader *ld, struct profile_mark at, const char *fmt, ...)
{
	char what[QR_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return qr_err_set(ld->err, QR_ERR_PARSE, "%s:%u:%u: %s", ld->label, at.line, at.col, what);
}

/**
 * offset_mark() - line and column of a byte offset into the text
 * @ld:		loader holding the text
 * @off:	byte offset
 *
 * libyaml's reader errors carry only an offset, no mark.
 *
 * Return: 1-based mark; the column counts bytes
 */
static struct profile_mark offset_mark(const struct loader *ld, size_t off)
{
	struct profile_mark m = {1, 1};

	for (size_t i = 0; i < off && i < ld->len; i++) {
		if (ld->text[i] == '\n') {
			m.line++;
			m.col = 1;
		} else {
			m.col++;
		}
	}
	return m;
}

/**
 * syntax_error() - report why libyaml gave up
 * @ld:		loader
 * @parser:	parser in its error state
 *
 * Return: -1
 */
static int syntax_error(const struct loader *ld, const yaml_parser_t *parser)
{
	const char *problem = str_or(parser->problem, "unknown problem");
	struct profile_mark at = mark_of(parser->problem_mark);

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		return qr_err_sys(ld->err, ENOMEM, "%s: parsing YAML", ld->label);
	case YAML_READER_ERROR:
		return ytree_err(ld, offset_mark(ld, parser->problem_offset),
		                 "not valid text: %s; save the profile as UTF-8", problem);
	default:
		break;
	}
	/* The most common mistake, and libyaml's wording ("found character
	 * that cannot start any token") doesn't say what the character is.
	 */
	if (parser->problem_mark.index < ld->len && ld->text[parser->problem_mark.index] == '\t')
		return ytree_err(ld, at,
		                 "tab character in indentation; YAML indents with spaces only");
	if (parser->context)
		return ytree_err(ld, at,
		                 "YAML syntax error: %s (%s at line %zu); check indentation, "
		                 "colons and quotes here",
		                 problem, parser->context, parser->context_mark.line + 1);
	return ytree_err(ld, at, "YAML syntax error: %s; check indentation, colons and quotes here",
	                 problem);
}

/**
 * ynode_new() - allocate a node and hang it under its parent
 * @parent:	list or mapping to append to, NULL for the root
 * @kind:	kind of the new node
 * @at:		where it starts
 *
 * Appending at once means the root owns every node from the start, so one
 * ynode_free() of the root cleans up after an error anywhere.
 *
 * Return: the node, NULL if out of memory
 */
static struct ynode *ynode_new(struct ynode *parent, enum ynode_kind kind, struct profile_mark at)
{
	struct ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->at = at;
	if (!parent)
		return n;
	if (parent->n == parent->cap) {
		size_t ncap = parent->cap ? parent->cap * 2 : 8;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		struct ynode **k = realloc(parent->kids, ncap * sizeof(*k));

		if (!k) {
			free(n);
			return NULL;
		}
		parent->kids = k;
		parent->cap = ncap;
	}
	parent->kids[parent->n++] = n;
	return n;
}

/**
 * check_event() - refuse YAML features profiles don't use
 * @ld:		loader
 * @ev:		event just parsed
 * @docs:	documents seen so far, updated
 *
 * Anchors and aliases would let one value stand in several places, so an
 * error could only name the anchor's line; tags would override types the
 * schema fixes anyway. Neither is worth the confusion in a ten-line file.
 *
 * Return: 0 if the event is acceptable, -1 with @ld->err filled otherwise
 */
static int check_event(const struct loader *ld, const yaml_event_t *ev, unsigned *docs)
{
	struct profile_mark at = mark_of(ev->start_mark);
	const yaml_char_t *anchor = NULL, *tag = NULL;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return ytree_err(ld, at,
			                 "a second YAML document; a profile is a single "
			                 "document: remove the \"---\" and what follows, "
			                 "or move it to its own file");
		return 0;
	case YAML_ALIAS_EVENT:
		return ytree_err(ld, at,
		                 "YAML alias \"*%s\"; profiles don't support anchors and "
		                 "aliases: write the value out in full",
		                 (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default:
		return 0;
	}
	if (anchor)
		return ytree_err(ld, at,
		                 "YAML anchor \"&%s\"; profiles don't support anchors and "
		                 "aliases: remove it and write values out in full",
		                 (const char *)anchor);
	/* libyaml hands over "!!int" expanded; show it as it was written */
	if (tag && str_has_prefix((const char *)tag, "tag:yaml.org,2002:"))
		return ytree_err(ld, at, "YAML tag \"!!%s\"; profiles don't use tags: remove it",
		                 (const char *)tag + strlen("tag:yaml.org,2002:"));
	if (tag)
		return ytree_err(ld, at, "YAML tag \"%s\"; profiles don't use tags: remove it",
		                 (const char *)tag);
	return 0;
}

/**
 * ytree_build() - parse YAML text into a tree of nodes
 * @ld:		loader holding the text
 * @root:	the document's root node, NULL for an empty stream; owned by
 *		the caller also after a failure (ytree_freep())
 *
 * Return: 0 on success, -1 on a syntax error or a refused YAML feature
 */
int ytree_build(const struct loader *ld, struct ynode **root)
{
	_cleanup_(yaml_parser_delete) yaml_parser_t parser;
	struct ynode *stack[YAML_MAX_DEPTH];
	unsigned depth = 0, docs = 0;
	bool done = false;

	*root = NULL;
	if (!yaml_parser_initialize(&parser))
		return qr_err_sys(ld->err, ENOMEM, "%s: parsing YAML", ld->label);
	yaml_parser_set_input_string(&parser, (const unsigned char *)ld->text, ld->len);

	while (!done) {
		_cleanup_(yaml_event_delete) yaml_event_t ev;
		struct ynode *parent = depth ? stack[depth - 1] : NULL, *n;
		struct profile_mark at;

		if (!yaml_parser_parse(&parser, &ev))
			return syntax_error(ld, &parser);
		if (check_event(ld, &ev, &docs) < 0)
			return -1;
		at = mark_of(ev.start_mark);

		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_SCALAR_EVENT:
			n = ynode_new(parent, Y_SCALAR, at);
			if (!n)
				return qr_err_sys(ld->err, ENOMEM, "%s: parsing YAML", ld->label);
			if (!parent)
				*root = n;
			n->len = ev.data.scalar.length;
			n->value = malloc(n->len + 1);
			if (!n->value)
				return qr_err_sys(ld->err, ENOMEM, "%s: parsing YAML", ld->label);
			memcpy(n->value, ev.data.scalar.value, n->len);
			n->value[n->len] = '\0';
			n->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == YAML_MAX_DEPTH)
				return ytree_err(ld, at,
				                 "nested deeper than %d levels; profiles nest "
				                 "at most 4 levels deep (see docs/profiles.md)",
				                 YAML_MAX_DEPTH);
			n = ynode_new(parent, ev.type == YAML_MAPPING_START_EVENT ? Y_MAP : Y_SEQ,
			              at);
			if (!n)
				return qr_err_sys(ld->err, ENOMEM, "%s: parsing YAML", ld->label);
			if (!parent)
				*root = n;
			stack[depth++] = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			/* libyaml pairs every end with its start; if it ever
			 * didn't, depth would wrap and index stack[] far out
			 */
			if (!depth)
				return ytree_err(ld, at, "unbalanced YAML events (a libyaml bug)");
			depth--;
			break;
		default:
			break;
		}
	}
	return 0;
}
