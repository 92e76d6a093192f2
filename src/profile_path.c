// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - profile_path.c: finding profiles by name in the profile path */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "qremap/profile.h"

/* Earlier directories win: a local profile overrides a packaged one. */
static const char *const profile_dirs[] = {"./profiles", "/etc/qremap/profiles",
                                           "/usr/share/qremap/profiles", NULL};

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
 * profile_resolve() - a profile argument as a file path
 * @arg:	a path (contains '/', ends in .yaml, or exists) or a NAME
 * @buf:	result
 * @len:	size of @buf
 * @err:	error object
 *
 * Return: 0 if found, -1 if not
 */
int profile_resolve(const char *arg, char *buf, size_t len, struct qr_error *err)
{
	struct stat st;
	size_t l = strlen(arg);

	if (strchr(arg, '/') || (l > 5 && !strcmp(arg + l - 5, ".yaml")) || !stat(arg, &st)) {
		snprintf(buf, len, "%s", arg);
		return 0;
	}
	for (size_t i = 0; profile_dirs[i]; i++) {
		snprintf(buf, len, "%s/%s.yaml", profile_dirs[i], arg);
		if (!stat(buf, &st))
			return 0;
	}
	return qr_err_set(err, QR_ERR_INVALID,
	                  "no profile '%s': not a file, and no %s.yaml in ./profiles, "
	                  "/etc/qremap/profiles or /usr/share/qremap/profiles "
	                  "('qremap profile list' shows what there is)",
	                  arg, arg);
}
