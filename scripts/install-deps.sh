#!/bin/bash
# Install what qremap needs to build and test, from Debian's own packages.
# Idempotent: only missing packages are installed. Run as root (CI does).
#
#   scripts/install-deps.sh          build + test dependencies
set -euo pipefail

pkgs=(
	# build
	gcc cmake make pkg-config libjansson-dev libyaml-dev libcurl4-openssl-dev
	# tests: Debian's QEMU (7.2 on bookworm) runs the fixture VMs; qemu-utils
	# makes qcow2 images; iproute2 makes namespaces and taps; busybox-static
	# and the kernel package (downloaded, never installed) make the test guest
	qemu-system-x86 qemu-utils iproute2 busybox-static xz-utils cpio
	# checks: clang builds the libFuzzer targets, clang-tidy runs scripts/tidy.sh
	clang clang-tidy
	# the Debian package: dpkg-shlibdeps (dpkg-dev) computes its Depends,
	# lintian checks it (tests/package-deb.sh)
	dpkg-dev lintian
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all dependencies present"
