/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - quirks.h: behaviour that differs between QEMU builds and that the
 * remap has to predict, each with where it was established.
 */
#ifndef QREMAP_QUIRKS_H
#define QREMAP_QUIRKS_H

#include <stdbool.h>
#include <stddef.h>

#include "qremap/qmp.h"

bool quirk_usbnet_rewrites_mac(const struct qmp_version *v);
void quirk_usbnet_guest_mac(const struct qmp_version *v, const char *mac, char out[18]);

#endif /* QREMAP_QUIRKS_H */
