#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Agents over the HTTP API of a real arkitectd (port 0, its own state directory), with the
standard library only, plus the example agents and the command line:

- registering is for admin tokens (a read token gets 403), the token is shown once;
- an agent token opens its own agent routes only: another agent's are 403, every other route
  403, and the agent routes refuse API tokens;
- a delegated run driven by an agent loop written here: claim (long poll), heartbeat with
  progress, complete; the run succeeds and the result is on the task's attempt;
- a long poll is answered by a submission that arrives during the wait, and outlives the
  server's request-timeout;
- a client that disconnects during a long poll is handed nothing: the assignment is offered to
  the next claim;
- a stale fence after the lease expired is 409 conflict, and the piece is offered again;
- malformed and oversized bodies (bad JSON, a fence as a string, a 2 MiB result, a huge reason)
  are refused without losing the assignment;
- examples/agents/shell-agent.sh (curl, jq) and node-agent.mjs (node >= 18) run a review end to
  end;
- arkitect agents: list, show, register, remove, assignments, explain.

Usage: agents-http-test.py ARKITECTD ARKITECT SOURCE_ROOT (ARK_PLUGIN_DIR set, as meson test
does). TAP output. Times are only hang guards: nothing asserts on how long something took.
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ARKITECTD, ARKITECT, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
WORK = tempfile.mkdtemp(prefix="ark-agents-http-test-")
READ_TOKEN = "reader-secret-0123456789abcdef"
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


def nick(body):
    return body.get("type", "").rsplit("/", 1)[-1] if isinstance(body, dict) else None


class Daemon:
    """one arkitectd on a state directory, with its HTTP URL and admin token"""

    def __init__(self, name, extra_conf=""):
        self.root = os.path.join(WORK, name)
        self.state = os.path.join(self.root, "state")
        self.conf = os.path.join(self.root, "arkitect.conf")
        digest = hashlib.sha256(READ_TOKEN.encode()).hexdigest()
        write(self.conf, "[frontend-http]\nlisten = 127.0.0.1:0\n"
              f"token.reader = read:{digest}\n" + extra_conf)
        self.proc = None

    def start(self):
        url_file = os.path.join(self.state, "http.url")
        self.stderr = open(os.path.join(self.root, "daemon.log"), "a")
        self.proc = subprocess.Popen([ARKITECTD, "--config", self.conf, "--state-dir",
                                      self.state], stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.exists(url_file):
            if self.proc.poll() is not None:
                raise RuntimeError("arkitectd exited: " + self.log())
            time.sleep(0.05)
        with open(url_file) as f:
            self.base = f.read().strip()
        self.url = urllib.parse.urlsplit(self.base)
        with open(os.path.join(self.state, "api-token")) as f:
            self.token = f.read().strip()
        return self

    def log(self):
        with open(os.path.join(self.root, "daemon.log")) as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        return self.proc.returncode

    def conn(self, timeout=60):
        return http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=timeout)

    def request(self, method, path, body=None, token=None, headers=None, raw=None,
                timeout=60):
        """(status, parsed JSON or bytes, headers); @body is JSON-encoded, @raw sent as is"""
        c = self.conn(timeout)
        h = {"Authorization": "Bearer " + (token if token is not None else self.token)}
        data = raw
        if body is not None:
            data = json.dumps(body)
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            payload = r.read()
            ctype = r.getheader("Content-Type", "")
            parsed = json.loads(payload) if payload and ctype.endswith("json") else payload
            return r.status, parsed, r
        finally:
            c.close()

    def register(self, name, capabilities, **extra):
        status, agent, _ = self.request("POST", "/api/v1/agents",
                                        {"name": name, "capabilities": capabilities, **extra})
        if status != 201:
            raise RuntimeError(f"register {name}: {status} {agent}")
        return agent

    def submit(self, workflow):
        status, run, _ = self.request("POST", "/api/v1/runs", workflow)
        if status != 201:
            raise RuntimeError(f"submit: {status} {run}")
        return run["id"]

    def wait_run(self, run_id, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, run, _ = self.request("GET", f"/api/v1/runs/{run_id}")
            if status == 200 and run["state"] in ("succeeded", "failed", "cancelled"):
                return run
            time.sleep(0.1)
        raise RuntimeError(f"run {run_id} did not finish")

    def task(self, run_id, task_id):
        return self.request("GET", f"/api/v1/runs/{run_id}/tasks/{task_id}")[1]


class Agent:
    """an agent as a client: its id, its token, and the calls of docs/agents.md"""

    def __init__(self, daemon, agent):
        self.d = daemon
        self.id = agent["id"]
        self.token = agent["token"]

    def claim(self, wait="30s"):
        return self.d.request("POST", f"/api/v1/agents/{self.id}/claim?wait={wait}",
                              token=self.token, timeout=400)

    def call(self, assignment, action, body):
        return self.d.request("POST", f"/api/v1/assignments/{assignment}/{action}", body,
                              token=self.token)

    def heartbeat(self):
        return self.d.request("POST", f"/api/v1/agents/{self.id}/heartbeat", token=self.token)


def agent_workflow(name, capability, lease="30s", input_=None, **agent_extra):
    return {"name": name, "tasks": [
        {"id": "review", "executor": "agent", "input": input_ or {"diff": "+ok\n"},
         "agent": {"capabilities": [capability], "lease": lease, **agent_extra}}]}


# tests ---------------------------------------------------------------------------------------


def test_register(d):
    spec = {"name": "reg", "capabilities": ["cap-reg", {"name": "go", "proficiency": 0.5}],
            "max_assignments": 2, "metadata": {"owner": "test"}}
    status, body, _ = d.request("POST", "/api/v1/agents", spec, token=READ_TOKEN)
    ok(status == 403 and nick(body) == "permission-denied",
       "a read token may not register an agent (403)", (status, body))
    status, body, _ = d.request("POST", "/api/v1/agents", spec, token="not-a-token")
    ok(status == 401, "an unknown token gets 401", (status, body))
    status, agent, r = d.request("POST", "/api/v1/agents", spec)
    ok(status == 201 and agent["id"].startswith("agt_") and
       agent["token"].startswith("arkagt_") and len(agent["token"]) == 7 + 43,
       "an admin token registers an agent: 201 with its id and token", (status, agent))
    ok(r.getheader("Location") == f"/api/v1/agents/{agent['id']}" and
       r.getheader("Cache-Control") == "no-store",
       "the answer names the agent in Location and may not be cached",
       (r.getheader("Location"), r.getheader("Cache-Control")))
    status, listed, _ = d.request("GET", "/api/v1/agents", token=READ_TOKEN)
    mine = [a for a in listed.get("agents", []) if a["id"] == agent["id"]] if status == 200 else []
    ok(len(mine) == 1 and "token" not in mine[0] and
       not any("token_sha256" in a for a in listed["agents"]),
       "a read token lists the agents, without tokens or their hashes", (status, listed))
    status, one, _ = d.request("GET", f"/api/v1/agents/{agent['id']}", token=READ_TOKEN)
    caps = {c["name"]: c["proficiency"] for c in one.get("capabilities", [])} \
        if status == 200 else {}
    ok(status == 200 and caps == {"cap-reg": 1.0, "go": 0.5} and
       one["max_assignments"] == 2 and "trust" in one and "token" not in one,
       "GET /api/v1/agents/{agent} shows its capabilities and trust", (status, one))
    for bad, what in [({"capabilities": ["x"]}, "no name"),
                      ({"name": "x", "capabilities": "x"}, "capabilities not an array"),
                      ({"name": "x", "capabilities": ["x"], "max_assignments": 0},
                       "max_assignments 0"),
                      ({"name": "x" * 200, "capabilities": ["x"]}, "a 200-byte name")]:
        status, body, _ = d.request("POST", "/api/v1/agents", bad)
        ok(status == 400, f"registering with {what} is 400", (status, body))
    status, body, _ = d.request("POST", "/api/v1/agents", raw="[1, 2")
    ok(status == 400 and nick(body) == "invalid-json", "a malformed body is 400 invalid-json",
       (status, body))
    status, body, _ = d.request("POST", "/api/v1/agents", raw="")
    ok(status == 400, "an empty body is 400", (status, body))
    status, body, _ = d.request("GET", "/api/v1/agents/agt_ffffffffffffffff", token=READ_TOKEN)
    ok(status == 404 and nick(body) == "not-found", "an unknown agent is 404", (status, body))
    status, body, _ = d.request("DELETE", f"/api/v1/agents/{agent['id']}", token=READ_TOKEN)
    ok(status == 403, "a read token may not remove an agent", (status, body))
    status, body, _ = d.request("DELETE", f"/api/v1/agents/{agent['id']}")
    ok(status == 204, "an admin token removes it (204)", (status, body))
    status, body, _ = d.request("POST", f"/api/v1/agents/{agent['id']}/heartbeat",
                                token=agent["token"])
    ok(status == 401, "the token of a removed agent no longer authenticates", (status, body))
    status, body, _ = d.request("DELETE", f"/api/v1/agents/{agent['id']}")
    ok(status == 404, "removing it again is 404", (status, body))


def test_agent_tokens(d):
    a = Agent(d, d.register("tok-a", ["cap-tok"]))
    b = Agent(d, d.register("tok-b", ["cap-tok"]))
    status, body, _ = a.heartbeat()
    ok(status == 200 and "heartbeat_timeout_ms" in body, "an agent heartbeats with its token",
       (status, body))
    status, body, _ = d.request("GET", f"/api/v1/agents/{a.id}/assignments", token=a.token)
    ok(status == 200 and body["assignments"] == [], "an agent lists its own assignments",
       (status, body))
    for method, path in [("POST", f"/api/v1/agents/{b.id}/heartbeat"),
                         ("POST", f"/api/v1/agents/{b.id}/claim?wait=0"),
                         ("GET", f"/api/v1/agents/{b.id}/assignments")]:
        status, body, _ = d.request(method, path, token=a.token)
        ok(status == 403 and nick(body) == "permission-denied",
           f"agent A's token on {method} {path.split('?')[0]} of agent B is 403", (status, body))
    for method, path, data in [("GET", "/api/v1/runs", None), ("GET", "/api/v1/agents", None),
                               ("GET", f"/api/v1/agents/{a.id}", None),
                               ("GET", "/api/v1/assignments", None),
                               ("POST", "/api/v1/agents", {"name": "x", "capabilities": ["x"]}),
                               ("DELETE", f"/api/v1/agents/{b.id}", None),
                               ("POST", "/api/v1/runs", {"name": "x", "tasks": []}),
                               ("GET", "/api/v1/status", None), ("GET", "/metrics", None)]:
        status, body, _ = d.request(method, path, data, token=a.token)
        ok(status == 403 and nick(body) == "permission-denied",
           f"an agent token on {method} {path} is 403", (status, body))
    for token, who in [(d.token, "the admin token"), (READ_TOKEN, "a read token")]:
        status, body, _ = d.request("POST", f"/api/v1/agents/{a.id}/claim?wait=0", token=token)
        ok(status == 403, f"{who} on an agent's claim is 403", (status, body))
    status, body, _ = d.request("POST", f"/api/v1/agents/{a.id}/heartbeat",
                                token="arkagt_" + "A" * 43)
    ok(status == 401, "a made-up agent token is 401", (status, body))
    status, body, _ = d.request("POST", "/api/v1/agents/bad%20id/heartbeat", token=a.token)
    ok(status in (400, 403), "a malformed agent id in the path is refused", (status, body))
    status, body, _ = a.claim("0")
    ok(status == 204, "a claim without a wait and with nothing offered is 204", (status, body))
    for bad in ("abc", "301s", "-1", "1e9"):
        status, body, _ = a.claim(bad)
        ok(status == 400, f"wait={bad} is 400", (status, body))


def test_delegated_run(d):
    a = Agent(d, d.register("loop-a", ["cap-run"]))
    other = Agent(d, d.register("loop-other", ["cap-unrelated"]))
    payload = {"diff": "+int x;\n", "nested": [1, {"k": None}]}
    run_id = d.submit(agent_workflow("delegated", "cap-run", input_=payload))
    status, asg, _ = a.claim("30s")
    ok(status == 200 and asg.get("run_id") == run_id and asg.get("task_id") == "review" and
       isinstance(asg.get("fence"), int) and asg.get("input") == payload,
       "the agent's claim gets the assignment with its input and fence", (status, asg))
    if status != 200:
        return
    fence = asg["fence"]
    status, body, _ = a.call(asg["id"], "heartbeat", {"fence": fence, "progress": {"pct": 40}})
    ok(status == 200 and "lease_expires_at" in body, "a heartbeat with progress renews the lease",
       (status, body))
    status, seen, _ = d.request("GET", f"/api/v1/assignments/{asg['id']}", token=READ_TOKEN)
    ok(status == 200 and seen.get("state") == "claimed" and seen.get("progress") == {"pct": 40}
       and "fence" not in seen,
       "a read token sees the assignment claimed, with its progress and without its fence",
       (status, seen))
    status, listed, _ = d.request("GET", f"/api/v1/assignments?agent={a.id}", token=READ_TOKEN)
    ok(status == 200 and [x["id"] for x in listed["assignments"]] == [asg["id"]] and
       all("fence" not in x for x in listed["assignments"]),
       "GET /api/v1/assignments?agent= lists it, without fences", (status, listed))
    status, own, _ = d.request("GET", f"/api/v1/agents/{a.id}/assignments", token=a.token)
    ok(status == 200 and [(x["id"], x.get("fence")) for x in own["assignments"]] ==
       [(asg["id"], fence)], "the agent's own list has it, with its fence", (status, own))
    status, why, _ = d.request("GET", f"/api/v1/assignments/{asg['id']}/explain",
                               token=READ_TOKEN)
    ok(status == 200 and "choice" in why and "history" in why and "fence" not in json.dumps(
        why.get("assignment", {})), "explain shows the choice and the history", (status, why))
    status, body, _ = other.call(asg["id"], "complete", {"fence": fence, "result": {"x": 1}})
    ok(status == 403, "another agent may not complete it, even with the right fence",
       (status, body))
    result = {"verdict": "approved", "score": 0.9, "notes": ["a", "b"]}
    status, body, _ = a.call(asg["id"], "complete", {"fence": fence, "result": result})
    ok(status == 200 and body.get("state") == "completed", "complete is accepted",
       (status, body))
    run = d.wait_run(run_id)
    ok(run["state"] == "succeeded", "the run succeeds", run)
    task = d.task(run_id, "review")
    attempts = task.get("attempts", [])
    ok(attempts and attempts[-1].get("result") == result and
       attempts[-1].get("executor") == "agent",
       "the task's attempt carries the agent's result", task)
    status, body, _ = a.call(asg["id"], "complete", {"fence": fence, "result": result})
    ok(status == 409 and nick(body) == "conflict", "completing it again is 409 conflict",
       (status, body))
    status, one, _ = d.request("GET", f"/api/v1/agents/{a.id}", token=READ_TOKEN)
    trust = one.get("trust", {}).get("cap-run", {}) if status == 200 else {}
    ok(trust.get("successes") == 1, "the success counts in the agent's trust", one)
    audit = os.path.join(d.state, "audit.jsonl")
    records = [json.loads(line) for line in open(audit)] if os.path.exists(audit) else []
    done = [r for r in records if r.get("action") == "assignment.complete" and
            r.get("target") == asg["id"]]
    ok([(r["actor"], r["result"]) for r in done] ==
       [(other.id, "permission-denied"), (a.id, "ok"), (a.id, "conflict")],
       "each assignment.complete is audited once (by the engine), with the agent as actor",
       done or records[-5:])


def test_long_poll(d):
    a = Agent(d, d.register("poll", ["cap-poll"]))
    answer = {}

    def claim():
        try:
            answer["r"] = a.claim("60s")
        except OSError as e:
            answer["r"] = (None, repr(e), None)

    t = threading.Thread(target=claim)
    t.start()
    time.sleep(0.5)  # the claim is waiting (nothing is offered to this agent yet)
    run_id = d.submit(agent_workflow("long-poll", "cap-poll"))
    t.join(timeout=120)
    status, asg, _ = answer.get("r", (None, None, None))
    ok(status == 200 and asg.get("run_id") == run_id,
       "a waiting claim is answered by a submission that arrives during the wait",
       (status, asg))
    if status == 200:
        a.call(asg["id"], "complete", {"fence": asg["fence"], "result": True})
        ok(d.wait_run(run_id)["state"] == "succeeded", "that run succeeds")
    # the daemon's request-timeout is 2s here: a longer wait is still answered, with 204
    status, body, r = a.claim("4s")
    ok(status == 204 and not body,
       "a long poll longer than request-timeout ends with 204, not 408", (status, body))


def test_disconnect(d):
    a = Agent(d, d.register("gone", ["cap-gone"]))
    s = socket.create_connection((d.url.hostname, d.url.port), timeout=30)
    s.sendall((f"POST /api/v1/agents/{a.id}/claim?wait=120s HTTP/1.1\r\n"
               f"Host: {d.url.hostname}\r\nAuthorization: Bearer {a.token}\r\n"
               "Content-Length: 0\r\n\r\n").encode())
    time.sleep(0.5)
    s.close()  # the client goes away while its claim waits
    time.sleep(0.5)
    run_id = d.submit(agent_workflow("disconnect", "cap-gone"))
    status, asg, _ = a.claim("30s")
    ok(status == 200 and asg.get("run_id") == run_id and asg.get("state") == "claimed",
       "the assignment goes to the next claim, not to the claim whose client left",
       (status, asg))
    status, listed, _ = d.request("GET", f"/api/v1/assignments?agent={a.id}", token=READ_TOKEN)
    ok(status == 200 and len(listed["assignments"]) == 1,
       "the agent holds exactly one assignment", (status, listed))
    if asg and "fence" in asg:
        a.call(asg["id"], "complete", {"fence": asg["fence"], "result": {"ok": True}})
        ok(d.wait_run(run_id)["state"] == "succeeded", "the run succeeds")


def test_stale_fence(d):
    a = Agent(d, d.register("slow", ["cap-lease"]))
    run_id = d.submit(agent_workflow("lease", "cap-lease", lease="1s"))
    status, first, _ = a.claim("30s")
    ok(status == 200, "claimed with a 1s lease", (status, first))
    if status != 200:
        return
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline:
        status, seen, _ = d.request("GET", f"/api/v1/assignments/{first['id']}",
                                    token=READ_TOKEN)
        state = seen.get("state") if status == 200 else ("gone", status)
        if state != "claimed":
            break
        time.sleep(0.2)
    ok(state in ("expired", ("gone", 404)), "without heartbeats the lease expires", state)
    status, body, _ = a.call(first["id"], "heartbeat", {"fence": first["fence"]})
    ok(status == 409 and nick(body) == "conflict", "a heartbeat with the stale fence is 409",
       (status, body))
    status, body, _ = a.call(first["id"], "complete", {"fence": first["fence"], "result": 1})
    ok(status == 409 and nick(body) == "conflict", "completing with the stale fence is 409",
       (status, body))
    status, second, _ = a.claim("30s")
    ok(status == 200 and second.get("run_id") == run_id and second["fence"] > first["fence"],
       "the piece is offered again, with a new, greater fence", (status, second))
    if status == 200:
        status, body, _ = a.call(second["id"], "complete",
                                 {"fence": second["fence"], "result": {"late": False}})
        ok(status == 200, "the new holder completes it", (status, body))
        ok(d.wait_run(run_id)["state"] == "succeeded", "the run succeeds")


def test_bad_bodies(d):
    a = Agent(d, d.register("bodies", ["cap-bodies"]))
    run_id = d.submit(agent_workflow("bodies", "cap-bodies"))
    status, asg, _ = a.claim("30s")
    ok(status == 200, "claimed", (status, asg))
    if status != 200:
        return
    fence = asg["fence"]
    path = f"/api/v1/assignments/{asg['id']}"
    cases = [
        ("complete", '{"fence": ', 400, "invalid-json", "bad JSON"),
        ("complete", '{"fence": 1, "result": 1} trailing', 400, "invalid-json",
         "trailing data"),
        ("complete", json.dumps({"fence": str(fence), "result": 1}), 400, "invalid-argument",
         "a fence as a string"),
        ("complete", json.dumps({"fence": fence + 0.5, "result": 1}), 400, "invalid-argument",
         "a fractional fence"),
        ("complete", json.dumps({"fence": -1, "result": 1}), 400, "invalid-argument",
         "a negative fence"),
        ("complete", json.dumps({"result": 1}), 400, "invalid-argument", "no fence"),
        ("complete", json.dumps({"fence": fence}), 400, "invalid-argument", "no result"),
        ("complete", json.dumps({"fence": fence, "result": 1, "extra": 2}), 400,
         "invalid-argument", "an unknown member"),
        ("complete", "[1]", 400, "invalid-argument", "an array body"),
        ("complete", "[" * 200 + "]" * 200, 400, "invalid-json", "JSON nested 200 deep"),
        ("complete", json.dumps({"fence": fence, "result": "x" * (2 * 1024 * 1024)}), 413,
         "limit-exceeded", "a 2 MiB result"),
        ("heartbeat", json.dumps({"fence": fence, "progress": "x" * (32 * 1024)}), 413,
         "limit-exceeded", "32 KiB of progress"),
        ("fail", json.dumps({"fence": fence, "reason": "r" * 5000}), 400, "invalid-argument",
         "a 5000-byte reason"),
        ("fail", json.dumps({"fence": fence, "reason": 42}), 400, "invalid-argument",
         "a reason that is not a string"),
        ("fail", json.dumps({"fence": fence}), 400, "invalid-argument", "fail without reason"),
        ("release", json.dumps({"fence": fence, "reason": ["x"]}), 400, "invalid-argument",
         "release with a reason that is not a string"),
    ]
    for action, raw, want, want_nick, what in cases:
        status, body, _ = d.request("POST", f"{path}/{action}", raw=raw, token=a.token)
        ok(status == want and nick(body) == want_nick,
           f"{action} with {what} is {want} {want_nick}", (status, body))
    status, body, _ = d.request("POST", f"{path}/complete", raw='{"fence": 1}', token=a.token,
                                headers={"Content-Type": "text/plain"})
    ok(status == 415, "a body that is not JSON by its Content-Type is 415", (status, body))
    status, seen, _ = d.request("GET", path, token=READ_TOKEN)
    ok(status == 200 and seen.get("state") == "claimed",
       "after all that the assignment is still claimed", (status, seen))
    result = {"big": "y" * (512 * 1024)}
    status, body, _ = a.call(asg["id"], "complete", {"fence": fence, "result": result})
    ok(status == 200, "a 512 KiB result with the right fence completes it", (status, body))
    run = d.wait_run(run_id)
    task = d.task(run_id, "review")
    ok(run["state"] == "succeeded" and task["attempts"][-1].get("result") == result,
       "the run succeeds with that result")


def example_env(d, capability, name):
    env = dict(os.environ)
    env.update({"ARKITECT_URL": d.base, "ARKITECT_TOKEN": d.token, "AGENT_NAME": name,
                "AGENT_CAPABILITY": capability, "AGENT_WAIT": "5s", "AGENT_MAX_TASKS": "1",
                "AGENT_HEARTBEAT": "1", "AGENT_HEARTBEAT_MS": "200", "STATE": d.state})
    return env


def review_workflow(capability, lease=None):
    with open(os.path.join(SRC, "examples", "agents", "review.json")) as f:
        workflow = json.load(f)
    for task in workflow["tasks"]:
        if task.get("executor") == "agent":
            task["agent"]["capabilities"] = [capability]
            if lease is not None:
                task["agent"]["lease"] = lease
    return workflow


def run_example(d, argv, capability, name, env=None, lease=None):
    log = open(os.path.join(d.root, f"{name}.log"), "w")
    proc = subprocess.Popen(argv, env={**example_env(d, capability, name), **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT)
    run_id = d.submit(review_workflow(capability, lease))
    try:
        rc = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    log.close()
    run = d.wait_run(run_id)
    task = d.task(run_id, "review")
    with open(os.path.join(d.root, f"{name}.log")) as f:
        output = f.read()
    return rc, run, task, output


def test_shell_example(d):
    if shutil.which("curl") is None or shutil.which("jq") is None:
        skip("the shell example agent reviews a change end to end", "curl or jq is missing")
        return
    script = os.path.join(SRC, "examples", "agents", "shell-agent.sh")
    rc, run, task, output = run_example(d, ["sh", script], "cap-shell", "shell-agent")
    result = task["attempts"][-1].get("result") if task.get("attempts") else None
    ok(rc == 0 and run["state"] == "succeeded" and isinstance(result, dict) and
       result.get("verdict") == "changes-requested" and result.get("lines") == 7,
       "the shell example agent reviews a change end to end (run succeeds with its verdict)",
       f"rc {rc}, run {run['state']}, result {result}\n{output}")
    # work that takes longer than the lease: only the heartbeats keep the assignment the agent's
    slow = 'sleep 12; jq -c "{verdict: \\"slow\\", lines: (.diff | split(\\"\\n\\") | length)}"'
    rc, run, task, output = run_example(d, ["sh", script], "cap-shell-slow", "shell-agent-slow",
                                        env={"AGENT_WORK": slow}, lease="8s")
    result = task["attempts"][-1].get("result") if task.get("attempts") else None
    ok(rc == 0 and run["state"] == "succeeded" and result == {"verdict": "slow", "lines": 7} and
       "lost" not in output,
       "its heartbeats (every second) keep an 8s lease through 12s of work",
       f"rc {rc}, result {result}\n{output}")


def node_program():
    local = os.path.join(SRC, "tests", "mcp", "node_modules", ".bin", "node")
    for candidate in (local, shutil.which("node")):
        if candidate and os.access(candidate, os.X_OK):
            try:
                out = subprocess.run([candidate, "--version"], capture_output=True, text=True,
                                     timeout=30).stdout.strip()
                if int(out.lstrip("v").split(".")[0]) >= 18:
                    return candidate
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
    return None


def test_node_example(d):
    node = node_program()
    if node is None:
        skip("the Node example agent reviews a change end to end", "no node >= 18")
        return
    script = os.path.join(SRC, "examples", "agents", "node-agent.mjs")
    rc, run, task, output = run_example(d, [node, script], "cap-node", "node-agent")
    result = task["attempts"][-1].get("result") if task.get("attempts") else None
    ok(rc == 0 and run["state"] == "succeeded" and isinstance(result, dict) and
       result.get("verdict") == "changes-requested" and result.get("findings"),
       "the Node example agent reviews a change end to end (run succeeds with its verdict)",
       f"rc {rc}, run {run['state']}, result {result}\n{output}")


def cli(d, *args, token_file=None):
    env = dict(os.environ)
    env.pop("ARKITECT_URL", None)
    r = subprocess.run([ARKITECT, *args, "--url", d.base, "--token-file",
                        token_file or os.path.join(d.state, "api-token")],
                       capture_output=True, text=True, env=env, timeout=60)
    return r.returncode, r.stdout, r.stderr


def test_cli(d):
    rc, out, err = cli(d, "agents", "register", "--name", "cli-agent", "--capability",
                       "cap-cli:0.8", "--capability", "cap-cli2", "--max-assignments", "2")
    lines = out.splitlines()
    ok(rc == 0 and len(lines) == 2 and lines[0].startswith("agt_") and
       lines[1].startswith("arkagt_"), "arkitect agents register prints the id and the token",
       (rc, out, err))
    if rc != 0:
        return
    agent_id, token = lines
    rc, out, err = cli(d, "agents")
    ok(rc == 0 and agent_id in out and "cli-agent" in out and "0/2" in out and
       "cap-cli:0.80" in out, "arkitect agents lists it", (rc, out, err))
    rc, out, err = cli(d, "agents", "--json")
    listed = json.loads(out)["agents"] if rc == 0 else []
    ok(any(a["id"] == agent_id for a in listed), "arkitect agents --json lists it", (rc, out))
    rc, out, err = cli(d, "agents", "show", agent_id)
    ok(rc == 0 and "cap-cli" in out and "0.80" in out and "TRUST" in out,
       "arkitect agents show has its trust per capability", (rc, out, err))
    rc, out, err = cli(d, "agents", "show", agent_id, "--json")
    ok(rc == 0 and json.loads(out)["id"] == agent_id, "agents show --json", (rc, out, err))

    a = Agent(d, {"id": agent_id, "token": token})
    run_id = d.submit(agent_workflow("cli", "cap-cli"))
    status, asg, _ = a.claim("30s")
    ok(status == 200, "the registered agent claims work", (status, asg))
    if status == 200:
        rc, out, err = cli(d, "agents", "assignments", "--agent", agent_id)
        ok(rc == 0 and asg["id"] in out and "claimed" in out and run_id in out,
           "arkitect agents assignments --agent lists its assignment", (rc, out, err))
        rc, out, err = cli(d, "agents", "assignments", "--json")
        ok(rc == 0 and any(x["id"] == asg["id"] for x in json.loads(out)["assignments"]),
           "agents assignments --json", (rc, out, err))
        rc, out, err = cli(d, "agents", "explain", asg["id"])
        ok(rc == 0 and asg["id"] in out and "choice" in out,
           "arkitect agents explain ASSIGNMENT", (rc, out, err))
        a.call(asg["id"], "complete", {"fence": asg["fence"], "result": {"cli": True}})
        d.wait_run(run_id)
    reader = os.path.join(d.root, "reader.token")
    write(reader, READ_TOKEN + "\n")
    os.chmod(reader, 0o600)
    rc, out, err = cli(d, "agents", "register", "--name", "x", "--capability", "x",
                       token_file=reader)
    ok(rc == 3 and "permission-denied" in err,
       "registering with a read token fails (exit 3, permission-denied)", (rc, out, err))
    for args, what in [(["agents", "register", "--capability", "x"], "no --name"),
                       (["agents", "register", "--name", "x"], "no --capability"),
                       (["agents", "register", "--name", "x", "--capability", "x:2"],
                        "a proficiency over 1"),
                       (["agents", "register", "--name", "x", "--capability", "x",
                         "--metadata", "[1]"], "metadata that is not an object"),
                       (["agents", "show"], "show without an id"),
                       (["agents", "frobnicate"], "an unknown subcommand"),
                       (["runs", "--capability", "x"], "--capability on another command")]:
        rc, out, err = cli(d, *args)
        ok(rc == 2, f"arkitect agents with {what} is exit 2", (rc, out, err))
    rc, out, err = cli(d, "agents", "remove", agent_id)
    ok(rc == 0, "arkitect agents remove", (rc, out, err))
    rc, out, err = cli(d, "agents", "show", agent_id)
    ok(rc == 2 and "not-found" in err, "a removed agent is not found (exit 2)", (rc, out, err))


def main():
    print("TAP version 13", flush=True)
    d = Daemon("main", "request-timeout = 2s\n").start()
    tests = [test_register, test_agent_tokens, test_delegated_run, test_long_poll,
             test_disconnect, test_stale_fence, test_bad_bodies, test_cli]
    try:
        for t in tests:
            try:
                t(d)
            except Exception as e:  # a crash of one test is a failure, not the end
                ok(False, f"{t.__name__} raised", f"{type(e).__name__}: {e}")
        # the examples get a daemon of their own: nothing else competes for their work
        ex = Daemon("examples").start()
        waiter = None
        ended = {}
        try:
            for example in (test_shell_example, test_node_example):
                try:
                    example(ex)
                except Exception as e:
                    ok(False, f"{example.__name__} raised", f"{type(e).__name__}: {e}")
            # a claim still waits when the daemon stops: the stop ends it, and nothing crashes
            waiting = Agent(ex, ex.register("waiting", ["cap-never"]))

            def claim():
                try:
                    ended["r"] = waiting.claim("120s")[0]
                except OSError as e:
                    ended["r"] = type(e).__name__
            waiter = threading.Thread(target=claim)
            waiter.start()
            time.sleep(0.5)
        finally:
            ok(ex.stop() == 0, "a daemon stops cleanly while a claim waits", ex.log()[-3000:])
        if waiter is not None:
            waiter.join(timeout=60)
        ok("r" in ended and ended["r"] not in (200, 204),
           "the waiting claim ends with the daemon", ended)
        ok(d.proc.poll() is None, "the daemon survived everything", d.log()[-3000:])
    finally:
        rc = d.stop()
    ok(rc == 0, "the daemon stops cleanly", d.log()[-3000:])
    print(f"1..{n_test}", flush=True)
    if failed == 0:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print(f"# {failed} failed; the daemons' files are in {WORK}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
