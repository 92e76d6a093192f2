// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - proc.c: a handle on one process that survives pid reuse (see
 * proc.h for why every /proc access goes through it)
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "qremap/proc.h"
#include "qremap/util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
/* SO_PEERPIDFD, Linux 6.5 (include/uapi/asm-generic/socket.h); older
 * headers lack it
 */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/**
 * proc_alive() - whether the process behind @p has not exited
 * @p:		process
 *
 * A pidfd polls readable once its process has exited (pidfd_open(2)); a
 * process that exited but isn't reaped yet counts as gone too.
 *
 * Return: true if it is still running
 */
bool proc_alive(const struct qr_proc *p)
{
	struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};

	if (p->pidfd < 0)
		return false;
	while (poll(&pfd, 1, 0) < 0)
		if (errno != EINTR)
			return false;
	return !(pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL));
}

/* Open /proc/PID for @p (pidfd already set), then check it is still alive. */
static int open_dir(struct qr_proc *p, struct qr_error *err)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", (int)p->pid);
	p->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0)
		return qr_err_sys(err, errno, "cannot open %s", path);
	/* Alive after the open: the directory is this process's, not a
	 * successor's with the same number.
	 */
	if (!proc_alive(p))
		return qr_err_sys(err, ESRCH, "process %d exited", (int)p->pid);
	return 0;
}

/* The real uid from /proc/PID/status, through the handle. */
static int read_uid(struct qr_proc *p, struct qr_error *err)
{
	char buf[4096], *line;
	unsigned long long v;
	size_t got;

	if (proc_read_file(p, "status", buf, sizeof(buf), &got, err) < 0)
		return -1;
	line = strstr(buf, "\nUid:\t");
	if (!line)
		return qr_err_set(err, QR_ERR_PARSE, "process %d: no Uid in its status",
		                  (int)p->pid);
	line += 6;
	line[strcspn(line, "\t\n")] = '\0';
	if (parse_uint(line, 0xfffffffeULL, &v) < 0)
		return qr_err_set(err, QR_ERR_PARSE, "process %d: bad Uid '%s'", (int)p->pid, line);
	p->uid = (uid_t)v;
	return 0;
}

/**
 * proc_open_pid() - a handle on process @pid as it is now
 * @pid:	process id
 * @p:		result; close with proc_close(), also after a failure
 * @err:	error object
 *
 * Only as good as @pid: if it was already reused before this call, the
 * handle is on the successor. Callers with a socket use
 * proc_open_socket_peer() instead.
 *
 * Return: 0 on success, -1 on failure
 */
int proc_open_pid(pid_t pid, struct qr_proc *p, struct qr_error *err)
{
	*p = (struct qr_proc)QR_PROC_INIT;
	if (pid <= 0)
		return qr_err_set(err, QR_ERR_INVALID, "no process id");
	p->pid = pid;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0)
		return qr_err_sys(err, errno, "pidfd_open(%d)", (int)pid);
	if (open_dir(p, err) < 0 || read_uid(p, err) < 0)
		return -1;
	return 0;
}

/**
 * proc_open_socket_peer() - a handle on the process that connected @sock
 * @sock:	connected unix socket
 * @p:		result; @p->uid is the uid at connect() time (SO_PEERCRED);
 *		close with proc_close(), also after a failure
 * @err:	error object
 *
 * SO_PEERPIDFD (Linux >= 6.5) gives a pidfd of the very process that
 * connected, or fails if it is gone: no window for pid reuse. On older
 * kernels the SO_PEERCRED pid is opened with pidfd_open(), which is only
 * safe if the peer hasn't exited between connect() and now; qremapd
 * (docs/qremapd.8) says which one it runs with.
 *
 * Return: 1 if SO_PEERPIDFD was used, 0 for the pidfd_open() fallback, -1
 *	   on failure
 */
int proc_open_socket_peer(int sock, struct qr_proc *p, struct qr_error *err)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int pidfd = -1, exact = 1;

	*p = (struct qr_proc)QR_PROC_INIT;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return qr_err_sys(err, errno, "SO_PEERCRED");
	if (cred.pid <= 0)
		return qr_err_set(err, QR_ERR_STATE, "the peer has no pid (another namespace?)");
	p->pid = cred.pid;
	p->uid = cred.uid;
	len = sizeof(pidfd);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
		if (errno != ENOPROTOOPT && errno != EINVAL)
			return qr_err_sys(err, errno, "SO_PEERPIDFD of pid %d", (int)cred.pid);
		exact = 0;
		pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
		if (pidfd < 0)
			return qr_err_sys(err, errno, "pidfd_open(%d)", (int)cred.pid);
	}
	p->pidfd = pidfd;
	if (open_dir(p, err) < 0)
		return -1;
	return exact;
}

/**
 * proc_openat() - open a file below the process's /proc/PID directory
 * @p:		process
 * @rel:	relative path ("fdinfo/7", "fdinfo", "ns/net")
 * @flags:	open flags; O_CLOEXEC and O_NOFOLLOW are added
 * @err:	error object
 *
 * Return: the descriptor, -1 on failure
 */
int proc_openat(const struct qr_proc *p, const char *rel, int flags, struct qr_error *err)
{
	int fd;

	if (p->dirfd < 0)
		return qr_err_set(err, QR_ERR_STATE, "no /proc handle for process %d", (int)p->pid);
	fd = openat(p->dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return qr_err_sys(err, errno, "cannot open /proc/%d/%s", (int)p->pid, rel);
	return fd;
}

/**
 * proc_read_file() - read a small /proc/PID file whole
 * @p:		process
 * @rel:	relative path ("status", "cmdline")
 * @buf:	result, NUL-terminated (contents may hold more NULs: cmdline)
 * @len:	size of @buf; longer files are cut at @len - 1 bytes
 * @got:	bytes read, or NULL
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int proc_read_file(const struct qr_proc *p, const char *rel, char *buf, size_t len, size_t *got,
                   struct qr_error *err)
{
	_cleanup_close_ int fd = proc_openat(p, rel, O_RDONLY, err);
	size_t n = 0;

	if (fd < 0)
		return -1;
	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return qr_err_sys(err, errno, "cannot read /proc/%d/%s", (int)p->pid, rel);
		if (!r)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (got)
		*got = n;
	return 0;
}

/**
 * proc_start_ticks() - when the process started, in clock ticks since boot
 * @p:		process
 * @ticks:	field 22 of /proc/PID/stat (proc_pid_stat(5))
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int proc_start_ticks(const struct qr_proc *p, uint64_t *ticks, struct qr_error *err)
{
	char buf[1024], *s, *save = NULL, *tok;
	unsigned long long v;
	int field = 2;

	if (proc_read_file(p, "stat", buf, sizeof(buf), NULL, err) < 0)
		return -1;
	/* comm (field 2) may hold spaces and parentheses: skip to its last ')' */
	s = strrchr(buf, ')');
	if (!s)
		return qr_err_set(err, QR_ERR_PARSE, "/proc/%d/stat: no ')'", (int)p->pid);
	for (tok = strtok_r(s + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (++field == 22)
			break;
	if (!tok || parse_uint(tok, UINT64_MAX, &v) < 0)
		return qr_err_set(err, QR_ERR_PARSE, "/proc/%d/stat: no start time", (int)p->pid);
	*ticks = v;
	return 0;
}

/**
 * proc_close() - release a handle (safe on an initialised or failed one)
 * @p:		process
 */
void proc_close(struct qr_proc *p)
{
	if (p->dirfd >= 0)
		close(p->dirfd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->dirfd = p->pidfd = -1;
}
