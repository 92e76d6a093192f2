// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - bench/bench_util.c: figures, processes and files for the bench
 *
 * A figure is a series of samples printed as "median (min-max)"; commands
 * run with their output captured and their wall time measured.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

/* numbers the scratch directories of the VMs this process starts */
static unsigned vm_seq;

/**
 * mono_ms() - monotonic clock in milliseconds, fractional
 *
 * Return: milliseconds
 */
double mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/**
 * series_add() - record a sample
 * @s:	series
 * @v:	value (NaN is ignored)
 */
void series_add(struct series *s, double v)
{
	if (!isnan(v) && s->n < MAX_RUNS)
		s->v[s->n++] = v;
}

/**
 * cmp_double() - qsort() comparison of doubles
 * @a:	first
 * @b:	second
 *
 * Return: <0, 0 or >0
 */
int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/**
 * series_median() - median of the samples
 * @s:	series
 *
 * Return: the median, NaN if empty
 */
double series_median(const struct series *s)
{
	double v[MAX_RUNS];

	if (!s->n)
		return NAN;
	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

/**
 * series_fmt() - "median (min-max)" with @prec decimals
 * @s:		series
 * @prec:	decimals
 * @buf:	result
 * @len:	its size
 *
 * Return: @buf
 */
const char *series_fmt(const struct series *s, int prec, char *buf, size_t len)
{
	double lo = INFINITY, hi = -INFINITY;

	if (!s->n) {
		snprintf(buf, len, "n/a");
		return buf;
	}
	for (unsigned i = 0; i < s->n; i++) {
		lo = s->v[i] < lo ? s->v[i] : lo;
		hi = s->v[i] > hi ? s->v[i] : hi;
	}
	snprintf(buf, len, "%.*f (%.*f–%.*f)", prec, series_median(s), prec, lo, prec, hi);
	return buf;
}

/**
 * run_capture() - run a command, collect its stdout and stderr, time it
 * @argv:	NULL-terminated
 * @out:	stdout (malloc'd), or NULL to drop it
 * @errs:	stderr (malloc'd), or NULL to drop it
 * @ms:		wall time from fork to exit, or NULL
 *
 * testlib's test_run_capture(), timed, with stderr captured even when the
 * caller drops it (the tables go to stdout, progress to stderr: a tool's
 * chatter belongs in neither).
 *
 * Return: exit status, 128+signal if killed, -1 if it could not run
 */
int run_capture(const char *const *argv, char **out, char **errs, double *ms)
{
	char *e = NULL;
	double t0 = mono_ms();
	int rc = test_run_capture(argv, out, &e);

	if (ms)
		*ms = mono_ms() - t0;
	if (errs)
		*errs = e;
	else
		free(e);
	return rc;
}

/**
 * run_quiet() - run a command, print its output only on failure
 * @argv:	NULL-terminated
 *
 * Return: true if it exited 0
 */
bool run_quiet(const char *const *argv)
{
	char *out = NULL, *errs = NULL;
	int rc = run_capture(argv, &out, &errs, NULL);

	if (rc)
		fprintf(stderr, "%s exited %d: %s%s\n", argv[0], rc, out ? out : "",
		        errs ? errs : "");
	free(out);
	free(errs);
	return rc == 0;
}

/**
 * write_text() - create a file with @text
 * @path:	file
 * @text:	contents
 *
 * Return: true on success
 */
bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/**
 * new_dir() - a fresh scratch directory under the bench's base
 * @o:		options
 * @tag:	name part
 * @buf:	result
 * @len:	its size
 */
void new_dir(const struct bench_opts *o, const char *tag, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s-%u", o->base, tag, vm_seq++);
}

/**
 * qemu_label() - "7.2.22" from "qemu-system-x86_64 -version"
 * @qemu:	binary
 * @buf:	result
 * @len:	its size
 */
void qemu_label(const char *qemu, char *buf, size_t len)
{
	const char *cmd[] = {qemu, "-version", NULL};
	char *out = NULL, *p;

	snprintf(buf, len, "?");
	run_capture(cmd, &out, NULL, NULL);
	if (out && (p = strstr(out, "version ")))
		snprintf(buf, len, "%.*s", (int)strcspn(p + 8, " \n"), p + 8);
	free(out);
}
