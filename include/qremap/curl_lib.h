/* SPDX-License-Identifier: GPL-2.0-or-later
 * qremap - curl_lib.h: libcurl, loaded when the Incus API is first needed
 *
 * Linking libcurl costs every exec of qremap ~6 ms (measured, 2026-12-06:
 * 1.2 ms for a program linked with jansson and libyaml, 7.6 ms with libcurl
 * too): its 30-odd dependencies (GnuTLS, Kerberos, LDAP, ...) are mapped,
 * relocated and initialised even when no request is ever made. A one-shot
 * "qremap remap" holds a paused VM while it runs and never talks to Incus,
 * so libcurl is opened with dlopen() by the commands that do (qremap
 * incus, qremapd), once, and reached through this table.
 */
#ifndef QREMAP_CURL_LIB_H
#define QREMAP_CURL_LIB_H

#include <curl/curl.h>

#include "qremap/error.h"

/* The SONAME the headers belong to: libcurl has kept ABI 4 since 7.16 (2006) */
#define QREMAP_CURL_SONAME "libcurl.so.4"

/**
 * struct curl_lib - the libcurl functions qremap uses
 * @global_init:	curl_global_init()
 * @easy_init:		curl_easy_init()
 * @easy_setopt:	curl_easy_setopt()
 * @easy_perform:	curl_easy_perform()
 * @easy_getinfo:	curl_easy_getinfo()
 * @easy_strerror:	curl_easy_strerror()
 * @easy_cleanup:	curl_easy_cleanup()
 * @slist_append:	curl_slist_append()
 * @slist_free_all:	curl_slist_free_all()
 */
struct curl_lib {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	void (*easy_cleanup)(CURL *c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

const struct curl_lib *curl_lib(struct qr_error *err);

#endif /* QREMAP_CURL_LIB_H */
