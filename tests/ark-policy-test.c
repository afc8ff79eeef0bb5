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

/* in every test the entries are declared before the policy: cleanups run in reverse, so the
 * policy (whose heaps write into the entries they hold) goes first */
static void
ark_policy_test_fifo(void)
{
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(5);
	g_autoptr(ArkPolicy) p = ark_policy_test_new("fifo", NULL);

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
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(4);
	g_autoptr(ArkPolicy) p = ark_policy_test_new("priority", NULL);
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
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(2);
	g_autoptr(ArkPolicy) p = NULL;
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

static void
ark_policy_test_sjf(void)
{
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(5);
	g_autoptr(ArkPolicy) p = ark_policy_test_new("sjf", NULL);

	e[0].estimate = 0; /* unknown: after every known estimate */
	e[1].estimate = 30 * G_USEC_PER_SEC;
	e[2].estimate = 5 * G_USEC_PER_SEC;
	e[3].estimate = 30 * G_USEC_PER_SEC; /* same as e[1]: ready later, starts later */
	e[4].estimate = 0;
	for (guint i = 0; i < 5; i++)
		ark_policy_enqueue(p, &e[i]);
	g_assert_true(ark_policy_peek(p) == &e[2]);
	/* positions as explain shows them: 1 is next */
	g_assert_cmpuint(ark_policy_get_position(p, &e[2]), ==, 1);
	g_assert_cmpuint(ark_policy_get_position(p, &e[3]), ==, 3);
	g_assert_cmpuint(ark_policy_get_position(p, &e[4]), ==, 5);
	g_assert_true(ark_policy_dequeue(p) == &e[2]);
	g_assert_cmpuint(ark_policy_get_position(p, &e[2]), ==, 0);
	g_assert_true(ark_policy_remove(p, &e[3]));
	g_assert_true(ark_policy_dequeue(p) == &e[1]);
	/* given back (it did not fit), it is first again */
	ark_policy_unget(p, &e[1]);
	g_assert_true(ark_policy_dequeue(p) == &e[1]);
	g_assert_true(ark_policy_dequeue(p) == &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[4]);
	g_assert_null(ark_policy_dequeue(p));
	g_assert_false(ark_policy_has_admission(p));
}

static void
ark_policy_test_edf(void)
{
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(4);
	g_autoptr(ArkPolicy) p = ark_policy_test_new("edf", NULL);
	const ArkTimestamp t0 = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC;

	e[0].deadline = 0; /* none: after every deadline */
	e[1].deadline = t0 + 60 * G_USEC_PER_SEC;
	e[2].deadline = t0 + 10 * G_USEC_PER_SEC;
	e[3].deadline = t0 + 60 * G_USEC_PER_SEC;
	e[3].priority = 100; /* priority does not matter to edf */
	for (guint i = 0; i < 4; i++)
		ark_policy_enqueue(p, &e[3 - i]);
	g_assert_cmpuint(ark_policy_get_position(p, &e[0]), ==, 4);
	g_assert_cmpuint(ark_policy_get_position(p, &e[1]), ==, 2);
	g_assert_true(ark_policy_dequeue(p) == &e[2]);
	g_assert_true(ark_policy_dequeue(p) == &e[1]);
	g_assert_true(ark_policy_dequeue(p) == &e[3]);
	g_assert_true(ark_policy_dequeue(p) == &e[0]);

	/* admission: flag by default; nothing to say about a deadline that can be met */
	g_assert_true(ark_policy_has_admission(p));
	g_assert_cmpint(ark_policy_admit(p, &e[2], t0), ==, ARK_ADMISSION_ACCEPT);
	g_assert_cmpint(ark_policy_admit(p, &e[2], t0 + 11 * G_USEC_PER_SEC), ==,
			ARK_ADMISSION_FLAG);
	g_assert_cmpint(ark_policy_admit(p, &e[0], t0 + 11 * G_USEC_PER_SEC), ==,
			ARK_ADMISSION_ACCEPT);
}

static void
ark_policy_test_edf_admission(void)
{
	const gchar *modes[] = {"off", "flag", "refuse"};
	const ArkAdmission expect[] = {ARK_ADMISSION_ACCEPT, ARK_ADMISSION_FLAG,
				       ARK_ADMISSION_REFUSE};
	ArkQueueEntry e = {.seq = 1, .deadline = 1000, .heap_index = ARK_HEAP_NOT_IN_HEAP};

	for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
		g_autoptr(GKeyFile) config = g_key_file_new();
		g_autoptr(ArkPolicy) p = NULL;
		g_key_file_set_string(config, "policy-edf", "admission", modes[i]);
		p = ark_policy_test_new("edf", config);
		g_assert_cmpint(ark_policy_admit(p, &e, 1000), ==, ARK_ADMISSION_ACCEPT);
		g_assert_cmpint(ark_policy_admit(p, &e, 1001), ==, expect[i]);
	}
	{
		g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
		g_autoptr(GKeyFile) config = g_key_file_new();
		g_autoptr(GError) error = NULL;
		g_autoptr(ArkPolicy) p =
		    ark_registry_create(registry, ARK_CAPABILITY_POLICY, "edf", NULL);
		g_key_file_set_string(config, "policy-edf", "admission", "maybe");
		g_assert_false(ark_policy_setup(p, config, "policy-edf", &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, "admission"));
	}
}

static void
ark_policy_test_critical_path(void)
{
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(5);
	g_autoptr(ArkPolicy) p = ark_policy_test_new("critical-path", NULL);

	/* rank = longest remaining chain by estimates; ties by priority, then age */
	e[0].rank = 10 * G_USEC_PER_SEC;
	e[1].rank = 300 * G_USEC_PER_SEC;
	e[2].rank = 10 * G_USEC_PER_SEC;
	e[2].priority = 5;
	e[3].rank = 10 * G_USEC_PER_SEC;
	e[4].rank = 0;
	e[4].priority = 1000;
	for (guint i = 0; i < 5; i++)
		ark_policy_enqueue(p, &e[4 - i]);
	g_assert_cmpuint(ark_policy_get_position(p, &e[3]), ==, 4);
	g_assert_true(ark_policy_dequeue(p) == &e[1]);
	g_assert_true(ark_policy_dequeue(p) == &e[2]);
	g_assert_true(ark_policy_dequeue(p) == &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[3]);
	g_assert_true(ark_policy_dequeue(p) == &e[4]);
	g_assert_null(ark_policy_peek(p));
}

/* which run each of the next @n starts belongs to, as a string like "AABAB" */
static gchar *
ark_policy_test_drain(ArkPolicy *p, guint n)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		ArkQueueEntry *entry = ark_policy_dequeue(p);
		if (entry == NULL)
			break;
		g_string_append(out, entry->run_id);
	}
	return g_string_free(out, FALSE);
}

static void
ark_policy_test_round_robin(void)
{
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(106);
	g_autoptr(ArkPolicy) p = ark_policy_test_new("round-robin", NULL);
	g_autofree gchar *order = NULL;
	guint len;

	/* a huge run queued first does not starve two small ones queued after it */
	for (guint i = 0; i < 100; i++) {
		e[i].run_id = "A";
		ark_policy_enqueue(p, &e[i]);
	}
	for (guint i = 100; i < 106; i++) {
		e[i].run_id = i % 2 == 0 ? "B" : "C";
		ark_policy_enqueue(p, &e[i]);
	}
	g_assert_cmpuint(ark_policy_get_length(p), ==, 106);
	g_assert_true(ark_policy_peek(p) == &e[0]);
	/* positions follow the same tags: A B C A B C ...; the second task of C is 6th */
	g_assert_cmpuint(ark_policy_get_position(p, &e[0]), ==, 1);
	g_assert_cmpuint(ark_policy_get_position(p, &e[101]), ==, 3);
	g_assert_cmpuint(ark_policy_get_position(p, &e[103]), ==, 6);
	g_assert_cmpuint(ark_policy_get_position(p, &e[99]), ==, 106);
	order = ark_policy_test_drain(p, 9);
	g_assert_cmpstr(order, ==, "ABCABCABC");
	g_clear_pointer(&order, g_free);
	/* within a run, ready order */
	len = ark_policy_get_length(p);
	g_assert_cmpuint(len, ==, 97);
	{
		ArkQueueEntry *next = ark_policy_dequeue(p);
		g_assert_true(next == &e[3]);
		/* given back, the run keeps its turn */
		ark_policy_unget(p, next);
		g_assert_true(ark_policy_peek(p) == &e[3]);
	}
	/* removing queued entries keeps the count */
	g_assert_true(ark_policy_remove(p, &e[50]));
	g_assert_false(ark_policy_remove(p, &e[50]));
	g_assert_cmpuint(ark_policy_get_length(p), ==, 96);
	order = ark_policy_test_drain(p, 200);
	g_assert_cmpuint(strlen(order), ==, 96);
	g_assert_null(ark_policy_dequeue(p));
}

static void
ark_policy_test_round_robin_weights(void)
{
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(40);
	g_autoptr(ArkPolicy) p = NULL;
	g_autofree gchar *order = NULL;
	const gchar *tenants[] = {"alice", "bob"};
	guint n_alice = 0;

	/* by tenant, alice weighs 3: she gets three starts for each of bob's */
	g_key_file_set_string(config, "policy-round-robin", "share-by", "tenant");
	g_key_file_set_string(config, "policy-round-robin", "weights", "alice:3;bob=1");
	p = ark_policy_test_new("round-robin", config);
	for (guint i = 0; i < 40; i++) {
		e[i].run_id = i < 20 ? "R1" : "R2"; /* runs do not matter here */
		e[i].tenant = tenants[i % 2];
		ark_policy_enqueue(p, &e[i]);
	}
	for (guint i = 0; i < 16; i++) {
		ArkQueueEntry *entry = ark_policy_dequeue(p);
		if (g_strcmp0(entry->tenant, "alice") == 0)
			n_alice++;
	}
	g_assert_cmpuint(n_alice, ==, 12);

	/* costs are estimates: a flow of long tasks gets fewer starts */
	{
		g_autofree ArkQueueEntry *f = ark_policy_test_entries(20);
		g_autoptr(ArkPolicy) q = ark_policy_test_new("round-robin", NULL);
		for (guint i = 0; i < 20; i++) {
			f[i].run_id = i % 2 == 0 ? "L" : "S";
			f[i].estimate = (i % 2 == 0 ? 4 : 1) * G_USEC_PER_SEC;
			ark_policy_enqueue(q, &f[i]);
		}
		order = ark_policy_test_drain(q, 10);
		g_assert_cmpstr(order, ==, "LSSSSLSSSS");
	}
}

static void
ark_policy_test_round_robin_bad_config(void)
{
	const gchar *bad[][2] = {
	    {"share-by", "everyone"}, {"weights", "alice"},  {"weights", "alice=0"},
	    {"weights", "=2"},	      {"quantum", "forever"}, {"quantum", "0s"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
		g_autoptr(GKeyFile) config = g_key_file_new();
		g_autoptr(GError) error = NULL;
		g_autoptr(ArkPolicy) p =
		    ark_registry_create(registry, ARK_CAPABILITY_POLICY, "round-robin", NULL);
		g_key_file_set_string(config, "policy-round-robin", bad[i][0], bad[i][1]);
		g_assert_false(ark_policy_setup(p, config, "policy-round-robin", &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, bad[i][0]));
	}
}

static void
ark_policy_test_priority_aging_default(void)
{
	g_autofree ArkQueueEntry *e = ark_policy_test_entries(2);
	g_autoptr(ArkPolicy) p = ark_policy_test_new("priority", NULL);
	const ArkTimestamp t0 = G_GINT64_CONSTANT(1700000000) * G_USEC_PER_SEC;

	/* the default rate is one point per second: priority 0 waiting 100 s beats 50 */
	e[0].ready_at = t0;
	e[1].priority = 50;
	e[1].ready_at = t0 + 100 * G_USEC_PER_SEC;
	ark_policy_enqueue(p, &e[1]);
	ark_policy_enqueue(p, &e[0]);
	g_assert_true(ark_policy_dequeue(p) == &e[0]);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ark/policy/fifo", ark_policy_test_fifo);
	g_test_add_func("/ark/policy/priority", ark_policy_test_priority);
	g_test_add_func("/ark/policy/priority-aging", ark_policy_test_priority_aging);
	g_test_add_func("/ark/policy/priority-bad-config", ark_policy_test_priority_bad_config);
	g_test_add_func("/ark/policy/priority-aging-default", ark_policy_test_priority_aging_default);
	g_test_add_func("/ark/policy/sjf", ark_policy_test_sjf);
	g_test_add_func("/ark/policy/edf", ark_policy_test_edf);
	g_test_add_func("/ark/policy/edf-admission", ark_policy_test_edf_admission);
	g_test_add_func("/ark/policy/critical-path", ark_policy_test_critical_path);
	g_test_add_func("/ark/policy/round-robin", ark_policy_test_round_robin);
	g_test_add_func("/ark/policy/round-robin-weights", ark_policy_test_round_robin_weights);
	g_test_add_func("/ark/policy/round-robin-bad-config",
			ark_policy_test_round_robin_bad_config);
	return g_test_run();
}
