/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - yaml_tree.h: YAML text as a small tree of nodes that know where
 * they start (private to the profile loader, src/profile.c)
 *
 * The profile schema reads this tree instead of libyaml's events, so every
 * schema error can point at the exact line and column of the value it is
 * about. Not in include/qremap/: the tree accepts only what profiles need
 * (src/yaml_tree.c), so it is no general-purpose YAML reader.
 */
#ifndef QREMAP_YAML_TREE_H
#define QREMAP_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "qremap/error.h"
#include "qremap/profile.h"

/**
 * enum ynode_kind - shape of a YAML node
 * @Y_SCALAR:	a single value
 * @Y_SEQ:	a list
 * @Y_MAP:	a mapping; children alternate key, value
 */
enum ynode_kind {
	Y_SCALAR,
	Y_SEQ,
	Y_MAP,
};

/**
 * struct ynode - one node of the parsed document
 * @kind:	scalar, list or mapping
 * @at:		where the node starts, 1-based
 * @value:	scalar text, NUL-terminated (Y_SCALAR only)
 * @len:	length of @value; differs from strlen() if it holds a "\0" escape
 * @quoted:	scalar was written quoted or as a block scalar, so it is a
 *		string even if it looks like a number or is empty
 * @kids:	children (Y_SEQ, Y_MAP)
 * @n:		number of @kids
 * @cap:	allocated @kids
 */
struct ynode {
	enum ynode_kind kind;
	struct profile_mark at;
	char *value;
	size_t len;
	bool quoted;
	struct ynode **kids;
	size_t n;
	size_t cap;
};

/**
 * struct loader - what every check needs to report an error
 * @label:	file name or label shown in messages
 * @text:	the YAML text, to locate reader errors and tabs
 * @len:	length of @text
 * @err:	error object
 */
struct loader {
	const char *label;
	const char *text;
	size_t len;
	struct qr_error *err;
};

void ytree_freep(struct ynode **p);
int ytree_err(const struct loader *ld, struct profile_mark at, const char *fmt, ...) _printf_(3, 4);
int ytree_build(const struct loader *ld, struct ynode **root);

#endif /* QREMAP_YAML_TREE_H */
