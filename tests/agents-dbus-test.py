#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""org.arkitect.Arkitect1.Agents (docs/dbus.md, docs/agents.md) as its clients use it, through
`gdbus call`, `busctl` and ark-dbus-call (for arguments larger than a command line):

- register agents, claim and complete a delegated agent task end to end (the run succeeds and
  the task downstream of it runs), renew a lease with progress, release and fail;
- another agent's token, a wrong token, an empty one: PermissionDenied; a stale fence and a
  second completion: org.arkitect.Arkitect1.Error.Conflict;
- a Claim whose caller leaves the bus while it waits hands nothing out: the work stays offered
  and the next claim gets it;
- malformed arguments: wrong D-Bus types, ids, JSON that is not RFC 8259, nesting, sizes over
  the limits, negative waits that do not fit;
- the audit records, and, as root, the access rule (nobody may not register but may act with a
  token) and the system bus policy.

Runs under dbus-run-session (meson test does it). Usage: agents-dbus-test.py ARKITECTD
DBUS_CALL SOURCE_ROOT  (ARK_PLUGIN_DIR set). TAP output.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ARKITECTD, DBUS_CALL, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
WORK = tempfile.mkdtemp(prefix="ark-agents-dbus-test-")
NAME = "org.arkitect.Arkitect1"
PATH = "/org/arkitect/Arkitect1"
AGENTS = "org.arkitect.Arkitect1.Agents"
MANAGER = "org.arkitect.Arkitect1.Manager"
ERR = "org.arkitect.Arkitect1.Error."
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
n_test = 0
failed = 0


def ok(cond, name, detail=""):
    global n_test, failed
    n_test += 1
    if cond:
        print(f"ok {n_test} - {name}", flush=True)
    else:
        failed += 1
        print(f"not ok {n_test} - {name}", flush=True)
        for line in str(detail).splitlines()[:40]:
            print(f"#   {line}", flush=True)


def skip(name, why):
    global n_test
    n_test += 1
    print(f"ok {n_test} - {name} # SKIP {why}", flush=True)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(args, timeout=120, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e)


def gcall(method, *args, iface=AGENTS, address=None, prefix=(), timeout=120):
    bus = ["--address", address] if address else ["--session"]
    return run(list(prefix) + ["gdbus", "call"] + bus + ["-d", NAME, "-o", PATH, "-m",
                                                          f"{iface}.{method}"] +
               [str(a) for a in args], timeout=timeout)


def dbus_send(method, *typed_args):
    """a call with the argument types given (dbus-send prints the error's name)"""
    return run(["dbus-send", "--session", "--print-reply", f"--dest={NAME}", PATH,
                f"{AGENTS}.{method}"] + list(typed_args))


def bigcall(method, gvariant_text):
    path = os.path.join(WORK, f"args-{time.monotonic_ns()}.txt")
    write(path, gvariant_text)
    return run([DBUS_CALL, "session", AGENTS, method, path])


def gv(s):
    """a Python string as a GVariant text string"""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def member(out, key):
    """a string member of a printed a{sv}"""
    m = re.search(r"'" + re.escape(key) + r"': <'((?:[^'\\]|\\.)*)'>", out)
    return m.group(1).encode().decode("unicode_escape") if m else None


def int_member(out, key):
    m = re.search(r"'" + re.escape(key) + r"': <(?:u?int(?:16|32|64) |byte )?(-?\d+)>", out)
    return int(m.group(1)) if m else None


def gdbus_string(out):
    m = re.search(r"'((?:[^'\\]|\\.)*)'", out)
    return m.group(1) if m else None


class Daemon:
    def __init__(self, name, conf="", args=(), env=None):
        self.state = os.path.join(WORK, name, "state")
        self.conf = write(os.path.join(WORK, name, "arkitect.conf"),
                          "[frontend-http]\nlisten = 127.0.0.1:0\n"
                          "[agents]\nheartbeat-timeout = 10m\n" + conf)
        self.log_path = os.path.join(WORK, name, "daemon.log")
        self.log = open(self.log_path, "w")
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.update(env or {})
        self.proc = subprocess.Popen([ARKITECTD, "--config", self.conf, "--state-dir",
                                      self.state] + list(args), env=e,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def audit(self):
        path = os.path.join(self.state, "audit.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc


def wait_name(address=None, timeout=20):
    bus = ["--address", address] if address else ["--session"]
    return run(["gdbus", "wait"] + bus + ["--timeout", str(timeout), NAME],
               timeout=timeout + 10).returncode == 0


def submit(wf):
    p = gcall("Submit", json.dumps(wf), "{}", iface=MANAGER)
    return gdbus_string(p.stdout), p


def run_state(run_id):
    p = gcall("GetRun", run_id, iface=MANAGER)
    m = re.search(r"'state': <'([a-z_]+)'>", p.stdout)
    return m.group(1) if m else None


def wait_run(run_id, timeout=120):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = run_state(run_id)
        if state in ("succeeded", "failed", "cancelled"):
            return state
        time.sleep(0.05)
    return state


def wait_for(fn, timeout=60):
    """polls fn() until it returns something true (a hang guard, not a measurement)"""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    return value


def register(name, capabilities, **more):
    spec = dict({"name": name, "capabilities": capabilities}, **more)
    p = gcall("RegisterAgent", json.dumps(spec))
    return member(p.stdout, "id"), member(p.stdout, "token"), p


def agent_task(task_id, capability, **more):
    return dict({"id": task_id, "executor": "agent", "input": {"diff": "+x", "n": None},
                 "agent": {"capabilities": [capability]}}, **more)


def noop(task_id, **more):
    return dict({"id": task_id, "executor": "thread", "function": "noop"}, **more)


def claim(agent, token, wait_ms=20000, **kw):
    p = gcall("Claim", agent, token, wait_ms, **kw)
    claimed = p.stdout.startswith("(true,")
    return claimed, p


def assignments_of(agent=""):
    return gcall("ListAssignments", agent, "")


# the tests -----------------------------------------------------------------------------------

def test_introspection():
    p = run(["gdbus", "introspect", "--session", "-d", NAME, "-o", PATH])
    ok(p.returncode == 0 and f"interface {AGENTS}" in p.stdout and
       f"interface {MANAGER}" in p.stdout,
       "the object has the Agents interface beside the Manager", p.stdout + p.stderr)
    for method in ("RegisterAgent", "RemoveAgent", "ListAgents", "GetAgent", "ListAssignments",
                   "GetAssignment", "ExplainAssignment", "Heartbeat", "Claim",
                   "AssignmentHeartbeat", "Complete", "Fail", "Release"):
        ok(re.search(rf"\b{method}\(", p.stdout) is not None, f"introspection has {method}")


def test_register_errors():
    for spec, why in (("not json", "text that is not JSON"),
                      ('{"name": "a", /* c */ "capabilities": []}', "a comment"),
                      ('{"name": "a", "capabilities": []} trailing', "trailing data"),
                      ("[" * 100 + "]" * 100, "nesting 100 deep"),
                      ('["a"]', "an array"),
                      ("", "an empty spec"),
                      ('{"capabilities": ["x"]}', "a spec without a name"),
                      ('{"name": 7, "capabilities": ["x"]}', "a name that is not a string"),
                      ('{"name": "a", "capabilities": ["x"], "max_assignments": -1}',
                       "a negative max_assignments"),
                      ('{"name": "a", "capabilities": "x"}', "capabilities not a list")):
        p = gcall("RegisterAgent", spec)
        ok(p.returncode != 0 and f"{ERR}InvalidArgument" in p.stderr,
           f"RegisterAgent with {why}: InvalidArgument", p.stdout + p.stderr)
    big = json.dumps({"name": "big", "capabilities": ["x"], "metadata": {"x": "a" * 70000}})
    p = bigcall("RegisterAgent", f"({gv(big)},)")
    ok(p.returncode != 0 and f"{ERR}LimitExceeded" in p.stderr,
       "RegisterAgent with a spec over 64 KiB: LimitExceeded", p.stdout + p.stderr)
    p = dbus_send("RegisterAgent", "uint32:7")
    ok(p.returncode != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in p.stderr,
       "RegisterAgent with a number: org.freedesktop.DBus.Error.InvalidArgs",
       p.stdout + p.stderr)


def test_end_to_end(d):
    a, token_a, p = register("alice", ["review", {"name": "lint", "proficiency": 0.5}])
    ok(a is not None and a.startswith("agt_") and token_a and token_a.startswith("arkagt_"),
       "RegisterAgent returns the agent with its token", p.stdout + p.stderr)
    b, token_b, p = register("bob", ["other"])
    ok(b is not None and token_b is not None and b != a, "a second agent", p.stdout + p.stderr)
    p = gcall("ListAgents")
    ok(p.returncode == 0 and a in p.stdout and b in p.stdout and "arkagt_" not in p.stdout,
       "ListAgents lists both, without tokens", p.stdout + p.stderr)
    p = gcall("GetAgent", a)
    ok(p.returncode == 0 and member(p.stdout, "name") == "alice" and "'trust'" in p.stdout,
       "GetAgent: the agent with its trust", p.stdout + p.stderr)
    p = gcall("GetAgent", "agt_0000000000000000")
    ok(f"{ERR}NotFound" in p.stderr, "GetAgent of an unknown agent: NotFound", p.stderr)
    p = gcall("Heartbeat", a, token_a)
    ok(p.returncode == 0 and member(p.stdout, "state") == "online",
       "Heartbeat with the agent's token: online", p.stdout + p.stderr)

    # tokens
    p = gcall("Heartbeat", a, token_b)
    ok(f"{ERR}PermissionDenied" in p.stderr, "another agent's token: PermissionDenied",
       p.stderr)
    p = gcall("Heartbeat", a, "arkagt_" + "A" * 43)
    ok(f"{ERR}PermissionDenied" in p.stderr, "a made-up token: PermissionDenied", p.stderr)
    p = gcall("Heartbeat", a, "")
    ok(f"{ERR}InvalidArgument" in p.stderr, "an empty token: InvalidArgument", p.stderr)
    p = gcall("Heartbeat", a, "x" * 5000)
    ok(f"{ERR}PermissionDenied" in p.stderr, "a 5000-byte token: PermissionDenied", p.stderr)
    p = gcall("Claim", a, token_b, 0)
    ok(f"{ERR}PermissionDenied" in p.stderr, "Claim with another agent's token: "
       "PermissionDenied", p.stderr)
    p = gcall("Claim", "../../etc", token_a, 0)
    ok(f"{ERR}InvalidArgument" in p.stderr, "Claim with a malformed agent id: InvalidArgument",
       p.stderr)
    p = gcall("Claim", a, token_a, 300001)
    ok(f"{ERR}InvalidArgument" in p.stderr, "Claim with wait_ms over 300000: InvalidArgument",
       p.stderr)
    p = dbus_send("Claim", f"string:{a}", f"string:{token_a}", "int64:-1")
    ok(p.returncode != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in p.stderr,
       "Claim with a negative wait (x, not u): InvalidArgs", p.stdout + p.stderr)
    p = dbus_send("Claim", f"string:{a}", f"string:{token_a}")
    ok(p.returncode != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in p.stderr,
       "Claim without wait_ms: InvalidArgs", p.stdout + p.stderr)
    claimed, p = claim(a, token_a, 0)
    ok(p.returncode == 0 and not claimed and p.stdout.strip() == "(false, @a{sv} {})",
       "Claim with nothing offered and no wait: (false, {})", p.stdout + p.stderr)

    # a delegated agent task and a task after it
    run_id, p = submit({"name": "agents-dbus", "tasks": [
        agent_task("review", "review"), noop("after", needs=["review"])]})
    ok(run_id is not None, "a workflow with an agent task is submitted", p.stdout + p.stderr)
    claimed, p = claim(b, token_b, 0)
    ok(p.returncode == 0 and not claimed, "an agent without the capability gets nothing",
       p.stdout + p.stderr)
    claimed, p = claim(a, token_a, 30000, timeout=60)
    out = p.stdout
    assignment = member(out, "id")
    fence = int_member(out, "fence")
    fence_known = fence is not None
    fence = fence if fence_known else 0
    ok(claimed and fence_known and assignment and member(out, "task_id") == "review" and
       member(out, "run_id") == run_id,
       "Claim: the agent with the capability gets the assignment, with its fence",
       out + p.stderr)
    ok(json.loads(member(out, "input_json") or "null") == {"diff": "+x", "n": None},
       "the assignment's input_json is the task's input exactly (null included)", out)
    p = gcall("GetAssignment", assignment)
    ok(p.returncode == 0 and member(p.stdout, "state") == "claimed" and
       "'fence'" not in p.stdout, "GetAssignment: claimed, and no fence for a supervisor",
       p.stdout + p.stderr)
    p = gcall("ListAssignments", "", "")
    ok(p.returncode == 0 and assignment in p.stdout and "'fence'" not in p.stdout,
       "ListAssignments without a token: no fences", p.stdout + p.stderr)
    p = gcall("ListAssignments", a, token_a)
    ok(p.returncode == 0 and assignment in p.stdout and int_member(p.stdout, "fence") == fence,
       "ListAssignments with the agent's token: its own, with the fence", p.stdout + p.stderr)
    p = gcall("ListAssignments", "", token_a)
    ok(p.returncode == 0 and assignment in p.stdout and int_member(p.stdout, "fence") == fence,
       "ListAssignments with the token alone: the token's agent's own", p.stdout + p.stderr)
    p = gcall("ListAssignments", "", "arkagt_nope")
    ok(f"{ERR}PermissionDenied" in p.stderr, "ListAssignments with a made-up token alone: "
       "PermissionDenied", p.stderr)
    p = gcall("ListAssignments", b, token_a)
    ok(f"{ERR}PermissionDenied" in p.stderr, "ListAssignments of b with a's token: refused",
       p.stderr)
    p = gcall("ExplainAssignment", assignment)
    ok(p.returncode == 0 and "'choice'" in p.stdout and "'history'" in p.stdout,
       "ExplainAssignment: the choice and the history", p.stdout + p.stderr)
    p = gcall("ExplainAssignment", "nope")
    ok(f"{ERR}NotFound" in p.stderr, "ExplainAssignment of an unknown one: NotFound", p.stderr)

    # the lease
    p = gcall("AssignmentHeartbeat", a, token_a, assignment, fence, '{"done": 0.5}')
    ok(p.returncode == 0 and "'lease_expires_at'" in p.stdout,
       "AssignmentHeartbeat renews the lease", p.stdout + p.stderr)
    p = gcall("AssignmentHeartbeat", a, token_a, assignment, fence, "")
    ok(p.returncode == 0, "AssignmentHeartbeat without progress", p.stdout + p.stderr)
    p = gcall("AssignmentHeartbeat", a, token_a, assignment, fence + 1, "")
    ok(f"{ERR}Conflict" in p.stderr, "AssignmentHeartbeat with another fence: Conflict",
       p.stderr)
    p = gcall("AssignmentHeartbeat", a, token_a, assignment, fence, "{bad")
    ok(f"{ERR}InvalidArgument" in p.stderr, "progress that is not JSON: InvalidArgument",
       p.stderr)
    p = bigcall("AssignmentHeartbeat", f"({gv(a)}, {gv(token_a)}, {gv(assignment)}, "
                f"uint64 {fence}, {gv(json.dumps('p' * 20000))})")
    ok(f"{ERR}LimitExceeded" in p.stderr, "progress over 16 KiB: LimitExceeded",
       p.stdout + p.stderr)
    p = dbus_send("Complete", f"string:{a}", f"string:{token_a}", f"string:{assignment}",
                  "int64:-1", "string:{}")
    ok(p.returncode != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in p.stderr,
       "Complete with a negative fence (x, not t): InvalidArgs", p.stdout + p.stderr)

    # completing
    p = gcall("Complete", b, token_b, assignment, fence, '{"ok": true}')
    ok(p.returncode != 0 and (f"{ERR}PermissionDenied" in p.stderr or
                              f"{ERR}Conflict" in p.stderr),
       "another agent can not complete a's assignment (its own token, a's assignment)",
       p.stderr)
    p = gcall("Complete", a, token_a, assignment, fence, '{"ok": true,}')
    ok(f"{ERR}InvalidArgument" in p.stderr, "a result that is not RFC 8259: InvalidArgument",
       p.stderr)
    p = gcall("Complete", a, token_a, assignment, fence, "")
    ok(f"{ERR}InvalidArgument" in p.stderr, "an empty result: InvalidArgument", p.stderr)
    huge = json.dumps({"blob": "r" * (2 << 20)})
    p = bigcall("Complete", f"({gv(a)}, {gv(token_a)}, {gv(assignment)}, uint64 {fence}, "
                f"{gv(huge)})")
    ok(f"{ERR}LimitExceeded" in p.stderr, "a 2 MiB result: LimitExceeded", p.stderr)
    p = gcall("Complete", a, token_a, assignment, fence + 7, '{"ok": true}')
    ok(f"{ERR}Conflict" in p.stderr, "a stale fence: org.arkitect.Arkitect1.Error.Conflict",
       p.stderr)
    p = gcall("GetAssignment", assignment)
    ok(member(p.stdout, "state") == "claimed", "and nothing changed", p.stdout)
    p = gcall("Complete", a, token_a, assignment, fence, '{"ok": true, "notes": ["fine"]}')
    ok(p.returncode == 0 and member(p.stdout, "state") in ("completed", "checking"),
       "Complete with the right fence", p.stdout + p.stderr)
    p = gcall("Complete", a, token_a, assignment, fence, '{"ok": true}')
    ok(f"{ERR}Conflict" in p.stderr, "a second Complete: Conflict", p.stderr)
    state = wait_run(run_id)
    ok(state == "succeeded", "the run succeeds, the task after the agent task included",
       state)
    p = gcall("GetTask", run_id, "after", iface=MANAGER)
    ok(re.search(r"'state': <'succeeded'>", p.stdout) is not None,
       "the downstream task ran", p.stdout)

    # release, then fail
    run2, _ = submit({"name": "agents-dbus-2", "tasks": [agent_task("review", "review")]})
    claimed, p = claim(a, token_a, 30000, timeout=60)
    first = member(p.stdout, "id")
    f1 = int_member(p.stdout, "fence") or 0
    ok(claimed and first, "the next assignment is claimed", p.stdout + p.stderr)
    p = gcall("Fail", a, token_a, first, f1, "")
    ok(f"{ERR}InvalidArgument" in p.stderr, "Fail without a reason: InvalidArgument", p.stderr)
    p = gcall("Release", a, token_a, first, f1, "x" * 5000)
    ok(f"{ERR}InvalidArgument" in p.stderr, "a reason over 4096 bytes: InvalidArgument",
       p.stderr)
    p = gcall("Release", a, token_a, first, f1, "not now")
    ok(p.returncode == 0, "Release", p.stdout + p.stderr)
    p = gcall("Release", a, token_a, first, f1, "")
    ok(f"{ERR}Conflict" in p.stderr, "a second Release: Conflict", p.stderr)
    claimed, p = claim(a, token_a, 30000, timeout=60)
    second = member(p.stdout, "id")
    f2 = int_member(p.stdout, "fence")
    ok(claimed and f2 is not None and f2 != f1,
       "the released piece is offered again; a new claim has a new fence",
       p.stdout + p.stderr)
    p = gcall("Complete", a, token_a, first, f1, "{}")
    ok(f"{ERR}Conflict" in p.stderr, "the released assignment's old fence: Conflict",
       p.stderr)
    p = gcall("Fail", a, token_a, second, f2 or 0, "the diff does not apply")
    ok(p.returncode == 0, "Fail with a reason", p.stdout + p.stderr)
    ok(wait_run(run2) == "failed", "the failed piece fails the task and its run",
       run_state(run2))

    records = d.audit()
    by_agent = [r for r in records if r.get("actor") == a]
    ok(any(r.get("action") == "assignment.complete" and r.get("target") == assignment and
           r.get("result") == "ok" for r in by_agent) and
       any(r.get("action") == "assignment.release" for r in by_agent) and
       any(r.get("action") == "assignment.fail" for r in by_agent),
       "what the agent did is audited with the agent as actor", by_agent)
    ok(any(r.get("action") == "agent.register" and r.get("target") == a and
           r.get("actor", "").startswith("uid ") for r in records),
       "the registration is audited with the caller's uid", records[:5])
    return a, token_a, b, token_b


def connections():
    p = run(["gdbus", "call", "--session", "-d", "org.freedesktop.DBus", "-o",
             "/org/freedesktop/DBus", "-m", "org.freedesktop.DBus.ListNames"])
    return set(re.findall(r"'(:[0-9.]+)'", p.stdout))


def test_vanishing_claim(a, token_a):
    """a Claim whose caller leaves the bus while it waits hands nothing out"""
    before = gcall("GetAgent", a).stdout
    beat = member(before, "last_heartbeat") or str(int_member(before, "last_heartbeat"))
    time.sleep(0.01)
    before_names = connections()
    client = subprocess.Popen(["gdbus", "call", "--session", "-d", NAME, "-o", PATH, "-m",
                               f"{AGENTS}.Claim", a, token_a, "120000", "--timeout", "200"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def claim_arrived():
        now = gcall("GetAgent", a).stdout
        return (member(now, "last_heartbeat") or str(int_member(now, "last_heartbeat"))) != beat
    ok(wait_for(claim_arrived, 30), "the waiting Claim reached the daemon (a heartbeat)")
    # the client's unique name (and that of the listing call itself, which is gone by then)
    new_names = connections() - before_names
    client.kill()
    client.wait()
    # the bus has seen the caller go (and told the daemon, in order) once it is not listed
    ok(new_names and wait_for(lambda: not (connections() & new_names), 30),
       "the caller is gone from the bus", new_names)
    run_id, _ = submit({"name": "vanished", "tasks": [agent_task("review", "review")]})

    def offered():
        p = assignments_of(a)
        return p.stdout if "'state': <'offered'>" in p.stdout else None
    out = wait_for(offered, 30)
    ok(out is not None, "the new work is offered to the agent", out)
    time.sleep(0.5)
    p = assignments_of(a)
    ok("'state': <'offered'>" in p.stdout and "'state': <'claimed'>" not in p.stdout,
       "the vanished caller's Claim did not take it: it stays offered", p.stdout)
    claimed, p = claim(a, token_a, 30000, timeout=60)
    ok(claimed and member(p.stdout, "run_id") == run_id, "the next Claim gets it",
       p.stdout + p.stderr)
    gcall("Complete", a, token_a, member(p.stdout, "id") or "none",
          int_member(p.stdout, "fence") or 0, '{"done": true}')
    ok(wait_run(run_id) == "succeeded", "and completes it", run_state(run_id))

    # twenty callers killed while they wait: the daemon serves on
    procs = [subprocess.Popen(["gdbus", "call", "--session", "-d", NAME, "-o", PATH, "-m",
                               f"{AGENTS}.Claim", a, token_a, "60000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(20)]
    time.sleep(0.5)
    for proc in procs:
        proc.kill()
        proc.wait()
    claimed, p = claim(a, token_a, 0)
    ok(p.returncode == 0 and not claimed, "twenty vanished claims leave the daemon serving",
       p.stdout + p.stderr)


def test_waiting_claim_gets_work(a, token_a):
    """a Claim that waits is answered as soon as work comes"""
    client = subprocess.Popen(["gdbus", "call", "--session", "-d", NAME, "-o", PATH, "-m",
                               f"{AGENTS}.Claim", a, token_a, "60000", "--timeout", "90"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    run_id, _ = submit({"name": "waiting", "tasks": [agent_task("review", "review")]})
    out, err = client.communicate(timeout=90)
    ok(out.startswith("(true,") and member(out, "run_id") == run_id,
       "a waiting Claim is answered with work submitted while it waits", out + err)
    if out.startswith("(true,"):
        gcall("Complete", a, token_a, member(out, "id"), int_member(out, "fence") or 0,
              '{"n": 1}')
    ok(wait_run(run_id) == "succeeded", "and the run succeeds", run_state(run_id))


def test_remove(a, token_a, b, token_b):
    p = gcall("RemoveAgent", b)
    ok(p.returncode == 0, "RemoveAgent", p.stdout + p.stderr)
    p = gcall("Heartbeat", b, token_b)
    ok(f"{ERR}PermissionDenied" in p.stderr, "a removed agent's token stops working",
       p.stderr)
    p = gcall("RemoveAgent", b)
    ok(f"{ERR}NotFound" in p.stderr, "RemoveAgent of an unknown agent: NotFound", p.stderr)
    p = gcall("RemoveAgent", "")
    ok(f"{ERR}InvalidArgument" in p.stderr, "RemoveAgent with an empty id: InvalidArgument",
       p.stderr)


OPEN_POLICY = """<policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>"""

# like Debian's /usr/share/dbus-1/system.conf: deny by default, then the package's file
SYSTEM_POLICY = """<policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{conf}</include>"""

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{type}</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  {policy}
</busconfig>"""


class Bus:
    """a dbus-daemon of our own, reachable by every user"""

    def __init__(self, name, type_, policy):
        d = os.path.join(WORK, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(WORK, 0o755)
        os.chmod(d, 0o755)
        self.socket = os.path.join(d, "bus")
        self.address = f"unix:path={self.socket}"
        conf = write(os.path.join(d, "bus.conf"),
                     BUS_CONFIG.format(type=type_, socket=self.socket, policy=policy))
        self.proc = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork",
                                      "--nopidfile", "--print-address"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stdout.readline()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def test_access_rule():
    """on a bus open to everyone: nobody may not register agents, but may act with a token"""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip("the access rule for other users", "needs root and setpriv to call as nobody")
        return
    bus = Bus("open-bus", "session", OPEN_POLICY)
    env = {"DBUS_SESSION_BUS_ADDRESS": bus.address}
    d = Daemon("access", "[daemon]\nstore = memory\n", ["--bus", "session"], env=env)
    try:
        ok(wait_name(bus.address), "the daemon owns the name on a bus open to everyone",
           d.text())
        p = gcall("RegisterAgent", '{"name": "n", "capabilities": ["x"]}', address=bus.address,
                  prefix=NOBODY)
        ok(f"{ERR}PermissionDenied" in p.stderr, "nobody may not register an agent",
           p.stdout + p.stderr)
        p = gcall("RegisterAgent", '{"name": "n", "capabilities": ["x"]}', address=bus.address)
        agent, token = member(p.stdout, "id"), member(p.stdout, "token")
        ok(agent and token, "root may", p.stdout + p.stderr)
        p = gcall("Heartbeat", agent, token, address=bus.address, prefix=NOBODY)
        ok(p.returncode == 0, "nobody holding the agent's token may act as the agent",
           p.stdout + p.stderr)
        p = gcall("ListAgents", address=bus.address, prefix=NOBODY)
        ok(p.returncode == 0 and agent in p.stdout, "nobody may list agents",
           p.stdout + p.stderr)
        p = gcall("RemoveAgent", agent, address=bus.address, prefix=NOBODY)
        ok(f"{ERR}PermissionDenied" in p.stderr, "nobody may not remove an agent",
           p.stdout + p.stderr)
        denied = [r for r in d.audit() if r.get("result") == "permission-denied"]
        ok(any(r.get("action") == "agent.register" and
               r.get("actor", "").startswith("uid 65534") for r in denied),
           "the refused registration is audited with nobody's uid", denied)
    finally:
        d.stop()
        bus.stop()


def test_system_policy():
    """data/org.arkitect.Arkitect1.conf lets everyone send the agent methods, not
    RegisterAgent"""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip("the system bus policy", "needs root and setpriv to call as nobody")
        return
    conf = os.path.join(SRC, "data", "org.arkitect.Arkitect1.conf")
    bus = Bus("system-bus", "system", SYSTEM_POLICY.format(conf=conf))
    env = {"DBUS_SYSTEM_BUS_ADDRESS": bus.address, "DBUS_SESSION_BUS_ADDRESS": ""}
    d = Daemon("system", "[daemon]\nstore = memory\n", env=env)
    try:
        ok(wait_name(bus.address), "the daemon owns the name on a system-like bus", d.text())
        p = gcall("RegisterAgent", '{"name": "n", "capabilities": ["x"]}', address=bus.address,
                  prefix=NOBODY)
        ok("org.freedesktop.DBus.Error.AccessDenied" in p.stderr,
           "the bus refuses RegisterAgent from nobody", p.stdout + p.stderr)
        p = gcall("RegisterAgent", '{"name": "n", "capabilities": ["x"]}', address=bus.address)
        agent, token = member(p.stdout, "id"), member(p.stdout, "token")
        ok(agent and token, "root may register", p.stdout + p.stderr)
        for method, args in (("Heartbeat", (agent, token)), ("Claim", (agent, token, 0)),
                             ("ListAgents", ()), ("GetAgent", (agent,)),
                             ("ListAssignments", ("", ""))):
            p = gcall(method, *args, address=bus.address, prefix=NOBODY)
            ok(p.returncode == 0, f"the policy lets nobody call {method}", p.stdout + p.stderr)
        p = gcall("RemoveAgent", agent, address=bus.address, prefix=NOBODY)
        ok("org.freedesktop.DBus.Error.AccessDenied" in p.stderr,
           "the bus refuses RemoveAgent from nobody", p.stdout + p.stderr)
    finally:
        d.stop()
        bus.stop()


def main():
    print("TAP version 13", flush=True)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        print("1..0 # SKIP not under dbus-run-session")
        return 0
    d = Daemon("main", "", ["--bus", "session"])
    client = None
    try:
        ok(wait_name(), "the daemon owns org.arkitect.Arkitect1 on the session bus", d.text())
        test_introspection()
        test_register_errors()
        a, token_a, b, token_b = test_end_to_end(d)
        test_vanishing_claim(a, token_a)
        test_waiting_claim_gets_work(a, token_a)
        test_remove(a, token_a, b, token_b)
        ok(d.proc.poll() is None, "the daemon is still running")
        # a claim waiting while the daemon stops is answered, and the daemon stops cleanly
        beat = gcall("GetAgent", a).stdout
        client = subprocess.Popen(["gdbus", "call", "--session", "-d", NAME, "-o", PATH, "-m",
                                   f"{AGENTS}.Claim", a, token_a, "120000", "--timeout",
                                   "200"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        ok(wait_for(lambda: member(gcall("GetAgent", a).stdout, "last_heartbeat") !=
                    member(beat, "last_heartbeat"), 30), "a Claim waits as the daemon stops")
    finally:
        rc = d.stop()
    ok(rc == 0, "the daemon stops cleanly", d.text()[-3000:])
    if client is not None:
        out, err = client.communicate(timeout=60)
        ok(client.returncode != 0 and not out.startswith("(true"),
           "the waiting Claim is ended without work", out + err)
    test_access_rule()
    test_system_policy()
    print(f"1..{n_test}")
    if failed == 0:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print(f"# work directory kept: {WORK}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
