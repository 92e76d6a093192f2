#!/bin/bash
# build-guest.sh OUTDIR
#
# Builds the qremap test guest: OUTDIR/vmlinuz and OUTDIR/initrd.img (plus
# OUTDIR/guest.info), from Debian bookworm packages only:
#   - the newest linux-image-6.1.0-N-amd64 (or its -unsigned twin), fetched
#     with `apt-get download` and unpacked with `dpkg-deb -x`, never installed;
#   - busybox from the busybox-static package (installed with apt-get when
#     missing, which needs root);
#   - qg-echod.c from this directory, linked statically with the host's cc.
# Downloads and the unpacked kernel are cached in OUTDIR/cache; running the
# script again reuses them and rebuilds the initramfs, so it is idempotent.
#
# Environment:
#   QG_EXTRA_MODULES  more module names to put in the initramfs and load
#   QG_COMPRESS       gzip (default) or xz, for the initramfs
#   CC                C compiler for qg-echod (default: cc)
#
# The guest's protocol is documented in README.md beside this script.
set -euo pipefail

die() { echo "build-guest: $*" >&2; exit 1; }
log() { echo "build-guest: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
CACHE=$OUT/cache
mkdir -p "$CACHE/debs" "$CACHE/kernel"
export DEBIAN_FRONTEND=noninteractive

# Drivers the guest loads at boot.  Their dependencies are added and ordered
# by resolve-modules.sh from the kernel's modules.dep; virtio drivers are here
# on purpose, so that a virtio device left over after a remap shows up.
MODULES="xhci-pci xhci-hcd usbnet cdc_ether rndis_host usb-storage uas
ahci libahci libata sd_mod sr_mod e1000 e1000e vmxnet3 8139cp 8139too
virtio_pci virtio_net virtio_blk virtio_scsi button evdev ${QG_EXTRA_MODULES:-}"
COMPRESS=${QG_COMPRESS:-gzip}
case "$COMPRESS" in
gzip) COMPRESS_CMD=(gzip -9 -n) ;;
xz) COMPRESS_CMD=(xz -9 --check=crc32) ;;
*) die "QG_COMPRESS must be gzip or xz" ;;
esac

is_root() { [ "$(id -u)" = 0 ]; }
APT_OPTS=()
# As root, apt hands the download to user _apt, who may not be able to write
# into OUTDIR; download as root directly instead.
is_root && APT_OPTS=(-o APT::Sandbox::User=root)

# ---- busybox-static --------------------------------------------------------
if ! dpkg-query -W -f='${Status}\n' busybox-static 2>/dev/null | grep -q ' installed$'; then
	is_root || die "busybox-static is not installed (run as root, or apt-get install busybox-static)"
	log "installing busybox-static"
	apt-get install -y -q busybox-static >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q busybox-static >&2; } ||
		die "cannot install busybox-static"
fi
BB=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n1)
[ -x "$BB" ] || die "busybox-static is installed but its busybox binary is missing"

# ---- kernel package ----------------------------------------------------------
# Candidates, newest ABI first; at equal ABI the signed package first (either
# boots under QEMU's -kernel, and both hold the same modules).
kernel_candidates() {
	apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
		grep -E '^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$' |
		sed -E 's/^linux-image-6\.1\.0-([0-9]+)-amd64(-unsigned)?$/\1 \2 &/' |
		sort -k1,1nr -k2,2 | awk '{ print $NF }'
}

pkg='' ver=''
pick_kernel() {
	local p v
	for p in $(kernel_candidates); do
		v=$(apt-cache show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
		if [ -n "$v" ]; then
			pkg=$p ver=$v
			return 0
		fi
	done
	return 1
}

if ! pick_kernel && is_root; then
	log "no linux-image-6.1.0-*-amd64 in the apt lists; running apt-get update"
	apt-get update -q >&2 || true
	pick_kernel || true
fi

deb=
if [ -n "$pkg" ]; then
	deb=$CACHE/debs/${pkg}_${ver//:/%3a}_amd64.deb
	if [ ! -s "$deb" ]; then
		log "downloading $pkg $ver"
		dl=$(mktemp -d "$CACHE/debs/dl.XXXXXX")
		(cd "$dl" && apt-get "${APT_OPTS[@]}" download -q "$pkg=$ver" >&2) ||
			{ rm -rf "$dl"; die "apt-get download $pkg=$ver failed"; }
		f=$(ls "$dl"/*.deb 2>/dev/null | head -n1)
		[ -n "$f" ] || { rm -rf "$dl"; die "apt-get download produced no .deb"; }
		mv "$f" "$deb"
		rm -rf "$dl"
	else
		log "using cached $(basename "$deb")"
	fi
else
	# Offline (no apt lists): fall back to the newest deb already cached.
	deb=$(ls "$CACHE"/debs/linux-image-6.1.0-*-amd64*.deb 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$deb" ] || die "no linux-image-6.1.0-*-amd64 package known to apt and none cached"
	log "apt knows no kernel package; using cached $(basename "$deb")"
fi

# ---- unpack + modules.dep ----------------------------------------------------
KX=$CACHE/kernel/$(basename "$deb" .deb)
if [ ! -f "$KX/.qg-complete" ]; then
	log "unpacking $(basename "$deb")"
	rm -rf "$KX" "$KX.tmp"
	dpkg-deb -x "$deb" "$KX.tmp"
	mv "$KX.tmp" "$KX"
fi
MODROOT=
for d in "$KX"/lib/modules/* "$KX"/usr/lib/modules/*; do
	[ -d "$d/kernel" ] && MODROOT=$d && break
done
[ -n "$MODROOT" ] || die "no lib/modules/<version>/kernel in $deb"
KVER=$(basename "$MODROOT")
[ -f "$KX/boot/vmlinuz-$KVER" ] || die "no boot/vmlinuz-$KVER in $deb"
if [ ! -f "$KX/.qg-complete" ]; then
	# The package ships no modules.dep (depmod runs at install time).
	base=${MODROOT%/lib/modules/*}
	if command -v depmod >/dev/null 2>&1; then
		depmod -b "$base" "$KVER"
	else
		"$BB" depmod -b "$base" "$KVER"
	fi
	[ -s "$MODROOT/modules.dep" ] || die "depmod produced no modules.dep"
	touch "$KX/.qg-complete"
fi

# ---- staging tree ------------------------------------------------------------
STAGE=$(mktemp -d "$CACHE/stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,dev,proc,sys,run,tmp,root,etc/acpi/PWRF,lib/modules}
is_root && mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null || true

cp "$BB" "$STAGE/bin/busybox"
for a in $("$BB" --list); do
	[ "$a" = busybox ] || ln -s busybox "$STAGE/bin/$a"
done

# shellcheck disable=SC2086 # MODULES is a word list
"$HERE/resolve-modules.sh" "$MODROOT" $MODULES >"$STAGE/resolved"
: >"$STAGE/lib/modules/qg-load.list"
while read -r name rel; do
	if [ "$rel" = builtin ]; then
		echo "$name builtin" >>"$STAGE/lib/modules/qg-load.list"
		continue
	fi
	src=$MODROOT/$rel dst=$STAGE/lib/modules/$name.ko
	case "$rel" in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) die "unknown module file type: $rel" ;;
	esac
	echo "$name module" >>"$STAGE/lib/modules/qg-load.list"
done <"$STAGE/resolved"
rm "$STAGE/resolved"

"${CC:-cc}" -static -Os -s -Wall -Wextra -Werror -o "$STAGE/bin/qg-echod" "$HERE/qg-echod.c" ||
	die "cannot build qg-echod (needs a C compiler and static libc, e.g. gcc + libc6-dev)"

install -m 0755 "$HERE/init.sh" "$STAGE/init"

# busybox acpid runs /etc/acpi/PWRF/00000080 on the ACPI power button
# (QMP system_powerdown).
cat >"$STAGE/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
printf '\nQG POWEROFF reason=acpi\n' >/dev/ttyS0
sync
poweroff -f
EOF
chmod 0755 "$STAGE/etc/acpi/PWRF/00000080"
echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
echo "root:x:0:" >"$STAGE/etc/group"

{
	echo "kernel_package=$(basename "$deb" .deb)"
	echo "kernel_release=$KVER"
	echo "busybox=$("$BB" | head -n1)"
	echo "compress=$COMPRESS"
	echo "modules=$(tr ' ' ':' <"$STAGE/lib/modules/qg-load.list" | tr '\n' ' ' | sed 's/ $//')"
} >"$STAGE/etc/qg-guest.info"

chmod -R u+rwX,go+rX,go-w "$STAGE"

# ---- outputs -----------------------------------------------------------------
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | "$BB" cpio -o -H newc 2>/dev/null) |
	"${COMPRESS_CMD[@]}" >"$OUT/initrd.img.tmp"
cp "$KX/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"
cp "$STAGE/etc/qg-guest.info" "$OUT/guest.info.tmp"
chmod 0644 "$OUT/initrd.img.tmp" "$OUT/vmlinuz.tmp" "$OUT/guest.info.tmp"
mv -f "$OUT/initrd.img.tmp" "$OUT/initrd.img"
mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv -f "$OUT/guest.info.tmp" "$OUT/guest.info"
chmod 0755 "$OUT"

log "kernel $KVER ($(basename "$deb")), busybox $BB, $(grep -c . "$STAGE/lib/modules/qg-load.list") modules"
ls -l "$OUT/vmlinuz" "$OUT/initrd.img" >&2
