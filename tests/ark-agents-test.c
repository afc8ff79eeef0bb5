/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <arkitect/arkitect-core.h>

#include "ark-test-utils.h"

/*
 * Agents through the engine API (ark-engine-agents.h), in-process, on a real SQLite store, with
 * the real coordinator, executor and policy plugins. Time is a virtual clock the tests move:
 * leases, offers and heartbeats expire when a test says so, never because the machine was slow.
 * Only acceptance commands run on real time (they are real processes).
 */

#define T0 ((ArkTimestamp)1790000000 * G_USEC_PER_SEC)
#define SEC G_USEC_PER_SEC

typedef struct {
	gchar *dir;
	ArkStore *store;
	ArkEngine *engine;
	ArkClock *clock;
	GKeyFile *config;
	GHashTable *finished; /* run id -> GINT_TO_POINTER(state + 1) */
	GPtrArray *events;    /* ArkEvent copies */
} Fixture;

static void
fixture_event_cb(ArkEngine *engine, const ArkEvent *event, gpointer user_data)
{
	Fixture *f = user_data;
	g_ptr_array_add(f->events, ark_event_copy(event));
}

static void
fixture_run_finished_cb(ArkEngine *engine, const gchar *run_id, gint state, gpointer user_data)
{
	Fixture *f = user_data;
	g_hash_table_insert(f->finished, g_strdup(run_id), GINT_TO_POINTER(state + 1));
}

/* opens the store and an engine on it, at virtual time @now */
static void
fixture_open(Fixture *f, ArkTimestamp now)
{
	g_autoptr(ArkRegistry) registry = ark_test_load_plugins();
	g_autoptr(GError) error = NULL;

	f->store = ark_registry_create(registry, ARK_CAPABILITY_STORE, "sqlite", &error);
	g_assert_no_error(error);
	g_assert_true(ark_store_open(f->store, f->dir, &error));
	g_assert_no_error(error);
	/* 0: the wall clock */
	f->clock = now != 0 ? ark_clock_new_virtual(now) : NULL;
	f->engine = ark_engine_new(registry, f->store);
	ark_engine_set_state_dir(f->engine, f->dir);
	ark_engine_set_config(f->engine, f->config);
	ark_engine_set_clock(f->engine, f->clock);
	g_assert_true(ark_engine_start(f->engine, &error));
	g_assert_no_error(error);
	g_signal_connect(f->engine, "event", G_CALLBACK(fixture_event_cb), f);
	g_signal_connect(f->engine, "run-finished", G_CALLBACK(fixture_run_finished_cb), f);
}

static void
fixture_close(Fixture *f)
{
	ark_engine_shutdown(f->engine);
	g_clear_object(&f->engine);
	ark_store_close(f->store);
	g_clear_object(&f->store);
	g_clear_object(&f->clock);
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	f->dir = ark_test_mkdtemp();
	f->config = g_key_file_new();
	/* long enough that only the tests about them see them expire */
	g_key_file_set_string(f->config, "agents", "heartbeat-timeout", "10m");
	g_key_file_set_string(f->config, "agents", "offer-timeout", "10m");
	f->finished = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	f->events = g_ptr_array_new_with_free_func((GDestroyNotify)ark_event_free);
	fixture_open(f, T0);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	fixture_close(f);
	g_key_file_unref(f->config);
	g_hash_table_unref(f->finished);
	g_ptr_array_unref(f->events);
	ark_test_rmdir(f->dir);
	g_free(f->dir);
}

/* runs what is due on the main context (matching, deliveries, the engine's tick) */
static void
iterate(Fixture *f)
{
	for (guint i = 0; i < 10000 && g_main_context_iteration(NULL, FALSE); i++)
		;
}

/* moves the virtual clock on and fires what became due */
static void
advance(Fixture *f, gint64 usec)
{
	ark_clock_set_time(f->clock, ark_clock_get_time(f->clock) + usec);
	ark_engine_fire_timers(f->engine);
	iterate(f);
}

static JsonObject *
parse_object(const gchar *text)
{
	g_autoptr(JsonNode) node = json_from_string(text, NULL);
	g_assert_nonnull(node);
	g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
	return json_object_ref(json_node_get_object(node));
}

static gchar *
submit(Fixture *f, const gchar *json)
{
	g_autoptr(GPtrArray) problems = NULL;
	g_autoptr(ArkWorkflow) wf = ark_workflow_parse(json, -1, &problems);
	g_autoptr(GError) error = NULL;
	gchar *run_id;

	if (wf == NULL) {
		for (guint i = 0; i < problems->len; i++) {
			g_autofree gchar *s = ark_problem_to_string(problems->pdata[i], NULL);
			g_printerr("%s\n", s);
		}
		g_error("test workflow does not parse");
	}
	run_id = ark_engine_submit(f->engine, wf, NULL, &error);
	g_assert_no_error(error);
	iterate(f);
	return run_id;
}

/* the state a run finished in, or -1 while it runs */
static gint
run_state(Fixture *f, const gchar *run_id)
{
	return GPOINTER_TO_INT(g_hash_table_lookup(f->finished, run_id)) - 1;
}

typedef struct {
	Fixture *f;
	const gchar *run_id;
} RunWait;

static gboolean
run_done(gpointer user_data)
{
	RunWait *w = user_data;
	return run_state(w->f, w->run_id) >= 0;
}

static ArkTaskState
task_state(Fixture *f, const gchar *run_id, const gchar *task_id, gchar **out_reason)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) tasks = ark_store_list_tasks(f->store, run_id, &error);

	g_assert_no_error(error);
	for (guint i = 0; i < tasks->len; i++) {
		ArkTaskRecord *t = g_ptr_array_index(tasks, i);
		if (g_strcmp0(t->task_id, task_id) != 0)
			continue;
		if (out_reason != NULL)
			*out_reason = g_strdup(t->reason);
		return t->state;
	}
	g_assert_not_reached();
}

/* the result of the last attempt of @task_id as stored, or NULL */
static gchar *
attempt_result(Fixture *f, const gchar *run_id, const gchar *task_id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) attempts = ark_store_list_attempts(f->store, run_id, task_id, &error);
	ArkAttemptRecord *last;

	g_assert_no_error(error);
	g_assert_cmpuint(attempts->len, >, 0);
	last = g_ptr_array_index(attempts, attempts->len - 1);
	return g_strdup(last->result);
}

/* registers an agent; returns its id, and its token in @out_token */
static gchar *
agent_new(Fixture *f, const gchar *name, const gchar *capabilities, guint max,
	  gchar **out_token)
{
	g_autofree gchar *text = g_strdup_printf(
	    "{\"name\":\"%s\",\"capabilities\":%s,\"max_assignments\":%u}", name, capabilities,
	    max);
	g_autoptr(JsonObject) spec = parse_object(text);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) out = ark_engine_register_agent(f->engine, spec, "tester", &error);
	const gchar *id;

	g_assert_no_error(error);
	g_assert_nonnull(out);
	id = json_object_get_string_member(out, "id");
	g_assert_true(g_str_has_prefix(id, "agt_"));
	g_assert_cmpuint(strlen(id), ==, 4 + 16);
	if (out_token != NULL)
		*out_token = g_strdup(json_object_get_string_member(out, "token"));
	iterate(f);
	return g_strdup(id);
}

static gchar *
agent_simple(Fixture *f, const gchar *name)
{
	return agent_new(f, name, "[\"review\"]", 1, NULL);
}

typedef struct {
	gboolean called;
	JsonObject *assignment;
	GError *error;
} Claim;

static void
claim_cb(ArkEngine *engine, JsonObject *assignment, const GError *error, gpointer user_data)
{
	Claim *c = user_data;
	g_assert_false(c->called);
	c->called = TRUE;
	c->assignment = assignment != NULL ? json_object_ref(assignment) : NULL;
	c->error = error != NULL ? g_error_copy(error) : NULL;
}

static void
claim_clear(Claim *c)
{
	g_clear_pointer(&c->assignment, json_object_unref);
	g_clear_error(&c->error);
	c->called = FALSE;
}

/* claims without waiting: the assignment the agent now holds, or NULL */
static JsonObject *
claim(Fixture *f, const gchar *agent_id)
{
	Claim c = {0};

	ark_engine_claim_assignment(f->engine, agent_id, 0, NULL, claim_cb, &c);
	g_assert_true(c.called);
	g_assert_no_error(c.error);
	iterate(f);
	return c.assignment;
}

static guint64
fence_of(JsonObject *a)
{
	return (guint64)json_object_get_int_member(a, "fence");
}

static const gchar *
id_of(JsonObject *a)
{
	return json_object_get_string_member(a, "id");
}

static gchar *
assignment_state(Fixture *f, const gchar *id)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) a = ark_engine_get_assignment(f->engine, id, &error);
	g_assert_no_error(error);
	return g_strdup(json_object_get_string_member(a, "state"));
}

static JsonObject *
complete(Fixture *f, const gchar *agent_id, JsonObject *a, const gchar *result_json,
	 GError **error)
{
	g_autoptr(JsonNode) result = json_from_string(result_json, NULL);
	JsonObject *out;

	g_assert_nonnull(result);
	out = ark_engine_complete_assignment(f->engine, agent_id, id_of(a), fence_of(a), result,
					     error);
	iterate(f);
	return out;
}

static void
complete_ok(Fixture *f, const gchar *agent_id, JsonObject *a, const gchar *result_json,
	    const gchar *expected_state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) out = complete(f, agent_id, a, result_json, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(json_object_get_string_member(out, "state"), ==, expected_state);
}

static const gchar *delegated_wf =
    "{\"name\":\"agents\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
    "\"input\":{\"diff\":\"+x\"},\"agent\":{\"capabilities\":[\"review\"],\"lease\":\"5s\"}}]}";

/* registration -------------------------------------------------------------------------------- */

static void
expect_register_error(Fixture *f, const gchar *spec_json, gint code, const gchar *in_message)
{
	g_autoptr(JsonObject) spec = parse_object(spec_json);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) out = ark_engine_register_agent(f->engine, spec, "tester", &error);

	g_assert_null(out);
	g_assert_error(error, ARK_ERROR, code);
	if (in_message != NULL && strstr(error->message, in_message) == NULL)
		g_error("'%s' does not mention '%s'", error->message, in_message);
}

static void
test_register_validation(Fixture *f, gconstpointer data)
{
	g_autoptr(GString) long_name = g_string_new("{\"name\":\"");
	g_autoptr(GString) many = g_string_new("{\"name\":\"a\",\"capabilities\":[");
	g_autoptr(GString) meta = g_string_new("{\"name\":\"a\",\"capabilities\":[\"x\"],"
					       "\"metadata\":{\"blob\":\"");
	g_autoptr(JsonArray) agents = NULL;
	g_autofree gchar *ok = NULL;

	for (guint i = 0; i < ARK_AGENT_MAX_NAME_LEN + 1; i++)
		g_string_append_c(long_name, 'n');
	g_string_append(long_name, "\",\"capabilities\":[\"x\"]}");
	for (guint i = 0; i < ARK_AGENT_MAX_CAPABILITIES + 1; i++)
		g_string_append_printf(many, "%s\"cap%u\"", i > 0 ? "," : "", i);
	g_string_append(many, "]}");
	for (guint i = 0; i < ARK_AGENT_MAX_METADATA_BYTES; i++)
		g_string_append_c(meta, 'm');
	g_string_append(meta, "\"}}");

	expect_register_error(f, "{\"capabilities\":[\"x\"]}", ARK_ERROR_INVALID_ARGUMENT, "name");
	expect_register_error(f, "{\"name\":\"\",\"capabilities\":[\"x\"]}",
			      ARK_ERROR_INVALID_ARGUMENT, "name");
	expect_register_error(f, "{\"name\":42,\"capabilities\":[\"x\"]}",
			      ARK_ERROR_INVALID_ARGUMENT, "name");
	expect_register_error(f, "{\"name\":\"a\\u0001b\",\"capabilities\":[\"x\"]}",
			      ARK_ERROR_INVALID_ARGUMENT, "control");
	expect_register_error(f, long_name->str, ARK_ERROR_INVALID_ARGUMENT, "name");
	expect_register_error(f, "{\"name\":\"a\"}", ARK_ERROR_INVALID_ARGUMENT, "capabilities");
	expect_register_error(f, "{\"name\":\"a\",\"capabilities\":[]}",
			      ARK_ERROR_INVALID_ARGUMENT, "capabilities");
	expect_register_error(f, many->str, ARK_ERROR_INVALID_ARGUMENT, "at most");
	expect_register_error(f, "{\"name\":\"a\",\"capabilities\":[\"x y\"]}",
			      ARK_ERROR_INVALID_ARGUMENT, "capability name");
	expect_register_error(f, "{\"name\":\"a\",\"capabilities\":[\"x\",\"x\"]}",
			      ARK_ERROR_INVALID_ARGUMENT, "twice");
	expect_register_error(f,
			      "{\"name\":\"a\",\"capabilities\":[{\"name\":\"x\","
			      "\"proficiency\":1.5}]}",
			      ARK_ERROR_INVALID_ARGUMENT, "proficiency");
	expect_register_error(f, "{\"name\":\"a\",\"capabilities\":[7]}",
			      ARK_ERROR_INVALID_ARGUMENT, "capabilities[0]");
	expect_register_error(f, "{\"name\":\"a\",\"capabilities\":[\"x\"],\"max_assignments\":0}",
			      ARK_ERROR_INVALID_ARGUMENT, "max_assignments");
	expect_register_error(f,
			      "{\"name\":\"a\",\"capabilities\":[\"x\"],\"max_assignments\":2000}",
			      ARK_ERROR_INVALID_ARGUMENT, "max_assignments");
	expect_register_error(f, meta->str, ARK_ERROR_INVALID_ARGUMENT, "metadata");
	expect_register_error(f, "{\"name\":\"a\",\"capabilities\":[\"x\"],\"metadata\":[1]}",
			      ARK_ERROR_INVALID_ARGUMENT, "metadata");
	expect_register_error(f, "{\"name\":\"a\",\"capabilities\":[\"x\"],\"admin\":true}",
			      ARK_ERROR_INVALID_ARGUMENT, "unknown member");
	/* nothing of that was registered */
	agents = ark_engine_list_agents(f->engine);
	g_assert_cmpuint(json_array_get_length(agents), ==, 0);

	ok = agent_new(f, "ok", "[\"x\",{\"name\":\"y\",\"proficiency\":0.5}]", 3, NULL);
	g_clear_pointer(&agents, json_array_unref);
	agents = ark_engine_list_agents(f->engine);
	g_assert_cmpuint(json_array_get_length(agents), ==, 1);
}

static void
test_register_limit(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = NULL;

	fixture_close(f);
	g_key_file_set_string(f->config, "agents", "max-agents", "1");
	fixture_open(f, T0);
	a = agent_simple(f, "only");
	expect_register_error(f, "{\"name\":\"two\",\"capabilities\":[\"review\"]}",
			      ARK_ERROR_LIMIT_EXCEEDED, "max-agents");
}

static void
test_token_auth(Fixture *f, gconstpointer data)
{
	g_autofree gchar *token_a = NULL;
	g_autofree gchar *token_b = NULL;
	g_autofree gchar *a = agent_new(f, "a", "[\"review\"]", 1, &token_a);
	g_autofree gchar *b = agent_new(f, "b", "[\"review\"]", 1, &token_b);
	g_autofree gchar *who_a = NULL;
	g_autofree gchar *who_b = NULL;
	g_autofree gchar *wrong = NULL;
	g_autoptr(JsonObject) shown = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_true(g_str_has_prefix(token_a, "arkagt_"));
	g_assert_cmpuint(strlen(token_a), ==, 7 + 43);
	g_assert_cmpstr(token_a, !=, token_b);
	who_a = ark_engine_authenticate_agent(f->engine, token_a);
	who_b = ark_engine_authenticate_agent(f->engine, token_b);
	g_assert_cmpstr(who_a, ==, a);
	/* another agent's token is that agent, never this one */
	g_assert_cmpstr(who_b, ==, b);
	wrong = g_strdup(token_a);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'A' ? 'B' : 'A';
	g_assert_null(ark_engine_authenticate_agent(f->engine, wrong));
	g_assert_null(ark_engine_authenticate_agent(f->engine, ""));
	g_assert_null(ark_engine_authenticate_agent(f->engine, NULL));
	g_assert_null(ark_engine_authenticate_agent(f->engine, "arkagt_"));
	g_assert_null(ark_engine_authenticate_agent(f->engine, token_a + 7));
	/* the token is shown once: the agent as stored never has it */
	shown = ark_engine_get_agent(f->engine, a, &error);
	g_assert_no_error(error);
	g_assert_false(json_object_has_member(shown, "token"));
	g_assert_false(json_object_has_member(shown, "token_sha256"));
	/* a removed agent's token opens nothing */
	g_assert_true(ark_engine_deregister_agent(f->engine, a, "tester", &error));
	g_assert_no_error(error);
	g_clear_pointer(&who_a, g_free);
	who_a = ark_engine_authenticate_agent(f->engine, token_a);
	g_assert_null(who_a);
	g_assert_false(ark_engine_deregister_agent(f->engine, a, "tester", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
}

/* claims --------------------------------------------------------------------------------------- */

static void
test_claim(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *other = agent_new(f, "other", "[\"build\"]", 1, NULL);
	g_autofree gchar *run_id = NULL;
	g_autoptr(JsonObject) none = claim(f, a);
	g_autoptr(JsonObject) got = NULL;
	g_autoptr(JsonObject) again = NULL;
	g_autoptr(JsonObject) listed = NULL;
	g_autoptr(JsonArray) mine = NULL;
	g_autoptr(JsonObject) agent = NULL;
	g_autoptr(GError) error = NULL;
	JsonObject *input;
	Claim c = {0};

	/* nothing offered: nothing, and no error */
	g_assert_null(none);
	ark_engine_claim_assignment(f->engine, "agt_0000000000000000", 0, NULL, claim_cb, &c);
	g_assert_true(c.called);
	g_assert_error(c.error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	claim_clear(&c);

	run_id = submit(f, delegated_wf);
	/* an agent without the capability gets nothing */
	g_assert_null(claim(f, other));
	got = claim(f, a);
	g_assert_nonnull(got);
	g_assert_cmpstr(json_object_get_string_member(got, "state"), ==, "claimed");
	g_assert_cmpstr(json_object_get_string_member(got, "run_id"), ==, run_id);
	g_assert_cmpstr(json_object_get_string_member(got, "task_id"), ==, "review");
	g_assert_cmpstr(json_object_get_string_member(got, "mode"), ==, "delegated");
	g_assert_cmpint(json_object_get_int_member(got, "piece"), ==, 0);
	g_assert_cmpuint(fence_of(got), >, 0);
	g_assert_true(json_object_has_member(got, "lease_expires_at"));
	input = json_object_get_object_member(got, "input");
	g_assert_cmpstr(json_object_get_string_member(input, "diff"), ==, "+x");
	/* claimed once: nothing more */
	again = claim(f, a);
	g_assert_null(again);
	mine = ark_engine_list_assignments(f->engine, a);
	g_assert_cmpuint(json_array_get_length(mine), ==, 1);
	/* a supervisor sees it without its fence */
	listed = ark_engine_get_assignment(f->engine, id_of(got), &error);
	g_assert_no_error(error);
	g_assert_false(json_object_has_member(listed, "fence"));
	g_assert_false(json_object_has_member(listed, "input"));
	agent = ark_engine_get_agent(f->engine, a, &error);
	g_assert_no_error(error);
	g_assert_cmpint(json_object_get_int_member(agent, "load"), ==, 1);
	g_assert_cmpstr(json_object_get_string_member(agent, "state"), ==, "online");

	complete_ok(f, a, got, "{\"verdict\":\"lgtm\"}", "completed");
	iterate(f);
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	{
		g_autofree gchar *result = attempt_result(f, run_id, "review");
		g_assert_cmpstr(result, ==, "{\"verdict\":\"lgtm\"}");
	}
	{
		g_autoptr(JsonArray) held = ark_engine_list_assignments(f->engine, NULL);
		g_assert_cmpuint(json_array_get_length(held), ==, 0);
	}
}

static void
test_claim_long_poll(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = NULL;
	g_autofree gchar *run_id = NULL;
	g_autoptr(GCancellable) gone = g_cancellable_new();
	g_autoptr(JsonObject) agent = NULL;
	Claim c = {0};
	Claim late = {0};

	fixture_close(f);
	g_key_file_set_string(f->config, "agents", "heartbeat-timeout", "1m");
	fixture_open(f, T0);
	a = agent_simple(f, "a");
	ark_engine_claim_assignment(f->engine, a, ARK_AGENT_MAX_WAIT, NULL, claim_cb, &c);
	iterate(f);
	g_assert_false(c.called);
	/* waiting keeps it online, longer than the heartbeat-timeout */
	advance(f, 4 * 60 * SEC);
	g_assert_false(c.called);
	agent = ark_engine_get_agent(f->engine, a, NULL);
	g_assert_cmpstr(json_object_get_string_member(agent, "state"), ==, "online");
	run_id = submit(f, delegated_wf);
	iterate(f);
	g_assert_true(c.called);
	g_assert_no_error(c.error);
	g_assert_nonnull(c.assignment);
	g_assert_cmpstr(json_object_get_string_member(c.assignment, "run_id"), ==, run_id);
	g_assert_cmpuint(fence_of(c.assignment), >, 0);
	complete_ok(f, a, c.assignment, "1", "completed");
	claim_clear(&c);

	/* a wait that runs out is answered with nothing */
	ark_engine_claim_assignment(f->engine, a, 30 * SEC, NULL, claim_cb, &c);
	advance(f, 29 * SEC);
	g_assert_false(c.called);
	advance(f, 2 * SEC);
	g_assert_true(c.called);
	g_assert_no_error(c.error);
	g_assert_null(c.assignment);
	claim_clear(&c);

	/* a client that went away is answered with CANCELLED and claims nothing */
	ark_engine_claim_assignment(f->engine, a, 60 * SEC, gone, claim_cb, &late);
	g_cancellable_cancel(gone);
	iterate(f);
	g_assert_true(late.called);
	g_assert_error(late.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	claim_clear(&late);
}

/* leases and fencing --------------------------------------------------------------------------- */

static void
test_lease_expiry(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *b = NULL;
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autofree gchar *state = NULL;
	g_autoptr(JsonObject) first = claim(f, a);
	g_autoptr(JsonObject) second = NULL;
	g_autoptr(JsonObject) late = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_nonnull(first);
	b = agent_simple(f, "b");
	g_assert_null(claim(f, b));
	/* 5 s lease: not yet */
	advance(f, 4 * SEC);
	g_assert_null(claim(f, b));
	advance(f, 2 * SEC);
	state = assignment_state(f, id_of(first));
	g_assert_cmpstr(state, ==, "expired");
	second = claim(f, b);
	g_assert_nonnull(second);
	g_assert_cmpstr(id_of(second), !=, id_of(first));
	g_assert_cmpuint(fence_of(second), >, fence_of(first));
	/* the old holder's result is refused and changes nothing */
	late = complete(f, a, first, "{\"late\":true}", &error);
	g_assert_null(late);
	g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	g_clear_error(&error);
	g_assert_false(ark_engine_fail_assignment(f->engine, a, id_of(first), fence_of(first),
						  "nope", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	g_clear_error(&error);
	/* the new holder with the old fence: CONFLICT too */
	g_assert_null(ark_engine_assignment_heartbeat(f->engine, b, id_of(second),
						      fence_of(first), NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	g_assert_cmpint(run_state(f, run_id), ==, -1);
	complete_ok(f, b, second, "\"done\"", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	{
		g_autofree gchar *result = attempt_result(f, run_id, "review");
		g_assert_cmpstr(result, ==, "\"done\"");
	}
}

static void
test_heartbeat_extends_lease(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) progress = json_from_string("{\"done\":0.5}", NULL);
	g_autofree gchar *state = NULL;

	g_assert_nonnull(got);
	for (guint i = 0; i < 4; i++) {
		g_autoptr(JsonObject) hb = NULL;
		advance(f, 3 * SEC);
		hb = ark_engine_assignment_heartbeat(f->engine, a, id_of(got), fence_of(got),
						     progress, &error);
		g_assert_no_error(error);
		g_assert_cmpstr(json_object_get_string_member(hb, "state"), ==, "claimed");
	}
	/* 12 s after the claim, on a 5 s lease */
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "claimed");
	{
		g_autoptr(JsonObject) shown =
		    ark_engine_get_assignment(f->engine, id_of(got), &error);
		JsonObject *p = json_object_get_object_member(shown, "progress");
		g_assert_cmpfloat(json_object_get_double_member(p, "done"), ==, 0.5);
	}
	complete_ok(f, a, got, "1", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

static void
test_credentials(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *b = agent_simple(f, "b");
	g_autofree gchar *run_id = NULL;
	g_autoptr(JsonObject) got = NULL;
	g_autoptr(JsonNode) result = json_from_string("\"mine\"", NULL);
	g_autoptr(GError) error = NULL;
	const gchar *holder, *intruder;
	g_autofree gchar *state = NULL;

	run_id = submit(f, delegated_wf);
	got = claim(f, a);
	holder = a;
	intruder = b;
	if (got == NULL) {
		got = claim(f, b);
		holder = b;
		intruder = a;
	}
	g_assert_nonnull(got);
	g_assert_null(ark_engine_assignment_heartbeat(f->engine, intruder, id_of(got),
						      fence_of(got), NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	g_assert_null(ark_engine_complete_assignment(f->engine, intruder, id_of(got),
						     fence_of(got), result, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	g_assert_false(ark_engine_fail_assignment(f->engine, intruder, id_of(got), fence_of(got),
						  "sabotage", &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	g_assert_false(ark_engine_release_assignment(f->engine, intruder, id_of(got),
						     fence_of(got), NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	/* unknown ones */
	g_assert_null(ark_engine_assignment_heartbeat(f->engine, holder, "asg_nope", 1, NULL,
						      &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_null(ark_engine_assignment_heartbeat(f->engine, "agt_ffffffffffffffff",
						      id_of(got), fence_of(got), NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
	g_clear_error(&error);
	/* none of it changed anything */
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "claimed");
	complete_ok(f, holder, got, "\"mine\"", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	/* the attempt is on record, with who tried */
	{
		g_autoptr(GPtrArray) audit = ark_store_read_audit(f->store, 0, 0, &error);
		gboolean denied = FALSE;
		g_assert_no_error(error);
		for (guint i = 0; i < audit->len; i++) {
			ArkAuditRecord *r = g_ptr_array_index(audit, i);
			denied |= g_strcmp0(r->action, "assignment.complete") == 0 &&
				  g_strcmp0(r->actor, intruder) == 0 &&
				  g_strcmp0(r->result, "permission-denied") == 0;
		}
		g_assert_true(denied);
	}
}

static void
test_bad_input(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(GString) big = g_string_new("\"");
	g_autoptr(JsonNode) big_node = NULL;
	g_autoptr(GString) long_reason = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *state = NULL;

	g_assert_nonnull(got);
	for (guint i = 0; i < ARK_AGENT_MAX_PROGRESS_BYTES; i++)
		g_string_append_c(big, 'p');
	g_string_append_c(big, '"');
	big_node = json_from_string(big->str, NULL);
	g_assert_null(ark_engine_assignment_heartbeat(f->engine, a, id_of(got), fence_of(got),
						      big_node, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(ark_engine_complete_assignment(f->engine, a, id_of(got), fence_of(got), NULL,
						     &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(ark_engine_fail_assignment(f->engine, a, id_of(got), fence_of(got), NULL,
						  &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	for (guint i = 0; i < ARK_AGENT_MAX_REASON_LEN + 1; i++)
		g_string_append_c(long_reason, 'r');
	g_assert_false(ark_engine_release_assignment(f->engine, a, id_of(got), fence_of(got),
						     long_reason->str, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	/* a result over 1 MiB */
	{
		g_autoptr(GString) huge = g_string_new("\"");
		g_autoptr(JsonNode) huge_node = NULL;
		for (guint i = 0; i < ARK_RESULT_MAX_BYTES; i++)
			g_string_append_c(huge, 'h');
		g_string_append_c(huge, '"');
		huge_node = json_from_string(huge->str, NULL);
		g_assert_null(ark_engine_complete_assignment(f->engine, a, id_of(got),
							     fence_of(got), huge_node, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_clear_error(&error);
	}
	/* nested too deep for the task's result */
	{
		g_autoptr(GString) deep = g_string_new(NULL);
		g_autoptr(JsonNode) deep_node = NULL;
		for (guint i = 0; i < 100; i++)
			g_string_append_c(deep, '[');
		for (guint i = 0; i < 100; i++)
			g_string_append_c(deep, ']');
		deep_node = json_from_string(deep->str, NULL);
		g_assert_nonnull(deep_node);
		g_assert_null(ark_engine_complete_assignment(f->engine, a, id_of(got),
							     fence_of(got), deep_node, &error));
		g_assert_error(error, ARK_ERROR, ARK_ERROR_INVALID_ARGUMENT);
		g_clear_error(&error);
	}
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "claimed");
	complete_ok(f, a, got, "null", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

/* modes ---------------------------------------------------------------------------------------- */

static void
test_competitive(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *b = agent_simple(f, "b");
	g_autofree gchar *c_id = agent_simple(f, "c");
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"race\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"mode\":\"competitive\","
	       "\"contenders\":2}}]}");
	const gchar *ids[] = {a, b, c_id};
	JsonObject *got[3] = {NULL};
	guint n = 0, winner = 0, loser = 0;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *loser_state = NULL;

	for (guint i = 0; i < 3; i++) {
		got[i] = claim(f, ids[i]);
		n += got[i] != NULL;
	}
	/* two contenders at once */
	g_assert_cmpuint(n, ==, 2);
	/* the first holder completes first */
	for (winner = 0; got[winner] == NULL; winner++)
		;
	for (loser = winner + 1; got[loser] == NULL; loser++)
		;
	complete_ok(f, ids[winner], got[winner], "{\"first\":true}", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	/* the other contender was cancelled, and hears so */
	loser_state = assignment_state(f, id_of(got[loser]));
	g_assert_cmpstr(loser_state, ==, "cancelled");
	g_assert_null(ark_engine_assignment_heartbeat(f->engine, ids[loser], id_of(got[loser]),
						      fence_of(got[loser]), NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	g_assert_nonnull(strstr(error->message, "superseded"));
	g_clear_error(&error);
	{
		g_autoptr(JsonObject) late = complete(f, ids[loser], got[loser], "{}", &error);
		g_assert_null(late);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	}
	{
		g_autofree gchar *result = attempt_result(f, run_id, "review");
		g_assert_cmpstr(result, ==, "{\"first\":true}");
	}
	for (guint i = 0; i < 3; i++)
		g_clear_pointer(&got[i], json_object_unref);
}

/* @ids[2] agents; claims until one holds something: returns its index */
static guint
claim_either(Fixture *f, const gchar *const *ids, JsonObject **out)
{
	for (guint i = 0; i < 2; i++) {
		*out = claim(f, ids[i]);
		if (*out != NULL)
			return i;
	}
	g_assert_not_reached();
}

static void
test_schema_acceptance(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *b = agent_simple(f, "b");
	const gchar *ids[] = {a, b};
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"schema\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"accept\":{\"schema\":{\"type\":"
	       "\"object\",\"required\":[\"ok\"],\"properties\":{\"ok\":{\"const\":true}}}}}}]}");
	g_autoptr(JsonObject) first = NULL;
	g_autoptr(JsonObject) second = NULL;
	g_autoptr(JsonObject) out = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) agent = NULL;
	JsonObject *trust;
	guint i = claim_either(f, ids, &first);

	out = complete(f, ids[i], first, "{\"ok\":false}", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(json_object_get_string_member(out, "state"), ==, "rejected");
	g_assert_true(json_object_has_member(out, "reason"));
	g_assert_cmpint(run_state(f, run_id), ==, -1);
	/* someone else gets it first */
	g_assert_null(claim(f, ids[i]));
	second = claim(f, ids[1 - i]);
	g_assert_nonnull(second);
	complete_ok(f, ids[1 - i], second, "{\"ok\":true}", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	/* the rejection is on the first agent's record */
	agent = ark_engine_get_agent(f->engine, ids[i], &error);
	g_assert_no_error(error);
	trust = json_object_get_object_member(json_object_get_object_member(agent, "trust"),
					      "review");
	g_assert_cmpint(json_object_get_int_member(trust, "rejected"), ==, 1);
	g_assert_cmpint(json_object_get_int_member(trust, "successes"), ==, 0);
}

typedef struct {
	Fixture *f;
	const gchar *id;
} StateWait;

static gboolean
assignment_not_checking(gpointer user_data)
{
	StateWait *w = user_data;
	g_autoptr(JsonObject) a = ark_engine_get_assignment(w->f->engine, w->id, NULL);
	return !json_object_get_boolean_member_with_default(a, "checking", FALSE);
}

static void
test_command_acceptance(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_new(f, "a", "[\"review\"]", 1, NULL);
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"cmd\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"max_handoffs\":5,"
	       "\"accept\":{\"command\":[\"sh\",\"-c\",\"grep -q ok\"]}}}]}");
	g_autoptr(JsonObject) first = claim(f, a);
	g_autoptr(JsonObject) second = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *state = NULL;
	StateWait w = {f, NULL};

	g_assert_nonnull(first);
	complete_ok(f, a, first, "\"not good\"", "checking");
	/* while it is checked, nothing else is taken from the agent */
	g_assert_false(ark_engine_release_assignment(f->engine, a, id_of(first), fence_of(first),
						     NULL, &error));
	g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	g_clear_error(&error);
	w.id = id_of(first);
	ark_test_loop_run_until(assignment_not_checking, &w, 30000);
	iterate(f);
	state = assignment_state(f, id_of(first));
	g_assert_cmpstr(state, ==, "rejected");
	/* the only agent may try again */
	second = claim(f, a);
	g_assert_nonnull(second);
	complete_ok(f, a, second, "\"it is ok\"", "checking");
	{
		RunWait rw = {f, run_id};
		ark_test_loop_run_until(run_done, &rw, 30000);
	}
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	g_clear_pointer(&state, g_free);
	state = assignment_state(f, id_of(second));
	g_assert_cmpstr(state, ==, "completed");
}

static void
test_cooperative(Fixture *f, gconstpointer data)
{
	gchar *ids[3] = {agent_simple(f, "a"), agent_simple(f, "b"), agent_simple(f, "c")};
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"coop\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"mode\":\"cooperative\","
	       "\"shards\":[\"x\",\"y\",\"z\"]}}]}");
	JsonObject *got[3];
	gboolean seen[3] = {FALSE};
	g_autofree gchar *result = NULL;

	for (guint i = 0; i < 3; i++) {
		got[i] = claim(f, ids[i]);
		/* one shard each: every agent holds at most one (max_assignments 1) */
		g_assert_nonnull(got[i]);
	}
	for (guint i = 0; i < 3; i++) {
		gint64 piece = json_object_get_int_member(got[i], "piece");
		const gchar *shard = json_object_get_string_member(got[i], "input");
		g_assert_cmpint(piece, >=, 0);
		g_assert_cmpint(piece, <, 3);
		g_assert_false(seen[piece]);
		seen[piece] = TRUE;
		const gchar *expected[] = {"x", "y", "z"};
		g_assert_cmpstr(shard, ==, expected[piece]);
	}
	/* done out of order: merged in piece order */
	for (guint k = 3; k > 0; k--) {
		g_autofree gchar *upper =
		    g_ascii_strup(json_object_get_string_member(got[k - 1], "input"), -1);
		g_autofree gchar *value = g_strdup_printf("\"%s\"", upper);
		complete_ok(f, ids[k - 1], got[k - 1], value, "completed");
	}
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	result = attempt_result(f, run_id, "review");
	g_assert_cmpstr(result, ==, "[\"X\",\"Y\",\"Z\"]");
	for (guint i = 0; i < 3; i++) {
		json_object_unref(got[i]);
		g_free(ids[i]);
	}
}

static void
test_shards_from(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_new(f, "a", "[\"review\"]", 2, NULL);
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"from\",\"tasks\":["
	       "{\"id\":\"split\",\"executor\":\"thread\",\"function\":\"echo\","
	       "\"args\":[{\"n\":1},{\"n\":2}]},"
	       "{\"id\":\"review\",\"needs\":[\"split\"],\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"mode\":\"cooperative\","
	       "\"shards_from\":\"split\"}}]}");
	RunWait w = {f, run_id};
	JsonObject *got[2] = {NULL};
	g_autofree gchar *result = NULL;

	/* the thread executor runs on real threads */
	for (guint tries = 0; tries < 2000 && got[0] == NULL; tries++) {
		g_usleep(1000);
		iterate(f);
		got[0] = claim(f, a);
	}
	g_assert_nonnull(got[0]);
	got[1] = claim(f, a);
	g_assert_nonnull(got[1]);
	for (guint i = 0; i < 2; i++) {
		JsonObject *input = json_object_get_object_member(got[i], "input");
		gint64 n = json_object_get_int_member(input, "n");
		g_autofree gchar *value = g_strdup_printf("%" G_GINT64_FORMAT, n * 10);
		g_assert_cmpint(n, ==, json_object_get_int_member(got[i], "piece") + 1);
		complete_ok(f, a, got[i], value, "completed");
	}
	ark_test_loop_run_until(run_done, &w, 30000);
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	result = attempt_result(f, run_id, "review");
	g_assert_cmpstr(result, ==, "[10,20]");
	for (guint i = 0; i < 2; i++)
		json_object_unref(got[i]);
}

/* the loop guard ------------------------------------------------------------------------------- */

static void
test_loop_same_agent(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"loop\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"retry\":{\"max_attempts\":5},"
	       "\"agent\":{\"capabilities\":[\"review\"],\"max_handoffs\":10}}]}");
	g_autofree gchar *reason = NULL;
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < 3; i++) {
		g_autoptr(JsonObject) got = claim(f, a);
		g_assert_nonnull(got);
		g_assert_true(ark_engine_release_assignment(f->engine, a, id_of(got),
							    fence_of(got), "not for me", &error));
		g_assert_no_error(error);
		iterate(f);
	}
	/* dead, although four attempts were left */
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_FAILED);
	g_assert_cmpint(task_state(f, run_id, "review", &reason), ==, ARK_TASK_STATE_DEAD);
	g_assert_nonnull(strstr(reason, "loop"));
	g_assert_nonnull(strstr(reason, a));
}

static void
test_loop_ping_pong(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *b = agent_simple(f, "b");
	const gchar *ids[] = {a, b};
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"pingpong\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"max_handoffs\":10}}]}");
	g_autofree gchar *reason = NULL;
	g_autoptr(GError) error = NULL;
	gint last = -1;

	for (guint i = 0; i < 4; i++) {
		g_autoptr(JsonObject) got = NULL;
		guint who = claim_either(f, ids, &got);
		/* the one who just gave it back is not offered it again while another can */
		g_assert_cmpint((gint)who, !=, last);
		last = (gint)who;
		g_assert_true(ark_engine_release_assignment(f->engine, ids[who], id_of(got),
							    fence_of(got), NULL, &error));
		g_assert_no_error(error);
		iterate(f);
	}
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_FAILED);
	g_assert_cmpint(task_state(f, run_id, "review", &reason), ==, ARK_TASK_STATE_DEAD);
	g_assert_nonnull(strstr(reason, "back and forth"));
}

/* a piece given back waits for an agent that has not tried it, even a busy one, rather than
 * going back at once to the agent that gave it back (at heavy load that tripped the loop guard) */
static void
test_loop_waits_for_busy(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *b = agent_simple(f, "b");
	const gchar *ids[] = {a, b};
	g_autofree gchar *first = submit(f, delegated_wf);
	g_autoptr(JsonObject) held = NULL;
	g_autoptr(JsonObject) second = NULL;
	g_autoptr(JsonObject) again = NULL;
	g_autoptr(JsonObject) later = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *second_run = NULL;
	guint holder = claim_either(f, ids, &held);
	const gchar *busy = ids[holder];
	const gchar *free_one = ids[1 - holder];

	/* the other agent is the only free one: it gets the second run's piece and gives it back */
	second_run = submit(f, delegated_wf);
	second = claim(f, free_one);
	g_assert_nonnull(second);
	g_assert_true(ark_engine_release_assignment(f->engine, free_one, id_of(second),
						    fence_of(second), "not now", &error));
	g_assert_no_error(error);
	iterate(f);
	/* the busy agent has not tried it: the piece waits for it */
	again = claim(f, free_one);
	g_assert_null(again);
	complete_ok(f, busy, held, "{\"ok\":true}", "completed");
	later = claim(f, busy);
	g_assert_nonnull(later);
	g_assert_cmpstr(json_object_get_string_member(later, "run_id"), ==, second_run);
	complete_ok(f, busy, later, "{\"ok\":true}", "completed");
	g_assert_cmpint(run_state(f, first), ==, ARK_RUN_STATE_SUCCEEDED);
	g_assert_cmpint(run_state(f, second_run), ==, ARK_RUN_STATE_SUCCEEDED);
}

static void
test_max_handoffs(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *b = agent_simple(f, "b");
	g_autofree gchar *c = agent_simple(f, "c");
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"handoffs\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"max_handoffs\":2,\"lease\":\"5s\"}}]}");
	const gchar *ids[] = {a, b, c};
	g_autofree gchar *reason = NULL;

	/* three expiries, each by a different agent: more than max_handoffs */
	for (guint round = 0; round < 3; round++) {
		g_autoptr(JsonObject) got = NULL;
		for (guint i = 0; i < 3 && got == NULL; i++)
			got = claim(f, ids[i]);
		g_assert_nonnull(got);
		advance(f, 6 * SEC);
		/* the others keep up their heartbeats */
	}
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_FAILED);
	g_assert_cmpint(task_state(f, run_id, "review", &reason), ==, ARK_TASK_STATE_DEAD);
	g_assert_nonnull(strstr(reason, "max_handoffs"));
}

/* agents coming and going ---------------------------------------------------------------------- */

static void
test_offline_reclaims(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"offline\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"lease\":\"1h\"}}]}");
	g_autoptr(JsonObject) got = claim(f, a);
	g_autofree gchar *b = agent_simple(f, "b");
	g_autoptr(JsonObject) taken = NULL;
	g_autoptr(JsonObject) agent = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *state = NULL;

	g_assert_nonnull(got);
	/* b keeps up its heartbeats, a falls silent past the 10 min heartbeat-timeout */
	for (guint i = 0; i < 4; i++) {
		g_autoptr(JsonObject) hb = NULL;
		advance(f, 3 * 60 * SEC);
		hb = ark_engine_agent_heartbeat(f->engine, b, &error);
		g_assert_no_error(error);
	}
	agent = ark_engine_get_agent(f->engine, a, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(json_object_get_string_member(agent, "state"), ==, "offline");
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "expired");
	taken = claim(f, b);
	g_assert_nonnull(taken);
	complete_ok(f, b, taken, "true", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

static void
test_offer_timeout(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonArray) offered = ark_engine_list_assignments(f->engine, NULL);
	g_autoptr(JsonArray) after = NULL;
	g_autofree gchar *first_id = NULL;
	g_autofree gchar *state = NULL;
	g_autofree gchar *b = NULL;
	g_autoptr(JsonObject) got = NULL;

	g_assert_cmpuint(json_array_get_length(offered), ==, 1);
	first_id = g_strdup(
	    json_object_get_string_member(json_array_get_object_element(offered, 0), "id"));
	b = agent_simple(f, "b");
	/* a heartbeats but never claims: its offer is withdrawn and goes to b */
	for (guint i = 0; i < 4; i++) {
		g_autoptr(JsonObject) hb_a = NULL;
		g_autoptr(JsonObject) hb_b = NULL;
		advance(f, 3 * 60 * SEC);
		hb_a = ark_engine_agent_heartbeat(f->engine, a, NULL);
		hb_b = ark_engine_agent_heartbeat(f->engine, b, NULL);
	}
	state = assignment_state(f, first_id);
	g_assert_cmpstr(state, ==, "cancelled");
	got = claim(f, b);
	g_assert_nonnull(got);
	complete_ok(f, b, got, "true", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	/* no trust lost for a missed offer */
	{
		g_autoptr(JsonObject) agent = ark_engine_get_agent(f->engine, a, NULL);
		JsonObject *trust = json_object_get_object_member(agent, "trust");
		g_assert_false(json_object_has_member(trust, "review"));
	}
}

static void
test_deregister_reassigns(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autofree gchar *b = agent_simple(f, "b");
	g_autoptr(JsonObject) taken = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *state = NULL;

	g_assert_nonnull(got);
	g_assert_null(claim(f, b));
	g_assert_true(ark_engine_deregister_agent(f->engine, a, "tester", &error));
	g_assert_no_error(error);
	iterate(f);
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "cancelled");
	taken = claim(f, b);
	g_assert_nonnull(taken);
	/* a claim the removed agent was waiting in learns that it is gone */
	{
		Claim c = {0};
		g_autofree gchar *d = agent_simple(f, "d");
		ark_engine_claim_assignment(f->engine, d, 60 * SEC, NULL, claim_cb, &c);
		iterate(f);
		g_assert_false(c.called);
		g_assert_true(ark_engine_deregister_agent(f->engine, d, "tester", &error));
		g_assert_no_error(error);
		iterate(f);
		g_assert_true(c.called);
		g_assert_error(c.error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		claim_clear(&c);
	}
	/* the removed agent can do nothing more */
	{
		g_autoptr(JsonObject) late = complete(f, a, got, "1", &error);
		g_assert_null(late);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_NOT_FOUND);
		g_clear_error(&error);
	}
	complete_ok(f, b, taken, "2", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

static void
test_cancel_run(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *state = NULL;
	g_autoptr(JsonObject) agent = NULL;

	g_assert_nonnull(got);
	g_assert_true(ark_engine_cancel_run(f->engine, run_id, "tester", "no longer needed",
					    &error));
	g_assert_no_error(error);
	iterate(f);
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_CANCELLED);
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "cancelled");
	{
		g_autoptr(JsonObject) late = complete(f, a, got, "1", &error);
		g_assert_null(late);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	}
	agent = ark_engine_get_agent(f->engine, a, NULL);
	g_assert_cmpint(json_object_get_int_member(agent, "load"), ==, 0);
}

static void
test_fail(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *reason = NULL;

	g_assert_nonnull(got);
	g_assert_true(ark_engine_fail_assignment(f->engine, a, id_of(got), fence_of(got),
						 "the diff does not apply", &error));
	g_assert_no_error(error);
	iterate(f);
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_FAILED);
	g_assert_cmpint(task_state(f, run_id, "review", &reason), ==, ARK_TASK_STATE_FAILED);
	g_assert_nonnull(strstr(reason, "the diff does not apply"));
	g_assert_nonnull(strstr(reason, a));
}

/* restarts ------------------------------------------------------------------------------------- */

static void
test_restart_mid_lease(Fixture *f, gconstpointer data)
{
	g_autofree gchar *token = NULL;
	g_autofree gchar *a = agent_new(f, "a", "[\"review\"]", 1, &token);
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"restart\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"input\":\"x\",\"agent\":{\"capabilities\":[\"review\"],\"lease\":\"1m\"}}]}");
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(JsonObject) agent = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *who = NULL;
	g_autofree gchar *state = NULL;
	ArkTimestamp now;
	JsonObject *trust;

	g_assert_nonnull(got);
	advance(f, 20 * SEC);
	now = ark_clock_get_time(f->clock);
	fixture_close(f);
	fixture_open(f, now + 10 * SEC);
	g_assert_true(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_no_error(error);
	iterate(f);
	/* the agent, its token and its assignment came back with the engine */
	who = ark_engine_authenticate_agent(f->engine, token);
	g_assert_cmpstr(who, ==, a);
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "claimed");
	g_assert_cmpint(run_state(f, run_id), ==, -1);
	/* 30 s into a 1 min lease: the old fence is still good */
	complete_ok(f, a, got, "\"after restart\"", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
	{
		g_autofree gchar *result = attempt_result(f, run_id, "review");
		g_assert_cmpstr(result, ==, "\"after restart\"");
	}
	/* the attempt was adopted, not lost and run again */
	{
		g_autoptr(GPtrArray) attempts =
		    ark_store_list_attempts(f->store, run_id, "review", &error);
		g_assert_no_error(error);
		g_assert_cmpuint(attempts->len, ==, 1);
	}
	/* and the trust it earned survives another restart */
	now = ark_clock_get_time(f->clock);
	fixture_close(f);
	fixture_open(f, now + SEC);
	agent = ark_engine_get_agent(f->engine, a, &error);
	g_assert_no_error(error);
	trust = json_object_get_object_member(json_object_get_object_member(agent, "trust"),
					      "review");
	g_assert_nonnull(trust);
	g_assert_cmpint(json_object_get_int_member(trust, "successes"), ==, 1);
	g_assert_cmpfloat(json_object_get_double_member(trust, "alpha"), >, 1.9);
}

static void
test_restart_expired_meanwhile(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(JsonObject) again = NULL;
	g_autoptr(GError) error = NULL;
	ArkTimestamp now;

	g_assert_nonnull(got);
	now = ark_clock_get_time(f->clock);
	fixture_close(f);
	/* the 5 s lease ran out while the daemon was down */
	fixture_open(f, now + 6 * SEC);
	g_assert_true(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_no_error(error);
	ark_engine_fire_timers(f->engine);
	iterate(f);
	{
		g_autoptr(JsonObject) late = complete(f, a, got, "1", &error);
		g_assert_null(late);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
		g_clear_error(&error);
	}
	/* offered again: the same agent is the only one */
	again = claim(f, a);
	g_assert_nonnull(again);
	g_assert_cmpuint(fence_of(again), >, fence_of(got));
	complete_ok(f, a, again, "2", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

static void
test_timeout(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"slow\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"timeout\":\"10s\",\"agent\":{\"capabilities\":[\"review\"],\"lease\":\"1h\"}}]}");
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *state = NULL;
	g_autofree gchar *reason = NULL;

	g_assert_nonnull(got);
	advance(f, 9 * SEC);
	g_assert_cmpint(run_state(f, run_id), ==, -1);
	advance(f, 2 * SEC);
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_FAILED);
	g_assert_cmpint(task_state(f, run_id, "review", &reason), ==, ARK_TASK_STATE_FAILED);
	g_assert_nonnull(strstr(reason, "timed out"));
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "cancelled");
	{
		g_autoptr(JsonObject) late = complete(f, a, got, "1", &error);
		g_assert_null(late);
		g_assert_error(error, ARK_ERROR, ARK_ERROR_CONFLICT);
	}
}

static void
test_interrupt_keeps_assignments(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(
	    f, "{\"name\":\"drain\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"lease\":\"1m\"}}]}");
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(GError) error = NULL;
	ArkTimestamp now;

	g_assert_nonnull(got);
	/* what the daemon does on SIGTERM: an agent attempt is nothing to wait for or to kill */
	ark_engine_drain(f->engine, "shutting down");
	g_assert_cmpuint(ark_engine_get_n_running(f->engine), ==, 0);
	g_assert_true(ark_engine_interrupt(f->engine, "shutting down", &error));
	g_assert_no_error(error);
	now = ark_clock_get_time(f->clock);
	fixture_close(f);
	fixture_open(f, now + SEC);
	g_assert_true(ark_engine_resume_run(f->engine, run_id, &error));
	g_assert_no_error(error);
	iterate(f);
	complete_ok(f, a, got, "\"kept\"", "completed");
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

static gboolean
assignment_expired(gpointer user_data)
{
	StateWait *w = user_data;
	g_autofree gchar *state = assignment_state(w->f, w->id);
	return g_strcmp0(state, "expired") == 0;
}

/* the daemon's case: real timers on the wall clock (the waits are hang guards only) */
static void
test_wall_clock(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = NULL;
	g_autofree gchar *run_id = NULL;
	g_autoptr(JsonObject) got = NULL;
	g_autoptr(JsonObject) again = NULL;
	StateWait w = {f, NULL};
	RunWait rw = {f, NULL};

	fixture_close(f);
	fixture_open(f, 0);
	a = agent_simple(f, "a");
	run_id = submit(
	    f, "{\"name\":\"wall\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	       "\"agent\":{\"capabilities\":[\"review\"],\"lease\":\"1s\"}}]}");
	got = claim(f, a);
	g_assert_nonnull(got);
	w.id = id_of(got);
	ark_test_loop_run_until(assignment_expired, &w, 30000);
	again = claim(f, a);
	g_assert_nonnull(again);
	complete_ok(f, a, again, "1", "completed");
	rw.run_id = run_id;
	ark_test_loop_run_until(run_done, &rw, 30000);
	g_assert_cmpint(run_state(f, run_id), ==, ARK_RUN_STATE_SUCCEEDED);
}

/* a run nobody resumes: what its agents held is cancelled, and their slots are free again */
static void
test_restart_orphan(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(JsonObject) agent = NULL;
	g_autofree gchar *state = NULL;
	ArkTimestamp now;

	g_assert_nonnull(got);
	now = ark_clock_get_time(f->clock);
	fixture_close(f);
	fixture_open(f, now + SEC);
	g_assert_null(claim(f, a));
	state = assignment_state(f, id_of(got));
	g_assert_cmpstr(state, ==, "cancelled");
	agent = ark_engine_get_agent(f->engine, a, NULL);
	g_assert_cmpint(json_object_get_int_member(agent, "load"), ==, 0);
}

/* what the engine reports ---------------------------------------------------------------------- */

static void
test_events_metrics_audit(Fixture *f, gconstpointer data)
{
	g_autofree gchar *a = agent_simple(f, "a");
	g_autofree gchar *run_id = submit(f, delegated_wf);
	g_autoptr(JsonObject) got = claim(f, a);
	g_autoptr(JsonObject) explained = NULL;
	g_autoptr(JsonObject) why = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) audit = NULL;
	g_autofree gchar *metrics = NULL;
	guint offered = 0, claimed = 0, completed = 0;
	gboolean reg = FALSE, done = FALSE;

	g_assert_nonnull(got);
	explained = ark_engine_explain_task(f->engine, run_id, "review", &error);
	g_assert_no_error(error);
	g_assert_true(json_object_has_member(explained, "agents"));
	g_assert_nonnull(strstr(json_object_get_string_member(explained, "summary"), a));
	why = ark_engine_explain_assignment(f->engine, id_of(got), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(json_object_get_string_member(
			    json_object_get_object_member(why, "choice"), "coordinator"),
			==, "delegated");
	g_assert_cmpuint(json_array_get_length(json_object_get_array_member(why, "history")), ==,
			 1);
	complete_ok(f, a, got, "1", "completed");

	for (guint i = 0; i < f->events->len; i++) {
		ArkEvent *e = g_ptr_array_index(f->events, i);
		if (e->kind != ARK_EVENT_ASSIGNMENT)
			continue;
		g_assert_cmpstr(e->task_id, ==, "review");
		offered += strstr(e->data, "\"state\":\"offered\"") != NULL;
		claimed += strstr(e->data, "\"state\":\"claimed\"") != NULL;
		completed += strstr(e->data, "\"state\":\"completed\"") != NULL;
	}
	g_assert_cmpuint(offered, ==, 1);
	g_assert_cmpuint(claimed, ==, 1);
	g_assert_cmpuint(completed, ==, 1);

	metrics = ark_metrics_render_prometheus(ark_engine_get_metrics(f->engine));
	g_assert_nonnull(strstr(metrics, "arkitect_agents{state=\"online\"} 1"));
	g_assert_nonnull(strstr(metrics, "arkitect_assignments{state=\"completed\"} 1"));
	g_assert_nonnull(strstr(metrics, "arkitect_agent_assignments_total{agent=\""));
	g_assert_nonnull(strstr(metrics, "arkitect_agent_trust{agent=\""));

	audit = ark_store_read_audit(f->store, 0, 0, &error);
	g_assert_no_error(error);
	for (guint i = 0; i < audit->len; i++) {
		ArkAuditRecord *r = g_ptr_array_index(audit, i);
		if (g_strcmp0(r->action, "agent.register") == 0 &&
		    g_strcmp0(r->target, a) == 0 && g_strcmp0(r->actor, "tester") == 0)
			reg = TRUE;
		if (g_strcmp0(r->action, "assignment.complete") == 0 &&
		    g_strcmp0(r->actor, a) == 0 && g_strcmp0(r->result, "ok") == 0)
			done = TRUE;
	}
	g_assert_true(reg);
	g_assert_true(done);
}

static void
test_check_workflow(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) parse_problems = NULL;
	g_autoptr(ArkWorkflow) wf = ark_workflow_parse(
	    "{\"name\":\"bad\",\"tasks\":[{\"id\":\"review\",\"executor\":\"agent\","
	    "\"agent\":{\"capabilities\":[\"review\"],\"mode\":\"telepathic\"}}]}",
	    -1, &parse_problems);
	g_autoptr(GPtrArray) problems =
	    g_ptr_array_new_with_free_func((GDestroyNotify)ark_problem_free);
	g_autofree gchar *text = NULL;

	g_assert_nonnull(wf);
	g_assert_false(ark_engine_check_workflow(f->engine, wf, NULL, problems));
	g_assert_cmpuint(problems->len, ==, 1);
	text = ark_problem_to_string(problems->pdata[0], NULL);
	g_assert_nonnull(strstr(text, "unknown coordinator 'telepathic'"));
	g_assert_nonnull(strstr(text, "delegated"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/agents/register/validation", test_register_validation);
	ADD("/agents/register/limit", test_register_limit);
	ADD("/agents/token", test_token_auth);
	ADD("/agents/claim", test_claim);
	ADD("/agents/claim/long-poll", test_claim_long_poll);
	ADD("/agents/lease/expiry", test_lease_expiry);
	ADD("/agents/lease/heartbeat", test_heartbeat_extends_lease);
	ADD("/agents/credentials", test_credentials);
	ADD("/agents/bad-input", test_bad_input);
	ADD("/agents/competitive", test_competitive);
	ADD("/agents/accept/schema", test_schema_acceptance);
	ADD("/agents/accept/command", test_command_acceptance);
	ADD("/agents/cooperative", test_cooperative);
	ADD("/agents/cooperative/shards-from", test_shards_from);
	ADD("/agents/loop/same-agent", test_loop_same_agent);
	ADD("/agents/loop/ping-pong", test_loop_ping_pong);
	ADD("/agents/loop/max-handoffs", test_max_handoffs);
	ADD("/agents/loop/waits-for-busy", test_loop_waits_for_busy);
	ADD("/agents/offline", test_offline_reclaims);
	ADD("/agents/offer-timeout", test_offer_timeout);
	ADD("/agents/deregister", test_deregister_reassigns);
	ADD("/agents/cancel", test_cancel_run);
	ADD("/agents/fail", test_fail);
	ADD("/agents/lease/wall-clock", test_wall_clock);
	ADD("/agents/timeout", test_timeout);
	ADD("/agents/restart/interrupted", test_interrupt_keeps_assignments);
	ADD("/agents/restart/orphan", test_restart_orphan);
	ADD("/agents/restart/mid-lease", test_restart_mid_lease);
	ADD("/agents/restart/expired", test_restart_expired_meanwhile);
	ADD("/agents/report", test_events_metrics_audit);
	ADD("/agents/check-workflow", test_check_workflow);
#undef ADD
	return g_test_run();
}
