#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The agent tools of arkitectd's MCP server (docs/mcp.md, docs/agents.md) as a process, with raw
HTTP and raw stdio (standard library only), in the style of mcp-protocol-test.py:

- the tools are listed with schemas and honest annotations; a read-scope token can not register;
- an agent loop: a supervisor session registers an agent and submits a workflow with an agent
  task, the agent claims (agent_claim, with its token as an argument), renews its lease with
  progress, completes, and the run succeeds;
- a session opened with the agent's own bearer token has the agent tools only: it can not
  submit, read resources or act for another agent;
- hostile arguments: wrong types, a 2 MiB result, negative and fractional fences, waits out of
  range, another agent's token; stale fences are conflicts;
- notifications/cancelled and DELETE of the session cancel a waiting agent_claim, which then
  hands nothing out; progress keeps a waiting claim alive;
- the arkitect://agents resources, the audit records, and the tools over stdio.

Usage: mcp-agents-test.py ARKITECTD ARKITECT   (ARK_PLUGIN_DIR set, as meson test does). TAP.
"""

import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ARKITECTD = sys.argv[1]
ARKITECT = sys.argv[2]
WORK = tempfile.mkdtemp(prefix="ark-mcp-agents-test-")
READ_TOKEN = "read-token-for-the-mcp-agents-test-0123"
AGENT_TOOLS = ["agent_claim", "agent_heartbeat", "agent_assignments", "agent_complete",
               "agent_fail", "agent_release"]
SUPERVISOR_TOOLS = ["agent_register", "agent_remove", "list_agents", "get_agent",
                    "list_assignments", "explain_assignment"]
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
            print(f"#   {line[:400]}", flush=True)


class Daemon:
    def __init__(self, name="state"):
        self.state = os.path.join(WORK, name)
        conf = os.path.join(WORK, name + ".conf")
        digest = hashlib.sha256(READ_TOKEN.encode()).hexdigest()
        with open(conf, "w") as f:
            f.write("[daemon]\nstore=memory\n[frontend-http]\nlisten=127.0.0.1:0\n"
                    f"token.reader=read:{digest}\n[frontend-mcp]\nmax-message-size=8M\n"
                    "[agents]\nheartbeat-timeout=10m\n")
        self.log = open(os.path.join(WORK, name + ".log"), "w")
        self.proc = subprocess.Popen([ARKITECTD, "-c", conf, "-s", self.state],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        url_file = os.path.join(self.state, "http.url")
        for _ in range(200):
            if os.path.exists(url_file) and open(url_file).read().strip():
                break
            time.sleep(0.1)
        url = open(url_file).read().strip()
        self.host, self.port = url[len("http://"):].rsplit(":", 1)
        self.port = int(self.port)
        self.token = open(os.path.join(self.state, "api-token")).read().strip()

    def alive(self):
        return self.proc.poll() is None

    def audit(self):
        path = os.path.join(self.state, "audit.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


D = None


def request(method, body=None, session=None, token="admin", raw=None, timeout=60,
            headers=None):
    conn = http.client.HTTPConnection(D.host, D.port, timeout=timeout)
    h = {"Accept": "application/json, text/event-stream"}
    if body is not None or raw is not None:
        h["Content-Type"] = "application/json"
    if token == "admin":
        h["Authorization"] = f"Bearer {D.token}"
    elif token:
        h["Authorization"] = f"Bearer {token}"
    if session:
        h["Mcp-Session-Id"] = session
        h["MCP-Protocol-Version"] = "2025-11-25"
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    conn.request(method, "/mcp", body=data, headers=h)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), text


def sse_messages(text):
    out = []
    for block in text.split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if data and "".join(data):
            out.append(json.loads("".join(data)))
    return out


def answer(text, headers):
    if headers.get("content-type", "").startswith("text/event-stream"):
        msgs = sse_messages(text)
        return msgs[-1], msgs[:-1]
    return json.loads(text), []


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "mcp-agents-test", "version": "1"}}}


def open_session(token="admin"):
    status, headers, text = request("POST", INIT, token=token)
    sid = headers.get("mcp-session-id")
    request("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid,
            token=token)
    return status, sid, text


def call(sid, method, params=None, id=2, token="admin", timeout=90):
    body = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        body["params"] = params
    status, headers, text = request("POST", body, session=sid, token=token, timeout=timeout)
    if status != 200:
        return {"http": status, "text": text}, []
    return answer(text, headers)


def tool(sid, name, args=None, id=2, token="admin", meta=None):
    params = {"name": name, "arguments": args if args is not None else {}}
    if meta:
        params["_meta"] = meta
    msg, before = call(sid, "tools/call", params, id=id, token=token)
    return msg, before


def result(msg):
    return msg.get("result", {})


def text_of(msg):
    return "".join(c.get("text", "") for c in result(msg).get("content", []))


def is_error(msg):
    return result(msg).get("isError") is True


def structured(msg):
    return result(msg).get("structuredContent") or {}


def agent_task(task_id, capability, **more):
    return dict({"id": task_id, "executor": "agent", "input": {"question": "2+2?"},
                 "agent": {"capabilities": [capability]}}, **more)


def wait_for(fn, timeout=60):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    return value


def raw_post(sid, body, token=None):
    """a POST on a socket of its own, left open: the caller reads the stream"""
    sock = socket.create_connection((D.host, D.port), timeout=30)
    data = json.dumps(body)
    sock.sendall((f"POST /mcp HTTP/1.1\r\nHost: {D.host}:{D.port}\r\n"
                  f"Authorization: Bearer {token or D.token}\r\nMcp-Session-Id: {sid}\r\n"
                  "Content-Type: application/json\r\n"
                  "Accept: application/json, text/event-stream\r\n"
                  f"Content-Length: {len(data)}\r\n\r\n{data}").encode())
    return sock


def read_until(sock, needle, timeout=30):
    sock.settimeout(timeout)
    got = b""
    try:
        while needle not in got:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    return got


# the tests -----------------------------------------------------------------------------------

def test_listing(sid):
    msg, _ = call(sid, "tools/list", {}, id=3)
    tools = {t["name"]: t for t in result(msg).get("tools", [])}
    cursor = result(msg).get("nextCursor")
    while cursor:
        msg, _ = call(sid, "tools/list", {"cursor": cursor}, id=3)
        tools.update({t["name"]: t for t in result(msg).get("tools", [])})
        cursor = result(msg).get("nextCursor")
    for name in AGENT_TOOLS + SUPERVISOR_TOOLS:
        t = tools.get(name, {})
        ok(t.get("inputSchema", {}).get("type") == "object" and
           t.get("outputSchema", {}).get("type") == "object" and t.get("description"),
           f"tools/list has {name} with object schemas", t)
    hints = {name: tools.get(name, {}).get("annotations", {}) for name in tools}
    ok(all(hints[n].get("readOnlyHint") is True for n in
           ("list_agents", "get_agent", "list_assignments", "explain_assignment",
            "agent_assignments")),
       "the reading tools are readOnlyHint", hints)
    ok(all(hints[n].get("readOnlyHint") is False for n in
           ("agent_register", "agent_remove", "agent_claim", "agent_heartbeat",
            "agent_complete", "agent_fail", "agent_release")),
       "the others are not", hints)
    ok(hints["agent_fail"].get("destructiveHint") is True and
       hints["agent_remove"].get("destructiveHint") is True and
       hints["agent_claim"].get("destructiveHint") is False,
       "failing and removing are destructive, claiming is not", hints)
    ok(hints["agent_claim"].get("idempotentHint") is False and
       hints["agent_register"].get("idempotentHint") is False and
       hints["agent_complete"].get("idempotentHint") is True,
       "claim and register are not idempotent; fenced calls are", hints)
    claim = tools.get("agent_claim", {}).get("inputSchema", {})
    ok(claim.get("properties", {}).get("wait_seconds", {}).get("maximum") == 60,
       "agent_claim says its wait is capped at 60 s", claim)


def test_register(sid):
    status, rsid, _ = open_session(token=READ_TOKEN)
    msg, _ = tool(rsid, "agent_register", {"name": "r", "capabilities": ["x"]},
                  token=READ_TOKEN)
    ok(is_error(msg) and "read scope" in text_of(msg),
       "a read-scope token can not register an agent", msg)
    msg, _ = tool(rsid, "list_agents", {}, token=READ_TOKEN)
    ok(not is_error(msg) and "agents" in structured(msg),
       "a read-scope token can list agents", msg)
    msg, _ = tool(rsid, "agent_remove", {"agent_id": "agt_0000000000000000"},
                  token=READ_TOKEN)
    ok(is_error(msg) and "read scope" in text_of(msg), "nor remove one", msg)

    for args, why in (({"name": 7, "capabilities": ["x"]}, "a name that is a number"),
                      ({"capabilities": ["x"]}, "no name"),
                      ({"name": "a", "capabilities": "x"}, "capabilities a string"),
                      ({"name": "a", "capabilities": ["x"], "max_assignments": -1},
                       "a negative max_assignments"),
                      ({"name": "a", "capabilities": ["x"], "max_assignments": 5000},
                       "max_assignments over 1024"),
                      ({"name": "a" * 1000, "capabilities": ["x"]}, "a 1000-byte name"),
                      ({"name": "a", "capabilities": [{"name": "x", "proficiency": 7}]},
                       "a proficiency of 7")):
        msg, _ = tool(sid, "agent_register", args)
        ok(is_error(msg) and "error" not in msg, f"agent_register with {why}: a tool error",
           msg)
    msg, _ = tool(sid, "agent_register", {"name": "alice", "capabilities": [
        "review", {"name": "math", "proficiency": 0.9}], "metadata": {"model": "test"}})
    a = structured(msg)
    ok(not is_error(msg) and a.get("id", "").startswith("agt_") and
       a.get("token", "").startswith("arkagt_") and "note" in a,
       "agent_register returns the agent with its token", msg)
    msg, _ = tool(sid, "agent_register", {"name": "bob", "capabilities": ["other"]})
    b = structured(msg)
    ok(b.get("id") and b.get("token"), "a second agent", msg)
    msg, _ = tool(sid, "list_agents", {})
    agents = structured(msg).get("agents", [])
    ok({x.get("id") for x in agents} >= {a.get("id"), b.get("id")} and
       "arkagt_" not in json.dumps(agents), "list_agents has both, without tokens", msg)
    msg, _ = tool(sid, "get_agent", {"agent_id": a.get("id")})
    ok(structured(msg).get("name") == "alice" and "trust" in structured(msg),
       "get_agent: the agent with its trust", msg)
    msg, _ = tool(sid, "get_agent", {"agent_id": "agt_ffffffffffffffff"})
    ok(is_error(msg) and text_of(msg).startswith("not-found"),
       "get_agent of an unknown agent: not found", msg)
    msg, _ = call(sid, "resources/read", {"uri": f"arkitect://agents/{a.get('id')}"}, id=4)
    contents = result(msg).get("contents", [{}])
    ok(json.loads(contents[0].get("text", "{}")).get("name") == "alice",
       "resources/read arkitect://agents/{id}", msg)
    msg, _ = call(sid, "resources/read", {"uri": "arkitect://agents"}, id=4)
    ok(a.get("id") in json.dumps(msg), "resources/read arkitect://agents", msg)
    msg, _ = call(sid, "resources/read", {"uri": "arkitect://agents/../../etc"}, id=4)
    ok(msg.get("error", {}).get("code") == -32002, "a malformed agent URI: -32002", msg)
    return a, b


def test_hostile_identity(sid, a, b):
    aid, atok = a["id"], a["token"]
    for args, why, needle in (
            ({"agent_id": aid}, "no token", "token"),
            ({"agent_id": aid, "token": 42}, "a token that is a number", "token"),
            ({"agent_id": aid, "token": ""}, "an empty token", "token"),
            ({"agent_id": aid, "token": "arkagt_" + "A" * 43}, "a made-up token",
             "permission-denied"),
            ({"agent_id": aid, "token": b["token"]}, "another agent's token",
             "permission-denied"),
            ({"agent_id": b["id"], "token": atok}, "another agent's id", "permission-denied"),
            ({"agent_id": "../x", "token": atok}, "a malformed id", "agent_id"),
            ({"token": atok, "wait_seconds": 61}, "wait_seconds 61", "wait_seconds"),
            ({"token": atok, "wait_seconds": -1}, "wait_seconds -1", "wait_seconds"),
            ({"token": atok, "wait_seconds": "5"}, "wait_seconds a string", "wait_seconds"),
            ({"token": "x" * 100000}, "a 100 KB token", "token")):
        msg, _ = tool(sid, "agent_claim", args)
        ok(is_error(msg) and needle in text_of(msg),
           f"agent_claim with {why}: a tool error", msg)
    msg, _ = tool(sid, "agent_claim", {"token": atok, "wait_seconds": 0})
    ok(not is_error(msg) and structured(msg).get("assignment", 1) is None,
       "agent_claim with nothing offered and no wait: assignment null", msg)
    msg, before = tool(sid, "agent_claim", {"token": atok, "wait_seconds": 1}, id=5,
                       meta={"progressToken": "claim"})
    progress = [m["params"] for m in before if m.get("method") == "notifications/progress"]
    ok(structured(msg).get("assignment", 1) is None and progress and
       progress[0]["progressToken"] == "claim" and progress[0].get("total") == 1,
       "a waiting agent_claim sends progress, then answers null when nothing came", before)


def test_agent_loop(sid, a, b):
    aid, atok = a["id"], a["token"]
    msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "mcp-agents", "tasks": [
        agent_task("answer", "review"),
        {"id": "after", "needs": ["answer"], "run": ["true"]}]}})
    run_id = structured(msg).get("run_id")
    ok(run_id, "a workflow with an agent task is submitted", msg)
    msg, _ = tool(sid, "agent_claim", {"agent_id": b["id"], "token": b["token"],
                                        "wait_seconds": 0})
    ok(structured(msg).get("assignment", 1) is None,
       "an agent without the capability gets nothing", msg)
    msg, _ = tool(sid, "agent_claim", {"agent_id": aid, "token": atok, "wait_seconds": 30})
    asg = structured(msg).get("assignment") or {}
    aid_ = asg.get("id")
    fence = asg.get("fence")
    ok(aid_ and isinstance(fence, int) and asg.get("run_id") == run_id and
       asg.get("input") == {"question": "2+2?"},
       "agent_claim: the assignment with its input and fence", msg)
    msg, _ = tool(sid, "agent_assignments", {"token": atok})
    ok(any(x.get("id") == aid_ and x.get("fence") == fence
           for x in structured(msg).get("assignments", [])),
       "agent_assignments: its own, with the fence", msg)
    msg, _ = tool(sid, "list_assignments", {})
    ok(any(x.get("id") == aid_ for x in structured(msg).get("assignments", [])) and
       "fence" not in json.dumps(structured(msg)),
       "list_assignments: a supervisor's view, without fences", msg)
    msg, _ = tool(sid, "explain_assignment", {"assignment_id": aid_})
    ok(not is_error(msg) and "choice" in structured(msg) and "history" in structured(msg) and
       "fence" not in structured(msg), "explain_assignment: the choice and the history", msg)

    for fence_arg, why in ((-1, "a negative fence"), (1.5, "a fractional fence"),
                           ("1", "a fence that is a string"), (None, "no fence"),
                           (2 ** 63, "a fence beyond 2^53")):
        args = {"token": atok, "assignment_id": aid_, "progress": {"p": 1}}
        if fence_arg is not None:
            args["fence"] = fence_arg
        msg, _ = tool(sid, "agent_heartbeat", args)
        ok(is_error(msg) and "fence" in text_of(msg),
           f"agent_heartbeat with {why}: a tool error", msg)
    msg, _ = tool(sid, "agent_heartbeat", {"token": atok, "assignment_id": aid_,
                                            "fence": fence, "progress": {"done": 0.5}})
    ok(not is_error(msg) and structured(msg).get("state"),
       "agent_heartbeat renews the lease with progress", msg)
    msg, _ = tool(sid, "agent_heartbeat", {"token": atok, "assignment_id": aid_,
                                            "fence": fence + 1})
    ok(is_error(msg) and text_of(msg).startswith("conflict"),
       "agent_heartbeat with another fence: conflict", msg)
    msg, _ = tool(sid, "agent_heartbeat", {"token": atok, "fence": fence})
    ok(is_error(msg) and "assignment_id" in text_of(msg),
       "a fence without an assignment_id: a tool error", msg)
    msg, _ = tool(sid, "agent_heartbeat", {"token": atok, "assignment_id": aid_,
                                            "fence": fence, "progress": "p" * 20000})
    ok(is_error(msg) and "progress" in text_of(msg), "progress over 16 KiB: a tool error", msg)
    msg, _ = tool(sid, "agent_heartbeat", {"token": atok})
    ok(not is_error(msg) and structured(msg).get("state") == "online",
       "agent_heartbeat alone: the agent is online", msg)

    msg, _ = tool(sid, "agent_complete", {"token": atok, "assignment_id": aid_,
                                           "fence": fence})
    ok(is_error(msg) and "result" in text_of(msg), "agent_complete without a result", msg)
    huge = {"blob": "r" * (2 << 20)}
    msg, _ = tool(sid, "agent_complete", {"token": atok, "assignment_id": aid_,
                                           "fence": fence, "result": huge})
    ok(is_error(msg) and "1048576" in text_of(msg), "a 2 MiB result: a tool error naming the "
       "limit", text_of(msg)[:300])
    msg, _ = tool(sid, "agent_complete", {"agent_id": b["id"], "token": b["token"],
                                           "assignment_id": aid_, "fence": fence,
                                           "result": 4})
    ok(is_error(msg) and (text_of(msg).startswith("permission-denied") or
                          text_of(msg).startswith("conflict")),
       "another agent can not complete it", msg)
    msg, _ = tool(sid, "agent_complete", {"token": atok, "assignment_id": aid_,
                                           "fence": fence + 5, "result": 4})
    ok(is_error(msg) and text_of(msg).startswith("conflict"), "a stale fence: conflict", msg)
    msg, _ = tool(sid, "agent_complete", {"token": atok, "assignment_id": aid_,
                                           "fence": fence, "result": {"answer": 4}})
    ok(not is_error(msg) and structured(msg).get("state") in ("completed", "checking"),
       "agent_complete with the right fence", msg)
    msg, _ = tool(sid, "agent_complete", {"token": atok, "assignment_id": aid_,
                                           "fence": fence, "result": {"answer": 4}})
    ok(is_error(msg) and text_of(msg).startswith("conflict"), "a second completion: conflict",
       msg)
    msg, _ = tool(sid, "wait_for_run", {"run_id": run_id, "timeout_seconds": 60})
    ok(structured(msg).get("state") == "succeeded",
       "the run succeeds, the task after the agent task included", msg)

    # release, then fail
    msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "mcp-agents-2", "tasks": [
        agent_task("answer", "review")]}})
    run2 = structured(msg).get("run_id")
    msg, _ = tool(sid, "agent_claim", {"token": atok, "wait_seconds": 30})
    first = structured(msg).get("assignment") or {}
    msg, _ = tool(sid, "agent_release", {"token": atok, "assignment_id": first.get("id"),
                                          "fence": first.get("fence"), "reason": "later"})
    ok(not is_error(msg) and structured(msg).get("state") == "released", "agent_release", msg)
    msg, _ = tool(sid, "agent_claim", {"token": atok, "wait_seconds": 30})
    second = structured(msg).get("assignment") or {}
    ok(second.get("id") and second.get("fence") != first.get("fence"),
       "the released piece comes back with a new fence", msg)
    msg, _ = tool(sid, "agent_fail", {"token": atok, "assignment_id": second.get("id"),
                                       "fence": second.get("fence")})
    ok(is_error(msg) and "reason" in text_of(msg), "agent_fail without a reason", msg)
    msg, _ = tool(sid, "agent_fail", {"token": atok, "assignment_id": second.get("id"),
                                       "fence": second.get("fence"), "reason": "r" * 5000})
    ok(is_error(msg) and "reason" in text_of(msg), "a reason over 4096 bytes", msg)
    msg, _ = tool(sid, "agent_fail", {"token": atok, "assignment_id": second.get("id"),
                                       "fence": second.get("fence"),
                                       "reason": "can not do math"})
    ok(not is_error(msg), "agent_fail with a reason", msg)
    msg, _ = tool(sid, "wait_for_run", {"run_id": run2, "timeout_seconds": 60})
    ok(structured(msg).get("state") == "failed", "the failed piece fails the run", msg)

    records = D.audit()
    mine = [r for r in records if r.get("actor") == aid]
    ok(any(r.get("action") == "assignment.complete" and r.get("target") == aid_ and
           r.get("result") == "ok" for r in mine) and
       any(r.get("action") == "assignment.release" for r in mine) and
       any(r.get("action") == "assignment.fail" for r in mine), "the agent's calls are audited with the agent as actor", mine)
    ok(any(r.get("action") == "agent.register" and r.get("target") == aid for r in records),
       "the registration is audited", records[:6])


def test_agent_session(sid, a, b):
    """a session opened with the agent's own bearer token"""
    aid, atok = a["id"], a["token"]
    status, asid, text = open_session(token=atok)
    init = json.loads(text) if status == 200 else {}
    ok(status == 200 and asid, "an agent's token opens an MCP session", f"{status} {text}")
    caps = init.get("result", {}).get("capabilities", {})
    ok("tools" in caps and "resources" not in caps and "prompts" not in caps and
       aid in init.get("result", {}).get("instructions", ""),
       "it declares tools only, and tells the agent who it is", init)
    msg, _ = call(asid, "tools/list", {}, token=atok, id=3)
    names = sorted(t["name"] for t in result(msg).get("tools", []))
    ok(names == sorted(AGENT_TOOLS), "tools/list has the agent tools only", names)
    msg, _ = tool(asid, "submit_workflow", {"workflow": {"name": "x", "tasks": [
        {"id": "a", "run": ["true"]}]}}, token=atok)
    ok(is_error(msg) and "only the agent tools" in text_of(msg),
       "an agent session can not call submit_workflow", msg)
    msg, _ = tool(asid, "list_agents", {}, token=atok)
    ok(is_error(msg), "nor a supervisor's tool", msg)
    msg, _ = tool(asid, "agent_register", {"name": "x", "capabilities": ["y"]}, token=atok)
    ok(is_error(msg), "nor register agents", msg)
    for method, params in (("resources/list", {}), ("resources/read",
                                                   {"uri": "arkitect://status"}),
                           ("prompts/list", {}), ("completion/complete", {})):
        msg, _ = call(asid, method, params, token=atok, id=6)
        ok(msg.get("error", {}).get("code") == -32601, f"{method}: -32601", msg)
    msg, _ = tool(asid, "agent_heartbeat", {}, token=atok)
    ok(not is_error(msg) and structured(msg).get("state") == "online",
       "agent_heartbeat without agent_id or token acts for the session's agent", msg)
    msg, _ = tool(asid, "agent_claim", {"agent_id": b["id"], "wait_seconds": 0}, token=atok)
    ok(is_error(msg) and "permission-denied" in text_of(msg),
       "it can not act for another agent", msg)
    msg, _ = tool(asid, "agent_claim", {"token": b["token"], "wait_seconds": 0}, token=atok)
    ok(is_error(msg) and "permission-denied" in text_of(msg),
       "not even with the other agent's token", msg)
    msg, _ = call(asid, "ping", None, token="admin", id=8)
    ok(msg.get("http") == 404, "the agent's session is not the admin token's", msg)
    msg, _ = call(sid, "ping", None, token=atok, id=8)
    ok(msg.get("http") == 404, "nor the other way round", msg)

    # the whole loop in the agent's session
    msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "mcp-agents-3", "tasks": [
        agent_task("answer", "review")]}})
    run_id = structured(msg).get("run_id")
    msg, _ = tool(asid, "agent_claim", {"wait_seconds": 30}, token=atok)
    asg = structured(msg).get("assignment") or {}
    ok(asg.get("run_id") == run_id, "agent_claim in the agent's session", msg)
    msg, _ = tool(asid, "agent_complete", {"assignment_id": asg.get("id"),
                                            "fence": asg.get("fence"), "result": [1, 2]},
                  token=atok)
    ok(not is_error(msg), "agent_complete in the agent's session", msg)
    msg, _ = tool(sid, "wait_for_run", {"run_id": run_id, "timeout_seconds": 60})
    ok(structured(msg).get("state") == "succeeded", "and the run succeeds", msg)
    request("DELETE", session=asid, token=atok)
    return asid


def stdio_session(args, env=None):
    """an `arkitect mcp` process and a function that sends one request and reads its answer"""
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.Popen([ARKITECT, "mcp"] + args, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)

    def rpc(id, method, params):
        proc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": id, "method": method,
                                      "params": params}) + "\n").encode())
        proc.stdin.flush()
        while True:
            line = proc.stdout.readline()
            if not line:
                return {}
            msg = json.loads(line)
            if msg.get("id") == id:
                return msg
    return proc, rpc


def test_stdio_bridge(sid, a):
    """what an assistant's configuration starts: `arkitect mcp --url URL --token-file FILE`
    with the agent's token, bridged to the daemon's /mcp"""
    token_file = os.path.join(WORK, "agent.token")
    with open(token_file, "w") as f:
        f.write(a["token"] + "\n")
    os.chmod(token_file, 0o600)
    proc, rpc = stdio_session(["--url", f"http://{D.host}:{D.port}", "--token-file",
                               token_file])
    try:
        msg = rpc(1, "initialize", INIT["params"])
        ok(a["id"] in result(msg).get("instructions", ""),
           "stdio bridge with the agent's token: the session is the agent's", msg)
        msg = rpc(2, "tools/list", {})
        names = sorted(t["name"] for t in result(msg).get("tools", []))
        ok(names == sorted(AGENT_TOOLS), "stdio bridge: the agent tools only", names)
        msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "bridged", "tasks": [
            agent_task("answer", "review")]}})
        run_id = structured(msg).get("run_id")
        msg = rpc(3, "tools/call", {"name": "agent_claim", "arguments": {"wait_seconds": 30}})
        asg = structured(msg).get("assignment") or {}
        ok(asg.get("run_id") == run_id, "stdio bridge: agent_claim", msg)
        msg = rpc(4, "tools/call", {"name": "agent_complete", "arguments": {
            "assignment_id": asg.get("id"), "fence": asg.get("fence"), "result": {"a": 4}}})
        ok(not is_error(msg), "stdio bridge: agent_complete", msg)
        msg, _ = tool(sid, "wait_for_run", {"run_id": run_id, "timeout_seconds": 60})
        ok(structured(msg).get("state") == "succeeded", "stdio bridge: the run succeeds", msg)
        msg = rpc(5, "tools/call", {"name": "cancel_run", "arguments": {"run_id": run_id}})
        ok(is_error(msg) and "only the agent tools" in text_of(msg),
           "stdio bridge: the agent can not cancel runs", msg)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def offered_to(sid, agent_id):
    msg, _ = tool(sid, "list_assignments", {"agent_id": agent_id}, id=40)
    return [x for x in structured(msg).get("assignments", []) if x.get("state") == "offered"]


def cancel_then_offer(sid, a, how):
    """a claim waits in a session; @how ends it; work submitted afterwards stays offered and
    goes to the next claim"""
    aid, atok = a["id"], a["token"]
    csid = sid
    if how == "delete":
        status, csid, _ = open_session()
    sock = raw_post(csid, {"jsonrpc": "2.0", "id": 90, "method": "tools/call",
                           "params": {"name": "agent_claim",
                                      "arguments": {"token": atok, "wait_seconds": 60},
                                      "_meta": {"progressToken": "c"}}})
    got = read_until(sock, b"notifications/progress")
    ok(b"notifications/progress" in got, f"{how}: the waiting claim streams its first progress",
       got[-300:])
    if how == "cancel":
        status, _, text = request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                           "params": {"requestId": 90, "reason": "test"}},
                                  session=csid)
        ok(status == 202, "notifications/cancelled: 202", f"{status} {text}")
    else:
        status, _, text = request("DELETE", session=csid)
        ok(status == 200, "DELETE of the session with a claim waiting: 200", f"{status} {text}")
    got += read_until(sock, b"0\r\n\r\n", timeout=20)
    sock.close()
    ok(b'"id":90' not in got, f"{how}: the claim is not answered", got[-300:])
    msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": f"after-{how}", "tasks": [
        agent_task("answer", "review")]}})
    run_id = structured(msg).get("run_id")
    ok(wait_for(lambda: offered_to(sid, aid), 30), f"{how}: the new work is offered to the agent")
    time.sleep(0.5)
    ok(offered_to(sid, aid), f"{how}: the ended claim did not take it: it stays offered",
       offered_to(sid, aid))
    msg, _ = tool(sid, "agent_claim", {"token": atok, "wait_seconds": 30})
    asg = structured(msg).get("assignment") or {}
    ok(asg.get("run_id") == run_id, f"{how}: the next claim gets it", msg)
    tool(sid, "agent_complete", {"token": atok, "assignment_id": asg.get("id"),
                                  "fence": asg.get("fence"), "result": True})
    msg, _ = tool(sid, "wait_for_run", {"run_id": run_id, "timeout_seconds": 60})
    ok(structured(msg).get("state") == "succeeded", f"{how}: and the run succeeds", msg)


def test_cancelled_claim(sid, a):
    """notifications/cancelled and DELETE end a waiting agent_claim: nothing is handed out"""
    cancel_then_offer(sid, a, "cancel")
    cancel_then_offer(sid, a, "delete")
    ok(D.alive(), "the daemon serves on")


def test_remove(sid, b):
    msg, _ = tool(sid, "agent_remove", {"agent_id": b["id"]})
    ok(not is_error(msg) and structured(msg).get("removed") is True, "agent_remove", msg)
    msg, _ = tool(sid, "agent_heartbeat", {"token": b["token"]})
    ok(is_error(msg) and "permission-denied" in text_of(msg),
       "a removed agent's token stops working", msg)
    msg, _ = tool(sid, "agent_remove", {"agent_id": b["id"]})
    ok(is_error(msg) and "not" in text_of(msg), "agent_remove of an unknown agent", msg)


def test_stdio():
    """the same tools over stdio, with an embedded engine"""
    proc, rpc = stdio_session(["--ephemeral"])
    try:
        rpc(1, "initialize", INIT["params"])
        msg = rpc(2, "tools/call", {"name": "agent_register", "arguments": {
            "name": "stdio-agent", "capabilities": ["review"]}})
        agent = structured(msg)
        ok(agent.get("token", "").startswith("arkagt_"), "stdio: agent_register", msg)
        msg = rpc(3, "tools/call", {"name": "submit_workflow", "arguments": {"workflow": {
            "name": "stdio", "tasks": [agent_task("answer", "review")]}}})
        run_id = structured(msg).get("run_id")
        msg = rpc(4, "tools/call", {"name": "agent_claim", "arguments": {
            "agent_id": agent.get("id"), "token": agent.get("token"), "wait_seconds": 30}})
        asg = structured(msg).get("assignment") or {}
        ok(asg.get("run_id") == run_id, "stdio: agent_claim", msg)
        msg = rpc(5, "tools/call", {"name": "agent_complete", "arguments": {
            "token": agent.get("token"), "assignment_id": asg.get("id"),
            "fence": asg.get("fence"), "result": "4"}})
        ok(not is_error(msg), "stdio: agent_complete", msg)
        msg = rpc(6, "tools/call", {"name": "wait_for_run", "arguments": {
            "run_id": run_id, "timeout_seconds": 60}})
        ok(structured(msg).get("state") == "succeeded", "stdio: the run succeeds", msg)
        # a claim waiting when the client goes away (EOF)
        proc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                                      "params": {"name": "agent_claim", "arguments": {
                                          "token": agent.get("token"),
                                          "wait_seconds": 60}}}) + "\n").encode())
        proc.stdin.close()
        rc = proc.wait(timeout=120)
        ok(rc == 0, "stdio: exits 0 on EOF with a claim waiting",
           proc.stderr.read().decode()[-1000:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    global D
    D = Daemon()
    try:
        status, sid, text = open_session()
        ok(status == 200 and sid, "initialize", text)
        test_listing(sid)
        a, b = test_register(sid)
        test_hostile_identity(sid, a, b)
        test_agent_loop(sid, a, b)
        test_agent_session(sid, a, b)
        test_stdio_bridge(sid, a)
        test_cancelled_claim(sid, a)
        test_remove(sid, b)
        ok(D.alive(), "the daemon is still running")
    finally:
        D.stop()
    ok(D.proc.returncode == 0, "the daemon stops cleanly",
       open(os.path.join(WORK, "state.log")).read()[-2000:])
    test_stdio()
    print(f"1..{n_test}")
    if failed == 0:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print(f"# logs kept in {WORK}")
    sys.exit(1 if failed else 0)


main()
