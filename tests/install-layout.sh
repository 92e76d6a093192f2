#!/bin/bash
# qremap - tests/install-layout.sh: what "cmake --install" puts where.
#
#   tests/install-layout.sh BUILD_DIR SBINDIR DATADIR hooks|no-hooks
#
# Installs the build into a temporary DESTDIR and checks that the systemd
# unit runs the qremapd this prefix installs, that every shipped profile is
# where the binaries look for profile names (the DATADIR compiled into
# them), and that the man pages, docs and kext kit are there. no-hooks (any
# build but the sanitized test build): neither qremap nor qremapd contains a
# test hook (tests/README.md), not even the name of one; hooks: both do, so
# the check can tell.
set -euo pipefail
build=$1 sbindir=$2 datadir=$3 hooks=${4:-no-hooks}
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
for b in qremap qremapd; do
	if [ "$hooks" = hooks ]; then
		check 'LC_ALL=C grep -qa QREMAP_TEST_ "$build/$b"' "$b has the test hooks (sanitized test build)"
	else
		check '! LC_ALL=C grep -qa QREMAP_TEST_ "$build/$b"' "$b has no test hooks (no QREMAP_TEST_ string)"
	fi
done
check '[ -n "$(find "$dest" -name qremapd.8)" ] && [ -n "$(find "$dest" -name qremap.1)" ]' "man pages"
check '[ -n "$(find "$dest" -path "*doc/qremap/incus.md")" ]' "docs"
check '[ -n "$(find "$dest" -path "*qremap/kext/QRemapUSBNet.kext/Contents/Info.plist")" ]' "kext kit"
[ $fail = 0 ] && echo "1 passed, 0 failed" || { echo "0 passed, 1 failed"; exit 1; }
