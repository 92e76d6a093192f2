// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tests/unit/test_infonet.c: the "info network" parser, one test per
 * line shape QEMU prints (docs/facts.md §3, QEMU net/net.c and net/hub.c)
 * and a table of malformed inputs that must be rejected with the line number.
 */

#include <stdlib.h>
#include <string.h>

#include "qremap/infonet.h"
#include "qremap/util.h"
#include "testlib.h"

/* Incus's multiqueue NIC as Debian's QEMU 10.0.2 prints it (CRLF, HMP) */
static void test_incus_multiqueue_nic(void)
{
	const char *text = "dev-incus_eth0: index=0,type=nic,model=virtio-net-pci,"
	                   "macaddr=10:66:6a:11:22:33\r\n"
	                   " \\ incus_eth0: index=0,type=tap,fd=11\r\n"
	                   "dev-incus_eth0: index=1,type=nic,\r\n"
	                   " \\ incus_eth0: index=1,type=tap,fd=12\r\n";
	struct qr_error err;
	struct infonet in;

	REQUIRE(infonet_parse(text, &in, &err) == 0);
	REQUIRE(in.n == 2);
	CHECK_STR(in.entries[0].client.name, "dev-incus_eth0");
	CHECK_STR(in.entries[0].client.type, "nic");
	CHECK_STR(in.entries[0].client.model, "virtio-net-pci");
	CHECK_STR(in.entries[0].client.mac, "10:66:6a:11:22:33");
	CHECK_INT(in.entries[0].client.index, 0);
	CHECK_INT(in.entries[0].hub_id, -1);
	CHECK(in.entries[0].has_peer);
	CHECK_STR(in.entries[0].peer.name, "incus_eth0");
	CHECK_STR(in.entries[0].peer.type, "tap");
	CHECK_INT(in.entries[0].peer.fd, 11);
	/* queue >= 1: the NIC line ends in ',' with empty info */
	CHECK_INT(in.entries[1].client.index, 1);
	CHECK_STR(in.entries[1].client.info, "");
	CHECK_STR(in.entries[1].client.model, "");
	CHECK_INT(in.entries[1].peer.index, 1);
	CHECK_INT(in.entries[1].peer.fd, 12);
	CHECK_INT(in.entries[1].line, 3);
	infonet_free(&in);
}

/* A netdev with no peer (its NIC was deleted, or never had one) */
static void test_peerless_netdev(void)
{
	const char *text = "incus_eth0: index=2,type=tap,fd=13\r\n";
	struct qr_error err;
	struct infonet in;

	REQUIRE(infonet_parse(text, &in, &err) == 0);
	REQUIRE(in.n == 1);
	CHECK_STR(in.entries[0].client.type, "tap");
	CHECK_INT(in.entries[0].client.index, 2);
	CHECK_INT(in.entries[0].client.fd, 13);
	CHECK(!in.entries[0].has_peer);
	infonet_free(&in);
}

/* A NIC without backend, printed top-level with no " \ " line after it */
static void test_nic_without_peer(void)
{
	const char *text = "un0: index=0,type=nic,model=usb-net,macaddr=52:54:00:12:34:56\r\n"
	                   "incus_eth1: index=0,type=tap,fd=20\r\n";
	struct qr_error err;
	struct infonet in;

	REQUIRE(infonet_parse(text, &in, &err) == 0);
	REQUIRE(in.n == 2);
	CHECK(!in.entries[0].has_peer);
	CHECK_STR(in.entries[0].client.model, "usb-net");
	CHECK_STR(in.entries[1].client.name, "incus_eth1");
	infonet_free(&in);
}

/* Hubs come first: "hub N", then " \ PORT: CLIENT" or " \ PORT" */
static void test_hub(void)
{
	const char *text =
	        "hub 0\r\n"
	        " \\ hp1: incus_eth0q: index=0,type=tap,fd=30\r\n"
	        " \\ hp0: nic0: index=0,type=nic,model=vmxnet3,macaddr=10:66:6A:AA:BB:CC\r\n"
	        " \\ hp2\r\n"
	        "hub 7\r\n"
	        " \\ hub7port0: e1000.0: index=0,type=nic,model=e1000,"
	        "macaddr=52:54:00:00:00:01\r\n"
	        "dev-incus_eth1: index=0,type=nic,model=virtio-net-pci,"
	        "macaddr=10:66:6a:00:00:02\r\n"
	        " \\ incus_eth1: index=0,type=tap,fd=31\r\n";
	struct qr_error err;
	struct infonet in;

	REQUIRE(infonet_parse(text, &in, &err) == 0);
	REQUIRE(in.n == 5);
	CHECK_INT(in.entries[0].hub_id, 0);
	CHECK_STR(in.entries[0].port, "hp1");
	CHECK_STR(in.entries[0].client.name, "incus_eth0q");
	CHECK_INT(in.entries[0].client.fd, 30);
	CHECK_STR(in.entries[1].client.model, "vmxnet3");
	CHECK_STR(in.entries[1].client.mac, "10:66:6a:aa:bb:cc"); /* normalised */
	CHECK_STR(in.entries[2].port, "hp2");
	CHECK(!in.entries[2].has_client);
	CHECK_INT(in.entries[3].hub_id, 7);
	CHECK_STR(in.entries[3].client.name, "e1000.0");
	/* the top-level NIC after the hub block is not a hub port */
	CHECK_INT(in.entries[4].hub_id, -1);
	CHECK(in.entries[4].has_peer);
	CHECK_INT(in.entries[4].peer.fd, 31);
	infonet_free(&in);
}

/* "filters:" blocks follow the client they belong to, also between a NIC
 * and its backend line
 */
static void test_filters(void)
{
	const char *text =
	        "nic0: index=0,type=nic,model=e1000,macaddr=52:54:00:00:00:01\r\n"
	        "filters:\r\n"
	        "  - f0: type=filter-buffer,interval=1000,position=tail,insert=behind\r\n"
	        "  - f1: type=filter-dump,file=/tmp/x.pcap\r\n"
	        " \\ net0: index=0,type=tap,fd=9\r\n"
	        "filters:\r\n"
	        "  - f2: type=filter-mirror,outdev=c0\r\n";
	struct qr_error err;
	struct infonet in;

	REQUIRE(infonet_parse(text, &in, &err) == 0);
	REQUIRE(in.n == 1);
	CHECK_INT(in.entries[0].client.n_filters, 2);
	CHECK(in.entries[0].has_peer);
	CHECK_INT(in.entries[0].peer.n_filters, 1);
	CHECK_INT(in.entries[0].peer.fd, 9);
	infonet_free(&in);
}

/* Other tap info forms and other backends keep their text, fd is -1 */
static void test_other_backends(void)
{
	const char *text = "net1: index=0,type=tap,ifname=tap9,script=no,downscript=no\n"
	                   "net2: index=0,type=tap,helper=/usr/lib/qemu/qemu-bridge-helper,br=br0\n"
	                   "net3: index=0,type=user,net=10.0.2.0,restrict=off\n"
	                   "net4: index=0,type=vhost-user,vhost-user0 to chr0\n"
	                   "net5: index=0,type=socket,\n";
	struct qr_error err;
	struct infonet in;

	REQUIRE(infonet_parse(text, &in, &err) == 0);
	REQUIRE(in.n == 5);
	CHECK_INT(in.entries[0].client.fd, -1);
	CHECK_STR(in.entries[0].client.info, "ifname=tap9,script=no,downscript=no");
	CHECK_INT(in.entries[1].client.fd, -1);
	CHECK_STR(in.entries[2].client.type, "user");
	CHECK_STR(in.entries[3].client.type, "vhost-user");
	CHECK_STR(in.entries[3].client.info, "vhost-user0 to chr0");
	CHECK_STR(in.entries[4].client.info, "");
	infonet_free(&in);
}

static void test_empty_output(void)
{
	struct qr_error err;
	struct infonet in;

	REQUIRE(infonet_parse("", &in, &err) == 0);
	CHECK_INT(in.n, 0);
	infonet_free(&in);
}

/* Malformed input: each must fail with QR_ERR_PARSE naming the right line */
static void test_garbage(void)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *why;
	} cases[] = {
	        {"hello world\r\n", 1, "expected"},
	        {"nic0: index=x,type=nic,\r\n", 1, "index is not a number"},
	        {"nic0: index=0,type=NIC,\r\n", 1, "invalid client type"},
	        {"nic0: index=0,typ=nic,\r\n", 1, "type="},
	        {"nic0: index=0,type=nic\r\n", 1, "type is not followed"},
	        {": index=0,type=tap,fd=3\r\n", 1, "invalid client name"},
	        {"a b: index=0,type=tap,fd=3\r\n", 1, "invalid client name"},
	        {"n: index=0,type=tap,fd=3x\r\n", 1, "fd= is not a number"},
	        {"n: index=0,type=nic,model=e1000\r\n", 1, "no macaddr"},
	        {"n: index=0,type=nic,model=e1000,macaddr=52:54:00:00:00\r\n", 1, "MAC"},
	        {"n: index=0,type=nic,macaddr=52:54:00:00:00:01\r\n", 1, "model="},
	        {"n0: index=0,type=tap,fd=3\r\n \\ x: index=0,type=tap,fd=4\r\n", 2,
	         "without a NIC line"},
	        {" \\ x: index=0,type=tap,fd=4\r\n", 1, "without a NIC line"},
	        {"hub x\r\n", 1, "hub id"},
	        {"hub 0\r\n \\ bad port: nic0: index=0,type=nic,\r\n", 2, "hub port name"},
	        {"filters:\r\n", 1, "not after a client line"},
	        {"n: index=0,type=tap,fd=3\r\n  - f0: type=filter-dump\r\n", 2,
	         "outside a \"filters:\" block"},
	        {"n: index=0,type=tap,fd=3\r\nfilters:\r\n  - f0 filter-dump\r\n", 3,
	         "filter line"},
	        {"n: index=0,type=tap,fd=3\r\n\r\nm: index=0,type=tap,fd=4\r\n", 2, "empty line"},
	        {"n: index=0,type=tap,fd=3\rm: index=0,type=tap,fd=4\r\n", 1, "carriage return"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct qr_error err;
		struct infonet in;
		char want[32];
		int r = infonet_parse(cases[i].text, &in, &err);

		infonet_free(&in);
		if (r == 0) {
			fprintf(stderr, "case %zu accepted: %s\n", i, cases[i].text);
			CHECK(r < 0);
			continue;
		}
		CHECK_INT(err.kind, QR_ERR_PARSE);
		snprintf(want, sizeof(want), "line %u:", cases[i].line);
		CHECK_CONTAINS(err.msg, want);
		CHECK_CONTAINS(err.msg, cases[i].why);
	}
}

/* A line longer than anything QEMU prints is refused, not truncated */
static void test_overlong_line(void)
{
	static char text[2048];
	struct qr_error err;
	struct infonet in;

	memset(text, 'a', sizeof(text) - 1);
	CHECK(infonet_parse(text, &in, &err) < 0);
	CHECK_CONTAINS(err.msg, "longer than");
	infonet_free(&in);
}

/* A peer can list as many net clients as its message bound allows, each
 * line costing far more here than there: INFONET_MAX_ENTRIES pass, one more
 * is refused
 */
static void test_entries_bounded(void)
{
	static const char line[] = "n: index=0,type=user,net=10.0.2.0\r\n";
	size_t len = sizeof(line) - 1;
	_cleanup_free_ char *text = malloc(len * (INFONET_MAX_ENTRIES + 1) + 1);
	struct qr_error err;
	struct infonet in;

	REQUIRE(text);
	for (size_t i = 0; i <= INFONET_MAX_ENTRIES; i++)
		memcpy(text + i * len, line, len);
	text[len * INFONET_MAX_ENTRIES] = '\0';
	CHECK_INT(infonet_parse(text, &in, &err), 0);
	CHECK_INT((int)in.n, INFONET_MAX_ENTRIES);
	infonet_free(&in);
	text[len * INFONET_MAX_ENTRIES] = line[0];
	text[len * (INFONET_MAX_ENTRIES + 1)] = '\0';
	CHECK(infonet_parse(text, &in, &err) < 0);
	CHECK_CONTAINS(err.msg, "more than 4096 net clients");
	infonet_free(&in);
}

TEST_MAIN(test_incus_multiqueue_nic, test_peerless_netdev, test_nic_without_peer, test_hub,
          test_filters, test_other_backends, test_empty_output, test_garbage, test_overlong_line,
          test_entries_bounded)
