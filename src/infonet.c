// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - infonet.c: strict parser for HMP "info network" (grammar in infonet.h) */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qremap/infonet.h"

#define PEER_PREFIX   " \\ "
#define FILTER_PREFIX "  - "

/**
 * struct parser - state while walking the lines
 * @out:	result being built
 * @cap:	allocated entries
 * @hub_id:	hub whose ports are being listed, or -1
 * @pending_nic: top-level NIC entry whose " \ " backend line may follow
 * @last:	client that a "filters:" block would belong to
 * @in_filters:	inside a "filters:" block
 * @lineno:	current line number, 1-based
 */
struct parser {
	struct infonet *out;
	size_t cap;
	int hub_id;
	struct infonet_entry *pending_nic;
	struct infonet_client *last;
	bool in_filters;
	unsigned lineno;
};

static int fail(struct parser *p, struct qr_error *err, const char *line, const char *what)
{
	return qr_err_set(err, QR_ERR_PARSE, "info network, line %u: %s: \"%.80s\"", p->lineno,
	                  what, line);
}

/* Names are qdev/netdev ids or QEMU-made names ("hub0port0", "e1000.0"). */
static bool valid_name(const char *s, size_t n)
{
	size_t i;

	if (!n || n >= INFONET_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch == ':' || ch == ',' || ch >= 0x7f)
			return false;
	}
	return true;
}

static bool valid_mac(const char *s)
{
	int i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* Interpret the info text of NICs ("model=...,macaddr=...") and taps ("fd=N"). */
static const char *parse_info(struct infonet_client *c)
{
	unsigned long long v;

	if (!strcmp(c->type, "nic")) {
		const char *mac;
		size_t mlen;

		if (!c->info[0])
			return NULL; /* queues >= 1 print nothing */
		if (strncmp(c->info, "model=", 6))
			return "NIC info does not start with model=";
		mac = strstr(c->info, ",macaddr=");
		if (!mac)
			return "NIC info has no macaddr=";
		mlen = (size_t)(mac - (c->info + 6));
		if (!mlen || mlen >= sizeof(c->model))
			return "NIC model name empty or too long";
		memcpy(c->model, c->info + 6, mlen);
		c->model[mlen] = '\0';
		mac += strlen(",macaddr=");
		if (!valid_mac(mac))
			return "malformed MAC address";
		for (size_t i = 0; i < 18; i++)
			c->mac[i] = (char)tolower((unsigned char)mac[i]);
		return NULL;
	}
	if (!strcmp(c->type, "tap") && !strncmp(c->info, "fd=", 3)) {
		if (parse_uint(c->info + 3, 0x7fffffff, &v) < 0)
			return "tap fd= is not a number";
		c->fd = (int)v;
	}
	return NULL;
}

/*
 * Parse "NAME: index=N,type=T,INFO" into @c. Return NULL or what is wrong.
 */
static const char *parse_client(const char *s, struct infonet_client *c)
{
	const char *p = strstr(s, ": index="), *q;
	unsigned long long v;
	char num[16];
	size_t n;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (!p)
		return "expected \"NAME: index=N,type=TYPE,INFO\"";
	if (!valid_name(s, (size_t)(p - s)))
		return "invalid client name";
	memcpy(c->name, s, (size_t)(p - s));

	p += strlen(": index=");
	q = strchr(p, ',');
	n = q ? (size_t)(q - p) : 0;
	if (!q || !n || n >= sizeof(num))
		return "index is not followed by \",type=\"";
	memcpy(num, p, n);
	num[n] = '\0';
	if (parse_uint(num, 65535, &v) < 0)
		return "index is not a number";
	c->index = (unsigned)v;

	p = q + 1;
	if (strncmp(p, "type=", 5))
		return "expected \",type=\" after the index";
	p += 5;
	q = strchr(p, ',');
	n = q ? (size_t)(q - p) : 0;
	if (!q || !n || n >= sizeof(c->type))
		return "type is not followed by \",\"";
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) && p[i] != '-')
			return "invalid client type";
	memcpy(c->type, p, n);
	c->type[n] = '\0';

	if (!str_copy(c->info, sizeof(c->info), q + 1))
		return "info text longer than QEMU prints";
	return parse_info(c);
}

static struct infonet_entry *new_entry(struct parser *p, struct qr_error *err)
{
	struct infonet *out = p->out;
	struct infonet_entry *e;

	if (out->n == INFONET_MAX_ENTRIES) {
		qr_err_set(err, QR_ERR_UNSUPPORTED, "info network: more than %d net clients",
		           INFONET_MAX_ENTRIES);
		return NULL;
	}
	if (out->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 16;
		struct infonet_entry *ne = realloc(out->entries, ncap * sizeof(*ne));

		if (!ne) {
			qr_err_sys(err, ENOMEM, "info network entries");
			return NULL;
		}
		out->entries = ne;
		p->cap = ncap;
	}
	e = &out->entries[out->n++];
	memset(e, 0, sizeof(*e));
	e->line = p->lineno;
	e->hub_id = -1;
	return e;
}

static int parse_hub_port(struct parser *p, const char *line, struct qr_error *err)
{
	const char *rest = line + strlen(PEER_PREFIX), *colon = strstr(rest, ": ");
	struct infonet_entry *e = new_entry(p, err);
	const char *why;

	if (!e)
		return -1;
	e->hub_id = p->hub_id;
	if (!colon) {
		/* a port without peer: " \ NAME" */
		if (!valid_name(rest, strlen(rest)))
			return fail(p, err, line, "invalid hub port name");
		memcpy(e->port, rest, strlen(rest) + 1);
		p->last = NULL;
		return 0;
	}
	if (!valid_name(rest, (size_t)(colon - rest)))
		return fail(p, err, line, "invalid hub port name");
	memcpy(e->port, rest, (size_t)(colon - rest));
	why = parse_client(colon + 2, &e->client);
	if (why)
		return fail(p, err, line, why);
	e->has_client = true;
	p->last = &e->client;
	return 0;
}

static int parse_line(struct parser *p, const char *line, struct qr_error *err)
{
	unsigned long long v;
	const char *why;

	if (p->in_filters && str_has_prefix(line, FILTER_PREFIX)) {
		if (!strstr(line, ": type="))
			return fail(p, err, line, "filter line without \": type=\"");
		p->last->n_filters++;
		return 0;
	}
	p->in_filters = false;

	if (!strcmp(line, "filters:")) {
		if (!p->last)
			return fail(p, err, line, "\"filters:\" not after a client line");
		p->in_filters = true;
		return 0;
	}
	if (str_has_prefix(line, FILTER_PREFIX))
		return fail(p, err, line, "filter entry outside a \"filters:\" block");

	if (str_has_prefix(line, "hub ")) {
		if (parse_uint(line + 4, 0x7fffffff, &v) < 0)
			return fail(p, err, line, "hub id is not a number");
		p->hub_id = (int)v;
		p->pending_nic = NULL;
		p->last = NULL;
		return 0;
	}

	if (str_has_prefix(line, PEER_PREFIX)) {
		if (p->hub_id >= 0)
			return parse_hub_port(p, line, err);
		if (!p->pending_nic)
			return fail(p, err, line,
			            "backend line \" \\ \" without a NIC line before it");
		why = parse_client(line + strlen(PEER_PREFIX), &p->pending_nic->peer);
		if (why)
			return fail(p, err, line, why);
		p->pending_nic->has_peer = true;
		p->last = &p->pending_nic->peer;
		p->pending_nic = NULL;
		return 0;
	}

	/* a top-level client ends any hub block */
	p->hub_id = -1;
	{
		struct infonet_entry *e = new_entry(p, err);

		if (!e)
			return -1;
		why = parse_client(line, &e->client);
		if (why)
			return fail(p, err, line, why);
		e->has_client = true;
		p->last = &e->client;
		p->pending_nic = strcmp(e->client.type, "nic") ? NULL : e;
	}
	return 0;
}

/**
 * infonet_parse() - parse the text of HMP "info network"
 * @text:	output of human-monitor-command "info network"
 * @out:	result; free with infonet_free(), also after a failure
 * @err:	error object; QR_ERR_PARSE names the line
 *
 * Return: 0 on success, -1 on malformed input
 */
int infonet_parse(const char *text, struct infonet *out, struct qr_error *err)
{
	struct parser p = {.out = out, .hub_id = -1};
	const char *s = text;

	memset(out, 0, sizeof(*out));
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t raw = nl ? (size_t)(nl - s) : strlen(s), n = raw;
		char line[1024];

		p.lineno++;
		if (n && s[n - 1] == '\r')
			n--;
		if (n >= sizeof(line))
			return qr_err_set(err, QR_ERR_PARSE,
			                  "info network, line %u: longer than %zu bytes", p.lineno,
			                  sizeof(line) - 1);
		memcpy(line, s, n);
		line[n] = '\0';
		if (memchr(line, '\r', n))
			return fail(&p, err, line, "carriage return inside a line");
		if (!n)
			return fail(&p, err, line, "empty line");
		if (parse_line(&p, line, err) < 0)
			return -1;
		s += raw + (nl ? 1 : 0);
	}
	return 0;
}

/**
 * infonet_free() - release what infonet_parse() allocated
 * @in:	parsed output
 */
void infonet_free(struct infonet *in)
{
	free(in->entries);
	in->entries = NULL;
	in->n = 0;
}
