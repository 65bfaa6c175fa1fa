// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * A deliberately slow tcpreq-compatible echo server for tcplat's tests:
 * after each reply it waits READ_DELAY_MS before reading again, so the
 * next request sits in the kernel's receive buffer that long, and it
 * takes SERVICE_MS between reading a request and replying.
 *
 *	tcplat_slowsrv IP PORT READ_DELAY_MS SERVICE_MS
 *
 * One thread per connection; ends with SIGTERM/SIGINT and prints
 * "served N" (replies sent) on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR_LEN		24
#define MAX_PAYLOAD	(1 << 20)

static double read_delay_ms, service_ms;
static atomic_ulong served;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void sleep_ms(double ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6) };

	while (ms > 0 && nanosleep(&ts, &ts) && errno == EINTR && !stop)
		;
}

/* Read exactly @len bytes; 0 on success, -1 on EOF or error. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, (char *)buf + got, len - got, 0);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t sent = 0;
	ssize_t n;

	while (sent < len) {
		n = send(fd, (const char *)buf + sent, len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		sent += n;
	}
	return 0;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned char *msg = malloc(HDR_LEN + MAX_PAYLOAD);
	uint32_t len;

	while (msg && !stop) {
		if (read_full(fd, msg, HDR_LEN))
			break;
		memcpy(&len, msg + 4, sizeof(len));	/* little-endian hosts */
		if (len > MAX_PAYLOAD || read_full(fd, msg + HDR_LEN, len))
			break;
		sleep_ms(service_ms);
		msg[3] = 2;	/* reply: same length, sequence and timestamp */
		if (write_full(fd, msg, HDR_LEN + len))
			break;
		atomic_fetch_add(&served, 1);
		sleep_ms(read_delay_ms);
	}
	free(msg);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction act = { .sa_handler = on_signal };
	int one = 1, lfd, fd;
	pthread_t t;

	if (argc != 5) {
		fprintf(stderr, "usage: tcplat_slowsrv IP PORT READ_DELAY_MS SERVICE_MS\n");
		return 2;
	}
	sa.sin_port = htons(atoi(argv[2]));
	read_delay_ms = atof(argv[3]);
	service_ms = atof(argv[4]);
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "tcplat_slowsrv: bad address %s\n", argv[1]);
		return 2;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 128)) {
		perror("tcplat_slowsrv: bind/listen");
		return 1;
	}
	while (!stop) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(t);
	}
	printf("served %lu\n", atomic_load(&served));
	return 0;
}
