// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - quirks.c: QEMU build differences the remap must predict
 *
 * Each prediction here is checked against the real thing by the end-to-end
 * test, which compares what the booted test guest reports with what qremap
 * said it would be, on every QEMU the suite runs.
 */

#include <stdio.h>
#include <string.h>

#include "qremap/quirks.h"

/**
 * quirk_usbnet_rewrites_mac() - whether usb-net shows the guest another MAC
 * @v:		QEMU version from the QMP greeting
 *
 * hw/usb/dev-network.c built the CDC "iMACAddress" string with a hard-coded
 * 0x40 as its first byte, so a guest using CDC-ECM sees 40:xx:... instead of
 * the configured MAC. Fixed upstream in 10.2.0 and in the stable releases
 * 10.1.1, 10.0.5 and 7.2.21 (docs/facts.md §5; seen: Debian's 10.0.2 shows 40:,
 * Debian's 7.2.22 does not). Builds in between (8.x, 9.x, 10.0.0-10.0.4,
 * 10.1.0) are taken to have it; a distribution that backported the fix
 * under an older version number is the case the profile's policy exists for.
 *
 * Return: true if this build rewrites the first byte
 */
bool quirk_usbnet_rewrites_mac(const struct qmp_version *v)
{
	int ver = v->major * 10000 + v->minor * 100 + v->micro;

	if (ver >= 100200)
		return false;
	if (ver >= 100100)
		return ver < 100101;
	if (ver >= 100000)
		return ver < 100005;
	if (ver >= 80000)
		return true;
	if (ver >= 70200)
		return ver < 70221;
	return true;
}

/**
 * quirk_usbnet_guest_mac() - the MAC a guest will see on usb-net
 * @v:		QEMU version
 * @mac:	configured MAC, "xx:xx:xx:xx:xx:xx"
 * @out:	result, same format
 */
void quirk_usbnet_guest_mac(const struct qmp_version *v, const char *mac, char out[18])
{
	snprintf(out, 18, "%.17s", mac);
	if (quirk_usbnet_rewrites_mac(v) && strlen(out) == 17) {
		out[0] = '4';
		out[1] = '0';
	}
}
