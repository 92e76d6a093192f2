// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_remap_exec.c: the executor against a scripted peer
 *
 * remap_apply() decides, when a step fails, whether going back is still
 * possible and what the VM looks like afterwards. Those decisions only show
 * when things go wrong, and real QEMU can't be made to refuse step k on
 * demand, hang up mid-remap or never send DEVICE_DELETED. The fake peer can.
 *
 * The VM is a hand-built inventory with two Incus disks (a scsi-hd root and
 * a virtio-blk-pci data disk) and two SATA placeholders; NICs need real taps
 * and are left to the integration tests. One table, golden_rows[] (of struct
 * golden_row, golden_rows.h, the row type test_remap_nic_faults.c uses too),
 * holds every plan step with the exact QMP conversation of a good run and of
 * its undo; each test builds its peer script from that table at run time
 * (all steps before k go well, step k is refused, then exactly the undos
 * that must follow), so "error at every step" is one loop rather than 30
 * scripts, and a change in the planner's steps shows up as one table edit.
 */

#include <string.h>
#include <unistd.h>

#include "qremap/log.h"
#include "qremap/plan.h"
#include "qremap/profile.h"
#include "qremap/qmp.h"
#include "qremap/remap.h"
#include "qremap/util.h"
#include "fakeqmp.h"
#include "golden_rows.h"
#include "remap_checks.h"
#include "testlib.h"

/* Bound for the handshake; never reached unless something broke */
#define OK_WAIT_MS 5000
/* The profile's timeouts: generous, since a good peer answers at once */
#define PROFILE_QMP_MS    2000
#define PROFILE_UNPLUG_MS 2000
/* Unplug bound for the tests where DEVICE_DELETED never comes */
#define SHORT_UNPLUG_MS 300
/* A remap whose peer goes quiet must end well before this ("no hang") */
#define HANG_MS 4000

#define SIZE_ROOT 67108864ULL /* 64 MiB */
#define SIZE_DATA 33554432ULL /* 32 MiB */

#define ROWS_MAX 16

/* What QEMU says when the devices go: scsi-hd sends one DEVICE_DELETED;
 * virtio devices first send one for their virtio-backend child, with only a
 * "path", which must not be taken for the device itself.
 */
#define ROOT_GONE                                                                                  \
	"{\"device\": \"dev-incus_root\", \"path\": \"/machine/peripheral/dev-incus_root\"}"
#define DATA_BACKEND_GONE "{\"path\": \"/machine/peripheral/dev-incus_data/virtio-backend\"}"
#define DATA_GONE                                                                                  \
	"{\"device\": \"dev-incus_data\", \"path\": \"/machine/peripheral/dev-incus_data\"}"
#define RESET_EVENT "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}"

/* query-block once remapped: each Incus node on its placeholder only */
#define QUERY_BLOCK_AFTER                                                                          \
	"[{\"device\": \"\", \"qdev\": \"/machine/peripheral/qremap_sata0\", \"locked\": false, "  \
	"\"removable\": false, \"type\": \"unknown\", \"inserted\": {\"node-name\": "              \
	"\"incus_root\", \"drv\": \"file\", \"file\": \"/dev/fdset/0\", \"image\": "               \
	"{\"filename\": "                                                                          \
	"\"/dev/fdset/0\", \"format\": \"file\", \"virtual-size\": 67108864}}}, "                  \
	"{\"device\": \"\", \"qdev\": \"/machine/peripheral/qremap_sata1\", \"locked\": false, "   \
	"\"removable\": false, \"type\": \"unknown\", \"inserted\": {\"node-name\": "              \
	"\"incus_data\", \"drv\": \"file\", \"file\": \"/dev/fdset/1\", \"image\": "               \
	"{\"filename\": "                                                                          \
	"\"/dev/fdset/1\", \"format\": \"file\", \"virtual-size\": 33554432}}}]"
/* query-block if incus_root were still on the original as well */
#define QUERY_BLOCK_ROOT_TWICE                                                                     \
	"[{\"device\": \"\", \"qdev\": \"/machine/peripheral/qremap_sata0\", \"inserted\": "       \
	"{\"node-name\": \"incus_root\", \"image\": {\"virtual-size\": 67108864}}}, "              \
	"{\"device\": \"\", \"qdev\": \"/machine/peripheral/dev-incus_root\", "                    \
	"\"inserted\": {\"node-name\": \"incus_root\", \"image\": {\"virtual-size\": 67108864}}}]"
/* qom-list /machine/peripheral once remapped: the originals are gone */
#define QOM_LIST_AFTER                                                                             \
	"[{\"name\": \"type\", \"type\": \"string\"}, {\"name\": \"qremap_ahci\", \"type\": "      \
	"\"child<ich9-ahci>\"}, {\"name\": \"qremap_sata0\", \"type\": \"child<ide-hd>\"}, "       \
	"{\"name\": \"qremap_sata1\", \"type\": \"child<ide-hd>\"}]"
#define QOM_LIST_PERIPHERAL "{\"path\": \"/machine/peripheral\"}"

/**
 * enum row_set - which plans a row of the golden table belongs to
 * @ROW_NATIVE:	native PCIe hotplug
 * @ROW_ACPI:	ACPI PCI hotplug
 * @ROW_BOTH:	every mode
 */
enum row_set {
	ROW_NATIVE = 1 << 0,
	ROW_ACPI = 1 << 1,
	ROW_BOTH = ROW_NATIVE | ROW_ACPI,
};

/* Indices into the rows of one plan (see rows_for()), for tests that cut
 * one short
 */
enum {
	ROW_DATA_PREPARE = 3, /* first of the data disk's three prepare rows */
	ROW_DEL_ROOT = 6,
	ROW_DEL_DATA = 7,
	ROW_RESET = 8, /* ACPI only */
};

/* A phase-A step: one command, its undo, both simply answered {} */
#define PREPARE_ROW(w, c, a, uc, ua)                                                               \
	{                                                                                          \
		.sets = ROW_BOTH, .kind = STEP_QMP, .on_error = F_ROLLBACK, .what = (w),           \
		.cmd = (c), .args = (a), .undo_cmd = (uc), .undo_args = (ua),                      \
		.after = {FQ_RETURN("{}")}, .undo_after = {                                        \
			FQ_RETURN("{}")                                                            \
		}                                                                                  \
	}
/* A tidying step: best effort, no undo */
#define TIDY_ROW(w, c, a)                                                                          \
	{                                                                                          \
		.sets = ROW_BOTH, .kind = STEP_QMP, .commit = true, .on_error = F_IGNORED,         \
		.what = (w), .cmd = (c), .args = (a), .after = {                                   \
			FQ_RETURN("{}")                                                            \
		}                                                                                  \
	}
/* The first verify-disk step reads what every one checks, sent together:
 * query-block and qom-list of the peripherals (a plan without NICs has no
 * "info network"); the steps after it ask nothing
 */
#define VERIFY_ROW(w)                                                                              \
	{                                                                                          \
		.sets = ROW_BOTH, .kind = STEP_VERIFY_DISK, .commit = true, .on_error = F_UNSAFE,  \
		.what = (w), .cmd = "query-block", .after = {                                      \
			FQ_RETURN(QUERY_BLOCK_AFTER),                                              \
			FQ_EXPECT_ARGS("qom-list", QOM_LIST_PERIPHERAL),                           \
			FQ_RETURN(QOM_LIST_AFTER)                                                  \
		}                                                                                  \
	}
#define VERIFY_ROW_READ(w)                                                                         \
	{                                                                                          \
		.sets = ROW_BOTH, .kind = STEP_VERIFY_DISK, .commit = true, .on_error = F_UNSAFE,  \
		.what = (w)                                                                        \
	}

/* The golden table: both plans' steps in order, mode rows interleaved. */
static const struct golden_row golden_rows[] = {
        /* phase A, root */
        PREPARE_ROW("add null node qremap-null-root", "blockdev-add",
                    "{\"driver\": \"null-co\", \"node-name\": \"qremap-null-root\", "
                    "\"size\": 67108864, \"read-zeroes\": true}",
                    "blockdev-del", "{\"node-name\": \"qremap-null-root\"}"),
        PREPARE_ROW("take incus_root away from dev-incus_root", "qom-set",
                    "{\"path\": \"dev-incus_root\", \"property\": \"drive\", "
                    "\"value\": \"qremap-null-root\"}",
                    "qom-set",
                    "{\"path\": \"dev-incus_root\", \"property\": \"drive\", "
                    "\"value\": \"incus_root\"}"),
        PREPARE_ROW("attach incus_root to placeholder qremap_sata0", "qom-set",
                    "{\"path\": \"qremap_sata0\", \"property\": \"drive\", "
                    "\"value\": \"incus_root\"}",
                    "qom-set",
                    "{\"path\": \"qremap_sata0\", \"property\": \"drive\", "
                    "\"value\": \"qremap_sata0_null\"}"),
        /* phase A, data */
        PREPARE_ROW("add null node qremap-null-data", "blockdev-add",
                    "{\"driver\": \"null-co\", \"node-name\": \"qremap-null-data\", "
                    "\"size\": 33554432, \"read-zeroes\": true}",
                    "blockdev-del", "{\"node-name\": \"qremap-null-data\"}"),
        PREPARE_ROW("take incus_data away from dev-incus_data", "qom-set",
                    "{\"path\": \"dev-incus_data\", \"property\": \"drive\", "
                    "\"value\": \"qremap-null-data\"}",
                    "qom-set",
                    "{\"path\": \"dev-incus_data\", \"property\": \"drive\", "
                    "\"value\": \"incus_data\"}"),
        PREPARE_ROW("attach incus_data to placeholder qremap_sata1", "qom-set",
                    "{\"path\": \"qremap_sata1\", \"property\": \"drive\", "
                    "\"value\": \"incus_data\"}",
                    "qom-set",
                    "{\"path\": \"qremap_sata1\", \"property\": \"drive\", "
                    "\"value\": \"qremap_sata1_null\"}"),
        /* Phase B. A refused first device_del changes nothing: still a
         * rollback. scsi-hd unplugs synchronously, so QEMU sends its
         * DEVICE_DELETED before the reply; the client must find it queued.
         */
        {.sets = ROW_BOTH,
         .kind = STEP_DEVICE_DEL,
         .commit = true,
         .on_error = F_ROLLBACK,
         .what = "remove dev-incus_root (scsi-hd)",
         .cmd = "device_del",
         .args = "{\"id\": \"dev-incus_root\"}",
         .after = {FQ_EVENT("DEVICE_DELETED", ROOT_GONE), FQ_RETURN("{}")}},
        /* Native PCIe: the events come after the reply, backend first */
        {.sets = ROW_NATIVE,
         .kind = STEP_DEVICE_DEL,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "remove dev-incus_data (virtio-blk-pci)",
         .cmd = "device_del",
         .args = "{\"id\": \"dev-incus_data\"}",
         .after = {FQ_RETURN("{}"), FQ_EVENT("DEVICE_DELETED", DATA_BACKEND_GONE),
                   FQ_EVENT("DEVICE_DELETED", DATA_GONE)}},
        /* ACPI: the unplug waits for reset; the executor must not wait */
        {.sets = ROW_ACPI,
         .kind = STEP_DEVICE_DEL,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "remove dev-incus_data (virtio-blk-pci)",
         .cmd = "device_del",
         .args = "{\"id\": \"dev-incus_data\"}",
         .after = {FQ_RETURN("{}")}},
        {.sets = ROW_ACPI,
         .kind = STEP_RESET,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "reset the paused VM",
         .cmd = "system_reset",
         .after = {FQ_RETURN("{}"), FQ_EVENT("RESET", RESET_EVENT),
                   FQ_EVENT("DEVICE_DELETED", DATA_BACKEND_GONE),
                   FQ_EVENT("DEVICE_DELETED", DATA_GONE)}},
        TIDY_ROW("delete null node qremap-null-root", "blockdev-del",
                 "{\"node-name\": \"qremap-null-root\"}"),
        TIDY_ROW("delete null node qremap-null-data", "blockdev-del",
                 "{\"node-name\": \"qremap-null-data\"}"),
        VERIFY_ROW("verify incus_root: only qremap_sata0 uses it, dev-incus_root is gone"),
        VERIFY_ROW_READ("verify incus_data: only qremap_sata1 uses it, dev-incus_data is gone"),
};

/**
 * struct rows - the golden rows of one plan, in step order
 * @r:	rows (copies, so that a test can patch one)
 * @n:	number of @r
 */
struct rows {
	struct golden_row r[ROWS_MAX];
	size_t n;
};

/**
 * struct fixture - a VM, a profile and their plan
 * @ctrl:	the AHCI controller
 * @disks:	two Incus disks, two placeholders
 * @inv:	inventory over @ctrl and @disks (static arrays: never freed)
 * @prof:	profile
 * @plan:	plan_build() of the two
 */
struct fixture {
	struct inv_controller ctrl[1];
	struct inv_disk disks[4];
	struct vm_inventory inv;
	struct profile prof;
	struct plan plan;
};

/* Every disk to SATA, timeouts bounded so that no test can hang */
static const char profile_all[] = "qremap_profile: 1\n"
                                  "name: t\n"
                                  "disks:\n"
                                  "  - match: \"*\"\n"
                                  "    to: sata\n"
                                  "    ahci: qremap_ahci\n"
                                  "timeouts: {qmp_ms: 2000, unplug_ms: 2000}\n";

/* Only the data disk, onto the placeholder of its size */
static const char profile_data[] = "qremap_profile: 1\n"
                                   "name: t\n"
                                   "disks:\n"
                                   "  - match: data\n"
                                   "    to: sata\n"
                                   "    ahci: qremap_ahci\n"
                                   "    placeholders: [qremap_sata1]\n"
                                   "timeouts: {qmp_ms: 300, unplug_ms: 2000}\n";

/**
 * verbose() - whether to show plans and reports (QREMAP_TEST_VERBOSE set)
 *
 * Return: true if so
 */
static bool verbose(void)
{
	return getenv("QREMAP_TEST_VERBOSE") != NULL;
}

/**
 * set_disk() - fill one inventory disk
 * @d:			disk
 * @id:			qdev id
 * @driver:		device type
 * @bus:		bus it sits on
 * @node:		inserted node
 * @format:		that node's driver
 * @size:		bytes
 * @placeholder:	a cold-plugged ide-hd placeholder (else an Incus disk)
 */
static void set_disk(struct inv_disk *d, const char *id, const char *driver, const char *bus,
                     const char *node, const char *format, uint64_t size, bool placeholder)
{
	memset(d, 0, sizeof(*d));
	str_copy(d->id, sizeof(d->id), id);
	str_copy(d->driver, sizeof(d->driver), driver);
	str_copy(d->bus, sizeof(d->bus), bus);
	str_copy(d->node, sizeof(d->node), node);
	str_copy(d->format, sizeof(d->format), format);
	d->has_medium = true;
	d->fdset = -1;
	d->size = size;
	d->incus = !placeholder;
	d->placeholder = placeholder;
}

/**
 * fixture_new_sized() - the test VM in one hotplug mode, and its plan
 * @mode:	HOTPLUG_NATIVE or HOTPLUG_ACPI
 * @yaml:	profile text
 * @size0:	size of placeholder qremap_sata0 (port 0)
 * @size1:	size of placeholder qremap_sata1 (port 1)
 *
 * Return: the fixture (free with fixture_free()), NULL on failure (said on
 *	   stderr)
 */
static struct fixture *fixture_new_sized(enum hotplug_mode mode, const char *yaml, uint64_t size0,
                                         uint64_t size1)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vm_inventory *inv;
	struct qr_error err = {0};

	if (!f)
		return NULL;
	/* The executor logs every step; only its errors are worth seeing here */
	log_set_level(verbose() ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	inv = &f->inv;
	inv->version = (struct qmp_version){.major = 10, .minor = 0, .micro = 2};
	inv->pid = -1;
	str_copy(inv->runstate, sizeof(inv->runstate), "prelaunch");
	str_copy(inv->machine, sizeof(inv->machine), "pc-q35-10.0-machine");
	inv->hotplug = mode;

	str_copy(f->ctrl[0].id, sizeof(f->ctrl[0].id), "qremap_ahci");
	str_copy(f->ctrl[0].driver, sizeof(f->ctrl[0].driver), "ich9-ahci");
	str_copy(f->ctrl[0].bus, sizeof(f->ctrl[0].bus), "qremap_ahci.0");
	f->ctrl[0].kind = CTRL_SATA;
	f->ctrl[0].ports = 6;
	f->ctrl[0].n_used = 2;
	inv->ctrl = f->ctrl;
	inv->n_ctrl = 1;

	set_disk(&f->disks[0], "dev-incus_root", "scsi-hd", "qemu_scsi.0", "incus_root", "file",
	         SIZE_ROOT, false);
	set_disk(&f->disks[1], "dev-incus_data", "virtio-blk-pci", "qemu_pcie5", "incus_data",
	         "file", SIZE_DATA, false);
	set_disk(&f->disks[2], "qremap_sata0", "ide-hd", "qremap_ahci.0", "qremap_sata0_null",
	         "null-co", size0, true);
	set_disk(&f->disks[3], "qremap_sata1", "ide-hd", "qremap_ahci.1", "qremap_sata1_null",
	         "null-co", size1, true);
	inv->disks = f->disks;
	inv->n_disks = 4;

	if (profile_load_string("test-profile", yaml, strlen(yaml), &f->prof, &err) < 0 ||
	    plan_build(inv, &f->prof, &f->plan, &err) < 0) {
		fprintf(stderr, "building the plan: %s\n", err.msg);
		plan_free(&f->plan);
		free(f);
		return NULL;
	}
	if (verbose())
		plan_print(stderr, &f->plan);
	return f;
}

/**
 * fixture_new() - the test VM with placeholders in its disks' order
 * @mode:	HOTPLUG_NATIVE or HOTPLUG_ACPI
 * @yaml:	profile text
 *
 * Return: as fixture_new_sized()
 */
static struct fixture *fixture_new(enum hotplug_mode mode, const char *yaml)
{
	return fixture_new_sized(mode, yaml, SIZE_ROOT, SIZE_DATA);
}

/**
 * fixture_free() - free a fixture and its plan
 * @f:	fixture, or NULL
 */
static void fixture_free(struct fixture *f)
{
	if (!f)
		return;
	plan_free(&f->plan);
	free(f);
}

/**
 * rows_for() - the golden rows of the plan for one hotplug mode
 * @mode:	HOTPLUG_NATIVE or HOTPLUG_ACPI
 * @out:	result
 */
static void rows_for(enum hotplug_mode mode, struct rows *out)
{
	unsigned set = mode == HOTPLUG_ACPI ? ROW_ACPI : ROW_NATIVE;

	out->n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(golden_rows); i++)
		if (golden_rows[i].sets & set)
			out->r[out->n++] = golden_rows[i];
}

/**
 * push_cmd() - append the peer's expectation of a row's first command
 * @sc:	script
 * @r:	row
 */
static void push_cmd(struct fq_script *sc, const struct golden_row *r)
{
	if (r->cmd)
		fq_script_push(sc, (struct fq_step)FQ_EXPECT_ARGS(r->cmd, r->args));
}

/**
 * push_good() - append a row's whole good-run conversation
 * @sc:	script
 * @r:	row
 */
static void push_good(struct fq_script *sc, const struct golden_row *r)
{
	push_cmd(sc, r);
	if (r->cmd)
		fq_script_push_list(sc, r->after, GOLDEN_AFTER_MAX);
}

/**
 * push_undo() - append a row's undo, answered as QEMU would, if it has one
 * @sc:	script
 * @r:	row
 */
static void push_undo(struct fq_script *sc, const struct golden_row *r)
{
	if (!r->undo_cmd)
		return;
	fq_script_push(sc, (struct fq_step)FQ_EXPECT_ARGS(r->undo_cmd, r->undo_args));
	fq_script_push_list(sc, r->undo_after, GOLDEN_AFTER_MAX);
}

/**
 * run_remap() - apply a plan against a peer playing @sc
 * @sc:		the peer's script
 * @plan:	plan
 * @quit:	opts.quit_on_unsafe
 * @rep:	report (free with remap_report_free())
 * @ms:		how long remap_apply() took, or NULL
 * @label:	names the case in failure messages
 *
 * Return: true if the client said exactly what @sc expected
 */
static bool run_remap(const struct fq_script *sc, const struct plan *plan, bool quit,
                      struct remap_report *rep, int64_t *ms, const char *label)
{
	struct remap_opts opts = {.pid = 0, .quit_on_unsafe = quit};
	struct qmp_client *c = NULL;
	struct qr_error err = {0};
	struct fakeqmp *fq;
	char why[600] = "";
	int64_t t0;
	int fd;
	bool ok;

	memset(rep, 0, sizeof(*rep));
	fq = fakeqmp_start(sc->s, sc->n, &fd);
	if (!fq)
		return false;
	if (qmp_adopt_fd(fd, "fakeqmp", &c, &err) < 0 || qmp_handshake(c, OK_WAIT_MS, &err) < 0) {
		fprintf(stderr, "%s: connecting: %s\n", label, err.msg);
		qmp_close(c);
		fakeqmp_finish(fq, why, sizeof(why));
		return false;
	}
	t0 = now_ms();
	remap_apply(c, plan, &opts, rep);
	if (ms)
		*ms = now_ms() - t0;
	if (verbose())
		remap_report_print(stderr, rep, plan);
	/* Close first: the script ends with the peer waiting for EOF */
	qmp_close(c);
	ok = fakeqmp_finish(fq, why, sizeof(why)) == 0;
	if (!ok)
		fprintf(stderr, "%s: fake peer: %s\n", label, why);
	return ok;
}

/**
 * check_plan() - the plan has exactly the golden rows' steps
 * @plan:	plan
 * @rows:	golden rows for it
 */
static void check_plan(const struct plan *plan, const struct rows *rows)
{
	CHECK_INT(plan->verdict, PLAN_READY);
	REQUIRE(plan->n_steps == rows->n);
	for (size_t i = 0; i < rows->n; i++) {
		const struct plan_step *s = &plan->steps[i];
		const struct golden_row *r = &rows->r[i];

		CHECK_INT(s->kind, r->kind);
		CHECK_INT(s->commit, r->commit);
		CHECK_INT(s->best_effort, r->on_error == F_IGNORED);
		CHECK_CONTAINS(s->what, r->what);
		check_step_golden(s, r->cmd, r->args, r->undo_cmd, r->undo_args);
	}
}

/* The planner turns the VM into exactly the golden steps, in both modes:
 * prepare (null node, drive swaps) per disk, then the device_dels, the reset
 * only under ACPI (a virtio-blk-pci original waits for it), tidying, verify.
 */
static void test_plan_steps(void)
{
	static const enum hotplug_mode modes[] = {HOTPLUG_NATIVE, HOTPLUG_ACPI};

	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		struct fixture *f = fixture_new(modes[m], profile_all);
		struct rows rows;

		REQUIRE(f);
		rows_for(modes[m], &rows);
		CHECK_INT(f->plan.n_disks, 2);
		CHECK_INT(f->plan.n_nics, 0);
		CHECK_INT(f->plan.acpi_pending, modes[m] == HOTPLUG_ACPI);
		CHECK_INT(f->plan.qmp_timeout_ms, PROFILE_QMP_MS);
		CHECK_INT(f->plan.unplug_timeout_ms, PROFILE_UNPLUG_MS);
		if (f->plan.n_disks == 2) {
			CHECK_STR(f->plan.disks[0].placeholder, "qremap_sata0");
			CHECK_STR(f->plan.disks[0].placeholder_node, "qremap_sata0_null");
			CHECK_STR(f->plan.disks[1].placeholder, "qremap_sata1");
			CHECK_STR(f->plan.disks[1].null_node, "qremap-null-data");
		}
		check_plan(&f->plan, &rows);
		fixture_free(f);
	}
}

/* The good run, in both modes: every step's golden conversation in order,
 * nothing more, outcome done. Under ACPI the data disk's device_del is not
 * waited for (no event is scripted after it: waiting would time out), and
 * its DEVICE_DELETED, after system_reset, completes the reset step.
 */
static void test_success(void)
{
	static const enum hotplug_mode modes[] = {HOTPLUG_NATIVE, HOTPLUG_ACPI};

	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		struct fixture *f = fixture_new(modes[m], profile_all);
		struct remap_report rep;
		struct fq_script sc;
		struct rows rows;
		enum step_result want[ROWS_MAX];

		REQUIRE(f);
		rows_for(modes[m], &rows);
		fq_script_start(&sc);
		for (size_t i = 0; i < rows.n; i++) {
			push_good(&sc, &rows.r[i]);
			want[i] = STEP_DONE;
		}
		fq_script_end(&sc, false);
		CHECK(run_remap(&sc, &f->plan, true, &rep, NULL, hotplug_mode_str(modes[m])));
		CHECK_INT(rep.outcome, REMAP_DONE);
		CHECK_INT(rep.failed, -1);
		CHECK_INT(rep.error.kind, QR_OK);
		CHECK_INT(rep.undo_error.kind, QR_OK);
		CHECK(!rep.quit_sent);
		check_results(&rep, want, rows.n, hotplug_mode_str(modes[m]));
		if (rep.notes) {
			CHECK_CONTAINS(rep.notes[rows.n - 2], "incus_root on qremap_sata0 only");
			CHECK_CONTAINS(rep.notes[rows.n - 1], "incus_data on qremap_sata1 only");
		}
		if (rep.notes && modes[m] == HOTPLUG_ACPI) {
			CHECK_CONTAINS(rep.notes[ROW_DEL_DATA], "pending until reset");
			CHECK_CONTAINS(rep.notes[ROW_RESET], "1 pending unplug(s) completed");
		}
		remap_report_free(&rep);
		fixture_free(f);
	}
}

/**
 * error_case() - QEMU refuses the first command of step @k
 * @mode:	hotplug mode
 * @k:		step
 * @quit:	opts.quit_on_unsafe
 *
 * The peer answers the steps before @k as in a good run, answers @k with an
 * error, then expects what the row's fault says must follow: the undos of
 * every earlier step in reverse, the rest of the remap, or nothing (but
 * "quit" if asked to).
 */
static void error_case(enum hotplug_mode mode, size_t k, bool quit)
{
	struct fixture *f = fixture_new(mode, profile_all);
	enum step_result want[ROWS_MAX];
	struct remap_report rep;
	struct fq_script sc;
	struct rows rows;
	const struct golden_row *r;
	enum remap_outcome outcome;
	char label[96];

	REQUIRE(f);
	rows_for(mode, &rows);
	REQUIRE(k < rows.n);
	r = &rows.r[k];
	snprintf(label, sizeof(label), "%s, error at step %zu (%s), quit_on_unsafe %d",
	         hotplug_mode_str(mode), k, r->cmd, quit);

	fq_script_start(&sc);
	for (size_t i = 0; i < k; i++)
		push_good(&sc, &rows.r[i]);
	push_cmd(&sc, r);
	fq_script_push(&sc, (struct fq_step)FQ_ERROR("GenericError", "injected"));
	/* a verification's reading is a batch: QEMU answers the rest of it */
	if (r->kind == STEP_VERIFY_DISK)
		fq_script_push_list(&sc, r->after + 1, GOLDEN_AFTER_MAX - 1);
	for (size_t i = 0; i < rows.n; i++)
		want[i] = i < k ? STEP_DONE : STEP_NOT_RUN;
	want[k] = STEP_FAILED;
	switch (r->on_error) {
	case F_ROLLBACK:
		for (size_t i = k; i-- > 0;) {
			push_undo(&sc, &rows.r[i]);
			want[i] = STEP_UNDONE;
		}
		outcome = REMAP_ROLLED_BACK;
		fq_script_end(&sc, false);
		break;
	case F_UNSAFE:
		outcome = REMAP_UNSAFE;
		fq_script_end(&sc, quit);
		break;
	case F_IGNORED:
	default:
		for (size_t i = k + 1; i < rows.n; i++) {
			push_good(&sc, &rows.r[i]);
			want[i] = STEP_DONE;
		}
		outcome = REMAP_DONE;
		fq_script_end(&sc, false);
		break;
	}

	CHECK(run_remap(&sc, &f->plan, quit, &rep, NULL, label));
	if (rep.outcome != outcome)
		fprintf(stderr, "%s: outcome %s, expected %s\n", label,
		        remap_outcome_str(rep.outcome), remap_outcome_str(outcome));
	CHECK_INT(rep.outcome, outcome);
	CHECK_INT(rep.undo_error.kind, QR_OK);
	CHECK_INT(rep.quit_sent, quit && outcome == REMAP_UNSAFE);
	check_results(&rep, want, rows.n, label);
	if (r->on_error == F_IGNORED) {
		/* reported in the step's note, not as the remap's error */
		CHECK_INT(rep.failed, -1);
		CHECK_INT(rep.error.kind, QR_OK);
		if (rep.notes)
			CHECK_CONTAINS(rep.notes[k], "injected");
	} else {
		CHECK_INT(rep.failed, (long)k);
		CHECK_INT(rep.error.kind, QR_ERR_QMP);
		CHECK_STR(rep.error.qmp_class, "GenericError");
		CHECK_CONTAINS(rep.error.msg, "injected");
	}
	remap_report_free(&rep);
	fixture_free(f);
}

/* QEMU refuses step k, for every k of both plans, with and without
 * quit_on_unsafe: up to the first device_del (refused: nothing committed)
 * everything done is undone in reverse; after it the remap stops where it is
 * and reports unsafe; a failed tidying step is only noted.
 */
static void test_error_at_every_step(void)
{
	static const enum hotplug_mode modes[] = {HOTPLUG_NATIVE, HOTPLUG_ACPI};

	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		struct rows rows;

		rows_for(modes[m], &rows);
		for (size_t k = 0; k < rows.n; k++) {
			if (!rows.r[k].cmd)
				continue; /* asks QEMU nothing: nothing to refuse */
			error_case(modes[m], k, false);
			error_case(modes[m], k, true);
		}
	}
}

/* An undo refused while rolling back: the rollback stops at once (later
 * undos would build on a state that isn't there), the outcome is unsafe,
 * the undo's error is kept apart from the step's, and QEMU is told to quit.
 * Every failing step k that rolls back, every undo j before it.
 */
static void test_undo_failure(void)
{
	struct fixture *f = fixture_new(HOTPLUG_NATIVE, profile_all);
	struct rows rows;

	REQUIRE(f);
	rows_for(HOTPLUG_NATIVE, &rows);
	for (size_t k = 1; k < rows.n && rows.r[k].on_error == F_ROLLBACK; k++) {
		for (size_t j = 0; j < k; j++) {
			enum step_result want[ROWS_MAX];
			struct remap_report rep;
			struct fq_script sc;
			char label[96];

			snprintf(label, sizeof(label),
			         "error at step %zu, undo of step %zu refused", k, j);
			fq_script_start(&sc);
			for (size_t i = 0; i < k; i++)
				push_good(&sc, &rows.r[i]);
			push_cmd(&sc, &rows.r[k]);
			fq_script_push(&sc, (struct fq_step)FQ_ERROR("GenericError", "injected"));
			for (size_t i = k - 1; i > j; i--)
				push_undo(&sc, &rows.r[i]);
			fq_script_push(&sc, (struct fq_step)FQ_EXPECT_ARGS(rows.r[j].undo_cmd,
			                                                   rows.r[j].undo_args));
			fq_script_push(&sc,
			               (struct fq_step)FQ_ERROR("GenericError", "undo refused"));
			fq_script_end(&sc, true);

			for (size_t i = 0; i < rows.n; i++)
				want[i] = i < j ? STEP_DONE : i < k ? STEP_UNDONE : STEP_NOT_RUN;
			want[j] = STEP_UNDO_FAILED;
			want[k] = STEP_FAILED;

			CHECK(run_remap(&sc, &f->plan, true, &rep, NULL, label));
			CHECK_INT(rep.outcome, REMAP_UNSAFE);
			CHECK_INT(rep.failed, (long)k);
			CHECK_CONTAINS(rep.error.msg, "injected");
			CHECK_INT(rep.undo_error.kind, QR_ERR_QMP);
			CHECK_CONTAINS(rep.undo_error.msg, "undo refused");
			CHECK(rep.quit_sent);
			check_results(&rep, want, rows.n, label);
			remap_report_free(&rep);
		}
	}
	fixture_free(f);
}

/* QEMU hangs up while a step is in flight: whether it carried the step out
 * is unknown, so the outcome is unsafe. Before a prepare step the executor
 * still tries to undo (and reports that undo's failure); a device_del with
 * no answer counts as asked for, so nothing is undone after it. The
 * executor must give up at once, not wait out its timeouts.
 */
static void test_disconnect(void)
{
	struct fixture *f = fixture_new(HOTPLUG_NATIVE, profile_all);
	struct rows rows;

	REQUIRE(f);
	rows_for(HOTPLUG_NATIVE, &rows);
	for (size_t k = 0; k < rows.n && rows.r[k].on_error == F_ROLLBACK; k++) {
		enum step_result want[ROWS_MAX];
		struct remap_report rep;
		struct fq_script sc;
		char label[64];
		int64_t ms = 0;
		bool is_del;

		snprintf(label, sizeof(label), "peer closes at step %zu", k);
		fq_script_start(&sc);
		for (size_t i = 0; i < k; i++)
			push_good(&sc, &rows.r[i]);
		push_cmd(&sc, &rows.r[k]);
		fq_script_push(&sc, (struct fq_step)FQ_CLOSE(NULL));
		for (size_t i = 0; i < rows.n; i++)
			want[i] = i < k ? STEP_DONE : STEP_NOT_RUN;
		want[k] = STEP_FAILED;
		is_del = f->plan.steps[k].kind == STEP_DEVICE_DEL;
		if (k && !is_del)
			want[k - 1] = STEP_UNDO_FAILED;

		CHECK(run_remap(&sc, &f->plan, true, &rep, &ms, label));
		CHECK(ms < HANG_MS);
		CHECK_INT(rep.failed, (long)k);
		CHECK_INT(rep.error.kind, QR_ERR_DISCONNECTED);
		check_results(&rep, want, rows.n, label);
		/* "quit" can't be sent either: the report must not say it was */
		CHECK(!rep.quit_sent);
		/* no answer: whether QEMU carried out step k is unknown, so
		 * even with nothing before it to undo the outcome is unsafe
		 */
		CHECK_INT(rep.outcome, REMAP_UNSAFE);
		CHECK_INT(rep.undo_error.kind, k && !is_del ? QR_ERR_DISCONNECTED : QR_OK);
		remap_report_free(&rep);
	}
	fixture_free(f);
}

/**
 * unplug_timeout_case() - a device_del whose DEVICE_DELETED never comes
 * @mode:	hotplug mode
 * @k:		the row whose good run is cut short
 * @tail:	what the peer plays after the row's command instead
 * @n_tail:	number of @tail
 * @fail_at:	the row that fails: @k, or the last of a run of removals after
 *		it, where the events of the whole run are awaited (rows between
 *		play their good run)
 * @dev:	the device the error must name
 * @msg:	what else the error must say
 */
static void unplug_timeout_case(enum hotplug_mode mode, size_t k, const struct fq_step *tail,
                                size_t n_tail, size_t fail_at, const char *dev, const char *msg)
{
	struct fixture *f = fixture_new(mode, profile_all);
	enum step_result want[ROWS_MAX];
	struct remap_report rep;
	struct fq_script sc;
	struct rows rows;
	int64_t ms = 0;
	char label[96];

	REQUIRE(f);
	rows_for(mode, &rows);
	REQUIRE(k < rows.n);
	f->plan.unplug_timeout_ms = SHORT_UNPLUG_MS;
	snprintf(label, sizeof(label), "%s, %s never goes", hotplug_mode_str(mode), dev);

	fq_script_start(&sc);
	for (size_t i = 0; i < k; i++)
		push_good(&sc, &rows.r[i]);
	push_cmd(&sc, &rows.r[k]);
	for (size_t i = 0; i < n_tail; i++)
		fq_script_push(&sc, tail[i]);
	for (size_t i = k + 1; i <= fail_at; i++)
		push_good(&sc, &rows.r[i]);
	fq_script_end(&sc, true);
	for (size_t i = 0; i < rows.n; i++)
		want[i] = i < fail_at ? STEP_DONE : STEP_NOT_RUN;
	want[fail_at] = STEP_FAILED;

	CHECK(run_remap(&sc, &f->plan, true, &rep, &ms, label));
	CHECK(ms >= SHORT_UNPLUG_MS);
	CHECK(ms < HANG_MS);
	CHECK_INT(rep.outcome, REMAP_UNSAFE);
	CHECK_INT(rep.failed, (long)fail_at);
	CHECK_INT(rep.error.kind, QR_ERR_TIMEOUT);
	CHECK_CONTAINS(rep.error.msg, dev);
	CHECK_CONTAINS(rep.error.msg, msg);
	CHECK_INT(rep.undo_error.kind, QR_OK);
	CHECK(rep.quit_sent);
	check_results(&rep, want, rows.n, label);
	remap_report_free(&rep);
	fixture_free(f);
}

/* QEMU accepts a device_del but the device never goes: past the point of no
 * return, so unsafe, quit, and the error names the device. Even the first
 * device_del: accepted, it may still complete, so no rollback. For the
 * virtio disk the backend's path-only event comes and must not count.
 */
static void test_unplug_timeout(void)
{
	/* root: only the reply, no event */
	static const struct fq_step root[] = {FQ_RETURN("{}")};
	/* data: the reply and the backend's event, not the device's */
	static const struct fq_step data[] = {
	        FQ_RETURN("{}"),
	        FQ_EVENT("DEVICE_DELETED", DATA_BACKEND_GONE),
	};
	/* ACPI: reset done, RESET and backend events, never the device's */
	static const struct fq_step reset[] = {
	        FQ_RETURN("{}"),
	        FQ_EVENT("RESET", RESET_EVENT),
	        FQ_EVENT("DEVICE_DELETED", DATA_BACKEND_GONE),
	};

	/* root's removal is the first of a run: its event is awaited with
	 * data's, at data's step, which fails naming root
	 */
	unplug_timeout_case(HOTPLUG_NATIVE, ROW_DEL_ROOT, root, ARRAY_SIZE(root), ROW_DEL_DATA,
	                    "dev-incus_root", "did not go");
	unplug_timeout_case(HOTPLUG_NATIVE, ROW_DEL_DATA, data, ARRAY_SIZE(data), ROW_DEL_DATA,
	                    "dev-incus_data", "did not go");
	unplug_timeout_case(HOTPLUG_ACPI, ROW_RESET, reset, ARRAY_SIZE(reset), ROW_RESET,
	                    "dev-incus_data", "still there after reset");
	/* ACPI: root's removal, native, runs on through data's removal and
	 * the reset, after which its event is awaited: the reset fails
	 */
	unplug_timeout_case(HOTPLUG_ACPI, ROW_DEL_ROOT, root, ARRAY_SIZE(root), ROW_RESET,
	                    "dev-incus_root", "did not go");
}

/* Verification looks at QEMU's own view: a node with a second frontend, or
 * an original still in /machine/peripheral, is unsafe even though every
 * command succeeded.
 */
static void test_verify_catches_leftovers(void)
{
	static const struct {
		const char *query_block;
		const char *qom_list;
		const char *msg;
	} cases[] = {
	        {QUERY_BLOCK_ROOT_TWICE, NULL, "incus_root has 2 frontends"},
	        {QUERY_BLOCK_AFTER,
	         "[{\"name\": \"qremap_sata0\", \"type\": \"child<ide-hd>\"}, {\"name\": "
	         "\"dev-incus_root\", \"type\": \"child<scsi-hd>\"}]",
	         "dev-incus_root is still there"},
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct fixture *f = fixture_new(HOTPLUG_NATIVE, profile_all);
		struct remap_report rep;
		struct fq_script sc;
		struct rows rows;
		size_t k;

		REQUIRE(f);
		rows_for(HOTPLUG_NATIVE, &rows);
		k = rows.n - 2; /* verify incus_root */
		CHECK_INT(rows.r[k].kind, STEP_VERIFY_DISK);
		rows.r[k].after[0] = (struct fq_step)FQ_RETURN(cases[c].query_block);
		if (cases[c].qom_list)
			rows.r[k].after[2] = (struct fq_step)FQ_RETURN(cases[c].qom_list);

		fq_script_start(&sc);
		for (size_t i = 0; i <= k; i++)
			push_good(&sc, &rows.r[i]);
		fq_script_end(&sc, true);
		CHECK(run_remap(&sc, &f->plan, true, &rep, NULL, cases[c].msg));
		CHECK_INT(rep.outcome, REMAP_UNSAFE);
		CHECK_INT(rep.failed, (long)k);
		CHECK_INT(rep.error.kind, QR_ERR_STATE);
		CHECK_CONTAINS(rep.error.msg, cases[c].msg);
		CHECK(rep.quit_sent);
		remap_report_free(&rep);
		fixture_free(f);
	}
}

/* The reply to the first device_del never comes in time (QEMU is slow, the
 * reply arrives after qmp_ms): QEMU may well have carried it out, and an
 * ACPI unplug once requested can't be taken back. Only a QMP error reply
 * says "nothing changed"; with the effect unknown the executor must not roll
 * back and claim the VM has its original devices: it must report unsafe.
 * Plan: the data disk only, under ACPI, so device_del is its first commit
 * step and QEMU keeps the device until reset (undos would all "succeed").
 */
static void test_device_del_reply_late(void)
{
	struct fixture *f = fixture_new(HOTPLUG_ACPI, profile_data);
	enum step_result want[ROWS_MAX];
	struct remap_report rep;
	struct fq_script sc;
	struct rows rows, data;
	int64_t ms = 0;

	REQUIRE(f);
	rows_for(HOTPLUG_ACPI, &rows);
	/* the data disk's rows of the two-disk plan: prepare, device_del */
	data.n = 0;
	for (size_t i = ROW_DATA_PREPARE; i < ROW_DATA_PREPARE + 3; i++)
		data.r[data.n++] = rows.r[i];
	data.r[data.n++] = rows.r[ROW_DEL_DATA];
	REQUIRE(f->plan.n_steps > data.n);
	for (size_t i = 0; i < data.n; i++) {
		CHECK_INT(f->plan.steps[i].kind, data.r[i].kind);
		CHECK_CONTAINS(f->plan.steps[i].what, data.r[i].what);
	}
	CHECK_INT(f->plan.qmp_timeout_ms, 300);

	fq_script_start(&sc);
	for (size_t i = 0; i + 1 < data.n; i++)
		push_good(&sc, &data.r[i]);
	push_cmd(&sc, &data.r[data.n - 1]);
	/* Late by half the 300 ms QMP timeout: the reply comes 150 ms after
	 * device_del timed out, and the peer answers the quit sent at that
	 * timeout only after it, 150 ms into the quit's own 300 ms. A later
	 * reply (600 ms) left the quit's answer right at its deadline, and
	 * the test failed under load when it missed it.
	 */
	fq_script_push(&sc, (struct fq_step)FQ_DELAY(450));
	fq_script_push(&sc, (struct fq_step)FQ_RETURN("{}"));
	fq_script_end(&sc, true);
	for (size_t i = 0; i < f->plan.n_steps; i++)
		want[i] = i < data.n - 1 ? STEP_DONE : STEP_NOT_RUN;
	want[data.n - 1] = STEP_FAILED;

	CHECK(run_remap(&sc, &f->plan, true, &rep, &ms, "device_del reply late"));
	CHECK(ms < HANG_MS);
	if (rep.outcome != REMAP_UNSAFE)
		fprintf(stderr, "device_del timed out: outcome %s, expected unsafe\n",
		        remap_outcome_str(rep.outcome));
	CHECK_INT(rep.outcome, REMAP_UNSAFE);
	CHECK_INT(rep.failed, (long)data.n - 1);
	CHECK_INT(rep.error.kind, QR_ERR_TIMEOUT);
	CHECK(rep.quit_sent);
	check_results(&rep, want, f->plan.n_steps, "device_del reply late");
	remap_report_free(&rep);
	fixture_free(f);
}

/*
 * SATA placeholders are matched by size, not by order: with the two
 * placeholders' sizes swapped each disk still lands on the one of its size;
 * with none of a disk's size the refusal names the placeholder it would
 * have taken and the size it needs.
 */
static void test_plan_matches_sizes(void)
{
	struct fixture *f = fixture_new_sized(HOTPLUG_ACPI, profile_all, SIZE_DATA, SIZE_ROOT);

	REQUIRE(f);
	CHECK_INT(f->plan.verdict, PLAN_READY);
	REQUIRE(f->plan.n_disks == 2);
	for (size_t i = 0; i < 2; i++)
		CHECK_STR(f->plan.disks[i].placeholder, !strcmp(f->plan.disks[i].node, "incus_root")
		                                                ? "qremap_sata1"
		                                                : "qremap_sata0");
	fixture_free(f);

	f = fixture_new_sized(HOTPLUG_ACPI, profile_all, SIZE_DATA, SIZE_DATA);
	REQUIRE(f);
	CHECK_INT(f->plan.verdict, PLAN_REFUSED);
	CHECK_CONTAINS(f->plan.refusal, "disk root is 67108864 bytes but placeholder qremap_sata");
	CHECK_CONTAINS(f->plan.refusal, "size=67108864");
	fixture_free(f);

	/* the placeholder the profile names is missing, qremap_sata0 is on
	 * port 0: the refusal asks for one that exists nowhere yet
	 */
	f = fixture_new_sized(HOTPLUG_ACPI, profile_data, SIZE_ROOT, SIZE_DATA);
	REQUIRE(f);
	{
		struct qr_error err = {0};

		f->inv.n_disks = 3; /* without qremap_sata1 */
		plan_free(&f->plan);
		REQUIRE(plan_build(&f->inv, &f->prof, &f->plan, &err) == 0);
	}
	CHECK_INT(f->plan.verdict, PLAN_REFUSED);
	CHECK_CONTAINS(f->plan.refusal, "disk data: no free SATA placeholder");
	CHECK_CONTAINS(f->plan.refusal,
	               "id=qremap_sata1,drive=qremap_sata1_null,bus=qremap_ahci.1");
	fixture_free(f);
}

TEST_MAIN(test_plan_steps, test_plan_matches_sizes, test_success, test_error_at_every_step,
          test_undo_failure, test_disconnect, test_unplug_timeout, test_verify_catches_leftovers,
          test_device_del_reply_late)
