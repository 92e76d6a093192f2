#!/bin/bash
# qremap - tests/install-layout.sh: what "cmake --install" puts where.
#
#   tests/install-layout.sh BUILD_DIR SBINDIR DATADIR
#
# Installs the build into a temporary DESTDIR and checks that the systemd
# unit runs the qremapd this prefix installs, that every shipped profile is
# where the binaries look for profile names (the DATADIR compiled into
# them), and that the man pages, docs and kext kit are there.
set -euo pipefail
build=$1 sbindir=$2 datadir=$3
src=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail=0
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }

DESTDIR=$dest cmake --install "$build" >/dev/null
unit=$(find "$dest" -name qremapd.service | head -1)
check '[ -n "$unit" ]' "a qremapd.service is installed"
check 'grep -q "^ExecStart=$sbindir/qremapd " "$unit"' "ExecStart runs $sbindir/qremapd"
check '[ -x "$dest$sbindir/qremapd" ]' "qremapd is at $sbindir"
for p in "$src"/profiles/*.yaml; do
	check '[ -f "$dest$datadir/qremap/profiles/$(basename "$p")" ]' "profile $(basename "$p")"
done
check 'strings "$build/qremap" | grep -x "$datadir/qremap/profiles" >/dev/null' \
	"qremap looks for profile names in $datadir/qremap/profiles"
check '[ -n "$(find "$dest" -name qremapd.8)" ] && [ -n "$(find "$dest" -name qremap.1)" ]' "man pages"
check '[ -n "$(find "$dest" -path "*doc/qremap/incus.md")" ]' "docs"
check '[ -n "$(find "$dest" -path "*qremap/kext/QRemapUSBNet.kext/Contents/Info.plist")" ]' "kext kit"
[ $fail = 0 ] && echo "1 passed, 0 failed" || { echo "0 passed, 1 failed"; exit 1; }
