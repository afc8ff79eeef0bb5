/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect.h>

/*
 * Earliest deadline first. A task's deadline is absolute ("2026-11-24T12:00:00Z") or relative to
 * its run's submission ("+15m"); the engine turns both into the entry's absolute deadline. Tasks
 * without a deadline come after every task with one, in ready order, as do equal deadlines.
 *
 * Admission control: at submission the engine works out, for every task with a deadline, when
 * it could finish at the soonest (the work queued ahead of it spread over the executor's slots,
 * plus its longest chain of needs by estimates). When that is after the deadline, "admission"
 * decides: off accepts the run, flag accepts it and records it as at risk, refuse fails the
 * submission with the reason.
 */

#define ARK_TYPE_POLICY_EDF (ark_policy_edf_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyEdf, ark_policy_edf, ARK, POLICY_EDF, ArkHeapPolicy)

typedef enum {
	ARK_POLICY_EDF_ADMISSION_OFF,
	ARK_POLICY_EDF_ADMISSION_FLAG,
	ARK_POLICY_EDF_ADMISSION_REFUSE,
} ArkPolicyEdfAdmission;

static const gchar *const ark_policy_edf_admissions[] = {"off", "flag", "refuse", NULL};

struct _ArkPolicyEdf {
	ArkHeapPolicy parent_instance;
	ArkPolicyEdfAdmission admission;
};

static void ark_policy_edf_iface_init(ArkPolicyInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkPolicyEdf, ark_policy_edf, ARK_TYPE_HEAP_POLICY,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_POLICY, ark_policy_edf_iface_init))

static gint
ark_policy_edf_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkQueueEntry *ea = a;
	const ArkQueueEntry *eb = b;
	/* no deadline (0) sorts after every deadline */
	guint64 ka = ea->deadline > 0 ? (guint64)ea->deadline : G_MAXUINT64;
	guint64 kb = eb->deadline > 0 ? (guint64)eb->deadline : G_MAXUINT64;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static gboolean
ark_policy_edf_setup(ArkPolicy *policy, GKeyFile *config, const gchar *group, GError **error)
{
	ArkPolicyEdf *self = ARK_POLICY_EDF(policy);
	g_autofree gchar *value = NULL;

	if (config == NULL || group == NULL || !g_key_file_has_key(config, group, "admission", NULL))
		return TRUE;
	value = g_key_file_get_string(config, group, "admission", NULL);
	if (value != NULL)
		g_strstrip(value);
	for (guint i = 0; value != NULL && ark_policy_edf_admissions[i] != NULL; i++) {
		if (strcmp(value, ark_policy_edf_admissions[i]) == 0) {
			self->admission = (ArkPolicyEdfAdmission)i;
			return TRUE;
		}
	}
	g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
		    "[%s] admission must be off, flag or refuse", group);
	return FALSE;
}

static ArkAdmission
ark_policy_edf_admit(ArkPolicy *policy, const ArkQueueEntry *entry, ArkTimestamp earliest_finish)
{
	ArkPolicyEdf *self = ARK_POLICY_EDF(policy);

	if (entry->deadline == 0 || earliest_finish <= entry->deadline)
		return ARK_ADMISSION_ACCEPT;
	switch (self->admission) {
	case ARK_POLICY_EDF_ADMISSION_FLAG:
		return ARK_ADMISSION_FLAG;
	case ARK_POLICY_EDF_ADMISSION_REFUSE:
		return ARK_ADMISSION_REFUSE;
	default:
		return ARK_ADMISSION_ACCEPT;
	}
}

static void
ark_policy_edf_iface_init(ArkPolicyInterface *iface)
{
	iface->setup = ark_policy_edf_setup;
	iface->admit = ark_policy_edf_admit;
}

static void
ark_policy_edf_class_init(ArkPolicyEdfClass *klass)
{
	ARK_HEAP_POLICY_CLASS(klass)->compare = ark_policy_edf_compare;
}

static void
ark_policy_edf_init(ArkPolicyEdf *self)
{
	self->admission = ARK_POLICY_EDF_ADMISSION_FLAG;
}

#define ARK_TYPE_POLICY_EDF_PLUGIN (ark_policy_edf_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyEdfPlugin, ark_policy_edf_plugin, ARK, POLICY_EDF_PLUGIN, ArkPlugin)

struct _ArkPolicyEdfPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicyEdfPlugin, ark_policy_edf_plugin, ARK_TYPE_PLUGIN)

static const ArkConfigKey ark_policy_edf_config_keys[] = {
    {"admission", ARK_CONFIG_ENUM, "flag",
     "what happens to a run with a deadline that can not be met given the current load: off "
     "accepts it, flag accepts it and records it as at risk, refuse fails the submission",
     .choices = ark_policy_edf_admissions},
};

static gboolean
ark_policy_edf_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_config_keys(registry, ark_plugin_get_name(plugin), "policy-edf",
					  ark_policy_edf_config_keys,
					  G_N_ELEMENTS(ark_policy_edf_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin), ARK_CAPABILITY_POLICY,
				     "edf", ARK_TYPE_POLICY_EDF, error);
}

static void
ark_policy_edf_plugin_class_init(ArkPolicyEdfPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_policy_edf_plugin_startup;
}

static void
ark_policy_edf_plugin_init(ArkPolicyEdfPlugin *self)
{
}

ARK_PLUGIN_DEFINE("policy-edf", ark_policy_edf_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "earliest deadline first, with admission control")
