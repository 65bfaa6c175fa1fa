// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * netlab's egress qdiscs on veth0: tbf (rate), netem (delay) and plug.
 * tbf and netem go through tc, which every kernel's option quirks are
 * known to; plug has no tc support, so it is configured over rtnetlink
 * directly.  Reading back what is there is rtnetlink too.
 *
 * The layout is fixed, so that the kernel's own dump says what is set:
 *	netem 2: at the root, tbf 1: under it (2:1) or at the root;
 *	plug 3: alone at the root (it cannot be combined: a plugged child
 *	would still be peeked at by its parent).
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include "log.h"
#include "tc.h"
#include "netlab.h"

#define TBF_MAJOR 1
#define NETEM_MAJOR 2
#define PLUG_MAJOR 3
/* What plug would pick itself: tx_queue_len (1000) full-size frames. */
#define PLUG_LIMIT (1000 * 1514)
#define NETEM_LIMIT "10000"

struct nl_req {
	struct nlmsghdr n;
	struct tcmsg t;
	char attrs[256];
};

/* A NETLINK_ROUTE socket of namespace @ns, and veth0's index there. */
static int ns_socket(const char *ns, int *ifindex)
{
	int saved, fd, err;

	saved = lk_netns_enter(ns);
	if (saved < 0)
		return -1;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	err = errno;
	*ifindex = if_nametoindex(NETLAB_IFNAME);
	if (lk_netns_leave(saved)) {
		lk_err("cannot return to the original network namespace");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0) {
		lk_err("netlink socket in %s: %s", ns, strerror(err));
		return -1;
	}
	if (!*ifindex) {
		lk_err("no %s in namespace %s", NETLAB_IFNAME, ns);
		close(fd);
		return -1;
	}
	return fd;
}

static void add_attr(struct nl_req *r, int type, const void *data, int len)
{
	struct rtattr *rta = (void *)((char *)&r->n + NLMSG_ALIGN(r->n.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static void req_init(struct nl_req *r, int type, int flags, int ifindex,
		     unsigned int parent, unsigned int handle)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(sizeof(r->t));
	r->n.nlmsg_type = type;
	r->n.nlmsg_flags = NLM_F_REQUEST | flags;
	r->n.nlmsg_seq = 1;
	r->t.tcm_family = AF_UNSPEC;
	r->t.tcm_ifindex = ifindex;
	r->t.tcm_parent = parent;
	r->t.tcm_handle = handle;
}

/* Send @r and wait for its ack: 0 or -errno. */
static int nl_talk(int fd, struct nl_req *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[8192];
	struct nlmsghdr *h;
	ssize_t len;

	r->n.nlmsg_flags |= NLM_F_ACK;
	if (sendto(fd, &r->n, r->n.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len < 0 ? -errno : -EIO;
		for (h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != r->n.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

static void parse_tbf(struct rtattr *opt, struct netlab_qdiscs *q)
{
	int len = RTA_PAYLOAD(opt);
	struct rtattr *a;

	for (a = RTA_DATA(opt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_TBF_PARMS && RTA_PAYLOAD(a) >= sizeof(struct tc_tbf_qopt)) {
			const struct tc_tbf_qopt *p = RTA_DATA(a);

			if (!q->rate_bps)
				q->rate_bps = (uint64_t)p->rate.rate * 8;
			/* The burst is dumped as a time, in 64 ns psched ticks. */
			q->tbf_buffer_ns = (uint64_t)p->buffer * 64;
		} else if (a->rta_type == TCA_TBF_RATE64 && RTA_PAYLOAD(a) >= 8) {
			uint64_t r;

			memcpy(&r, RTA_DATA(a), 8);
			q->rate_bps = r * 8;
		}
	}
	q->tbf_burst = q->tbf_buffer_ns * (q->rate_bps / 8) / 1000000000;
}

/* netem's options: struct tc_netem_qopt, then attributes. */
static void parse_netem(struct rtattr *opt, struct netlab_qdiscs *q)
{
	int skip = RTA_ALIGN(sizeof(struct tc_netem_qopt));
	int len = RTA_PAYLOAD(opt) - skip;
	const struct tc_netem_qopt *qo = RTA_DATA(opt);
	struct rtattr *a;

	if (RTA_PAYLOAD(opt) < sizeof(*qo))
		return;
	/* Old kernels: psched ticks of 64 ns. */
	q->delay_us = (uint64_t)qo->latency * 64 / 1000;
	for (a = (void *)((char *)RTA_DATA(opt) + skip); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_NETEM_LATENCY64 && RTA_PAYLOAD(a) >= 8) {
			int64_t ns;

			memcpy(&ns, RTA_DATA(a), 8);
			q->delay_us = ns / 1000;
		}
	}
}

static void parse_qdisc(struct nlmsghdr *h, int ifindex, struct netlab_qdiscs *q)
{
	struct tcmsg *t = NLMSG_DATA(h);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*t));
	struct rtattr *a, *opt = NULL;
	const char *kind = "";
	unsigned int major = t->tcm_handle >> 16;

	if (t->tcm_ifindex != ifindex)
		return;
	for (a = (void *)((char *)t + NLMSG_ALIGN(sizeof(*t))); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == TCA_KIND)
			kind = RTA_DATA(a);
		else if (a->rta_type == TCA_OPTIONS)
			opt = a;
	}
	if (!strcmp(kind, "tbf") && major == TBF_MAJOR) {
		q->tbf = true;
		if (opt)
			parse_tbf(opt, q);
	} else if (!strcmp(kind, "netem") && major == NETEM_MAJOR) {
		q->netem = true;
		if (opt)
			parse_netem(opt, q);
	} else if (!strcmp(kind, "plug") && major == PLUG_MAJOR) {
		q->plug = true;
	} else if (t->tcm_parent == TC_H_ROOT && strcmp(kind, "noqueue")) {
		snprintf(q->foreign, sizeof(q->foreign), "%s", kind);
	}
}

int netlab_qdisc_read(const char *ns, struct netlab_qdiscs *q)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h;
	struct nl_req r;
	char buf[16384];
	int fd, ifindex, err = 0;
	ssize_t len;

	memset(q, 0, sizeof(*q));
	fd = ns_socket(ns, &ifindex);
	if (fd < 0)
		return -1;
	req_init(&r, RTM_GETQDISC, NLM_F_DUMP, ifindex, 0, 0);
	if (sendto(fd, &r.n, r.n.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0) {
			err = len < 0 ? -errno : -EIO;
			goto out;
		}
		for (h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				goto out;
			}
			if (h->nlmsg_type == RTM_NEWQDISC)
				parse_qdisc(h, ifindex, q);
		}
	}
out:
	close(fd);
	if (err)
		lk_err("cannot list the qdiscs of %s in %s: %s", NETLAB_IFNAME, ns, strerror(-err));
	return err ? -1 : 0;
}

static int plug_msg(const char *ns, bool create, int action)
{
	struct tc_plug_qopt opt = { .action = action, .limit = PLUG_LIMIT };
	struct nl_req r;
	int fd, ifindex, err;

	fd = ns_socket(ns, &ifindex);
	if (fd < 0)
		return -EBADF;
	req_init(&r, RTM_NEWQDISC, create ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex,
		 TC_H_ROOT, PLUG_MAJOR << 16);
	add_attr(&r, TCA_KIND, "plug", sizeof("plug"));
	add_attr(&r, TCA_OPTIONS, &opt, sizeof(opt));
	err = nl_talk(fd, &r);
	close(fd);
	return err;
}

static void plug_error(const char *ns, int err)
{
	if (err == -EBADF)
		return;		/* already said */
	if (err == -ENOENT)
		lk_err("sch_plug is not available in this kernel (needed for --plug)");
	else
		lk_err("cannot configure the plug qdisc on %s in %s: %s", NETLAB_IFNAME, ns,
		       strerror(-err));
}

int netlab_plug_cmd(const char *ns, int action)
{
	int err = plug_msg(ns, false, action);

	if (err)
		plug_error(ns, err);
	return err;
}

static int tc_run(const char *ns, const char *verb, const char *const where[],
		  const char *const kind_args[], const char *what)
{
	const char *argv[32] = { "tc", "-n", ns, "qdisc", verb, "dev", NETLAB_IFNAME };
	char msg[256];
	int n = 7, i;

	for (i = 0; where[i]; i++)
		argv[n++] = where[i];
	for (i = 0; kind_args[i] && n < 31; i++)
		argv[n++] = kind_args[i];
	argv[n] = NULL;
	if (!netlab_run_msg(argv, msg, sizeof(msg)))
		return 0;
	/* Newer tc relays the kernel's extack, older tc only the errno. */
	if (strstr(msg, "kind is unknown") || strstr(msg, "RTNETLINK answers: No such file"))
		lk_err("%s is not available in this kernel (needed for %s)",
		       !strcmp(kind_args[2], "netem") ? "netem (sch_netem)" : kind_args[2], what);
	else
		lk_err("'tc qdisc %s' (%s) in %s failed: %s", verb, kind_args[2], ns, msg);
	return -1;
}

static int add_netem(const char *ns, const char *verb, uint64_t delay_us)
{
	const char *where[] = { "root", NULL };
	char delay[32];
	const char *args[] = { "handle", "2:", "netem", "delay", delay, "limit", NETEM_LIMIT, NULL };

	snprintf(delay, sizeof(delay), "%" PRIu64 "us", delay_us);
	return tc_run(ns, verb, where, args, "--delay");
}

/*
 * Burst: 10 ms at the rate, at least four full-size frames (GSO packets
 * larger than the burst are split by tbf, but one frame must fit), and
 * never less than @min_burst.  Queue: 100 ms at the rate.
 *
 * tbf checks a packet against the burst only when it is queued: were a
 * change to shrink the burst below a GSO packet already in the queue,
 * that packet would never be sent and the queue would stall for good.
 * So a change in place keeps at least the old burst.
 */
static int add_tbf(const char *ns, const char *verb, bool under_netem, uint64_t bps,
		   uint64_t min_burst)
{
	const char *root[] = { "root", NULL }, *child[] = { "parent", "2:1", NULL };
	char rate[32], burst[32];
	const char *args[] = { "handle", "1:", "tbf", "rate", rate, "burst", burst,
			       "latency", "100ms", NULL };
	uint64_t b = bps / 8 / 100;

	if (b < 4 * 1514)
		b = 4 * 1514;
	if (b < min_burst)
		b = min_burst;
	snprintf(rate, sizeof(rate), "%" PRIu64 "bit", bps);
	snprintf(burst, sizeof(burst), "%" PRIu64 "b", b);
	return tc_run(ns, verb, under_netem ? child : root, args, "--rate");
}

static int del_root(const char *ns, bool quiet)
{
	const char *argv[] = { "tc", "-n", ns, "qdisc", "del", "dev", NETLAB_IFNAME, "root", NULL };

	return netlab_run(argv, quiet);
}

static int build(const char *ns, const struct netlab_qdiscs *want)
{
	int err;

	if (want->plug) {
		err = plug_msg(ns, true, NETLAB_PLUG_BUFFER);
		if (err)
			plug_error(ns, err);
		return err ? -1 : 0;
	}
	if (want->netem && add_netem(ns, "add", want->delay_us))
		return -1;
	if (want->tbf && add_tbf(ns, "add", want->netem, want->rate_bps, 0))
		return -1;
	return 0;
}

int netlab_qdisc_apply(const char *ns, const struct netlab_qdiscs *cur,
		       const struct netlab_qdiscs *want)
{
	bool ours = cur->tbf || cur->netem || cur->plug;

	if (want->plug && (want->tbf || want->netem)) {
		lk_err("--plug cannot be combined with --rate or --delay in the same direction");
		return -1;
	}
	if (cur->tbf == want->tbf && cur->netem == want->netem && cur->plug == want->plug) {
		if (want->netem && want->delay_us != cur->delay_us &&
		    add_netem(ns, "replace", want->delay_us))
			return -1;
		if (want->tbf && want->rate_bps != cur->rate_bps &&
		    add_tbf(ns, "replace", want->netem, want->rate_bps, cur->tbf_burst + 1))
			return -1;
		return 0;
	}
	if (cur->foreign[0]) {
		lk_err("%s in %s has a root qdisc (%s) that netlab did not make: remove it first",
		       NETLAB_IFNAME, ns, cur->foreign);
		return -1;
	}
	/* The layout changes: rebuild it, and put back the old one on failure. */
	if (ours && del_root(ns, false))
		return -1;
	if (!build(ns, want))
		return 0;
	del_root(ns, true);
	if (ours && build(ns, cur))
		lk_err("could not restore the previous qdiscs of %s in %s", NETLAB_IFNAME, ns);
	return -1;
}
