#!/bin/bash
# qremap - bench/run.sh: build and run the benchmarks (docs/performance.md)
#
# As root. Builds a RelWithDebInfo tree without sanitizers in build-bench/,
# makes sure the test guest exists (tests/guest/build-guest.sh), and runs
# qremap-bench against Debian's QEMU 7.2 and the QEMU 10.0 that
# scripts/fetch-qemu.sh unpacks into .cache/. The tables go to stdout and to
# build-bench/bench-<date>.md; progress goes to stderr.
# Extra arguments are passed to qremap-bench (e.g. --runs 7, --only latency).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-bench
guest=$root/.cache/guest

if [ "$(id -u)" != 0 ]; then
	echo "bench/run.sh: run as root (network namespaces, taps)" >&2
	exit 1
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQREMAP_SANITIZE=OFF \
	-DQREMAP_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target qremap qremap-bench >/dev/null

if [ ! -r "$guest/vmlinuz" ] || [ ! -r "$guest/initrd.img" ]; then
	"$root/tests/guest/build-guest.sh" "$guest"
fi

qemus=()
for q in /usr/bin/qemu-system-x86_64 "$root/.cache/qemu-10.0/qemu-system-x86_64"; do
	if [ -x "$q" ]; then
		qemus+=(--qemu "$q")
	else
		echo "bench/run.sh: $q not found (scripts/fetch-qemu.sh fetches 10.0); skipped" >&2
	fi
done

out=$build/bench-$(date -u +%Y-%m-%d).md
{
	echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- nproc: $(nproc)"
	echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	echo "- RAM: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- kernel: $(uname -r)"
	for q in /usr/bin/qemu-system-x86_64 "$root/.cache/qemu-10.0/qemu-system-x86_64"; do
		[ -x "$q" ] && echo "- $("$q" -version | head -n1) (\`$q\`), TCG"
	done
	echo "- guest: $(sed -n 's/^kernel_release=//p' "$guest/guest.info" 2>/dev/null || echo ?)"
} | tee "$out"
start=$(date +%s)
"$build/bench/qremap-bench" --qremap "$build/qremap" --guest-dir "$guest" "${qemus[@]}" "$@" |
	tee -a "$out"
echo "bench/run.sh: $(($(date +%s) - start)) s; tables in $out" >&2
