#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`arkitect simulate`: the real engine and policy plugins on virtual time.

- The simulator reproduces a real run: the same workflow run for real (process executor, sleeps,
  one slot) with fifo and with priority starts its tasks in the order the simulation says.
- Makespan, lower bound, slowdown and deadline misses on DAGs small enough to work out by hand
  (a chain, a fork-join, independent tasks on N slots), asserted exactly.
- --policy all reports every loaded policy plugin; bad input exits 2 with the validator's words.
- A 10,000-task workflow is simulated to the end (nothing about how long it takes is asserted).

Usage: simulate-test.py   (ARK_CLI and ARK_PLUGIN_DIR from meson)
Output: TAP.
"""

import json
import os
import random
import subprocess
import sys
import tempfile

CLI = os.environ["ARK_CLI"]
S = 1_000_000  # microseconds in a second

results = []


def check(ok, what, detail=""):
    results.append((bool(ok), what, detail))
    return ok


def run(*args, stdin=None):
    return subprocess.run([CLI, *args], capture_output=True, text=True, input=stdin,
                          errors="replace", timeout=600)


def write(tmp, name, doc):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def simulate(path, *args):
    p = run("simulate", path, "--json", *args)
    if p.returncode != 0:
        raise AssertionError(f"simulate {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def task(id, seconds, needs=(), **extra):
    t = {"id": id, "executor": "thread", "function": "noop", "estimate": f"{seconds}s"}
    if needs:
        t["needs"] = list(needs)
    t.update(extra)
    return t


def result_of(report, policy):
    for r in report["results"]:
        if r["policy"] == policy:
            return r
    raise AssertionError(f"no result for policy {policy}: {report}")


def loaded_policies():
    p = run("plugins", "--json")
    names = []
    for plugin in json.loads(p.stdout)["plugins"]:
        names += [x.split(":", 1)[1] for x in plugin.get("provides", [])
                  if x.startswith("policy:")]
    return sorted(names)


# ---- by hand ----------------------------------------------------------------------------------

def test_chain(tmp):
    # a 10 s -> b 20 s -> c 30 s: nothing can overlap, whatever the slots
    path = write(tmp, "chain.json", {"name": "chain", "tasks": [
        task("a", 10), task("b", 20, ["a"]), task("c", 30, ["b"], deadline="+50s")]})
    r = simulate(path, "--slots", "2", "--policy", "fifo")
    res = result_of(r, "fifo")
    check(r["critical_path_us"] == 60 * S and r["total_work_us"] == 60 * S,
          "chain: critical path and work are 60 s", r)
    check(r["lower_bound_us"] == 60 * S, "chain: lower bound is the critical path", r)
    check(res["makespan_us"] == 60 * S and res["ratio"] == 1.0, "chain: makespan 60 s", res)
    check(res["mean_slowdown"] == 1.0 and res["p95_slowdown"] == 1.0,
          "chain: no task waits, slowdown 1", res)
    check(res["deadlines"] == 1 and res["deadline_misses"] == 1,
          "chain: c ends at 60 s, after its deadline of +50s", res)
    check(res["state"] == "succeeded" and res["succeeded"] == 3 and res["attempts"] == 3,
          "chain: every task ran once and succeeded", res)


def test_fork_join(tmp):
    # root 10 s; b 10, c 20, d 30, e 40 after it; join 5 s after all four; two slots
    path = write(tmp, "fork-join.json", {"name": "fork-join", "tasks": [
        task("root", 10), task("b", 10, ["root"]), task("c", 20, ["root"]),
        task("d", 30, ["root"]), task("e", 40, ["root"]),
        task("join", 5, ["b", "c", "d", "e"])]})
    r = simulate(path, "--slots", "2", "--policy", "all")
    check(r["critical_path_us"] == 55 * S, "fork-join: critical path root-e-join 55 s", r)
    check(r["total_work_us"] == 115 * S, "fork-join: 115 s of work", r)
    check(r["lower_bound_us"] == 57_500_000, "fork-join: lower bound 115 s / 2 slots", r)
    # fifo: b, c at 10; d at 20 (b ends); e at 30 (c ends) until 70; join 70-75
    fifo = result_of(r, "fifo")
    check(fifo["makespan_us"] == 75 * S, "fork-join: fifo ends at 75 s", fifo)
    # the longest remaining path first: e, d at 10; c at 40; b at 50; join 60-65
    if "critical-path" in loaded_policies():
        cp = result_of(r, "critical-path")
        check(cp["makespan_us"] == 65 * S, "fork-join: critical-path ends at 65 s", cp)
        check(abs(cp["ratio"] - 65 / 57.5) < 1e-9, "fork-join: ratio 65 / 57.5", cp)
    else:
        check(True, "fork-join: critical-path ends at 65 s # SKIP plugin not built")


def test_independent(tmp):
    # six 10 s tasks on four slots: four end at 10 s, two at 20 s
    path = write(tmp, "independent.json", {"name": "independent", "tasks": [
        task(f"t{i}", 10) for i in range(6)]})
    r = simulate(path, "--slots", "4", "--policy", "fifo", "--schedule")
    res = result_of(r, "fifo")
    check(r["lower_bound_us"] == 15 * S, "independent: lower bound 60 s / 4 slots", r)
    check(res["makespan_us"] == 20 * S, "independent: makespan 20 s", res)
    check(abs(res["ratio"] - 20 / 15) < 1e-9, "independent: ratio 4/3", res)
    check(abs(res["mean_slowdown"] - 8 / 6) < 1e-9 and res["p95_slowdown"] == 2.0,
          "independent: slowdown 1 for four, 2 for two", res)
    starts = [(e["task"], e["start_us"]) for e in res["schedule"]]
    check(starts == [("t0", 0), ("t1", 0), ("t2", 0), ("t3", 0), ("t4", 10 * S),
                     ("t5", 10 * S)], "independent: fifo starts in order, 4 at a time", starts)


def test_simulate_member(tmp):
    # the "simulate" duration is what runs; the estimate only informs the policies
    path = write(tmp, "member.json", {"name": "member", "tasks": [
        task("a", 100, simulate={"duration": "3s"}),
        {"id": "b", "needs": ["a"], "executor": "thread", "function": "noop",
         "simulate": {"distribution": "uniform", "min": "2s", "max": "4s"}}]})
    r1 = simulate(path, "--seed", "7", "--schedule")
    r2 = simulate(path, "--seed", "7", "--schedule")
    r3 = simulate(path, "--seed", "8", "--schedule")
    res = r1["results"][0]
    b = res["schedule"][1]
    check(res["schedule"][0]["finish_us"] == 3 * S and b["start_us"] == 3 * S,
          "simulate member: a takes its 3 s, not its estimate", res)
    check(2 * S <= b["finish_us"] - b["start_us"] <= 4 * S,
          "simulate member: b is drawn from [2 s, 4 s]", b)
    check(r1 == r2, "simulate member: the same seed gives the same report")
    check(r1["results"][0]["schedule"] != r3["results"][0]["schedule"],
          "simulate member: another seed draws another duration")


def test_timeout_retry(tmp):
    # a 10 s task with a 4 s execution timeout and a fixed 1 s retry: it times out twice and
    # is dead, through the engine's retry timers on virtual time; b is skipped
    path = write(tmp, "retry.json", {"name": "retry", "tasks": [
        task("a", 10, timeout="4s", retry={"max_attempts": 2, "backoff": "fixed",
                                          "initial_delay": "1s", "jitter": False}),
        task("b", 1, ["a"])]})
    res = simulate(path, "--schedule")["results"][0]
    a = res["schedule"][0]
    check(res["attempts"] == 2 and a["state"] == "dead" and a["finish_us"] == 9 * S,
          "timeout: two attempts of 4 s with a 1 s wait, then dead at 9 s", res)
    b = res["schedule"][1]
    check(res["state"] == "failed" and b["state"] == "skipped" and b["start_us"] == -1
          and b["ready_us"] == -1 and b["finish_us"] == 9 * S,
          "timeout: the run fails and b is skipped, never ready nor started", res)


def test_run_timeout(tmp):
    # the run-level timeout is an engine timer too: at 25 s b is cancelled mid-attempt
    path = write(tmp, "run-timeout.json", {"name": "run-timeout", "timeout": "25s", "tasks": [
        task("a", 10), task("b", 20, ["a"]), task("c", 5, ["b"])]})
    res = simulate(path, "--schedule")["results"][0]
    states = {e["task"]: (e["state"], e["finish_us"]) for e in res["schedule"]}
    check(res["state"] == "failed" and res["makespan_us"] == 25 * S,
          "run timeout: the run ends at 25 s", res)
    check(states == {"a": ("succeeded", 10 * S), "b": ("cancelled", 25 * S),
                     "c": ("cancelled", 25 * S)},
          "run timeout: b is cancelled while running, c before it started", states)


def test_policy_all(tmp):
    path = write(tmp, "all.json", {"name": "all", "tasks": [task("a", 1), task("b", 2)]})
    r = simulate(path, "--policy", "all")
    names = sorted(x["policy"] for x in r["results"])
    expected = loaded_policies()
    check(names == expected and len(expected) >= 2,
          "--policy all reports every loaded policy plugin", f"{names} vs {expected}")
    text = run("simulate", path, "--policy", "all")
    check(text.returncode == 0 and all(f"\n{n} " in text.stdout for n in expected),
          "--policy all prints a row per policy", text.stdout)


# ---- bad input -------------------------------------------------------------------------------

def test_bad_input(tmp):
    broken = write(tmp, "broken.json", '{"name": "x", "tasks": [{"id": "a",}]}')
    p = run("simulate", broken)
    check(p.returncode == 2 and "broken.json:1:" in p.stderr and "invalid JSON" in p.stderr,
          "malformed JSON: exit 2 with the validator's message", p.stderr)
    p = run("simulate", broken, "--json")
    doc = json.loads(p.stdout) if p.returncode == 2 else {}
    check(doc.get("valid") is False and doc.get("problems"),
          "malformed JSON with --json: the problems as JSON", p.stdout)

    no_duration = write(tmp, "no-duration.json", {"name": "x", "tasks": [
        task("a", 1), {"id": "b", "executor": "thread", "function": "noop"}]})
    p = run("simulate", no_duration)
    check(p.returncode == 2 and "tasks[1]" in p.stderr and "nothing to simulate" in p.stderr,
          "a task without estimate or simulate: exit 2 naming it", p.stderr)

    bad_member = write(tmp, "bad-member.json", {"name": "x", "tasks": [
        task("a", 1, simulate={"distribution": "gamma", "mean": "1s"})]})
    p = run("simulate", bad_member)
    check(p.returncode == 2 and "unknown distribution 'gamma'" in p.stderr,
          "a bad simulate member: exit 2", p.stderr)

    unknown_exec = write(tmp, "unknown-exec.json", {"name": "x", "tasks": [
        {"id": "a", "executor": "mainframe", "estimate": "1s"}]})
    p = run("simulate", unknown_exec)
    check(p.returncode == 2 and "unknown executor 'mainframe'" in p.stderr,
          "a task on an unknown executor: exit 2 like validate", p.stderr)

    good = write(tmp, "good.json", {"name": "x", "tasks": [task("a", 1)]})
    p = run("simulate", good, "--policy", "lottery")
    check(p.returncode == 2 and "unknown policy 'lottery'" in p.stderr,
          "an unknown policy: exit 2", p.stderr)
    p = run("simulate", good, "--seed", "-3")
    check(p.returncode == 2 and "--seed" in p.stderr, "a negative seed: exit 2", p.stderr)
    p = run("simulate", os.path.join(tmp, "missing.json"))
    check(p.returncode == 2 and "cannot read" in p.stderr, "a missing file: exit 2", p.stderr)
    p = run("simulate")
    check(p.returncode == 2, "no file: exit 2", p.stderr)


# ---- against a real run ----------------------------------------------------------------------

def test_real_run_order(tmp):
    # process tasks that sleep what they declare, one slot: each start is a policy decision
    # among what is ready when the previous task ends. Priorities make fifo and priority
    # differ, and e (a root) competes with the tasks r releases.
    def sleeper(id, ms, needs=(), priority=0):
        t = {"id": id, "run": ["sleep", f"{ms / 1000:.3f}"], "estimate": f"{ms}ms",
             "priority": priority}
        if needs:
            t["needs"] = list(needs)
        return t
    doc = {"name": "real-vs-simulated", "tasks": [
        sleeper("r", 60), sleeper("e", 40, priority=-1),
        sleeper("a", 40, ["r"], priority=1), sleeper("b", 80, ["r"], priority=5),
        sleeper("c", 60, ["r"], priority=3), sleeper("d", 40, ["a"], priority=10),
        sleeper("f", 40, ["b", "c"], priority=2), sleeper("g", 20, ["e"], priority=4)]}
    path = write(tmp, "real.json", doc)
    orders = {}
    for policy in ("fifo", "priority"):
        p = run("run", "--ephemeral", "--json", "--quiet", "--slots", "1", "--policy", policy,
                path)
        if not check(p.returncode == 0, f"real run with {policy} succeeds", p.stderr):
            continue
        tasks = json.loads(p.stdout)["tasks"]
        real = [t["id"] for t in sorted(tasks, key=lambda t: t["started_at"])]
        sim = simulate(path, "--slots", "1", "--policy", policy, "--schedule")
        simulated = [e["task"] for e in sim["results"][0]["schedule"]]
        check(real == simulated, f"{policy}: the simulation starts tasks in the real order",
              f"real {real}, simulated {simulated}")
        orders[policy] = simulated
    check(orders.get("fifo") != orders.get("priority"),
          "fifo and priority orders differ (the comparison can fail)", orders)


# ---- size ------------------------------------------------------------------------------------

def test_10k(tmp):
    rng = random.Random(10)
    tasks = []
    for i in range(10_000):
        t = task(f"t{i}", rng.choice([1, 2, 5, 10, 60]))
        if i >= 100:
            t["needs"] = [f"t{p}" for p in sorted(rng.sample(range(i - 100, i), 2))]
        tasks.append(t)
    path = write(tmp, "10k.json", {"name": "10k", "tasks": tasks})
    r = simulate(path, "--slots", "16", "--policy", "fifo")
    res = r["results"][0]
    check(r["tasks"] == 10_000 and res["succeeded"] == 10_000 and res["state"] == "succeeded",
          "10k tasks: every task ran", res)
    check(r["lower_bound_us"] <= res["makespan_us"], "10k tasks: makespan >= lower bound", res)


def main():
    tests = [test_chain, test_fork_join, test_independent, test_simulate_member,
             test_timeout_retry, test_run_timeout, test_policy_all, test_bad_input, test_real_run_order, test_10k]
    with tempfile.TemporaryDirectory(prefix="ark-simulate-") as tmp:
        for t in tests:
            try:
                t(tmp)
            except Exception as e:  # one broken case must not hide the others
                check(False, t.__name__, repr(e))
    print(f"1..{len(results)}")
    failed = 0
    for n, (ok, what, detail) in enumerate(results, 1):
        if ok:
            print(f"ok {n} {what}")
        else:
            failed += 1
            print(f"not ok {n} {what}")
            for line in str(detail).splitlines() or [""]:
                print(f"# {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
