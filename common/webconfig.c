// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#include <crypt.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "webconfig.h"

static char *read_all(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r"), *mem;
	int ch;

	if (!f)
		return NULL;
	mem = open_memstream(&buf, &len);
	if (!mem) {
		fclose(f);
		return NULL;
	}
	while ((ch = getc(f)) != EOF)
		putc(ch, mem);
	fclose(f);
	fclose(mem);
	return buf;
}

/* A value: quotes removed. */
static char *unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = 0;
		return v + 1;
	}
	return v;
}

/* A path relative to the config file's directory. */
static char *rel_path(const char *cfg, const char *p)
{
	char dir[PATH_MAX], *out;

	if (p[0] == '/')
		return strdup(p);
	snprintf(dir, sizeof(dir), "%s", cfg);
	if (asprintf(&out, "%s/%s", dirname(dir), p) < 0)
		return NULL;
	return out;
}

static int load_pem(const char *cfg, const char *file, char **pem)
{
	char *path = rel_path(cfg, file);

	*pem = path ? read_all(path) : NULL;
	if (!*pem) {
		lk_err("web config %s: cannot read %s: %s", cfg, path ? path : file, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

int lk_webconfig_load(const char *path, struct lk_webconfig *wc)
{
	enum { NONE, TLS, USERS } sect = NONE;
	char *text = read_all(path), *line, *save = NULL, *cert = NULL, *key = NULL;
	int lineno = 0, err = -1;

	memset(wc, 0, sizeof(*wc));
	if (!text) {
		lk_err("cannot read web config %s: %s", path, strerror(errno));
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *k, *v, *hash = strstr(line, " #"), *end;
		size_t indent;

		lineno++;
		if (line[0] == '#')
			continue;
		if (hash)
			*hash = 0;
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\r'))
			*--end = 0;
		indent = strspn(line, " ");
		if (!line[indent])
			continue;
		if (line[indent] == '\t' || !strchr(line, ':')) {
			lk_err("web config %s:%d: expected 'key: value' indented with spaces", path, lineno);
			goto out;
		}
		k = line + indent;
		v = strchr(k, ':');
		*v++ = 0;
		v += strspn(v, " ");
		v = unquote(v);
		if (!indent) {
			if (*v && strcmp(v, "{}") && (!strcmp(k, "tls_server_config") ||
						     !strcmp(k, "basic_auth_users"))) {
				lk_err("web config %s:%d: %s takes indented keys", path, lineno, k);
				goto out;
			}
			if (!strcmp(k, "tls_server_config"))
				sect = TLS;
			else if (!strcmp(k, "basic_auth_users"))
				sect = USERS;
			else {
				lk_err("web config %s:%d: unknown or unsupported key %s (tls_server_config, basic_auth_users)",
				       path, lineno, k);
				goto out;
			}
			continue;
		}
		if (sect == NONE || !*v) {
			lk_err("web config %s:%d: unexpected %s", path, lineno, k);
			goto out;
		}
		if (sect == TLS && !strcmp(k, "cert_file") && !cert) {
			cert = strdup(v);
		} else if (sect == TLS && !strcmp(k, "key_file") && !key) {
			key = strdup(v);
		} else if (sect == TLS) {
			lk_err("web config %s:%d: unsupported tls_server_config key %s (cert_file, key_file)",
			       path, lineno, k);
			goto out;
		} else {
			if (strncmp(v, "$2y$", 4) && strncmp(v, "$2b$", 4) && strncmp(v, "$2a$", 4)) {
				lk_err("web config %s:%d: the password of %s is not a bcrypt hash", path, lineno, k);
				goto out;
			}
			if (wc->nusers == LK_WEB_MAX_USERS) {
				lk_err("web config %s:%d: more than %d users", path, lineno, LK_WEB_MAX_USERS);
				goto out;
			}
			wc->users[wc->nusers].name = strdup(k);
			wc->users[wc->nusers].hash = strdup(v);
			wc->nusers++;
		}
	}
	if (!cert != !key) {
		lk_err("web config %s: tls_server_config needs both cert_file and key_file", path);
		goto out;
	}
	if (cert && (load_pem(path, cert, &wc->cert_pem) || load_pem(path, key, &wc->key_pem)))
		goto out;
	err = 0;
out:
	free(cert);
	free(key);
	free(text);
	return err;
}

/*
 * bcrypt costs tens of ms by design: remember the last password that
 * matched each user, so that a scrape every second does not pay it.
 */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static char *good[LK_WEB_MAX_USERS];

static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= a[i] ^ b[i];
	return !d;
}

bool lk_webconfig_check(const struct lk_webconfig *wc, const char *user, const char *pass)
{
	struct crypt_data *cd;
	const char *h;
	bool ok;
	int i;

	for (i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, user))
			break;
	if (i == wc->nusers)
		return false;
	pthread_mutex_lock(&cache_mu);
	ok = good[i] && same(good[i], pass);
	pthread_mutex_unlock(&cache_mu);
	if (ok)
		return true;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	h = crypt_r(pass, wc->users[i].hash, cd);
	ok = h && h[0] != '*' && same(h, wc->users[i].hash);
	free(cd);
	if (ok) {
		pthread_mutex_lock(&cache_mu);
		free(good[i]);
		good[i] = strdup(pass);
		pthread_mutex_unlock(&cache_mu);
	}
	return ok;
}
