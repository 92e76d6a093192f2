#!/bin/bash
# Set everything up on a fresh Debian 12 machine and run qremap's main job on
# an embedded default: an Incus-style VM (QEMU paused at -S, a 4-queue NIC
# and two disks hot-added exactly as Incus 6.0.4 does, plus the cold-plugged
# SATA placeholders the macos-usbnet profile wants), then on qremap's own monitor of
# that VM: "qremap inspect", the remap plan (--dry-run), the remap itself
# with profiles/macos-usbnet.yaml, and "qremap inspect" again. Run as root.
#
#   scripts/demo.sh                 Debian's QEMU
#   QREMAP_QEMU=.cache/qemu-10.0/qemu-system-x86_64 scripts/demo.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build

"$top/scripts/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQREMAP_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
echo "demo: built $build/qremap"

dir=$(mktemp -d /tmp/qremap-demo-XXXXXX)
chmod 0755 "$dir"
cleanup() { "$build/tests/qremap-fixture" stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
echo "demo: starting an Incus-style VM in $dir (4 vCPUs, 1 NIC, 2 disks, 2 SATA placeholders)"
"$build/tests/qremap-fixture" start --dir "$dir" --vcpus 4 --nics 1 -- \
	-device ich9-ahci,id=qremap_ahci \
	-blockdev driver=null-co,node-name=qremap_sata0_null,size=$((64 << 20)),read-zeroes=on \
	-device ide-hd,id=qremap_sata0,drive=qremap_sata0_null,bus=qremap_ahci.0 \
	-blockdev driver=null-co,node-name=qremap_sata1_null,size=$((32 << 20)),read-zeroes=on \
	-device ide-hd,id=qremap_sata1,drive=qremap_sata1_null,bus=qremap_ahci.1 >/dev/null
step() { echo; echo "demo: $*"; echo; "$@"; }
step "$build/qremap" inspect --qmp "$dir/qremap.qmp"
profile=$top/profiles/macos-usbnet.yaml
rc=0
step "$build/qremap" --profile "$profile" --qmp "$dir/qremap.qmp" --dry-run || rc=$?
if [ "$rc" = 4 ]; then
	# Refused: this QEMU build forces 0x40 into usb-net's MAC (QEMU before
	# 10.0.5/10.1.1/10.2.0; Incus installs 10.0.2). The demo goes on with
	# the profile's other policy, which warns and names the MAC instead.
	profile=$dir/macos-warn.yaml
	sed 's/mac_rewritten: refuse/mac_rewritten: warn/' "$top/profiles/macos-usbnet.yaml" >"$profile"
	echo
	echo "demo: refused above, as profiles/macos-usbnet.yaml says for this QEMU; continuing with"
	echo "demo: 'mac_rewritten: warn' (a copy in $profile)"
	step "$build/qremap" --profile "$profile" --qmp "$dir/qremap.qmp" --dry-run
elif [ "$rc" != 0 ]; then
	exit "$rc"
fi
step "$build/qremap" -v --profile "$profile" --qmp "$dir/qremap.qmp"
step "$build/qremap" inspect --qmp "$dir/qremap.qmp"
