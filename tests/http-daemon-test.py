#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The HTTP API of arkitectd as a process, through real sockets, with the standard library only:

- SSE resume across a daemon restart: events read before a SIGTERM and after the next start,
  joined by Last-Event-ID, hold every seq of the store exactly once;
- the SIGTERM drain: submissions get 503 busy while reads still work, and the running attempt
  finishes and is recorded;
- concurrent submissions with a SIGTERM in the middle: every run answered 201 is in the store
  after the daemon stopped (the answer comes only after the commit);
- a mutating call whose audit record can not be stored (the database is locked by another
  process) is answered 503 storage, and no answer claims what the store does not hold;
- server threads ([frontend-http] threads = 4): reads answered by the threads and everything
  handed over to the main thread work side by side on fresh and kept-alive connections; a run
  answered 201 is found by a GET right after, on any connection; event streams, MCP and the
  request timeout work whichever thread accepted the connection; with the memory store, which
  has no reader for another thread, the main thread serves everything.

Usage: http-daemon-test.py ARKITECTD   (ARK_PLUGIN_DIR set, as meson test does). TAP output.
"""

import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ARKITECTD = sys.argv[1]
WORK = tempfile.mkdtemp(prefix="ark-http-daemon-test-")
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


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def store_rows(state, query, args=()):
    db = sqlite3.connect(f"file:{state}/arkitect.db?mode=ro", uri=True)
    try:
        return db.execute(query, args).fetchall()
    finally:
        db.close()


class Daemon:
    """one arkitectd on a state directory, with its HTTP URL and admin token"""

    def __init__(self, root, conf_text, env=None):
        self.env = env
        self.root = root
        self.state = os.path.join(root, "state")
        self.conf = os.path.join(root, "arkitect.conf")
        write(self.conf, conf_text)
        self.proc = None
        self.url = None

    def start(self):
        url_file = os.path.join(self.state, "http.url")
        if os.path.exists(url_file):
            os.remove(url_file)  # a crash would leave it; a clean stop removes it
        self.stderr = open(os.path.join(self.root, "daemon.log"), "a")
        self.proc = subprocess.Popen([ARKITECTD, "--config", self.conf, "--state-dir",
                                      self.state], stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.exists(url_file):
            if self.proc.poll() is not None:
                raise RuntimeError("arkitectd exited: " + self.log())
            time.sleep(0.05)
        with open(url_file) as f:
            self.url = urllib.parse.urlsplit(f.read().strip())
        with open(os.path.join(self.state, "api-token")) as f:
            self.token = f.read().strip()

    def log(self):
        with open(os.path.join(self.root, "daemon.log")) as f:
            return f.read()

    def stop(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        return self.proc.returncode

    def conn(self, timeout=30):
        return http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        c = self.conn()
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data and r.getheader("Content-Type", "")
                              .endswith("json") else data)
        finally:
            c.close()

    def submit(self, workflow, key=None):
        return self.request("POST", "/api/v1/runs", json.dumps(workflow),
                            {"Idempotency-Key": key} if key else None)

    def wait_run(self, run_id, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, run = self.request("GET", f"/api/v1/runs/{run_id}")
            if status == 200 and run["state"] in ("succeeded", "failed", "cancelled"):
                return run
            time.sleep(0.05)
        raise RuntimeError(f"run {run_id} did not finish")


def noop_workflow(name, n):
    return {"name": name, "tasks": [
        {"id": f"t{i}", "executor": "thread", "function": "noop",
         **({"needs": ["t0"]} if i > 0 else {})} for i in range(n)]}


class Sse:
    """an event stream: GET /api/v1/events, read frame by frame"""

    def __init__(self, daemon, last_event_id=None, query=""):
        self.c = daemon.conn()
        headers = {"Authorization": "Bearer " + daemon.token, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.c.request("GET", "/api/v1/events" + query, headers=headers)
        self.r = self.c.getresponse()
        self.status = self.r.status

    def next_seq(self):
        """the seq of the next event, or None at the end of the stream"""
        seq = None
        while True:
            line = self.r.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line == "" and seq is not None:
                return seq

    def close(self):
        self.c.close()


def test_sse_resume_across_restart():
    d = Daemon(os.path.join(WORK, "sse"), "[frontend-http]\nlisten = 127.0.0.1:0\n")
    d.start()
    status, run = d.submit(noop_workflow("before", 30))
    ok(status == 201, "a run is submitted", run)
    d.wait_run(run["id"])
    head = store_rows(d.state, "SELECT max(seq) FROM events")[0][0]

    # read part of the backlog, then the daemon stops under the reader
    sse = Sse(d, query="?after=0")
    ok(sse.status == 200, "the event stream opens")
    first = []
    while len(first) < head // 2:
        seq = sse.next_seq()
        if seq is None:
            break
        first.append(seq)
    rc = d.stop()
    ok(rc == 0, "SIGTERM stops the daemon cleanly", d.log())
    # what the reader still gets before the stream ends is part of what it has seen
    while True:
        try:
            seq = sse.next_seq()
        except (OSError, http.client.HTTPException):
            seq = None
        if seq is None:
            break
        first.append(seq)
    sse.close()
    last = first[-1]

    d.start()
    status, run2 = d.submit(noop_workflow("after", 30))
    ok(status == 201, "a run is submitted after the restart", run2)
    d.wait_run(run2["id"])
    end = store_rows(d.state, "SELECT max(seq) FROM events")[0][0]
    sse = Sse(d, last_event_id=last)
    second = []
    while not second or second[-1] < end:
        seq = sse.next_seq()
        if seq is None:
            break
        second.append(seq)
    sse.close()
    seen = first + second
    ok(seen == list(range(1, end + 1)),
       f"every seq 1..{end} exactly once across the restart (resumed after {last})",
       f"first {first[:3]}..{first[-3:]}, second {second[:3]}..{second[-3:]}")
    ok(d.stop() == 0, "the daemon stops cleanly again")


def test_drain():
    root = os.path.join(WORK, "drain")
    marker = os.path.join(root, "started")
    d = Daemon(root, "[daemon]\ndrain-timeout = 20s\n[frontend-http]\nlisten = 127.0.0.1:0\n")
    d.start()
    status, run = d.submit({"name": "drain", "tasks": [
        {"id": "slow", "run": f"touch {marker}; sleep 2; echo done", "shell": True}]})
    ok(status == 201, "a run with a 2 s task is submitted", run)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not os.path.exists(marker):
        time.sleep(0.02)
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    status, problem = d.submit(noop_workflow("refused", 1))
    ok(status == 503 and problem.get("type", "").endswith("/busy"),
       "a submission while draining gets 503 busy", (status, problem))
    status, body = d.request("GET", f"/api/v1/runs/{run['id']}")
    ok(status == 200 and body["state"] == "running", "reads still work while draining",
       (status, body))
    status, ready = d.request("GET", "/readyz")
    ok(status == 503 and ready["failing"].startswith("accepting"),
       "/readyz fails on the accepting check", (status, ready))
    try:
        rc = d.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        d.proc.kill()
        rc = None
    d.stderr.close()
    ok(rc == 0, "the daemon exits 0 after the drain", d.log())
    attempts = store_rows(d.state, "SELECT status, exit_code FROM attempts WHERE run_id=?",
                          (run["id"],))
    ok(attempts == [(1, 0)], "the running attempt finished and was recorded (succeeded)",
       attempts)
    runs = store_rows(d.state, "SELECT count(*) FROM runs WHERE workflow_name='refused'")
    ok(runs[0][0] == 0, "the refused submission left nothing in the store", runs)
    ok(not os.path.exists(os.path.join(d.state, "http.url")), "http.url is removed on stop")


def test_concurrent_submissions():
    d = Daemon(os.path.join(WORK, "load"), "[daemon]\ndrain-timeout = 1s\n"
               "[frontend-http]\nlisten = 127.0.0.1:0\n")
    d.start()
    accepted = []
    refused = []
    errors = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 30

    def client(n):
        i = 0
        while time.monotonic() < stop_at:
            key = f"client{n}-{i}"
            i += 1
            try:
                status, body = d.submit(noop_workflow(f"load{n}", 3), key)
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append(repr(e))
                return  # the daemon is gone
            with lock:
                if status == 201:
                    accepted.append(body["id"])
                elif status == 503:
                    refused.append(key)
                else:
                    errors.append((status, body))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    time.sleep(2)
    d.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=60)
    try:
        rc = d.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        d.proc.kill()
        rc = None
    d.stderr.close()
    ok(rc == 0, "the daemon stops cleanly under load", d.log())
    ok(len(accepted) > 50, f"submissions were accepted under load ({len(accepted)}, "
       f"{len(refused)} refused while draining)")
    unexpected = [e for e in errors if not isinstance(e, str)]
    ok(not unexpected, "no answer but 201 and 503", unexpected[:5])
    stored = {row[0] for row in store_rows(d.state, "SELECT id FROM runs")}
    missing = [r for r in accepted if r not in stored]
    ok(not missing, f"every accepted run ({len(accepted)}) is in the store after the stop",
       missing[:5])
    ok(len(set(accepted)) == len(accepted), "no run id was given twice")


def test_audit_failure():
    root = os.path.join(WORK, "audit")
    marker = os.path.join(root, "started")
    d = Daemon(root, "[daemon]\ndrain-timeout = 1s\n[frontend-http]\nlisten = 127.0.0.1:0\n")
    d.start()
    status, run = d.submit({"name": "held", "tasks": [
        {"id": "a", "run": f"touch {marker}; sleep 60", "shell": True}]})
    ok(status == 201, "a long run is submitted", run)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not os.path.exists(marker):
        time.sleep(0.02)
    # another process takes the database's write lock: the next commit fails after the store's
    # busy timeout, and with it the audit record of the cancel
    db = sqlite3.connect(os.path.join(d.state, "arkitect.db"), timeout=0, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    status, problem = d.request("POST", f"/api/v1/runs/{run['id']}/cancel")
    db.execute("ROLLBACK")
    db.close()
    ok(status == 503 and problem.get("type", "").endswith("/storage"),
       "a cancel whose audit record can not be stored is answered 503 storage",
       (status, problem))
    try:
        rc = d.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        d.proc.kill()
        rc = None
    d.stderr.close()
    ok(rc == 1, "the daemon stops with status 1 after the failed commit", (rc, d.log()))
    cancels = store_rows(d.state, "SELECT count(*) FROM audit WHERE action='run.cancel'")
    state = store_rows(d.state, "SELECT state FROM runs WHERE id=?", (run["id"],))
    ok(cancels[0][0] == 0 and state[0][0] != 4,
       "neither the cancel nor its record is in the store", (cancels, state))
    submits = store_rows(d.state, "SELECT actor, target, result FROM audit "
                                  "WHERE action='run.submit'")
    ok(submits == [("local", run["id"], "ok")], "the submission's record is", submits)


def raw_exchange(d, data, timeout=10):
    """sends @data on a fresh connection and reads until the server closes it or @timeout"""
    import socket
    s = socket.create_connection((d.url.hostname, d.url.port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += chunk
    except socket.timeout:
        return got
    finally:
        s.close()


def test_server_threads():
    d = Daemon(os.path.join(WORK, "threads"), "[daemon]\ndrain-timeout = 1s\n"
               "[frontend-http]\nlisten = 127.0.0.1:0\nthreads = 4\nrequest-timeout = 1s\n")
    d.start()
    ok("(4 server threads beside the main one)" in d.log(), "four server threads start",
       d.log())
    errors = []
    created = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 4

    def check(cond, what):
        if not cond:
            with lock:
                errors.append(what)

    def client(n):
        kept = d.conn()
        auth = {"Authorization": "Bearer " + d.token}
        i = 0
        try:
            while time.monotonic() < stop_at:
                i += 1
                status, run = d.submit(noop_workflow(f"threads{n}", 2))
                check(status == 201, ("submit", status, run))
                if status != 201:
                    continue
                with lock:
                    created.append(run["id"])
                # a fresh connection, as likely a server thread's as the main one's
                status, got = d.request("GET", f"/api/v1/runs/{run['id']}")
                check(status == 200 and got["id"] == run["id"], ("fresh GET", status, got))
                # a kept-alive connection that mixes reads and what only the main thread does
                kept.request("GET", f"/api/v1/runs/{run['id']}/tasks", headers=auth)
                r = kept.getresponse()
                body = json.loads(r.read())
                check(r.status == 200 and len(body["tasks"]) == 2, ("tasks", r.status, body))
                if i % 3 == 0:
                    kept.request("GET", "/api/v1/status", headers=auth)
                    r = kept.getresponse()
                    r.read()
                    check(r.status == 200, ("status", r.status))
                status, task = d.request("GET", f"/api/v1/runs/{run['id']}/tasks/t1")
                check(status == 200 and task["id"] == "t1" and "definition" in task,
                      ("task GET", status, task))
                kept.request("GET", f"/api/v1/runs/{run['id']}",
                             headers={**auth, "X-Request-Id": f"c{n}-{i}"})
                r = kept.getresponse()
                body = json.loads(r.read())
                check(r.status == 200 and body["id"] == run["id"] and
                      r.getheader("X-Request-Id") == f"c{n}-{i}", ("kept GET", r.status, body))
        except (OSError, http.client.HTTPException) as e:
            check(False, repr(e))
        finally:
            kept.close()

    streams = [Sse(d) for _ in range(8)]
    ok(all(s.status == 200 for s in streams), "event streams open on fresh connections",
       [s.status for s in streams])
    clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in clients:
        t.start()
    for t in clients:
        t.join(timeout=120)
    ok(not errors, f"{len(created)} runs submitted and read back at once, on fresh and "
       "kept-alive connections", errors[:5])
    seqs = [s.next_seq() for s in streams]
    ok(all(q is not None for q in seqs), "every event stream delivers events", seqs)
    for s in streams:
        s.close()

    status, listing = d.request("GET", "/api/v1/runs?limit=1000")
    listed = {r["id"] for r in listing.get("runs", [])} if status == 200 else set()
    ok(status == 200 and created[-1] in listed, "the run list holds the last run created",
       status)
    status, dlq = d.request("GET", "/api/v1/dlq")
    ok(status == 200 and dlq.get("tasks") == [], "the dead-letter queue is read", (status, dlq))
    status, problem = d.request("GET", f"/api/v1/runs/{created[0]}",
                                headers={"Authorization": "Bearer wrong"})
    ok(status == 401, "a wrong token is refused", (status, problem))
    c = d.conn()
    c.request("GET", "/api/v1/runs")
    r = c.getresponse()
    r.read()
    c.close()
    ok(r.status == 401, "no token is refused", r.status)

    # MCP, mounted by another plugin, answers on connections any thread accepted
    answers = []
    for _ in range(6):
        status, body = d.request("POST", "/mcp", json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "threads", "version": "1"}}}),
            {"Accept": "application/json, text/event-stream"})
        answers.append(status)
    ok(all(a == 200 for a in answers), "MCP initialize answers on every connection", answers)

    # a request that never completes gets 408 from whichever thread holds its connection
    late = [raw_exchange(d, b"GET /api/v1/runs HTTP/1.1\r\nHost: x\r\n") for _ in range(6)]
    ok(all(b" 408 " in x.split(b"\r\n")[0] for x in late),
       "an unfinished request gets 408 on every connection", [x[:40] for x in late])
    # a body that never comes, after the headers took the connection to the main thread
    slow = [raw_exchange(d, b"POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                         + d.token.encode() + b"\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"name\"") for _ in range(3)]
    ok(all(b" 408 " in x.split(b"\r\n")[0] for x in slow),
       "a body that never comes gets 408 from the main thread", [x[:40] for x in slow])

    ok(d.stop() == 0, "the daemon stops cleanly", d.log())
    ok("CRITICAL" not in d.log() and "WARNING" not in d.log(), "no warning was logged",
       d.log())

    # a store without a reader for another thread: the main thread serves everything
    m = Daemon(os.path.join(WORK, "threads-memory"), "[daemon]\nstore = memory\n"
               "drain-timeout = 1s\n[frontend-http]\nlisten = 127.0.0.1:0\nthreads = 2\n")
    m.start()
    status, run = m.submit(noop_workflow("memory", 2))
    got = m.request("GET", f"/api/v1/runs/{run['id']}") if status == 201 else (None, None)
    ok("(0 server threads beside the main one)" in m.log() and got[0] == 200,
       "with the memory store the main thread serves reads too", (status, got, m.log()))
    ok(m.stop() == 0 and "WARNING" not in m.log(), "that daemon stops cleanly", m.log())


def main():
    print("TAP version 13", flush=True)
    try:
        test_sse_resume_across_restart()
        test_drain()
        test_concurrent_submissions()
        test_audit_failure()
        test_server_threads()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print(f"1..{n_test}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
