#!/bin/bash
# qremap - bench/run.sh: build and run the benchmarks (docs/performance.md)
#
# As root. Builds a RelWithDebInfo tree without sanitizers in build-bench/,
# makes sure the test guest exists (tests/guest/build-guest.sh), and runs
# qremap-bench against QEMU 7.2 and 10.0 (Debian's installed QEMU and what
# scripts/fetch-qemu.sh unpacks into .cache/). The tables go to stdout and to
# build-bench/bench-<date>.md; progress goes to stderr.
# Extra arguments are passed to qremap-bench (e.g. --runs 7, --only scale).
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
cmake --build "$build" -j"$(nproc)" --target qremap qremapd qremap-bench >/dev/null

if [ ! -r "$guest/vmlinuz" ] || [ ! -r "$guest/initrd.img" ]; then
	"$root/tests/guest/build-guest.sh" "$guest"
fi

# One binary per QEMU version, as tests/CMakeLists.txt picks them: the 7.2
# that scripts/fetch-qemu.sh unpacks (when the installed QEMU isn't 7.2, e.g.
# after Incus replaced it), Debian's installed one, and the unpacked 10.0.
qemus=()
bins=()
seen=" "
for q in "$root/.cache/qemu-7.2/qemu-system-x86_64" /usr/bin/qemu-system-x86_64 \
	"$root/.cache/qemu-10.0/qemu-system-x86_64"; do
	[ -x "$q" ] || continue
	v=$("$q" -version | sed -n 's/.*version \([0-9]*\.[0-9]*\).*/\1/p' | head -n1)
	case "$seen" in *" $v "*) continue ;; esac
	seen="$seen$v "
	qemus+=(--qemu "$q")
	bins+=("$q")
done
if [ "${#bins[@]}" -lt 2 ]; then
	echo "bench/run.sh: found QEMU${seen% }; scripts/fetch-qemu.sh fetches 7.2 and 10.0" >&2
fi

out=$build/bench-$(date -u +%Y-%m-%d).md
{
	echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "- nproc: $(nproc)"
	echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	echo "- RAM: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- kernel: $(uname -r)"
	for q in "${bins[@]}"; do
		echo "- $("$q" -version | head -n1) (\`$q\`), TCG"
	done
	echo "- guest: $(sed -n 's/^kernel_release=//p' "$guest/guest.info" 2>/dev/null || echo ?)"
} | tee "$out"
start=$(date +%s)
"$build/bench/qremap-bench" --qremap "$build/qremap" --qremapd "$build/qremapd" \
	--guest-dir "$guest" "${qemus[@]}" "$@" |
	tee -a "$out"
echo "bench/run.sh: $(($(date +%s) - start)) s; tables in $out" >&2
