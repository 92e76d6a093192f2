// SPDX-License-Identifier: GPL-2.0-or-later
/* qremap - tap.c: host-side view of QEMU's tap queues (see tap.h for why
 * each kernel interface is used)
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "qremap/tap.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define TUN_MAJOR 10
#define TUN_MINOR 200

/**
 * tap_get_queue_fd() - duplicate one of QEMU's descriptors into this process
 * @pidfd:	pidfd of QEMU
 * @qemu_fd:	descriptor number inside QEMU
 * @err:	error object
 *
 * The copy refers to the same open file, so ioctls on it act on QEMU's
 * queue (this is what makes TUNSETQUEUE on QEMU's queues possible).
 *
 * Return: the new local descriptor, -1 on failure
 */
int tap_get_queue_fd(int pidfd, int qemu_fd, struct qr_error *err)
{
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, qemu_fd, 0);

	if (fd < 0) {
		int e = errno;

		if (e == EPERM)
			return qr_err_sys(
			        err, e, "pidfd_getfd of QEMU fd %d (needs root or CAP_SYS_PTRACE)",
			        qemu_fd);
		return qr_err_sys(err, e, "pidfd_getfd of QEMU fd %d", qemu_fd);
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int e = errno;

		close(fd);
		return qr_err_sys(err, e, "FD_CLOEXEC");
	}
	return fd;
}

/**
 * tap_fd_info() - tap name, flags and queue state of a tun file
 * @fd:		local descriptor of a /dev/net/tun file
 * @ifname:	tap name
 * @flags:	TUNGETIFF flags, without IFF_DETACH_QUEUE (0x1000 is kept: see
 *		below)
 * @detached:	the queue is detached
 * @err:	error object
 *
 * On failure the outputs are still defined: an empty name, no flags, not
 * detached. Callers test the return value, but the static analyzer can't see
 * that qr_err_set() and qr_err_sys() (another file) always return -1.
 *
 * Return: 0 on success, -1 if @fd is not a tun file bound to a device
 */
int tap_fd_info(int fd, char ifname[IFNAMSIZ], unsigned *flags, bool *detached,
                struct qr_error *err)
{
	struct ifreq ifr;
	struct stat st;

	ifname[0] = '\0';
	*flags = 0;
	*detached = false;
	if (fstat(fd, &st) < 0)
		return qr_err_sys(err, errno, "fstat");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != TUN_MAJOR ||
	    minor(st.st_rdev) != TUN_MINOR)
		return qr_err_set(err, QR_ERR_STATE, "not a /dev/net/tun file");
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		if (errno == EBADFD)
			return qr_err_set(err, QR_ERR_STATE, "tun file not bound to a device");
		return qr_err_sys(err, errno, "TUNGETIFF");
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	*detached = !!(ifr.ifr_flags & IFF_DETACH_QUEUE);
	/* TUNGETIFF adds IFF_NOFILTER (the queue has no socket filter) in the
	 * very bit of IFF_NO_PI, 0x1000 (uapi if_tun.h), so the two can't be
	 * told apart here. Both readings want the bit kept for a fresh queue
	 * like this one: Incus's taps are IFF_NO_PI, and on TUNSETIFF the same
	 * bit asks the kernel to attach without a filter (tun_set_iff()).
	 */
	*flags = (unsigned)(unsigned short)ifr.ifr_flags & ~(unsigned)IFF_DETACH_QUEUE;
	return 0;
}

/**
 * tap_netns_of() - network namespace of the device behind a tun file
 * @tunfd:	local descriptor of an attached or detached tun queue
 * @err:	error object
 *
 * Return: a descriptor for the namespace (usable with setns()), -1 on failure
 */
int tap_netns_of(int tunfd, struct qr_error *err)
{
	int fd = ioctl(tunfd, TUNGETDEVNETNS);

	if (fd < 0)
		return qr_err_sys(err, errno, "TUNGETDEVNETNS");
	return fd;
}

/**
 * tap_netns_ino_self() - inode of this process's network namespace
 *
 * Return: inode number, 0 if unknown
 */
unsigned long tap_netns_ino_self(void)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return 0;
	return (unsigned long)st.st_ino;
}

/*
 * Read "iff:\t<name>" from fdinfo/<fd> of @p; 1 found, 0 not a tun, -1 error
 * (errno in @errnum)
 */
static int fdinfo_iff(const struct qr_proc *p, int qemu_fd, char ifname[IFNAMSIZ], int *errnum)
{
	char rel[32], buf[1024], *line;
	struct qr_error e;

	snprintf(rel, sizeof(rel), "fdinfo/%d", qemu_fd);
	if (proc_read_file(p, rel, buf, sizeof(buf), NULL, &e) < 0) {
		*errnum = e.errnum ? e.errnum : EIO;
		return -1;
	}
	line = strstr(buf, "iff:\t");
	if (!line || (line != buf && line[-1] != '\n'))
		return 0;
	line += 5;
	line[strcspn(line, "\n")] = '\0';
	str_copy(ifname, IFNAMSIZ, line);
	return 1;
}

/**
 * tap_inspect_qemu_fd() - describe one tun descriptor of QEMU
 * @p:		QEMU (its pidfd may be -1: then only /proc is read)
 * @qemu_fd:	descriptor number inside QEMU
 * @out:	result; @out->why says what could not be learnt
 *
 * Never fails as a whole: missing privileges degrade to /proc fdinfo (name
 * only), and then to nothing, with the reason recorded.
 *
 * Return: 0
 */
int tap_inspect_qemu_fd(const struct qr_proc *p, int qemu_fd, struct tap_queue_info *out)
{
	struct qr_error e;
	int fd = -1, errnum = 0, r;

	memset(out, 0, sizeof(*out));
	out->qemu_fd = qemu_fd;
	if (p->pidfd >= 0)
		fd = tap_get_queue_fd(p->pidfd, qemu_fd, &e);
	if (fd >= 0) {
		bool detached;

		if (tap_fd_info(fd, out->ifname, &out->flags, &detached, &e) < 0) {
			str_copy(out->why, sizeof(out->why), e.msg);
		} else {
			int ns = tap_netns_of(fd, &e);
			struct stat st;

			out->is_tun = true;
			out->state = detached ? TAPQ_DETACHED : TAPQ_ATTACHED;
			if (ns >= 0 && fstat(ns, &st) == 0)
				out->netns_ino = (unsigned long)st.st_ino;
			if (ns >= 0)
				close(ns);
		}
		close(fd);
		return 0;
	}

	/* no pidfd_getfd: the name is still in fdinfo, the state is not */
	r = fdinfo_iff(p, qemu_fd, out->ifname, &errnum);
	if (r > 0) {
		out->is_tun = true;
		snprintf(out->why, sizeof(out->why), "queue state unknown: %.130s",
		         p->pidfd >= 0 ? e.msg : "no pidfd for QEMU");
	} else if (r == 0) {
		snprintf(out->why, sizeof(out->why), "QEMU fd %d is not a tun file", qemu_fd);
	} else {
		snprintf(out->why, sizeof(out->why), "cannot read /proc/%d/fdinfo/%d: %s",
		         (int)p->pid, qemu_fd, strerror(errnum));
	}
	return 0;
}

/**
 * tap_qemu_tun_fds() - every descriptor of a process that is a queue of a tap
 * @p:		process (QEMU)
 * @ifname:	tap name
 * @fds:	result array
 * @max:	its size
 * @n:		number found (may exceed @max; only @max are stored)
 * @err:	error object
 *
 * Matches on fdinfo's "iff:" line, which names attached and detached queues
 * alike. Caveat: names are per network namespace; a same-named tap in
 * another namespace would match too, so callers compare namespaces when it
 * matters.
 *
 * Return: 0 on success, -1 if /proc/PID/fdinfo can't be read
 */
int tap_qemu_tun_fds(const struct qr_proc *p, const char *ifname, int *fds, size_t max, size_t *n,
                     struct qr_error *err)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	*n = 0;
	dfd = proc_openat(p, "fdinfo", O_RDONLY | O_DIRECTORY, err);
	if (dfd < 0)
		return -1;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return qr_err_sys(err, errno, "cannot list /proc/%d/fdinfo", (int)p->pid);
	}
	while ((de = readdir(d))) {
		unsigned long long v;
		char name[IFNAMSIZ];
		int errnum;

		if (parse_uint(de->d_name, 0x7fffffff, &v) < 0)
			continue;
		if (fdinfo_iff(p, (int)v, name, &errnum) <= 0)
			continue;
		if (strcmp(name, ifname))
			continue;
		if (*n < max)
			fds[*n] = (int)v;
		(*n)++;
	}
	closedir(d);
	return 0;
}

/*
 * Whether namespace descriptor @netns_fd is our own network namespace: then
 * no setns() is needed, nor the CAP_SYS_ADMIN it takes (Incus's taps live in
 * the host's namespace, where qremap runs).
 */
static bool netns_is_self(int netns_fd)
{
	struct stat ns, self;

	return fstat(netns_fd, &ns) == 0 && stat("/proc/self/ns/net", &self) == 0 &&
	       ns.st_ino == self.st_ino && ns.st_dev == self.st_dev;
}

/* Open a NETLINK_ROUTE socket inside @netns_fd (or here if < 0). */
static int netlink_socket_in(int netns_fd, struct qr_error *err)
{
	_cleanup_close_ int self = -1;
	int sk, e;

	if (netns_fd < 0 || netns_is_self(netns_fd)) {
		sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (sk < 0)
			return qr_err_sys(err, errno, "netlink socket");
		return sk;
	}
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return qr_err_sys(err, errno, "open /proc/self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return qr_err_sys(err, errno, "entering the tap's network namespace");
	sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	e = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Can't happen with the privileges the first setns() needed;
		 * carrying on in the wrong namespace would be worse than dying.
		 */
		perror("qremap: cannot return to the original network namespace");
		abort();
	}
	if (sk < 0)
		return qr_err_sys(err, e, "netlink socket in the tap's namespace");
	return sk;
}

/**
 * tap_link_queues() - attached and detached queue counts of a tap device
 * @netns_fd:	the tap's network namespace, or -1 for ours
 * @ifname:	tap name
 * @attached:	IFLA_TUN_NUM_QUEUES
 * @detached:	IFLA_TUN_NUM_DISABLED_QUEUES
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure (no such device, not a tun, ...)
 */
int tap_link_queues(int netns_fd, const char *ifname, unsigned *attached, unsigned *detached,
                    struct qr_error *err)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req;
	_cleanup_close_ int sk = -1;
	char buf[16384];
	struct rtattr *rta;
	struct nlmsghdr *nh;
	bool got_q = false, got_d = false;
	size_t nlen = strlen(ifname) + 1;
	ssize_t len;

	if (nlen > IFNAMSIZ)
		return qr_err_set(err, QR_ERR_INVALID, "interface name too long: %s", ifname);
	sk = netlink_socket_in(netns_fd, err);
	if (sk < 0)
		return -1;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	rta = (struct rtattr *)req.attrs;
	rta->rta_type = IFLA_IFNAME;
	rta->rta_len = (unsigned short)RTA_LENGTH(nlen);
	memcpy(RTA_DATA(rta), ifname, nlen);
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi)) + RTA_ALIGN(rta->rta_len);

	if (send(sk, &req, req.nh.nlmsg_len, 0) < 0)
		return qr_err_sys(err, errno, "RTM_GETLINK %s", ifname);
	len = recv(sk, buf, sizeof(buf), 0);
	if (len < 0)
		return qr_err_sys(err, errno, "RTM_GETLINK %s reply", ifname);

	nh = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(nh, (size_t)len))
		return qr_err_set(err, QR_ERR_PROTOCOL, "short netlink reply for %s", ifname);
	if (nh->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *ne = NLMSG_DATA(nh);

		return qr_err_sys(err, -ne->error, "no link %s", ifname);
	}
	if (nh->nlmsg_type != RTM_NEWLINK)
		return qr_err_set(err, QR_ERR_PROTOCOL, "unexpected netlink reply for %s", ifname);

	{
		struct ifinfomsg *ifi = NLMSG_DATA(nh);
		int alen = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));

		for (rta = IFLA_RTA(ifi); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
			struct rtattr *li;
			int llen;

			if (rta->rta_type != IFLA_LINKINFO)
				continue;
			llen = (int)RTA_PAYLOAD(rta);
			for (li = RTA_DATA(rta); RTA_OK(li, llen); li = RTA_NEXT(li, llen)) {
				struct rtattr *d;
				int dlen;

				if (li->rta_type != IFLA_INFO_DATA)
					continue;
				dlen = (int)RTA_PAYLOAD(li);
				for (d = RTA_DATA(li); RTA_OK(d, dlen); d = RTA_NEXT(d, dlen)) {
					if (d->rta_type == IFLA_TUN_NUM_QUEUES) {
						memcpy(attached, RTA_DATA(d), sizeof(*attached));
						got_q = true;
					} else if (d->rta_type == IFLA_TUN_NUM_DISABLED_QUEUES) {
						memcpy(detached, RTA_DATA(d), sizeof(*detached));
						got_d = true;
					}
				}
			}
		}
	}
	if (!got_q || !got_d)
		return qr_err_set(err, QR_ERR_UNSUPPORTED, "%s: no tun queue counts (not a tap?)",
		                  ifname);
	return 0;
}

/*
 * Open a fresh queue on tap @ifname, which has @flags (from TUNGETIFF), in
 * the network namespace we are in now.
 */
static int open_queue_here(const char *ifname, unsigned flags, struct qr_error *err)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return qr_err_sys(err, errno, "open /dev/net/tun for tap %s", ifname);
	memset(&ifr, 0, sizeof(ifr));
	str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), ifname);
	/* IFF_PERSIST is reported by TUNGETIFF but set with TUNSETPERSIST */
	ifr.ifr_flags = (short)(flags & ~(unsigned)IFF_PERSIST);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return qr_err_sys(err, errno, "TUNSETIFF %s (flags 0x%x) for a fresh queue", ifname,
		                  flags);
	return steal_fd(&fd);
}

/**
 * tap_open_queue_like() - open one fresh queue on the tap behind a queue
 * @model_fd:	local descriptor of any queue of the tap (attached or not)
 * @err:	error object
 *
 * The fresh queue is created the way Incus creates its own (open
 * /dev/net/tun, TUNSETIFF with the device's name and flags), inside the tap's
 * network namespace, so that QEMU can own it by name after getfd. The kernel
 * refuses a TUNSETIFF whose multiqueue flag or device type differs from the
 * device's, and takes the rest of a joining queue's flags (IFF_NO_PI,
 * IFF_VNET_HDR) for the whole device if it is the only queue, so the flags
 * are taken from the device itself rather than assumed. Needs
 * CAP_NET_ADMIN in the tap's namespace, and CAP_SYS_ADMIN to enter it if it
 * isn't ours. A new queue starts attached.
 *
 * Return: the new queue's descriptor, -1 on failure
 */
int tap_open_queue_like(int model_fd, struct qr_error *err)
{
	_cleanup_close_ int ns = -1, self = -1;
	char ifname[IFNAMSIZ];
	unsigned flags;
	bool detached;
	int fd;

	if (tap_fd_info(model_fd, ifname, &flags, &detached, err) < 0)
		return -1;
	ns = tap_netns_of(model_fd, err);
	if (ns < 0)
		return -1;
	if (netns_is_self(ns))
		return open_queue_here(ifname, flags, err);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return qr_err_sys(err, errno, "open /proc/self/ns/net");
	if (setns(ns, CLONE_NEWNET) < 0)
		return qr_err_sys(err, errno, "entering the network namespace of tap %s", ifname);
	fd = open_queue_here(ifname, flags, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* as in netlink_socket_in(): never carry on in the wrong place */
		perror("qremap: cannot return to the original network namespace");
		abort();
	}
	return fd;
}

/**
 * tap_detach_queue() - detach one queue from its tap, if it is attached
 * @fd:		local descriptor of the queue (e.g. a pidfd_getfd() copy)
 * @was_attached: set to whether it was attached before the call
 * @err:	error object
 *
 * A detached queue gets no packets: the kernel only spreads flows over
 * attached queues, so an old queue left attached with nobody reading it is
 * where packets die (docs/facts.md §4).
 *
 * Return: 0 on success (also if it was already detached), -1 on failure
 */
int tap_detach_queue(int fd, bool *was_attached, struct qr_error *err)
{
	char ifname[IFNAMSIZ];
	struct ifreq ifr;
	unsigned flags;
	bool detached;

	if (tap_fd_info(fd, ifname, &flags, &detached, err) < 0)
		return -1;
	*was_attached = !detached;
	if (detached)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_DETACH_QUEUE;
	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0)
		return qr_err_sys(err, errno, "TUNSETQUEUE IFF_DETACH_QUEUE on a queue of %s",
		                  ifname);
	return 0;
}

/**
 * tap_attach_queue() - attach a queue again (the undo of tap_detach_queue())
 * @fd:		local descriptor of the queue
 * @err:	error object
 *
 * Return: 0 on success, -1 on failure
 */
int tap_attach_queue(int fd, struct qr_error *err)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_ATTACH_QUEUE;
	if (ioctl(fd, TUNSETQUEUE, &ifr) < 0)
		return qr_err_sys(err, errno, "TUNSETQUEUE IFF_ATTACH_QUEUE");
	return 0;
}
