#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Crash harness: kill the runner with SIGKILL at random moments, resume, check the store.

The harness generates a deterministic workflow of a few hundred short process tasks (a layered
random DAG with fan-out and fan-in), runs it once without interruption as the reference, and then
runs it again in fresh state directories while killing `arkitect run` / `arkitect run --resume`
with SIGKILL after random delays, resuming each time, until enough kills have happened. Each
interrupted run ("round") is finally allowed to finish and is then checked against the
invariants below, read from the SQLite store (DIR/arkitect.db) and from the marker file the
tasks write:

  * every task of the workflow has exactly one task record, in a terminal state, and exactly one
    terminal task-state event; nothing happens to a task after that event, and its state events
    follow the transitions of docs/resilience.md, one "running" for each attempt;
  * there is no record (task, attempt or event) for a task or a run that was never submitted,
    and a run killed before it was committed leaves nothing behind;
  * no attempt started before every task it needs had finished its deciding attempt (succeeded,
    or failed with allow_failure), checked both with the store's timestamps and with the order
    of the lines in the marker file (which needs no clock);
  * attempt numbers are 1..n without gaps, the task record counts n attempts, every attempt is
    terminal at the end with exactly one started and one finished event, only the last one may
    have decided the task, and no attempt number was executed twice;
  * every attempt the executor ran (a start marker) was recorded in the store before it ran,
    and every attempt recorded as succeeded or failed really ran to its end (at-least-once);
  * the final task states and the run state equal those of the uninterrupted reference run,
    which in turn equal the states predicted from the workflow.

It also checks that a second runner on a state directory that is in use gets exit status 3 and
"in use by process N" without changing the store, and that resuming a finished run only prints
its report. `status` after a kill that hit the creation of a new store may refuse the
half-created file (exit 3); that is counted and printed, not failed: nothing was committed yet.

Why kills can not change the final states: every task retries "lost" with a budget far above the
kills of a round, and nothing else, so a kill only adds lost attempts before the same outcome;
the tasks that always fail (exit 3) retry "failed" and "lost" alike with a budget of 3, so they
end dead after exactly 3 attempts whatever mix of the two they saw (see generate_workflow).

Environment:
  ARK_CLI                 the arkitect CLI (required)
  ARK_CRASH_SEED          seed of the kill schedule (default: random; always printed)
  ARK_CRASH_KILLS         how many SIGKILLs at least (default 50)
  ARK_CRASH_BUDGET        seconds after which no more kills are made (default 150)
  ARK_CRASH_TASKS         tasks in the workflow (default 300)
  ARK_CRASH_WORKFLOW_SEED seed of the workflow generator (default 20240611)
  ARK_CRASH_SLOTS         --slots of every runner (default 8)
  ARK_CRASH_KEEP          keep the work directory even when everything passed

Exit status: 0 all invariants hold, 1 a violation (the work directory with the stores, marker
files and runner outputs is kept and printed), 77 skipped (no CLI, or a CLI without --resume).

Run alone: ARK_CLI=build/core/arkitect ARK_PLUGIN_DIR=... python3 tests/crash-harness.py
Generate the workflow only: python3 tests/crash-harness.py --print-workflow
"""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

# the stored numeric values (include/arkitect/ark-types.h, append only)
TASK_STATES = ["pending", "ready", "running", "retry_wait", "succeeded", "failed", "cancelled",
               "skipped", "dead"]
TERMINAL_TASK_STATES = {"succeeded", "failed", "cancelled", "skipped", "dead"}
RUN_STATES = ["pending", "running", "succeeded", "failed", "cancelled"]
ATTEMPT_STATUSES = ["running", "succeeded", "failed", "timed_out", "cancelled", "lost", "error"]
EV_RUN_SUBMITTED, EV_RUN_STARTED, EV_RUN_FINISHED = 0, 1, 2
EV_TASK_STATE, EV_ATTEMPT_STARTED, EV_ATTEMPT_FINISHED = 3, 4, 5
# the task state changes of docs/resilience.md (a task starts pending, without an event)
TRANSITIONS = {("pending", "ready"), ("pending", "skipped"), ("ready", "running"),
               ("ready", "failed"), ("running", "succeeded"), ("running", "failed"),
               ("running", "dead"), ("running", "retry_wait"), ("retry_wait", "ready")} | \
    {(s, "cancelled") for s in ("pending", "ready", "running", "retry_wait")}

# A task may lose at most one attempt per kill (a runner holds at most one attempt of a task,
# and recovery turns it into one lost attempt however often recovery itself is interrupted), so
# with fewer kills per round than this bound no task can run out of attempts through kills.
MAX_KILLS_PER_ROUND = 200
LOST_BUDGET = 1000  # ARK_WORKFLOW_MAX_ATTEMPTS
DEAD_ATTEMPTS = 3

EXIT_DEAD = 3   # always fails, retried on exit code 3 until the budget is used: dead
EXIT_FAIL = 5   # fails, never retried (only "lost" is): failed, dependents skipped
EXIT_ALLOW = 4  # fails with allow_failure: failed, dependents still run


class Violation(Exception):
    pass


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------------------------------------
# workflow generation

def generate_workflow(seed, n_tasks, marks_path):
    """A layered random DAG; returns (document, model) where model maps a task id to
    {"needs", "kind", "expected"} and the document's order is topological."""
    rng = random.Random(seed)
    n_layers = max(4, min(14, n_tasks // 20))
    sizes = [n_tasks // n_layers] * n_layers
    for i in range(n_tasks - sum(sizes)):
        sizes[i % n_layers] += 1
    layers = []
    needs = {}
    order = []
    for li, size in enumerate(sizes):
        layer = ["t%02d-%03d" % (li, i) for i in range(size)]
        for tid in layer:
            deps = []
            if li > 0:
                prev = layers[-1]
                earlier = [t for lay in layers[:-1] for t in lay]
                r = rng.random()
                if r < 0.05:  # fan-in from anywhere before
                    pool = prev + earlier
                    k = min(len(pool), rng.randint(6, 14))
                    deps = rng.sample(pool, k)
                else:
                    k = 1 if r < 0.45 else 2 if r < 0.8 else 3
                    while len(deps) < k:
                        if rng.random() < 0.2:
                            cand = prev[0]  # the layer's hub: fan-out
                        elif earlier and rng.random() < 0.25:
                            cand = rng.choice(earlier)
                        else:
                            cand = rng.choice(prev)
                        if cand not in deps:
                            deps.append(cand)
            needs[tid] = deps
            order.append(tid)
        layers.append(layer)

    dependents = {t: [] for t in order}
    for t in order:
        for d in needs[t]:
            dependents[d].append(t)

    def closure(start, edges):
        seen, stack = set(), [start]
        while stack:
            for n in edges[stack.pop()]:
                if n not in seen:
                    seen.add(n)
                    stack.append(n)
        return seen

    desc = {t: closure(t, dependents) for t in order}

    # special tasks: in the middle layers, with a few dependents, none below another one and
    # no dependents in common, so that every kind keeps its own visible effect (a task below a
    # failing one would only be skipped, and so would the dependents of the allow_failure task
    # if they also needed a failing one)
    kinds = {t: "ok" for t in order}
    wanted = ["allow", "dead", "fail", "dead", "dead", "fail", "dead"]
    cands = [t for t in order if 1 <= int(t[1:3]) <= n_layers - 3 and 1 <= len(desc[t]) <= 12]
    rng.shuffle(cands)
    taken = set()
    for kind in wanted:
        for t in cands:
            below = {t} | desc[t]
            if below & taken or (kind == "allow" and len(desc[t]) < 2):
                continue
            kinds[t] = kind
            taken |= below
            break
        else:
            raise SystemExit("workflow generator: no room for a '%s' task; more tasks?" % kind)

    def script(tid, sleep, code):
        # the shell's parent is the runner that started it
        mark = '$ARK_RUN_ID $ARK_TASK_ID $ARK_ATTEMPT $$ $PPID'
        s = 'echo "S %s" >>"$ARK_CRASH_MARKS"; ' % mark
        if sleep:
            s += "sleep %s; " % sleep
        s += 'echo "E %s %d" >>"$ARK_CRASH_MARKS"; exit %d' % (mark, code, code)
        return s

    tasks = []
    n_dead = 0
    for t in order:
        task = {"id": t}
        if needs[t]:
            task["needs"] = needs[t]
        kind = kinds[t]
        sleep = None if rng.random() < 0.4 else "0.0%d" % rng.randint(1, 5)
        if kind == "ok":
            task["run"] = script(t, sleep, 0)
        elif kind == "dead":
            # Fails every time with exit 3, retried on exit 3 and on lost. Every attempt ends
            # failed(3) or lost, both retried while the budget lasts, so the task can only end
            # when its DEAD_ATTEMPTS-th attempt ends, and then it is exhausted: dead, whatever
            # mix of failed and lost attempts the kills produced (the budget is small on
            # purpose: lost attempts use it up and the result must still be dead).
            task["run"] = script(t, "0.01", EXIT_DEAD)
            retry = {"max_attempts": DEAD_ATTEMPTS, "on": ["failed", "lost"],
                     "exit_codes": [EXIT_DEAD]}
            if n_dead % 2 == 0:
                retry.update({"backoff": "fixed", "initial_delay": "10ms", "jitter": False})
            else:
                retry.update({"backoff": "exponential", "initial_delay": "5ms",
                              "max_delay": "40ms", "jitter": True})
            n_dead += 1
            task["retry"] = retry
        elif kind == "fail":
            # exit 5 is not retried (defaults.retry retries lost attempts only): failed; lost
            # attempts before it are retried, and there can never be LOST_BUDGET of them
            task["run"] = script(t, sleep, EXIT_FAIL)
        elif kind == "allow":
            task["run"] = script(t, sleep, EXIT_ALLOW)
            task["allow_failure"] = True
        tasks.append(task)

    doc = {
        "name": "crash-harness",
        "description": "generated by tests/crash-harness.py, workflow seed %d" % seed,
        # a failure must not cancel the rest: the final states are those of every task
        "on_failure": "continue",
        "defaults": {
            "executor": "process",
            "shell": True,
            "timeout": "60s",
            "env": {"ARK_CRASH_MARKS": marks_path},
            # Every task retries lost attempts, and only those: a kill turns the attempts that
            # were running into lost ones, and retrying them gives the same outcome as an
            # uninterrupted run. A round makes at most MAX_KILLS_PER_ROUND kills, far below
            # the budget, so no task ends dead because of kills.
            "retry": {"max_attempts": LOST_BUDGET, "backoff": "exponential",
                      "initial_delay": "5ms", "max_delay": "20ms", "jitter": True,
                      "on": ["lost"]},
        },
        "tasks": tasks,
    }

    # expected final states, in topological (document) order
    expected = {}
    own = {"ok": "succeeded", "dead": "dead", "fail": "failed", "allow": "failed"}
    for t in order:
        blocked = any(expected[d] != "succeeded" and not (kinds[d] == "allow" and
                                                           expected[d] == "failed")
                      for d in needs[t])
        expected[t] = "skipped" if blocked else own[kinds[t]]
    model = {t: {"needs": needs[t], "kind": kinds[t], "expected": expected[t]} for t in order}
    return doc, model


def expected_run_state(model):
    bad = any(m["expected"] in ("failed", "dead", "skipped", "cancelled") and m["kind"] != "allow"
              for m in model.values())
    return "failed" if bad else "succeeded"


# ------------------------------------------------------------------------------------------
# reading the store and the markers

def open_db(state_dir):
    path = os.path.join(state_dir, "arkitect.db")
    if not os.path.exists(path):
        return None
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True)


def snapshot_db(state_dir):
    """Every row of the four tables, for comparing before and after."""
    db = open_db(state_dir)
    if db is None:
        return None
    try:
        snap = {}
        for table in ("runs", "tasks", "attempts", "events"):
            snap[table] = sorted(db.execute("SELECT * FROM %s" % table).fetchall(), key=repr)
        return snap
    finally:
        db.close()


def read_markers(path):
    """[(kind, run_id, task_id, attempt, pid, runner pid, code or None)] in file order."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) not in (6, 7) or parts[0] not in ("S", "E") or \
                    (parts[0] == "E") != (len(parts) == 7):
                raise Violation("%s:%d: malformed marker line %r" % (path, n, line))
            out.append((parts[0], parts[1], parts[2], int(parts[3]), int(parts[4]),
                        int(parts[5]), int(parts[6]) if len(parts) == 7 else None))
    return out


def wait_for_orphans(path, limit=3.0):
    """Task processes of a killed runner live on for a moment (each has its own process group);
    wait until every started attempt wrote its end marker, or until @limit seconds."""
    deadline = time.monotonic() + limit
    while True:
        marks = read_markers(path)
        started = {(m[1], m[2], m[3], m[4]) for m in marks if m[0] == "S"}
        ended = {(m[1], m[2], m[3], m[4]) for m in marks if m[0] == "E"}
        if started <= ended or time.monotonic() > deadline:
            return len(started - ended)
        time.sleep(0.05)


def check_store(state_dir, marks_path, model, run_id, want_states, want_run_state, label):
    """Every invariant of the module docstring for one finished run; returns statistics."""
    errors = []

    def bad(msg):
        errors.append("%s: %s" % (label, msg))

    db = open_db(state_dir)
    if db is None:
        raise Violation("%s: no database in %s" % (label, state_dir))
    try:
        runs = db.execute("SELECT id, state, n_tasks FROM runs").fetchall()
        tasks = db.execute("SELECT run_id, task_id, state, attempts, exit_code, started_at, "
                           "finished_at FROM tasks").fetchall()
        attempts = db.execute("SELECT run_id, task_id, number, status, started_at, "
                              "finished_at, exit_code FROM attempts").fetchall()
        events = db.execute("SELECT seq, kind, run_id, task_id, attempt, state FROM events "
                            "ORDER BY seq").fetchall()
    finally:
        db.close()

    # runs: exactly the one submitted run, finished in the expected state
    if [r[0] for r in runs] != [run_id]:
        bad("expected exactly run %s in the store, found %s" % (run_id, [r[0] for r in runs]))
    for rid, state, n_tasks in runs:
        if rid != run_id:
            continue
        if RUN_STATES[state] != want_run_state:
            bad("run %s is %s, expected %s" % (rid, RUN_STATES[state], want_run_state))
        if n_tasks != len(model):
            bad("run %s has n_tasks %d, the workflow has %d" % (rid, n_tasks, len(model)))

    # tasks: exactly one record for each submitted task, none other, terminal, as expected
    task_rec = {}
    for rid, tid, state, n_att, exit_code, started, finished in tasks:
        if rid != run_id:
            bad("task record %s for run %s, which is not the submitted run" % (tid, rid))
            continue
        if tid not in model:
            bad("task record for %r, which is no task of the workflow" % tid)
            continue
        task_rec[tid] = (TASK_STATES[state], n_att, exit_code, started, finished)
    for tid in model:
        if tid not in task_rec:
            bad("task %s has no task record" % tid)
        elif task_rec[tid][0] not in TERMINAL_TASK_STATES:
            bad("task %s is still %s" % (tid, task_rec[tid][0]))
        elif task_rec[tid][0] != want_states[tid]:
            bad("task %s ended %s, the uninterrupted run ended it %s"
                % (tid, task_rec[tid][0], want_states[tid]))

    # attempts: 1..n, all terminal, only the last decides, timestamps after the needs finished
    att = {}
    for rid, tid, number, status, started, finished, exit_code in attempts:
        if rid != run_id or tid not in model:
            bad("attempt %d of %s in run %s: no such task was submitted" % (number, tid, rid))
            continue
        att.setdefault(tid, {})[number] = (ATTEMPT_STATUSES[status], started, finished,
                                           exit_code)
    n_lost = 0
    n_attempts = 0
    deciding = {}  # task -> (number, finished_at) of the attempt that decided it
    for tid, m in model.items():
        numbers = sorted(att.get(tid, {}))
        n_attempts += len(numbers)
        if numbers != list(range(1, len(numbers) + 1)):
            bad("task %s has attempt numbers %s, not 1..%d" % (tid, numbers, len(numbers)))
        if tid in task_rec and task_rec[tid][1] != len(numbers):
            bad("task %s counts %d attempts, the store has %d attempt records"
                % (tid, task_rec[tid][1], len(numbers)))
        state = task_rec.get(tid, ("?",))[0]
        for i, n in enumerate(numbers):
            status, started, finished, exit_code = att[tid][n]
            last = i == len(numbers) - 1
            if status == "lost":
                n_lost += 1
            if status == "running":
                bad("attempt %d of %s is still running at the end" % (n, tid))
                continue
            if started <= 0 or finished < started:
                bad("attempt %d of %s: started_at %d, finished_at %d"
                    % (n, tid, started, finished))
            # which outcomes may end an attempt that is not the last: only retried ones
            if not last:
                retried = {"lost"} | ({"failed"} if m["kind"] == "dead" else set())
                if status not in retried:
                    bad("attempt %d of %s ended %s but attempt %d followed"
                        % (n, tid, status, n + 1))
            if status == "failed" and m["kind"] == "ok":
                bad("attempt %d of %s failed (exit %d), the task never fails"
                    % (n, tid, exit_code))
            if status == "succeeded" and m["kind"] != "ok":
                bad("attempt %d of %s succeeded, the task always fails" % (n, tid))
            if status in ("timed_out", "cancelled", "error"):
                bad("attempt %d of %s ended %s" % (n, tid, status))
        if numbers:
            status, _, finished, exit_code = att[tid][numbers[-1]]
            deciding[tid] = (numbers[-1], finished)
            want = {"succeeded": "succeeded", "failed": "failed", "dead": None,
                    "skipped": None}.get(state)
            if want and status != want:
                bad("task %s is %s but its last attempt ended %s" % (tid, state, status))
            if state == "failed" and exit_code != {"fail": EXIT_FAIL,
                                                   "allow": EXIT_ALLOW}.get(m["kind"]):
                bad("task %s failed with exit code %d" % (tid, exit_code))
        if state == "skipped" and numbers:
            bad("task %s was skipped but has %d attempts" % (tid, len(numbers)))
        if state == "dead" and len(numbers) != DEAD_ATTEMPTS:
            bad("task %s is dead after %d attempts, its retry budget is %d"
                % (tid, len(numbers), DEAD_ATTEMPTS))
        if state in ("succeeded", "failed") and not numbers:
            bad("task %s is %s without any attempt" % (tid, state))
    for tid, m in model.items():
        for n, (status, started, _, _) in sorted(att.get(tid, {}).items()):
            for dep in m["needs"]:
                if dep not in deciding:
                    bad("attempt %d of %s started but %s, which it needs, has no attempt"
                        % (n, tid, dep))
                elif started < deciding[dep][1]:
                    bad("attempt %d of %s started at %d, before attempt %d of %s (a need) "
                        "finished at %d" % (n, tid, started, deciding[dep][0], dep,
                                            deciding[dep][1]))

    # events: one submission and one end of the run, exactly one terminal state per task, no
    # event for a task after that, one start per attempt, at most one end per attempt
    run_kinds = {}
    terminal_seen = {}
    att_started = {}
    att_finished = {}
    current = {}  # task -> its state after the events so far (tasks start pending)
    n_running = {}  # task -> how many times it went to running
    for seq, kind, rid, tid, number, state in events:
        if rid != run_id:
            bad("event %d is for run %s, which is not the submitted run" % (seq, rid))
            continue
        if tid is None:
            run_kinds[kind] = run_kinds.get(kind, 0) + 1
            continue
        if tid not in model:
            bad("event %d is for task %r, which is no task of the workflow" % (seq, tid))
            continue
        if tid in terminal_seen:
            bad("event %d (kind %d, state %d) for task %s after its terminal state event %d"
                % (seq, kind, state, tid, terminal_seen[tid][0]))
        if kind == EV_TASK_STATE:
            old, new = current.get(tid, "pending"), TASK_STATES[state]
            if (old, new) not in TRANSITIONS:
                bad("event %d: task %s went from %s to %s" % (seq, tid, old, new))
            current[tid] = new
            if new == "running":
                n_running[tid] = n_running.get(tid, 0) + 1
            if new in TERMINAL_TASK_STATES and tid not in terminal_seen:
                terminal_seen[tid] = (seq, new)
        elif kind == EV_ATTEMPT_STARTED:
            att_started.setdefault((tid, number), []).append(seq)
        elif kind == EV_ATTEMPT_FINISHED:
            att_finished.setdefault((tid, number), []).append((seq, ATTEMPT_STATUSES[state]))
    if run_kinds.get(EV_RUN_SUBMITTED, 0) != 1:
        bad("%d run-submitted events" % run_kinds.get(EV_RUN_SUBMITTED, 0))
    if run_kinds.get(EV_RUN_FINISHED, 0) != 1:
        bad("%d run-finished events" % run_kinds.get(EV_RUN_FINISHED, 0))
    for tid in model:
        if tid not in terminal_seen:
            bad("task %s has no terminal state event" % tid)
        elif tid in task_rec and terminal_seen[tid][1] != task_rec[tid][0]:
            bad("task %s: terminal state event says %s, the task record %s"
                % (tid, terminal_seen[tid][1], task_rec[tid][0]))
    for tid in model:
        if n_running.get(tid, 0) != len(att.get(tid, {})):
            bad("task %s went to running %d times but has %d attempts"
                % (tid, n_running.get(tid, 0), len(att.get(tid, {}))))
    for (tid, n), seqs in sorted(att_started.items()):
        if n not in att.get(tid, {}):
            bad("attempt-started event(s) %s for attempt %d of %s, which has no record"
                % (seqs, n, tid))
        elif len(seqs) != 1:
            bad("attempt %d of %s has %d attempt-started events %s" % (n, tid, len(seqs), seqs))
    for tid, numbers in att.items():
        for n, rec in numbers.items():
            if (tid, n) not in att_started:
                bad("attempt %d of %s has no attempt-started event" % (n, tid))
            fins = att_finished.get((tid, n), [])
            if len(fins) != 1:
                bad("attempt %d of %s has %d attempt-finished events %s"
                    % (n, tid, len(fins), fins))
            for seq, status in fins:
                if status != rec[0]:
                    bad("attempt-finished event %d says %s, attempt %d of %s is %s"
                        % (seq, status, n, tid, rec[0]))
    for (tid, n), fins in att_finished.items():
        if n not in att.get(tid, {}):
            bad("attempt-finished event(s) %s for attempt %d of %s, which has no record"
                % (fins, n, tid))

    # markers: what really ran
    marks = read_markers(marks_path)
    starts = {}
    ends = {}
    for pos, (kind, rid, tid, n, pid, _, code) in enumerate(marks):
        if rid != run_id:
            bad("marker %d: task %s attempt %d ran for run %s, which is not the submitted run"
                % (pos + 1, tid, n, rid))
            continue
        if tid not in model:
            bad("marker %d: unknown task %s ran" % (pos + 1, tid))
            continue
        (starts if kind == "S" else ends).setdefault((tid, n), []).append((pos, pid, code))
    for (tid, n), lst in sorted(starts.items()):
        if len(lst) > 1:
            bad("attempt %d of %s was executed %d times (pids %s)"
                % (n, tid, len(lst), [p[1] for p in lst]))
        if n not in att.get(tid, {}):
            bad("attempt %d of %s ran (pid %d) but the store has no record of it"
                % (n, tid, lst[0][1]))
        for dep in model[tid]["needs"]:
            if dep not in deciding:
                continue  # reported above
            dn = deciding[dep][0]
            dep_ends = ends.get((dep, dn), [])
            if not dep_ends or dep_ends[0][0] > lst[0][0]:
                bad("attempt %d of %s started (marker line %d) before attempt %d of %s, "
                    "which it needs, ended" % (n, tid, lst[0][0] + 1, dn, dep))
    for tid, numbers in att.items():
        for n, (status, _, _, exit_code) in numbers.items():
            if status not in ("succeeded", "failed"):
                continue
            e = ends.get((tid, n), [])
            if not e:
                bad("attempt %d of %s is %s but never ran to its end (no end marker)"
                    % (n, tid, status))
            elif e[0][2] != exit_code:
                bad("attempt %d of %s exited %d, the store says %d"
                    % (n, tid, e[0][2], exit_code))
    for tid, m in model.items():
        if want_states[tid] == "skipped" and any(k[0] == tid for k in starts):
            bad("task %s should never have run (skipped) but did" % tid)

    if errors:
        raise Violation("\n".join(errors[:60]) +
                        ("\n... %d more" % (len(errors) - 60) if len(errors) > 60 else ""))
    return {"attempts": n_attempts, "lost": n_lost,
            "executions": sum(len(v) for v in starts.values())}


def check_report(report, db_state_dir, run_id, want_states, want_run_state, label):
    """The JSON report printed by run/status agrees with the expectation."""
    if report.get("run", {}).get("id") != run_id:
        raise Violation("%s: report is for run %s, expected %s"
                        % (label, report.get("run", {}).get("id"), run_id))
    if report["run"].get("state") != want_run_state:
        raise Violation("%s: report says the run is %s, expected %s"
                        % (label, report["run"].get("state"), want_run_state))
    got = {t["id"]: t["state"] for t in report.get("tasks", [])}
    if got != want_states:
        diff = sorted(t for t in set(got) | set(want_states) if got.get(t) != want_states.get(t))
        raise Violation("%s: report's task states differ for %s" % (
            label, ", ".join("%s (%s vs %s)" % (t, got.get(t), want_states.get(t))
                             for t in diff[:20])))


# ------------------------------------------------------------------------------------------
# driving the CLI

class Cli:
    def __init__(self, path, slots, workdir):
        self.path = path
        self.slots = slots
        self.workdir = workdir
        self.n = 0
        self.children = []
        self.unmigrated = 0
        self.unmigrated_errors = []

    def spawn(self, state_dir, args):
        """Start a runner; stdout and stderr go to files kept for the post-mortem."""
        self.n += 1
        base = os.path.join(self.workdir, "out", "%04d" % self.n)
        out = open(base + ".out", "wb")
        err = open(base + ".err", "wb")
        argv = [self.path, "run", "--state-dir", state_dir, "-q", "--json",
                "--slots", str(self.slots)] + args
        with open(base + ".cmd", "w") as f:
            f.write(" ".join(argv) + "\n")
        p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        out.close()
        err.close()
        p.base = base
        self.children.append(p)
        return p

    def kill_all(self):
        """On the way out after a failure: no runner of ours is left behind."""
        for p in self.children:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                    p.kill()
                except OSError:
                    pass
                p.wait()

    @staticmethod
    def output(p):
        with open(p.base + ".out", "rb") as f:
            out = f.read().decode("utf-8", "replace")
        with open(p.base + ".err", "rb") as f:
            err = f.read().decode("utf-8", "replace")
        return out, err

    def status(self, state_dir, run_id=None):
        argv = [self.path, "status", "--state-dir", state_dir, "--json"]
        if run_id:
            argv.append(run_id)
        p = subprocess.run(argv, capture_output=True, timeout=60)
        err = p.stderr.decode(errors="replace")
        if p.returncode == 3 and run_id is None and ("schema version 0" in err or
                                                     "readonly database" in err):
            # a runner killed while it created the database: before its tables ("schema
            # version 0"), or while it switched the new file to WAL (a hot rollback journal,
            # SQLITE_READONLY_ROLLBACK). Status only reads and can not repair that; nothing
            # was committed yet, and the next runner must cope. Should a run have been
            # committed after all, the next `run` makes a second one, which the final check
            # of the store reports.
            self.unmigrated += 1
            self.unmigrated_errors.append(err.strip())
            return {"runs": []}
        if p.returncode not in (0, 1):
            raise Violation("%s exited %d: %s" % (" ".join(argv), p.returncode,
                                                 p.stderr.decode(errors="replace")[-2000:]))
        return json.loads(p.stdout)


def parse_report(p, label):
    out, err = Cli.output(p)
    try:
        return json.loads(out)
    except ValueError:
        raise Violation("%s: runner (%s) exited %d without a JSON report; stderr:\n%s"
                        % (label, p.base, p.returncode, err[-3000:]))


def wait_for_marks(p, marks, limit):
    """Wait until a task started by runner @p wrote its start marker (so that @p holds the
    state directory) and return None, or return @p's exit status if it ends first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        rc = p.poll()
        if rc is not None:
            return rc
        if any(m[0] == "S" and m[5] == p.pid for m in read_markers(marks)):
            return None
        time.sleep(0.01)
    raise Violation("runner %s started no task in %.0f s" % (p.base, limit))


def check_second_runner(cli, state_dir, wf_path, run_id, runner, label):
    """With @runner stopped (SIGSTOP) while it holds the state directory, a second `run` and a
    second `run --resume` must both fail with exit status 3 naming the runner's pid, and leave
    every row of the store as it was."""
    before = snapshot_db(state_dir)
    for args in (["--resume", run_id, ], [wf_path]):
        p = cli.spawn(state_dir, args)
        try:
            rc = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise Violation("%s: a second runner (%s) on a state directory in use hung for "
                            "30 s instead of failing" % (label, " ".join(args)))
        _, err = Cli.output(p)
        if rc != 3:
            raise Violation("%s: a second runner (%s) on a state directory in use exited %d, "
                            "expected 3; stderr:\n%s" % (label, " ".join(args), rc, err[-2000:]))
        if "in use" not in err or str(runner.pid) not in err:
            raise Violation("%s: a second runner's error does not say the state directory is "
                            "in use by process %d: %r" % (label, runner.pid, err[-500:]))
    after = snapshot_db(state_dir)
    if before != after:
        diff = [t for t in before if before[t] != after[t]]
        raise Violation("%s: a refused second runner changed the store (tables %s)"
                        % (label, diff))


# ------------------------------------------------------------------------------------------

def env_int(name, default):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v, 0)
    except ValueError:
        raise SystemExit("%s must be an integer, not %r" % (name, v))


def main():
    wf_seed = env_int("ARK_CRASH_WORKFLOW_SEED", 20240611)
    n_tasks = env_int("ARK_CRASH_TASKS", 300)
    if "--print-workflow" in sys.argv[1:]:
        doc, _ = generate_workflow(wf_seed, n_tasks, "/tmp/ark-crash-marks")
        json.dump(doc, sys.stdout, indent=1)
        print()
        return 0

    cli_path = os.environ.get("ARK_CLI")
    if not cli_path or not os.access(cli_path, os.X_OK):
        log("SKIP: ARK_CLI is not set to the arkitect CLI")
        return 77
    helptext = subprocess.run([cli_path, "run", "--help"], capture_output=True, text=True)
    if "--resume" not in helptext.stdout + helptext.stderr:
        log("SKIP: %s has no run --resume" % cli_path)
        return 77

    seed = env_int("ARK_CRASH_SEED", int.from_bytes(os.urandom(4), "big"))
    target_kills = max(1, env_int("ARK_CRASH_KILLS", 50))
    budget = env_int("ARK_CRASH_BUDGET", 150)
    slots = env_int("ARK_CRASH_SLOTS", 8)
    keep = bool(os.environ.get("ARK_CRASH_KEEP"))
    rng = random.Random(seed)
    log("crash harness: ARK_CRASH_SEED=%d ARK_CRASH_KILLS=%d ARK_CRASH_BUDGET=%d "
        "ARK_CRASH_TASKS=%d ARK_CRASH_WORKFLOW_SEED=%d ARK_CRASH_SLOTS=%d"
        % (seed, target_kills, budget, n_tasks, wf_seed, slots))

    workdir = tempfile.mkdtemp(prefix="ark-crash-")
    os.mkdir(os.path.join(workdir, "out"))
    cli = Cli(cli_path, slots, workdir)
    t0 = time.monotonic()
    stats = {"rounds": 0, "cycles": 0, "kills": 0, "early_kills": 0, "uncommitted": 0,
             "attempts": 0, "lost": 0, "executions": 0, "orphans_unfinished": 0,
             "resumes": 0, "finished_before_kill": 0}
    ok = False
    try:
        # the reference: one uninterrupted run
        ref_dir = os.path.join(workdir, "reference")
        ref_marks = os.path.join(workdir, "reference.marks")
        doc, model = generate_workflow(wf_seed, n_tasks, ref_marks)
        ref_wf = os.path.join(workdir, "reference.json")
        with open(ref_wf, "w") as f:
            json.dump(doc, f, indent=1)
        predicted = {t: m["expected"] for t, m in model.items()}
        predicted_run = expected_run_state(model)
        counts = {}
        for s in predicted.values():
            counts[s] = counts.get(s, 0) + 1
        log("workflow: %d tasks, predicted %s, run %s" % (len(model), counts, predicted_run))
        t = time.monotonic()
        p = cli.spawn(ref_dir, [ref_wf])
        try:
            rc = p.wait(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Violation("reference run did not finish in 300 s")
        ref_time = time.monotonic() - t
        report = parse_report(p, "reference run")
        if rc != {"succeeded": 0, "failed": 1}[predicted_run]:
            raise Violation("reference run exited %d; stderr:\n%s" % (rc, Cli.output(p)[1]))
        ref_id = report["run"]["id"]
        ref_states = {t["id"]: t["state"] for t in report["tasks"]}
        ref_run_state = report["run"]["state"]
        wait_for_orphans(ref_marks)
        # the reference itself must be what the workflow says and pass every check
        check_report(report, ref_dir, ref_id, predicted, predicted_run, "reference run")
        st = check_store(ref_dir, ref_marks, model, ref_id, ref_states, ref_run_state,
                         "reference run")
        if st["lost"]:
            raise Violation("reference run: %d lost attempts without any crash" % st["lost"])
        log("reference run %s: %s in %.2f s, %d attempts"
            % (ref_id, ref_run_state, ref_time, st["attempts"]))

        second_runner_checked = False
        while stats["kills"] < target_kills and time.monotonic() - t0 < budget:
            rnd = stats["rounds"]
            stats["rounds"] += 1
            label = "round %d" % rnd
            state_dir = os.path.join(workdir, "round-%d" % rnd)
            marks = os.path.join(workdir, "round-%d.marks" % rnd)
            doc, _ = generate_workflow(wf_seed, n_tasks, marks)
            wf = os.path.join(workdir, "round-%d.json" % rnd)
            with open(wf, "w") as f:
                json.dump(doc, f, indent=1)

            run_id = None
            round_kills = 0
            uncommitted_streak = 0
            final_report = None
            final_rc = None
            while True:
                stats["cycles"] += 1
                delay = None
                killing = (stats["kills"] < target_kills and round_kills < MAX_KILLS_PER_ROUND
                           and time.monotonic() - t0 < budget)
                if run_id is None:
                    p = cli.spawn(state_dir, [wf])
                else:
                    p = cli.spawn(state_dir, ["--resume", run_id])
                    stats["resumes"] += 1
                if not killing:
                    try:
                        rc = p.wait(timeout=300)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
                        raise Violation("%s: the last runner (%s) did not finish in 300 s"
                                        % (label, p.base))
                else:
                    # 20 % of the kills in the first 30 ms (start-up, recovery), the rest
                    # spread over the run; a submission is mostly killed before or while it
                    # commits the run (the CLI takes some 40 ms to get there, more with
                    # sanitizers: a few times only, so that a slow build still gets further)
                    if run_id is None and round_kills < 5 and rng.random() < 0.7:
                        delay = rng.uniform(0.0, 0.08)
                    elif rng.random() < 0.2:
                        delay = rng.uniform(0.0, 0.03)
                    else:
                        delay = rng.uniform(0.03, 0.4)
                    if run_id is None and uncommitted_streak >= 5:
                        # a slow build on a loaded machine may never get as far as the
                        # commit within the delays above: let this one start a task first
                        wait_for_marks(p, marks, 120.0)
                    if not second_runner_checked and run_id is not None:
                        # the first resume of the harness is stopped (SIGSTOP) once it surely
                        # holds the state directory, that is once one of its tasks started
                        rc = wait_for_marks(p, marks, 30.0)
                        if rc is None:
                            os.kill(p.pid, signal.SIGSTOP)
                            try:
                                check_second_runner(cli, state_dir, wf, run_id, p, label)
                            finally:
                                os.kill(p.pid, signal.SIGCONT)
                            second_runner_checked = True
                            log("%s: a second runner was refused while %d held the state "
                                "directory, and the store was unchanged" % (label, p.pid))
                    try:
                        rc = p.wait(timeout=delay)
                    except subprocess.TimeoutExpired:
                        os.kill(p.pid, signal.SIGKILL)
                        # it may have ended on its own just before: then rc is 0 or 1
                        rc = p.wait()
                if rc == -signal.SIGKILL:
                    stats["kills"] += 1
                    round_kills += 1
                    if delay is not None and delay < 0.03:
                        stats["early_kills"] += 1
                    listing = cli.status(state_dir)
                    ids = [r["id"] for r in listing.get("runs", [])]
                    if run_id is None:
                        if len(ids) > 1:
                            raise Violation("%s: one `run` made %d runs: %s"
                                            % (label, len(ids), ids))
                        if ids:
                            run_id = ids[0]
                        else:
                            stats["uncommitted"] += 1
                            uncommitted_streak += 1
                    elif ids != [run_id]:
                        raise Violation("%s: after resuming %s the store lists runs %s"
                                        % (label, run_id, ids))
                    continue
                if rc in (0, 1):
                    if killing:
                        stats["finished_before_kill"] += 1
                    final_report = parse_report(p, label)
                    final_rc = rc
                    if run_id is None:
                        run_id = final_report["run"]["id"]
                    break
                out, err = Cli.output(p)
                raise Violation("%s: runner %s exited %s; stderr:\n%s"
                                % (label, p.base, rc, err[-3000:]))

            want_rc = {"succeeded": 0, "failed": 1}[ref_run_state]
            if final_rc != want_rc:
                raise Violation("%s: the last runner exited %d, expected %d"
                                % (label, final_rc, want_rc))
            check_report(final_report, state_dir, run_id, ref_states, ref_run_state,
                         label + ", last runner's report")
            stats["orphans_unfinished"] += wait_for_orphans(marks)
            st = check_store(state_dir, marks, model, run_id, ref_states, ref_run_state, label)
            for k in ("attempts", "lost", "executions"):
                stats[k] += st[k]

            # a finished run: status shows it, and resuming it only prints its report
            check_report(cli.status(state_dir, run_id), state_dir, run_id, ref_states,
                         ref_run_state, label + ", status")
            before = snapshot_db(state_dir)
            p = cli.spawn(state_dir, ["--resume", run_id])
            try:
                rc = p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                raise Violation("%s: resuming the finished run hung" % label)
            if rc != want_rc:
                raise Violation("%s: resuming the finished run exited %d, expected %d; "
                                "stderr:\n%s" % (label, rc, want_rc, Cli.output(p)[1][-2000:]))
            check_report(parse_report(p, label), state_dir, run_id, ref_states, ref_run_state,
                         label + ", resuming the finished run")
            if snapshot_db(state_dir) != before:
                raise Violation("%s: resuming the finished run changed the store" % label)
            log("%s: run %s, %d kills, %d attempts (%d lost), %d executions"
                % (label, run_id, round_kills, st["attempts"], st["lost"], st["executions"]))

        if not second_runner_checked:
            raise Violation("the second-runner check never found a live runner to test against")
        ok = True
    except Violation as e:
        log("FAIL (ARK_CRASH_SEED=%d):\n%s" % (seed, e))
    finally:
        cli.kill_all()
        elapsed = time.monotonic() - t0
        log("summary: seed %d, %d rounds, %d runner starts (%d resumes), %d kills (%d in the "
            "first 30 ms, %d before the run was committed), %d runners finished before their "
            "kill, %d attempts in all, %d lost, %d task executions, %d orphans unfinished, "
            "%.1f s; status refused %d half-created databases"
            % (seed, stats["rounds"], stats["cycles"], stats["resumes"], stats["kills"],
               stats["early_kills"], stats["uncommitted"], stats["finished_before_kill"],
               stats["attempts"], stats["lost"], stats["executions"],
               stats["orphans_unfinished"], elapsed, cli.unmigrated))
        for err in sorted(set(cli.unmigrated_errors)):
            log("note: after a kill during the creation of the store, status said: %s" % err)
        if ok and stats["kills"] < target_kills:
            log("WARNING: only %d of %d kills within the %d s budget"
                % (stats["kills"], target_kills, budget))
        if ok and not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log("work directory kept: %s" % workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
