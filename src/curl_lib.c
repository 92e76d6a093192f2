// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - curl_lib.c: open libcurl on first use (see curl_lib.h for why) */

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "qremap/curl_lib.h"

static struct curl_lib lib;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/**
 * load() - dlopen() libcurl and look up every function of struct curl_lib
 *
 * On failure @lib stays partly filled and @load_error says what failed;
 * curl_lib() then refuses. The handle is kept for the life of the process.
 */
static void load(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} syms[] = {
	        {"curl_global_init", offsetof(struct curl_lib, global_init)},
	        {"curl_easy_init", offsetof(struct curl_lib, easy_init)},
	        {"curl_easy_setopt", offsetof(struct curl_lib, easy_setopt)},
	        {"curl_easy_perform", offsetof(struct curl_lib, easy_perform)},
	        {"curl_easy_getinfo", offsetof(struct curl_lib, easy_getinfo)},
	        {"curl_easy_strerror", offsetof(struct curl_lib, easy_strerror)},
	        {"curl_easy_cleanup", offsetof(struct curl_lib, easy_cleanup)},
	        {"curl_slist_append", offsetof(struct curl_lib, slist_append)},
	        {"curl_slist_free_all", offsetof(struct curl_lib, slist_free_all)},
	};
	void *h = dlopen(QREMAP_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			snprintf(load_error, sizeof(load_error), "%s: no %s", QREMAP_CURL_SONAME,
			         syms[i].name);
			return;
		}
		/* POSIX: a dlsym() result converts to a function pointer */
		memcpy((char *)&lib + syms[i].offset, &f, sizeof(f));
	}
}

/**
 * curl_lib() - libcurl's functions, opening the library on the first call
 * @err:	error object
 *
 * Thread-safe (pthread_once). qremapd calls it before it starts threads or
 * installs its seccomp filter, which has no room for mapping libraries.
 *
 * Return: the table, or NULL with @err saying why libcurl could not be had
 */
const struct curl_lib *curl_lib(struct qr_error *err)
{
	(void)pthread_once(&load_once, load); /* fails only for a bad argument */
	if (load_error[0]) {
		qr_err_set(err, QR_ERR_UNSUPPORTED,
		           "the Incus API needs libcurl (%s), which could not be loaded: %s; "
		           "install the libcurl4 package",
		           QREMAP_CURL_SONAME, load_error);
		return NULL;
	}
	return &lib;
}
