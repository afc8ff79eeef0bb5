/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "ark-frontend-http-private.h"

/*
 * Bearer tokens. Only SHA-256 digests are kept: the generated local token's digest is taken when
 * it is read, and the configuration names further tokens by digest only (token.NAME =
 * SCOPE:SHA256HEX), so neither the config file nor this process's memory needs a secret in
 * clear beyond the token file itself. A presented token is hashed once and compared with every
 * digest in constant time, so the time taken says nothing about how much of a token was right.
 */

#define ARK_FRONTEND_HTTP_TOKEN_FILE "api-token"
#define ARK_FRONTEND_HTTP_TOKEN_BYTES 32
#define ARK_FRONTEND_HTTP_DIGEST_LEN 32
#define ARK_FRONTEND_HTTP_LOCAL_TOKEN "local"
/* a hand-written token file shorter than this is refused */
#define ARK_FRONTEND_HTTP_TOKEN_MIN_LEN 16

typedef struct {
	gchar *name;
	guint8 digest[ARK_FRONTEND_HTTP_DIGEST_LEN];
	gboolean admin;
} ArkFrontendHttpToken;

struct _ArkFrontendHttpAuth {
	GArray *tokens; /* ArkFrontendHttpToken */
};

static void
ark_frontend_http_auth_token_clear(gpointer data)
{
	ArkFrontendHttpToken *token = data;
	g_free(token->name);
}

static void
ark_frontend_http_auth_digest(const gchar *token, gsize len,
			      guint8 digest[ARK_FRONTEND_HTTP_DIGEST_LEN])
{
	g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
	gsize digest_len = ARK_FRONTEND_HTTP_DIGEST_LEN;

	g_checksum_update(checksum, (const guchar *)token, (gssize)len);
	g_checksum_get_digest(checksum, digest, &digest_len);
}

static gboolean
ark_frontend_http_auth_random(guint8 *buf, gsize len, GError **error)
{
	gsize done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);
		if (n < 0) {
			gint errsv = errno;
			if (errsv == EINTR)
				continue;
			g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
				    "failed to get random bytes for the API token: %s",
				    g_strerror(errsv));
			return FALSE;
		}
		done += (gsize)n;
	}
	return TRUE;
}

/* reads <state_dir>/api-token, creating it (0600, 32 random bytes in hex) on first start;
 * returns the token (transfer full) */
static gchar *
ark_frontend_http_auth_load_local(const gchar *state_dir, GError **error)
{
	g_autofree gchar *path = g_build_filename(state_dir, ARK_FRONTEND_HTTP_TOKEN_FILE, NULL);
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) local_error = NULL;
	GStatBuf st;

	if (!g_file_get_contents(path, &contents, NULL, &local_error)) {
		guint8 random[ARK_FRONTEND_HTTP_TOKEN_BYTES];
		g_autoptr(GString) hex = g_string_sized_new(2 * sizeof(random) + 1);

		if (!g_error_matches(local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED, "%s",
				    local_error->message);
			return NULL;
		}
		g_clear_error(&local_error);
		if (!ark_frontend_http_auth_random(random, sizeof(random), error))
			return NULL;
		for (guint i = 0; i < sizeof(random); i++)
			g_string_append_printf(hex, "%02x", random[i]);
		memset(random, 0, sizeof(random));
		g_string_append_c(hex, '\n');
		if (!g_file_set_contents_full(path, hex->str, (gssize)hex->len,
					      G_FILE_SET_CONTENTS_CONSISTENT, 0600,
					      &local_error)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_FAILED,
				    "failed to write the API token: %s", local_error->message);
			return NULL;
		}
		g_info("wrote a new API token to %s", path);
		g_string_truncate(hex, hex->len - 1);
		return g_string_free(g_steal_pointer(&hex), FALSE);
	}
	if (g_stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		g_warning("%s can be read by other users than its owner (mode %03o); "
			  "chmod 600 it",
			  path, (guint)(st.st_mode & 0777));
	g_strstrip(contents);
	if (strlen(contents) < ARK_FRONTEND_HTTP_TOKEN_MIN_LEN ||
	    strpbrk(contents, " \t\r\n") != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "%s must hold one token of at least %d characters on one line (delete "
			    "it to have a new one generated)",
			    path, ARK_FRONTEND_HTTP_TOKEN_MIN_LEN);
		return NULL;
	}
	return g_steal_pointer(&contents);
}

static gboolean
ark_frontend_http_auth_valid_name(const gchar *name)
{
	gsize len = strlen(name);

	if (len == 0 || len > 64)
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

/* "read:<64 hex>" or "admin:<64 hex>" */
static gboolean
ark_frontend_http_auth_parse_key(const gchar *key, const gchar *value,
				 ArkFrontendHttpToken *token, GError **error)
{
	const gchar *colon = strchr(value, ':');
	const gchar *hex;

	if (colon == NULL || (strncmp(value, "read:", 5) != 0 && strncmp(value, "admin:", 6) != 0)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "%s must be SCOPE:SHA256HEX with SCOPE read or admin", key);
		return FALSE;
	}
	token->admin = value[0] == 'a';
	hex = colon + 1;
	if (strlen(hex) != 2 * ARK_FRONTEND_HTTP_DIGEST_LEN) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "%s: the digest must be 64 hex digits (the SHA-256 of the token, "
			    "e.g. from sha256sum)",
			    key);
		return FALSE;
	}
	for (guint i = 0; i < ARK_FRONTEND_HTTP_DIGEST_LEN; i++) {
		gint hi = g_ascii_xdigit_value(hex[2 * i]);
		gint lo = g_ascii_xdigit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "%s: the digest must be 64 hex digits", key);
			return FALSE;
		}
		token->digest[i] = (guint8)(hi * 16 + lo);
	}
	return TRUE;
}

ArkFrontendHttpAuth *
ark_frontend_http_auth_new(const gchar *state_dir, GKeyFile *config, const gchar *group,
			   GError **error)
{
	g_autoptr(ArkFrontendHttpAuth) auth = g_new0(ArkFrontendHttpAuth, 1);
	g_auto(GStrv) keys = NULL;

	auth->tokens = g_array_new(FALSE, TRUE, sizeof(ArkFrontendHttpToken));
	g_array_set_clear_func(auth->tokens, ark_frontend_http_auth_token_clear);

	if (state_dir != NULL) {
		g_autofree gchar *secret = ark_frontend_http_auth_load_local(state_dir, error);
		ArkFrontendHttpToken token = {0};
		if (secret == NULL)
			return NULL;
		token.name = g_strdup(ARK_FRONTEND_HTTP_LOCAL_TOKEN);
		token.admin = TRUE;
		ark_frontend_http_auth_digest(secret, strlen(secret), token.digest);
		memset(secret, 0, strlen(secret));
		g_array_append_val(auth->tokens, token);
	}
	if (config != NULL && g_key_file_has_group(config, group))
		keys = g_key_file_get_keys(config, group, NULL, NULL);
	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		g_autofree gchar *value = NULL;
		ArkFrontendHttpToken token = {0};
		const gchar *name;

		if (!g_str_has_prefix(keys[i], "token."))
			continue;
		name = keys[i] + strlen("token.");
		if (!ark_frontend_http_auth_valid_name(name)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] %s: a token name is 1 to 64 of A-Z a-z 0-9 _ . -", group,
				    keys[i]);
			return NULL;
		}
		if (state_dir != NULL && g_strcmp0(name, ARK_FRONTEND_HTTP_LOCAL_TOKEN) == 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] %s: the name 'local' belongs to the generated token in "
				    "%s/" ARK_FRONTEND_HTTP_TOKEN_FILE,
				    group, keys[i], state_dir);
			return NULL;
		}
		value = g_key_file_get_string(config, group, keys[i], NULL);
		if (value == NULL)
			continue;
		g_strstrip(value);
		if (!ark_frontend_http_auth_parse_key(keys[i], value, &token, error)) {
			g_prefix_error(error, "[%s] ", group);
			return NULL;
		}
		token.name = g_strdup(name);
		g_array_append_val(auth->tokens, token);
	}
	if (auth->tokens->len == 0)
		g_warning("the HTTP API has no token: no state directory and no token.NAME key in "
			  "[%s]; every /api/v1 request will be refused",
			  group);
	return g_steal_pointer(&auth);
}

void
ark_frontend_http_auth_free(ArkFrontendHttpAuth *auth)
{
	if (auth == NULL)
		return;
	if (auth->tokens != NULL)
		g_array_unref(auth->tokens);
	g_free(auth);
}

/* the token of "Bearer TOKEN" without the spaces around it, and its length; NULL if none */
static const gchar *
ark_frontend_http_auth_parse_bearer(const gchar *authorization, gsize *out_len)
{
	const gchar *token;
	gsize len;

	if (authorization == NULL || g_ascii_strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	token = authorization + 7;
	while (*token == ' ')
		token++;
	len = strlen(token);
	while (len > 0 && token[len - 1] == ' ')
		len--;
	if (len == 0)
		return NULL;
	*out_len = len;
	return token;
}

gchar *
ark_frontend_http_auth_bearer(const gchar *authorization)
{
	gsize len = 0;
	const gchar *token = ark_frontend_http_auth_parse_bearer(authorization, &len);

	return token != NULL ? g_strndup(token, len) : NULL;
}

ArkFrontendHttpAuthResult
ark_frontend_http_auth_check(ArkFrontendHttpAuth *auth, const gchar *authorization,
			     const gchar **out_name, gboolean *out_admin)
{
	guint8 digest[ARK_FRONTEND_HTTP_DIGEST_LEN];
	const ArkFrontendHttpToken *found = NULL;
	const gchar *token;
	gsize len = 0;

	if (authorization == NULL)
		return ARK_FRONTEND_HTTP_AUTH_MISSING;
	token = ark_frontend_http_auth_parse_bearer(authorization, &len);
	if (token == NULL)
		return ARK_FRONTEND_HTTP_AUTH_INVALID;

	ark_frontend_http_auth_digest(token, len, digest);
	/* every digest is compared in full, and no comparison stops at the first difference */
	for (guint i = 0; i < auth->tokens->len; i++) {
		const ArkFrontendHttpToken *candidate =
		    &g_array_index(auth->tokens, ArkFrontendHttpToken, i);
		guint8 diff = 0;
		for (guint b = 0; b < ARK_FRONTEND_HTTP_DIGEST_LEN; b++)
			diff |= (guint8)(candidate->digest[b] ^ digest[b]);
		if (diff == 0)
			found = candidate;
	}
	if (found == NULL)
		return ARK_FRONTEND_HTTP_AUTH_INVALID;
	*out_name = found->name;
	*out_admin = found->admin;
	return ARK_FRONTEND_HTTP_AUTH_OK;
}
