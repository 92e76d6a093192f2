#!/bin/sh
# /init of the qremap test guest (busybox sh, PID 1).
#
# Loads the drivers listed in /lib/modules/qg-load.list, waits for devices to
# settle, reports what it sees as "QG ..." lines on ttyS0, configures the
# address given on the kernel command line, starts the echo services, prints
# "QG READY" and keeps a shell on ttyS0.  The protocol is documented in
# tests/guest/README.md; keep the two in step.
export PATH=/bin HOME=/root TERM=vt100
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp /root
mount -t devpts devpts /dev/pts
if [ -c /dev/ttyS0 ]; then
	exec </dev/ttyS0 >/dev/ttyS0 2>&1
fi
hostname qg

# ---- kernel command line -------------------------------------------------
QG_IP= QG_MAC= QG_PATTERN= QG_POWEROFF_AFTER= QG_SETTLE=30 QG_HEARTBEAT=30 QG_LOGLEVEL=1
is_uint() { case "$1" in '' | *[!0-9]*) return 1 ;; esac; }
set -f
for tok in $(cat /proc/cmdline); do
	val=${tok#*=}
	case "$tok" in
	qremap.ip=*) QG_IP=$val ;;
	qremap.mac=*) QG_MAC=$(echo "$val" | tr 'A-F' 'a-f') ;;
	qremap.disk_pattern=*) QG_PATTERN=$val ;;
	qremap.poweroff_after=*) is_uint "$val" && QG_POWEROFF_AFTER=$val ;;
	qremap.settle=*) is_uint "$val" && QG_SETTLE=$val ;;
	qremap.heartbeat=*) is_uint "$val" && [ "$val" -gt 0 ] && QG_HEARTBEAT=$val ;;
	qremap.loglevel=*) is_uint "$val" && QG_LOGLEVEL=$val ;;
	esac
done
set +f

# Kernel messages on the console could land in the middle of a QG line.
echo "$QG_LOGLEVEL" >/proc/sys/kernel/printk

if [ -n "$QG_POWEROFF_AFTER" ]; then
	(
		sleep "$QG_POWEROFF_AFTER"
		printf '\nQG POWEROFF reason=timeout after=%s\n' "$QG_POWEROFF_AFTER"
		sync
		poweroff -f
	) &
fi

echo "QG BOOT kernel=$(uname -r)"

# ---- helpers ---------------------------------------------------------------
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# name of the driver bound to sysfs device $1, or "-"
drv_of() {
	local l
	l=$(readlink "$1/driver" 2>/dev/null) || { echo -; return; }
	echo "${l##*/}"
}

# name of the bus (subsystem) of sysfs device $1, or "-"
bus_of() {
	local l
	l=$(readlink "$1/subsystem" 2>/dev/null) || { echo -; return; }
	echo "${l##*/}"
}

# innermost PCI function (BDF) above sysfs device $1, or "-"
pci_of() {
	local p c r=-
	p=$(readlink -f "$1" 2>/dev/null) || { echo -; return; }
	local IFS=/
	for c in $p; do
		case "$c" in
		[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) r=$c ;;
		esac
	done
	echo "$r"
}

# innermost USB device (e.g. 1-1, 2-1.3) above sysfs device $1, or "-"
usb_of() {
	local p c r=-
	p=$(readlink -f "$1" 2>/dev/null) || { echo -; return; }
	local IFS=/
	for c in $p; do
		case "$c" in
		*:*) ;;
		[0-9]*-[0-9]*) r=$c ;;
		esac
	done
	echo "$r"
}

# first line of file $1 with surrounding blanks removed and inner blanks
# turned into "_", or "-" if missing/empty
word_of() {
	local v
	v=$(head -n1 "$1" 2>/dev/null | sed 's/^[[:space:]]*//; s/[[:space:]]*$//; s/[[:space:]]/_/g')
	[ -n "$v" ] || v=-
	echo "$v"
}

# whole-disk block devices whose first bytes equal $QG_PATTERN
disk_matches() {
	local b d len=${#QG_PATTERN}
	for b in /sys/block/sd* /sys/block/vd* /sys/block/hd* /sys/block/xvd* /sys/block/nvme*; do
		[ -e "$b" ] || continue
		d=${b##*/}
		[ "$(head -c "$len" "/dev/$d" 2>/dev/null)" = "$QG_PATTERN" ] && echo "$d"
	done
}

# Interface for qremap.ip: with "strict", the one whose MAC is qremap.mac
# (the lowest ifindex if qremap.mac is unset); with "any", the lowest-ifindex
# interface that has a device behind it.
pick_nic() {
	local n
	for n in $(for n in /sys/class/net/*; do
		[ -e "$n/device" ] && echo "$(cat "$n/ifindex") ${n##*/}"
	done | sort -n | cut -d' ' -f2); do
		if [ "$1" = strict ] && [ -n "$QG_MAC" ]; then
			[ "$(cat "/sys/class/net/$n/address")" = "$QG_MAC" ] || continue
		fi
		echo "$n"
		return
	done
}

snapshot() {
	ls /sys/bus/pci/devices /sys/bus/usb/devices /sys/bus/virtio/devices \
		/sys/class/net /sys/block /sys/class/scsi_device 2>/dev/null | tr '\n' ' '
}

# ---- drivers ---------------------------------------------------------------
while read -r name kind; do
	[ -n "$name" ] || continue
	if [ "$kind" = builtin ]; then
		st=builtin
	elif [ -d "/sys/module/$name" ]; then
		st=present
	elif insmod "/lib/modules/$name.ko" 2>/dev/null; then
		st=loaded
	else
		st=failed
	fi
	echo "QG MODULE name=$name status=$st"
done </lib/modules/qg-load.list

# ---- wait for devices ------------------------------------------------------
# Done when nothing changed for 3 s and what the command line asks for (the
# disk pattern, an interface for qremap.ip) is there, or after qremap.settle s.
t0=$(uptime_s)
tries=0 stable=0 prev= want=0
while :; do
	cur=$(snapshot)
	if [ "$cur" = "$prev" ]; then
		stable=$((stable + 1))
	else
		stable=0
		prev=$cur
	fi
	want=1
	[ -n "$QG_PATTERN" ] && [ -z "$(disk_matches)" ] && want=0
	[ -n "$QG_IP" ] && [ -z "$(pick_nic strict)" ] && want=0
	[ "$want" = 1 ] && [ "$stable" -ge 6 ] && break
	tries=$((tries + 1))
	[ "$tries" -ge $((QG_SETTLE * 2)) ] && break
	sleep 0.5
done
echo "QG SETTLE seconds=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }') complete=$want"

# ---- report ----------------------------------------------------------------
for d in /sys/bus/pci/devices/*; do
	[ -e "$d" ] || continue
	echo "QG PCI slot=${d##*/} vendor=$(cat "$d/vendor") device=$(cat "$d/device") class=$(cat "$d/class") driver=$(drv_of "$d")"
done

for d in /sys/bus/virtio/devices/*; do
	[ -e "$d" ] || continue
	echo "QG VIRTIO dev=${d##*/} id=$(cat "$d/device") driver=$(drv_of "$d") pci=$(pci_of "$d")"
done

for d in /sys/bus/usb/devices/*; do
	[ -e "$d/idVendor" ] || continue
	p=${d##*/}
	case "$p" in usb* | *:*) continue ;; esac
	cv=$(word_of "$d/bConfigurationValue")
	[ "$cv" = - ] && cv=0
	drvs=
	for i in "$d/$p":*; do
		[ -e "$i" ] || continue
		x=$(drv_of "$i")
		case ",$drvs," in *",$x,"*) ;; *) drvs=${drvs:+$drvs,}$x ;; esac
	done
	echo "QG USB path=$p idVendor=$(word_of "$d/idVendor") idProduct=$(word_of "$d/idProduct") bcdDevice=$(word_of "$d/bcdDevice") bNumConfigurations=$(word_of "$d/bNumConfigurations") bConfigurationValue=$cv speed=$(word_of "$d/speed") drivers=${drvs:--} product=$(word_of "$d/product")"
	# Raw descriptors: the device descriptor, then every configuration
	# descriptor with its interface and endpoint descriptors.
	od -An -v -tu1 "$d/descriptors" 2>/dev/null | awk -v path="$p" -v active="$cv" '
		{ for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
		END {
			if (n < 18) exit
			p = b[0]
			while (p + 9 <= n && b[p] >= 9 && b[p + 1] == 2) {
				total = b[p + 2] + 256 * b[p + 3]
				if (total < 9) break
				end = p + total
				if (end > n) end = n
				cls = ""
				q = p + b[p]
				while (q + 8 <= end && b[q] > 0) {
					if (b[q + 1] == 4 && b[q + 3] == 0)
						cls = cls (cls == "" ? "" : ",") sprintf("%02x.%02x.%02x", b[q + 5], b[q + 6], b[q + 7])
					q += b[q]
				}
				printf "QG USBCFG path=%s config=%d interfaces=%d active=%d classes=%s\n", path, b[p + 5], b[p + 4], (b[p + 5] == active), (cls == "" ? "-" : cls)
				p += total
			}
		}'
done

for n in /sys/class/net/*; do
	i=${n##*/}
	[ "$i" = lo ] && continue
	rxq=$(ls -d "$n"/queues/rx-* 2>/dev/null | wc -l)
	txq=$(ls -d "$n"/queues/tx-* 2>/dev/null | wc -l)
	echo "QG NET if=$i mac=$(cat "$n/address") driver=$(drv_of "$n/device") bus=$(bus_of "$n/device") rx_queues=$rxq tx_queues=$txq pci=$(pci_of "$n/device") usb=$(usb_of "$n/device")"
done

for b in /sys/block/*; do
	[ -e "$b/size" ] || continue # no block device at all: the glob stays literal
	name=${b##*/}
	case "$name" in loop* | ram* | zram*) continue ;; esac
	# Controller: the nearest device at or above the disk with a driver
	# other than the SCSI disk/cdrom drivers (ahci, usb-storage, uas,
	# virtio_blk, virtio_scsi, ...).
	ctl=$(readlink -f "$b/device" 2>/dev/null)
	cdrv=-
	while [ -n "$ctl" ] && [ "$ctl" != /sys/devices ] && [ "$ctl" != / ]; do
		x=$(drv_of "$ctl")
		case "$x" in - | sd | sr) ;; *) cdrv=$x; break ;; esac
		ctl=${ctl%/*}
	done
	cbus=-
	[ "$cdrv" != - ] && cbus=$(bus_of "$ctl")
	echo "QG BLOCK dev=$name size_bytes=$(($(cat "$b/size") * 512)) driver=$cdrv bus=$cbus pci=$(pci_of "$b/device") usb=$(usb_of "$b/device") ro=$(cat "$b/ro") vendor=$(word_of "$b/device/vendor") model=$(word_of "$b/device/model")"
done

if [ -n "$QG_PATTERN" ]; then
	found=0
	for d in $(disk_matches); do
		echo "QG DISK dev=$d pattern=found"
		found=1
	done
	[ "$found" = 1 ] || echo "QG DISK pattern=missing"
fi

# ---- network -----------------------------------------------------------------
ip link set lo up
if [ -n "$QG_IP" ]; then
	nic=$(pick_nic strict)
	by=first
	[ -n "$QG_MAC" ] && by=mac
	if [ -z "$nic" ] && [ -n "$QG_MAC" ]; then
		nic=$(pick_nic any)
		by=fallback
	fi
	if [ -z "$nic" ]; then
		echo "QG IPFAIL addr=$QG_IP reason=no-interface"
	elif ip link set "$nic" up 2>/dev/null && ip addr add "$QG_IP" dev "$nic" 2>/dev/null; then
		echo "QG IP if=$nic addr=$QG_IP mac=$(cat "/sys/class/net/$nic/address") by=$by"
	else
		echo "QG IPFAIL if=$nic addr=$QG_IP reason=ip-command-failed"
	fi
fi

# ---- services ----------------------------------------------------------------
if qg-echod -d; then
	listening=$(netstat -lntu 2>/dev/null)
else
	listening=
fi
for s in tcp:7:echo udp:7:echo tcp:9:discard udp:9:discard tcp:19:source; do
	proto=${s%%:*} rest=${s#*:}
	port=${rest%%:*} sname=${rest#*:}
	if echo "$listening" | grep -q "^$proto .*:$port "; then
		st=listening
	else
		st=failed
	fi
	echo "QG SERVICE proto=$proto port=$port name=$sname status=$st"
done
if [ -n "$(ls /dev/input/event* 2>/dev/null)" ] && acpid -c /etc/acpi -l /tmp/acpid.log; then
	echo "QG SERVICE proto=acpi port=- name=powerbutton status=listening"
else
	echo "QG SERVICE proto=acpi port=- name=powerbutton status=failed"
fi

echo "QG READY uptime=$(uptime_s)"

(
	n=0
	while :; do
		sleep "$QG_HEARTBEAT"
		n=$((n + 1))
		# leading newline: never glued to a shell prompt
		printf '\nQG HEARTBEAT n=%d uptime=%s\n' "$n" "$(uptime_s)"
	done
) &

export PS1='qg# '
while :; do
	setsid -c sh -i </dev/ttyS0 >/dev/ttyS0 2>&1
	sleep 1
done
