/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ark-test-utils.h"

/* the three in-tree coordinators, loaded from ARK_PLUGIN_DIR through the plugin loader */

typedef struct {
	ArkAgentSpec agent;
	ArkTaskSpec spec;
} ArkCoordinatorTestSpec;

static void
ark_coordinator_test_spec_init(ArkCoordinatorTestSpec *t, const gchar *mode, guint contenders)
{
	static gchar *capabilities[] = {(gchar *)"review", NULL};

	memset(t, 0, sizeof(*t));
	t->agent.capabilities = capabilities;
	t->agent.mode = (gchar *)mode;
	t->agent.contenders = contenders;
	t->agent.lease = 60 * G_USEC_PER_SEC;
	t->agent.max_handoffs = 5;
	t->spec.id = (gchar *)"review";
	t->spec.executor = (gchar *)"agent";
	t->spec.agent = &t->agent;
}

static ArkCoordinator *
ark_coordinator_test_new(const gchar *name, const gchar *strategy, GRand *rand)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *group = g_strdup_printf("coordinator-%s", name);
	ArkCoordinatorSetup setup = {name, config, group, rand, {NULL}};
	ArkCoordinator *coordinator;

	coordinator = ark_registry_create(registry, ARK_CAPABILITY_COORDINATOR, name, &error);
	g_assert_no_error(error);
	g_assert_true(ARK_IS_COORDINATOR(coordinator));
	if (strategy != NULL)
		g_key_file_set_string(config, group, "strategy", strategy);
	g_assert_true(ark_coordinator_setup(coordinator, &setup, &error));
	g_assert_no_error(error);
	return coordinator;
}

static void
ark_coordinator_test_candidate(ArkAgentCandidate *c, const gchar *id, gdouble alpha,
			       gdouble beta)
{
	memset(c, 0, sizeof(*c));
	c->agent_id = id;
	c->capability_match = 1.0;
	c->trust_alpha = alpha;
	c->trust_beta = beta;
	c->load = 0;
	c->max_load = 4;
}

static const gchar *const ark_coordinator_test_ids[] = {
    "agt_00000000000000a0", "agt_00000000000000a1", "agt_00000000000000a2",
    "agt_00000000000000a3", "agt_00000000000000a4", "agt_00000000000000a5",
    "agt_00000000000000a6", "agt_00000000000000a7", "agt_00000000000000a8",
    "agt_00000000000000a9", "agt_00000000000000b0", "agt_00000000000000b1",
    "agt_00000000000000b2", "agt_00000000000000b3", "agt_00000000000000b4",
    "agt_00000000000000b5", "agt_00000000000000b6", "agt_00000000000000b7",
    "agt_00000000000000b8", "agt_00000000000000b9",
};

static void
ark_coordinator_test_registered(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_auto(GStrv) names = ark_registry_list_names(registry, ARK_CAPABILITY_COORDINATOR);
	const ArkConfigKey *key;

	g_assert_true(g_strv_contains((const gchar *const *)names, "delegated"));
	g_assert_true(g_strv_contains((const gchar *const *)names, "competitive"));
	g_assert_true(g_strv_contains((const gchar *const *)names, "cooperative"));
	g_assert_cmpstr(ark_registry_get_provider(registry, ARK_CAPABILITY_COORDINATOR,
						  "delegated"),
			==, "coordinator-delegated");
	key = ark_registry_lookup_config_key(registry, "coordinator-delegated", "strategy");
	g_assert_nonnull(key);
	g_assert_cmpint(key->type, ==, ARK_CONFIG_ENUM);
	g_assert_cmpstr(key->default_value, ==, "thompson");
	g_assert_true(ark_config_key_check_value(key, "round-robin", NULL));
	g_assert_false(ark_config_key_check_value(key, "best", NULL));
}

static void
ark_coordinator_test_bad_strategy(void)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GKeyFile) config = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(ArkCoordinator) c =
	    ark_registry_create(registry, ARK_CAPABILITY_COORDINATOR, "delegated", NULL);
	ArkCoordinatorSetup setup = {"delegated", config, "coordinator-delegated", NULL, {NULL}};

	g_key_file_set_string(config, "coordinator-delegated", "strategy", "smartest");
	g_assert_false(ark_coordinator_setup(c, &setup, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "strategy"));
	/* no configuration at all is fine: the default */
	g_clear_error(&error);
	setup.config = NULL;
	g_assert_true(ark_coordinator_setup(c, &setup, &error));
	g_assert_no_error(error);
}

/* every coordinator and strategy, over random candidate sets: at most max_chosen (and one for
 * delegated and cooperative), distinct, in range, 0 for 0 candidates. Called through the
 * interface directly, not the wrapper, which would hide a duplicate */
static void
ark_coordinator_test_choose_contract(void)
{
	static const struct {
		const gchar *name;
		const gchar *strategy;
		guint most;
	} modes[] = {
	    {"delegated", "thompson", 1}, {"delegated", "greedy", 1},
	    {"delegated", "random", 1},	  {"delegated", "round-robin", 1},
	    {"competitive", NULL, 64},	  {"cooperative", NULL, 1},
	};
	g_autoptr(GRand) rand = g_rand_new_with_seed(11);

	for (guint m = 0; m < G_N_ELEMENTS(modes); m++) {
		g_autoptr(ArkCoordinator) c =
		    ark_coordinator_test_new(modes[m].name, modes[m].strategy, rand);
		ArkCoordinatorInterface *iface = ARK_COORDINATOR_GET_IFACE(c);
		ArkCoordinatorTestSpec t;

		ark_coordinator_test_spec_init(&t, modes[m].name, 3);
		for (guint round = 0; round < 400; round++) {
			ArkAgentCandidate cands[G_N_ELEMENTS(ark_coordinator_test_ids)];
			guint chosen[8];
			guint n = g_rand_int_range(rand, 0, G_N_ELEMENTS(cands) + 1);
			guint max = g_rand_int_range(rand, 0, G_N_ELEMENTS(chosen) + 1);
			guint got;

			for (guint i = 0; i < n; i++) {
				ark_coordinator_test_candidate(&cands[i],
							       ark_coordinator_test_ids[i],
							       g_rand_double_range(rand, 1, 50),
							       g_rand_double_range(rand, 1, 50));
				cands[i].max_load = g_rand_int_range(rand, 1, 5);
				cands[i].load = g_rand_int_range(rand, 0, cands[i].max_load);
				cands[i].capability_match = g_rand_double(rand);
			}
			memset(chosen, 0xff, sizeof(chosen));
			got = iface->choose(c, &t.spec, cands, n, chosen, max);
			g_assert_cmpuint(got, <=, MIN(n, MIN(max, modes[m].most)));
			/* a coordinator that could choose does */
			if (n > 0 && max > 0)
				g_assert_cmpuint(got, ==, MIN(n, MIN(max, modes[m].most)));
			for (guint i = 0; i < got; i++) {
				g_assert_cmpuint(chosen[i], <, n);
				for (guint j = 0; j < i; j++)
					g_assert_cmpuint(chosen[i], !=, chosen[j]);
			}
			/* nothing written beyond what was returned */
			for (guint i = got; i < G_N_ELEMENTS(chosen); i++)
				g_assert_cmpuint(chosen[i], ==, G_MAXUINT);
		}
	}
}

static guint
ark_coordinator_test_choose_one(ArkCoordinator *c, const ArkTaskSpec *spec,
				const ArkAgentCandidate *cands, guint n)
{
	guint chosen = G_MAXUINT;
	g_assert_cmpuint(ark_coordinator_choose(c, spec, cands, n, &chosen, 1), ==, 1);
	g_assert_cmpuint(chosen, <, n);
	return chosen;
}

static void
ark_coordinator_test_thompson(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(2026);
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("delegated", NULL, rand);
	ArkCoordinatorTestSpec t;
	ArkAgentCandidate cands[3];
	guint counts[3] = {0};
	const guint n = 10000;

	ark_coordinator_test_spec_init(&t, "delegated", 1);
	/* 90 % of 100, 10 % of 100, and one never seen */
	ark_coordinator_test_candidate(&cands[0], "agt_bad", 11, 91);
	ark_coordinator_test_candidate(&cands[1], "agt_good", 91, 11);
	ark_coordinator_test_candidate(&cands[2], "agt_new", 1, 1);
	for (guint i = 0; i < n; i++)
		counts[ark_coordinator_test_choose_one(c, &t.spec, cands, 3)]++;
	g_test_message("bad %u good %u new %u", counts[0], counts[1], counts[2]);
	/* the reliable agent nearly always; the unknown one explored now and then (P(Beta(1,1) >
	 * ~0.89) is about 10 %); the unreliable one almost never */
	g_assert_cmpuint(counts[1], >, n * 80 / 100);
	g_assert_cmpuint(counts[2], >, n * 3 / 100);
	g_assert_cmpuint(counts[2], <, n * 20 / 100);
	g_assert_cmpuint(counts[0], <, n / 100);

	/* equal trust: the idle agent is preferred to one nearly full */
	memset(counts, 0, sizeof(counts));
	ark_coordinator_test_candidate(&cands[0], "agt_busy", 20, 5);
	cands[0].load = 3;
	ark_coordinator_test_candidate(&cands[1], "agt_idle", 20, 5);
	for (guint i = 0; i < n; i++)
		counts[ark_coordinator_test_choose_one(c, &t.spec, cands, 2)]++;
	g_assert_cmpuint(counts[1], >, n * 9 / 10);

	/* a poor capability match counts against an agent as much as poor trust */
	memset(counts, 0, sizeof(counts));
	ark_coordinator_test_candidate(&cands[0], "agt_near", 50, 2);
	cands[0].capability_match = 0.3;
	ark_coordinator_test_candidate(&cands[1], "agt_match", 50, 2);
	for (guint i = 0; i < n; i++)
		counts[ark_coordinator_test_choose_one(c, &t.spec, cands, 2)]++;
	g_assert_cmpuint(counts[1], ==, n);
}

/* the same seed, the same choices: the simulator and tests depend on it */
static void
ark_coordinator_test_reproducible(void)
{
	const gchar *modes[] = {"delegated", "competitive", "cooperative"};

	for (guint m = 0; m < G_N_ELEMENTS(modes); m++) {
		g_autoptr(GRand) r1 = g_rand_new_with_seed(5);
		g_autoptr(GRand) r2 = g_rand_new_with_seed(5);
		g_autoptr(ArkCoordinator) c1 = ark_coordinator_test_new(modes[m], NULL, r1);
		g_autoptr(ArkCoordinator) c2 = ark_coordinator_test_new(modes[m], NULL, r2);
		ArkCoordinatorTestSpec t;
		ArkAgentCandidate cands[6];
		gboolean varied = FALSE;
		guint first = G_MAXUINT;

		ark_coordinator_test_spec_init(&t, modes[m], 2);
		for (guint i = 0; i < G_N_ELEMENTS(cands); i++)
			ark_coordinator_test_candidate(&cands[i], ark_coordinator_test_ids[i], 2,
						       2);
		for (guint i = 0; i < 500; i++) {
			guint a[2], b[2];
			guint na = ark_coordinator_choose(c1, &t.spec, cands, 6, a, 2);
			guint nb = ark_coordinator_choose(c2, &t.spec, cands, 6, b, 2);
			g_assert_cmpuint(na, ==, nb);
			g_assert_cmpmem(a, na * sizeof(guint), b, nb * sizeof(guint));
			if (first == G_MAXUINT)
				first = a[0];
			varied |= a[0] != first;
		}
		/* and it is random all the same */
		g_assert_true(varied);
	}
}

static void
ark_coordinator_test_greedy(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(1);
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("delegated", "greedy", rand);
	ArkCoordinatorTestSpec t;
	ArkAgentCandidate cands[4];

	ark_coordinator_test_spec_init(&t, "delegated", 1);
	ark_coordinator_test_candidate(&cands[0], "agt_a", 3, 2);   /* 0.6 */
	ark_coordinator_test_candidate(&cands[1], "agt_b", 8, 2);   /* 0.8 */
	ark_coordinator_test_candidate(&cands[2], "agt_c", 1, 1);   /* 0.5 */
	ark_coordinator_test_candidate(&cands[3], "agt_d", 16, 4);  /* 0.8, later */
	for (guint i = 0; i < 100; i++)
		g_assert_cmpuint(ark_coordinator_test_choose_one(c, &t.spec, cands, 4), ==, 1);
	/* the load factor: b at 3 of 4 scores 0.8 x 0.625 = 0.5, below a's 0.6 */
	cands[1].load = 3;
	cands[3].load = 3;
	g_assert_cmpuint(ark_coordinator_test_choose_one(c, &t.spec, cands, 4), ==, 0);
	/* greedy draws nothing from the random source */
	{
		g_autoptr(GRand) fresh = g_rand_new_with_seed(1);
		g_assert_cmpuint(g_rand_int(rand), ==, g_rand_int(fresh));
	}
}

static void
ark_coordinator_test_round_robin(void)
{
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("delegated", "round-robin", NULL);
	ArkCoordinatorTestSpec t;
	ArkAgentCandidate cands[3], shuffled[3];
	const gchar *expect[] = {"agt_a", "agt_b", "agt_c", "agt_a", "agt_b", "agt_c", "agt_a"};

	ark_coordinator_test_spec_init(&t, "delegated", 1);
	ark_coordinator_test_candidate(&cands[0], "agt_c", 50, 1);
	ark_coordinator_test_candidate(&cands[1], "agt_a", 1, 50);
	ark_coordinator_test_candidate(&cands[2], "agt_b", 1, 1);
	/* by id, whatever the trust and whatever order the engine lists them in */
	for (guint i = 0; i < G_N_ELEMENTS(expect); i++) {
		const ArkAgentCandidate *list = i % 2 == 0 ? cands : shuffled;
		shuffled[0] = cands[(i + 1) % 3];
		shuffled[1] = cands[(i + 2) % 3];
		shuffled[2] = cands[i % 3];
		g_assert_cmpstr(list[ark_coordinator_test_choose_one(c, &t.spec, list, 3)].agent_id,
				==, expect[i]);
	}
	/* last was agt_a; agt_b is busy (not a candidate): agt_c is next */
	g_assert_cmpstr(cands[ark_coordinator_test_choose_one(c, &t.spec, cands, 1)].agent_id, ==,
			"agt_c");
	/* after agt_c, with only agt_b left, it wraps to agt_b */
	g_assert_cmpstr(cands[2 + ark_coordinator_test_choose_one(c, &t.spec, &cands[2], 1)]
			    .agent_id,
			==, "agt_b");
}

static void
ark_coordinator_test_random(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(77);
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("delegated", "random", rand);
	ArkCoordinatorTestSpec t;
	ArkAgentCandidate cands[5];
	guint counts[5] = {0};

	ark_coordinator_test_spec_init(&t, "delegated", 1);
	for (guint i = 0; i < 5; i++)
		ark_coordinator_test_candidate(&cands[i], ark_coordinator_test_ids[i],
					       i == 0 ? 1000 : 1, i == 0 ? 1 : 1000);
	for (guint i = 0; i < 5000; i++)
		counts[ark_coordinator_test_choose_one(c, &t.spec, cands, 5)]++;
	/* uniform, blind to trust: 1000 each expected, 5 standard deviations is about 140 */
	for (guint i = 0; i < 5; i++)
		g_assert_cmpuint(counts[i], >, 850);
}

static void
ark_coordinator_test_competitive(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(3);
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("competitive", NULL, rand);
	ArkCoordinatorTestSpec t;
	ArkAgentCandidate cands[6];
	guint both_good = 0;

	ark_coordinator_test_spec_init(&t, "competitive", 3);
	g_assert_cmpuint(ark_coordinator_get_contenders(c, &t.spec), ==, 3);
	t.agent.contenders = 0;
	g_assert_cmpuint(ark_coordinator_get_contenders(c, &t.spec), ==, 2);
	t.agent.contenders = 64;
	g_assert_cmpuint(ark_coordinator_get_contenders(c, &t.spec), ==, 64);
	t.spec.agent = NULL;
	g_assert_cmpuint(ark_coordinator_get_contenders(c, &t.spec), ==, 2);
	t.spec.agent = &t.agent;

	for (guint i = 0; i < 6; i++)
		ark_coordinator_test_candidate(&cands[i], ark_coordinator_test_ids[i], 5, 20);
	cands[2].trust_alpha = 60; /* the two reliable ones */
	cands[2].trust_beta = 3;
	cands[5].trust_alpha = 60;
	cands[5].trust_beta = 3;
	for (guint i = 0; i < 2000; i++) {
		guint chosen[2];
		g_assert_cmpuint(ark_coordinator_choose(c, &t.spec, cands, 6, chosen, 2), ==, 2);
		both_good += (chosen[0] == 2 || chosen[0] == 5) && (chosen[1] == 2 || chosen[1] == 5);
	}
	g_assert_cmpuint(both_good, >, 1900);
	/* more wanted than there are: all of them, once each */
	{
		guint chosen[8];
		guint n = ark_coordinator_choose(c, &t.spec, cands, 3, chosen, 8);
		g_assert_cmpuint(n, ==, 3);
		g_assert_cmpuint(chosen[0] + chosen[1] + chosen[2], ==, 0 + 1 + 2);
	}
	/* no accept() of its own: whatever passed the acceptance rule is accepted */
	g_assert_true(ark_coordinator_accept(c, &t.spec, "agt_x", "{}", NULL));
	g_assert_cmpuint(ark_coordinator_choose(c, &t.spec, cands, 0, NULL, 0), ==, 0);
}

static JsonNode *
ark_coordinator_test_json(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	JsonNode *node = json_from_string(text, &error);
	g_assert_no_error(error);
	return node;
}

static gchar *
ark_coordinator_test_pieces_text(GPtrArray *pieces)
{
	g_autoptr(GString) s = g_string_new(NULL);
	for (guint i = 0; i < pieces->len; i++) {
		g_autofree gchar *piece = json_to_string(g_ptr_array_index(pieces, i), FALSE);
		g_string_append_printf(s, "%s%s", i > 0 ? "|" : "", piece);
	}
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
ark_coordinator_test_cooperative_split(void)
{
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("cooperative", NULL, NULL);
	ArkCoordinatorTestSpec t;
	g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(JsonNode) shards = ark_coordinator_test_json("[1, {\"f\": \"a.c\"}, [2], null]");
	g_autoptr(JsonNode) upstream = ark_coordinator_test_json("[\"x\", \"y\"]");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *text2 = NULL;

	ark_coordinator_test_spec_init(&t, "cooperative", 1);
	g_assert_cmpuint(ark_coordinator_get_contenders(c, &t.spec), ==, 1);

	/* "shards" in the task: the input does not matter */
	t.agent.shards = shards;
	g_assert_true(ark_coordinator_split(c, &t.spec, upstream, pieces, &error));
	g_assert_no_error(error);
	text = ark_coordinator_test_pieces_text(pieces);
	g_assert_cmpstr(text, ==, "1|{\"f\":\"a.c\"}|[2]|null");

	/* "shards_from": the upstream result the engine gives as input */
	g_ptr_array_set_size(pieces, 0);
	t.agent.shards = NULL;
	t.agent.shards_from = (gchar *)"split";
	g_assert_true(ark_coordinator_split(c, &t.spec, upstream, pieces, &error));
	text2 = ark_coordinator_test_pieces_text(pieces);
	g_assert_cmpstr(text2, ==, "\"x\"|\"y\"");
}

static void
ark_coordinator_test_cooperative_split_bad(void)
{
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("cooperative", NULL, NULL);
	const gchar *bad[] = {"{\"a\": [1]}", "\"[1,2]\"", "42", "null", "[]", "true"};
	ArkCoordinatorTestSpec t;
	g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(GString) huge = g_string_new("[0");

	ark_coordinator_test_spec_init(&t, "cooperative", 1);
	t.agent.shards_from = (gchar *)"split";
	g_ptr_array_add(pieces, json_node_new(JSON_NODE_NULL)); /* already there: kept */
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(JsonNode) input = ark_coordinator_test_json(bad[i]);
		g_autoptr(GError) error = NULL;
		g_assert_false(ark_coordinator_split(c, &t.spec, input, pieces, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, "shards_from"));
		g_assert_cmpuint(pieces->len, ==, 1);
	}
	/* no input at all */
	{
		g_autoptr(GError) error = NULL;
		g_assert_false(ark_coordinator_split(c, &t.spec, NULL, pieces, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	}
	/* one shard over the limit, in the task itself */
	for (guint i = 1; i <= ARK_AGENT_MAX_SHARDS; i++)
		g_string_append(huge, ",0");
	g_string_append_c(huge, ']');
	{
		g_autoptr(JsonNode) shards = ark_coordinator_test_json(huge->str);
		g_autoptr(GError) error = NULL;
		t.agent.shards = shards;
		t.agent.shards_from = NULL;
		g_assert_false(ark_coordinator_split(c, &t.spec, NULL, pieces, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_assert_nonnull(strstr(error->message, "10001"));
		g_assert_cmpuint(pieces->len, ==, 1);
		/* exactly the limit is fine */
		g_clear_error(&error);
		json_array_remove_element(json_node_get_array(shards), 0);
		g_assert_true(ark_coordinator_split(c, &t.spec, NULL, pieces, &error));
		g_assert_cmpuint(pieces->len, ==, 1 + ARK_AGENT_MAX_SHARDS);
		t.agent.shards = NULL;
	}
}

static void
ark_coordinator_test_cooperative_merge(void)
{
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("cooperative", NULL, NULL);
	ArkCoordinatorTestSpec t;
	g_autoptr(JsonNode) r0 = ark_coordinator_test_json("{\"ok\": true}");
	g_autoptr(JsonNode) r2 = ark_coordinator_test_json("\"third\"");
	g_autoptr(JsonNode) null_node = json_node_new(JSON_NODE_NULL);
	JsonNode *results[] = {r0, NULL, r2, null_node};
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) merged = NULL;
	g_autoptr(JsonNode) one = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *text_one = NULL;

	ark_coordinator_test_spec_init(&t, "cooperative", 1);
	merged = ark_coordinator_merge(c, &t.spec, results, 4, &error);
	g_assert_no_error(error);
	text = json_to_string(merged, FALSE);
	g_assert_cmpstr(text, ==, "[{\"ok\":true},null,\"third\",null]");
	/* one shard is still an array: the result's shape does not depend on the shard count */
	one = ark_coordinator_merge(c, &t.spec, results, 1, &error);
	text_one = json_to_string(one, FALSE);
	g_assert_cmpstr(text_one, ==, "[{\"ok\":true}]");
}

static void
ark_coordinator_test_cooperative_spreads(void)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(9);
	g_autoptr(ArkCoordinator) c = ark_coordinator_test_new("cooperative", NULL, rand);
	ArkCoordinatorTestSpec t;
	ArkAgentCandidate cands[3];
	guint load[3] = {0};

	/* 30 pieces handed out one after another, the loads counting up as the engine would:
	 * equally trusted agents end up with equal shares */
	ark_coordinator_test_spec_init(&t, "cooperative", 1);
	for (guint i = 0; i < 3; i++)
		ark_coordinator_test_candidate(&cands[i], ark_coordinator_test_ids[i], 30, 3);
	for (guint piece = 0; piece < 30; piece++) {
		ArkAgentCandidate free_cands[3];
		guint map[3], n = 0, chosen;
		for (guint i = 0; i < 3; i++) {
			cands[i].load = load[i];
			cands[i].max_load = 30;
			if (load[i] < 30) {
				free_cands[n] = cands[i];
				map[n++] = i;
			}
		}
		chosen = ark_coordinator_test_choose_one(c, &t.spec, free_cands, n);
		load[map[chosen]]++;
	}
	g_test_message("loads %u %u %u", load[0], load[1], load[2]);
	/* independent draws alone would scatter them (10 ± 2.6 each) */
	for (guint i = 0; i < 3; i++)
		g_assert_cmpuint(load[i], >=, 9);
}

/* a coordinator with only choose(), and that one wrong: what the wrappers make of it */
typedef struct {
	GObject parent_instance;
} ArkCoordinatorTestMinimal;
typedef struct {
	GObjectClass parent_class;
} ArkCoordinatorTestMinimalClass;

static guint
ark_coordinator_test_minimal_choose(ArkCoordinator *self, const ArkTaskSpec *spec,
				    const ArkAgentCandidate *candidates, guint n_candidates,
				    guint *out_chosen, guint max_chosen)
{
	/* a duplicate and an index out of range */
	guint wrong[] = {1, 1, n_candidates + 3, 0};
	guint n = MIN(max_chosen, G_N_ELEMENTS(wrong));
	memcpy(out_chosen, wrong, n * sizeof(guint));
	return n;
}

static void
ark_coordinator_test_minimal_iface_init(ArkCoordinatorInterface *iface)
{
	iface->choose = ark_coordinator_test_minimal_choose;
}

static GType ark_coordinator_test_minimal_get_type(void);
G_DEFINE_TYPE_WITH_CODE(ArkCoordinatorTestMinimal, ark_coordinator_test_minimal, G_TYPE_OBJECT,
			G_IMPLEMENT_INTERFACE(ARK_TYPE_COORDINATOR,
					      ark_coordinator_test_minimal_iface_init))

static void
ark_coordinator_test_minimal_class_init(ArkCoordinatorTestMinimalClass *klass)
{
}

static void
ark_coordinator_test_minimal_init(ArkCoordinatorTestMinimal *self)
{
}

static void
ark_coordinator_test_defaults(void)
{
	g_autoptr(ArkCoordinator) c = g_object_new(ark_coordinator_test_minimal_get_type(), NULL);
	ArkCoordinatorTestSpec t;
	ArkCoordinatorSetup setup = {"minimal", NULL, "coordinator-minimal", NULL, {NULL}};
	ArkAgentCandidate cands[3];
	g_autoptr(GPtrArray) pieces = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(JsonNode) input = ark_coordinator_test_json("{\"diff\": \"+1\"}");
	g_autoptr(JsonNode) r1 = ark_coordinator_test_json("[1]");
	g_autoptr(JsonNode) merged1 = NULL;
	g_autoptr(JsonNode) merged2 = NULL;
	g_autoptr(JsonNode) merged0 = NULL;
	JsonNode *results[] = {r1, NULL};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *text = NULL;
	guint chosen[4];

	ark_coordinator_test_spec_init(&t, "minimal", 5);
	g_assert_true(ark_coordinator_setup(c, &setup, &error));
	g_assert_cmpuint(ark_coordinator_get_contenders(c, &t.spec), ==, 1);
	g_assert_true(ark_coordinator_accept(c, &t.spec, "agt_x", "null", &error));

	/* the wrong choices are dropped, the rest kept in order */
	for (guint i = 0; i < 3; i++)
		ark_coordinator_test_candidate(&cands[i], ark_coordinator_test_ids[i], 1, 1);
	g_test_expect_message("ArkSdk", G_LOG_LEVEL_WARNING, "*twice or out of range*");
	g_test_expect_message("ArkSdk", G_LOG_LEVEL_WARNING, "*twice or out of range*");
	g_assert_cmpuint(ark_coordinator_choose(c, &t.spec, cands, 3, chosen, 4), ==, 2);
	g_test_assert_expected_messages();
	g_assert_cmpuint(chosen[0], ==, 1);
	g_assert_cmpuint(chosen[1], ==, 0);
	/* no candidates: the coordinator is not even asked */
	g_assert_cmpuint(ark_coordinator_choose(c, &t.spec, cands, 0, chosen, 4), ==, 0);

	/* split: the input is the one piece; no input is a JSON null */
	g_assert_true(ark_coordinator_split(c, &t.spec, input, pieces, &error));
	g_assert_true(ark_coordinator_split(c, &t.spec, NULL, pieces, &error));
	g_assert_cmpuint(pieces->len, ==, 2);
	text = json_to_string(g_ptr_array_index(pieces, 0), FALSE);
	g_assert_cmpstr(text, ==, "{\"diff\":\"+1\"}");
	g_assert_true(g_ptr_array_index(pieces, 0) != input);
	g_assert_true(JSON_NODE_HOLDS_NULL(g_ptr_array_index(pieces, 1)));

	/* merge: one piece gives its result, several an array, none an empty array */
	merged1 = ark_coordinator_merge(c, &t.spec, results, 1, &error);
	g_assert_true(json_node_equal(merged1, r1));
	merged2 = ark_coordinator_merge(c, &t.spec, results, 2, &error);
	g_clear_pointer(&text, g_free);
	text = json_to_string(merged2, FALSE);
	g_assert_cmpstr(text, ==, "[[1],null]");
	merged0 = ark_coordinator_merge(c, &t.spec, NULL, 0, &error);
	g_assert_true(JSON_NODE_HOLDS_ARRAY(merged0));
	g_assert_cmpuint(json_array_get_length(json_node_get_array(merged0)), ==, 0);
	g_assert_no_error(error);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/coordinator/registered", ark_coordinator_test_registered);
	g_test_add_func("/coordinator/delegated/bad-strategy", ark_coordinator_test_bad_strategy);
	g_test_add_func("/coordinator/choose-contract", ark_coordinator_test_choose_contract);
	g_test_add_func("/coordinator/reproducible", ark_coordinator_test_reproducible);
	g_test_add_func("/coordinator/delegated/thompson", ark_coordinator_test_thompson);
	g_test_add_func("/coordinator/delegated/greedy", ark_coordinator_test_greedy);
	g_test_add_func("/coordinator/delegated/round-robin", ark_coordinator_test_round_robin);
	g_test_add_func("/coordinator/delegated/random", ark_coordinator_test_random);
	g_test_add_func("/coordinator/competitive", ark_coordinator_test_competitive);
	g_test_add_func("/coordinator/cooperative/split", ark_coordinator_test_cooperative_split);
	g_test_add_func("/coordinator/cooperative/split-bad",
			ark_coordinator_test_cooperative_split_bad);
	g_test_add_func("/coordinator/cooperative/merge", ark_coordinator_test_cooperative_merge);
	g_test_add_func("/coordinator/cooperative/spreads",
			ark_coordinator_test_cooperative_spreads);
	g_test_add_func("/coordinator/defaults", ark_coordinator_test_defaults);
	return g_test_run();
}
