/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - infonet.h: strict parser for HMP "info network"
 *
 * QMP has no command that shows netdevs or their descriptors (query-netdev
 * was reverted), so "info network" is the only source for which QEMU fd
 * backs which tap queue. Its shape, from QEMU's net/net.c print_net_client(),
 * net/hub.c net_hub_info() and hmp_info_network() (identical in 7.2 and
 * 10.0):
 *
 *   hub 0                                     hubs first
 *    \ hub0port0: e1000.0: index=0,type=nic,model=e1000,macaddr=52:54:...
 *    \ hp1                                    a hub port without peer
 *   dev-incus_eth0: index=0,type=nic,model=virtio-net-pci,macaddr=10:66:6a:...
 *    \ incus_eth0: index=0,type=tap,fd=11     the NIC queue's backend
 *   dev-incus_eth0: index=1,type=nic,         queues >= 1: empty info
 *    \ incus_eth0: index=1,type=tap,fd=12
 *   incus_eth1: index=0,type=tap,fd=13        a netdev without a peer
 *   filters:                                  after any client line
 *     - f0: type=filter-buffer,interval=1000,...
 *
 * HMP output lines end in CRLF. Anything else is rejected with the line
 * number, so a QEMU that changes the format fails loudly instead of feeding
 * wrong descriptor numbers to the remap.
 */
#ifndef QREMAP_INFONET_H
#define QREMAP_INFONET_H

#include <stdbool.h>
#include <stddef.h>

#include "qremap/error.h"

#define INFONET_NAME_MAX 128
/* Net clients in one "info network": QEMU's output is the peer's to make, and
 * each entry costs ~1 KiB here; a VM has a few per NIC (one per queue) */
#define INFONET_MAX_ENTRIES 4096

/**
 * struct infonet_client - one net client line
 * @name:	client name: qdev id for NICs, netdev id for backends
 * @index:	queue index
 * @type:	NetClientDriver name: "nic", "tap", "hubport", "user", ...
 * @info:	the text after "type=...,", as printed
 * @fd:		for tap "fd=N", N; else -1
 * @model:	for NICs with info, "model="
 * @mac:	for NICs with info, "macaddr=" (lower case, colon separated)
 * @n_filters:	number of "filters:" entries printed after the line
 */
struct infonet_client {
	char name[INFONET_NAME_MAX];
	unsigned index;
	char type[32];
	char info[256];
	int fd;
	char model[64];
	char mac[18];
	unsigned n_filters;
};

/**
 * struct infonet_entry - a top-level client with its peer, or a hub port
 * @line:	1-based line number where the entry starts
 * @hub_id:	hub number for hub ports, -1 for top-level entries
 * @port:	hub port name (hub ports only)
 * @has_client:	@client is valid (false for a hub port without peer)
 * @client:	the client; for hub ports, the port's peer
 * @has_peer:	@peer is valid (top-level NICs with a backend)
 * @peer:	the NIC's backend
 */
struct infonet_entry {
	unsigned line;
	int hub_id;
	char port[INFONET_NAME_MAX];
	bool has_client;
	struct infonet_client client;
	bool has_peer;
	struct infonet_client peer;
};

/**
 * struct infonet - parsed "info network" output
 * @entries:	entries in output order
 * @n:		number of entries
 */
struct infonet {
	struct infonet_entry *entries;
	size_t n;
};

int infonet_parse(const char *text, struct infonet *out, struct qr_error *err);
void infonet_free(struct infonet *in);

#endif /* QREMAP_INFONET_H */
