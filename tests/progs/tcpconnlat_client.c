// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The oracle of tcpconnlat's tests: connect N times, one after the other,
 * and print each connect()'s own duration on CLOCK_MONOTONIC, read just
 * before and just after the blocking call:
 *
 *	ok 123.4 40312		connected in 123.4 us from local port 40312
 *	err ECONNREFUSED 88.0 40314	failed with that errno after 88.0 us
 *
 *   tcpconnlat_client [-n N] ADDR PORT     connect N times (default 1)
 *   tcpconnlat_client -l PORT [-n N]       accept N connections (0: until
 *                                          killed), closing each at once
 *
 * With -l, "listening" is printed once the socket listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static const char *errname(int e)
{
	switch (e) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNRESET: return "ECONNRESET";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	default: return strerror(e);
	}
}

static int serve(int port, long n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0), c;
	long i;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024)) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (i = 0; !n || i < n; i++) {
		c = accept(fd, NULL, NULL);
		if (c < 0) {
			perror("accept");
			return 1;
		}
		close(c);
	}
	printf("accepted %ld\n", i);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	long n = 1, i;
	int opt, listen_port = 0;

	while ((opt = getopt(argc, argv, "n:l:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'l')
			listen_port = atoi(optarg);
		else
			return 2;
	}
	if (listen_port)
		return serve(listen_port, n);
	if (optind + 2 != argc || inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: %s [-n N] ADDR PORT | -l PORT [-n N]\n", argv[0]);
		return 2;
	}
	sa.sin_port = htons(atoi(argv[optind + 1]));
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), rc, e;
		struct sockaddr_in me = {};
		socklen_t len = sizeof(me);
		double t0, t1;

		if (fd < 0) {
			perror("socket");
			return 1;
		}
		t0 = now_us();
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		e = errno;
		t1 = now_us();
		getsockname(fd, (struct sockaddr *)&me, &len);
		if (rc)
			printf("err %s %.1f %u\n", errname(e), t1 - t0, ntohs(me.sin_port));
		else
			printf("ok %.1f %u\n", t1 - t0, ntohs(me.sin_port));
		fflush(stdout);
		close(fd);
	}
	return 0;
}
