// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_inventory.c: what the inventory asks QEMU, and the
 * "info usb" it refuses
 *
 * The scripted peer (fakeqmp.h) plays a QEMU whose answers each test writes.
 * Its script is the golden list of what inventory_collect() asks, in order:
 * a query added, dropped or asked twice fails the test, which is how the
 * "one parent_bus per USB bus" rule is held (each query costs QEMU ~1 ms,
 * docs/performance.md). The answers are where a hostile QEMU could lie:
 * "info usb" lines without a readable bus number must be refused, and more
 * USB buses than the inventory keeps track of must still place every device
 * by its own bus. What a real QEMU answers is test_inspect's business.
 */

#include <stdio.h>
#include <string.h>

#include "fakeqmp.h"
#include "qremap/inventory.h"
#include "qremap/qmp.h"
#include "testlib.h"

#define OK_WAIT_MS 5000

/* More USB buses than inventory.c names through one device each (32) */
#define MANY_BUSES 33

/**
 * collect() - run inventory_collect() (no host view) against @sc
 * @sc:		the peer's script, ended by fq_script_end()
 * @inv:	result; freed by the caller
 * @err:	inventory_collect()'s error
 *
 * Return: inventory_collect()'s result, -2 if the peer did not start; the
 *	   peer's verdict is CHECKed
 */
static int collect(const struct fq_script *sc, struct vm_inventory *inv, struct qr_error *err)
{
	struct inventory_opts opts = {.no_host = true, .pid = 1};
	struct qmp_client *c = NULL;
	struct fakeqmp *fq;
	char why[600] = "";
	int fd, r = -1;

	memset(inv, 0, sizeof(*inv));
	fq = fakeqmp_start(sc->s, sc->n, &fd);
	if (!fq) {
		CHECK(!"the fake peer started");
		return -2;
	}
	if (qmp_adopt_fd(fd, "fakeqmp", &c, err) == 0 && qmp_handshake(c, OK_WAIT_MS, err) == 0) {
		qmp_set_timeout(c, OK_WAIT_MS);
		r = inventory_collect(c, &opts, inv, err);
	} else {
		fprintf(stderr, "connecting: %s\n", err->msg);
	}
	qmp_close(c); /* the script ends waiting for EOF */
	if (fakeqmp_finish(fq, why, sizeof(why)) < 0) {
		fprintf(stderr, "fake peer: %s\n", why);
		CHECK(!"the inventory asked what the script expects");
	}
	return r;
}

/**
 * first_round() - the script up to the first round's answers
 * @sc:		script to start (fq_script_start(): the handshake first)
 * @hotplug:	the ACPI device's acpi-pci-hotplug-with-bridge-support (JSON),
 *		NULL for a VM without one (the query fails)
 * @peripheral:	qom-list /machine/peripheral's answer (JSON)
 * @usb:	"info usb"'s answer (a JSON string)
 *
 * A VM with no NIC and no disk.
 */
static void first_round(struct fq_script *sc, const char *hotplug, const char *peripheral,
                        const char *usb)
{
	const struct fq_step acpi = FQ_EXPECT_ARGS(
	        "qom-get", "{\"path\": \"/machine/acpi-device\","
	                   " \"property\": \"acpi-pci-hotplug-with-bridge-support\"}");
	const struct fq_step answer =
	        hotplug ? (struct fq_step)FQ_RETURN(hotplug)
	                : (struct fq_step)FQ_ERROR("DeviceNotFound",
	                                           "Device '/machine/acpi-device' not found");
	const struct fq_step steps[] = {
	        FQ_EXPECT("query-status"),
	        FQ_RETURN("{\"status\": \"prelaunch\", \"running\": false}"),
	        acpi,
	        answer,
	        FQ_EXPECT_ARGS("qom-list", "{\"path\": \"/machine/peripheral\"}"),
	        FQ_RETURN(peripheral),
	        FQ_EXPECT_ARGS("human-monitor-command", "{\"command-line\": \"info network\"}"),
	        FQ_RETURN("\"\""),
	        FQ_EXPECT("query-block"),
	        FQ_RETURN("[]"),
	        FQ_EXPECT_ARGS("human-monitor-command", "{\"command-line\": \"info usb\"}"),
	        FQ_RETURN(usb),
	};

	fq_script_start(sc);
	fq_script_push_list(sc, steps, ARRAY_SIZE(steps));
}

/* The XHCI's port counts, asked first in the second round */
static void xhci_ports(struct fq_script *sc)
{
	const struct fq_step steps[] = {
	        FQ_EXPECT_ARGS("qom-get",
	                       "{\"path\": \"/machine/peripheral/xhci\", \"property\": \"p2\"}"),
	        FQ_RETURN("4"),
	        FQ_EXPECT_ARGS("qom-get",
	                       "{\"path\": \"/machine/peripheral/xhci\", \"property\": \"p3\"}"),
	        FQ_RETURN("4"),
	};

	fq_script_push_list(sc, steps, ARRAY_SIZE(steps));
}

static const struct inv_controller *xhci(const struct vm_inventory *inv)
{
	return inventory_find_ctrl(inv, "xhci");
}

/*
 * One USB bus with two named devices and an anonymous one: a single
 * parent_bus (the first named device's) places all three.
 */
static void test_one_query_per_usb_bus(void)
{
	static const char peripheral[] = "[{\"name\": \"type\", \"type\": \"string\"},"
	                                 " {\"name\": \"xhci\", \"type\": \"child<qemu-xhci>\"},"
	                                 " {\"name\": \"tab\", \"type\": \"child<usb-tablet>\"},"
	                                 " {\"name\": \"kbd\", \"type\": \"child<usb-kbd>\"}]";
	static const char usb[] =
	        "\"  Device 0.0, Port 1, Speed 480 Mb/s, Product QEMU USB Tablet, ID: tab\\r\\n"
	        "  Device 0.0, Port 2, Speed 480 Mb/s, Product QEMU USB Mouse\\r\\n"
	        "  Device 0.0, Port 3, Speed 480 Mb/s, Product QEMU USB Keyboard, ID: kbd\\r\\n\"";
	const struct fq_step tail[] = {
	        FQ_EXPECT_ARGS("qom-get", "{\"path\": \"/machine/peripheral/tab\","
	                                  " \"property\": \"parent_bus\"}"),
	        FQ_RETURN("\"/machine/peripheral/xhci/xhci.0\""),
	};
	struct fq_script sc;
	struct vm_inventory inv;
	struct qr_error err = {0};
	const struct inv_controller *x;

	first_round(&sc, NULL, peripheral, usb);
	xhci_ports(&sc);
	fq_script_push_list(&sc, tail, ARRAY_SIZE(tail));
	fq_script_end(&sc, false);
	CHECK_INT(collect(&sc, &inv, &err), 0);
	x = xhci(&inv);
	REQUIRE(x);
	CHECK_INT(x->ports, 4);
	CHECK_INT(x->n_used, 3);
	CHECK_STR(x->used[0].device, "tab");
	CHECK_STR(x->used[1].device, "");
	CHECK_STR(x->used[1].port, "2");
	CHECK_STR(x->used[2].device, "kbd");
	inventory_free(&inv);
}

/*
 * More USB buses than the inventory names through one device each: every
 * device is still asked for, and each placed by its own answer. Only the
 * last device (on the 33rd bus) sits on the XHCI; were it placed through
 * another device's answer, the XHCI would show no port used.
 */
static void test_many_usb_buses(void)
{
	static char peripheral[MANY_BUSES * 64 + 128], usb[MANY_BUSES * 96 + 8];
	static char args[MANY_BUSES][96];
	struct fq_script sc;
	struct vm_inventory inv;
	struct qr_error err = {0};
	const struct inv_controller *x;
	size_t lp, lu;

	lp = (size_t)snprintf(peripheral, sizeof(peripheral),
	                      "[{\"name\": \"xhci\", \"type\": \"child<qemu-xhci>\"}");
	lu = (size_t)snprintf(usb, sizeof(usb), "\"");
	for (unsigned i = 0; i < MANY_BUSES; i++) {
		lp += (size_t)snprintf(peripheral + lp, sizeof(peripheral) - lp,
		                       ", {\"name\": \"u%u\", \"type\": \"child<usb-kbd>\"}", i);
		lu += (size_t)snprintf(usb + lu, sizeof(usb) - lu,
		                       "  Device %u.0, Port 1, Speed 12 Mb/s, Product QEMU USB "
		                       "Keyboard, ID: u%u\\r\\n",
		                       i, i);
	}
	REQUIRE(lp + 2 < sizeof(peripheral) && lu + 2 < sizeof(usb));
	snprintf(peripheral + lp, sizeof(peripheral) - lp, "]");
	snprintf(usb + lu, sizeof(usb) - lu, "\"");

	first_round(&sc, NULL, peripheral, usb);
	xhci_ports(&sc);
	for (unsigned i = 0; i < MANY_BUSES; i++) {
		snprintf(args[i], sizeof(args[i]),
		         "{\"path\": \"/machine/peripheral/u%u\", \"property\": \"parent_bus\"}",
		         i);
		fq_script_push(&sc, (struct fq_step)FQ_EXPECT_ARGS("qom-get", args[i]));
		fq_script_push(&sc, (struct fq_step)FQ_RETURN(
		                            i == MANY_BUSES - 1
		                                    ? "\"/machine/peripheral/xhci/xhci.0\""
		                                    : "\"/machine/peripheral/ehci/ehci.0\""));
	}
	fq_script_end(&sc, false);
	CHECK_INT(collect(&sc, &inv, &err), 0);
	x = xhci(&inv);
	REQUIRE(x);
	CHECK_INT(x->n_used, 1);
	CHECK_STR(x->used[0].device, "u32");
	inventory_free(&inv);
}

/*
 * "info usb" lines whose bus number can't be read: the inventory fails,
 * saying which line, before it asks anything more.
 */
static void test_bad_usb_lines(void)
{
	static const struct {
		const char *usb, *want;
	} cases[] = {
	        {"\"  Device x.0, Port 1, Speed 12 Mb/s, Product P, ID: u\"", "bad bus number"},
	        {"\"  Device 4294967296.0, Port 1, Speed 12 Mb/s, Product P\"", "bad bus number"},
	        {"\"  Device .0, Port 1, Speed 12 Mb/s, Product P\"", "bad bus number"},
	        {"\"  Device 0, Port 1.2, Speed 12 Mb/s, Product P\"", "no bus number"},
	        {"\"  Device 0, Port 1, Speed 12 Mb/s, Product P\"", "no bus number"},
	};
	static const char peripheral[] = "[{\"name\": \"xhci\", \"type\": \"child<qemu-xhci>\"},"
	                                 " {\"name\": \"u\", \"type\": \"child<usb-kbd>\"}]";

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fq_script sc;
		struct vm_inventory inv;
		struct qr_error err = {0};

		first_round(&sc, NULL, peripheral, cases[i].usb);
		fq_script_end(&sc, false);
		CHECK_INT(collect(&sc, &inv, &err), -1);
		CHECK_CONTAINS(err.msg, cases[i].want);
		CHECK_CONTAINS(err.msg, "reading the VM inventory");
		inventory_free(&inv);
	}
}

/*
 * The PCI hotplug mode: one query in the first round, through /machine's
 * acpi-device link; the machine type only when ACPI hotplug is off (q35
 * then hotplugs natively, pc stays unknown); no ACPI device: unknown.
 */
static void test_hotplug_mode(void)
{
	static const struct {
		const char *hotplug, *machine;
		enum hotplug_mode want;
	} cases[] = {
	        {"true", NULL, HOTPLUG_ACPI},
	        {"false", "pc-q35-10.0-machine", HOTPLUG_NATIVE},
	        {"false", "pc-i440fx-10.0-machine", HOTPLUG_UNKNOWN},
	        {NULL, NULL, HOTPLUG_UNKNOWN},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		static const char ask_type[] = "{\"path\": \"/machine\", \"property\": \"type\"}";
		char type[64];
		struct fq_script sc;
		struct vm_inventory inv;
		struct qr_error err = {0};

		first_round(&sc, cases[i].hotplug, "[]", "\"\"");
		if (cases[i].machine) {
			snprintf(type, sizeof(type), "\"%s\"", cases[i].machine);
			fq_script_push(&sc, (struct fq_step)FQ_EXPECT_ARGS("qom-get", ask_type));
			fq_script_push(&sc, (struct fq_step)FQ_RETURN(type));
		}
		fq_script_end(&sc, false);
		CHECK_INT(collect(&sc, &inv, &err), 0);
		CHECK_STR(hotplug_mode_str(inv.hotplug), hotplug_mode_str(cases[i].want));
		CHECK_STR(inv.machine, cases[i].machine ? cases[i].machine : "");
		inventory_free(&inv);
	}
}

TEST_MAIN(test_one_query_per_usb_bus, test_many_usb_buses, test_bad_usb_lines, test_hotplug_mode)
