// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - bench/scale.c: qremapd with 1, 8 and 32 VMs starting at once
 *
 * What a user of the daemon pays is the time Incus's pre-start stage is held:
 * from the scriptlet's signal (system_reset) to the status line it polls for
 * (handshake.h). Each run starts a fresh qremapd and N fresh fixture VMs
 * (1 NIC + 1 disk, 2 vCPUs, paused, each dialling the daemon), waits until
 * every VM's status chardev exists, then N threads released by one barrier
 * play N scriptlets at once: signal, then ringbuf-read back to back until
 * the line comes. The figures are percentiles over every VM of every run
 * (nearest rank), the remap's own time from the daemon's state files, and
 * the daemon's resident memory: with N idle sessions before the signals,
 * and its peak (VmHWM) after.
 */

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "daemon.h"
#include "fixture.h"
#include "qremap/handshake.h"
#include "qremap/util.h"

#define SCALE_MAX_VMS   32
#define SCALE_SAMPLES   (SCALE_MAX_VMS * MAX_RUNS)
#define CHARDEV_WAIT_MS 30000 /* every VM dialled and got its status chardev */

/* The VM counts of the table */
static const unsigned scale_sizes[] = {1, 8, 32};
#define N_SIZES (sizeof(scale_sizes) / sizeof(scale_sizes[0]))

/**
 * struct scale_vm - one VM of a run, and what its scriptlet saw
 * @f:		fixture
 * @dir:	its directory
 * @name:	its -name (the daemon's key)
 * @barrier:	releases every scriptlet at once
 * @ms:		signal to status line
 * @calls:	QMP calls the scriptlet made
 * @line:	the status line
 * @ok:		the line came, and said "done"
 */
struct scale_vm {
	struct fixture *f;
	char dir[300];
	char name[16];
	pthread_barrier_t *barrier;
	double ms;
	unsigned calls;
	char line[256];
	bool ok;
};

/**
 * struct scale_result - the figures for one VM count
 * @lat:	every VM's added pre-start latency, ms
 * @n_lat:	their number
 * @remap:	every VM's remap total_ms (from the daemon's state file)
 * @n_remap:	their number
 * @polls:	every VM's scriptlet QMP calls
 * @rss_idle:	daemon VmRSS with N sessions, before the signals, KiB
 * @rss_peak:	daemon VmHWM after the run, KiB
 * @failed:	VMs whose status line was not "done"
 */
struct scale_result {
	double lat[SCALE_SAMPLES];
	unsigned n_lat;
	double remap[SCALE_SAMPLES];
	unsigned n_remap;
	double polls[SCALE_SAMPLES];
	struct series rss_idle;
	struct series rss_peak;
	unsigned failed;
};

/**
 * percentile() - nearest-rank percentile
 * @v:		samples (sorted in place)
 * @n:		their number
 * @p:		percentile, 0-100
 *
 * Return: the value, NaN if there are none
 */
static double percentile(double *v, unsigned n, double p)
{
	size_t rank;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	rank = (size_t)ceil(p / 100.0 * n);
	return v[rank ? rank - 1 : 0];
}

/**
 * proc_kib() - a "kB" field of /proc/PID/status
 * @pid:	process
 * @key:	"VmRSS", "VmHWM"
 *
 * Return: KiB, NaN if unreadable
 */
static double proc_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	double v = NAN;
	size_t kl = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtod(line + kl + 1, NULL);
			break;
		}
	fclose(f);
	return v;
}

/**
 * vm_start() - one fixture VM that dials the daemon, with a SATA placeholder
 * @qemu:	QEMU binary
 * @sock:	the daemon's socket
 * @v:		VM (@dir and @name set)
 *
 * Return: true if it started
 */
static bool vm_start(const char *qemu, const char *sock, struct scale_vm *v)
{
	struct qr_error err = {0};
	struct fixture_opts fo;

	fixture_opts_init(&fo);
	fo.qemu = qemu;
	fo.dir = v->dir;
	fo.name = v->name;
	fo.vcpus = 2;
	fo.nics = 1;
	fo.n_disks = 1;
	fo.client_monitor = sock;
	fo.args[fo.n_args++] = "-device";
	fo.args[fo.n_args++] = "ich9-ahci,id=qremap_ahci";
	fo.args[fo.n_args++] = "-blockdev";
	fo.args[fo.n_args++] = "driver=null-co,node-name=qremap_sata0_null,size=67108864,"
	                       "read-zeroes=on";
	fo.args[fo.n_args++] = "-device";
	fo.args[fo.n_args++] = "ide-hd,id=qremap_sata0,drive=qremap_sata0_null,bus=qremap_ahci.0";
	if (fixture_start(&fo, &v->f, &err) < 0) {
		fprintf(stderr, "scale: fixture: %s\n", err.msg);
		v->f = NULL;
		return false;
	}
	return true;
}

/**
 * has_status_chardev() - whether qremapd has created the VM's status chardev
 * @v:	VM
 *
 * Return: 1 yes, 0 not yet, -1 on a QMP failure
 */
static int has_status_chardev(struct scale_vm *v)
{
	struct qr_error err = {0};
	json_t *ret = NULL, *c;
	bool found = false;
	size_t i;

	if (qmp_execute(v->f->incus, "query-chardev", NULL, &ret, &err) < 0)
		return -1;
	json_array_foreach(ret, i, c) found |= !strcmp(
	        str_or(json_string_value(json_object_get(c, "label")), ""), HANDSHAKE_CHARDEV);
	json_decref(ret);
	return found;
}

/**
 * scriptlet() - thread: one VM's pre-start stage, released by the barrier
 * @arg:	struct scale_vm
 *
 * Return: NULL
 */
static void *scriptlet(void *arg)
{
	struct scale_vm *v = arg;
	struct qr_error err = {0};
	size_t have = 0;
	double t0;

	pthread_barrier_wait(v->barrier);
	t0 = mono_ms();
	v->calls = 1;
	if (qmp_execute(v->f->incus, "system_reset", NULL, NULL, &err) < 0) {
		snprintf(v->line, sizeof(v->line), "system_reset: %.200s", err.msg);
		return NULL;
	}
	for (unsigned i = 0; i < HANDSHAKE_MAX_POLLS; i++) {
		json_t *ret = NULL;

		v->calls++;
		if (qmp_executef(v->f->incus, &ret, &err, "ringbuf-read", "{s:s, s:i, s:s}",
		                 "device", HANDSHAKE_CHARDEV, "size", HANDSHAKE_RING_SIZE, "format",
		                 "utf8") < 0) {
			snprintf(v->line, sizeof(v->line), "ringbuf-read: %.200s", err.msg);
			return NULL;
		}
		snprintf(v->line + have, sizeof(v->line) - have, "%s",
		         str_or(json_string_value(ret), ""));
		have = strlen(v->line);
		json_decref(ret);
		if (strchr(v->line, '\n')) {
			v->ms = mono_ms() - t0;
			v->ok = str_has_prefix(v->line, HANDSHAKE_DONE);
			v->line[strcspn(v->line, "\n")] = '\0';
			return NULL;
		}
	}
	snprintf(v->line, sizeof(v->line), "no status line after %u polls", HANDSHAKE_MAX_POLLS);
	return NULL;
}

/**
 * state_total_ms() - the remap's own total_ms from the daemon's state file
 * @dir:	daemon directory
 * @name:	VM name
 *
 * Return: ms, NaN if not there
 */
static double state_total_ms(const char *dir, const char *name)
{
	char path[400];
	json_t *j, *t;
	double v = NAN;

	snprintf(path, sizeof(path), "%s/state/%s.json", dir, name);
	j = json_load_file(path, 0, NULL);
	t = json_object_get(j, "total_ms");
	if (json_is_number(t))
		v = json_number_value(t);
	json_decref(j);
	return v;
}

/**
 * scale_run() - one run with @n VMs; adds to @r
 * @o:		options
 * @qemu:	QEMU binary
 * @n:		VMs
 * @profile:	profile file
 * @r:		results
 *
 * Return: true if every VM was remapped ("done")
 */
static bool scale_run(const struct bench_opts *o, const char *qemu, unsigned n, const char *profile,
                      struct scale_result *r)
{
	static struct scale_vm vms[SCALE_MAX_VMS];
	pthread_t threads[SCALE_MAX_VMS];
	pthread_barrier_t barrier;
	char dir[300];
	bool ok = true;
	unsigned started = 0, ready = 0;
	double deadline;
	struct fx_daemon d = {0};

	new_dir(o, "scale", dir, sizeof(dir));
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return false;
	snprintf(d.dir, sizeof(d.dir), "%.250s", dir);
	if (!fx_daemon_start(&d, o->qremapd, profile, n, NULL))
		return false;
	memset(vms, 0, sizeof(vms));
	for (unsigned i = 0; i < n && ok; i++) {
		snprintf(vms[i].name, sizeof(vms[i].name), "vm%u", i);
		snprintf(vms[i].dir, sizeof(vms[i].dir), "%.280s/vm%u", dir, i);
		ok = mkdir(vms[i].dir, 0755) == 0 && vm_start(qemu, d.sock, &vms[i]);
		started += ok;
	}
	/* every QEMU dialled and got its chardev: what Incus's start would
	 * find at pre-start
	 */
	deadline = mono_ms() + CHARDEV_WAIT_MS;
	while (ok && ready < n && mono_ms() < deadline) {
		ready = 0;
		for (unsigned i = 0; i < n && ok; i++) {
			int h = has_status_chardev(&vms[i]);

			ok = h >= 0;
			ready += h > 0;
		}
		if (ready < n)
			poll(NULL, 0, 20);
	}
	if (ok && ready < n) {
		fprintf(stderr, "scale: only %u of %u VMs got their status chardev in %d ms\n",
		        ready, n, CHARDEV_WAIT_MS);
		ok = false;
	}
	if (ok) {
		series_add(&r->rss_idle, proc_kib(d.pid, "VmRSS"));
		pthread_barrier_init(&barrier, NULL, n + 1);
		for (unsigned i = 0; i < n; i++) {
			vms[i].barrier = &barrier;
			if (pthread_create(&threads[i], NULL, scriptlet, &vms[i]) != 0) {
				perror("pthread_create");
				exit(1);
			}
		}
		pthread_barrier_wait(&barrier);
		for (unsigned i = 0; i < n; i++)
			pthread_join(threads[i], NULL);
		pthread_barrier_destroy(&barrier);
		series_add(&r->rss_peak, proc_kib(d.pid, "VmHWM"));
		for (unsigned i = 0; i < n; i++) {
			if (!vms[i].ok) {
				fprintf(stderr, "scale: %s: %s\n", vms[i].name, vms[i].line);
				r->failed++;
				ok = false;
				continue;
			}
			if (r->n_lat < SCALE_SAMPLES) {
				r->polls[r->n_lat] = vms[i].calls;
				r->lat[r->n_lat++] = vms[i].ms;
			}
			if (r->n_remap < SCALE_SAMPLES)
				r->remap[r->n_remap++] = state_total_ms(dir, vms[i].name);
		}
	}
	fx_daemon_stop(&d);
	for (unsigned i = 0; i < started; i++)
		fixture_destroy(vms[i].f);
	if (ok)
		test_rmtree(dir);
	else
		fprintf(stderr, "scale: kept %s for a look (qremapd.log)\n", dir);
	return ok;
}

/**
 * print_scale() - the daemon-scale table for one QEMU
 * @label:	QEMU version
 * @res:	one result per scale_sizes[]
 * @runs:	runs per size
 */
static void print_scale(const char *label, struct scale_result *res, unsigned runs)
{
	char a[64], b[64];

	printf("\n#### Daemon scale, QEMU %s (%u runs per row; latency percentiles over "
	       "every VM of every run, nearest rank)\n\n",
	       label, runs);
	printf("| VMs at once | samples | added pre-start latency p50 ms | p99 ms | max ms | "
	       "remap itself p50 ms | scriptlet QMP calls p50 | qremapd RSS with N idle "
	       "sessions | qremapd peak RSS (VmHWM) | failed |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t s = 0; s < N_SIZES; s++) {
		struct scale_result *r = &res[s];
		struct series idle = r->rss_idle, peak = r->rss_peak;
		double mx = r->n_lat ? percentile(r->lat, r->n_lat, 100) : NAN;

		for (unsigned i = 0; i < idle.n; i++)
			idle.v[i] /= 1024.0;
		for (unsigned i = 0; i < peak.n; i++)
			peak.v[i] /= 1024.0;
		printf("| %u | %u | %.1f | %.1f | %.1f | %.1f | %.0f | %s MiB | %s MiB | %u |\n",
		       scale_sizes[s], r->n_lat, percentile(r->lat, r->n_lat, 50),
		       percentile(r->lat, r->n_lat, 99), mx, percentile(r->remap, r->n_remap, 50),
		       percentile(r->polls, r->n_lat, 50), series_fmt(&idle, 1, a, sizeof(a)),
		       series_fmt(&peak, 1, b, sizeof(b)), r->failed);
	}
}

/**
 * scale_section() - daemon scale for one QEMU: 1, 8 and 32 VMs at once
 * @o:		options
 * @qemu:	QEMU binary
 * @label:	its version, for the table
 *
 * Return: true if every run worked
 */
bool scale_section(const struct bench_opts *o, const char *qemu, const char *label)
{
	static struct scale_result res[N_SIZES];
	char profile[320];
	bool ok = true;

	snprintf(profile, sizeof(profile), "%s/scale.yaml", o->base);
	if (!write_text(profile, "qremap_profile: 1\nname: bench-scale\n"
	                         "nics:\n  - {match: \"*\", to: usb-net, mac_rewritten: warn}\n"
	                         "disks:\n  - {match: \"*\", to: sata}\n"))
		return false;
	memset(res, 0, sizeof(res));
	for (size_t s = 0; s < N_SIZES; s++)
		for (unsigned run = 0; run < o->runs; run++) {
			fprintf(stderr, "scale: QEMU %s, %u VMs, run %u/%u\n", label,
			        scale_sizes[s], run + 1, o->runs);
			ok &= scale_run(o, qemu, scale_sizes[s], profile, &res[s]);
		}
	print_scale(label, res, o->runs);
	return ok;
}
