#!/bin/bash
# smoke.sh QEMU_BINARY [GUEST_DIR]
#
# Boots the qremap test guest (GUEST_DIR/vmlinuz + initrd.img, default
# .cache/guest as built by build-guest.sh) under TCG with a usb-net NIC on
# qemu-xhci and a raw disk on ich9-ahci, and checks what the guest reports:
# QG READY, the disk pattern found, a cdc_ether/rndis interface, no virtio
# device; then pings the guest and talks to its TCP/UDP echo service.
#
# Everything happens in a network namespace of its own (qg-smoke-$$) holding
# a tap (qgtap0, 10.99.0.1/24; the guest is 10.99.0.2/24); no traffic leaves
# it.  QEMU is stopped by its PID and the namespace deleted on exit.
# Needs root.  Exit 0 when every check passes.
#
# Environment:
#   QG_SMOKE_TIMEOUT  seconds to wait for QG READY (default 120)
#   QG_SMOKE_LOG      copy the guest's serial log here (it is kept in a
#                     temporary directory, and printed, on failure anyway)
set -euo pipefail

die() { echo "smoke: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 QEMU_BINARY [GUEST_DIR]"
[ "$(id -u)" = 0 ] || die "needs root (network namespace, tap)"
QEMU=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST=${2:-$HERE/../../.cache/guest}
[ -x "$QEMU" ] || die "$QEMU is not executable"
[ -f "$GUEST/vmlinuz" ] && [ -f "$GUEST/initrd.img" ] ||
	die "no $GUEST/vmlinuz or initrd.img (run tests/guest/build-guest.sh $GUEST)"
TIMEOUT=${QG_SMOKE_TIMEOUT:-120}

NS=qg-smoke-$$
TAP=qgtap0
HOST_IP=10.99.0.1 GUEST_IP=10.99.0.2
MAC=52:54:00:12:34:56
WORK=$(mktemp -d /tmp/qg-smoke.XXXXXX)
LOG=$WORK/serial.log
IMG=$WORK/disk.img
QPID='' NS_MADE='' OK=0

cleanup() {
	local rc=$?
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	[ -n "$NS_MADE" ] && ip netns del "$NS" 2>/dev/null || true
	[ -n "${QG_SMOKE_LOG:-}" ] && [ -f "$LOG" ] && cp "$LOG" "$QG_SMOKE_LOG"
	if [ "$OK" = 1 ]; then
		rm -rf "$WORK"
	else
		echo "smoke: FAILED; serial log kept in $LOG:" >&2
		[ -f "$LOG" ] && tr -d '\r' <"$LOG" | tail -n 60 >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { ip netns exec "$NS" "$@"; }
now() { date +%s.%N; }
fails=0
check() { # check NAME DETAIL COMMAND...   (records pass/fail, never exits)
	local name=$1 detail=$2
	shift 2
	if "$@"; then
		echo "smoke: ok   $name${detail:+: $detail}"
	else
		echo "smoke: FAIL $name${detail:+: $detail}"
		fails=$((fails + 1))
	fi
}
has() { printf '%s\n' "$1" | grep -qE -- "$2"; } # has TEXT REGEX

# ---- namespace + tap -----------------------------------------------------------
ip netns add "$NS"
NS_MADE=1
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add "$TAP" mode tap
ip -n "$NS" addr add "$HOST_IP/24" dev "$TAP"
ip -n "$NS" link set "$TAP" up

# ---- disk ----------------------------------------------------------------------
PATTERN=QREMAP-PATTERN-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s' "$PATTERN" >"$IMG"
truncate -s 64M "$IMG"

# ---- boot ----------------------------------------------------------------------
QVER=$("$QEMU" -version | head -n1)
echo "smoke: $QVER"
: >"$LOG"
t_start=$(now)
# Not through nsx: a backgrounded shell function would make $! a subshell.
ip netns exec "$NS" "$QEMU" \
	-machine q35 -accel tcg -cpu max -m 512 -nographic -nodefaults \
	-serial "file:$LOG" -pidfile "$WORK/qemu.pid" \
	-kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.img" \
	-append "console=ttyS0 qremap.ip=$GUEST_IP/24 qremap.disk_pattern=$PATTERN" \
	-device qemu-xhci,id=xhci \
	-netdev tap,id=n0,ifname=$TAP,script=no,downscript=no \
	-device usb-net,netdev=n0,bus=xhci.0,mac=$MAC \
	-device ich9-ahci,id=ahci \
	-blockdev driver=file,filename="$IMG",node-name=d0 \
	-device ide-hd,drive=d0,bus=ahci.0 \
	</dev/null >"$WORK/qemu.out" 2>&1 &
QPID=$!   # ip netns exec and the 10.0 wrapper both exec: this is QEMU

# Poll the serial log (bounded) for QG READY.
deadline=$(awk -v t="$t_start" -v d="$TIMEOUT" 'BEGIN { printf "%d", t + d }')
ready=
while :; do
	if grep -q '^QG READY' <(tr -d '\r' <"$LOG"); then
		ready=$(now)
		break
	fi
	kill -0 "$QPID" 2>/dev/null || { cat "$WORK/qemu.out" >&2; die "QEMU exited before QG READY"; }
	[ "$(date +%s)" -lt "$deadline" ] || die "no QG READY within ${TIMEOUT}s"
	sleep 0.2
done
# QEMU wrote its pidfile long before the guest got this far.
[ "$(cat "$WORK/qemu.pid" 2>/dev/null)" = "$QPID" ] ||
	die "QEMU's pidfile says $(cat "$WORK/qemu.pid" 2>/dev/null), not $QPID"
boot_s=$(awk -v a="$t_start" -v b="$ready" 'BEGIN { printf "%.1f", b - a }')
qg() { tr -d '\r' <"$LOG" | grep -a '^QG '; }

# ---- what the guest reports ---------------------------------------------------
line=$(qg | grep '^QG DISK ' || true)
check "disk pattern" "${line:-no QG DISK line}" has "$line" 'pattern=found'

net=$(qg | grep '^QG NET ' || true)
nic=$(echo "$net" | grep -E 'driver=(cdc_ether|rndis_host) ' | head -n1 || true)
check "usb-net interface" "${nic:-no cdc_ether/rndis_host QG NET line}" [ -n "$nic" ]
gmac=$(echo "$nic" | sed -n 's/.* mac=\([^ ]*\).*/\1/p')
# QEMU >= 10 sets the locally administered bit (0x40 in byte 0) of usb-net
# MACs; compare the rest and report what the guest sees.
check "usb-net MAC" "configured $MAC, guest sees ${gmac:-none}" [ "${gmac#*:}" = "${MAC#*:}" ]

virt=$(qg | grep '^QG VIRTIO ' || true)
check "no virtio device" "${virt:-none}" [ -z "$virt" ]

ipl=$(qg | grep -E '^QG IP(FAIL)? ' || true)
check "guest address" "${ipl:-no QG IP line}" has "$ipl" "^QG IP .*addr=$GUEST_IP/24"

svc=$(qg | grep '^QG SERVICE proto=tcp port=7 ' || true)
check "echo service" "${svc:-no QG SERVICE line}" has "$svc" 'status=listening'

# ---- traffic (inside the namespace only) --------------------------------------
# iputils ping if there is one, else busybox's (same options used here)
if command -v ping >/dev/null 2>&1; then PING=(ping); else PING=(busybox ping); fi
pout=$(nsx "${PING[@]}" -c 20 -i 0.2 -w 30 "$GUEST_IP" 2>&1 || true)
psum=$(echo "$pout" | grep 'packet loss' || true)
check "ping x20" "${psum:-no ping summary}" has "$psum" ' 0% packet loss'
prtt=$(echo "$pout" | grep -E '^(rtt|round-trip)' || true)

msg=qremap-echo-$RANDOM$RANDOM
reply=$(nsx timeout 15 bash -c '
	exec 3<>"/dev/tcp/$1/7" || exit 1
	printf "%s\n" "$2" >&3
	read -r -t 10 line <&3 && printf "%s" "$line"' _ "$GUEST_IP" "$msg" 2>&1 || true)
check "tcp echo port 7" "sent $msg, got ${reply:-nothing}" [ "$reply" = "$msg" ]

ureply=$(nsx timeout 15 bash -c '
	exec 3<>"/dev/udp/$1/7" || exit 1
	for i in 1 2 3; do
		printf "%s\n" "$2" >&3
		# one read(2) per datagram: bash read would take 1 byte of it
		r=$(timeout 3 dd bs=65536 count=1 status=none <&3) && [ -n "$r" ] &&
			{ printf "%s" "$r"; exit 0; }
	done' _ "$GUEST_IP" "$msg" 2>&1 || true)
check "udp echo port 7" "got ${ureply:-nothing}" [ "$ureply" = "$msg" ]

# ---- summary -------------------------------------------------------------------
echo "smoke: --- summary: $QVER"
echo "smoke: boot-to-READY ${boot_s}s wall ($(qg | grep '^QG READY')), settle: $(qg | grep '^QG SETTLE' | cut -d' ' -f3-)"
echo "smoke: ping: ${psum:-?} ${prtt}"
qg | grep -E '^QG (BOOT|USB|USBCFG|NET|BLOCK|DISK|IP|IPFAIL|VIRTIO) ' | sed 's/^/smoke:   /'
bad=$(qg | grep '^QG MODULE ' | grep -v 'status=loaded' || true)
[ -z "$bad" ] || echo "$bad" | sed 's/^/smoke:   not loaded: /'

if [ "$fails" = 0 ]; then
	OK=1
	echo "smoke: PASS ($QEMU)"
else
	die "$fails check(s) failed ($QEMU)"
fi
