#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The MCP server of arkitectd as a process, with raw HTTP and raw stdio (standard library only):

- protocol abuse: malformed JSON, wrong types, unknown methods, batches, huge messages, requests
  before initialize, an unknown or missing session id, a bad Origin or Host, a wrong protocol
  version header, a read-scope token calling a mutating tool, a client hanging up mid-stream;
  each gets its JSON-RPC error or HTTP status, and the daemon goes on serving other sessions;
- exact id echoing (7 stays 7, "7" stays "7");
- SSE resumption with Last-Event-ID after a client hung up before the answer;
- MCP tasks: a task-augmented tools/call, tasks/get, tasks/result (blocking), tasks/list,
  tasks/cancel of a working and of a finished task;
- resource subscriptions: notifications/resources/updated on the GET stream;
- stdio (arkitect mcp): only JSON lines on stdout, errors for bad lines, exit on EOF.

Usage: mcp-protocol-test.py ARKITECTD ARKITECT   (ARK_PLUGIN_DIR set, as meson test does). TAP.
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
import threading
import time

ARKITECTD = sys.argv[1]
ARKITECT = sys.argv[2]
WORK = tempfile.mkdtemp(prefix="ark-mcp-protocol-test-")
n_test = 0
failed = 0
READ_TOKEN = "read-token-for-the-mcp-test-0123456789"


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


class Daemon:
    def __init__(self, name="state", mcp_conf="max-message-size=64K\n"
                 "allowed-origins=https://ok.example\n"):
        self.state = os.path.join(WORK, name)
        conf = os.path.join(WORK, name + ".conf")
        digest = hashlib.sha256(READ_TOKEN.encode()).hexdigest()
        with open(conf, "w") as f:
            f.write("[daemon]\nstore=memory\n[frontend-http]\nlisten=127.0.0.1:0\n"
                    f"token.reader=read:{digest}\n[frontend-mcp]\n{mcp_conf}")
        self.log = open(os.path.join(WORK, name + ".log"), "w")
        self.proc = subprocess.Popen([ARKITECTD, "-c", conf, "-s", self.state],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        url_file = os.path.join(self.state, "http.url")
        for _ in range(100):
            if os.path.exists(url_file) and open(url_file).read().strip():
                break
            time.sleep(0.1)
        url = open(url_file).read().strip()
        self.host, self.port = url[len("http://"):].rsplit(":", 1)
        self.port = int(self.port)
        self.token = open(os.path.join(self.state, "api-token")).read().strip()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


D = None


def request(method, body=None, session=None, headers=None, token="admin", raw=None,
            timeout=30):
    """one HTTP exchange with /mcp: (status, headers, body text)"""
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
    """the JSON messages of an SSE body"""
    out = []
    for block in text.split("\n\n"):
        data = [line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")]
        if data and "".join(data):
            out.append(json.loads("".join(data)))
    return out


def answer(text, headers):
    """the one response of a POST (JSON or SSE) and what came before it"""
    if headers.get("content-type", "").startswith("text/event-stream"):
        msgs = sse_messages(text)
        return msgs[-1], msgs[:-1]
    return json.loads(text), []


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "mcp-protocol-test", "version": "1"}}}


def open_session(token="admin"):
    status, headers, text = request("POST", INIT, token=token)
    sid = headers.get("mcp-session-id")
    request("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"}, session=sid,
            token=token)
    return status, sid, text


def call(sid, method, params=None, id=2, token="admin"):
    body = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        body["params"] = params
    status, headers, text = request("POST", body, session=sid, token=token)
    if status != 200:
        return status, {"http": status, "text": text}, []
    msg, before = answer(text, headers)
    return status, msg, before


def tool(sid, name, args=None, id=2, token="admin", meta=None, task=None):
    params = {"name": name, "arguments": args or {}}
    if meta:
        params["_meta"] = meta
    if task:
        params["task"] = task
    return call(sid, "tools/call", params, id=id, token=token)


def test_http_abuse():
    status, _, text = request("POST", INIT, token=None)
    ok(status == 401, "no token: 401", text)
    status, _, text = request("POST", INIT, headers={"Origin": "http://evil.example.com"})
    ok(status == 403 and "Origin" in text, "bad Origin: 403", f"{status} {text}")
    status, _, text = request("POST", INIT, headers={"Host": "evil.example.com",
                                                     "Origin": "http://evil.example.com"})
    ok(status == 403, "DNS rebinding (Host and Origin evil.example.com): 403", f"{status} {text}")
    status, headers, text = request("POST", INIT, headers={"Origin": "https://ok.example"})
    ok(status == 200, "an allowed-origins Origin is accepted", f"{status} {text}")

    status, sid, text = open_session()
    ok(status == 200 and sid and len(sid) == 64 and all(c in "0123456789abcdef" for c in sid),
       "initialize: 200 with a 256-bit hex Mcp-Session-Id", f"{status} {sid} {text}")
    ok(json.loads(text)["result"]["protocolVersion"] == "2025-11-25", "version 2025-11-25")
    status, _, text = request("POST", {**INIT, "params": {**INIT["params"],
                                                          "protocolVersion": "1999-01-01"}})
    ok(status == 200 and json.loads(text)["result"]["protocolVersion"] == "2025-11-25",
       "an unknown protocolVersion is answered with the latest", text)
    status, _, text = request("POST", {**INIT, "params": {**INIT["params"],
                                                          "protocolVersion": "2025-03-26"}})
    ok(status == 200 and json.loads(text)["result"]["protocolVersion"] == "2025-03-26",
       "2025-03-26 is negotiated down to", text)

    status, _, text = request("POST", raw="{not json", session=sid)
    ok(status == 400 and json.loads(text)["error"]["code"] == -32700,
       "malformed JSON: 400 -32700", f"{status} {text}")
    status, _, text = request("POST", raw='{"jsonrpc":"2.0","id":1,"method":"ping"} trailing',
                              session=sid)
    ok(status == 400 and json.loads(text)["error"]["code"] == -32700,
       "trailing garbage: 400 -32700", f"{status} {text}")
    status, _, text = request("POST", raw='{"jsonrpc":"2.0",/*c*/"id":1,"method":"ping"}',
                              session=sid)
    ok(status == 400 and json.loads(text)["error"]["code"] == -32700,
       "a comment (json-glib would take it): 400 -32700", f"{status} {text}")
    deep = "[" * 200 + "]" * 200
    status, _, text = request("POST", raw=deep, session=sid)
    ok(status == 400 and json.loads(text)["error"]["code"] == -32700,
       "nesting 200 deep: 400 -32700", f"{status} {text}")
    status, _, text = request("POST", [{"jsonrpc": "2.0", "id": 1, "method": "ping"}],
                              session=sid)
    ok(status == 400 and json.loads(text)["error"]["code"] == -32600,
       "a batch: 400 -32600", f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
                              session=sid)
    ok(status == 400 and json.loads(text)["error"]["code"] == -32600,
       "an object id: 400 -32600", f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "1.0", "id": 1, "method": "ping"},
                              session=sid)
    ok(status == 400 and json.loads(text)["error"]["code"] == -32600,
       'jsonrpc "1.0": -32600', f"{status} {text}")
    status, msg, _ = call(sid, "tools/list", [1, 2], id=3)
    ok(msg.get("error", {}).get("code") == -32602 and msg["id"] == 3,
       "params an array: -32602 with the id", msg)
    status, msg, _ = call(sid, "no/such/method", {}, id="abc")
    ok(msg.get("error", {}).get("code") == -32601 and msg["id"] == "abc",
       "unknown method: -32601, string id echoed", msg)
    status, msg, _ = call(sid, "ping", None, id=7)
    ok(msg.get("result") == {} and msg["id"] == 7 and isinstance(msg["id"], int),
       "ping: {} with the numeric id 7", msg)
    status, msg, _ = call(sid, "ping", None, id="7")
    ok(msg["id"] == "7", 'the string id "7" stays a string', msg)
    status, msg, _ = call(sid, "ping", None, id=9007199254740993)
    ok(msg["id"] == 9007199254740993, "an id above 2^53 is echoed exactly", msg)
    status, msg, _ = call(sid, "tools/call", {"name": "no_such_tool"})
    ok(msg.get("error", {}).get("code") == -32602, "unknown tool: -32602", msg)
    status, msg, _ = call(sid, "tools/call", {"name": "get_status", "arguments": "x"})
    ok(msg.get("error", {}).get("code") == -32602, "arguments not an object: -32602", msg)
    status, msg, _ = tool(sid, "get_run", {"run_id": 42})
    ok(msg["result"].get("isError") is True and "run_id" in msg["result"]["content"][0]["text"],
       "a wrong argument type: a tool error naming it", msg)
    status, msg, _ = call(sid, "resources/list", {"cursor": "bm90LWEtY3Vyc29y"})
    ok(msg.get("error", {}).get("code") == -32602, "an invalid cursor: -32602", msg)
    status, msg, _ = call(sid, "resources/read", {"uri": "arkitect://runs/NOPE"})
    ok(msg.get("error", {}).get("code") == -32002, "an unknown resource: -32002", msg)
    status, msg, _ = call(sid, "logging/setLevel", {"level": "loud"})
    ok(msg.get("error", {}).get("code") == -32602, "an invalid log level: -32602", msg)
    status, _, text = request("POST", {"jsonrpc": "2.0", "method": "notifications/whatever"},
                              session=sid)
    ok(status == 202 and text == "", "a notification: 202, no body", f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "2.0", "id": 99, "result": {}}, session=sid)
    ok(status == 202, "a response nobody asked for: 202", f"{status} {text}")

    status, _, text = request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"})
    ok(status == 400, "no Mcp-Session-Id after initialize: 400", f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              session="0" * 64)
    ok(status == 404, "an unknown session: 404", f"{status} {text}")
    status, _, text = request("GET", session="f" * 64, headers={"Accept": "text/event-stream"})
    ok(status == 404, "GET on an unknown session: 404", f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              session=sid, headers={"MCP-Protocol-Version": "1999-01-01"})
    ok(status == 400 and "1999-01-01" in text, "an unsupported MCP-Protocol-Version: 400",
       f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              session=sid, headers={"MCP-Protocol-Version": "2025-03-26"})
    ok(status == 200, "any supported MCP-Protocol-Version is accepted", f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              session=sid, headers={"Content-Type": "text/plain"})
    ok(status == 415, "a body that is not application/json: 415", f"{status} {text}")
    status, _, text = request("PUT", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, session=sid)
    ok(status == 405, "PUT: 405", f"{status} {text}")
    huge = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping",
                       "params": {"x": "a" * 100000}})
    status, _, text = request("POST", raw=huge, session=sid)
    ok(status == 413, "a message over max-message-size: 413", f"{status} {text}")

    # another token's session is not this one's
    status, msg, _ = call(sid, "ping", None, token=READ_TOKEN)
    ok(msg.get("http") == 404, "a session is bound to its token", msg)
    status, rsid, _ = open_session(token=READ_TOKEN)
    status, msg, _ = tool(rsid, "cancel_run", {"run_id": "X"}, token=READ_TOKEN)
    ok(msg["result"].get("isError") and "read scope" in msg["result"]["content"][0]["text"],
       "a read-scope token can not call a mutating tool", msg)
    status, msg, _ = tool(rsid, "get_status", {}, token=READ_TOKEN)
    ok(not msg["result"].get("isError") and msg["result"]["structuredContent"]["state"] ==
       "running", "a read-scope token can call a read-only tool", msg)

    status, msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "bad", "tasks": [
        {"id": "a", "needs": ["nope"], "run": ["true"]}]}})
    text = msg["result"]["content"][0]["text"]
    ok(msg["result"].get("isError") and "nope" in text and "problem" in text,
       "an invalid workflow: a tool error listing the validator's problems", msg)
    return sid


def test_before_initialize():
    # a fresh session is created only by initialize; over stdio a request can come first
    proc = subprocess.Popen([ARKITECT, "mcp", "--ephemeral"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"},
        {**INIT, "id": 10},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
    ]
    data = "".join(json.dumps(m) + "\n" for m in lines)
    data += "not json\n" + "\xff\xfe\n" + json.dumps({"jsonrpc": "2.0", "id": 4, "method": "x",
                                                    "params": {"p": "a" * (5 << 20)}}) + "\n"
    data += '{"jsonrpc":"2.0","id":5,"method":"ping"}\r\n'
    start = time.monotonic()
    out, err = proc.communicate(data.encode("utf-8", "surrogateescape").replace(
        "\xff\xfe".encode("utf-8"), b"\xff\xfe"), timeout=60)
    took = time.monotonic() - start
    ok(proc.returncode == 0 and took < 30, "stdio: exits 0 on EOF", f"{proc.returncode} {err}")
    msgs = []
    bad = []
    for line in out.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        try:
            msgs.append(json.loads(line))
        except ValueError:
            bad.append(line)
    ok(not bad, "stdio: nothing but JSON lines on stdout", bad)
    by_id = {m.get("id"): m for m in msgs if "id" in m}
    ok(by_id.get(1, {}).get("error", {}).get("code") == -32600,
       "stdio: a request before initialize: -32600", by_id.get(1))
    ok(by_id.get(2, {}).get("result") == {}, "stdio: ping before initialize is answered")
    ok(len(by_id.get(3, {}).get("result", {}).get("tools", [])) >= 14,
       "stdio: tools/list after initialize", by_id.get(3))
    errors = [m["error"]["code"] for m in msgs if m.get("id") is None and "error" in m]
    ok(errors.count(-32700) == 2, "stdio: bad JSON and bad UTF-8 lines: -32700 each", errors)
    ok(-32600 in errors, "stdio: a line over max-message-size: -32600", errors)
    ok(by_id.get(5, {}).get("result") == {}, "stdio: CRLF lines are read", by_id.get(5))
    ok(b"MCP server on stdio" in err, "stdio: logs go to stderr", err[-400:])


def test_disconnect_and_resume(sid):
    # a run that takes a while, waited for by a call whose client hangs up
    status, msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "slow", "tasks": [
        {"id": "sleep", "run": ["sleep", "30"]}]}})
    run_id = msg["result"]["structuredContent"]["run_id"]
    sock = socket.create_connection((D.host, D.port), timeout=10)
    body = json.dumps({"jsonrpc": "2.0", "id": 50, "method": "tools/call",
                       "params": {"name": "wait_for_run", "arguments": {"run_id": run_id},
                                  "_meta": {"progressToken": "w"}}})
    sock.sendall((f"POST /mcp HTTP/1.1\r\nHost: {D.host}:{D.port}\r\n"
                  f"Authorization: Bearer {D.token}\r\nMcp-Session-Id: {sid}\r\n"
                  "Content-Type: application/json\r\n"
                  "Accept: application/json, text/event-stream\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
    got = b""
    while b"progress" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    ok(b"text/event-stream" in got and b"id: " in got and b"retry:" in got,
       "a waiting call streams SSE with a priming event", got[:400])
    stream = None
    for line in got.decode().split("\n"):
        if line.startswith("id: ") and line.endswith("-0"):
            stream = line[4:].split("-")[0]
    sock.close()  # the client goes away mid-stream
    time.sleep(0.5)
    status, msg, _ = call(sid, "ping", None, id=51)
    ok(msg.get("result") == {} and D.alive(), "after a client hung up, the daemon serves on")
    status, other, _ = open_session()
    status, msg, _ = call(other, "ping", None, id=1)
    ok(msg.get("result") == {}, "another session is served")
    # the call went on: cancelling the run answers it, and a GET with Last-Event-ID resumes
    status, msg, _ = tool(sid, "cancel_run", {"run_id": run_id, "reason": "test"}, id=52)
    ok(msg["result"]["structuredContent"]["run"]["state"] in ("cancelled", "running"),
       "cancel_run", msg)
    time.sleep(1)
    status, headers, text = request("GET", session=sid, timeout=10,
                                    headers={"Accept": "text/event-stream",
                                             "Last-Event-ID": f"{stream}-0"})
    msgs = sse_messages(text)
    final = [m for m in msgs if m.get("id") == 50]
    ok(status == 200 and final and final[0]["result"]["structuredContent"]["state"] ==
       "cancelled", "GET with Last-Event-ID replays the stream up to the answer",
       f"{status} {text[:600]}")


def test_cancelled(sid):
    """notifications/cancelled ends a waiting call without an answer; logging on failures"""
    status, msg, _ = call(sid, "logging/setLevel", {"level": "info"}, id=78)
    ok(msg.get("result") == {}, "logging/setLevel info", msg)
    status, msg, before = tool(sid, "submit_workflow", {"workflow": {"name": "fails", "tasks": [
        {"id": "bad", "run": ["false"]}]}, "wait": True}, id=79)
    logs = [m["params"] for m in before if m.get("method") == "notifications/message"]
    ok(msg["result"]["structuredContent"]["state"] == "failed" and logs and
       logs[0]["level"] == "warning" and "bad" in logs[0]["data"],
       "a failing task is logged as notifications/message to a waiting call", before)
    status, msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "slow2", "tasks": [
        {"id": "sleep", "run": ["sleep", "30"]}]}}, id=80)
    run_id = msg["result"]["structuredContent"]["run_id"]
    sock = socket.create_connection((D.host, D.port), timeout=10)
    body = json.dumps({"jsonrpc": "2.0", "id": 81, "method": "tools/call",
                       "params": {"name": "wait_for_run", "arguments": {"run_id": run_id}}})
    sock.sendall((f"POST /mcp HTTP/1.1\r\nHost: {D.host}:{D.port}\r\n"
                  f"Authorization: Bearer {D.token}\r\nMcp-Session-Id: {sid}\r\n"
                  "Content-Type: application/json\r\n"
                  "Accept: application/json, text/event-stream\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
    got = b""
    while b"retry:" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    status, _, text = request("POST", {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                       "params": {"requestId": 81, "reason": "test"}},
                              session=sid)
    ok(status == 202, "notifications/cancelled: 202", f"{status} {text}")
    sock.settimeout(10)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
            if got.endswith(b"0\r\n\r\n"):
                break
    except socket.timeout:
        pass
    sock.close()
    ok(b'"id":81' not in got and got.endswith(b"0\r\n\r\n"),
       "the cancelled call's stream ends without an answer", got[-300:])
    tool(sid, "cancel_run", {"run_id": run_id}, id=82)


def test_subscription_and_tasks(sid):
    status, msg, _ = call(sid, "resources/subscribe", {"uri": "arkitect://events"}, id=60)
    ok(msg.get("result") == {}, "resources/subscribe", msg)
    # the GET stream carries notifications/resources/updated
    got = []

    def listen():
        try:
            conn = http.client.HTTPConnection(D.host, D.port, timeout=10)
            conn.request("GET", "/mcp", headers={"Authorization": f"Bearer {D.token}",
                                                 "Mcp-Session-Id": sid,
                                                 "Accept": "text/event-stream"})
            resp = conn.getresponse()
            buf = b""
            while b"resources/updated" not in buf:
                chunk = resp.fp.read1(4096) if hasattr(resp.fp, "read1") else resp.read(1)
                if not chunk:
                    break
                buf += chunk
            got.append(buf)
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported below
            got.append(str(e).encode())

    t = threading.Thread(target=listen)
    t.start()
    time.sleep(0.5)
    status, msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "quick", "tasks": [
        {"id": "a", "run": ["true"]}]}}, id=61)
    t.join(15)
    ok(got and b"notifications/resources/updated" in got[0] and b"arkitect://events" in got[0],
       "notifications/resources/updated arrives on the GET stream", got)

    status, msg, before = tool(sid, "submit_workflow", {"workflow": {"name": "two", "tasks": [
        {"id": "a", "run": ["true"]}, {"id": "b", "needs": ["a"], "run": ["true"]}]},
        "wait": True}, id=61, meta={"progressToken": "t"})
    progress = [m["params"] for m in before if m.get("method") == "notifications/progress"]
    ok(msg["result"]["structuredContent"]["state"] == "succeeded" and progress and
       all(p["progressToken"] == "t" for p in progress) and
       progress[-1]["progress"] == 2 and progress[-1]["total"] == 2 and
       all(progress[i]["progress"] <= progress[i + 1]["progress"]
           for i in range(len(progress) - 1)),
       "submit_workflow wait=true: progress up to 2 of 2 before the answer, on its stream",
       before)

    # MCP tasks
    status, msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "task", "tasks": [
        {"id": "a", "run": ["sh", "-c", "sleep 1; echo done"]}]}, "wait": True}, id=62,
        task={"ttl": 60000})
    task = msg.get("result", {}).get("task", {})
    ok(task.get("status") == "working" and len(task.get("taskId", "")) == 32 and
       task.get("ttl") == 60000 and "createdAt" in task,
       "a task-augmented tools/call answers at once with the task", msg)
    tid = task.get("taskId")
    status, msg, _ = call(sid, "tasks/get", {"taskId": tid}, id=63)
    ok(msg["result"]["taskId"] == tid and msg["result"]["status"] in ("working", "completed"),
       "tasks/get", msg)
    status, msg, _ = call(sid, "tasks/list", {}, id=64)
    ok(any(t["taskId"] == tid for t in msg["result"]["tasks"]), "tasks/list", msg)
    status, msg, before = call(sid, "tasks/result", {"taskId": tid}, id=65)
    ok(msg["result"]["structuredContent"]["state"] == "succeeded" and
       msg["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == tid,
       "tasks/result blocks until the run finished and carries related-task", msg)
    status, msg, _ = call(sid, "tasks/get", {"taskId": tid}, id=66)
    ok(msg["result"]["status"] == "completed", "the task is completed", msg)
    status, msg, _ = call(sid, "tasks/cancel", {"taskId": tid}, id=67)
    ok(msg.get("error", {}).get("code") == -32602, "tasks/cancel of a finished task: -32602",
       msg)
    status, msg, _ = tool(sid, "submit_workflow", {"workflow": {"name": "long", "tasks": [
        {"id": "a", "run": ["sleep", "30"]}]}}, id=68)
    run_id = msg["result"]["structuredContent"]["run_id"]
    status, msg, _ = tool(sid, "wait_for_run", {"run_id": run_id}, id=69, task={"ttl": 60000})
    tid = msg["result"]["task"]["taskId"]
    status, msg, _ = call(sid, "tasks/cancel", {"taskId": tid}, id=70)
    ok(msg.get("result", {}).get("status") == "cancelled", "tasks/cancel of a working task",
       msg)
    status, msg, _ = tool(sid, "get_status", {}, id=71, task={"ttl": 1000})
    ok(msg.get("error", {}).get("code") == -32601,
       "a task-augmented call of a tool without task support: -32601", msg)
    status, msg, _ = call(sid, "tasks/get", {"taskId": "nope"}, id=72)
    ok(msg.get("error", {}).get("code") == -32602, "tasks/get of an unknown task: -32602", msg)
    tool(sid, "cancel_run", {"run_id": run_id}, id=73)


def test_delete(sid):
    status, _, text = request("DELETE", session=sid)
    ok(status == 200, "DELETE ends the session", f"{status} {text}")
    status, _, text = request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                              session=sid)
    ok(status == 404, "a deleted session: 404", f"{status} {text}")


def test_limits():
    """max-sessions and session-idle-timeout, on a daemon of their own"""
    global D
    main_daemon = D
    D = Daemon("limits", "max-sessions=2\nsession-idle-timeout=1s\n")
    try:
        status1, sid1, _ = open_session()
        status2, sid2, _ = open_session()
        status3, _, text = request("POST", INIT)
        ok(status1 == 200 and status2 == 200 and status3 == 503,
           "max-sessions: the session beyond gets 503", f"{status1} {status2} {status3} {text}")
        # the sweep runs every 5 s; idle sessions without a stream go
        time.sleep(7)
        status, _, text = request("POST", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                  session=sid1)
        ok(status == 404, "an idle session expires: 404", f"{status} {text}")
        status, sid, _ = open_session()
        ok(status == 200, "expired sessions make room for new ones", status)
    finally:
        D.stop()
        D = main_daemon


def main():
    global D
    D = Daemon()
    try:
        sid = test_http_abuse()
        test_disconnect_and_resume(sid)
        test_cancelled(sid)
        test_subscription_and_tasks(sid)
        test_delete(sid)
        test_before_initialize()
        ok(D.alive(), "the daemon is still running")
        test_limits()
    finally:
        D.stop()
    ok(D.proc.returncode == 0, "the daemon stops cleanly", open(
        os.path.join(WORK, "state.log")).read()[-2000:])
    print(f"1..{n_test}")
    if failed == 0:
        shutil.rmtree(WORK, ignore_errors=True)
    else:
        print(f"# logs kept in {WORK}")
    sys.exit(1 if failed else 0)


main()
