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
  process) is answered 503 storage, and no answer claims what the store does not hold.

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


def main():
    print("TAP version 13", flush=True)
    try:
        test_sse_resume_across_restart()
        test_drain()
        test_concurrent_submissions()
        test_audit_failure()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print(f"1..{n_test}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
