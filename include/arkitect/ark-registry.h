/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined(__ARKITECT_H_INSIDE__) && !defined(ARK_COMPILATION)
#error "Only <arkitect/arkitect.h> can be included directly."
#endif

#include <glib-object.h>

#include "ark-api.h"
#include "ark-executor.h"

G_BEGIN_DECLS

/* what a plugin can provide; values are part of the ABI: append only */
typedef enum {
	ARK_CAPABILITY_EXECUTOR,
	ARK_CAPABILITY_STORE,
	ARK_CAPABILITY_POLICY,
	ARK_CAPABILITY_COORDINATOR,
	ARK_CAPABILITY_FRONTEND,
	ARK_CAPABILITY_FUNCTION, /* an in-process #ArkFunction for the thread executor */
	/*< private >*/
	ARK_CAPABILITY_LAST
} ArkCapability;

ARK_API const gchar *ark_capability_to_string(ArkCapability kind);

/**
 * ArkRegistry:
 *
 * Everything the loaded plugins provide, by capability and name. Plugins fill it from their
 * startup(); the engine instantiates from it. Registration happens on the main thread; function
 * lookups are thread-safe once startup is over.
 */
#define ARK_TYPE_REGISTRY (ark_registry_get_type())
ARK_API G_DECLARE_FINAL_TYPE(ArkRegistry, ark_registry, ARK, REGISTRY, GObject)

ARK_API ArkRegistry *ark_registry_new(void);

/* @type must implement the capability's interface (ArkExecutor, ArkStore, ArkPolicy,
 * ArkCoordinator, ArkFrontend); names are [a-z0-9][a-z0-9_-]* and unique per capability:
 * ARK_ERROR_EXISTS names the plugin that registered it first */
ARK_API gboolean ark_registry_add_type(ArkRegistry *self, const gchar *plugin_name,
				       ArkCapability kind, const gchar *name, GType type,
				       GError **error);
ARK_API gboolean ark_registry_add_function(ArkRegistry *self, const gchar *plugin_name,
					   const gchar *name, ArkFunction func,
					   gpointer user_data, GError **error);

/* G_TYPE_INVALID when unknown */
ARK_API GType ark_registry_lookup_type(ArkRegistry *self, ArkCapability kind, const gchar *name);
ARK_API ArkFunction ark_registry_lookup_function(ArkRegistry *self, const gchar *name,
						 gpointer *out_user_data);
/* which plugin provided it, or NULL */
ARK_API const gchar *ark_registry_get_provider(ArkRegistry *self, ArkCapability kind,
					       const gchar *name);
/* sorted names (transfer full) */
ARK_API GStrv ark_registry_list_names(ArkRegistry *self, ArkCapability kind);
/* "kind:name" entries provided by one plugin, in registration order (transfer full) */
ARK_API GStrv ark_registry_list_provided_by(ArkRegistry *self, const gchar *plugin_name);
/* drops everything a plugin registered (its startup failed) */
ARK_API void ark_registry_remove_plugin(ArkRegistry *self, const gchar *plugin_name);

/* a new instance of a registered type; ARK_ERROR_NOT_FOUND lists the known names */
ARK_API gpointer ark_registry_create(ArkRegistry *self, ArkCapability kind, const gchar *name,
				     GError **error);

/**
 * ArkConfigKey:
 *
 * One key a plugin reads from its configuration group. The daemon checks every configuration
 * file against the keys registered: an unknown key or a value of the wrong type is reported with
 * its file and line before anything starts. A @name ending in ".*" matches every key with that
 * prefix (e.g. "token.*").
 */
typedef enum {
	ARK_CONFIG_STRING,
	ARK_CONFIG_BOOLEAN,  /* true or false */
	ARK_CONFIG_UINT,     /* decimal, within [min, max] when max > 0 */
	ARK_CONFIG_DURATION, /* ark_duration_parse(): "30s", "5m", "1h30m" */
	ARK_CONFIG_SIZE,     /* ark_size_parse(): "512k", "16M", "1G" */
	ARK_CONFIG_ENUM,     /* one of @choices */
	ARK_CONFIG_STRING_LIST, /* ';'-separated, as GKeyFile writes lists */
	ARK_CONFIG_NUMBER,	/* a decimal number, within [min, max] when max > 0 */
} ArkConfigType;

typedef struct {
	const gchar *name;
	ArkConfigType type;
	const gchar *default_value; /* as it would be written in the file, or NULL */
	const gchar *description;   /* one sentence, for docs and error messages */
	const gchar *const *choices; /* ARK_CONFIG_ENUM: NULL-terminated */
	guint64 min;		     /* ARK_CONFIG_UINT, ARK_CONFIG_SIZE */
	guint64 max;		     /* 0 for no maximum */
	/*< private >*/
	gpointer reserved[4];
} ArkConfigKey;

/* declares the keys of @group; @keys must stay valid (static) while the plugin is loaded.
 * ARK_ERROR_EXISTS when another plugin declared @group. (ABI 1.1) */
ARK_API gboolean ark_registry_add_config_keys(ArkRegistry *self, const gchar *plugin_name,
					      const gchar *group, const ArkConfigKey *keys,
					      guint n_keys, GError **error);
/* the key declared for @group and @key, or NULL */
ARK_API const ArkConfigKey *ark_registry_lookup_config_key(ArkRegistry *self, const gchar *group,
							   const gchar *key);
/* the keys declared for @group (transfer none), or NULL */
ARK_API const ArkConfigKey *ark_registry_get_config_keys(ArkRegistry *self, const gchar *group,
							 guint *out_n_keys);
/* sorted names of the groups declared (transfer full) */
ARK_API GStrv ark_registry_list_config_groups(ArkRegistry *self);
/* checks @value against @key's type; ARK_ERROR_INVALID_ARGUMENT saying what is expected */
ARK_API gboolean ark_config_key_check_value(const ArkConfigKey *key, const gchar *value,
					    GError **error);

/**
 * ArkHttpRequestInfo:
 * @actor: the name of the bearer token the request came with, or NULL when the mount is open
 * @admin: the token has the admin scope
 * @origin: the peer, as audit records name it ("http 127.0.0.1:41234")
 * @request_id: the HTTP frontend's request id (also in the X-Request-Id response header)
 * @agent_id: the agent whose token the request came with, or NULL; @actor is then the agent
 *   id too and @admin FALSE: the mount must let it do only what an agent may (ABI 1.3)
 *
 * What the HTTP frontend learnt about a request before it handed it to a mount. (ABI 1.2)
 */
typedef struct {
	const gchar *actor;
	gboolean admin;
	const gchar *origin;
	const gchar *request_id;
	const gchar *agent_id;
	/*< private >*/
	gpointer reserved[3];
} ArkHttpRequestInfo;

/**
 * ArkHttpMountFunc:
 * @message: the libsoup 3 `SoupServerMessage` (the SDK does not depend on libsoup)
 * @path: the request path, under the mount's prefix
 * @info: what the HTTP frontend checked
 * @user_data: as registered
 *
 * Answers one request to a mount, on the main thread, once its whole body is read. It may pause
 * @message and answer later, or stream, as any libsoup handler. (ABI 1.2)
 */
typedef void (*ArkHttpMountFunc)(gpointer message, const gchar *path,
				 const ArkHttpRequestInfo *info, gpointer user_data);

/*
 * The GSocket of a request's connection, as object data of its SoupServerMessage: the HTTP
 * frontend moves some connections from one of its server threads to the main thread, and
 * libsoup's soup_server_message_get_socket() is NULL for those. (ABI 1.4)
 */
#define ARK_HTTP_MESSAGE_SOCKET "ark-http-socket"

/**
 * ArkHttpMount:
 * @path: the path served: requests to it or below it ("/mcp", "/mcp/...") go to @handler
 * @handler: answers the requests
 * @max_body_size: the largest request body accepted (413 above), 0 for the HTTP frontend's own
 * @open: requests need no bearer token (the plugin then authenticates itself, or the operator
 *   chose so in its configuration)
 *
 * A path on the daemon's HTTP server that another plugin serves: the plugin owning the server
 * (frontend-http) routes it, checks the bearer token, the scope-independent limits and the body
 * size exactly as for its own API, then calls @handler. (ABI 1.2)
 */
typedef struct {
	const gchar *path;
	ArkHttpMountFunc handler;
	guint64 max_body_size;
	gboolean open;
	/*< private >*/
	gpointer reserved[4];
} ArkHttpMount;

/* adds @mount (copied) for @plugin_name; @user_data is released with @destroy when the mount is
 * removed. ARK_ERROR_EXISTS when the path is taken, ARK_ERROR_INVALID_ARGUMENT when it is not an
 * absolute path without a trailing slash. Main thread only. (ABI 1.2) */
ARK_API gboolean ark_registry_add_http_mount(ArkRegistry *self, const gchar *plugin_name,
					     const ArkHttpMount *mount, gpointer user_data,
					     GDestroyNotify destroy, GError **error);
ARK_API void ark_registry_remove_http_mount(ArkRegistry *self, const gchar *path);
/* the mount serving @path (its own path or one below it), or NULL; @out_user_data its data.
 * Main thread only. (ABI 1.2) */
ARK_API const ArkHttpMount *ark_registry_lookup_http_mount(ArkRegistry *self, const gchar *path,
							   gpointer *out_user_data);

G_END_DECLS
