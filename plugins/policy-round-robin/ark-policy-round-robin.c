/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <arkitect/arkitect.h>

/*
 * Weighted fair share between flows: a flow is a run (the default), a tenant (who submitted the
 * run) or a workflow name, as "share-by" says. Tasks of one flow start in ready order; between
 * flows the policy is start-time fair queueing, the virtual-time form of deficit round-robin:
 * each task costs its estimate (or "quantum" when it has none) divided by its flow's weight, a
 * flow's next task is tagged with max(the flow's finish tag, the virtual time) and the smallest
 * tag starts next. A run of 10,000 tasks therefore gets the same share of starts as a run of 3
 * while both have work, instead of starting all of its tasks first; a flow with weight 2 gets
 * twice the share of a flow with weight 1. Tags are integers, so unget() restores a flow exactly.
 */

#define ARK_TYPE_POLICY_ROUND_ROBIN (ark_policy_round_robin_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyRoundRobin, ark_policy_round_robin, ARK, POLICY_ROUND_ROBIN, GObject)

typedef enum {
	ARK_POLICY_ROUND_ROBIN_BY_RUN,
	ARK_POLICY_ROUND_ROBIN_BY_TENANT,
	ARK_POLICY_ROUND_ROBIN_BY_WORKFLOW,
} ArkPolicyRoundRobinShareBy;

static const gchar *const ark_policy_round_robin_share_by[] = {"run", "tenant", "workflow", NULL};

typedef struct {
	gchar *key;
	guint64 weight_milli; /* weight x 1000, at least 1 */
	ArkHeap *entries;     /* by seq */
	guint64 start;	      /* tag of the first entry, while it has entries */
	guint64 finish;	      /* tag after its last started entry */
	gsize heap_index;     /* in the policy's flow heap */
} ArkPolicyRoundRobinFlow;

struct _ArkPolicyRoundRobin {
	GObject parent_instance;
	ArkPolicyRoundRobinShareBy share_by;
	gint64 quantum;	      /* cost of a task without an estimate, microseconds */
	GHashTable *weights;  /* flow key -> weight x 1000 */
	GHashTable *flows;    /* key -> ArkPolicyRoundRobinFlow */
	ArkHeap *backlogged;  /* flows with entries, by start tag */
	guint64 vtime;	      /* start tag of the last entry started */
	guint length;
};

static void ark_policy_round_robin_iface_init(ArkPolicyInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(ArkPolicyRoundRobin, ark_policy_round_robin, G_TYPE_OBJECT,
			      G_IMPLEMENT_INTERFACE(ARK_TYPE_POLICY,
						    ark_policy_round_robin_iface_init))

#define ARK_POLICY_ROUND_ROBIN_DEFAULT_QUANTUM G_USEC_PER_SEC

static gint
ark_policy_round_robin_entry_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkQueueEntry *ea = a;
	const ArkQueueEntry *eb = b;
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static gint
ark_policy_round_robin_flow_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	const ArkPolicyRoundRobinFlow *fa = a;
	const ArkPolicyRoundRobinFlow *fb = b;
	const ArkQueueEntry *ea, *eb;

	if (fa->start != fb->start)
		return fa->start < fb->start ? -1 : 1;
	/* equal tags: the flow whose first task has waited longest */
	ea = ark_heap_peek(fa->entries);
	eb = ark_heap_peek(fb->entries);
	return ea->seq < eb->seq ? -1 : ea->seq > eb->seq ? 1 : 0;
}

static void
ark_policy_round_robin_flow_free(ArkPolicyRoundRobinFlow *flow)
{
	ark_heap_free(flow->entries);
	g_free(flow->key);
	g_free(flow);
}

static const gchar *
ark_policy_round_robin_key(ArkPolicyRoundRobin *self, const ArkQueueEntry *entry)
{
	const gchar *key;

	switch (self->share_by) {
	case ARK_POLICY_ROUND_ROBIN_BY_TENANT:
		key = entry->tenant;
		break;
	case ARK_POLICY_ROUND_ROBIN_BY_WORKFLOW:
		key = entry->workflow_name;
		break;
	default:
		key = entry->run_id;
		break;
	}
	return key != NULL ? key : "";
}

/* what starting @entry adds to its flow's tag */
static guint64
ark_policy_round_robin_cost(ArkPolicyRoundRobin *self, ArkPolicyRoundRobinFlow *flow,
			    const ArkQueueEntry *entry)
{
	guint64 cost = entry->estimate > 0 ? (guint64)entry->estimate : (guint64)self->quantum;
	return MAX(cost * 1000 / flow->weight_milli, 1);
}

static ArkPolicyRoundRobinFlow *
ark_policy_round_robin_flow(ArkPolicyRoundRobin *self, const ArkQueueEntry *entry)
{
	const gchar *key = ark_policy_round_robin_key(self, entry);
	ArkPolicyRoundRobinFlow *flow = g_hash_table_lookup(self->flows, key);
	gpointer weight;

	if (flow != NULL)
		return flow;
	flow = g_new0(ArkPolicyRoundRobinFlow, 1);
	flow->key = g_strdup(key);
	flow->weight_milli = 1000;
	if (g_hash_table_lookup_extended(self->weights, key, NULL, &weight))
		flow->weight_milli = GPOINTER_TO_UINT(weight);
	flow->entries = ark_heap_new(ark_policy_round_robin_entry_compare, NULL,
				     G_STRUCT_OFFSET(ArkQueueEntry, heap_index));
	flow->heap_index = ARK_HEAP_NOT_IN_HEAP;
	flow->finish = self->vtime;
	g_hash_table_insert(self->flows, flow->key, flow);
	return flow;
}

/* a flow that has nothing queued and no lead over the virtual time is forgotten: it would start
 * at the virtual time anyway */
static void
ark_policy_round_robin_forget_idle(ArkPolicyRoundRobin *self, ArkPolicyRoundRobinFlow *flow)
{
	if (ark_heap_get_length(flow->entries) == 0 && flow->finish <= self->vtime)
		g_hash_table_remove(self->flows, flow->key);
}

static void
ark_policy_round_robin_enqueue(ArkPolicy *policy, ArkQueueEntry *entry)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);
	ArkPolicyRoundRobinFlow *flow = ark_policy_round_robin_flow(self, entry);

	entry->policy_data = flow;
	ark_heap_push(flow->entries, entry);
	self->length++;
	if (ark_heap_get_length(flow->entries) == 1) {
		flow->start = MAX(flow->finish, self->vtime);
		ark_heap_push(self->backlogged, flow);
	} else if (ark_heap_peek(flow->entries) == entry) {
		/* an older entry came back (a retry keeps its place by seq) */
		ark_heap_update(self->backlogged, flow);
	}
}

static ArkQueueEntry *
ark_policy_round_robin_peek(ArkPolicy *policy)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);
	ArkPolicyRoundRobinFlow *flow = ark_heap_peek(self->backlogged);
	return flow != NULL ? ark_heap_peek(flow->entries) : NULL;
}

static ArkQueueEntry *
ark_policy_round_robin_dequeue(ArkPolicy *policy)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);
	ArkPolicyRoundRobinFlow *flow = ark_heap_peek(self->backlogged);
	ArkQueueEntry *entry;

	if (flow == NULL)
		return NULL;
	entry = ark_heap_pop(flow->entries);
	self->length--;
	self->vtime = MAX(self->vtime, flow->start);
	flow->finish = flow->start + ark_policy_round_robin_cost(self, flow, entry);
	if (ark_heap_get_length(flow->entries) > 0) {
		flow->start = flow->finish;
		ark_heap_update(self->backlogged, flow);
	} else {
		(void)ark_heap_pop(self->backlogged);
	}
	return entry;
}

/* the exact inverse of the dequeue that returned @entry (the virtual time stays: it only
 * matters to flows that become backlogged, and none did in between) */
static void
ark_policy_round_robin_unget(ArkPolicy *policy, ArkQueueEntry *entry)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);
	ArkPolicyRoundRobinFlow *flow = entry->policy_data;

	flow->start = flow->finish - ark_policy_round_robin_cost(self, flow, entry);
	flow->finish = flow->start;
	ark_heap_push(flow->entries, entry);
	self->length++;
	if (ark_heap_contains(self->backlogged, flow))
		ark_heap_update(self->backlogged, flow);
	else
		ark_heap_push(self->backlogged, flow);
}

static gboolean
ark_policy_round_robin_remove(ArkPolicy *policy, ArkQueueEntry *entry)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);
	ArkPolicyRoundRobinFlow *flow = entry->policy_data;
	gboolean was_first;

	if (flow == NULL || entry->heap_index == ARK_HEAP_NOT_IN_HEAP ||
	    !ark_heap_contains(flow->entries, entry))
		return FALSE;
	was_first = ark_heap_peek(flow->entries) == entry;
	(void)ark_heap_remove(flow->entries, entry);
	self->length--;
	if (ark_heap_get_length(flow->entries) == 0) {
		(void)ark_heap_remove(self->backlogged, flow);
		ark_policy_round_robin_forget_idle(self, flow);
	} else if (was_first) {
		ark_heap_update(self->backlogged, flow);
	}
	return TRUE;
}

static guint
ark_policy_round_robin_get_length(ArkPolicy *policy)
{
	return ARK_POLICY_ROUND_ROBIN(policy)->length;
}

static void
ark_policy_round_robin_task_finished(ArkPolicy *policy, const ArkQueueEntry *entry,
				     ArkTaskState state, gint64 duration)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);
	ArkPolicyRoundRobinFlow *flow =
	    g_hash_table_lookup(self->flows, ark_policy_round_robin_key(self, entry));

	/* flows of finished runs must not pile up */
	if (flow != NULL)
		ark_policy_round_robin_forget_idle(self, flow);
}

/* "name:weight" entries; weights are decimals > 0, kept to a thousandth. The name is what
 * comes before the last ':' (run ids and tenants have none; "name=weight" is taken too) */
static gboolean
ark_policy_round_robin_parse_weights(ArkPolicyRoundRobin *self, GKeyFile *config,
				     const gchar *group, GError **error)
{
	g_auto(GStrv) list = NULL;

	if (!g_key_file_has_key(config, group, "weights", NULL))
		return TRUE;
	list = g_key_file_get_string_list(config, group, "weights", NULL, NULL);
	for (guint i = 0; list != NULL && list[i] != NULL; i++) {
		gchar *item = g_strstrip(list[i]);
		gchar *eq = strrchr(item, ':');
		gchar *end = NULL;
		gdouble weight;

		if (item[0] == '\0')
			continue;
		if (eq == NULL)
			eq = strrchr(item, '=');
		if (eq != NULL)
			weight = g_ascii_strtod(eq + 1, &end);
		if (eq == NULL || eq == item || end == eq + 1 || *end != '\0' || !(weight >= 0.001) ||
		    weight > 1e6) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] weights: '%s' is not NAME:WEIGHT with a weight between "
				    "0.001 and 1000000",
				    group, item);
			return FALSE;
		}
		*eq = '\0';
		g_hash_table_insert(self->weights, g_strdup(g_strstrip(item)),
				    GUINT_TO_POINTER((guint)(weight * 1000 + 0.5)));
	}
	return TRUE;
}

static gboolean
ark_policy_round_robin_setup(ArkPolicy *policy, GKeyFile *config, const gchar *group,
			     GError **error)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);

	if (config == NULL || group == NULL)
		return TRUE;
	if (self->length > 0) {
		g_set_error_literal(error, ARK_ERROR, ARK_ERROR_BUSY,
				    "round-robin can not be set up again while tasks are queued");
		return FALSE;
	}
	if (g_key_file_has_key(config, group, "share-by", NULL)) {
		g_autofree gchar *value = g_key_file_get_string(config, group, "share-by", NULL);
		guint i;
		if (value != NULL)
			g_strstrip(value);
		for (i = 0; ark_policy_round_robin_share_by[i] != NULL; i++) {
			if (g_strcmp0(value, ark_policy_round_robin_share_by[i]) == 0)
				break;
		}
		if (ark_policy_round_robin_share_by[i] == NULL) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] share-by must be run, tenant or workflow", group);
			return FALSE;
		}
		self->share_by = (ArkPolicyRoundRobinShareBy)i;
	}
	if (g_key_file_has_key(config, group, "quantum", NULL)) {
		g_autofree gchar *value = g_key_file_get_string(config, group, "quantum", NULL);
		gint64 usec = 0;
		if (value == NULL || !ark_duration_parse(g_strstrip(value), &usec, NULL) ||
		    usec <= 0) {
			g_set_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT,
				    "[%s] quantum must be a duration greater than 0 (e.g. 1s)",
				    group);
			return FALSE;
		}
		self->quantum = usec;
	}
	return ark_policy_round_robin_parse_weights(self, config, group, error);
}

typedef struct {
	guint64 tag;
	const ArkQueueEntry *entry;
} ArkPolicyRoundRobinSlot;

static gint
ark_policy_round_robin_slot_compare(gconstpointer a, gconstpointer b)
{
	const ArkPolicyRoundRobinSlot *sa = a;
	const ArkPolicyRoundRobinSlot *sb = b;
	if (sa->tag != sb->tag)
		return sa->tag < sb->tag ? -1 : 1;
	return sa->entry->seq < sb->entry->seq ? -1 : sa->entry->seq > sb->entry->seq ? 1 : 0;
}

/*
 * Where @entry stands if nothing else arrives: every queued entry gets the tag it will start
 * with (its flow's start tag plus the costs of the entries ahead of it in the flow), and the
 * entries with smaller tags come first. O(n log n): it is for explain, not for dispatch.
 */
static guint
ark_policy_round_robin_get_position(ArkPolicy *policy, const ArkQueueEntry *entry)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(policy);
	ArkPolicyRoundRobinFlow *own = entry->policy_data;
	g_autoptr(GArray) slots = NULL;
	GHashTableIter iter;
	gpointer value;
	guint64 own_tag = 0;
	guint before = 0;

	if (own == NULL || !ark_heap_contains(own->entries, entry))
		return 0;
	slots = g_array_new(FALSE, FALSE, sizeof(ArkPolicyRoundRobinSlot));
	g_hash_table_iter_init(&iter, self->flows);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		ArkPolicyRoundRobinFlow *flow = value;
		g_autoptr(GPtrArray) queued = g_ptr_array_new();
		guint64 tag = flow->start;
		/* the heap of a flow is by seq: its copy, sorted, is its start order */
		while (ark_heap_get_length(flow->entries) > 0)
			g_ptr_array_add(queued, ark_heap_pop(flow->entries));
		for (guint i = 0; i < queued->len; i++) {
			ArkQueueEntry *e = g_ptr_array_index(queued, i);
			ArkPolicyRoundRobinSlot slot = {tag, e};
			g_array_append_val(slots, slot);
			if (e == entry)
				own_tag = tag;
			tag += ark_policy_round_robin_cost(self, flow, e);
			ark_heap_push(flow->entries, e);
		}
	}
	for (guint i = 0; i < slots->len; i++) {
		ArkPolicyRoundRobinSlot *slot = &g_array_index(slots, ArkPolicyRoundRobinSlot, i);
		ArkPolicyRoundRobinSlot mine = {own_tag, entry};
		if (slot->entry != entry && ark_policy_round_robin_slot_compare(slot, &mine) < 0)
			before++;
	}
	return before + 1;
}

static void
ark_policy_round_robin_iface_init(ArkPolicyInterface *iface)
{
	iface->setup = ark_policy_round_robin_setup;
	iface->enqueue = ark_policy_round_robin_enqueue;
	iface->peek = ark_policy_round_robin_peek;
	iface->dequeue = ark_policy_round_robin_dequeue;
	iface->remove = ark_policy_round_robin_remove;
	iface->get_length = ark_policy_round_robin_get_length;
	iface->get_position = ark_policy_round_robin_get_position;
	iface->task_finished = ark_policy_round_robin_task_finished;
	iface->unget = ark_policy_round_robin_unget;
}

static void
ark_policy_round_robin_finalize(GObject *object)
{
	ArkPolicyRoundRobin *self = ARK_POLICY_ROUND_ROBIN(object);
	ark_heap_free(self->backlogged);
	g_hash_table_unref(self->flows);
	g_hash_table_unref(self->weights);
	G_OBJECT_CLASS(ark_policy_round_robin_parent_class)->finalize(object);
}

static void
ark_policy_round_robin_class_init(ArkPolicyRoundRobinClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ark_policy_round_robin_finalize;
}

static void
ark_policy_round_robin_init(ArkPolicyRoundRobin *self)
{
	self->quantum = ARK_POLICY_ROUND_ROBIN_DEFAULT_QUANTUM;
	self->weights = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->flows = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					    (GDestroyNotify)ark_policy_round_robin_flow_free);
	self->backlogged = ark_heap_new(ark_policy_round_robin_flow_compare, NULL,
					G_STRUCT_OFFSET(ArkPolicyRoundRobinFlow, heap_index));
}

#define ARK_TYPE_POLICY_ROUND_ROBIN_PLUGIN (ark_policy_round_robin_plugin_get_type())
G_DECLARE_FINAL_TYPE(ArkPolicyRoundRobinPlugin, ark_policy_round_robin_plugin, ARK,
		     POLICY_ROUND_ROBIN_PLUGIN, ArkPlugin)

struct _ArkPolicyRoundRobinPlugin {
	ArkPlugin parent_instance;
};

G_DEFINE_FINAL_TYPE(ArkPolicyRoundRobinPlugin, ark_policy_round_robin_plugin, ARK_TYPE_PLUGIN)

static const ArkConfigKey ark_policy_round_robin_config_keys[] = {
    {"share-by", ARK_CONFIG_ENUM, "run",
     "what gets a fair share of the slots: each run, each tenant (who submitted the run) or "
     "each workflow name",
     .choices = ark_policy_round_robin_share_by},
    {"weights", ARK_CONFIG_STRING_LIST, NULL,
     "NAME:WEIGHT entries (a run id, tenant or workflow name, as share-by says); a flow's share "
     "is proportional to its weight, 1 when it is not listed"},
    {"quantum", ARK_CONFIG_DURATION, "1s",
     "what a task without an estimate costs its flow; tasks with one cost their estimate"},
};

static gboolean
ark_policy_round_robin_plugin_startup(ArkPlugin *plugin, ArkRegistry *registry, GError **error)
{
	if (!ark_registry_add_config_keys(registry, ark_plugin_get_name(plugin),
					  "policy-round-robin", ark_policy_round_robin_config_keys,
					  G_N_ELEMENTS(ark_policy_round_robin_config_keys), error))
		return FALSE;
	return ark_registry_add_type(registry, ark_plugin_get_name(plugin), ARK_CAPABILITY_POLICY,
				     "round-robin", ARK_TYPE_POLICY_ROUND_ROBIN, error);
}

static void
ark_policy_round_robin_plugin_class_init(ArkPolicyRoundRobinPluginClass *klass)
{
	ARK_PLUGIN_CLASS(klass)->startup = ark_policy_round_robin_plugin_startup;
}

static void
ark_policy_round_robin_plugin_init(ArkPolicyRoundRobinPlugin *self)
{
}

ARK_PLUGIN_DEFINE("policy-round-robin", ark_policy_round_robin_plugin_get_type, PACKAGE_VERSION,
		  "LGPL-2.1-or-later", "weighted fair share between runs, tenants or workflows")
