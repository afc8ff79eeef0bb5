/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <arkitect/arkitect.h>

typedef struct {
	ArkCapability kind;
	gchar *name;
	gchar *plugin;
	GType type;
	ArkFunction func;
	gpointer user_data;
} ArkRegistryEntry;

struct _ArkRegistry {
	GObject parent_instance;
	GPtrArray *entries; /* registration order */
	GHashTable *index;  /* "kind:name" -> entry */
	GRWLock lock;	    /* function lookups come from worker threads */
	GHashTable *config; /* group -> ArkRegistryConfig */
	GPtrArray *mounts;  /* ArkRegistryMount, main thread only */
};

typedef struct {
	ArkHttpMount mount; /* its path points at @path */
	gchar *path;
	gchar *plugin;
	gpointer user_data;
	GDestroyNotify destroy;
} ArkRegistryMount;

static void
ark_registry_mount_free(ArkRegistryMount *mount)
{
	if (mount->destroy != NULL)
		mount->destroy(mount->user_data);
	g_free(mount->path);
	g_free(mount->plugin);
	g_free(mount);
}

typedef struct {
	gchar *plugin;
	const ArkConfigKey *keys;
	guint n_keys;
} ArkRegistryConfig;

static void
ark_registry_config_free(ArkRegistryConfig *config)
{
	g_free(config->plugin);
	g_free(config);
}

G_DEFINE_FINAL_TYPE(ArkRegistry, ark_registry, G_TYPE_OBJECT)

static const gchar *ark_registry_capabilities[] = {
    "executor", "store", "policy", "coordinator", "frontend", "function",
};
G_STATIC_ASSERT(G_N_ELEMENTS(ark_registry_capabilities) == ARK_CAPABILITY_LAST);

static int
ark_registry_strv_compare(const void *a, const void *b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

const gchar *
ark_capability_to_string(ArkCapability kind)
{
	if ((guint)kind >= ARK_CAPABILITY_LAST)
		return "unknown";
	return ark_registry_capabilities[kind];
}

static void
ark_registry_entry_free(ArkRegistryEntry *entry)
{
	g_free(entry->name);
	g_free(entry->plugin);
	g_free(entry);
}

static gchar *
ark_registry_key(ArkCapability kind, const gchar *name)
{
	return g_strdup_printf("%s:%s", ark_capability_to_string(kind), name);
}

static GType
ark_registry_interface_for(ArkCapability kind)
{
	switch (kind) {
	case ARK_CAPABILITY_EXECUTOR:
		return ARK_TYPE_EXECUTOR;
	case ARK_CAPABILITY_STORE:
		return ARK_TYPE_STORE;
	case ARK_CAPABILITY_POLICY:
		return ARK_TYPE_POLICY;
	case ARK_CAPABILITY_COORDINATOR:
		return ARK_TYPE_COORDINATOR;
	case ARK_CAPABILITY_FRONTEND:
		return ARK_TYPE_FRONTEND;
	default:
		return G_TYPE_INVALID;
	}
}

static gboolean
ark_registry_name_is_valid(const gchar *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > 64)
		return FALSE;
	if (!g_ascii_islower(name[0]) && !g_ascii_isdigit(name[0]))
		return FALSE;
	for (const gchar *p = name; *p != '\0'; p++) {
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '-' && *p != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean
ark_registry_add(ArkRegistry *self, ArkRegistryEntry *entry_in, GError **error)
{
	g_autofree gchar *key = NULL;
	ArkRegistryEntry *existing;
	g_autoptr(GRWLockWriterLocker) locker = NULL;

	if (!ark_registry_name_is_valid(entry_in->name)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "invalid %s name '%s': use lower-case letters, digits, '-' and '_'",
			    ark_capability_to_string(entry_in->kind), entry_in->name);
		ark_registry_entry_free(entry_in);
		return FALSE;
	}
	key = ark_registry_key(entry_in->kind, entry_in->name);
	locker = g_rw_lock_writer_locker_new(&self->lock);
	existing = g_hash_table_lookup(self->index, key);
	if (existing != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "%s '%s' is already provided by plugin %s",
			    ark_capability_to_string(entry_in->kind), entry_in->name,
			    existing->plugin);
		ark_registry_entry_free(entry_in);
		return FALSE;
	}
	g_hash_table_insert(self->index, g_steal_pointer(&key), entry_in);
	g_ptr_array_add(self->entries, entry_in);
	return TRUE;
}

gboolean
ark_registry_add_type(ArkRegistry *self, const gchar *plugin_name, ArkCapability kind,
		      const gchar *name, GType type, GError **error)
{
	ArkRegistryEntry *entry;
	GType iface;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), FALSE);
	g_return_val_if_fail(plugin_name != NULL, FALSE);
	g_return_val_if_fail(name != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	iface = ark_registry_interface_for(kind);
	if (iface == G_TYPE_INVALID) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "capability %s can not be registered as a type",
			    ark_capability_to_string(kind));
		return FALSE;
	}
	if (!g_type_is_a(type, iface) || G_TYPE_IS_ABSTRACT(type)) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "type %s of %s '%s' does not implement %s", g_type_name(type),
			    ark_capability_to_string(kind), name, g_type_name(iface));
		return FALSE;
	}
	entry = g_new0(ArkRegistryEntry, 1);
	entry->kind = kind;
	entry->name = g_strdup(name);
	entry->plugin = g_strdup(plugin_name);
	entry->type = type;
	return ark_registry_add(self, entry, error);
}

gboolean
ark_registry_add_function(ArkRegistry *self, const gchar *plugin_name, const gchar *name,
			  ArkFunction func, gpointer user_data, GError **error)
{
	ArkRegistryEntry *entry;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), FALSE);
	g_return_val_if_fail(plugin_name != NULL, FALSE);
	g_return_val_if_fail(name != NULL, FALSE);
	g_return_val_if_fail(func != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	entry = g_new0(ArkRegistryEntry, 1);
	entry->kind = ARK_CAPABILITY_FUNCTION;
	entry->name = g_strdup(name);
	entry->plugin = g_strdup(plugin_name);
	entry->func = func;
	entry->user_data = user_data;
	return ark_registry_add(self, entry, error);
}

static ArkRegistryEntry *
ark_registry_lookup(ArkRegistry *self, ArkCapability kind, const gchar *name)
{
	/* the thread executor looks its function up per attempt: the key is built on the stack,
	 * not printed; no registered name is longer than 64 characters */
	gchar key[96];
	const gchar *capability = ark_capability_to_string(kind);
	gsize cap_len = strlen(capability);
	gsize name_len;

	if (name == NULL)
		return NULL;
	name_len = strlen(name);
	if (name_len > 64)
		return NULL;
	memcpy(key, capability, cap_len);
	key[cap_len] = ':';
	memcpy(key + cap_len + 1, name, name_len + 1);
	return g_hash_table_lookup(self->index, key);
}

GType
ark_registry_lookup_type(ArkRegistry *self, ArkCapability kind, const gchar *name)
{
	ArkRegistryEntry *entry;
	g_autoptr(GRWLockReaderLocker) locker = NULL;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), G_TYPE_INVALID);
	locker = g_rw_lock_reader_locker_new(&self->lock);
	entry = ark_registry_lookup(self, kind, name);
	return entry != NULL ? entry->type : G_TYPE_INVALID;
}

ArkFunction
ark_registry_lookup_function(ArkRegistry *self, const gchar *name, gpointer *out_user_data)
{
	ArkRegistryEntry *entry;
	g_autoptr(GRWLockReaderLocker) locker = NULL;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	locker = g_rw_lock_reader_locker_new(&self->lock);
	entry = ark_registry_lookup(self, ARK_CAPABILITY_FUNCTION, name);
	if (entry == NULL)
		return NULL;
	if (out_user_data != NULL)
		*out_user_data = entry->user_data;
	return entry->func;
}

const gchar *
ark_registry_get_provider(ArkRegistry *self, ArkCapability kind, const gchar *name)
{
	ArkRegistryEntry *entry;
	g_autoptr(GRWLockReaderLocker) locker = NULL;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	locker = g_rw_lock_reader_locker_new(&self->lock);
	entry = ark_registry_lookup(self, kind, name);
	return entry != NULL ? entry->plugin : NULL;
}

static gint
ark_registry_compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

GStrv
ark_registry_list_names(ArkRegistry *self, ArkCapability kind)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GRWLockReaderLocker) locker = NULL;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	locker = g_rw_lock_reader_locker_new(&self->lock);
	for (guint i = 0; i < self->entries->len; i++) {
		ArkRegistryEntry *entry = g_ptr_array_index(self->entries, i);
		if (entry->kind == kind)
			g_ptr_array_add(names, g_strdup(entry->name));
	}
	g_ptr_array_sort(names, ark_registry_compare_names);
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

GStrv
ark_registry_list_provided_by(ArkRegistry *self, const gchar *plugin_name)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GRWLockReaderLocker) locker = NULL;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	locker = g_rw_lock_reader_locker_new(&self->lock);
	for (guint i = 0; i < self->entries->len; i++) {
		ArkRegistryEntry *entry = g_ptr_array_index(self->entries, i);
		if (g_strcmp0(entry->plugin, plugin_name) == 0)
			g_ptr_array_add(names, ark_registry_key(entry->kind, entry->name));
	}
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

void
ark_registry_remove_plugin(ArkRegistry *self, const gchar *plugin_name)
{
	g_autoptr(GRWLockWriterLocker) locker = NULL;

	g_return_if_fail(ARK_IS_REGISTRY(self));
	locker = g_rw_lock_writer_locker_new(&self->lock);
	for (guint i = self->entries->len; i > 0; i--) {
		ArkRegistryEntry *entry = g_ptr_array_index(self->entries, i - 1);
		if (g_strcmp0(entry->plugin, plugin_name) == 0) {
			g_autofree gchar *key = ark_registry_key(entry->kind, entry->name);
			g_hash_table_remove(self->index, key);
			g_ptr_array_remove_index(self->entries, i - 1);
		}
	}
	{
		GHashTableIter iter;
		gpointer value;
		g_hash_table_iter_init(&iter, self->config);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			if (g_strcmp0(((ArkRegistryConfig *)value)->plugin, plugin_name) == 0)
				g_hash_table_iter_remove(&iter);
		}
	}
	for (guint i = self->mounts->len; i > 0; i--) {
		ArkRegistryMount *mount = g_ptr_array_index(self->mounts, i - 1);
		if (g_strcmp0(mount->plugin, plugin_name) == 0)
			g_ptr_array_remove_index(self->mounts, i - 1);
	}
}

gpointer
ark_registry_create(ArkRegistry *self, ArkCapability kind, const gchar *name, GError **error)
{
	GType type;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	type = ark_registry_lookup_type(self, kind, name);
	if (type == G_TYPE_INVALID) {
		g_auto(GStrv) known = ark_registry_list_names(self, kind);
		g_autofree gchar *list = g_strjoinv(", ", known);
		g_set_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND, "unknown %s '%s' (known: %s)",
			    ark_capability_to_string(kind), name != NULL ? name : "(null)",
			    list[0] != '\0' ? list : "none");
		return NULL;
	}
	return g_object_new(type, NULL);
}

static void
ark_registry_finalize(GObject *object)
{
	ArkRegistry *self = ARK_REGISTRY(object);
	g_hash_table_unref(self->index);
	g_hash_table_unref(self->config);
	g_ptr_array_unref(self->mounts);
	g_ptr_array_unref(self->entries);
	g_rw_lock_clear(&self->lock);
	G_OBJECT_CLASS(ark_registry_parent_class)->finalize(object);
}

static void
ark_registry_class_init(ArkRegistryClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_registry_finalize;
}

static void
ark_registry_init(ArkRegistry *self)
{
	self->entries = g_ptr_array_new_with_free_func((GDestroyNotify)ark_registry_entry_free);
	self->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->config = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)ark_registry_config_free);
	self->mounts = g_ptr_array_new_with_free_func((GDestroyNotify)ark_registry_mount_free);
	g_rw_lock_init(&self->lock);
}

ArkRegistry *
ark_registry_new(void)
{
	return g_object_new(ARK_TYPE_REGISTRY, NULL);
}

gboolean
ark_registry_add_config_keys(ArkRegistry *self, const gchar *plugin_name, const gchar *group,
			     const ArkConfigKey *keys, guint n_keys, GError **error)
{
	ArkRegistryConfig *config;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), FALSE);
	g_return_val_if_fail(plugin_name != NULL && group != NULL, FALSE);
	g_return_val_if_fail(keys != NULL || n_keys == 0, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	config = g_hash_table_lookup(self->config, group);
	if (config != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
			    "configuration group [%s] is already declared by plugin %s", group,
			    config->plugin);
		return FALSE;
	}
	config = g_new0(ArkRegistryConfig, 1);
	config->plugin = g_strdup(plugin_name);
	config->keys = keys;
	config->n_keys = n_keys;
	g_hash_table_insert(self->config, g_strdup(group), config);
	return TRUE;
}

const ArkConfigKey *
ark_registry_lookup_config_key(ArkRegistry *self, const gchar *group, const gchar *key)
{
	ArkRegistryConfig *config;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	config = g_hash_table_lookup(self->config, group);
	if (config == NULL || key == NULL)
		return NULL;
	for (guint i = 0; i < config->n_keys; i++) {
		const gchar *name = config->keys[i].name;
		gsize len = strlen(name);
		if (len >= 2 && name[len - 2] == '.' && name[len - 1] == '*') {
			if (strncmp(key, name, len - 1) == 0 && key[len - 1] != '\0')
				return &config->keys[i];
		} else if (g_strcmp0(name, key) == 0) {
			return &config->keys[i];
		}
	}
	return NULL;
}

const ArkConfigKey *
ark_registry_get_config_keys(ArkRegistry *self, const gchar *group, guint *out_n_keys)
{
	ArkRegistryConfig *config;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	config = g_hash_table_lookup(self->config, group);
	if (out_n_keys != NULL)
		*out_n_keys = config != NULL ? config->n_keys : 0;
	return config != NULL ? config->keys : NULL;
}

GStrv
ark_registry_list_config_groups(ArkRegistry *self)
{
	GStrv groups;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	groups = (GStrv)g_hash_table_get_keys_as_array(self->config, NULL);
	for (guint i = 0; groups[i] != NULL; i++)
		groups[i] = g_strdup(groups[i]);
	qsort(groups, g_strv_length(groups), sizeof(gchar *), ark_registry_strv_compare);
	return groups;
}

static gboolean
ark_config_check_range(const ArkConfigKey *key, const gchar *value, guint64 number,
		       GError **error)
{
	if (number < key->min || (key->max > 0 && number > key->max)) {
		if (key->max > 0)
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "'%s' is out of range for %s (%" G_GUINT64_FORMAT
				    " to %" G_GUINT64_FORMAT ")",
				    value, key->name, key->min, key->max);
		else
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "'%s' is too small for %s (at least %" G_GUINT64_FORMAT ")",
				    value, key->name, key->min);
		return FALSE;
	}
	return TRUE;
}

gboolean
ark_config_key_check_value(const ArkConfigKey *key, const gchar *value, GError **error)
{
	guint64 number = 0;
	gint64 usec = 0;
	g_autoptr(GError) local_error = NULL;

	g_return_val_if_fail(key != NULL && value != NULL, FALSE);
	switch (key->type) {
	case ARK_CONFIG_STRING:
	case ARK_CONFIG_STRING_LIST:
		return TRUE;
	case ARK_CONFIG_BOOLEAN:
		if (g_strcmp0(value, "true") == 0 || g_strcmp0(value, "false") == 0)
			return TRUE;
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "'%s' is not a boolean (true or false)", value);
		return FALSE;
	case ARK_CONFIG_UINT:
		if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &number, NULL)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "'%s' is not a non-negative integer", value);
			return FALSE;
		}
		return ark_config_check_range(key, value, number, error);
	case ARK_CONFIG_SIZE:
		if (!ark_size_parse(value, &number, error))
			return FALSE;
		return ark_config_check_range(key, value, number, error);
	case ARK_CONFIG_DURATION:
		if (!ark_duration_parse(value, &usec, &local_error)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "'%s' is not a duration: %s", value, local_error->message);
			return FALSE;
		}
		return TRUE;
	case ARK_CONFIG_NUMBER: {
		gchar *end = NULL;
		gdouble d = g_ascii_strtod(value, &end);
		if (value[0] == '\0' || end == NULL || *end != '\0' || !isfinite(d)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "'%s' is not a number", value);
			return FALSE;
		}
		if (d < (gdouble)key->min || (key->max > 0 && d > (gdouble)key->max)) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "'%s' is out of range for %s", value, key->name);
			return FALSE;
		}
		return TRUE;
	}
	case ARK_CONFIG_ENUM:
		if (key->choices != NULL && g_strv_contains(key->choices, value))
			return TRUE;
		{
			g_autofree gchar *list =
			    key->choices != NULL ? g_strjoinv(", ", (GStrv)key->choices)
						 : g_strdup("none");
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "'%s' is not one of: %s", value, list);
		}
		return FALSE;
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_INTERNAL, "key %s has an unknown type",
		    key->name);
	return FALSE;
}

/* HTTP mounts --------------------------------------------------------------------------------- */

gboolean
ark_registry_add_http_mount(ArkRegistry *self, const gchar *plugin_name,
			    const ArkHttpMount *mount, gpointer user_data, GDestroyNotify destroy,
			    GError **error)
{
	ArkRegistryMount *entry;
	gsize len;

	g_return_val_if_fail(ARK_IS_REGISTRY(self), FALSE);
	g_return_val_if_fail(mount != NULL && mount->handler != NULL, FALSE);
	len = mount->path != NULL ? strlen(mount->path) : 0;
	if (len < 2 || mount->path[0] != '/' || mount->path[len - 1] == '/' ||
	    strchr(mount->path, '?') != NULL) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "HTTP mount path '%s' must be absolute, without a trailing slash",
			    mount->path != NULL ? mount->path : "(null)");
		return FALSE;
	}
	for (guint i = 0; i < self->mounts->len; i++) {
		ArkRegistryMount *other = g_ptr_array_index(self->mounts, i);
		if (g_strcmp0(other->path, mount->path) == 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_EXISTS,
				    "HTTP path %s is already served by plugin %s", mount->path,
				    other->plugin);
			return FALSE;
		}
	}
	entry = g_new0(ArkRegistryMount, 1);
	entry->mount = *mount;
	entry->path = g_strdup(mount->path);
	entry->mount.path = entry->path;
	entry->plugin = g_strdup(plugin_name);
	entry->user_data = user_data;
	entry->destroy = destroy;
	g_ptr_array_add(self->mounts, entry);
	return TRUE;
}

void
ark_registry_remove_http_mount(ArkRegistry *self, const gchar *path)
{
	g_return_if_fail(ARK_IS_REGISTRY(self));
	for (guint i = 0; i < self->mounts->len; i++) {
		ArkRegistryMount *entry = g_ptr_array_index(self->mounts, i);
		if (g_strcmp0(entry->path, path) == 0) {
			g_ptr_array_remove_index(self->mounts, i);
			return;
		}
	}
}

const ArkHttpMount *
ark_registry_lookup_http_mount(ArkRegistry *self, const gchar *path, gpointer *out_user_data)
{
	g_return_val_if_fail(ARK_IS_REGISTRY(self), NULL);
	if (path == NULL)
		return NULL;
	for (guint i = 0; i < self->mounts->len; i++) {
		ArkRegistryMount *entry = g_ptr_array_index(self->mounts, i);
		gsize len = strlen(entry->path);
		if (strncmp(path, entry->path, len) == 0 && (path[len] == '\0' || path[len] == '/')) {
			if (out_user_data != NULL)
				*out_user_data = entry->user_data;
			return &entry->mount;
		}
	}
	return NULL;
}
