/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arkitect/arkitect.h>

/*
 * Highest priority first, with aging so that low priorities are not starved: a task waiting for
 * t seconds competes as priority + t * aging-rate. Because every queued task ages at the same
 * rate, the order between two tasks never changes while they wait, so the heap key is static:
 * priority - ready_at * rate (the common "+ now * rate" term cancels out).
 */

#define ARK_TYPE_POLICY_PRIORITY (ark_policy_priority_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyPriority, ark_policy_priority, ARK, POLICY_PRIORITY, ArkHeapPolicy)

struct _ArkPolicyPriority {
	ArkHeapPolicy parent_instance;
	gdouble aging_rate; /* priority points per second of waiting */
};

static void ark_policy_priority_iface_init(ArkPolicyInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkPolicyPriority, ark_policy_priority, ARK_TYPE_HEAP_POLICY,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_POLICY,
						    ark_policy_priority_iface_init))

#define ARK_POLICY_PRIORITY_DEFAULT_AGING 1.0 /* one point per second */

static gdouble
ark_policy_priority_key(ArkPolicyPriority *self, const ArkQueueEntry *entry)
{
	return (gdouble)entry->priority -
	       ((gdouble)entry->ready_at / G_USEC_PER_SEC) * self->aging_rate;
}

static gint
ark_policy_priority_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	ArkPolicyPriority *self = user_data;
	const ArkQueueEntry *ea = a;
	const ArkQueueEntry *eb = b;
	gdouble ka = ark_policy_priority_key(self, ea);
	gdouble kb = ark_policy_priority_key(self, eb);

	if (ka != kb)
		return ka > kb ? -1 : 1;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static gboolean
ark_policy_priority_setup(ArkPolicy *policy, GKeyFile *config, const gchar *group,
			  GError **error)
{
	ArkPolicyPriority *self = ARK_POLICY_PRIORITY(policy);
	g_autoptr(GError) local_error = NULL;
	gdouble rate;

	if (config == NULL || group == NULL || !g_key_file_has_key(config, group, "aging-rate", NULL))
		return TRUE;
	rate = g_key_file_get_double(config, group, "aging-rate", &local_error);
	if (local_error != NULL || rate < 0 || rate > 1e6) {
		g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
			    "[%s] aging-rate must be a number between 0 and 1000000", group);
		return FALSE;
	}
	if (ark_policy_get_length(ARK_POLICY(self)) > 0) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_BUSY,
				    "aging-rate can not change while tasks are queued");
		return FALSE;
	}
	self->aging_rate = rate;
	return TRUE;
}

static void
ark_policy_priority_iface_init(ArkPolicyInterface *iface)
{
	iface->setup = ark_policy_priority_setup;
}

static void
ark_policy_priority_class_init(ArkPolicyPriorityClass *klass)
{
	ARK_HEAP_POLICY_CLASS(klass)->compare = ark_policy_priority_compare;
}

static void
ark_policy_priority_init(ArkPolicyPriority *self)
{
	self->aging_rate = ARK_POLICY_PRIORITY_DEFAULT_AGING;
}

#define ARK_TYPE_POLICY_PRIORITY_PLUGIN (ark_policy_priority_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyPriorityPlugin, ark_policy_priority_plugin, ARK,
		     POLICY_PRIORITY_PLUGIN, ArkPlugin)

struct _ArkPolicyPriorityPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicyPriorityPlugin, ark_policy_priority_plugin, ARK_TYPE_PLUGIN)

static const ArkConfigKey ark_policy_priority_config_keys[] = {
    {"aging-rate", ARK_CONFIG_NUMBER, "1",
     "priority points a waiting task gains per second, so low priorities are not starved",
     .min = 0, .max = 1000000},
};

static gboolean
ark_policy_priority_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_config_keys(registry, ark_plugin_get_name(plugin), "policy-priority",
					  ark_policy_priority_config_keys,
					  G_N_ELEMENTS(ark_policy_priority_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin), ARK_CAPABILITY_POLICY,
				     "priority", ARK_TYPE_POLICY_PRIORITY, error);
}

static void
ark_policy_priority_plugin_class_init(ArkPolicyPriorityPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_policy_priority_plugin_startup;
}

static void
ark_policy_priority_plugin_init(ArkPolicyPriorityPlugin *self)
{
}

ARK_PLUGIN_DEFINE("policy-priority", ark_policy_priority_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "priority scheduling policy with aging")
