#!/bin/bash
# Set everything up on a fresh Debian 12 machine and run qremap's main job on
# an embedded default: an Incus-style VM (QEMU paused at -S, a 4-queue NIC
# and two disks hot-added exactly as Incus 6.0.4 does), then
# "qremap inspect" on qremap's own monitor of that VM. Run as root.
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
echo "demo: starting an Incus-style VM in $dir (4 vCPUs, 1 NIC, 2 disks)"
"$build/tests/qremap-fixture" start --dir "$dir" --vcpus 4 --nics 1 >/dev/null
echo "demo: qremap inspect --qmp $dir/qremap.qmp"
echo
"$build/qremap" inspect --qmp "$dir/qremap.qmp"
