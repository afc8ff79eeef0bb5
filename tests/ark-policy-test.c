/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-test-utils.h"

static ArkPolicy *
ark_policy_test_new(const gchar *name, GKeyFile *config)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *group = g_strdup_printf("policy-%s", name);
	ArkPolicy *policy = ark_registry_create(registry, ARK_CAPABILITY_POLICY, name, &error);
	g_assert_no_error(error);
	g_assert_true(ark_policy_setup(policy, config, group, &error));
	g_assert_no_error(error);
	return policy;
}

static ArkQueueEntry *
ark_policy_test_entries(guint n)
{
	ArkQueueEntry *e = g_new0(ArkQueueEntry, n);
	for (guint i = 0; i < n; i++) {
		e[i].seq = i + 1;
		e[i].heap_index = ARK_HEAP_NOT_IN_HEAP;
	}
	return e;
}

static void
ark_policy_test_fifo(void)
{
	g_autoptr(ArkPolicy) p = ark_policy_test_new("fifo", NULL);
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(5);

	/* enqueued out of order, comes out by sequence; removal keeps the rest in order */
	ark_policy_enqueue(p, &e[3]);
	ark_policy_enqueue(p, &e[0]);
	ark_policy_enqueue(p, &e[4]);
	ark_policy_enqueue(p, &e[1]);
	ark_policy_enqueue(p, &e[2]);
	g_assert_cmpuint(ark_policy_get_length(p), ==, 5);
	g_assert_true(ark_policy_remove(p, &e[2]));
	g_assert_false(ark_policy_remove(p, &e[2]));
	g_assert_true(ark_policy_peek(p) == &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[1]);
	g_assert_true(ark_policy_dequeue(p) == &e[3]);
	g_assert_true(ark_policy_dequeue(p) == &e[4]);
	g_assert_null(ark_policy_dequeue(p));
}

static void
ark_policy_test_priority(void)
{
	g_autoptr(ArkPolicy) p = ark_policy_test_new("priority", NULL);
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(4);
	const ArkTimestamp t0 = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC;

	for (guint i = 0; i < 4; i++)
		e[i].ready_at = t0;
	e[0].priority = 1;
	e[1].priority = 10;
	e[2].priority = 10; /* same as e[1]: older sequence first */
	e[3].priority = -5;
	for (guint i = 0; i < 4; i++)
		ark_policy_enqueue(p, &e[i]);
	g_assert_true(ark_policy_dequeue(p) == &e[1]);
	g_assert_true(ark_policy_dequeue(p) == &e[2]);
	g_assert_true(ark_policy_dequeue(p) == &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[3]);
}

static void
ark_policy_test_priority_aging(void)
{
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(ArkPolicy) p = NULL;
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(2);
	const ArkTimestamp t0 = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC;

	/* at 2 points per second, a priority-0 task waiting 10 s more beats priority 15 */
	g_key_file_set_double(config, "policy-priority", "aging-rate", 2.0);
	p = ark_policy_test_new("priority", config);
	e[0].priority = 0;
	e[0].ready_at = t0;
	e[1].priority = 15;
	e[1].ready_at = t0 + 10 * G_USEC_PER_SEC;
	ark_policy_enqueue(p, &e[1]);
	ark_policy_enqueue(p, &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[1]);
}

static void
ark_policy_test_priority_bad_config(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkPolicy) p =
	    ark_registry_create(registry, ARK_CAPABILITY_POLICY, "priority", NULL);

	g_key_file_set_string(config, "policy-priority", "aging-rate", "fast");
	g_assert_false(ark_policy_setup(p, config, "policy-priority", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "aging-rate"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/policy/fifo", ark_policy_test_fifo);
	g_test_add_func("/ark/policy/priority", ark_policy_test_priority);
	g_test_add_func("/ark/policy/priority-aging", ark_policy_test_priority_aging);
	g_test_add_func("/ark/policy/priority-bad-config", ark_policy_test_priority_bad_config);
	return g_test_run();
}
