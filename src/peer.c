// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - peer.c: which Incus VM is at the other end of a connection to
 * qremapd (see peer.h for the sources of truth and why these)
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qremap/incus.h"
#include "qremap/names.h"
#include "qremap/peer.h"
#include "qremap/util.h"

#define PIDFILE     "qemu.pid"
#define CMDLINE_MAX ((size_t)64 * 1024)

/* Owned by root and writable by nobody else: only root (Incus, QEMU before
 * its privilege drop) can have put it there.
 */
static bool root_only(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/**
 * peer_open_run_dir() - open Incus's run directory for identification
 * @path:	PEER_RUN_DIR, or another for tests
 * @err:	error object
 *
 * Return: a directory descriptor, -1 if it isn't there or isn't root's
 */
int peer_open_run_dir(const char *path, struct qr_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return qr_err_sys(err, errno, "Incus's run directory %s", path);
	if (fstat(fd, &st) < 0)
		return qr_err_sys(err, errno, "Incus's run directory %s", path);
	if (!root_only(&st))
		return qr_err_set(err, QR_ERR_STATE,
		                  "Incus's run directory %s is not root's alone (owner %u, mode "
		                  "%o): it can't vouch for a VM",
		                  path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return steal_fd(&fd);
}

/**
 * read_pidfile() - the pid in <run dir>/@entry/qemu.pid, if it can be trusted
 * @run_dirfd:	Incus's run directory
 * @entry:	an instance's directory name
 * @pid:	result
 * @mtime:	the file's modification time
 *
 * Return: 0 if read, -1 if absent, not root's alone, or not a pid
 */
static int read_pidfile(int run_dirfd, const char *entry, pid_t *pid, struct timespec *mtime)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	unsigned long long v;
	struct stat st;
	char buf[32];
	ssize_t n;

	dfd = openat(run_dirfd, entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0 || !root_only(&st))
		return -1;
	fd = openat(dfd, PIDFILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !root_only(&st) ||
	    st.st_size <= 0 || st.st_size >= (off_t)sizeof(buf))
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_uint(buf, 0x7fffffff, &v) < 0 || !v)
		return -1;
	*pid = (pid_t)v;
	*mtime = st.st_mtim;
	return 0;
}

/*
 * Find the run directory whose pid file names @pid. 1 found (name in @out),
 * 0 not (yet) there, -1 on error.
 */
static int find_rundir(int run_dirfd, pid_t want, char *out, size_t len, struct timespec *mtime,
                       struct qr_error *err)
{
	int fd = fcntl(run_dirfd, F_DUPFD_CLOEXEC, 0);
	struct dirent *de;
	unsigned seen = 0;
	int found = 0;
	DIR *d;

	if (fd < 0)
		return qr_err_sys(err, errno, "Incus's run directory");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return qr_err_sys(err, errno, "Incus's run directory");
	}
	rewinddir(d);
	while (!found && (de = readdir(d)) && seen++ < PEER_MAX_RUN_ENTRIES) {
		pid_t pid;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if (read_pidfile(run_dirfd, de->d_name, &pid, mtime) < 0 || pid != want)
			continue;
		if (!str_copy(out, len, de->d_name))
			continue;
		found = 1;
	}
	closedir(d);
	return found;
}

/*
 * Split a run directory name into project and instance: "<project>_<name>",
 * or "<name>" in the default project (project.Instance() in Incus). Instance
 * names can't hold '_', so the last one separates.
 */
static int split_rundir(const char *dir, struct peer_id *id, struct qr_error *err)
{
	const char *us = strrchr(dir, '_');

	if (!us) {
		snprintf(id->project, sizeof(id->project), "default");
		if (!str_copy(id->name, sizeof(id->name), dir))
			return qr_err_set(err, QR_ERR_STATE, "run directory name too long");
	} else {
		if ((size_t)(us - dir) >= sizeof(id->project) ||
		    !str_copy(id->name, sizeof(id->name), us + 1))
			return qr_err_set(err, QR_ERR_STATE, "run directory name too long");
		memcpy(id->project, dir, (size_t)(us - dir));
		id->project[us - dir] = '\0';
	}
	if (names_check_project(id->project, err) < 0 || names_check_instance(id->name, err) < 0)
		return qr_err_prefix(err, "Incus run directory %.100s", dir);
	return 0;
}

/* Whether the NUL-separated @cmdline has "-uuid" followed by @uuid. */
static bool cmdline_has_uuid(const char *cmdline, size_t len, const char *uuid)
{
	const char *prev = NULL;

	for (size_t off = 0; off < len;) {
		const char *arg = cmdline + off;

		if (prev && !strcmp(prev, "-uuid") && !strcmp(arg, uuid))
			return true;
		prev = arg;
		off += strlen(arg) + 1;
	}
	return false;
}

/* The process started no later than @mtime (+ slack): not a pid successor. */
static int check_started_before(const struct qr_proc *p, const struct timespec *mtime,
                                struct qr_error *err)
{
	struct timespec real, boot;
	long long start_ms, file_ms;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ticks;

	if (proc_start_ticks(p, &ticks, err) < 0)
		return -1;
	if (hz <= 0 || clock_gettime(CLOCK_REALTIME, &real) < 0 ||
	    clock_gettime(CLOCK_BOOTTIME, &boot) < 0)
		return qr_err_sys(err, errno ? errno : EINVAL, "clock");
	start_ms = (long long)real.tv_sec * 1000 + real.tv_nsec / 1000000 -
	           ((long long)boot.tv_sec * 1000 + boot.tv_nsec / 1000000) +
	           (long long)(ticks * 1000 / (uint64_t)hz);
	file_ms = (long long)mtime->tv_sec * 1000 + mtime->tv_nsec / 1000000;
	if (start_ms > file_ms + PEER_START_SLACK_MS)
		return qr_err_set(err, QR_ERR_STATE,
		                  "pid %d started %lld ms after its Incus pid file was written: "
		                  "it took over the pid of a QEMU that is gone",
		                  (int)p->pid, start_ms - file_ms);
	return 0;
}

/* Ask Incus for the instance; fill @id->uuid and @id->profile. */
static int ask_incus(const char *socket, struct peer_id *id, struct qr_error *err)
{
	json_t *inst = NULL, *conf;
	const char *type, *uuid, *prof;
	char path[512];
	int r = -1;

	if (incus_path(path, sizeof(path), id->project, NULL, err, "instances", id->name, NULL) <
	            0 ||
	    incus_request(socket, "GET", path, NULL, NULL, &inst, NULL, 0, err) < 0)
		return -1;
	type = json_string_value(json_object_get(inst, "type"));
	conf = json_object_get(inst, "config");
	uuid = json_string_value(json_object_get(conf, "volatile.uuid"));
	prof = json_string_value(
	        json_object_get(json_object_get(inst, "expanded_config"), INCUS_KEY_PROFILE));
	if (!type || strcmp(type, "virtual-machine"))
		qr_err_set(err, QR_ERR_STATE, "Incus instance %s/%s is a %s, not a VM", id->project,
		           id->name, type ? type : "?");
	else if (!uuid || !str_copy(id->uuid, sizeof(id->uuid), uuid))
		qr_err_set(err, QR_ERR_STATE, "Incus instance %s/%s has no volatile.uuid",
		           id->project, id->name);
	else if (!str_copy(id->profile, sizeof(id->profile), str_or(prof, "")))
		qr_err_set(err, QR_ERR_INVALID, "instance %s/%s: %s is too long", id->project,
		           id->name, INCUS_KEY_PROFILE);
	else
		r = 0;
	json_decref(inst);
	return r;
}

/**
 * peer_identify_incus() - which Incus VM the process @p is (see peer.h)
 * @incus_socket:	Incus's API socket
 * @run_dirfd:		Incus's run directory (peer_open_run_dir())
 * @p:			the peer, held by pidfd
 * @id:			result
 * @err:		error object
 *
 * Return: 0 if identified, 1 if no Incus pid file names it (yet: QEMU may
 *	   not have written it), -1 if it is not that VM or Incus can't say
 */
int peer_identify_incus(const char *incus_socket, int run_dirfd, const struct qr_proc *p,
                        struct peer_id *id, struct qr_error *err)
{
	_cleanup_free_ char *cmdline = NULL;
	struct timespec mtime;
	size_t len;
	int r;

	memset(id, 0, sizeof(*id));
	r = find_rundir(run_dirfd, p->pid, id->rundir, sizeof(id->rundir), &mtime, err);
	if (r <= 0)
		return r < 0 ? -1 : 1;
	if (split_rundir(id->rundir, id, err) < 0 || ask_incus(incus_socket, id, err) < 0)
		return -1;
	cmdline = malloc(CMDLINE_MAX);
	if (!cmdline)
		return qr_err_sys(err, ENOMEM, "command line of pid %d", (int)p->pid);
	if (proc_read_file(p, "cmdline", cmdline, CMDLINE_MAX, &len, err) < 0)
		return -1;
	if (!cmdline_has_uuid(cmdline, len, id->uuid))
		return qr_err_set(err, QR_ERR_STATE,
		                  "pid %d is in the pid file of Incus VM %s/%s but does not run "
		                  "with its uuid",
		                  (int)p->pid, id->project, id->name);
	if (check_started_before(p, &mtime, err) < 0)
		return -1;
	if (!proc_alive(p))
		return qr_err_sys(err, ESRCH, "pid %d exited while being identified", (int)p->pid);
	return 0;
}

/**
 * peer_recheck_incus() - is @p still the VM @id (before a remap touches taps)
 * @run_dirfd:	Incus's run directory
 * @p:		the peer
 * @id:		what it was identified as
 * @err:	error object
 *
 * Return: 0 if it still is, -1 if not
 */
int peer_recheck_incus(int run_dirfd, const struct qr_proc *p, const struct peer_id *id,
                       struct qr_error *err)
{
	struct timespec mtime;
	pid_t pid;

	if (!proc_alive(p))
		return qr_err_sys(err, ESRCH, "QEMU (pid %d) has exited", (int)p->pid);
	if (read_pidfile(run_dirfd, id->rundir, &pid, &mtime) < 0 || pid != p->pid)
		return qr_err_set(err, QR_ERR_STATE,
		                  "Incus's pid file for %s/%s no longer names pid %d", id->project,
		                  id->name, (int)p->pid);
	return 0;
}

/**
 * peer_label() - "NAME" in the default project, else "PROJECT/NAME"
 * @id:		identity
 * @buf:	result
 * @len:	size of @buf
 */
void peer_label(const struct peer_id *id, char *buf, size_t len)
{
	if (!strcmp(id->project, "default"))
		snprintf(buf, len, "%s", id->name);
	else
		snprintf(buf, len, "%s/%s", id->project, id->name);
}
