// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "httpd.h"
#include "log.h"

#ifdef LK_NO_HTTPD
/* STATIC=1 builds: no static GnuTLS stack to link libmicrohttpd with. */
int lk_httpd_prepare(const char *listen, const char *web_config)
{
	lk_err("--listen: this build has no HTTP server (STATIC=1 builds leave libmicrohttpd out)");
	return -1;
}

int lk_httpd_start(void)
{
	return -1;
}

void lk_httpd_stop(void)
{
}
#else
#include <pthread.h>
#include <microhttpd.h>
#include "metrics.h"
#include "webconfig.h"

/* Bounds on what clients can hold: connections, time, header memory. */
#define MAX_CONNS	32
#define TIMEOUT_S	10
#define CONN_MEMORY	(32 * 1024)

static struct {
	int fd;
	char where[128];
	bool have_config;
	struct lk_webconfig wc;
	struct MHD_Daemon *d;
} h = { .fd = -1 };

static const char CT_PROM[] = "text/plain; version=0.0.4; charset=utf-8";
static const char CT_OM[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/* "[ADDR]:PORT", "ADDR:PORT", ":PORT" or "PORT"; ADDR by default 127.0.0.1. */
static int parse_listen(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= hlen)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(close - s - 1), s + 1);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon && (size_t)(colon - s) >= hlen)
			return -1;
		if (colon)
			snprintf(host, hlen, "%.*s", (int)(colon - s), s);
		else
			host[0] = 0;
		if (strchr(host, ':'))
			return -1;	/* IPv6 needs its brackets */
	}
	if (!host[0])
		snprintf(host, hlen, "127.0.0.1");
	snprintf(port, plen, "%s", colon ? colon + 1 : s);
	return port[0] && strspn(port, "0123456789") == strlen(port) &&
	       atol(port) > 0 && atol(port) < 65536 ? 0 : -1;
}

int lk_httpd_prepare(const char *listen_on, const char *web_config)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai;
	char host[64], port[16];
	int one = 1, err;

	if (web_config) {
		if (lk_webconfig_load(web_config, &h.wc))
			return -1;
		h.have_config = true;
	}
	if (h.wc.cert_pem && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		lk_err("--web-config: this libmicrohttpd has no TLS");
		return -1;
	}
	if (parse_listen(listen_on, host, sizeof(host), port, sizeof(port))) {
		lk_err("invalid --listen '%s' ([ADDR]:PORT, [::1]:PORT for IPv6)", listen_on);
		return -1;
	}
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		lk_err("--listen %s: %s", listen_on, gai_strerror(err));
		return -1;
	}
	snprintf(h.where, sizeof(h.where), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
		 host, port);
	h.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h.fd >= 0)
		setsockopt(h.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (h.fd >= 0 && ai->ai_family == AF_INET6)
		setsockopt(h.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (h.fd < 0 || bind(h.fd, ai->ai_addr, ai->ai_addrlen) || listen(h.fd, 64)) {
		lk_err("cannot listen on %s: %s", h.where, strerror(errno));
		freeaddrinfo(ai);
		if (h.fd >= 0)
			close(h.fd);
		h.fd = -1;
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_UNAUTHORIZED)
		ret = MHD_queue_basic_auth_fail_response(c, "latkit", r);
	else
		ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool authorized(struct MHD_Connection *c)
{
	char *pass = NULL, *user;
	bool ok;

	if (!h.wc.nusers)
		return true;
	user = MHD_basic_auth_get_username_password(c, &pass);
	ok = user && pass && lk_webconfig_check(&h.wc, user, pass);
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

/* OpenMetrics when the Accept header lists it with a weight above 0. */
static bool wants_openmetrics(struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	const char *p = a ? strstr(a, "application/openmetrics-text") : NULL;
	const char *end, *q;

	if (!p)
		return false;
	end = strchr(p, ',');
	q = strstr(p, "q=");
	return !q || (end && q > end) || atof(q + 2) > 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version,
			      const char *upload, size_t *upload_size, void **req_cls)
{
	static int seen;
	struct MHD_Response *r;
	enum MHD_Result ret;
	bool om;
	size_t len = 0;
	char *body;

	if (!*req_cls) {	/* headers only so far */
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_size) {	/* a body nobody asked for: dropped */
		*upload_size = 0;
		return MHD_YES;
	}
	if (!authorized(c))
		return reply(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized\n");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "Not found: latkit serves /metrics\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed\n");
	om = wants_openmetrics(c);
	body = lk_metrics_fetch(om, &len);
	if (!body)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "No metrics yet\n");
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, om ? CT_OM : CT_PROM);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	if (lk_verbose) {
		fprintf(stderr, "%s: http: ", program_invocation_short_name);
		vfprintf(stderr, fmt, ap);
	}
}

int lk_httpd_start(void)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_ERROR_LOG;
	sigset_t all, old;

	if (h.fd < 0)
		return -1;
	if (h.wc.cert_pem)
		flags |= MHD_USE_TLS;
	/* The server's threads take no signals: they are the main loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	h.d = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
			       MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			       MHD_OPTION_LISTEN_SOCKET, h.fd,
			       MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNS,
			       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)TIMEOUT_S,
			       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
			       h.wc.cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
			       h.wc.cert_pem, MHD_OPTION_HTTPS_MEM_KEY, h.wc.key_pem,
			       MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h.d) {
		lk_err("cannot serve metrics on %s%s", h.where,
		       h.wc.cert_pem ? " (check the TLS certificate and key)" : "");
		return -1;
	}
	h.fd = -1;	/* the daemon closes it when it stops */
	lk_info("serving metrics on %s://%s/metrics%s", h.wc.cert_pem ? "https" : "http",
		h.where, h.wc.nusers ? " (basic auth)" : "");
	return 0;
}

void lk_httpd_stop(void)
{
	if (h.d)
		MHD_stop_daemon(h.d);
	h.d = NULL;
	if (h.fd >= 0)
		close(h.fd);
	h.fd = -1;
}
#endif
