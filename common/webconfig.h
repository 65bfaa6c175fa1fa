/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0) */
#ifndef LK_WEBCONFIG_H
#define LK_WEBCONFIG_H

#include <stdbool.h>

/*
 * --web-config FILE, the Prometheus exporter toolkit's web configuration
 * for the parts latkit serves, in this YAML subset:
 *
 *	tls_server_config:
 *	  cert_file: server.crt     # relative to the file's directory
 *	  key_file: server.key
 *	basic_auth_users:
 *	  alice: $2y$10$...         # bcrypt (htpasswd -B, $2y$/$2b$/$2a$)
 *
 * Comments, blank lines, quoted values.  Anything else is an error.
 */
#define LK_WEB_MAX_USERS 64

struct lk_webconfig {
	char *cert_pem;		/* NULL: no TLS */
	char *key_pem;
	int nusers;		/* 0: no auth */
	struct {
		char *name;
		char *hash;
	} users[LK_WEB_MAX_USERS];
};

/* One line on stderr and -1 when the file is unreadable or malformed. */
int lk_webconfig_load(const char *path, struct lk_webconfig *wc);
/* Whether @user's password is @pass (bcrypt through crypt(3)); thread-safe. */
bool lk_webconfig_check(const struct lk_webconfig *wc, const char *user, const char *pass);

#endif
