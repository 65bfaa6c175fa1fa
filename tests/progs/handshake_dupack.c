// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * Handshakes whose final ACK reaches the server twice at once, from two
 * CPUs: the kernel can then build two child sockets for one request, and
 * frees the one that loses the race into the established table.  A tool
 * must count the request's open and SYN-ACK retransmissions once.
 *
 *   handshake_dupack [-n N] [-r R] [-b BASE] SRC DST PORT
 *
 * Run in the client's namespace, with every packet to it dropped at its
 * ingress (netlab --dir to-client --loss 100), so that its kernel never
 * answers the server: handshakes are made by hand on raw sockets, and
 * the server's SYN-ACKs are read from a packet socket for every protocol
 * (ETH_P_ALL), which sees them before tc's ingress drops them; one for
 * ETH_P_IP would not.  N handshakes (default 64) start at once from
 * ports BASE on (default 40000); once each has had R SYN-ACKs resent
 * (default 1), two threads pinned to two CPUs send its final ACK
 * together, 3 ms after the previous handshake's, then each is reset.
 * Prints one line at the end:
 *
 *	handshakes 64 synacks_resent 64 within_1us 60
 *
 * synacks_resent: SYN-ACKs seen beyond each handshake's first, until
 * each had R + 1; within_1us: handshakes whose two ACKs left within 1 us
 * of each other.
 * Exit 2: fewer than two CPUs.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include "clock.h"

#define MAX_HS		1024

static struct in_addr src, dst;
static int dport, base = 40000;
/* The first two CPUs this process may run on: one sender on each. */
static int cpus[2];
/* One raw socket per sender: a socket's lock would order the two sends. */
static int raw[3];
static struct tcphdr *acks;	/* the final ACK of each handshake */
static long long *when_ns;	/* when both threads send it */
static int nhs;
static long long *sent_ns[2];	/* when each thread sent each ACK */

struct hs {
	uint32_t isn, peer_isn;
	int synacks;
};

/* The TCP checksum, over the pseudo-header and a header with no options. */
static uint16_t csum(const struct tcphdr *th)
{
	unsigned char b[12 + sizeof(*th)];
	uint32_t sum = 0;
	size_t i;

	memcpy(b, &src.s_addr, 4);
	memcpy(b + 4, &dst.s_addr, 4);
	b[8] = 0;
	b[9] = IPPROTO_TCP;
	b[10] = 0;
	b[11] = sizeof(*th);
	memcpy(b + 12, th, sizeof(*th));
	for (i = 0; i < sizeof(b); i += 2)
		sum += b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

static void build(struct tcphdr *th, int sport, uint32_t seq, uint32_t ack, int flags)
{
	memset(th, 0, sizeof(*th));
	th->source = htons(sport);
	th->dest = htons(dport);
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = sizeof(*th) / 4;
	th->syn = !!(flags & TH_SYN);
	th->ack = !!(flags & TH_ACK);
	th->rst = !!(flags & TH_RST);
	th->window = htons(65535);
	th->check = csum(th);
}

static void send_pkt(int fd, const void *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = dst };

	if (sendto(fd, p, sizeof(struct tcphdr), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("sendto");
		exit(1);
	}
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(2);
	}
}

/*
 * Each sender sleeps until just before a handshake's time, spins on the
 * clock to it, and sends its ACK: the two copies leave within about a
 * microsecond, each processed by the receiving namespace on its CPU.
 */
static void *sender(void *arg)
{
	long long now;
	int i;

	pin(cpus[(long)arg]);
	for (i = 0; i < nhs; i++) {
		sleep_until_ns(when_ns[i] - 300 * 1000);
		do
			now = now_ns();
		while (now < when_ns[i]);
		sent_ns[(long)arg][i] = now;
		send_pkt(raw[(long)arg], &acks[i]);
	}
	return NULL;
}

/* A SYN-ACK from DST:PORT to SRC, from the packet socket. */
static void read_synacks(int ps, struct hs *h, int n, int want, int secs)
{
	unsigned char buf[2048];
	time_t end = time(NULL) + secs;
	int done = 0, i;

	while (time(NULL) < end) {
		struct pollfd pfd = { .fd = ps, .events = POLLIN };
		const struct iphdr *ip = (void *)buf;
		const struct tcphdr *th;
		ssize_t len;
		int idx;

		for (done = 0, i = 0; i < n; i++)
			done += h[i].synacks >= want;
		if (done == n)
			return;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		len = recv(ps, buf, sizeof(buf), 0);
		if (len < (ssize_t)sizeof(*ip) || ip->protocol != IPPROTO_TCP ||
		    ip->saddr != dst.s_addr || ip->daddr != src.s_addr ||
		    len < ip->ihl * 4 + (ssize_t)sizeof(*th))
			continue;
		th = (const void *)(buf + ip->ihl * 4);
		idx = ntohs(th->dest) - base;
		if (ntohs(th->source) != dport || !th->syn || !th->ack || idx < 0 || idx >= n ||
		    ntohl(th->ack_seq) != h[idx].isn + 1)
			continue;
		h[idx].peer_isn = ntohl(th->seq);
		h[idx].synacks++;
	}
	fprintf(stderr, "handshake_dupack: %d of %d handshakes had %d SYN-ACKs in %d s\n",
		done, n, want, secs);
	exit(1);
}

int main(int argc, char **argv)
{
	long long start;
	struct tcphdr th;
	struct hs *h;
	pthread_t t[2];
	long resent = 0;
	int n = 64, r = 1, opt, ps, i, j, together = 0;
	cpu_set_t allowed;

	while ((opt = getopt(argc, argv, "n:r:b:")) != -1) {
		if (opt == 'n')
			n = atoi(optarg);
		else if (opt == 'b')
			base = atoi(optarg);
		else if (opt == 'r')
			r = atoi(optarg);
		else
			return 1;
	}
	if (argc - optind != 3 || n < 1 || n > MAX_HS || r < 1 || base < 1 || base + n > 65536 ||
	    !inet_pton(AF_INET, argv[optind], &src) || !inet_pton(AF_INET, argv[optind + 1], &dst)) {
		fprintf(stderr, "usage: handshake_dupack [-n N] [-r R] [-b BASE] SRC DST PORT\n");
		return 1;
	}
	dport = atoi(argv[optind + 2]);
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		perror("sched_getaffinity");
		return 1;
	}
	for (i = 0, j = 0; i < CPU_SETSIZE && j < 2; i++)
		if (CPU_ISSET(i, &allowed))
			cpus[j++] = i;
	if (j < 2) {
		fprintf(stderr, "handshake_dupack: needs two CPUs\n");
		return 2;
	}
	for (i = 0; i < 3; i++)
		raw[i] = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	ps = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (raw[0] < 0 || raw[1] < 0 || raw[2] < 0 || ps < 0) {
		perror("socket");
		return 1;
	}
	h = calloc(n, sizeof(*h));
	if (!h)
		return 1;
	srandom(getpid());
	for (i = 0; i < n; i++) {
		h[i].isn = random();
		build(&th, base + i, h[i].isn, 0, TH_SYN);
		send_pkt(raw[2], &th);
	}
	read_synacks(ps, h, n, 1 + r, 30);
	acks = calloc(n, sizeof(*acks));
	when_ns = calloc(n, sizeof(*when_ns));
	sent_ns[0] = calloc(n, sizeof(**sent_ns));
	sent_ns[1] = calloc(n, sizeof(**sent_ns));
	if (!acks || !when_ns || !sent_ns[0] || !sent_ns[1])
		return 1;
	nhs = n;
	start = now_ns();
	for (i = 0; i < n; i++) {
		build(&acks[i], base + i, h[i].isn + 1, h[i].peer_isn + 1, TH_ACK);
		when_ns[i] = start + (i + 1) * 3000000LL;
	}
	for (i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, sender, (void *)(long)i))
			return 1;
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < n; i++) {
		build(&th, base + i, h[i].isn + 1, 0, TH_RST);
		send_pkt(raw[2], &th);
		resent += h[i].synacks - 1;
	}
	for (i = 0; i < n; i++) {
		long long d = sent_ns[0][i] - sent_ns[1][i];

		if (d < 1000 && d > -1000)
			together++;
	}
	printf("handshakes %d synacks_resent %ld within_1us %d\n", n, resent, together);
	return 0;
}
