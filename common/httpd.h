/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_HTTPD_H
#define LK_HTTPD_H

/*
 * The /metrics endpoint, served by libmicrohttpd from its own threads:
 * GET (or HEAD) /metrics gets the latest snapshot (lk_metrics_fetch) in
 * OpenMetrics 1.0 when the Accept header asks for it, else Prometheus
 * text 0.0.4; another path 404, another method 405.  With a web config,
 * TLS only and basic auth (401 without valid credentials).  A slow or
 * broken client holds one connection thread until its timeout, never
 * the tool's main loop.
 */

/* Bind @listen ("[ADDR]:PORT") and read @web_config (may be NULL). */
int lk_httpd_prepare(const char *listen, const char *web_config);
int lk_httpd_start(void);
void lk_httpd_stop(void);

#endif
