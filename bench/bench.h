/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - bench/bench.h: what the benchmark sections share
 *
 * qremap-bench.c has main(), the remap-latency and the data-plane sections;
 * scale.c the daemon-scale section; bench_util.c the figures (a series of
 * samples, its median and range) and small process and file helpers.
 */
#ifndef QREMAP_BENCH_H
#define QREMAP_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "testlib.h" /* test_rmtree() */

#define MAX_RUNS  32
#define MAX_QEMUS 4

/**
 * struct bench_opts - command line
 * @qemus:	QEMU binaries to run against
 * @n_qemus:	their number
 * @qremap:	the qremap binary
 * @guest_dir:	test guest (vmlinuz, initrd.img)
 * @runs:	runs per figure
 * @seconds:	length of each TCP transfer
 * @qremapd:	the qremapd binary
 * @latency:	run the latency section
 * @data:	run the data-plane section
 * @scale:	run the daemon-scale section
 * @models:	data plane: comma-separated frontends to measure (remapped and
 *		ceiling rows), NULL for all
 * @base:	scratch directory (created)
 */
struct bench_opts {
	const char *qemus[MAX_QEMUS];
	unsigned n_qemus;
	const char *qremap;
	const char *qremapd;
	const char *guest_dir;
	unsigned runs;
	unsigned seconds;
	bool latency;
	bool data;
	bool scale;
	const char *models;
	char base[256];
};

/**
 * struct series - samples of one figure
 * @v:	values
 * @n:	count
 */
struct series {
	double v[MAX_RUNS];
	unsigned n;
};

double mono_ms(void);
int cmp_double(const void *a, const void *b);
void series_add(struct series *s, double v);
double series_median(const struct series *s);
const char *series_fmt(const struct series *s, int prec, char *buf, size_t len);
int run_capture(const char *const *argv, char **out, char **errs, double *ms);
bool run_quiet(const char *const *argv);
bool write_text(const char *path, const char *text);
void new_dir(const struct bench_opts *o, const char *tag, char *buf, size_t len);
void qemu_label(const char *qemu, char *buf, size_t len);

bool scale_section(const struct bench_opts *o, const char *qemu, const char *label);

#endif /* QREMAP_BENCH_H */
