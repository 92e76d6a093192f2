// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - table.c: aligned text tables */

#include <stdarg.h>
#include <string.h>

#include "qremap/table.h"

/**
 * table_init() - start an empty table
 * @t:		table
 * @cols:	number of columns, at most TABLE_MAX_COLS
 */
void table_init(struct table *t, unsigned cols)
{
	t->cols = cols > TABLE_MAX_COLS ? TABLE_MAX_COLS : cols;
	t->cells = NULL;
	t->rows = 0;
}

static char *dup_or_empty(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort(); /* output formatting has no sensible recovery from OOM */
	return d;
}

/**
 * table_add() - append a row
 * @t:		table
 * @...:	exactly @t->cols strings (NULL prints as empty)
 */
void table_add(struct table *t, ...)
{
	char **n = realloc(t->cells, (size_t)(t->rows + 1) * t->cols * sizeof(*n));
	va_list ap;
	unsigned i;

	if (!n)
		abort();
	t->cells = n;
	va_start(ap, t);
	for (i = 0; i < t->cols; i++)
		t->cells[t->rows * t->cols + i] = dup_or_empty(va_arg(ap, const char *));
	va_end(ap);
	t->rows++;
}

/**
 * table_addf() - replace one cell of the last row with formatted text
 * @t:		table with at least one row
 * @col:	column
 * @fmt:	printf-style format
 */
void table_addf(struct table *t, unsigned col, const char *fmt, ...)
{
	char **cell = &t->cells[(t->rows - 1) * t->cols + col];
	va_list ap;

	free(*cell);
	va_start(ap, fmt);
	if (vasprintf(cell, fmt, ap) < 0)
		abort();
	va_end(ap);
}

/**
 * table_print() - print all rows, columns padded to their widest cell
 * @f:		stream
 * @t:		table
 * @indent:	prefix for every line
 */
void table_print(FILE *f, const struct table *t, const char *indent)
{
	size_t w[TABLE_MAX_COLS] = {0};
	unsigned r, c;

	for (r = 0; r < t->rows; r++)
		for (c = 0; c < t->cols; c++) {
			size_t l = strlen(t->cells[r * t->cols + c]);

			if (l > w[c])
				w[c] = l;
		}
	for (r = 0; r < t->rows; r++) {
		fputs(indent, f);
		for (c = 0; c < t->cols; c++) {
			const char *s = t->cells[r * t->cols + c];

			if (c + 1 == t->cols)
				fputs(s, f);
			else
				fprintf(f, "%-*s  ", (int)w[c], s);
		}
		fputc('\n', f);
	}
}

/**
 * table_free() - release a table
 * @t:	table
 */
void table_free(struct table *t)
{
	unsigned i;

	for (i = 0; i < t->rows * t->cols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->rows = 0;
}
