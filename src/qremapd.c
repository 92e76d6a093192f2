// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - qremapd.c: the daemon Incus VMs reach through a client-mode
 * monitor, which remaps each VM at its pre-start stage
 *
 * Each VM's QEMU dials the daemon's socket when it starts (chardev socket,
 * server=off, reconnect-ms). The daemon identifies the peer (SO_PEERCRED
 * pid, which must be a QEMU binary; query-name), keeps the monitor, and runs
 * the handshake of handshake.h: on the first RESET it didn't cause itself,
 * it remaps with the VM's profile and writes the outcome to the VM's
 * status ringbuf, where Incus's pre-start scriptlet waits for it.
 *
 * One thread per VM: a VM whose QEMU hangs blocks only its own thread (and
 * only up to the profile's QMP timeout), never another VM's remap.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "qremap/handshake.h"
#include "qremap/incus.h"
#include "qremap/inventory.h"
#include "qremap/log.h"
#include "qremap/plan.h"
#include "qremap/privilege.h"
#include "qremap/profile.h"
#include "qremap/qmp.h"
#include "qremap/remap.h"

#define DEFAULT_SOCKET    "/run/qremap/qremap.sock"
#define DEFAULT_STATE_DIR "/run/qremap/state"
#define MAX_MAP           64
#define IDLE_WAIT_MS      3600000 /* re-check the connection hourly while idle */
#define SHUTDOWN_WAIT_MS  10000

/**
 * struct daemon_cfg - command-line configuration, read-only once threads run
 * @socket:	listening socket path
 * @state_dir:	where per-VM results are written (NAME.json)
 * @def_profile: profile for VMs with no mapping, or NULL
 * @map_vm:	VM names with a profile of their own
 * @map_profile: their profiles
 * @n_map:	number of mappings
 * @any_peer:	accept peers whose executable isn't qemu-system-* (tests)
 * @incus:	Incus's socket, for user.qremap.profile ("" to not ask Incus)
 */
struct daemon_cfg {
	const char *socket;
	const char *state_dir;
	const char *def_profile;
	const char *map_vm[MAX_MAP];
	const char *map_profile[MAX_MAP];
	size_t n_map;
	bool any_peer;
	const char *incus;
};

static struct daemon_cfg cfg = {
        .socket = DEFAULT_SOCKET, .state_dir = DEFAULT_STATE_DIR, .incus = INCUS_DEFAULT_SOCKET};
static volatile sig_atomic_t got_term;
static pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t busy_cond = PTHREAD_COND_INITIALIZER;
static unsigned busy; /* remaps in progress, for a clean shutdown */

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/**
 * struct session - one VM's connection
 * @fd:		accepted socket
 * @pid:	QEMU's pid (SO_PEERCRED)
 * @uid:	its uid (0 at launch, 65534 after Incus drops privileges)
 */
struct session {
	int fd;
	pid_t pid;
	uid_t uid;
};

/* Whether @pid runs a qemu-system-* binary. */
static bool is_qemu(pid_t pid)
{
	char path[64], exe[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return str_has_prefix(base, "qemu-system-");
}

/*
 * The profile for VM @name, into @buf: --profile-for, else the instance's
 * user.qremap.profile in Incus (written by "qremap incus enable"), else
 * --default-profile. NULL if none.
 */
static const char *profile_for(const char *name, char *buf, size_t len)
{
	struct qr_error err = {0};
	json_t *inst = NULL;
	char path[512];

	for (size_t i = 0; i < cfg.n_map; i++)
		if (!strcmp(cfg.map_vm[i], name))
			return cfg.map_profile[i];
	if (cfg.incus[0] && access(cfg.incus, F_OK) == 0) {
		snprintf(path, sizeof(path), "/1.0/instances/%s", name);
		if (incus_request(cfg.incus, "GET", path, NULL, NULL, &inst, NULL, 0, &err) == 0) {
			const char *p = json_string_value(json_object_get(
			        json_object_get(inst, "config"), INCUS_KEY_PROFILE));

			if (p && p[0]) {
				snprintf(buf, len, "%s", p);
				json_decref(inst);
				return buf;
			}
			json_decref(inst);
		} else {
			log_debug("vm %s: no profile from Incus: %s", name, err.msg);
		}
	}
	return cfg.def_profile;
}

/* Tell the scriptlet: one line in the status ringbuf. */
static void report_status(struct qmp_client *c, const char *name, const char *line)
{
	struct qr_error err = {0};
	char buf[640];

	snprintf(buf, sizeof(buf), "%s\n", line);
	if (qmp_executef(c, NULL, &err, "ringbuf-write", "{s:s, s:s, s:s}", "device",
	                 HANDSHAKE_CHARDEV, "data", buf, "format", "utf8") < 0)
		log_error("vm %s: could not post the result: %s", name, err.msg);
}

/* Keep the last result where 'qremap incus status' finds it. */
static void save_state(const char *name, json_t *j)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];

	if (mkdir(cfg.state_dir, 0755) < 0 && errno != EEXIST)
		return;
	snprintf(path, sizeof(path), "%s/%s.json", cfg.state_dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0)
		return;
	unlink(tmp);
}

/* The remap itself; returns the status line for the scriptlet in @line. */
static void run_remap(struct qmp_client *c, const char *name, pid_t pid, char *line, size_t len)
{
	char pbuf[256];
	const char *pname = profile_for(name, pbuf, sizeof(pbuf));
	struct inventory_opts iopts = {.pid = pid};
	char label[300];
	struct remap_opts ropts = {.pid = pid, .quit_on_unsafe = true, .label = label};
	struct qr_error err = {0};
	struct remap_report rep;
	struct vm_inventory inv;
	struct profile prof;
	struct plan plan;
	char path[PATH_MAX];
	json_t *j;

	snprintf(label, sizeof(label), "vm %s", name);
	if (!pname) {
		snprintf(line, len,
		         HANDSHAKE_FAILED "no profile for VM %.200s (qremapd --profile-for "
		                          "%.200s=PROFILE, or --default-profile)",
		         name, name);
		return;
	}
	if (profile_resolve(pname, path, sizeof(path), &err) < 0 ||
	    profile_load_file(path, &prof, &err) < 0) {
		snprintf(line, len, HANDSHAKE_FAILED "%.500s", err.msg);
		return;
	}
	if (inventory_collect(c, &iopts, &inv, &err) < 0) {
		inventory_free(&inv);
		snprintf(line, len, HANDSHAKE_FAILED "inspecting the VM: %.500s", err.msg);
		return;
	}
	if (plan_build(&inv, &prof, &plan, &err) < 0) {
		inventory_free(&inv);
		plan_free(&plan);
		snprintf(line, len, HANDSHAKE_FAILED "planning: %.500s", err.msg);
		return;
	}
	inventory_free(&inv);
	remap_apply(c, &plan, &ropts, &rep);
	j = remap_report_to_json(&rep, &plan);
	json_object_set_new(j, "vm", json_string(name));
	json_object_set_new(j, "profile", json_string(prof.name));
	save_state(name, j);
	json_decref(j);
	switch (rep.outcome) {
	case REMAP_DONE:
		snprintf(line, len, HANDSHAKE_DONE " (%zu NICs, %zu disks, %.1f ms)", plan.n_nics,
		         plan.n_disks, rep.total_ms);
		break;
	case REMAP_NOTHING:
		snprintf(line, len, HANDSHAKE_NOTHING);
		break;
	case REMAP_REFUSED:
		snprintf(line, len, HANDSHAKE_FAILED "refused: %.400s", plan.refusal);
		break;
	default:
		snprintf(line, len, HANDSHAKE_FAILED "%s: %.400s", remap_outcome_str(rep.outcome),
		         rep.error.msg);
	}
	remap_report_free(&rep);
	plan_free(&plan);
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

/* One VM, from connection to disconnection. */
static void *session_main(void *arg)
{
	struct session s = *(struct session *)arg;
	_cleanup_(qmp_closep) struct qmp_client *c = NULL;
	struct qr_error err = {0};
	char label[64], name[256] = "?", line[600];
	json_t *ret = NULL;
	bool remapped = false;

	free(arg);
	snprintf(label, sizeof(label), "QEMU pid %d", (int)s.pid);
	if (qmp_adopt_fd(s.fd, label, &c, &err) < 0) {
		log_error("%s: %s", label, err.msg);
		return NULL;
	}
	if (qmp_handshake(c, QMP_DEFAULT_TIMEOUT_MS, &err) < 0 ||
	    qmp_execute(c, "query-name", NULL, &ret, &err) < 0) {
		log_error("%s: %s", label, err.msg);
		return NULL;
	}
	snprintf(name, sizeof(name), "%s",
	         str_or(json_string_value(json_object_get(ret, "name")), label));
	json_decref(ret);
	if (make_status_chardev(c, &err) < 0) {
		log_error("vm %s: cannot create the status ringbuf: %s", name, err.msg);
		return NULL;
	}
	log_info("vm %s: connected (QEMU %d.%d.%d, pid %d, uid %u), waiting for pre-start", name,
	         qmp_get_version(c)->major, qmp_get_version(c)->minor, qmp_get_version(c)->micro,
	         (int)s.pid, (unsigned)s.uid);

	for (;;) {
		json_t *ev = NULL;

		if (qmp_wait_event(c, "RESET", NULL, NULL, IDLE_WAIT_MS, &ev, &err) < 0) {
			if (err.kind == QR_ERR_TIMEOUT)
				continue;
			break;
		}
		json_decref(ev);
		if (remapped)
			continue; /* Incus's own reset, or a guest reboot */
		pthread_mutex_lock(&busy_lock);
		busy++;
		pthread_mutex_unlock(&busy_lock);
		log_info("vm %s: pre-start signal, remapping", name);
		run_remap(c, name, s.pid, line, sizeof(line));
		/* resets the remap itself sent are not new signals */
		while ((ev = qmp_take_event(c, "RESET", NULL, NULL)))
			json_decref(ev);
		report_status(c, name, line);
		log_info("vm %s: %s", name, line);
		remapped = true;
		pthread_mutex_lock(&busy_lock);
		busy--;
		pthread_cond_broadcast(&busy_cond);
		pthread_mutex_unlock(&busy_lock);
	}
	log_info("vm %s: disconnected (%s)", name, err.msg);
	return NULL;
}

/* Accept one connection and start its thread. */
static void accept_one(int lfd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct session *s;
	pthread_attr_t attr;
	pthread_t t;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		log_warn("connection without peer credentials: %s; closed", strerror(errno));
		close(fd);
		return;
	}
	if (!cfg.any_peer && !is_qemu(cred.pid)) {
		log_warn("connection from pid %d (uid %u), which is not a QEMU process; closed",
		         (int)cred.pid, (unsigned)cred.uid);
		close(fd);
		return;
	}
	s = malloc(sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	*s = (struct session){.fd = fd, .pid = cred.pid, .uid = cred.uid};
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, session_main, s) != 0) {
		log_error("pid %d: cannot start a thread; closed", (int)cred.pid);
		close(fd);
		free(s);
	}
	pthread_attr_destroy(&attr);
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
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
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
	/* Incus's QEMU reconnects as nobody; peers are vetted in accept_one() */
	chmod(cfg.socket, 0666);
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: qremapd [--socket PATH] [--state-dir DIR] [--default-profile P]\n"
	        "               [--profile-for VM=P]... [--no-seccomp] [-v] [-q]\n"
	        "\n"
	        "Listen for the client-mode QMP monitors of VMs (Incus raw.qemu.conf from\n"
	        "'qremap config --client-monitor'), and remap each VM when its pre-start\n"
	        "scriptlet signals (see 'qremap incus scriptlet').\n"
	        "\n"
	        "  --socket PATH        listening socket (default %s)\n"
	        "  --state-dir DIR      per-VM results, NAME.json (default %s)\n"
	        "  --default-profile P  profile for VMs with no --profile-for\n"
	        "  --profile-for VM=P   profile for one VM (by its QEMU -name)\n"
	        "  --incus-socket PATH  ask Incus for a VM's user.qremap.profile (default\n"
	        "                       %s; \"\" to not ask)\n"
	        "  --any-peer           accept peers that aren't qemu-system-* (tests only)\n"
	        "  --no-seccomp         drop capabilities but install no seccomp filter\n"
	        "  -v, -q               more / fewer messages\n",
	        DEFAULT_SOCKET, DEFAULT_STATE_DIR, INCUS_DEFAULT_SOCKET);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"socket", required_argument, NULL, 's'},
	        {"state-dir", required_argument, NULL, 'S'},
	        {"default-profile", required_argument, NULL, 'd'},
	        {"profile-for", required_argument, NULL, 'p'},
	        {"any-peer", no_argument, NULL, 'A'},
	        {"no-seccomp", no_argument, NULL, 'N'},
	        {"incus-socket", required_argument, NULL, 'I'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct sigaction sa = {.sa_handler = on_term};
	struct privilege_report priv;
	struct qr_error err = {0};
	bool seccomp = true;
	int opt, lfd;

	log_set_prefix("qremapd");
	log_set_level(LOG_LVL_INFO);
	while ((opt = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		char *eq;

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
				return 2;
			}
			*eq = '\0';
			cfg.map_vm[cfg.n_map] = optarg;
			cfg.map_profile[cfg.n_map++] = eq + 1;
			break;
		case 'A':
			cfg.any_peer = true;
			break;
		case 'N':
			seccomp = false;
			break;
		case 'I':
			cfg.incus = optarg;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_LVL_WARN);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	/* jansson and libcurl set up global state lazily; do it before any thread */
	json_object_seed(0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	(void)signal(SIGPIPE, SIG_IGN); /* fails only for an invalid signal */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	lfd = listen_socket();
	if (lfd < 0)
		return 1;
	log_info("listening on %s", cfg.socket);
	/* Start-up is over, and no thread exists yet: each VM's thread
	 * inherits the reduced capabilities and the filter.
	 */
	if (privilege_drop(seccomp, &priv, &err) < 0) {
		log_error("dropping privileges: %s", err.msg);
		close(lfd);
		unlink(cfg.socket);
		return 1;
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
		if (p.revents & POLLIN)
			accept_one(lfd);
	}

	/* stop taking VMs; let remaps in progress finish, bounded */
	close(lfd);
	unlink(cfg.socket);
	pthread_mutex_lock(&busy_lock);
	if (busy) {
		struct timespec until;

		log_info("stopping: waiting for %u remap(s) in progress", busy);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SHUTDOWN_WAIT_MS / 1000;
		while (busy && pthread_cond_timedwait(&busy_cond, &busy_lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&busy_lock);
	log_info("stopped");
	return 0;
}
