// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - qremapd.c: the daemon Incus VMs reach through a client-mode
 * monitor, which remaps each VM at its pre-start stage
 *
 * Each VM's QEMU dials the daemon's socket when it starts (chardev socket,
 * server=off, reconnect-ms). The socket must accept QEMU running as nobody,
 * so every local user can connect too: nothing a peer says is believed.
 *
 *  1. accept: the peer is held by a pidfd (SO_PEERPIDFD, proc.h); its uid
 *     must be root's or QEMU's (Incus), or on --allow-uid (without Incus).
 *     Connections are capped in total and, while unidentified, per uid.
 *  2. identify, bounded (IDENTIFY_MS): with Incus, from Incus's own records
 *     (peer.h), before a single QMP byte is read; without Incus, by
 *     query-name, read with a small message limit, which must name a
 *     --profile-for VM. A peer that can't be identified in time is dropped
 *     having got nothing: no chardev, no remap, no answer.
 *  3. an identified VM gets the status ringbuf, and on the first RESET it
 *     didn't cause itself (the scriptlet's signal, handshake.h), its remap,
 *     after checking that the pidfd is still that VM.
 *
 * One thread per connection: a VM whose QEMU hangs blocks only its own
 * thread (and only up to the profile's QMP timeout), never another VM's
 * remap.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "qremap/curl_lib.h"
#include "qremap/handshake.h"
#include "qremap/incus.h"
#include "qremap/log.h"
#include "qremap/names.h"
#include "qremap/peer.h"
#include "qremap/pipeline.h"
#include "qremap/plan.h"
#include "qremap/privilege.h"
#include "qremap/proc.h"
#include "qremap/profile.h"
#include "qremap/qmp_query.h"
#include "qremap/qmp.h"

#define DEFAULT_SOCKET    "/run/qremap/qremap.sock"
#define DEFAULT_STATE_DIR "/run/qremap/state"
#define DEFAULT_QEMU_USER "nobody" /* Incus: -run-with user=nobody */
/* qremapd's own system user, made by the package (sysusers.d/qremap.conf) */
#define DEFAULT_DAEMON_USER "qremapd"
/* the group Debian's and Incus's own packages give the API socket */
#define INCUS_ADMIN_GROUP "incus-admin"
#define MAX_MAP           64
#define MAX_ALLOW_UID     16
#define IDLE_WAIT_MS      3600000 /* re-check the connection hourly while idle */
#define SHUTDOWN_WAIT_MS  10000
#define IDENTIFY_MS       10000 /* QEMU writes its pid file before it dials */
#define IDENTIFY_POLL_MS  50
#define ACCEPT_BACKOFF_MS 200 /* out of descriptors: wait, don't spin */
#define MAX_SESSIONS      512 /* connections in all, identified or not */
#define MAX_UNIDENTIFIED  64  /* connections not yet identified, in all */
#define MAX_UNIDENT_UID   8   /* ... and per peer uid */
/* Until identified, a peer's messages are small (greeting, query-name);
 * after, the inventory's replies (qom-list, query-block) can be large.
 */
#define MSG_MAX_UNIDENTIFIED (64u << 10)
#define MSG_MAX_IDENTIFIED   (1u << 20)
#define QR_XSTR(x)           #x
#define QR_STR(x)            QR_XSTR(x)

/**
 * struct daemon_cfg - command-line configuration, read-only once threads run
 * @socket:	listening socket path
 * @state_dir:	where per-VM results are written
 * @def_profile: profile for Incus VMs with no other, or NULL
 * @map_vm:	VMs with a profile of their own ("NAME" or "PROJECT/NAME")
 * @map_profile: their profiles
 * @n_map:	number of mappings
 * @incus:	Incus's socket ("" to run without Incus)
 * @run_dir:	Incus's run directory (peer.h)
 * @qemu_uid:	the uid Incus runs QEMU as
 * @allow_uid:	without Incus: the peer uids served
 * @n_allow:	their number
 * @user:	--user as given
 * @ids:	the identity taken in the privilege drop (@run_as_root: none)
 * @run_as_root: --user root: stay uid 0
 */
struct daemon_cfg {
	const char *socket;
	const char *state_dir;
	const char *def_profile;
	const char *map_vm[MAX_MAP];
	const char *map_profile[MAX_MAP];
	size_t n_map;
	const char *incus;
	const char *run_dir;
	uid_t qemu_uid;
	uid_t allow_uid[MAX_ALLOW_UID];
	size_t n_allow;
	const char *user;
	struct privilege_ids ids;
	bool run_as_root;
};

static struct daemon_cfg cfg = {
        .socket = DEFAULT_SOCKET,
        .state_dir = DEFAULT_STATE_DIR,
        .incus = INCUS_DEFAULT_SOCKET,
        .run_dir = PEER_RUN_DIR,
        .user = DEFAULT_DAEMON_USER,
};
static volatile sig_atomic_t got_term;
static int run_dirfd = -1;   /* Incus's run directory, with Incus */
static int state_dirfd = -1; /* cfg.state_dir */

/*
 * Session accounting, under @lock: @sessions in all, @unident of them not
 * identified yet, per uid in @uid_slot/@uid_count (at most MAX_UNIDENTIFIED
 * uids can have one), and @busy remaps in progress, for a clean shutdown.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cond = PTHREAD_COND_INITIALIZER;
static unsigned sessions, unident, busy;
static uid_t uid_slot[MAX_UNIDENTIFIED];
static unsigned uid_count[MAX_UNIDENTIFIED];

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/**
 * struct session - one connection
 * @fd:		accepted socket (owned by @c once adopted)
 * @proc:	the peer process, held by pidfd
 * @exact:	@proc came from SO_PEERPIDFD (else pidfd_open of its pid)
 * @identified:	counted as identified (no longer in the per-uid quota)
 * @id:		which VM it is
 * @label:	"vm NAME" or "vm PROJECT/NAME" for messages
 */
struct session {
	int fd;
	struct qr_proc proc;
	bool exact;
	bool identified;
	struct peer_id id;
	char label[160];
};

/**
 * struct ratelimit - one kind of warning an attacker can cause
 * @lock:	protects the rest
 * @last:	when one was last printed (now_ms()), 0 never
 * @suppressed:	how many were left out since
 */
struct ratelimit {
	pthread_mutex_t lock;
	int64_t last;
	unsigned suppressed;
};

static struct ratelimit rl_refused = {.lock = PTHREAD_MUTEX_INITIALIZER};
static struct ratelimit rl_accept = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * Warnings an attacker can cause (refused connections, accept() failing)
 * are rate-limited per kind: at most one line a second, with the number
 * left out.
 */
static void warn_limited(struct ratelimit *rl, const char *fmt, ...) _printf_(2, 3);
static void warn_limited(struct ratelimit *rl, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int64_t now = now_ms();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&rl->lock);
	if (rl->last && now - rl->last < 1000) {
		rl->suppressed++;
		pthread_mutex_unlock(&rl->lock);
		return;
	}
	if (rl->suppressed)
		log_warn("%s (%u more like it not shown)", msg, rl->suppressed);
	else
		log_warn("%s", msg);
	rl->last = now;
	rl->suppressed = 0;
	pthread_mutex_unlock(&rl->lock);
}

/* Find or take the slot of @uid in the unidentified table (lock held). */
static int uid_index(uid_t uid, bool take)
{
	int free_slot = -1;

	for (int i = 0; i < MAX_UNIDENTIFIED; i++) {
		if (uid_count[i] && uid_slot[i] == uid)
			return i;
		if (!uid_count[i] && free_slot < 0)
			free_slot = i;
	}
	if (take && free_slot >= 0)
		uid_slot[free_slot] = uid;
	return take ? free_slot : -1;
}

/*
 * Admit a new unidentified connection from @uid, within the caps. Return:
 * NULL if admitted, else why not.
 */
static const char *admit(uid_t uid)
{
	const char *why = NULL;
	int i;

	pthread_mutex_lock(&lock);
	i = uid_index(uid, true);
	if (sessions >= MAX_SESSIONS)
		why = "too many connections (" QR_STR(MAX_SESSIONS) ")";
	else if (unident >= MAX_UNIDENTIFIED || i < 0)
		why = "too many unidentified connections (" QR_STR(MAX_UNIDENTIFIED) ")";
	else if (uid_count[i] >= MAX_UNIDENT_UID)
		why = "too many unidentified connections from this uid (" QR_STR(
		        MAX_UNIDENT_UID) ")";
	if (!why) {
		sessions++;
		unident++;
		uid_count[i]++;
	}
	pthread_mutex_unlock(&lock);
	return why;
}

/* The session is identified (@identified true) or gone: out of the quota. */
static void leave_unidentified(uid_t uid)
{
	int i;

	pthread_mutex_lock(&lock);
	i = uid_index(uid, false);
	if (i >= 0)
		uid_count[i]--;
	unident--;
	pthread_mutex_unlock(&lock);
}

static void session_end(struct session *s)
{
	if (!s->identified)
		leave_unidentified(s->proc.uid);
	pthread_mutex_lock(&lock);
	sessions--;
	pthread_mutex_unlock(&lock);
	proc_close(&s->proc);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static void busy_add(int delta)
{
	pthread_mutex_lock(&lock);
	busy = (unsigned)((int)busy + delta);
	pthread_cond_broadcast(&busy_cond);
	pthread_mutex_unlock(&lock);
}

/* Whether @uid may be served: QEMU's (with Incus) or an allowed one. */
static bool uid_allowed(uid_t uid)
{
	if (cfg.incus[0])
		return uid == 0 || uid == cfg.qemu_uid;
	for (size_t i = 0; i < cfg.n_allow; i++)
		if (cfg.allow_uid[i] == uid)
			return true;
	return false;
}

/*
 * The profile argument for VM @id: --profile-for (PROJECT/NAME, or NAME in
 * the default project), else Incus's user.qremap.profile, else
 * --default-profile (Incus only). @from_incus says it came from Incus (and
 * so must be a plain name). NULL if none.
 */
static const char *profile_for(const struct session *s, bool *from_incus)
{
	char full[2 * PEER_NAME_MAX + 2];

	*from_incus = false;
	snprintf(full, sizeof(full), "%s/%s", s->id.project, s->id.name);
	for (size_t i = 0; i < cfg.n_map; i++)
		if (!strcmp(cfg.map_vm[i], full) ||
		    (!strcmp(s->id.project, "default") && !strcmp(cfg.map_vm[i], s->id.name)))
			return cfg.map_profile[i];
	if (!cfg.incus[0])
		return NULL;
	if (s->id.profile[0]) {
		*from_incus = true;
		return s->id.profile;
	}
	return cfg.def_profile;
}

/* Tell the scriptlet, one line in the status ringbuf (valid UTF-8), and the log */
static void report_status(struct qmp_client *c, const struct session *s, const char *line)
{
	struct qr_error err = {0};
	char buf[640];
	size_t len;

	snprintf(buf, sizeof(buf), "%s", line);
	len = utf8_truncate(buf, sizeof(buf) - 2);
	utf8_sanitize(buf); /* same length: each bad byte becomes one '?' */
	buf[len] = '\n';
	buf[len + 1] = '\0';
	if (qmp_executef(c, NULL, &err, "ringbuf-write", "{s:s, s:s, s:s}", "device",
	                 HANDSHAKE_CHARDEV, "data", buf, "format", "utf8") < 0)
		log_error("%s: could not post the result: %s", s->label, err.msg);
	log_info("%s: %s", s->label, line);
}

/*
 * Keep the last result where 'qremap incus status' finds it: a fresh
 * temporary file (O_EXCL, no links followed) renamed over the old one,
 * inside the state directory opened at start-up.
 */
static void save_state(const struct session *s, json_t *j)
{
	char name[PATH_MAX], tmp[PATH_MAX + 32];
	_cleanup_free_ char *text = json_dumps(j, JSON_INDENT(2));
	struct qr_error err = {0};
	size_t len, off = 0;
	int fd;

	if (state_dirfd < 0 || !text)
		return;
	if (incus_state_file_name(name, sizeof(name), s->id.project, s->id.name, &err) < 0) {
		log_error("%s: state file: %s", s->label, err.msg);
		return;
	}
	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)gettid());
	fd = openat(state_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlinkat(state_dirfd, tmp, 0) == 0)
		fd = openat(state_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
	if (fd < 0) {
		log_error("%s: state file %s/%s: %s", s->label, cfg.state_dir, tmp,
		          strerror(errno));
		return;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fsync(fd) < 0) {
		log_error("%s: state file %s/%s: %s", s->label, cfg.state_dir, tmp,
		          strerror(errno ? errno : EIO));
		close(fd);
		unlinkat(state_dirfd, tmp, 0);
		return;
	}
	if (close(fd) < 0 || renameat(state_dirfd, tmp, state_dirfd, name) < 0) {
		log_error("%s: state file %s/%s: %s", s->label, cfg.state_dir, name,
		          strerror(errno ? errno : EIO));
		unlinkat(state_dirfd, tmp, 0);
	}
}

/* Load the profile named @arg; from Incus only a plain name, never a path. */
static int load_profile(const struct session *s, const char *arg, bool from_incus,
                        struct profile *prof, struct qr_error *err)
{
	char path[PATH_MAX];

	if (from_incus ? profile_resolve_name(arg, path, sizeof(path), err) < 0
	               : profile_resolve(arg, path, sizeof(path), err) < 0)
		return -1;
	log_info("%s: profile %s", s->label, path);
	return profile_load_path(path, PROFILE_NOFOLLOW, prof, err);
}

/**
 * log_boot_order() - log each disk placeholder's bootindex as QEMU reports it
 * @c:		the VM's QMP client
 * @s:		its session
 * @plan:	the plan just applied
 *
 * "qremap incus enable" gives each placeholder the bootindex Incus gave the
 * disk it receives (boot.priority); this says what QEMU holds, for the log
 * and the real-Incus test. Informational: a failed query changes nothing.
 */
static void log_boot_order(struct qmp_client *c, const struct session *s, const struct plan *plan)
{
	_cleanup_qq_batch_ struct qq_batch b = {0};
	struct qr_error err = {0};

	/* one query per disk, index i for disk i, all in one round trip */
	for (size_t i = 0; i < plan->n_disks; i++) {
		char path[INV_ID_MAX + 32];

		qq_qdev_path(path, sizeof(path), plan->disks[i].placeholder);
		if (qq_add_qom_get(&b, path, "bootindex", &err) < 0)
			break;
	}
	if (err.kind || qq_run(c, &b, &err) < 0) {
		log_debug("%s: bootindex of the placeholders: %s", s->label, err.msg);
		return;
	}
	for (size_t i = 0; i < plan->n_disks; i++) {
		const struct plan_disk *d = &plan->disks[i];
		json_t *v = NULL;

		if (qq_answer(&b, (int)i, &v, &err) < 0)
			log_debug("%s: %s", s->label, err.msg);
		else if (json_is_integer(v))
			log_info("%s: disk %s on %s, bootindex %" JSON_INTEGER_FORMAT
			         " (as QEMU reports it)",
			         s->label, d->name, d->placeholder, json_integer_value(v));
	}
}

/**
 * run_remap() - a VM's remap at its pre-start signal
 * @c:		the VM's QMP client
 * @s:		its session, identified
 * @line:	the status line for the scriptlet (HANDSHAKE_DONE, ...)
 * @len:	size of @line
 *
 * Loads the VM's profile and checks that the pidfd is still the VM's, then
 * runs remap_vm(); the report is saved for "qremap incus status".
 *
 * Return: true if the status line was posted already (a remap done: the
 * scriptlet gets it before the boot order is read for the log, which
 * Incus's pre-start stage need not wait for), false if the caller posts it
 */
static bool run_remap(struct qmp_client *c, struct session *s, char *line, size_t len)
{
	bool from_incus;
	const char *pname = profile_for(s, &from_incus);
	struct remap_vm_opts opts = {
	        .inventory = {.pid = s->proc.pid, .proc = &s->proc},
	        .apply = {.proc = &s->proc, .quit_on_unsafe = true, .label = s->label},
	};
	_cleanup_(remap_vm_result_free) struct remap_vm_result res = {0};
	const struct plan *plan = &res.plan;
	const struct remap_report *rep = &res.rep;
	struct qr_error err = {0};
	struct profile prof;
	json_t *j;

	if (!pname) {
		snprintf(line, len,
		         HANDSHAKE_FAILED "no profile for VM %.150s (qremap incus enable, qremapd "
		                          "--profile-for, or --default-profile)",
		         s->label + 3);
		return false;
	}
	if (load_profile(s, pname, from_incus, &prof, &err) < 0) {
		snprintf(line, len, HANDSHAKE_FAILED "%.500s", err.msg);
		return false;
	}
	/* the pidfd still this VM's, right before anything touches its taps */
	if (cfg.incus[0] ? peer_recheck_incus(run_dirfd, &s->proc, &s->id, &err) < 0
	                 : !proc_alive(&s->proc) && qr_err_sys(&err, ESRCH, "QEMU has exited")) {
		snprintf(line, len, HANDSHAKE_FAILED "%.500s", err.msg);
		return false;
	}
	if (remap_vm(c, &prof, &opts, &res, &err) < 0) {
		snprintf(line, len, HANDSHAKE_FAILED "%s: %.500s", remap_vm_stage_str(res.stage),
		         err.msg);
		return false;
	}
	j = remap_report_to_json(rep, plan);
	json_object_set_new(j, "vm", json_string(s->id.name));
	json_object_set_new(j, "project", json_string(s->id.project));
	json_object_set_new(j, "profile", json_string(prof.name));
	save_state(s, j);
	json_decref(j);
	switch (rep->outcome) {
	case REMAP_DONE:
		snprintf(line, len, HANDSHAKE_DONE " (%zu NICs, %zu disks, %.1f ms)", plan->n_nics,
		         plan->n_disks, rep->total_ms);
		report_status(c, s, line);
		log_boot_order(c, s, plan);
		return true;
	case REMAP_NOTHING:
		snprintf(line, len, HANDSHAKE_NOTHING);
		break;
	case REMAP_REFUSED:
		/* Placeholders are made by "qremap incus enable" from the disks
		 * and NICs it saw: one added or resized since needs it again,
		 * not the QEMU arguments the planner's words describe. With
		 * the longest refusal and names the hint's end is cut.
		 */
		if (cfg.incus[0] && strstr(plan->refusal, "placeholder")) {
			if (snprintf(line, len,
			             HANDSHAKE_FAILED
			             "refused: %.380s (the VM's disks or NICs changed "
			             "since 'qremap incus enable'? run 'qremap incus "
			             "disable --project %s %s' and enable it again)",
			             plan->refusal, s->id.project, s->id.name) >= (int)len)
				log_debug("%s: status line cut at %zu bytes", s->label, len - 1);
		} else {
			snprintf(line, len, HANDSHAKE_FAILED "refused: %.400s", plan->refusal);
		}
		break;
	default:
		snprintf(line, len, HANDSHAKE_FAILED "%s: %.400s", remap_outcome_str(rep->outcome),
		         rep->error.msg);
	}
	return false;
}

/* Set up the status ringbuf; it may exist already if QEMU reconnected. */
static int make_status_chardev(struct qmp_client *c, struct qr_error *err)
{
	struct qr_error e = {0};

	if (qmp_executef(c, NULL, &e, "chardev-add", "{s:s, s:{s:s, s:{s:i}}}", "id",
	                 HANDSHAKE_CHARDEV, "backend", "type", "ringbuf", "data", "size",
	                 HANDSHAKE_RING_SIZE) == 0)
		return 0;
	if (e.kind == QR_ERR_QMP && strstr(e.msg, "already"))
		return 0;
	*err = e;
	return -1;
}

/*
 * With Incus: who the peer is, from Incus, before any QMP is read. The pid
 * file may lag the dial by a moment; wait for it, bounded, and give up early
 * if the peer hangs up or exits.
 */
static int identify_incus(struct session *s, struct qr_error *err)
{
	int64_t deadline = now_ms() + IDENTIFY_MS;

	for (;;) {
		struct pollfd p = {.fd = s->fd, .events = POLLRDHUP};
		int r = peer_identify_incus(cfg.incus, run_dirfd, &s->proc, &s->id, err);

		if (r <= 0)
			return r;
		if (now_ms() >= deadline)
			return qr_err_set(err, QR_ERR_TIMEOUT,
			                  "no Incus VM has pid %d (no pid file in %s names it "
			                  "within %d ms)",
			                  (int)s->proc.pid, cfg.run_dir, IDENTIFY_MS);
		if (poll(&p, 1, IDENTIFY_POLL_MS) > 0 || !proc_alive(&s->proc))
			return qr_err_set(err, QR_ERR_DISCONNECTED,
			                  "pid %d hung up or exited before it was identified",
			                  (int)s->proc.pid);
	}
}

/*
 * Without Incus: the uid was allowed at accept; the name QEMU reports must
 * be a valid instance name with a --profile-for.
 */
static int identify_local(struct session *s, struct qmp_client *c, struct qr_error *err)
{
	json_t *ret = NULL;
	const char *name;
	bool unused;
	int r = -1;

	if (qmp_handshake(c, IDENTIFY_MS, err) < 0 ||
	    qmp_execute(c, "query-name", NULL, &ret, err) < 0)
		return -1;
	name = json_string_value(json_object_get(ret, "name"));
	snprintf(s->id.project, sizeof(s->id.project), "default");
	if (!name)
		qr_err_set(err, QR_ERR_STATE, "QEMU has no -name");
	else if (names_check_instance(name, err) < 0)
		qr_err_prefix(err, "QEMU's -name");
	else if (!str_copy(s->id.name, sizeof(s->id.name), name) || !profile_for(s, &unused))
		qr_err_set(err, QR_ERR_STATE, "VM %s has no --profile-for: not served", name);
	else
		r = 0;
	json_decref(ret);
	return r;
}

/* One connection, from accept to hang-up. */
static void *session_main(void *arg)
{
	struct session *s = arg;
	_cleanup_qmp_ struct qmp_client *c = NULL;
	static const char *const only_reset[] = {"RESET", NULL};
	struct qr_error err = {0};
	char line[600], who[64], name[2 * PEER_NAME_MAX + 2];
	bool remapped = false;

	snprintf(who, sizeof(who), "pid %d (uid %u)", (int)s->proc.pid, (unsigned)s->proc.uid);
	if (cfg.incus[0] && identify_incus(s, &err) < 0) {
		warn_limited(&rl_refused, "%s: not served: %s", who, err.msg);
		goto out;
	}
	if (qmp_adopt_fd(s->fd, who, &c, &err) < 0) {
		log_error("%s: %s", who, err.msg);
		goto out;
	}
	s->fd = -1;
	qmp_set_max_message(c, MSG_MAX_UNIDENTIFIED);
	qmp_set_event_filter(c, only_reset);
	if (!cfg.incus[0] && identify_local(s, c, &err) < 0) {
		warn_limited(&rl_refused, "%s: not served: %s", who, err.msg);
		goto out;
	}
	peer_label(&s->id, name, sizeof(name));
	snprintf(s->label, sizeof(s->label), "vm %s", name);
	s->identified = true;
	leave_unidentified(s->proc.uid);
	qmp_set_max_message(c, MSG_MAX_IDENTIFIED);
	if (cfg.incus[0] && qmp_handshake(c, QMP_DEFAULT_TIMEOUT_MS, &err) < 0) {
		log_error("%s: %s", s->label, err.msg);
		goto out;
	}
	if (make_status_chardev(c, &err) < 0) {
		log_error("%s: cannot create the status ringbuf: %s", s->label, err.msg);
		goto out;
	}
	log_info("%s: connected (QEMU %d.%d.%d, pid %d, uid %u%s), waiting for pre-start", s->label,
	         qmp_get_version(c)->major, qmp_get_version(c)->minor, qmp_get_version(c)->micro,
	         (int)s->proc.pid, (unsigned)s->proc.uid,
	         s->exact ? "" : ", pid not pinned: kernel without SO_PEERPIDFD");

	for (;;) {
		json_t *ev = NULL;
		bool posted;

		if (qmp_wait_event(c, "RESET", NULL, NULL, IDLE_WAIT_MS, &ev, &err) < 0) {
			if (err.kind == QR_ERR_TIMEOUT)
				continue;
			break;
		}
		json_decref(ev);
		if (remapped)
			continue; /* Incus's own reset, or a guest reboot */
		busy_add(1);
		log_info("%s: pre-start signal, remapping", s->label);
		qmp_set_event_filter(c, NULL); /* the remap waits for DEVICE_DELETED */
		posted = run_remap(c, s, line, sizeof(line));
		qmp_set_event_filter(c, only_reset);
		/* resets the remap itself sent are not new signals */
		while ((ev = qmp_take_event(c, "RESET", NULL, NULL)))
			json_decref(ev);
		if (!posted)
			report_status(c, s, line);
		remapped = true;
		busy_add(-1);
	}
	log_info("%s: disconnected (%s)", s->label, err.msg);
out:
	session_end(s);
	return NULL;
}

/* Accept one connection, vet it, and start its thread; false: back off. */
static bool accept_one(int lfd)
{
	struct qr_error err = {0};
	struct session *s;
	pthread_attr_t attr;
	const char *why;
	pthread_t t;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), exact;

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			warn_limited(&rl_accept, "accept: %s; pausing %d ms", strerror(errno),
			             ACCEPT_BACKOFF_MS);
			return false;
		}
		return true;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return false;
	}
	s->fd = fd;
	exact = proc_open_socket_peer(fd, &s->proc, &err);
	if (exact < 0) {
		warn_limited(&rl_refused, "connection refused: %s", err.msg);
		goto refuse;
	}
	s->exact = exact;
	if (!uid_allowed(s->proc.uid)) {
		warn_limited(&rl_refused, "connection from pid %d refused: uid %u is %s",
		             (int)s->proc.pid, (unsigned)s->proc.uid,
		             cfg.incus[0] ? "neither root nor QEMU's" : "not on --allow-uid");
		goto refuse;
	}
	why = admit(s->proc.uid);
	if (why) {
		warn_limited(&rl_refused, "connection from pid %d (uid %u) refused: %s",
		             (int)s->proc.pid, (unsigned)s->proc.uid, why);
		goto refuse;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, session_main, s) != 0) {
		pthread_attr_destroy(&attr);
		warn_limited(&rl_refused, "pid %d: cannot start a thread; closed",
		             (int)s->proc.pid);
		session_end(s);
		return false;
	}
	pthread_attr_destroy(&attr);
	return true;
refuse:
	proc_close(&s->proc);
	close(fd);
	free(s);
	return true;
}

/* Listen on cfg.socket, reachable by QEMU running as nobody. */
static int listen_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)], *slash;
	int fd;

	if (strlen(cfg.socket) >= sizeof(sa.sun_path)) {
		log_error("socket path too long: %s", cfg.socket);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg.socket);
	snprintf(dir, sizeof(dir), "%s", cfg.socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0) {
			/* 0755 whatever the umask (the unit's is 0077): QEMU,
			 * as nobody, must reach the socket. Ours: the daemon's
			 * user may remove the socket at exit.
			 */
			if (chmod(dir, 0755) < 0)
				log_warn("chmod %s: %s", dir, strerror(errno));
			if (!cfg.run_as_root && lchown(dir, cfg.ids.uid, cfg.ids.gid) < 0)
				log_warn("chown %s: %s", dir, strerror(errno));
		} else if (errno != EEXIST) {
			log_error("mkdir %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	unlink(cfg.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		log_error("listening on %s: %s", cfg.socket, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Incus's QEMU reconnects as nobody: anyone may connect; who is
	 * served is decided per connection (accept_one(), session_main())
	 */
	if (chmod(cfg.socket, 0666) < 0) {
		log_error("chmod %s: %s", cfg.socket, strerror(errno));
		close(fd);
		return -1;
	}
	/* in a sticky directory only its owner may remove it at exit */
	if (!cfg.run_as_root && lchown(cfg.socket, cfg.ids.uid, cfg.ids.gid) < 0)
		log_warn("chown %s: %s", cfg.socket, strerror(errno));
	return fd;
}

/**
 * prepare_state_dir() - create or check the state directory, before the drop
 *
 * Created 0700, and it must be ours alone (another user's directory could
 * hold links to files we'd then overwrite): the daemon user's, or root's
 * (made by root, or by a qremapd that ran as root), which becomes the daemon
 * user's. Opened for good (state_dirfd) only after the drop, so that the
 * descriptor reaches the writable mount of the private namespace.
 *
 * Return: 0 on success, -1 (logged) on failure
 */
static int prepare_state_dir(void)
{
	uid_t uid = cfg.run_as_root ? 0 : cfg.ids.uid;
	struct stat st;
	int fd, r = -1;

	if (mkdir(cfg.state_dir, 0700) < 0 && errno != EEXIST) {
		log_error("state directory %s: %s", cfg.state_dir, strerror(errno));
		return -1;
	}
	fd = open(cfg.state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		log_error("state directory %s: %s", cfg.state_dir, strerror(errno));
	else if (st.st_uid != uid && st.st_uid != 0)
		log_error("state directory %s belongs to uid %u, not to qremapd (uid %u): "
		          "remove it or choose another (--state-dir)",
		          cfg.state_dir, (unsigned)st.st_uid, (unsigned)uid);
	else if (st.st_uid != uid && fchown(fd, uid, cfg.ids.gid) < 0)
		log_error("state directory %s: chown to uid %u: %s", cfg.state_dir, (unsigned)uid,
		          strerror(errno));
	else if ((st.st_mode & 077) && fchmod(fd, 0700) < 0)
		log_error("state directory %s: chmod 0700: %s", cfg.state_dir, strerror(errno));
	else
		r = 0;
	if (fd >= 0)
		close(fd);
	return r;
}

/* The directory of cfg.socket, into @buf ("." for a bare name). */
static void socket_dir(char *buf, size_t len)
{
	const char *slash = strrchr(cfg.socket, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == cfg.socket)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - cfg.socket), cfg.socket);
}

/**
 * parse_user() - --user: whose uid and gid qremapd takes in the drop
 * @spec:	"root", NAME, NAME:GROUP, UID:GID (numbers need no passwd entry)
 *
 * Return: 0, or -1 (logged) if a name is unknown or an id is 0 without
 *	   "root"
 */
static int parse_user(const char *spec)
{
	char name[256], *colon;
	unsigned long long v;
	struct passwd *pw;
	struct group *gr;

	if (!strcmp(spec, "root")) {
		cfg.run_as_root = true;
		return 0;
	}
	if (strlen(spec) >= sizeof(name))
		goto bad;
	str_copy(name, sizeof(name), spec);
	colon = strchr(name, ':');
	if (colon)
		*colon++ = '\0';
	if (parse_uint(name, 0xfffffffeULL, &v) == 0) {
		cfg.ids.uid = (uid_t)v;
		pw = getpwuid(cfg.ids.uid);
		if (!colon && !pw) {
			log_error("--user %s: no passwd entry for uid %s to take a gid from: "
			          "write UID:GID",
			          spec, name);
			return -1;
		}
		cfg.ids.gid = pw ? pw->pw_gid : 0;
	} else if ((pw = getpwnam(name))) {
		cfg.ids.uid = pw->pw_uid;
		cfg.ids.gid = pw->pw_gid;
	} else {
		log_error("--user: no user '%s'%s", name,
		          strcmp(name, DEFAULT_DAEMON_USER)
		                  ? ""
		                  : ": the package makes it (sysusers.d/qremap.conf); without "
		                    "the package, \"systemd-sysusers PREFIX/lib/sysusers.d/"
		                    "qremap.conf\" or \"adduser --system --group qremapd\"");
		return -1;
	}
	if (colon) {
		if (parse_uint(colon, 0xfffffffeULL, &v) == 0)
			cfg.ids.gid = (gid_t)v;
		else if ((gr = getgrnam(colon)))
			cfg.ids.gid = gr->gr_gid;
		else {
			log_error("--user %s: no group '%s'", spec, colon);
			return -1;
		}
	}
	if (cfg.ids.uid == 0 || cfg.ids.gid == 0) {
		log_error("--user %s: uid and gid 0 are root's; write \"--user root\" to stay "
		          "root",
		          spec);
		return -1;
	}
	return 0;
bad:
	log_error("--user: '%s' is too long", spec);
	return -1;
}

/**
 * incus_group() - add the group that may use Incus's API socket to cfg.ids
 *
 * The socket is 0660, root's, of the group incusd was started with
 * (--group; Debian's and Incus's packages: incus-admin). Taken from the
 * socket where it exists, else that group's name. Group root is kept if the
 * socket has it, with a warning: a file writable by group root is then
 * writable by qremapd.
 */
static void incus_group(void)
{
	struct group *gr;
	struct stat st;
	gid_t gid;

	if (cfg.run_as_root || !cfg.incus[0])
		return;
	if (stat(cfg.incus, &st) == 0) {
		gid = st.st_gid;
	} else {
		int stat_errno = errno; /* getgrnam() may change it */

		gr = getgrnam(INCUS_ADMIN_GROUP);
		if (!gr) {
			log_warn("%s: %s, and there is no group %s: qremapd (uid %u) reaches "
			         "Incus's API only if the socket lets it",
			         cfg.incus, strerror(stat_errno), INCUS_ADMIN_GROUP,
			         (unsigned)cfg.ids.uid);
			return;
		}
		gid = gr->gr_gid;
	}
	if (gid == 0)
		log_warn("Incus's API socket %s is group root's: qremapd keeps group root to "
		         "reach it (incusd --group incus-admin avoids that)",
		         cfg.incus);
	if (gid != cfg.ids.gid)
		cfg.ids.groups[cfg.ids.n_groups++] = gid;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: qremapd [--socket PATH] [--state-dir DIR] [--default-profile P]\n"
	        "               [--profile-for VM=P]... [--incus-socket PATH] [--qemu-user U]\n"
	        "               [--incus-run-dir DIR] [--allow-uid UID]... [--user U]\n"
	        "               [--no-seccomp] [-v] [-q] [--version]\n"
	        "\n"
	        "Listen for the client-mode QMP monitors of VMs (Incus raw.qemu.conf from\n"
	        "'qremap incus enable'), and remap each VM when its pre-start scriptlet\n"
	        "signals. A peer is served only once Incus vouches for it (qremapd(8)).\n"
	        "\n"
	        "  --socket PATH        listening socket (default %s)\n"
	        "  --state-dir DIR      per-VM results (default %s)\n"
	        "  --default-profile P  profile for Incus VMs with no other\n"
	        "  --profile-for VM=P   profile for one VM (NAME or PROJECT/NAME); without\n"
	        "                       Incus, only VMs named here are served\n"
	        "  --incus-socket PATH  Incus's API socket (default %s);\n"
	        "                       \"\" to run without Incus (needs --allow-uid)\n"
	        "  --qemu-user U        the user Incus runs QEMU as (default %s)\n"
	        "  --incus-run-dir DIR  Incus's run directory (default %s; $INCUS_DIR/run\n"
	        "                       where Incus runs with INCUS_DIR)\n"
	        "  --allow-uid UID      without Incus: serve peers with this uid (repeatable)\n"
	        "  --user U             run as U once set up: NAME[:GROUP], UID:GID, or root\n"
	        "                       (default %s)\n"
	        "  --no-seccomp         drop privileges but install no seccomp filter\n"
	        "  -v, -q               more / fewer messages\n"
	        "  --version            print the version\n",
	        DEFAULT_SOCKET, DEFAULT_STATE_DIR, INCUS_DEFAULT_SOCKET, DEFAULT_QEMU_USER,
	        PEER_RUN_DIR, DEFAULT_DAEMON_USER);
}

/* Parse the command line into cfg; returns -1 (exit 2), 0, or 1 (exit 0). */
static int parse_args(int argc, char **argv, bool *seccomp)
{
	static const struct option longopts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"state-dir", required_argument, NULL, 'S'},
	        {"default-profile", required_argument, NULL, 'd'},
	        {"profile-for", required_argument, NULL, 'p'},
	        {"no-seccomp", no_argument, NULL, 'N'},
	        {"incus-socket", required_argument, NULL, 'I'},
	        {"qemu-user", required_argument, NULL, 'U'},
	        {"incus-run-dir", required_argument, NULL, 'R'},
	        {"allow-uid", required_argument, NULL, 'a'},
	        {"user", required_argument, NULL, 'u'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *qemu_user = DEFAULT_QEMU_USER;
	struct qr_error err = {0};
	struct passwd *pw;
	int opt;

	while ((opt = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		unsigned long long v;
		char *eq, *slash;

		switch (opt) {
		case 's':
			cfg.socket = optarg;
			break;
		case 'S':
			cfg.state_dir = optarg;
			break;
		case 'd':
			cfg.def_profile = optarg;
			break;
		case 'p':
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1] || cfg.n_map >= MAX_MAP) {
				log_error("--profile-for: expected VM=PROFILE, got '%s'", optarg);
				return -1;
			}
			*eq = '\0';
			slash = strchr(optarg, '/');
			if (slash)
				*slash = '\0';
			if ((slash && names_check_project(optarg, &err) < 0) ||
			    names_check_instance(slash ? slash + 1 : optarg, &err) < 0) {
				log_error("--profile-for: %s", err.msg);
				return -1;
			}
			if (slash)
				*slash = '/';
			cfg.map_vm[cfg.n_map] = optarg;
			cfg.map_profile[cfg.n_map++] = eq + 1;
			break;
		case 'N':
			*seccomp = false;
			break;
		case 'I':
			cfg.incus = optarg;
			break;
		case 'U':
			qemu_user = optarg;
			break;
		case 'R':
			cfg.run_dir = optarg;
			break;
		case 'a':
			if (parse_uint(optarg, 0xfffffffeULL, &v) < 0 ||
			    cfg.n_allow >= MAX_ALLOW_UID) {
				log_error("--allow-uid: expected a uid (at most %d), got '%s'",
				          MAX_ALLOW_UID, optarg);
				return -1;
			}
			cfg.allow_uid[cfg.n_allow++] = (uid_t)v;
			break;
		case 'u':
			cfg.user = optarg;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_LVL_WARN);
			break;
		case 'V':
			printf("qremapd %s\n", QREMAP_VERSION);
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!cfg.incus[0] && !cfg.n_allow) {
		log_error("without Incus (--incus-socket \"\"), nothing vouches for a peer: say "
		          "whose connections to serve with --allow-uid");
		return -1;
	}
	if (!cfg.incus[0] && cfg.def_profile)
		log_warn("--default-profile is ignored without Incus: only --profile-for VMs "
		         "are served");
	pw = getpwnam(qemu_user);
	if (!pw && cfg.incus[0]) {
		log_error("--qemu-user: no user '%s'", qemu_user);
		return -1;
	}
	cfg.qemu_uid = pw ? pw->pw_uid : (uid_t)-1;
	if (parse_user(cfg.user) < 0)
		return -1;
	if (!cfg.run_as_root && cfg.ids.uid == cfg.qemu_uid) {
		log_error("--user %s: that is the user QEMU runs as, who could then ptrace "
		          "qremapd; give qremapd a user of its own",
		          cfg.user);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	const char *writable[3] = {NULL, NULL, NULL};
	struct privilege_opts popts = {.readonly_fs = true, .writable = writable};
	struct privilege_report priv;
	char sockdir[PATH_MAX];
	struct qr_error err = {0};
	int lfd, r;

	log_set_prefix("qremapd");
	log_set_level(LOG_LVL_INFO);
	popts.seccomp = true;
	r = parse_args(argc, argv, &popts.seccomp);
	if (r)
		return r < 0 ? 2 : 0;
	/* jansson and libcurl set up global state lazily; do it before any thread */
	json_object_seed(0);
	{
		struct qr_error e = {0};
		const struct curl_lib *cl = curl_lib(&e);

		if (!cl || cl->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_error("libcurl failed to initialise%s%s", e.msg[0] ? ": " : "", e.msg);
			return 1;
		}
	}
	(void)signal(SIGPIPE, SIG_IGN); /* fails only for an invalid signal */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (cfg.incus[0]) {
		/* fail early and clearly; opened for good after the drop */
		int fd = peer_open_run_dir(cfg.run_dir, &err);

		if (fd < 0) {
			log_error("%s (is Incus installed? --incus-socket \"\" runs without it)",
			          err.msg);
			return 1;
		}
		close(fd);
	}
	incus_group();
	if (cfg.run_as_root)
		log_warn("--user root: qremapd stays uid 0, so a compromised qremapd could write "
		         "root's files through other processes' /proc/PID/root");
	else
		popts.ids = &cfg.ids;
	if (prepare_state_dir() < 0)
		return 1;
	lfd = listen_socket();
	if (lfd < 0)
		return 1;
	log_info("listening on %s (%s)", cfg.socket,
	         cfg.incus[0] ? "VMs identified by Incus" : "without Incus: --allow-uid peers");
	/* Start-up is over, and no thread exists yet: each VM's thread
	 * inherits the reduced privileges and the filter. Writable from now
	 * on: the socket's directory (to remove the socket at exit) and the
	 * state directory; everything else is read-only.
	 */
	socket_dir(sockdir, sizeof(sockdir));
	writable[0] = sockdir;
	writable[1] = cfg.state_dir;
	if (privilege_drop(&popts, &priv, &err) < 0) {
		log_error("dropping privileges: %s", err.msg);
		close(lfd);
		unlink(cfg.socket);
		return 1;
	}
	state_dirfd = open(cfg.state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (state_dirfd < 0)
		log_error("state directory %s: %s; results won't be kept", cfg.state_dir,
		          strerror(errno));
	if (cfg.incus[0]) {
		run_dirfd = peer_open_run_dir(cfg.run_dir, &err);
		if (run_dirfd < 0) {
			log_error("%s", err.msg);
			close(lfd);
			unlink(cfg.socket);
			return 1;
		}
	}
	privilege_log("qremapd", &priv);

	while (!got_term) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if ((p.revents & POLLIN) && !accept_one(lfd))
			poll(NULL, 0, ACCEPT_BACKOFF_MS);
	}

	/* stop taking VMs; let remaps in progress finish, bounded */
	close(lfd);
	unlink(cfg.socket);
	pthread_mutex_lock(&lock);
	if (busy) {
		struct timespec until;

		log_info("stopping: waiting for %u remap(s) in progress", busy);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SHUTDOWN_WAIT_MS / 1000;
		while (busy && pthread_cond_timedwait(&busy_cond, &lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&lock);
	log_info("stopped");
	return 0;
}
