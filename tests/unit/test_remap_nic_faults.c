// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_remap_nic_faults.c: the executor's NIC steps
 * against a scripted peer that plays QEMU's process on a real tap
 *
 * test_remap_exec.c proves remap_apply()'s decisions for the disk steps; the
 * NIC steps are different because half of them act on the host: the fresh
 * queue is opened next to QEMU's own (copied out of QEMU with pidfd_getfd),
 * handed over with getfd, and the old queues are detached at the end. A
 * rollback that leaves the fresh queue attached, or a "rolled back" that
 * hides a queue QEMU still holds, loses packets without any QMP error, so
 * each case here checks the tap itself afterwards, not only the report.
 *
 * The fake peer (tests/fakeqmp) stands in for QEMU's process too: it is
 * forked holding the queues of a real multiqueue tap (at QEMU-like fd
 * numbers OLD_FD0...), keeps the queue getfd passes it (as FRESH_FD), and
 * closes queues where QEMU would (netdev_del, closefd); the test's own
 * copies are closed once it has them. The tap lives in a private network
 * namespace made at start (no traffic is needed, nothing outside is seen or
 * touched), so this needs root and skips, saying why, without.
 *
 * One table, golden_rows[] (of struct golden_row, golden_rows.h, the row
 * type test_remap_exec.c uses too), holds every NIC step of four plans
 * (usb-net or a hub placeholder, native or ACPI hotplug) with the exact
 * conversation of a good run and of its undo; every case builds its script
 * from it at run time: the steps before k go well, step k gets an error
 * reply, no reply at all, a hang-up (QEMU lives on) or QEMU's death, then
 * exactly the undos that must follow. What the fake QEMU holds at the end
 * follows from that same script, and the tap must show exactly that: its
 * queues attached, qremap's fresh queue gone unless QEMU kept it, old queues
 * detached only once the detach step ran, and nothing at all once QEMU is
 * dead. The two host steps, which send nothing, fail on the host instead (a
 * queue that isn't QEMU's or can't be opened; the executor's hook for the
 * detach), and verification is fed a QEMU that kept its old queues.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "qremap/log.h"
#include "qremap/plan.h"
#include "qremap/profile.h"
#include "qremap/qmp.h"
#include "qremap/remap.h"
#include "qremap/tap.h"
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
/* Command bound for the cases where the reply never comes */
#define SHORT_QMP_MS 300
/* A remap whose peer goes quiet must end well before this ("no hang") */
#define HANG_MS 4000

/* The Incus NIC's queues in the fake QEMU, as "info network" would list them */
#define TAP_QUEUES 2
#define OLD_FD0    60
/* Where the fake QEMU keeps the queue getfd gives it */
#define FRESH_FD 100
#define STR_(x)  #x
#define STR(x)   STR_(x)

#define NIC_MAC "10:66:6a:aa:bb:cc"
/* Incus's TUNSETIFF flags (docs/facts.md §1); the fresh queue must ask for the
 * same (the kernel takes a joining queue's IFF_NO_PI and IFF_VNET_HDR for
 * the whole tap when it is the tap's only queue)
 */
#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_ONE_QUEUE | IFF_MULTI_QUEUE | IFF_VNET_HDR)

#define ROWS_MAX 12

/* What QEMU says when devices go: virtio-net-pci sends one DEVICE_DELETED
 * for its virtio-backend child (a "path" only) first, then its own;
 * usb-net's unplug is synchronous, its event comes before the reply.
 */
#define ETH0_BACKEND_GONE "{\"path\": \"/machine/peripheral/dev-incus_eth0/virtio-backend\"}"
#define ETH0_GONE                                                                                  \
	"{\"device\": \"dev-incus_eth0\", \"path\": \"/machine/peripheral/dev-incus_eth0\"}"
#define USBNET_GONE                                                                                \
	"{\"device\": \"dev-qremap_eth0\", \"path\": \"/machine/peripheral/dev-qremap_eth0\"}"
#define RESET_EVENT "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}"

/* "info network" once remapped (HMP text is a JSON string, lines end CRLF) */
#define INFO_NET_USB                                                                               \
	"\"dev-qremap_eth0: index=0,type=nic,model=usb-net,macaddr=" NIC_MAC "\\r\\n"              \
	" \\\\ qremap_eth0: index=0,type=tap,fd=" STR(FRESH_FD) "\\r\\n\""
#define INFO_NET_HUB                                                                               \
	"\"hub 0\\r\\n"                                                                            \
	" \\\\ qremap_eth0_hp: qremap_eth0: index=0,type=tap,fd=" STR(                             \
	        FRESH_FD) "\\r\\n"                                                                 \
	                  " \\\\ qremap_nic0_hp: qremap_nic0: "                                    \
	                  "index=0,type=nic,model=vmxnet3,macaddr=" NIC_MAC "\\r\\n\""
/* ... and if the new netdev were on another fd than the one QEMU holds */
#define INFO_NET_USB_OTHER_FD                                                                      \
	"\"dev-qremap_eth0: index=0,type=nic,model=usb-net,macaddr=" NIC_MAC "\\r\\n"              \
	" \\\\ qremap_eth0: index=0,type=tap,fd=7\\r\\n\""
#define INFO_NETWORK "{\"command-line\": \"info network\"}"

/* qom-list /machine/peripheral once remapped: the original is gone */
#define QOM_LIST_USB                                                                               \
	"[{\"name\": \"type\", \"type\": \"string\"}, {\"name\": \"qemu_usb\", \"type\": "         \
	"\"child<qemu-xhci>\"}, {\"name\": \"dev-qremap_eth0\", \"type\": \"child<usb-net>\"}]"
#define QOM_LIST_HUB                                                                               \
	"[{\"name\": \"type\", \"type\": \"string\"}, {\"name\": \"qemu_usb\", \"type\": "         \
	"\"child<qemu-xhci>\"}, {\"name\": \"qremap_nic0\", \"type\": \"child<vmxnet3>\"}]"
#define QOM_LIST_ETH0_STILL_THERE                                                                  \
	"[{\"name\": \"dev-qremap_eth0\", \"type\": \"child<usb-net>\"}, {\"name\": "              \
	"\"dev-incus_eth0\", \"type\": \"child<virtio-net-pci>\"}]"
#define QOM_LIST_PERIPHERAL "{\"path\": \"/machine/peripheral\"}"

/**
 * enum row_set - which plans a row of the golden table belongs to
 * @S_NATIVE_USB:	usb-net, native PCIe hotplug
 * @S_ACPI_USB:		usb-net, ACPI PCI hotplug
 * @S_NATIVE_HUB:	hub placeholder, native PCIe hotplug
 * @S_ACPI_HUB:		hub placeholder, ACPI PCI hotplug
 * @S_USB:		both usb-net plans
 * @S_HUB:		both hub plans
 * @S_NATIVE:		both native plans
 * @S_ACPI:		both ACPI plans
 * @S_ALL:		every plan
 */
enum row_set {
	S_NATIVE_USB = 1 << 0,
	S_ACPI_USB = 1 << 1,
	S_NATIVE_HUB = 1 << 2,
	S_ACPI_HUB = 1 << 3,
	S_USB = S_NATIVE_USB | S_ACPI_USB,
	S_HUB = S_NATIVE_HUB | S_ACPI_HUB,
	S_NATIVE = S_NATIVE_USB | S_NATIVE_HUB,
	S_ACPI = S_ACPI_USB | S_ACPI_HUB,
	S_ALL = S_USB | S_HUB,
};

/**
 * enum fault_kind - how the peer fails step k
 * @FK_ERROR:	an error reply: QEMU says for sure nothing happened
 * @FK_SILENT:	no reply at all: the command times out, its effect unknown
 * @FK_HANGUP:	the peer hangs up instead of replying; QEMU's process lives
 *		on, holding what it was given
 * @FK_DIES:	QEMU's process exits instead of replying, and every queue it
 *		held goes with it
 */
enum fault_kind {
	FK_ERROR,
	FK_SILENT,
	FK_HANGUP,
	FK_DIES,
};

/* The golden table: every plan's NIC steps in order, set rows interleaved. */
static const struct golden_row golden_rows[] = {
        /* phase A: a fresh queue beside QEMU's (host), handed over, a netdev on it */
        {.sets = S_ALL,
         .kind = STEP_TAP_QUEUE,
         .on_error = F_ROLLBACK,
         .what = "open one fresh queue on tap"},
        {.sets = S_ALL,
         .kind = STEP_QMP,
         .on_error = F_ROLLBACK,
         .what = "give QEMU the fresh queue as 'qremap_eth0.fd'",
         .cmd = "getfd",
         .args = "{\"fdname\": \"qremap_eth0.fd\"}",
         .pass_fd = true,
         .hold = FRESH_FD,
         .undo_unless_owned = true,
         .undo_cmd = "closefd",
         .undo_args = "{\"fdname\": \"qremap_eth0.fd\"}",
         .after = {FQ_RETURN("{}")},
         .undo_after = {FQ_CLOSE_FD(FRESH_FD), FQ_RETURN("{}")}},
        {.sets = S_ALL,
         .kind = STEP_QMP,
         .on_error = F_ROLLBACK,
         .what = "add single-queue netdev qremap_eth0 on it",
         .cmd = "netdev_add",
         .args = "{\"type\": \"tap\", \"id\": \"qremap_eth0\", \"fd\": \"qremap_eth0.fd\"}",
         .owns_fd = true,
         .undo_cmd = "netdev_del",
         .undo_args = "{\"id\": \"qremap_eth0\"}",
         .after = {FQ_RETURN("{}")},
         /* the tap netdev closes its queue as it goes */
         .undo_after = {FQ_CLOSE_FD(FRESH_FD), FQ_RETURN("{}")}},
        {.sets = S_USB,
         .kind = STEP_QMP,
         .on_error = F_ROLLBACK,
         .what = "add usb-net dev-qremap_eth0 on qemu_usb.0 port 3",
         .cmd = "device_add",
         .args = "{\"driver\": \"usb-net\", \"id\": \"dev-qremap_eth0\", \"netdev\": "
                 "\"qremap_eth0\", \"mac\": \"" NIC_MAC "\", \"bus\": \"qemu_usb.0\", "
                 "\"port\": \"3\"}",
         .undo_cmd = "device_del",
         .undo_args = "{\"id\": \"dev-qremap_eth0\"}",
         .after = {FQ_RETURN("{}")},
         .undo_after = {FQ_EVENT("DEVICE_DELETED", USBNET_GONE), FQ_RETURN("{}")}},
        {.sets = S_HUB,
         .kind = STEP_QMP,
         .on_error = F_ROLLBACK,
         .what = "wire qremap_eth0 into hub 0, where placeholder qremap_nic0 (vmxnet3) sits",
         .cmd = "netdev_add",
         .args = "{\"type\": \"hubport\", \"id\": \"qremap_eth0_hp\", \"hubid\": 0, "
                 "\"netdev\": \"qremap_eth0\"}",
         .undo_cmd = "netdev_del",
         .undo_args = "{\"id\": \"qremap_eth0_hp\"}",
         .after = {FQ_RETURN("{}")},
         .undo_after = {FQ_RETURN("{}")}},
        /* Phase B. A refused device_del changes nothing: still a rollback. */
        {.sets = S_NATIVE,
         .kind = STEP_DEVICE_DEL,
         .commit = true,
         .on_error = F_ROLLBACK,
         .what = "remove dev-incus_eth0 (virtio-net-pci)",
         .cmd = "device_del",
         .args = "{\"id\": \"dev-incus_eth0\"}",
         .after = {FQ_RETURN("{}"), FQ_EVENT("DEVICE_DELETED", ETH0_BACKEND_GONE),
                   FQ_EVENT("DEVICE_DELETED", ETH0_GONE)}},
        /* ACPI: the unplug waits for reset; the executor must not wait */
        {.sets = S_ACPI,
         .kind = STEP_DEVICE_DEL,
         .commit = true,
         .on_error = F_ROLLBACK,
         .what = "remove dev-incus_eth0 (virtio-net-pci)",
         .cmd = "device_del",
         .args = "{\"id\": \"dev-incus_eth0\"}",
         .after = {FQ_RETURN("{}")}},
        /* QEMU closes the old netdev's queues before it replies */
        {.sets = S_ALL,
         .kind = STEP_QMP,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "delete the old netdev incus_eth0 (2 queues)",
         .cmd = "netdev_del",
         .args = "{\"id\": \"incus_eth0\"}",
         .after = {FQ_CLOSE_FD(OLD_FD0), FQ_CLOSE_FD(OLD_FD0 + 1), FQ_RETURN("{}")}},
        {.sets = S_ALL,
         .kind = STEP_TAP_DETACH,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "detach the old queues of tap"},
        {.sets = S_ACPI,
         .kind = STEP_RESET,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "reset the paused VM",
         .cmd = "system_reset",
         .after = {FQ_RETURN("{}"), FQ_EVENT("RESET", RESET_EVENT),
                   FQ_EVENT("DEVICE_DELETED", ETH0_BACKEND_GONE),
                   FQ_EVENT("DEVICE_DELETED", ETH0_GONE)}},
        /* verify: host checks first (no QMP), then QEMU's own view, read in one
         * batch: "info network" and qom-list (a plan without disks has no
         * query-block)
         */
        {.sets = S_USB,
         .kind = STEP_VERIFY_NIC,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "one attached queue, one QEMU fd, owned by qremap_eth0",
         .cmd = "human-monitor-command",
         .args = INFO_NETWORK,
         .after = {FQ_RETURN(INFO_NET_USB), FQ_EXPECT_ARGS("qom-list", QOM_LIST_PERIPHERAL),
                   FQ_RETURN(QOM_LIST_USB)}},
        {.sets = S_HUB,
         .kind = STEP_VERIFY_NIC,
         .commit = true,
         .on_error = F_UNSAFE,
         .what = "one attached queue, one QEMU fd, owned by qremap_eth0",
         .cmd = "human-monitor-command",
         .args = INFO_NETWORK,
         .after = {FQ_RETURN(INFO_NET_HUB), FQ_EXPECT_ARGS("qom-list", QOM_LIST_PERIPHERAL),
                   FQ_RETURN(QOM_LIST_HUB)}},
};

/* Every NIC to usb-net (QEMU 10.0.5 keeps usb-net's MAC: no quirk to refuse) */
static const char profile_usbnet[] = "qremap_profile: 1\n"
                                     "name: t\n"
                                     "nics:\n"
                                     "  - match: \"*\"\n"
                                     "    to: usb-net\n"
                                     "timeouts: {qmp_ms: 2000, unplug_ms: 2000}\n";

/* Every NIC onto a vmxnet3 placeholder's hub */
static const char profile_hub[] = "qremap_profile: 1\n"
                                  "name: t\n"
                                  "nics:\n"
                                  "  - match: \"*\"\n"
                                  "    to: hub\n"
                                  "    model: vmxnet3\n"
                                  "timeouts: {qmp_ms: 2000, unplug_ms: 2000}\n";

/**
 * struct variant - one of the four plans
 * @name:	for failure messages
 * @set:	its rows (enum row_set)
 * @mode:	hotplug mode of the VM
 * @yaml:	profile
 */
struct variant {
	const char *name;
	unsigned set;
	enum hotplug_mode mode;
	const char *yaml;
};

static const struct variant variants[] = {
        {"usb-net/native", S_NATIVE_USB, HOTPLUG_NATIVE, profile_usbnet},
        {"usb-net/acpi", S_ACPI_USB, HOTPLUG_ACPI, profile_usbnet},
        {"hub/native", S_NATIVE_HUB, HOTPLUG_NATIVE, profile_hub},
        {"hub/acpi", S_ACPI_HUB, HOTPLUG_ACPI, profile_hub},
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
 * struct fixture - a tap, a VM using it, a profile and their plan
 * @tap:	the tap's name (unique per fixture)
 * @n_queues:	its queues
 * @multi:	it is multiqueue (only then does the kernel count its queues)
 * @qfd:	this process's descriptors of them (OLD_FD0...), -1 once the
 *		fake QEMU has them
 * @ctrl:	the XHCI controller
 * @queues:	the Incus NIC's queues
 * @nics:	the Incus NIC and a hub placeholder
 * @inv:	inventory over the above (static arrays: never freed)
 * @prof:	profile
 * @plan:	plan_build() of the two
 */
struct fixture {
	char tap[IFNAMSIZ];
	unsigned n_queues;
	bool multi;
	int qfd[TAP_QUEUES];
	struct inv_controller ctrl[1];
	struct inv_queue queues[TAP_QUEUES];
	struct inv_nic nics[2];
	struct vm_inventory inv;
	struct profile prof;
	struct plan plan;
};

/**
 * struct run - what one remap did, as the client and the host saw it
 * @rep:	the report (free with remap_report_free())
 * @ms:		how long remap_apply() took
 * @peer_ok:	the client said exactly what the script expected
 * @link:	why the tap's queue counts could not be read (QR_OK if they
 *		were; a tap that is gone says ENODEV)
 * @attached:	its attached queues, right after remap_apply()
 * @detached:	its detached queues
 * @ours:	its queues this process still holds (should be none)
 * @qemu:	its queues the fake QEMU holds, -1 if that can't be read
 * @fresh_flags: TUNGETIFF flags of the queue the fake QEMU holds as
 *		FRESH_FD, 0 if it holds none
 */
struct run {
	struct remap_report rep;
	int64_t ms;
	bool peer_ok;
	struct qr_error link;
	unsigned attached;
	unsigned detached;
	size_t ours;
	long qemu;
	unsigned fresh_flags;
};

/**
 * struct host_want - what the tap must look like after a remap
 * @gone:	it no longer exists: nobody holds any of its queues
 * @attached:	attached queues (all held by the fake QEMU)
 * @detached:	detached queues (likewise)
 */
struct host_want {
	bool gone;
	unsigned attached;
	unsigned detached;
};

/* Why the tests that need a tap can't run ("" if they can), set in main() */
static char net_why[256];
/* Numbers the taps, so that no two fixtures share a name */
static unsigned tap_serial;
/* Remaps run against a fake QEMU, for the summary line */
static unsigned remaps;

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
 * count_fds() - descriptors this process has open
 *
 * Counted around every case: ASan sees leaked memory, not leaked queues.
 *
 * Return: the count (the directory's own descriptor included), -1 on failure
 */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/**
 * make_tap() - create the fixture's tap with its queues at OLD_FD0...
 * @f:		fixture; @f->tap named, @f->qfd all -1
 * @n:		queues (at most TAP_QUEUES)
 * @multi:	IFF_MULTI_QUEUE, as Incus makes its taps; without it only
 *		one queue can ever be attached
 *
 * The tap is created in this process's (private) network namespace and
 * vanishes with its last queue.
 *
 * Return: 0, -1 on failure (said on stderr)
 */
static int make_tap(struct fixture *f, unsigned n, bool multi)
{
	for (unsigned i = 0; i < n; i++) {
		struct ifreq ifr;
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			perror("open /dev/net/tun");
			return -1;
		}
		memset(&ifr, 0, sizeof(ifr));
		str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), f->tap);
		ifr.ifr_flags = (short)(multi ? TAP_FLAGS : TAP_FLAGS & ~IFF_MULTI_QUEUE);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			fprintf(stderr, "TUNSETIFF %s: %s\n", f->tap, strerror(errno));
			close(fd);
			return -1;
		}
		if (fcntl(OLD_FD0 + (int)i, F_GETFD) >= 0) {
			fprintf(stderr, "descriptor %d is already in use\n", OLD_FD0 + (int)i);
			close(fd);
			return -1;
		}
		if (dup3(fd, OLD_FD0 + (int)i, O_CLOEXEC) < 0) {
			perror("dup3");
			close(fd);
			return -1;
		}
		close(fd);
		f->qfd[i] = OLD_FD0 + (int)i;
	}
	return 0;
}

/**
 * drop_queues() - close this process's descriptors of the fixture's queues
 * @f:	fixture
 */
static void drop_queues(struct fixture *f)
{
	for (unsigned i = 0; i < TAP_QUEUES; i++) {
		if (f->qfd[i] >= 0)
			close(f->qfd[i]);
		f->qfd[i] = -1;
	}
}

/**
 * fixture_free() - free a fixture and its plan, close what it holds
 * @f:	fixture, or NULL
 */
static void fixture_free(struct fixture *f)
{
	if (!f)
		return;
	drop_queues(f);
	plan_free(&f->plan);
	free(f);
}

/**
 * set_inventory() - the VM: an Incus virtio-net-pci NIC on the tap, a
 *		     vmxnet3 placeholder on hub 0, an XHCI with ports 1-2 taken
 * @f:		fixture; @f->tap and @f->n_queues set
 * @mode:	hotplug mode
 */
static void set_inventory(struct fixture *f, enum hotplug_mode mode)
{
	struct vm_inventory *inv = &f->inv;
	struct inv_controller *x = &f->ctrl[0];
	struct inv_nic *n = &f->nics[0], *ph = &f->nics[1];

	inv->version = (struct qmp_version){.major = 10, .minor = 0, .micro = 5};
	inv->pid = -1;
	str_copy(inv->runstate, sizeof(inv->runstate), "prelaunch");
	str_copy(inv->machine, sizeof(inv->machine), "pc-q35-10.0-machine");
	inv->hotplug = mode;

	/* Incus's XHCI (p2=8, p3=8), its spice usb-redir devices on 1 and 2 */
	str_copy(x->id, sizeof(x->id), "qemu_usb");
	str_copy(x->driver, sizeof(x->driver), "qemu-xhci");
	str_copy(x->bus, sizeof(x->bus), "qemu_usb.0");
	x->kind = CTRL_USB;
	x->ports = 8;
	x->usb2_ports = 8;
	x->usb3_ports = 8;
	x->n_used = 2;
	str_copy(x->used[0].port, sizeof(x->used[0].port), "1");
	str_copy(x->used[0].device, sizeof(x->used[0].device), "qemu_spice-usb0");
	str_copy(x->used[1].port, sizeof(x->used[1].port), "2");
	str_copy(x->used[1].device, sizeof(x->used[1].device), "qemu_spice-usb1");
	inv->ctrl = f->ctrl;
	inv->n_ctrl = 1;

	for (unsigned i = 0; i < f->n_queues; i++) {
		struct inv_queue *q = &f->queues[i];

		q->index = i;
		q->qemu_fd = OLD_FD0 + (int)i;
		q->tap.qemu_fd = q->qemu_fd;
		q->tap.is_tun = true;
		str_copy(q->tap.ifname, sizeof(q->tap.ifname), f->tap);
		q->tap.state = TAPQ_ATTACHED;
	}
	str_copy(n->id, sizeof(n->id), "dev-incus_eth0");
	str_copy(n->model, sizeof(n->model), "virtio-net-pci");
	str_copy(n->mac, sizeof(n->mac), NIC_MAC);
	str_copy(n->bus, sizeof(n->bus), "qemu_pcie1");
	n->n_queues = f->n_queues;
	n->hub_id = -1;
	n->incus = true;
	str_copy(n->backend.id, sizeof(n->backend.id), "incus_eth0");
	str_copy(n->backend.type, sizeof(n->backend.type), "tap");
	n->backend.hub_id = -1;
	n->backend.n_queues = f->n_queues;
	n->backend.queues = f->queues;
	str_copy(n->backend.tap, sizeof(n->backend.tap), f->tap);
	n->backend.attached = f->n_queues;

	/* cold-plugged: -netdev hubport,id=qremap_nic0_hp,hubid=0 -device vmxnet3 */
	str_copy(ph->id, sizeof(ph->id), "qremap_nic0");
	str_copy(ph->model, sizeof(ph->model), "vmxnet3");
	str_copy(ph->mac, sizeof(ph->mac), NIC_MAC);
	str_copy(ph->bus, sizeof(ph->bus), "pcie.0");
	ph->n_queues = 1;
	ph->hub_id = 0;
	str_copy(ph->hub_port, sizeof(ph->hub_port), "qremap_nic0_hp");
	ph->backend.hub_id = -1;
	inv->nics = f->nics;
	inv->n_nics = 2;
}

/**
 * fixture_new() - a tap (or only its name), the VM on it, and its plan
 * @v:		plan variant
 * @n_queues:	the tap's queues
 * @multi:	the tap is multiqueue
 * @with_tap:	create the tap (root, in the private namespace); without,
 *		only the plan is of use
 *
 * Return: the fixture (free with fixture_free()), NULL on failure (said on
 *	   stderr)
 */
static struct fixture *fixture_new(const struct variant *v, unsigned n_queues, bool multi,
                                   bool with_tap)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct qr_error err = {0};

	if (!f)
		return NULL;
	/* The executor logs every step; only its errors are worth seeing here */
	log_set_level(verbose() ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	for (unsigned i = 0; i < TAP_QUEUES; i++)
		f->qfd[i] = -1;
	snprintf(f->tap, sizeof(f->tap), "qrnf%u", tap_serial++);
	f->n_queues = n_queues;
	f->multi = multi;
	if (with_tap && make_tap(f, n_queues, multi) < 0) {
		fixture_free(f);
		return NULL;
	}
	set_inventory(f, v->mode);
	if (profile_load_string("test-profile", v->yaml, strlen(v->yaml), &f->prof, &err) < 0 ||
	    plan_build(&f->inv, &f->prof, &f->plan, &err) < 0) {
		fprintf(stderr, "building the plan: %s\n", err.msg);
		fixture_free(f);
		return NULL;
	}
	if (verbose())
		plan_print(stderr, &f->plan);
	return f;
}

/**
 * rows_for() - the golden rows of one plan
 * @set:	the plan's row set
 * @out:	result
 */
static void rows_for(unsigned set, struct rows *out)
{
	out->n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(golden_rows); i++)
		if (golden_rows[i].sets & set)
			out->r[out->n++] = golden_rows[i];
}

/**
 * row_of() - index of the first row of a kind
 * @rows:	rows
 * @kind:	step kind
 *
 * Return: the index, rows->n if there is none
 */
static size_t row_of(const struct rows *rows, enum step_kind kind)
{
	size_t i = 0;

	while (i < rows->n && rows->r[i].kind != kind)
		i++;
	return i;
}

/**
 * push_cmd() - append the peer's expectation of a row's first command
 * @sc:		script
 * @r:		row (a host step's has none: nothing is appended)
 * @keep:	the fake QEMU keeps a queue that comes with it (a good run);
 *		otherwise it closes it, as QEMU does when it refuses getfd
 */
static void push_cmd(struct fq_script *sc, const struct golden_row *r, bool keep)
{
	if (!r->cmd)
		return;
	fq_script_push(sc, (struct fq_step){.kind = FQK_EXPECT,
	                                    .name = r->cmd,
	                                    .args = r->args,
	                                    .want_fd = r->pass_fd,
	                                    .peer_fd = keep ? r->hold : 0});
}

/**
 * push_good() - append a row's whole good-run conversation
 * @sc:	script
 * @r:	row
 */
static void push_good(struct fq_script *sc, const struct golden_row *r)
{
	push_cmd(sc, r, true);
	if (r->cmd)
		fq_script_push_list(sc, r->after, GOLDEN_AFTER_MAX);
}

/**
 * undo_sends() - whether undoing row @i, when step @k failed, sends QMP
 * @rows:	rows
 * @i:		the row undone
 * @k:		the failed step (every row before it was done)
 *
 * Return: true if the undo is a command; false for a host step or a getfd
 *	   whose queue a netdev owns by now
 */
static bool undo_sends(const struct rows *rows, size_t i, size_t k)
{
	if (!rows->r[i].undo_cmd)
		return false;
	if (rows->r[i].undo_unless_owned)
		for (size_t j = i + 1; j < k; j++)
			if (rows->r[j].owns_fd)
				return false;
	return true;
}

/**
 * host_expected() - what the tap must show, from what the script had the
 *		     fake QEMU hold
 * @sc:		the script that ran (all of it: the peer's verdict was good)
 * @n_old:	the queues it started with
 * @detached:	the detach step ran (detaching whatever old queue was left)
 * @want:	result
 *
 * qremap's own copies must all be closed by the time remap_apply()
 * returns, so only what the fake QEMU holds counts; if it died, nothing.
 */
static void host_expected(const struct fq_script *sc, unsigned n_old, bool detached,
                          struct host_want *want)
{
	unsigned old = n_old;
	bool fresh = false;

	memset(want, 0, sizeof(*want));
	for (size_t i = 0; i < sc->n; i++) {
		const struct fq_step *s = &sc->s[i];

		if (s->kind == FQK_EXPECT && s->want_fd && s->peer_fd == FRESH_FD)
			fresh = true;
		else if (s->kind == FQK_CLOSE_FD && s->peer_fd == FRESH_FD)
			fresh = false;
		else if (s->kind == FQK_CLOSE_FD && s->peer_fd >= OLD_FD0 &&
		         s->peer_fd < OLD_FD0 + (int)n_old)
			old--;
		else if (s->kind == FQK_EXIT)
			want->gone = true;
	}
	if (want->gone)
		return;
	want->attached = (fresh ? 1 : 0) + (detached ? 0 : old);
	want->detached = detached ? old : 0;
}

/**
 * fresh_flags() - the flags of the queue the fake QEMU keeps as FRESH_FD
 * @qemu:	its pid
 * @out:	@fresh_flags set, 0 if it holds no such queue
 */
static void fresh_flags(pid_t qemu, struct run *out)
{
	struct qr_error err = {0};
	struct qr_proc p;
	char ifname[IFNAMSIZ];
	bool detached;
	int fd;

	out->fresh_flags = 0;
	if (proc_open_pid(qemu, &p, &err) < 0) {
		proc_close(&p);
		return;
	}
	fd = tap_get_queue_fd(p.pidfd, FRESH_FD, &err);
	if (fd >= 0 && tap_fd_info(fd, ifname, &out->fresh_flags, &detached, &err) < 0)
		out->fresh_flags = 0;
	if (fd >= 0)
		close(fd);
	proc_close(&p);
}

/**
 * look_at_tap() - the tap's queue counts, and who holds its queues
 * @f:		fixture
 * @qemu:	the fake QEMU's pid
 * @out:	@link, @attached, @detached, @ours and @qemu filled in
 */
static void look_at_tap(const struct fixture *f, pid_t qemu, struct run *out)
{
	struct qr_error err = {0};
	struct qr_proc self, p;
	size_t n = 0;
	int fds[8];

	memset(&out->link, 0, sizeof(out->link));
	tap_link_queues(-1, f->tap, &out->attached, &out->detached, &out->link);
	if (proc_open_pid(getpid(), &self, &err) < 0 ||
	    tap_qemu_tun_fds(&self, f->tap, fds, ARRAY_SIZE(fds), &out->ours, &err) < 0) {
		fprintf(stderr, "our own descriptors: %s\n", err.msg);
		out->ours = ARRAY_SIZE(fds) + 1;
	}
	proc_close(&self);
	/* a QEMU that died (a zombie until reaped) holds nothing */
	if (proc_open_pid(qemu, &p, &err) < 0)
		out->qemu = err.errnum == ESRCH ? 0 : -1;
	else
		out->qemu = tap_qemu_tun_fds(&p, f->tap, fds, ARRAY_SIZE(fds), &n, &err) < 0
		                    ? -1
		                    : (long)n;
	proc_close(&p);
	fresh_flags(qemu, out);
}

/**
 * run_remap() - apply the fixture's plan against a fake QEMU playing @sc
 * @f:		fixture; its queues go to the fake QEMU (ours are closed)
 * @sc:		the peer's script
 * @quit:	opts.quit_on_unsafe
 * @fail_step:	opts.fail_step (the executor's test hook), 0 for none
 * @out:	result; free @out->rep with remap_report_free()
 * @label:	names the case in failure messages
 *
 * The tap is looked at right after remap_apply(), while the fake QEMU still
 * holds what it holds (it stays until fakeqmp_finish()).
 */
static void run_remap(struct fixture *f, const struct fq_script *sc, bool quit, unsigned fail_step,
                      struct run *out, const char *label)
{
	struct remap_opts opts = {.quit_on_unsafe = quit, .fail_step = fail_step};
	struct qmp_client *c = NULL;
	struct qr_error err = {0};
	struct fakeqmp *fq;
	char why[600] = "";
	int keep[TAP_QUEUES];
	int64_t t0;
	int fd;

	memset(out, 0, sizeof(*out));
	out->link.kind = QR_ERR_STATE; /* not looked at */
	out->qemu = -1;
	for (unsigned i = 0; i < f->n_queues; i++)
		keep[i] = f->qfd[i];
	fq = fakeqmp_start_holding(sc->s, sc->n, &fd, keep, f->n_queues);
	/* from now on only the fake QEMU holds the tap's queues */
	drop_queues(f);
	if (!fq)
		return;
	opts.pid = fakeqmp_pid(fq);
	if (qmp_adopt_fd(fd, "fakeqmp", &c, &err) < 0 || qmp_handshake(c, OK_WAIT_MS, &err) < 0) {
		fprintf(stderr, "%s: connecting: %s\n", label, err.msg);
		qmp_close(c);
		fakeqmp_finish(fq, why, sizeof(why));
		return;
	}
	t0 = now_ms();
	remaps++;
	remap_apply(c, &f->plan, &opts, &out->rep);
	out->ms = now_ms() - t0;
	look_at_tap(f, opts.pid, out);
	if (verbose())
		remap_report_print(stderr, &out->rep, &f->plan);
	/* Close first: the script ends with the peer waiting for EOF */
	qmp_close(c);
	out->peer_ok = fakeqmp_finish(fq, why, sizeof(why)) == 0;
	if (!out->peer_ok)
		fprintf(stderr, "%s: fake peer: %s\n", label, why);
}

/**
 * check_host() - the tap shows what the fake QEMU holds, nothing of ours
 * @f:		fixture
 * @run:	the run
 * @sc:		its script
 * @rows:	its plan's rows
 * @want:	expected step results (whether the detach step ran)
 * @label:	names the case in failure messages
 *
 * A single-queue tap has no queue counts (the kernel reports them for
 * multiqueue taps only); then who holds its one queue must do.
 */
static void check_host(const struct fixture *f, const struct run *run, const struct fq_script *sc,
                       const struct rows *rows, const enum step_result *want, const char *label)
{
	size_t d = row_of(rows, STEP_TAP_DETACH);
	struct host_want hw;

	host_expected(sc, f->n_queues, d < rows->n && want[d] == STEP_DONE, &hw);
	CHECK_INT(run->ours, 0);
	if (hw.gone) {
		/* the last queue went with QEMU: qremap kept none */
		if (run->link.errnum != ENODEV)
			fprintf(stderr, "%s: tap %s should be gone: %s\n", label, f->tap,
			        run->link.kind ? run->link.msg : "it is still there");
		CHECK_INT(run->link.errnum, ENODEV);
		return;
	}
	CHECK_INT(run->qemu, (long)(hw.attached + hw.detached));
	if (!f->multi)
		return;
	if (run->link.kind)
		fprintf(stderr, "%s: tap %s: %s\n", label, f->tap, run->link.msg);
	else if (run->attached != hw.attached || run->detached != hw.detached)
		fprintf(stderr,
		        "%s: tap %s has %u attached and %u detached queues, expected %u and %u\n",
		        label, f->tap, run->attached, run->detached, hw.attached, hw.detached);
	CHECK_INT(run->link.kind, QR_OK);
	CHECK_INT(run->attached, hw.attached);
	CHECK_INT(run->detached, hw.detached);
	if (run->rep.outcome == REMAP_ROLLED_BACK) {
		/* "the VM has its original devices": QEMU's queues, all attached */
		CHECK_INT(run->attached, f->n_queues);
		CHECK_INT(run->detached, 0);
	}
}

/**
 * check_plan() - the plan has exactly the golden rows' steps
 * @f:		fixture
 * @rows:	golden rows for it
 */
static void check_plan(const struct fixture *f, const struct rows *rows)
{
	const struct plan *plan = &f->plan;

	CHECK_INT(plan->verdict, PLAN_READY);
	REQUIRE(plan->n_steps == rows->n);
	for (size_t i = 0; i < rows->n; i++) {
		const struct plan_step *s = &plan->steps[i];
		const struct golden_row *r = &rows->r[i];

		CHECK_INT(s->kind, r->kind);
		CHECK_INT(s->commit, r->commit);
		CHECK_INT(s->best_effort, 0);
		CHECK_INT(s->nic, s->kind == STEP_RESET ? -1 : 0);
		CHECK_CONTAINS(s->what, r->what);
		if (s->kind == STEP_TAP_QUEUE || s->kind == STEP_TAP_DETACH ||
		    s->kind == STEP_VERIFY_NIC)
			CHECK_CONTAINS(s->what, f->tap);
		if (s->kind == STEP_QMP)
			CHECK_INT(s->pass_fd, r->pass_fd);
		check_step_golden(s, r->cmd, r->args, r->undo_cmd, r->undo_args);
	}
}

/**
 * test_plan_steps() - the planner makes exactly the golden NIC steps
 *
 * The planner turns the VM into exactly the golden steps, in all four
 * variants: the fresh queue, getfd, its netdev, then usb-net on the first
 * free USB 2 port or a port on the placeholder's hub; the original, its
 * netdev and the old queues; the reset only under ACPI; verify. No tap is
 * needed for this one, but it skips with the rest, so that a run without
 * root says "skipped" rather than "passed".
 */
static void test_plan_steps(void)
{
	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		struct fixture *f = fixture_new(&variants[v], TAP_QUEUES, true, false);
		const struct plan_nic *n;
		struct rows rows;

		REQUIRE(f);
		rows_for(variants[v].set, &rows);
		CHECK_INT(f->plan.n_nics, 1);
		CHECK_INT(f->plan.n_disks, 0);
		CHECK_INT(f->plan.acpi_pending, variants[v].mode == HOTPLUG_ACPI);
		CHECK_INT(f->plan.qmp_timeout_ms, PROFILE_QMP_MS);
		CHECK_INT(f->plan.unplug_timeout_ms, PROFILE_UNPLUG_MS);
		if (f->plan.n_nics == 1) {
			n = &f->plan.nics[0];
			CHECK_STR(n->tap, f->tap);
			CHECK_INT(n->n_old, TAP_QUEUES);
			CHECK_INT(n->old_fds[0], OLD_FD0);
			CHECK_INT(n->old_fds[1], OLD_FD0 + 1);
			CHECK_STR(n->new_netdev, "qremap_eth0");
			CHECK_STR(n->guest_mac, NIC_MAC);
			CHECK_INT(n->unplug_at_reset, variants[v].mode == HOTPLUG_ACPI);
			if (variants[v].set & S_USB) {
				CHECK_STR(n->new_dev, "dev-qremap_eth0");
				CHECK_INT(n->port, 3);
			} else {
				CHECK_STR(n->new_dev, "qremap_nic0");
				CHECK_INT(n->hub_id, 0);
				CHECK_STR(n->hubport, "qremap_eth0_hp");
			}
		}
		check_plan(f, &rows);
		fixture_free(f);
	}
}

/**
 * test_success() - a good run, verified on the host, in every variant
 *
 * The good run, in every variant: the whole golden conversation, the fake
 * QEMU closing its old queues at netdev_del and keeping the one getfd gave
 * it. Verification passes on the host's evidence (one attached queue, the
 * one QEMU holds, as "info network" says) and the tap ends with exactly
 * that queue, none of qremap's copies left.
 */
static void test_success(void)
{
	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		int fds0 = count_fds();
		struct fixture *f = fixture_new(&variants[v], TAP_QUEUES, true, true);
		enum step_result want[ROWS_MAX];
		struct fq_script sc;
		struct rows rows;
		struct run run;
		size_t d;

		REQUIRE(f);
		rows_for(variants[v].set, &rows);
		REQUIRE(f->plan.n_steps == rows.n);
		fq_script_start(&sc);
		for (size_t i = 0; i < rows.n; i++) {
			push_good(&sc, &rows.r[i]);
			want[i] = STEP_DONE;
		}
		fq_script_end(&sc, false);
		run_remap(f, &sc, true, 0, &run, variants[v].name);
		CHECK(run.peer_ok);
		CHECK_INT(run.rep.outcome, REMAP_DONE);
		CHECK_INT(run.rep.failed, -1);
		CHECK_INT(run.rep.error.kind, QR_OK);
		CHECK(!run.rep.quit_sent);
		check_results(&run.rep, want, rows.n, variants[v].name);
		check_host(f, &run, &sc, &rows, want, variants[v].name);
		CHECK_INT(run.attached, 1);
		CHECK(!run.rep.qemu_exited);
		/* opened like Incus's own queues: same tap, same features
		 * (bit 0x1000 reads as IFF_NO_PI or IFF_NOFILTER: both hold)
		 */
		CHECK_INT(run.fresh_flags, TAP_FLAGS);
		d = row_of(&rows, STEP_TAP_DETACH);
		if (run.rep.notes && d < rows.n) {
			CHECK_CONTAINS(run.rep.notes[d], "2 of 2 old queues were attached");
			CHECK_CONTAINS(run.rep.notes[rows.n - 1],
			               "1 attached queue (0 detached), QEMU fd " STR(
			                       FRESH_FD) " = qremap_eth0");
		}
		remap_report_free(&run.rep);
		fixture_free(f);
		CHECK_INT(count_fds(), fds0);
	}
}

/**
 * fault_case() - the peer fails the first command of step @k
 * @v:		plan variant
 * @k:		step; must send a command
 * @fk:		error reply, no reply, hang-up, or QEMU's death
 * @quit:	opts.quit_on_unsafe
 *
 * The peer answers the steps before @k as in a good run, fails @k, then
 * expects exactly what must follow: the undos of the earlier steps in
 * reverse while nothing is committed (for a hang-up: up to the first undo
 * that needs QEMU, which fails), and "quit" if the outcome is unsafe and
 * asked for. Only an error reply says for sure that @k changed nothing, so
 * only it can end "rolled back"; a device_del without an answer counts as
 * asked for, so nothing is undone after one.
 */
static void fault_case(const struct variant *v, size_t k, enum fault_kind fk, bool quit)
{
	static const char *const fk_names[] = {"error", "no reply", "hang-up", "QEMU dies"};
	int fds0 = count_fds();
	struct fixture *f = fixture_new(v, TAP_QUEUES, true, true);
	enum step_result want[ROWS_MAX];
	enum remap_outcome outcome;
	bool lost = fk == FK_HANGUP || fk == FK_DIES;
	bool rollback, undo_failed = false;
	const struct golden_row *r;
	struct fq_script sc;
	struct rows rows;
	struct run run;
	char label[160];

	REQUIRE(f);
	rows_for(v->set, &rows);
	REQUIRE(k < rows.n && f->plan.n_steps == rows.n);
	r = &rows.r[k];
	REQUIRE(r->cmd);
	snprintf(label, sizeof(label), "%s, %s at step %zu (%s), quit_on_unsafe %d", v->name,
	         fk_names[fk], k, r->cmd, quit);
	if (fk == FK_SILENT)
		f->plan.qmp_timeout_ms = SHORT_QMP_MS;

	fq_script_start(&sc);
	for (size_t i = 0; i < k; i++)
		push_good(&sc, &rows.r[i]);
	push_cmd(&sc, r, false);
	for (size_t i = 0; i < rows.n; i++)
		want[i] = i < k ? STEP_DONE : STEP_NOT_RUN;
	want[k] = STEP_FAILED;
	if (fk == FK_ERROR) {
		fq_script_push(&sc, (struct fq_step)FQ_ERROR("GenericError", "injected"));
		/* a verification's reading is a batch: QEMU answers the rest */
		if (r->kind == STEP_VERIFY_NIC)
			fq_script_push_list(&sc, r->after + 1, GOLDEN_AFTER_MAX - 1);
		rollback = r->on_error == F_ROLLBACK;
		outcome = rollback ? REMAP_ROLLED_BACK : REMAP_UNSAFE;
	} else {
		/* ... and the rest of it was sent too, before any answer */
		for (size_t a = 1;
		     fk == FK_SILENT && r->kind == STEP_VERIFY_NIC && a < GOLDEN_AFTER_MAX &&
		     (r->after[a].kind != FQK_SEND || r->after[a].text);
		     a++)
			if (r->after[a].kind == FQK_EXPECT)
				fq_script_push(&sc, r->after[a]);
		if (fk == FK_HANGUP)
			fq_script_push(&sc, (struct fq_step)FQ_CLOSE(NULL));
		else if (fk == FK_DIES)
			fq_script_push(&sc, (struct fq_step)FQ_EXIT);
		/* unknown effect: undo what came before it, if still phase A */
		rollback = !r->commit;
		outcome = REMAP_UNSAFE;
	}
	for (size_t i = k; rollback && i-- > 0;) {
		if (undo_sends(&rows, i, k)) {
			if (lost) {
				want[i] = STEP_UNDO_FAILED;
				undo_failed = true;
				break;
			}
			fq_script_push(&sc, (struct fq_step)FQ_EXPECT_ARGS(rows.r[i].undo_cmd,
			                                                   rows.r[i].undo_args));
			fq_script_push_list(&sc, rows.r[i].undo_after, GOLDEN_AFTER_MAX);
		}
		want[i] = STEP_UNDONE;
	}
	if (!lost)
		fq_script_end(&sc, quit && outcome == REMAP_UNSAFE);

	run_remap(f, &sc, quit, 0, &run, label);
	CHECK(run.peer_ok);
	if (run.rep.outcome != outcome)
		fprintf(stderr, "%s: outcome %s, expected %s (%s)\n", label,
		        remap_outcome_str(run.rep.outcome), remap_outcome_str(outcome),
		        run.rep.error.msg);
	CHECK_INT(run.rep.outcome, outcome);
	CHECK_INT(run.rep.failed, (long)k);
	CHECK_INT(run.rep.error.kind, fk == FK_ERROR    ? QR_ERR_QMP
	                              : fk == FK_SILENT ? QR_ERR_TIMEOUT
	                                                : QR_ERR_DISCONNECTED);
	if (fk == FK_ERROR)
		CHECK_CONTAINS(run.rep.error.msg, "injected");
	CHECK_INT(run.rep.undo_error.kind, undo_failed ? QR_ERR_DISCONNECTED : QR_OK);
	/* no "quit" over a lost connection; a dead QEMU isn't even asked */
	CHECK_INT(run.rep.quit_sent, quit && outcome == REMAP_UNSAFE && !lost);
	CHECK_INT(run.rep.qemu_exited, fk == FK_DIES);
	CHECK(run.ms < HANG_MS);
	if (fk == FK_SILENT)
		CHECK(run.ms >= SHORT_QMP_MS);
	check_results(&run.rep, want, rows.n, label);
	check_host(f, &run, &sc, &rows, want, label);
	remap_report_free(&run.rep);
	fixture_free(f);
	CHECK_INT(count_fds(), fds0);
}

/**
 * test_error_at_every_step() - QEMU refuses each step that talks to it
 *
 * QEMU refuses step k, for every step that talks to it, in every variant,
 * with and without quit_on_unsafe: up to the first device_del (refused:
 * nothing committed) every step done is undone in reverse and the tap has
 * exactly QEMU's queues again; after it the remap stops where it is.
 */
static void test_error_at_every_step(void)
{
	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		struct rows rows;

		rows_for(variants[v].set, &rows);
		for (size_t k = 0; k < rows.n; k++) {
			if (!rows.r[k].cmd)
				continue;
			fault_case(&variants[v], k, FK_ERROR, false);
			fault_case(&variants[v], k, FK_ERROR, true);
		}
	}
}

/**
 * test_no_reply_at_every_step() - QEMU never answers each step
 *
 * QEMU never answers step k: whether it carried it out is unknown, so the
 * outcome is unsafe even where the steps before it can be undone (and are,
 * in phase A). Every variant with quit_on_unsafe, the first without.
 */
static void test_no_reply_at_every_step(void)
{
	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		struct rows rows;

		rows_for(variants[v].set, &rows);
		for (size_t k = 0; k < rows.n; k++) {
			if (!rows.r[k].cmd)
				continue;
			fault_case(&variants[v], k, FK_SILENT, true);
			if (!v)
				fault_case(&variants[v], k, FK_SILENT, false);
		}
	}
}

/**
 * test_hangup_at_every_step() - QEMU's monitor hangs up at each step
 *
 * QEMU's monitor hangs up instead of answering step k, QEMU itself lives
 * on: unsafe, no "quit" claimed, QEMU not reported gone; in phase A the
 * executor still closes its fresh queue (a host undo) and stops at the
 * first undo that needs QEMU. Whatever QEMU was given stays QEMU's: the tap
 * shows it. Each such case costs the executor's bounded wait for QEMU's
 * exit (0.5 s). Every step of every variant.
 */
static void test_hangup_at_every_step(void)
{
	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		const struct variant *v = &variants[i];
		struct rows rows;

		rows_for(v->set, &rows);
		for (size_t k = 0; k < rows.n; k++)
			if (rows.r[k].cmd)
				fault_case(v, k, FK_HANGUP, true);
	}
}

/**
 * test_qemu_dies_at_every_step() - QEMU dies at each step
 *
 * QEMU dies instead of answering step k, in every variant: unsafe, QEMU
 * reported gone (so not told to quit), undos stop at the first that needs
 * it; and the tap is gone with QEMU's queues, so qremap kept none.
 */
static void test_qemu_dies_at_every_step(void)
{
	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		struct rows rows;

		rows_for(variants[v].set, &rows);
		for (size_t k = 0; k < rows.n; k++)
			if (rows.r[k].cmd)
				fault_case(&variants[v], k, FK_DIES, true);
	}
}

/**
 * enum tapq_fault - how the fresh-queue step can fail on the host
 * @TQ_FD_CLOSED:	an old queue's fd number is not open in QEMU
 * @TQ_FD_NOT_TUN:	an old queue's fd number is not a tun file
 * @TQ_OTHER_TAP:	QEMU's queues belong to another tap than the plan's
 * @TQ_SINGLE_QUEUE:	the tap is not multiqueue: no second queue opens
 */
enum tapq_fault {
	TQ_FD_CLOSED,
	TQ_FD_NOT_TUN,
	TQ_OTHER_TAP,
	TQ_SINGLE_QUEUE,
};

/**
 * test_tap_queue_faults() - the fresh-queue step fails on the host
 *
 * The fresh-queue step fails on the host, before QEMU is told anything: a
 * host step's failure is definite, so the outcome is rolled back (no QMP at
 * all, no "quit" though asked for), every copy taken of QEMU's queues is
 * closed again, and the tap is untouched.
 */
static void test_tap_queue_faults(void)
{
	static const struct {
		enum tapq_fault fault;
		const char *label;
		enum qr_err_kind kind;
		const char *msg;
	} cases[] = {
	        {TQ_FD_CLOSED, "QEMU fd not open", QR_ERR_SYS, "copying queue 1 (QEMU fd 99)"},
	        {TQ_FD_NOT_TUN, "QEMU fd not a tun", QR_ERR_STATE, "not a /dev/net/tun file"},
	        {TQ_OTHER_TAP, "another tap", QR_ERR_STATE, "not of qrnf-gone"},
	        {TQ_SINGLE_QUEUE, "single-queue tap", QR_ERR_SYS, "for a fresh queue"},
	};

	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		bool single = cases[c].fault == TQ_SINGLE_QUEUE;
		int fds0 = count_fds();
		struct fixture *f =
		        fixture_new(&variants[0], single ? 1 : TAP_QUEUES, !single, true);
		enum step_result want[ROWS_MAX];
		struct fq_script sc;
		struct rows rows;
		struct run run;

		REQUIRE(f);
		rows_for(variants[0].set, &rows);
		REQUIRE(f->plan.n_steps == rows.n && rows.r[0].kind == STEP_TAP_QUEUE);
		if (cases[c].fault == TQ_FD_CLOSED)
			f->plan.nics[0].old_fds[1] = 99;
		else if (cases[c].fault == TQ_FD_NOT_TUN)
			f->plan.nics[0].old_fds[1] = STDERR_FILENO;
		else if (cases[c].fault == TQ_OTHER_TAP)
			str_copy(f->plan.nics[0].tap, sizeof(f->plan.nics[0].tap), "qrnf-gone");
		fq_script_start(&sc);
		fq_script_end(&sc, false);
		for (size_t i = 0; i < rows.n; i++)
			want[i] = STEP_NOT_RUN;
		want[0] = STEP_FAILED;

		run_remap(f, &sc, true, 0, &run, cases[c].label);
		CHECK(run.peer_ok);
		CHECK_INT(run.rep.outcome, REMAP_ROLLED_BACK);
		CHECK_INT(run.rep.failed, 0);
		CHECK_INT(run.rep.error.kind, cases[c].kind);
		CHECK_CONTAINS(run.rep.error.msg, cases[c].msg);
		if (single)
			CHECK_INT(run.rep.error.errnum, EBUSY);
		CHECK(!run.rep.quit_sent);
		check_results(&run.rep, want, rows.n, cases[c].label);
		check_host(f, &run, &sc, &rows, want, cases[c].label);
		remap_report_free(&run.rep);
		fixture_free(f);
		CHECK_INT(count_fds(), fds0);
	}
}

/**
 * test_tap_detach_fault() - the detach step fails
 *
 * The detach step fails (the executor's test hook: the kernel won't refuse
 * TUNSETQUEUE on demand) after QEMU has let its old queues go: unsafe, and
 * the old queues, never detached, are gone with qremap's last copies; the
 * tap keeps only QEMU's new queue.
 */
static void test_tap_detach_fault(void)
{
	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		int fds0 = count_fds();
		struct fixture *f = fixture_new(&variants[v], TAP_QUEUES, true, true);
		enum step_result want[ROWS_MAX];
		struct fq_script sc;
		struct rows rows;
		struct run run;
		size_t k;

		REQUIRE(f);
		rows_for(variants[v].set, &rows);
		REQUIRE(f->plan.n_steps == rows.n);
		k = row_of(&rows, STEP_TAP_DETACH);
		REQUIRE(k < rows.n);
		fq_script_start(&sc);
		for (size_t i = 0; i < k; i++)
			push_good(&sc, &rows.r[i]);
		fq_script_end(&sc, true);
		for (size_t i = 0; i < rows.n; i++)
			want[i] = i < k ? STEP_DONE : STEP_NOT_RUN;
		want[k] = STEP_FAILED;

		run_remap(f, &sc, true, (unsigned)k + 1, &run, variants[v].name);
		CHECK(run.peer_ok);
		CHECK_INT(run.rep.outcome, REMAP_UNSAFE);
		CHECK_INT(run.rep.failed, (long)k);
		CHECK_INT(run.rep.undo_error.kind, QR_OK);
		CHECK(run.rep.quit_sent);
		check_results(&run.rep, want, rows.n, variants[v].name);
		check_host(f, &run, &sc, &rows, want, variants[v].name);
		CHECK_INT(run.attached, 1);
		remap_report_free(&run.rep);
		fixture_free(f);
		CHECK_INT(count_fds(), fds0);
	}
}

/**
 * test_verify_catches_leftovers() - verification finds what the replies hide
 *
 * Verification believes the host and QEMU, not the commands' replies: a
 * QEMU that kept its old queues after netdev_del (they are detached, but
 * still its descriptors), a new netdev on another fd than the one QEMU
 * holds, or an original still in /machine/peripheral is unsafe although
 * every command succeeded.
 */
static void test_verify_catches_leftovers(void)
{
	static const struct {
		const char *label;
		const char *info_network;
		const char *qom_list;
		bool keep_old;
		const char *msg;
	} cases[] = {
	        {"QEMU keeps its old queues", NULL, NULL, true, "QEMU holds 3 descriptors for tap"},
	        {"netdev on another fd", INFO_NET_USB_OTHER_FD, NULL, false,
	         "but netdev qremap_eth0 uses fd 7"},
	        {"original still there", INFO_NET_USB, QOM_LIST_ETH0_STILL_THERE, false,
	         "dev-incus_eth0 is still there"},
	};

	if (net_why[0])
		SKIP("%s", net_why);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		int fds0 = count_fds();
		struct fixture *f = fixture_new(&variants[0], TAP_QUEUES, true, true);
		enum step_result want[ROWS_MAX];
		struct fq_script sc;
		struct rows rows;
		struct run run;
		size_t k, del;

		REQUIRE(f);
		rows_for(variants[0].set, &rows);
		REQUIRE(f->plan.n_steps == rows.n);
		k = rows.n - 1;
		del = row_of(&rows, STEP_TAP_DETACH) - 1;
		REQUIRE(rows.r[k].kind == STEP_VERIFY_NIC &&
		        !strcmp(rows.r[del].cmd, "netdev_del"));
		if (cases[c].keep_old) {
			/* netdev_del answered, queues kept: verify asks no QMP */
			rows.r[del].after[0] = (struct fq_step)FQ_RETURN("{}");
			rows.r[del].after[1] = (struct fq_step){0};
			rows.r[k].cmd = NULL;
		}
		if (cases[c].info_network)
			rows.r[k].after[0] = (struct fq_step)FQ_RETURN(cases[c].info_network);
		if (cases[c].qom_list)
			rows.r[k].after[2] = (struct fq_step)FQ_RETURN(cases[c].qom_list);

		fq_script_start(&sc);
		for (size_t i = 0; i <= k; i++)
			push_good(&sc, &rows.r[i]);
		fq_script_end(&sc, true);
		for (size_t i = 0; i < rows.n; i++)
			want[i] = STEP_DONE;
		want[k] = STEP_FAILED;

		run_remap(f, &sc, true, 0, &run, cases[c].label);
		CHECK(run.peer_ok);
		CHECK_INT(run.rep.outcome, REMAP_UNSAFE);
		CHECK_INT(run.rep.failed, (long)k);
		CHECK_INT(run.rep.error.kind, QR_ERR_STATE);
		CHECK_CONTAINS(run.rep.error.msg, cases[c].msg);
		CHECK(run.rep.quit_sent);
		check_results(&run.rep, want, rows.n, cases[c].label);
		check_host(f, &run, &sc, &rows, want, cases[c].label);
		if (cases[c].keep_old)
			CHECK_INT(run.detached, TAP_QUEUES);
		remap_report_free(&run.rep);
		fixture_free(f);
		CHECK_INT(count_fds(), fds0);
	}
}

/**
 * prepare_net() - a private network namespace for every tap of this test
 *
 * Called first thing in main(), before any fork or thread: the fake QEMUs
 * forked later share it, and it vanishes with the process, taps and all.
 * Sets net_why if the tap tests can't run.
 */
static void prepare_net(void)
{
	if (!test_is_root()) {
		snprintf(net_why, sizeof(net_why),
		         "needs root: the NIC steps copy a process's tap queues "
		         "(pidfd_getfd) and open new ones (CAP_NET_ADMIN)");
		return;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		snprintf(net_why, sizeof(net_why),
		         "unshare(CLONE_NEWNET): %s; taps are only made in a private namespace",
		         strerror(errno));
		return;
	}
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		snprintf(net_why, sizeof(net_why), "/dev/net/tun: %s", strerror(errno));
}

/**
 * main() - make the private namespace, then run the tests
 * @argc:	argument count
 * @argv:	test names to run (all if none)
 *
 * Not TEST_MAIN(): the namespace must be made before anything else runs.
 *
 * Return: 0 if all passed, 1 if any failed, 77 if all were skipped
 */
int main(int argc, char **argv)
{
	static const struct test_case tests[] = {
	        {"test_plan_steps", test_plan_steps},
	        {"test_success", test_success},
	        {"test_error_at_every_step", test_error_at_every_step},
	        {"test_no_reply_at_every_step", test_no_reply_at_every_step},
	        {"test_hangup_at_every_step", test_hangup_at_every_step},
	        {"test_qemu_dies_at_every_step", test_qemu_dies_at_every_step},
	        {"test_tap_queue_faults", test_tap_queue_faults},
	        {"test_tap_detach_fault", test_tap_detach_fault},
	        {"test_verify_catches_leftovers", test_verify_catches_leftovers},
	};

	int r;

	prepare_net();
	r = test_main(argc, argv, tests, ARRAY_SIZE(tests));
	printf("%u remaps against a fake QEMU on a real tap\n", remaps);
	return r;
}
