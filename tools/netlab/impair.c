// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * netlab's impairments.  Loss is bpf/netimpair.bpf.c at each receiver's
 * ingress, with its config and counter maps (and tcx links) pinned
 * under /sys/fs/bpf/latkit/PREFIX/, so that a later `netlab set` changes
 * the probability while traffic flows and `netlab status` reads the
 * counters.  Rate, delay and plug are qdiscs at each sender's egress
 * (qdisc.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "log.h"
#include "opts.h"
#include "output.h"
#include "tc.h"
#include "netlab.h"
#include "netimpair.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* clsact fallback (no tcx): our filter's place, first in line. */
#define NETLAB_TC_HANDLE 0x6e6c
#define NETLAB_TC_PRIO 1

const char *const netlab_dir_name[2] = { "to-server", "to-client" };

/* Direction d is received by (and its loss applied at) this side... */
static const int receiver[2] = { NETLAB_SERVER, NETLAB_CLIENT };
/* ...and sent (rate, delay, plug) by this one. */
static const int sender[2] = { NETLAB_CLIENT, NETLAB_SERVER };
static const char *const link_pin[2] = { "link_to_server", "link_to_client" };

int netlab_parse_dir(const char *s, unsigned int *dirs)
{
	if (!strcmp(s, "to-server"))
		*dirs = 1 << NETIMPAIR_TO_SERVER;
	else if (!strcmp(s, "to-client"))
		*dirs = 1 << NETIMPAIR_TO_CLIENT;
	else if (!strcmp(s, "both"))
		*dirs = (1 << NETIMPAIR_TO_SERVER) | (1 << NETIMPAIR_TO_CLIENT);
	else
		return -1;
	return 0;
}

int netlab_parse_loss(const char *s, double *pct)
{
	char buf[32];
	size_t n = strlen(s);

	/* "10" and "10%" alike. */
	if (n && n < sizeof(buf) && s[n - 1] == '%') {
		memcpy(buf, s, n - 1);
		buf[n - 1] = 0;
		s = buf;
	}
	return lk_parse_double(s, 0, 100, pct);
}

/* tc's units: bit (the default), kbit, mbit, gbit; bps, kbps... are bytes. */
int netlab_parse_rate(const char *s, uint64_t *bps)
{
	static const struct { const char *unit; double mult; } units[] = {
		{ "", 1 }, { "bit", 1 }, { "k", 1e3 }, { "kbit", 1e3 },
		{ "m", 1e6 }, { "mbit", 1e6 }, { "g", 1e9 }, { "gbit", 1e9 },
		{ "bps", 8 }, { "kbps", 8e3 }, { "mbps", 8e6 }, { "gbps", 8e9 },
	};
	char *end;
	double v;
	size_t i;

	if (!strcmp(s, "none")) {
		*bps = 0;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0))
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit))
			continue;
		v *= units[i].mult;
		/* Below 8 kbit/s a full-size frame takes over a second. */
		if (v < 8000 || v > 400e9)
			return -1;
		*bps = llround(v);
		return 0;
	}
	return -1;
}

/* MS as the option says; "250us", "1.5ms", "1s" too; "none" or 0 removes. */
int netlab_parse_delay(const char *s, uint64_t *us)
{
	uint64_t ns;
	double ms;

	if (!strcmp(s, "none")) {
		*us = 0;
		return 0;
	}
	if (!lk_parse_double(s, 0, 60000, &ms)) {
		*us = llround(ms * 1000);
		return 0;
	}
	if (lk_parse_duration(s, &ns) || ns > 60000000000ULL)
		return -1;
	*us = ns / 1000;
	return 0;
}

int netlab_parse_plug(const char *s, int *action)
{
	if (!strcmp(s, "buffer"))
		*action = NETLAB_PLUG_BUFFER;
	else if (!strcmp(s, "release-one"))
		*action = NETLAB_PLUG_RELEASE_ONE;
	else if (!strcmp(s, "release"))
		*action = NETLAB_PLUG_RELEASE;
	else if (!strcmp(s, "none"))
		*action = NETLAB_PLUG_NONE;
	else
		return -1;
	return 0;
}

void netlab_format_rate(uint64_t bps, char *buf, size_t len)
{
	if (bps >= 1000000000)
		snprintf(buf, len, "%.4ggbit", bps / 1e9);
	else if (bps >= 1000000)
		snprintf(buf, len, "%.4gmbit", bps / 1e6);
	else if (bps >= 1000)
		snprintf(buf, len, "%.4gkbit", bps / 1e3);
	else
		snprintf(buf, len, "%" PRIu64 "bit", bps);
}

static void pin_path(struct netlab *lab, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", lab->pin_dir, name);
}

static int obj_get(struct netlab *lab, const char *name)
{
	char path[256];

	pin_path(lab, name, path, sizeof(path));
	return bpf_obj_get(path);
}

/* bpffs at /sys/fs/bpf, mounting it if nothing is there; then our directory. */
static int make_pin_dir(struct netlab *lab)
{
	struct statfs st;
	int i;

	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			lk_err("no BPF filesystem at /sys/fs/bpf and cannot mount one: %s",
			       strerror(errno));
			return -1;
		}
		lk_info("mounted the BPF filesystem at /sys/fs/bpf");
	}
	/* Another lab's down may remove an empty NETLAB_PIN_ROOT between our
	 * two mkdirs: try again then. */
	for (i = 0; i < 3; i++) {
		if (mkdir(NETLAB_PIN_ROOT, 0700) && errno != EEXIST)
			break;
		if (!mkdir(lab->pin_dir, 0700) || errno == EEXIST)
			return 0;
		if (errno != ENOENT)
			break;
	}
	lk_err("cannot create %s: %s", lab->pin_dir, strerror(errno));
	return -1;
}

/* Attach one direction's program at its receiver's ingress; pin a tcx link. */
static int attach_dir(struct netlab *lab, int dir, struct bpf_program *prog)
{
	const char *ns = lab->ns[receiver[dir]];
	char path[256], what[128];
	struct lk_tc tc;
	int saved, ifindex, err;

	saved = lk_netns_enter(ns);
	if (saved < 0)
		return -1;
	ifindex = if_nametoindex(NETLAB_IFNAME);
	err = ifindex ? lk_tc_attach(bpf_program__fd(prog), ifindex, true, NETLAB_TC_HANDLE,
				     NETLAB_TC_PRIO, &tc) : -ENODEV;
	if (lk_netns_leave(saved)) {
		lk_err("cannot return to the original network namespace");
		return -1;
	}
	snprintf(what, sizeof(what), "attach the loss program to %s ingress in %s",
		 NETLAB_IFNAME, ns);
	if (err) {
		lk_err_bpf(what, err);
		return -1;
	}
	lk_info("loss %s: %s at %s ingress in %s", netlab_dir_name[dir],
		tc.tcx ? "tcx link" : "clsact filter", NETLAB_IFNAME, ns);
	pin_path(lab, link_pin[dir], path, sizeof(path));
	err = lk_tc_pin(&tc, path);
	if (err) {
		lk_err("cannot pin %s: %s", path, strerror(-err));
		lk_tc_detach(&tc);
		return -1;
	}
	/* The pin (tcx) or the filter itself (clsact) keeps it attached. */
	if (tc.tcx)
		close(tc.link_fd);
	return 0;
}

static int loss_install(struct netlab *lab)
{
	struct netimpair_bpf *skel;
	char path[256];
	int err;

	skel = netimpair_bpf__open_and_load();
	if (!skel) {
		lk_err_bpf("load the loss program (bpf/netimpair.bpf.c)", -errno);
		return -1;
	}
	if (make_pin_dir(lab))
		goto fail;
	pin_path(lab, "impair_cfg", path, sizeof(path));
	err = bpf_map__pin(skel->maps.impair_cfg, path);
	if (!err) {
		pin_path(lab, "impair_cnt", path, sizeof(path));
		err = bpf_map__pin(skel->maps.impair_cnt, path);
	}
	if (err) {
		lk_err("cannot pin %s: %s", path, strerror(-err));
		goto fail;
	}
	if (attach_dir(lab, NETIMPAIR_TO_SERVER, skel->progs.impair_to_server) ||
	    attach_dir(lab, NETIMPAIR_TO_CLIENT, skel->progs.impair_to_client))
		goto fail;
	netimpair_bpf__destroy(skel);
	return 0;
fail:
	netimpair_bpf__destroy(skel);
	return -1;
}

int netlab_loss_setup(struct netlab *lab)
{
	int fd = obj_get(lab, "impair_cfg");

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	lk_log_init();
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	if (!loss_install(lab))
		return 0;
	/* Half an install (one direction, or maps without links) is no use. */
	netlab_unpin(lab);
	return -1;
}

static int set_loss(struct netlab *lab, unsigned int dirs, double pct)
{
	struct netimpair_cfg cfg = {};
	int fd, d, err = 0;

	if (netlab_loss_setup(lab))
		return -1;
	fd = obj_get(lab, "impair_cfg");
	if (fd < 0) {
		lk_err("cannot open the pinned loss config of lab '%s': %s", lab->prefix,
		       strerror(errno));
		return -1;
	}
	cfg.loss_ppm = llround(pct * 10000);
	/* 2^32 at 100%: every u32 random number is below it. */
	cfg.drop_below = llround(pct / 100 * 4294967296.0);
	for (d = 0; d < NETIMPAIR_NDIR; d++) {
		__u32 key = d;

		if (!(dirs & (1 << d)))
			continue;
		if (bpf_map_update_elem(fd, &key, &cfg, BPF_ANY)) {
			lk_err("cannot set the loss: %s", strerror(errno));
			err = -1;
		}
	}
	close(fd);
	return err;
}

/* One direction's qdiscs: what is there, changed as @im says. */
static int apply_qdiscs(struct netlab *lab, int dir, const struct netlab_impair *im)
{
	const char *ns = lab->ns[sender[dir]];
	struct netlab_qdiscs cur, want;

	if (netlab_qdisc_read(ns, &cur))
		return -1;
	want = cur;
	if (im->rate_set) {
		want.tbf = im->rate_bps != 0;
		want.rate_bps = im->rate_bps;
	}
	if (im->delay_set) {
		want.netem = im->delay_us != 0;
		want.delay_us = im->delay_us;
	}
	if (im->plug_set) {
		if (im->plug == NETLAB_PLUG_NONE) {
			want.plug = false;
		} else if (!cur.plug && im->plug != NETLAB_PLUG_BUFFER) {
			lk_err("no plug %s: start with --plug buffer", netlab_dir_name[dir]);
			return -1;
		} else {
			want.plug = true;
		}
	}
	if (netlab_qdisc_apply(ns, &cur, &want))
		return -1;
	/* A plug just made buffers already; an existing one takes the command. */
	if (im->plug_set && cur.plug && im->plug != NETLAB_PLUG_NONE)
		return netlab_plug_cmd(ns, im->plug) ? -1 : 0;
	return 0;
}

int netlab_impair_apply(struct netlab *lab, const struct netlab_impair *im)
{
	unsigned int dirs = im->dirs ? im->dirs : 3;
	int d;

	if (im->loss_set && set_loss(lab, dirs, im->loss_pct))
		return -1;
	if (!im->rate_set && !im->delay_set && !im->plug_set)
		return 0;
	for (d = 0; d < NETIMPAIR_NDIR; d++)
		if ((dirs & (1 << d)) && apply_qdiscs(lab, d, im))
			return -1;
	return 0;
}

static int read_loss(struct netlab *lab, struct netimpair_cfg cfg[2],
		     struct netimpair_cnt cnt[2])
{
	int n = lk_ncpus(), cfd, nfd, d, i, err = -1;
	struct netimpair_cnt *v = calloc(n, sizeof(*v));

	memset(cnt, 0, 2 * sizeof(*cnt));
	cfd = obj_get(lab, "impair_cfg");
	nfd = obj_get(lab, "impair_cnt");
	if (!v || cfd < 0 || nfd < 0)
		goto out;
	for (d = 0; d < NETIMPAIR_NDIR; d++) {
		__u32 key = d;

		if (bpf_map_lookup_elem(cfd, &key, &cfg[d]) ||
		    bpf_map_lookup_elem(nfd, &key, v))
			goto out;
		for (i = 0; i < n; i++) {
			cnt[d].seen += v[i].seen;
			cnt[d].dropped += v[i].dropped;
		}
	}
	err = 0;
out:
	if (cfd >= 0)
		close(cfd);
	if (nfd >= 0)
		close(nfd);
	free(v);
	return err;
}

static void print_dir(int d, bool have_loss, const struct netimpair_cfg *cfg,
		      const struct netimpair_cnt *cnt, bool have_q, const struct netlab_qdiscs *q)
{
	char rate[32] = "-", delay[32] = "-";

	lk_open_object(d == NETIMPAIR_TO_SERVER ? "to_server" : "to_client");
	lk_printf("  %-9s", netlab_dir_name[d]);
	if (have_loss) {
		lk_print_float(LK_ANY, "loss_pct", "  %7.3f%%", cfg->loss_ppm / 10000.0);
		lk_print_u64(LK_ANY, "seen", "  %10" PRIu64, cnt->seen);
		lk_print_u64(LK_ANY, "dropped", "  %8" PRIu64, cnt->dropped);
	} else {
		lk_print_null(LK_JSON, "loss_pct", NULL);
		lk_printf("  %8s  %10s  %8s", "-", "-", "-");
	}
	if (have_q && q->tbf) {
		netlab_format_rate(q->rate_bps, rate, sizeof(rate));
		lk_print_u64(LK_JSON, "rate_bps", NULL, q->rate_bps);
	} else {
		lk_print_null(LK_JSON, "rate_bps", NULL);
	}
	lk_printf("  %-10s", rate);
	if (have_q && q->netem) {
		if (q->delay_us % 1000)
			snprintf(delay, sizeof(delay), "%.3fms", q->delay_us / 1000.0);
		else
			snprintf(delay, sizeof(delay), "%" PRIu64 "ms", q->delay_us / 1000);
		lk_print_float(LK_JSON, "delay_ms", NULL, q->delay_us / 1000.0);
	} else {
		lk_print_null(LK_JSON, "delay_ms", NULL);
	}
	lk_printf("  %-8s", delay);
	lk_print_bool(LK_JSON, "plug", NULL, have_q && q->plug);
	lk_printf("  %s", have_q && q->plug ? "yes" : "-");
	if (have_q && q->foreign[0])
		lk_print_str(LK_ANY, "other_qdisc", "  (other qdisc: %s)", q->foreign);
	lk_printf("\n");
	lk_close_object();
}

void netlab_impair_status(struct netlab *lab)
{
	struct netimpair_cfg cfg[2] = {};
	struct netimpair_cnt cnt[2] = {};
	struct netlab_qdiscs q[2];
	bool have_loss, have_q[2], tcx;
	char path[256];
	int d;

	have_loss = !read_loss(lab, cfg, cnt);
	for (d = 0; d < NETIMPAIR_NDIR; d++)
		have_q[d] = !netlab_qdisc_read(lab->ns[sender[d]], &q[d]);
	lk_print_bool(LK_JSON, "loss_attached", NULL, have_loss);
	lk_printf("  %-9s  %8s  %10s  %8s  %-10s  %-8s  %s\n", "direction", "loss",
		  "seen", "dropped", "rate", "delay", "plug");
	for (d = 0; d < NETIMPAIR_NDIR; d++)
		print_dir(d, have_loss, &cfg[d], &cnt[d], have_q[d], &q[d]);
	if (!have_loss) {
		lk_print_null(LK_JSON, "loss_hook", NULL);
		lk_printf("  (no loss program yet: --loss attaches it)\n");
		return;
	}
	/* Pinned links exist only for tcx; clsact filters stay by themselves. */
	pin_path(lab, link_pin[0], path, sizeof(path));
	tcx = !access(path, F_OK);
	lk_print_str(LK_JSON, "loss_hook", NULL, tcx ? "tcx" : "clsact");
	lk_printf("  (loss program: %s)\n", tcx ? "tcx links" : "clsact filters");
}
