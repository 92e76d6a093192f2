// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - names.c: Incus instance and project names (see names.h)
 *
 * The rules are Incus 6.0.4's, restated here, not copied:
 *
 * - instance names: internal/server/instance/instance_utils.go, ValidName()
 *   (not a snapshot): the snapshot delimiter "/" is reserved, and the rest
 *   is shared/validate/validate.go, IsHostname(): 1 to 63 characters, only
 *   ASCII letters, digits and "-", no "-" first or last, and not a number
 *   (text that parses as an unsigned 64-bit decimal).
 * - project names: cmd/incusd/api_project.go, projectValidateName(): not
 *   empty, no "/", space, "_", "'" or '"', and not "*", "." or "..". Incus
 *   sets no length or character-set limit beyond that; qremap adds one (see
 *   names_check_project()).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qremap/names.h"

/**
 * names_printable() - text as it can be printed in a message
 * @buf:	output (at least 8 bytes)
 * @len:	size of @buf
 * @text:	the text as given (a name, a path, a message from Incus)
 *
 * Text that is being refused may hold CR, LF or escape sequences that would
 * forge log lines or drive a terminal. Bytes outside printable ASCII, and
 * '\', are shown as \xNN, and a long text is cut, with "..." after it.
 *
 * Return: @buf
 */
const char *names_printable(char *buf, size_t len, const char *text)
{
	size_t o = 0;

	buf[0] = '\0';
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		char one[8];
		int n;

		if (*p >= 0x20 && *p < 0x7f && *p != '\\')
			n = snprintf(one, sizeof(one), "%c", *p);
		else
			n = snprintf(one, sizeof(one), "\\x%02x", *p);
		if (o + (size_t)n + 4 >= len) {
			snprintf(buf + o, len - o, "...");
			break;
		}
		memcpy(buf + o, one, (size_t)n + 1);
		o += (size_t)n;
	}
	return buf;
}

/* An ASCII letter or digit; isalnum() would follow the locale. */
static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/**
 * is_uint64() - whether text parses as an unsigned 64-bit decimal
 * @s:		text
 *
 * What Go's strconv.ParseUint(s, 10, 64) accepts, which is what IsHostname()
 * refuses: digits only, no sign, and a value that fits (twenty-one nines are
 * not "a number" to Incus, and are a valid name).
 *
 * Return: true if @s is such a number
 */
static bool is_uint64(const char *s)
{
	char *end;

	if (!s[0] || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	(void)strtoull(s, &end, 10);
	return errno != ERANGE && *end == '\0';
}

/**
 * names_check_instance() - check an Incus instance name
 * @name:	the name (not a snapshot's)
 * @err:	error object: what is wrong, and the rule
 *
 * Return: 0 if Incus could have created an instance of that name, -1 if not
 */
int names_check_instance(const char *name, struct qr_error *err)
{
	size_t len = name ? strlen(name) : 0;
	char s[96];

	if (!len)
		return qr_err_set(err, QR_ERR_INVALID,
		                  "instance name is empty: Incus names are 1-%d characters",
		                  NAMES_INSTANCE_MAX);
	if (len > NAMES_INSTANCE_MAX)
		return qr_err_set(err, QR_ERR_INVALID,
		                  "instance name '%s' is %zu characters long: Incus names are "
		                  "1-%d characters",
		                  names_printable(s, sizeof(s), name), len, NAMES_INSTANCE_MAX);
	if (strchr(name, '/'))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "instance name '%s' contains '/': Incus reserves it for "
		                  "snapshots (INSTANCE/SNAPSHOT)",
		                  names_printable(s, sizeof(s), name));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!is_alnum(c) && c != '-')
			return qr_err_set(err, QR_ERR_INVALID,
			                  "instance name '%s' has a character Incus doesn't "
			                  "allow at position %zu: only ASCII letters, digits "
			                  "and '-' are",
			                  names_printable(s, sizeof(s), name), i + 1);
	}
	if (name[0] == '-' || name[len - 1] == '-')
		return qr_err_set(err, QR_ERR_INVALID,
		                  "instance name '%s' starts or ends with '-': Incus names "
		                  "don't",
		                  name);
	if (is_uint64(name))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "instance name '%s' is a number: Incus names can't be", name);
	return 0;
}

/**
 * names_check_project() - check an Incus project name
 * @name:	the name
 * @err:	error object: what is wrong, and the rule
 *
 * Incus's own rules, and two of qremap's on top, so that a project name is
 * safe wherever qremap puts it (a REST query, "PROJECT_NAME.json" in
 * qremapd's state directory, a log line) even where a consumer forgets to
 * escape it: at most NAMES_PROJECT_MAX characters, and only printable ASCII
 * without '\', '?', '&', '#' or '%'. Incus itself would take such a project;
 * qremap refuses it, saying so, rather than trust every consumer with it.
 *
 * Return: 0 if the name is acceptable, -1 if not
 */
int names_check_project(const char *name, struct qr_error *err)
{
	size_t len = name ? strlen(name) : 0;
	char s[96];

	if (!len)
		return qr_err_set(err, QR_ERR_INVALID, "project name is empty");
	if (len > NAMES_PROJECT_MAX)
		return qr_err_set(err, QR_ERR_INVALID,
		                  "project name '%s' is %zu characters long: qremap takes "
		                  "1-%d",
		                  names_printable(s, sizeof(s), name), len, NAMES_PROJECT_MAX);
	if (!strcmp(name, "*") || !strcmp(name, ".") || !strcmp(name, ".."))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "project name '%s' is reserved by Incus ('*', '.' and '..' "
		                  "are)",
		                  name);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ' ' || c == '_' || c == '\'' || c == '"')
			return qr_err_set(err, QR_ERR_INVALID,
			                  "project name '%s' contains '%c' at position %zu: "
			                  "Incus project names can't contain '/', ' ', '_', "
			                  "''' or '\"'",
			                  names_printable(s, sizeof(s), name), c, i + 1);
		if (c < 0x20 || c >= 0x7f)
			return qr_err_set(err, QR_ERR_INVALID,
			                  "project name '%s' has a control or non-ASCII byte at "
			                  "position %zu: qremap takes printable ASCII only",
			                  names_printable(s, sizeof(s), name), i + 1);
		if (strchr("\\?&#%", c))
			return qr_err_set(err, QR_ERR_INVALID,
			                  "project name '%s' contains '%c' at position %zu: "
			                  "qremap refuses '\\', '?', '&', '#' and '%%' in "
			                  "project names",
			                  names_printable(s, sizeof(s), name), c, i + 1);
	}
	return 0;
}
