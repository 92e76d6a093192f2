/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - table.h: aligned text tables for human output
 *
 * Rows are collected first, then printed with each column as wide as its
 * widest cell, so output lines up whatever the ids and paths are.
 */
#ifndef QREMAP_TABLE_H
#define QREMAP_TABLE_H

#include <stdio.h>

#include "qremap/util.h"

#define TABLE_MAX_COLS 12

struct table {
	unsigned cols;
	char **cells; /* rows * cols, row-major */
	unsigned rows;
};

void table_init(struct table *t, unsigned cols);
void table_add(struct table *t, ...);
void table_addf(struct table *t, unsigned col, const char *fmt, ...) _printf_(3, 4);
void table_print(FILE *f, const struct table *t, const char *indent);
void table_free(struct table *t);

#endif /* QREMAP_TABLE_H */
