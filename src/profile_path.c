// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - profile_path.c: finding profiles by name in the profile path
 *
 * Names resolve only in system directories: the administrator's
 * /etc/qremap/profiles, then the packaged ${datadir}/qremap/profiles of the
 * install prefix (QREMAP_PROFILE_DIR, set by CMake). Never relative to the
 * working directory: qremapd runs as root with whatever directory it was
 * started in, and a profile decides which devices a VM gets.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "qremap/profile.h"

#ifndef QREMAP_PROFILE_DIR
#define QREMAP_PROFILE_DIR "/usr/share/qremap/profiles"
#endif

/* Earlier directories win: the administrator's copy overrides the packaged one. */
static const char *const profile_dirs[] = {"/etc/qremap/profiles", QREMAP_PROFILE_DIR, NULL};

/**
 * profile_search_dirs() - the profile path
 *
 * Return: NULL-terminated list of directories, in lookup order
 */
const char *const *profile_search_dirs(void)
{
	return profile_dirs;
}

/**
 * profile_name_valid() - whether @name can be a profile name (not a path)
 * @name:	candidate
 *
 * Letters, digits, '.', '_' and '-', starting with a letter or digit, at
 * most 64 bytes: nothing that could leave a directory or hide a file.
 *
 * Return: true if valid
 */
bool profile_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 64 ||
	    !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= '0' && name[0] <= '9')))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       n;
}

/**
 * profile_resolve_name() - a profile NAME as a file in the system directories
 * @name:	plain name (profile_name_valid())
 * @buf:	result
 * @len:	size of @buf
 * @err:	error object
 *
 * Return: 0 if found, -1 if not (or @name is not a plain name)
 */
int profile_resolve_name(const char *name, char *buf, size_t len, struct qr_error *err)
{
	struct stat st;

	if (!profile_name_valid(name))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "'%.80s' is not a profile name (letters, digits, '.', '_', '-'; "
		                  "no paths)",
		                  name);
	for (size_t i = 0; profile_dirs[i]; i++) {
		if (snprintf(buf, len, "%s/%s.yaml", profile_dirs[i], name) >= (int)len)
			return qr_err_set(err, QR_ERR_INVALID, "profile path too long");
		if (!lstat(buf, &st))
			return 0;
	}
	return qr_err_set(err, QR_ERR_INVALID,
	                  "no profile '%s': no %s.yaml in %s or %s ('qremap profile list' "
	                  "shows what there is)",
	                  name, name, profile_dirs[0], profile_dirs[1]);
}

/**
 * profile_resolve() - a profile argument as a file path
 * @arg:	a path (contains '/' or ends in .yaml) or a NAME
 * @buf:	result
 * @len:	size of @buf
 * @err:	error object
 *
 * Return: 0 if found, -1 if not
 */
int profile_resolve(const char *arg, char *buf, size_t len, struct qr_error *err)
{
	if (strchr(arg, '/') || str_has_suffix(arg, ".yaml")) {
		if (snprintf(buf, len, "%s", arg) >= (int)len)
			return qr_err_set(err, QR_ERR_INVALID, "profile path too long");
		return 0;
	}
	return profile_resolve_name(arg, buf, len, err);
}

/**
 * profile_stored_name() - the NAME to record for qremapd, which takes only
 *			   names from Incus
 * @arg:	what the user gave (a NAME or a path)
 * @path:	what it resolved to (profile_resolve())
 * @name:	result
 * @len:	size of @name
 * @err:	error object
 *
 * A path is accepted only when it is the file its own name resolves to in
 * the system directories (say /etc/qremap/profiles/macos.yaml, recorded as
 * "macos"): qremapd runs as root and never opens a path that Incus's
 * configuration names.
 *
 * Return: 0 on success, -1 if @arg is a path qremapd would not find by name
 */
int profile_stored_name(const char *arg, const char *path, char *name, size_t len,
                        struct qr_error *err)
{
	char want[PATH_MAX], got[PATH_MAX], sys[PATH_MAX];
	const char *base = strrchr(path, '/');
	size_t n;

	if (!strchr(arg, '/') && !str_has_suffix(arg, ".yaml")) {
		if (snprintf(name, len, "%s", arg) >= (int)len)
			return qr_err_set(err, QR_ERR_INVALID, "profile name too long");
		return 0;
	}
	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 5 && str_has_suffix(base, ".yaml"))
		n -= 5;
	if (n >= len)
		return qr_err_set(err, QR_ERR_INVALID, "profile name too long");
	memcpy(name, base, n);
	name[n] = '\0';
	if (!realpath(path, want) || !profile_name_valid(name) ||
	    profile_resolve_name(name, sys, sizeof(sys), err) < 0 || !realpath(sys, got) ||
	    strcmp(want, got))
		return qr_err_set(err, QR_ERR_INVALID,
		                  "qremapd takes a profile NAME from Incus, never a path: install "
		                  "%s as %s/%s.yaml and give --profile %s (or map the VM with "
		                  "qremapd --profile-for VM=%s)",
		                  path, profile_dirs[0], profile_name_valid(name) ? name : "NAME",
		                  profile_name_valid(name) ? name : "NAME", path);
	return 0;
}
