/*
 * qg-echod: the network services of the qremap test guest.
 *
 * One single-threaded epoll loop serves, on every IPv4 address of the guest:
 *   tcp/7   echo     (RFC 862: everything received is sent back)
 *   udp/7   echo     (each datagram is sent back to its sender)
 *   tcp/9   discard  (RFC 863: everything received is dropped)
 *   udp/9   discard
 *   tcp/19  source   (sends a fixed byte pattern until the peer closes)
 *
 * It exists because Debian's busybox-static has no udpsvd/tcpsvd/inetd, and
 * because forking a process per flow is slow under TCG while the tests open
 * many short flows.  It is linked statically and copied into the initramfs.
 *
 * Usage: qg-echod [-d]
 *   -d  daemonize once every socket is bound and listening: when the command
 *       returns 0, all services accept traffic.
 * On a bind/listen failure it prints "qg-echod: ..." on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum svc { SVC_ECHO, SVC_DISCARD, SVC_SOURCE };
enum role { ROLE_TCP_LISTEN, ROLE_UDP, ROLE_TCP_CONN };

#define TCP_BUF 16384

struct ent {
	int fd;
	enum role role;
	enum svc svc;
	size_t off, len; /* pending echo bytes in buf[off..len) */
	char *buf;
};

static int epfd;
static char udp_buf[65536];
static char source_buf[TCP_BUF];

static void die(const char *what)
{
	fprintf(stderr, "qg-echod: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void watch(struct ent *e, int op, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = e;
	if (epoll_ctl(epfd, op, e->fd, &ev) < 0 && op != EPOLL_CTL_DEL)
		die("epoll_ctl");
}

static struct ent *new_ent(int fd, enum role role, enum svc svc)
{
	struct ent *e = calloc(1, sizeof(*e));

	if (!e)
		die("calloc");
	e->fd = fd;
	e->role = role;
	e->svc = svc;
	return e;
}

static void drop(struct ent *e)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	free(e->buf);
	free(e);
}

static void open_service(int type, int port, enum svc svc)
{
	struct sockaddr_in sa;
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct ent *e;
	char what[64];

	snprintf(what, sizeof(what), "%s/%d", type == SOCK_STREAM ? "tcp" : "udp", port);
	if (fd < 0)
		die(what);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(what);
	if (type == SOCK_STREAM && listen(fd, 1024) < 0)
		die(what);
	e = new_ent(fd, type == SOCK_STREAM ? ROLE_TCP_LISTEN : ROLE_UDP, svc);
	watch(e, EPOLL_CTL_ADD, EPOLLIN);
}

static void on_listen(struct ent *l)
{
	for (;;) {
		int one = 1;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ent *c;

		if (fd < 0)
			return; /* EAGAIN, or out of fds: retried on next event */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = new_ent(fd, ROLE_TCP_CONN, l->svc);
		if (l->svc == SVC_ECHO) {
			c->buf = malloc(TCP_BUF);
			if (!c->buf) {
				close(fd);
				free(c);
				continue;
			}
		}
		watch(c, EPOLL_CTL_ADD,
		      EPOLLIN | EPOLLRDHUP | (l->svc == SVC_SOURCE ? EPOLLOUT : 0));
	}
}

static void on_udp(struct ent *u)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(u->fd, udp_buf, sizeof(udp_buf), 0,
				     (struct sockaddr *)&peer, &plen);

		if (n < 0)
			return;
		if (u->svc == SVC_ECHO)
			sendto(u->fd, udp_buf, n, MSG_DONTWAIT,
			       (struct sockaddr *)&peer, plen);
	}
}

/* Returns 0 when the connection was closed and freed. */
static int echo_flush(struct ent *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				watch(c, EPOLL_CTL_MOD, EPOLLOUT);
				return 1;
			}
			drop(c);
			return 0;
		}
		c->off += n;
	}
	c->off = c->len = 0;
	watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
	return 1;
}

static void on_conn(struct ent *c, unsigned events)
{
	char sink[TCP_BUF];
	ssize_t n;

	if (c->svc == SVC_ECHO) {
		if (c->len > c->off) { /* waiting for EPOLLOUT */
			if (events & (EPOLLERR | EPOLLHUP)) {
				drop(c);
				return;
			}
			echo_flush(c);
			return;
		}
		n = recv(c->fd, c->buf, TCP_BUF, MSG_DONTWAIT);
		if (n > 0) {
			c->off = 0;
			c->len = n;
			echo_flush(c);
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			drop(c);
		}
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
		n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			drop(c);
			return;
		}
	}
	if (c->svc == SVC_SOURCE && (events & EPOLLOUT)) {
		n = send(c->fd, source_buf, sizeof(source_buf), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			drop(c);
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct epoll_event evs[64];
	int daemonize = argc > 1 && strcmp(argv[1], "-d") == 0;
	size_t i;

	if (argc > 2 || (argc == 2 && !daemonize)) {
		fprintf(stderr, "usage: qg-echod [-d]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < sizeof(source_buf); i++)
		source_buf[i] = (char)('A' + i % 26);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	open_service(SOCK_STREAM, 7, SVC_ECHO);
	open_service(SOCK_DGRAM, 7, SVC_ECHO);
	open_service(SOCK_STREAM, 9, SVC_DISCARD);
	open_service(SOCK_DGRAM, 9, SVC_DISCARD);
	open_service(SOCK_STREAM, 19, SVC_SOURCE);

	if (daemonize) {
		pid_t pid = fork();
		int null;

		if (pid < 0)
			die("fork");
		if (pid > 0)
			_exit(0);
		setsid();
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}

	for (;;) {
		int n = epoll_wait(epfd, evs, 64, -1);
		int k;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (k = 0; k < n; k++) {
			struct ent *e = evs[k].data.ptr;

			switch (e->role) {
			case ROLE_TCP_LISTEN:
				on_listen(e);
				break;
			case ROLE_UDP:
				on_udp(e);
				break;
			case ROLE_TCP_CONN:
				on_conn(e, evs[k].events);
				break;
			}
		}
	}
}
