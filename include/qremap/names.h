/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - names.h: Incus instance and project names, checked before they are
 * used in a REST path, a file name or a message.
 *
 * A name typed on the command line or read from a VM reaches Incus's API
 * inside a URL and qremapd's state directory inside a file name. Checking it
 * against Incus's own rules first means a name Incus could never have
 * created ("../x", "vm1?project=other", "a\r\nb") is refused with the rule
 * it breaks, before any request is made or any file opened.
 */
#ifndef QREMAP_NAMES_H
#define QREMAP_NAMES_H

#include "qremap/error.h"

/* Incus's limit for an instance name (a DNS label) */
#define NAMES_INSTANCE_MAX 63
/* qremap's limit for a project name (Incus has none, see names.c) */
#define NAMES_PROJECT_MAX 63

int names_check_instance(const char *name, struct qr_error *err);
int names_check_project(const char *name, struct qr_error *err);
const char *names_printable(char *buf, size_t len, const char *text);

#endif /* QREMAP_NAMES_H */
