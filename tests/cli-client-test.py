#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The arkitect command line as a client of a real arkitectd.

Starts the daemon in a temporary state directory with its HTTP frontend on a free loopback port
(`[frontend-http] listen=127.0.0.1:0`; the daemon writes DIR/http.url and DIR/api-token), finds
it the way a user does (http.url and api-token in the state directory), and checks every client
command through the exit status and the output a user sees:

  * submit --wait exits 0, 1 and 2 like `arkitect run` (a failed task's log tail is shown, an
    invalid workflow is printed like `validate` prints it), submit prints the run id alone, an
    idempotency key gives the same run twice;
  * runs (with --state and --limit), status (the daemon's, and one run's), tasks, logs (all of
    it, --tail, --attempt, --follow of a task that is still writing);
  * cancel of a run and of a task, retry of a failed task and dlq list/show/replay of a dead one,
    with --wait, and the errors for a finished run and a bad override;
  * watch of a run while the daemon is stopped with SIGTERM and started again (on another port):
    the watch reconnects, resumes after the last event and ends with the run's exit status;
  * tokens: a read-scope token made by `token create` may list but not cancel (exit 3, naming
    the token file), a wrong token exits 3 naming the token file;
  * an unreachable daemon (--url to a closed port) exits 3 naming the URL and where it came from;
  * a stale http.url after the daemon was killed: status and dlq fall back to the state
    directory with a note, the daemon-only commands exit 3.

Before the daemon, a hostile one (an HTTP server in this script) answers with JSON nested too
deep, bytes that are not JSON, objects without their members or with the wrong types, escape
sequences in strings, a cursor that never moves on, a body over the client's cap and an event
stream with a line over its cap: the client exits 3 (never by a signal), says why in one line
and lets no escape sequence through to its output. This part runs without the daemon too.

Usage: cli-client-test.py ARKITECT ARKITECTD   (exit 0 passed, 1 failed, 77 skipped)
ARK_CLIENT_TEST_KEEP=1 keeps the work directory (it is always kept after a failure).
"""

import json
import os
import re
import secrets
import shutil
import threading
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARK = None
ARKD = None
WORK = None
STATE = None
CONFIG = None
TIMEOUT = 180  # seconds for one command; the machine may be slow and shared
# the HTTP frontend on a free loopback port; a drain long enough for the tasks that span a restart
DAEMON_CONFIG = "[daemon]\ndrain-timeout = 20s\n\n[frontend-http]\nlisten = 127.0.0.1:0\n"


class Failure(Exception):
    pass


def check(cond, what, proc=None):
    if cond:
        return
    detail = ""
    if proc is not None:
        detail = "\n  command: %s\n  exit: %s\n  stdout: %s\n  stderr: %s" % (
            " ".join(proc.args), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    raise Failure(what + detail)


def cli_env():
    env = dict(os.environ)
    # only what the test says: no URL or token from the caller's environment
    for name in ("ARKITECT_URL", "ARKITECT_TOKEN_FILE"):
        env.pop(name, None)
    env["XDG_STATE_HOME"] = os.path.join(WORK, "xdg")
    env["NO_COLOR"] = "1"
    return env


def ark(*args, input=None, state=True, timeout=TIMEOUT):
    cmd = [ARK] + (["--state-dir", STATE] if state else []) + list(args)
    return subprocess.run(cmd, input=input, capture_output=True, text=True, env=cli_env(),
                          timeout=timeout)


def write(name, text, mode=0o644):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def workflow(name, tasks, **extra):
    doc = {"name": name, "tasks": tasks}
    doc.update(extra)
    return write(name + ".json", json.dumps(doc, indent=1))


def sh(script):
    return ["sh", "-c", script]


def marker(name):
    return os.path.join(WORK, name)


def wait_for(what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise Failure("timed out waiting for " + what)


class Daemon:
    def __init__(self):
        self.proc = None
        self.log = None
        self.starts = 0

    def url_file(self):
        return os.path.join(STATE, "http.url")

    def start(self):
        # a stale http.url (after a kill) must not be taken for the new one
        if os.path.exists(self.url_file()):
            os.unlink(self.url_file())
        self.starts += 1
        self.log = open(os.path.join(WORK, "arkitectd-%d.log" % self.starts), "w")
        env = dict(os.environ)
        env.setdefault("G_MESSAGES_DEBUG", "")
        self.proc = subprocess.Popen([ARKD, "--state-dir", STATE, "--config", CONFIG],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)

        def answering():
            if self.proc.poll() is not None:
                raise Failure("arkitectd exited with %s at start; see %s" %
                              (self.proc.returncode, self.log.name))
            try:
                with open(self.url_file()) as f:
                    url = f.read().strip()
            except FileNotFoundError:
                return None
            if not url:
                return None
            try:
                urllib.request.urlopen(url + "/healthz", timeout=5).close()
            except urllib.error.HTTPError:
                pass  # answers, wants a token: listening
            except OSError:
                return None
            return url
        self.url = wait_for("arkitectd to listen", answering, timeout=90)
        return self.url

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("arkitectd did not stop within 60 s of signal %d" % sig)
        self.proc = None
        self.log.close()


DAEMON = Daemon()


def run_id_of(proc):
    check(proc.returncode == 0, "submit failed", proc)
    rid = proc.stdout.strip()
    check(re.fullmatch(r"[0-9A-Za-z]{10,64}", rid) is not None,
          "submit prints the run id alone on stdout", proc)
    return rid


def run_state(rid):
    p = ark("status", rid, "--json")
    check(p.returncode == 0, "status RUN --json", p)
    return json.loads(p.stdout)["run"]["state"]


def task_of(rid, task):
    p = ark("tasks", rid, "--json")
    check(p.returncode == 0, "tasks --json", p)
    for t in json.loads(p.stdout)["tasks"]:
        if t["id"] == task:
            return t
    raise Failure("run %s has no task %s in tasks --json" % (rid, task))


# the tests -------------------------------------------------------------------------------------

def test_submit_wait():
    ok = workflow("ok", [{"id": "build", "run": sh("echo building")},
                         {"id": "test", "needs": ["build"], "run": ["true"]}])
    p = ark("submit", "--wait", ok)
    check(p.returncode == 0, "submit --wait of a good workflow exits 0", p)
    check(re.search(r"run \S+ succeeded in .*2 succeeded", p.stdout),
          "the summary's last line says the run succeeded", p)
    check("build" in p.stdout and "TASK" in p.stdout, "the summary table lists the tasks", p)

    fail = workflow("fail", [{"id": "fine", "run": ["true"]},
                             {"id": "boom", "run": sh("echo first-words; echo last-words; exit 3")}])
    p = ark("submit", "--wait", fail)
    check(p.returncode == 1, "submit --wait of a failing workflow exits 1", p)
    check("boom failed" in p.stdout, "the failed task is reported", p)
    check("| last-words" in p.stdout, "with the tail of its log", p)
    check(re.search(r"run \S+ failed", p.stdout), "the run failed", p)

    bad = write("invalid.json", '{"name": "invalid",\n "tasks": [\n  {"id": "a", "run": ["true"], '
                '"needs": ["nope"]}\n ]}\n')
    p = ark("submit", "--wait", bad)
    check(p.returncode == 2, "submit --wait of an invalid workflow exits 2", p)
    check("invalid.json:" in p.stderr and "nope" in p.stderr,
          "the daemon's problems are printed like validate prints them", p)
    check(re.search(r"invalid\.json: \d+ problems?", p.stderr), "with their count", p)
    p = ark("submit", "--json", bad)
    check(p.returncode == 2 and json.loads(p.stdout)["valid"] is False,
          "submit --json of an invalid workflow prints valid: false", p)
    p = ark("submit", write("syntax.json", '{"name": "x", "tasks": [}'))
    check(p.returncode == 2, "a workflow that is not JSON exits 2", p)
    p = ark("submit", os.path.join(WORK, "does-not-exist.json"))
    check(p.returncode == 2, "a missing file exits 2", p)


def test_submit_plain():
    wf = workflow("plain", [{"id": "only", "run": ["true"]}])
    rid = run_id_of(ark("submit", wf, "--idempotency-key", "key-1"))
    p = ark("submit", wf, "--idempotency-key", "key-1")
    check(p.returncode == 0 and p.stdout.strip() == rid,
          "the same idempotency key gives the same run", p)
    check("already submitted" in p.stderr, "and says so", p)
    p = ark("submit", "-", "--json", input=open(wf).read())
    check(p.returncode == 0 and json.loads(p.stdout)["workflow"] == "plain",
          "submit - reads standard input; --json prints the run", p)
    p = ark("watch", rid)
    check(p.returncode == 0 and "succeeded" in p.stdout, "watch of a run ends with its report", p)
    return rid


def test_listing(ok_rid):
    p = ark("runs", "--json")
    check(p.returncode == 0, "runs --json", p)
    runs = json.loads(p.stdout)["runs"]
    check(any(r["id"] == ok_rid for r in runs), "runs lists the submitted run", p)
    check(len(runs) >= 3, "runs lists every run", p)
    p = ark("runs", "--limit", "1", "--json")
    check(p.returncode == 0 and len(json.loads(p.stdout)["runs"]) == 1, "runs --limit 1", p)
    p = ark("runs", "--state", "failed", "--json")
    check(p.returncode == 0, "runs --state failed", p)
    failed = json.loads(p.stdout)["runs"]
    check(failed and all(r["state"] == "failed" for r in failed),
          "runs --state failed lists only failed runs", p)
    p = ark("runs", "--state", "sideways")
    check(p.returncode == 2 and "sideways" in p.stderr, "an unknown run state exits 2", p)
    p = ark("runs")
    check(p.returncode == 0 and ok_rid in p.stdout and "WORKFLOW" in p.stdout, "runs as a table", p)

    p = ark("status")
    check(p.returncode == 0 and "arkitectd" in p.stdout and "health" in p.stdout,
          "status without a run shows the daemon: version, health", p)
    p = ark("status", "--json")
    check(p.returncode == 0 and "version" in json.loads(p.stdout), "status --json", p)
    failed_rid = failed[0]["id"]
    p = ark("status", failed_rid)
    check(p.returncode == 0 and "failed" in p.stdout,
          "status of a failed run reports it and exits 0", p)
    p = ark("status", "01NOSUCHRUN0000000000000000")
    check(p.returncode == 2 and "not-found" in p.stderr and "request" in p.stderr,
          "status of an unknown run exits 2 with the problem type and request id", p)

    p = ark("tasks", failed_rid, "--json")
    check(p.returncode == 0, "tasks --json", p)
    states = {t["id"]: t["state"] for t in json.loads(p.stdout)["tasks"]}
    check(states == {"fine": "succeeded", "boom": "failed"}, "tasks lists every task's state", p)
    p = ark("tasks", failed_rid, "--state", "failed")
    check(p.returncode == 0 and "boom" in p.stdout and "fine" not in p.stdout,
          "tasks --state filters", p)
    return failed_rid


def test_logs(failed_rid):
    p = ark("logs", failed_rid, "boom")
    check(p.returncode == 0 and p.stdout == "first-words\nlast-words\n", "logs prints the log", p)
    p = ark("logs", failed_rid, "boom", "--tail", "11")
    check(p.returncode == 0 and p.stdout == "last-words\n", "logs --tail prints its end", p)
    p = ark("logs", failed_rid, "boom", "--attempt", "1")
    check(p.returncode == 0 and "first-words" in p.stdout, "logs --attempt 1", p)
    p = ark("logs", failed_rid, "boom", "--attempt", "7")
    check(p.returncode == 2, "logs of an attempt that never was exits 2", p)
    p = ark("logs", failed_rid, "nosuchtask")
    check(p.returncode == 2, "logs of an unknown task exits 2", p)
    # "fine" runs true: a quiet attempt has no log file, and its log is empty
    p = ark("logs", failed_rid, "fine")
    check(p.returncode == 0 and p.stdout == "" and "has no log" in p.stderr,
          "logs of an attempt that printed nothing is empty, with a note", p)

    lines = ["follow-%d" % i for i in range(1, 9)]
    wf = workflow("follow", [
        {"id": "slow", "run": sh("sleep 1; for i in 1 2 3 4 5 6 7 8; do echo follow-$i; "
                                 "sleep 0.25; done")}])
    rid = run_id_of(ark("submit", wf))
    p = ark("logs", rid, "slow", "--follow")
    check(p.returncode == 0 and p.stdout.split() == lines,
          "logs --follow waits for the task and prints its output until it ends", p)
    p = ark("logs", rid, "slow", "--follow", "--tail", "9")
    check(p.returncode == 0 and p.stdout == "follow-8\n",
          "logs --follow of a finished attempt prints the tail and ends", p)


def test_cancel():
    wf = workflow("sleepy", [{"id": "nap", "run": ["sleep", "60"]},
                             {"id": "after", "needs": ["nap"], "run": ["true"]}])
    rid = run_id_of(ark("submit", wf))
    wait_for("the task to run", lambda: task_of(rid, "nap")["state"] == "running")
    p = ark("cancel", rid, "--reason", "test says stop")
    check(p.returncode == 0 and "cancelling run" in p.stdout,
          "cancel through the daemon is accepted", p)
    p = ark("watch", rid)
    check(p.returncode == 1 and "cancelled" in p.stdout, "a cancelled run watches as not succeeded", p)
    check(run_state(rid) == "cancelled", "the run ended cancelled")
    p = ark("cancel", rid)
    check(p.returncode == 2, "cancelling a finished run exits 2", p)

    wf = workflow("two-naps", [{"id": "nap1", "run": ["sleep", "60"]},
                               {"id": "quick", "run": ["true"]}])
    rid = run_id_of(ark("submit", wf))
    wait_for("the task to run", lambda: task_of(rid, "nap1")["state"] == "running")
    p = ark("cancel", rid, "nap1", "--wait")
    check(p.returncode in (0, 1) and "cancelling task nap1" in p.stderr,
          "cancel of one task, then waiting for the run", p)
    check(task_of(rid, "nap1")["state"] == "cancelled", "the task ended cancelled")
    check(task_of(rid, "quick")["state"] == "succeeded", "the rest of the run went on")


def test_retry():
    flag = marker("retry-flag")
    wf = workflow("flaky", [{"id": "flaky", "run": sh("test -f '%s' || { touch '%s'; exit 1; }"
                                                      % (flag, flag))}])
    p = ark("submit", "--wait", wf)
    check(p.returncode == 1, "the first attempt fails the run", p)
    rid = re.search(r"run (\S+) failed", p.stdout).group(1)
    p = ark("retry", rid, "flaky", "--set", "nonsense=1")
    check(p.returncode == 2, "a retry with an override the daemon refuses exits 2", p)
    p = ark("retry", rid, "flaky", "--set", "not json")
    check(p.returncode == 2, "a --set that is not JSON exits 2 before asking", p)
    p = ark("retry", rid, "flaky", "--wait")
    check(p.returncode == 0, "retry --wait of the failed task: the run succeeds", p)
    check(re.search(r"run \S+ succeeded", p.stdout), "and says so", p)
    check(task_of(rid, "flaky")["attempts"] == 2, "the task has two attempts")


def test_dlq():
    count = marker("dlq-count")
    script = ("n=$(cat '%s' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '%s'; echo attempt $n; "
              "test $n -ge 3" % (count, count))
    wf = workflow("deadly", [{"id": "doomed", "run": sh(script),
                              "retry": {"max_attempts": 2, "initial_delay": "10ms"}}])
    p = ark("submit", "--wait", wf)
    check(p.returncode == 1, "a task that exhausts its retries fails the run", p)
    rid = re.search(r"run (\S+) failed", p.stdout).group(1)
    p = ark("dlq", "list", "--json")
    check(p.returncode == 0, "dlq list --json", p)
    dead = json.loads(p.stdout)["dead"]
    check(any(d["run_id"] == rid and d["task_id"] == "doomed" and d["attempts"] == 2
              for d in dead), "the dead task is in the dead-letter queue", p)
    p = ark("dlq", "list", rid)
    check(p.returncode == 0 and "doomed" in p.stdout, "dlq list RUN", p)
    p = ark("dlq", "show", rid, "doomed")
    check(p.returncode == 0 and "dead" in p.stdout and "arkitect logs" in p.stdout,
          "dlq show prints the task, its attempts and how to see their logs", p)
    p = ark("dlq", "show", rid, "doomed", "--json")
    check(p.returncode == 0 and len(json.loads(p.stdout)["attempts"]) == 2, "dlq show --json", p)
    p = ark("dlq", "replay", rid, "doomed", "--wait", "--timeout", "1m")
    check(p.returncode == 0, "dlq replay --wait: the third attempt succeeds", p)
    check(task_of(rid, "doomed")["state"] == "succeeded", "the task succeeded")
    p = ark("dlq", "list", rid, "--json")
    check(p.returncode == 0 and json.loads(p.stdout)["dead"] == [], "and left the queue", p)


def test_tokens_and_restart(rid_for_cancel_check):
    p = ark("token", "create", "reader", "--scope", "read", state=False)
    check(p.returncode == 0, "token create", p)
    token = p.stdout.strip()
    check(re.fullmatch(r"[0-9a-f]{64}", token), "the token is 64 hex digits alone on stdout", p)
    line = re.search(r"token\.reader=read:[0-9a-f]{64}", p.stderr)
    check(line, "stderr has the configuration line", p)
    reader = write("reader.token", token + "\n", 0o600)
    wrong = write("wrong.token", secrets.token_hex(32) + "\n", 0o600)

    write("arkitectd.conf", DAEMON_CONFIG + line.group(0) + "\n")
    DAEMON.stop()
    check(not os.path.exists(DAEMON.url_file()), "a daemon that stopped removed http.url")
    DAEMON.start()

    p = ark("--token-file", reader, "runs")
    check(p.returncode == 0, "a read token may list runs", p)
    p = ark("--token-file", reader, "cancel", rid_for_cancel_check)
    check(p.returncode == 3 and reader in p.stderr,
          "a read token may not cancel: exit 3, naming the token file", p)
    p = ark("--token-file", wrong, "runs")
    check(p.returncode == 3 and wrong in p.stderr and "unauthorized" in p.stderr,
          "a wrong token exits 3 and names the token file", p)
    p = subprocess.run([ARK, "--state-dir", STATE, "runs"], capture_output=True, text=True,
                       env=dict(cli_env(), ARKITECT_TOKEN_FILE=wrong), timeout=TIMEOUT)
    check(p.returncode == 3 and "$ARKITECT_TOKEN_FILE" in p.stderr,
          "a token from $ARKITECT_TOKEN_FILE is named as such", p)


def test_watch_across_restart():
    # the first task spans the restart; an attempt the stop interrupts ends lost and is retried
    wf = workflow("restart", [
        {"id": "long", "run": ["sleep", "4"], "retry": {"max_attempts": 3, "on": ["lost"],
                                                         "initial_delay": "10ms"}},
        {"id": "after", "needs": ["long"], "run": sh("echo after the restart")}])
    rid = run_id_of(ark("submit", wf))
    watcher = subprocess.Popen([ARK, "--state-dir", STATE, "watch", rid, "--reconnect-timeout",
                                "120s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=cli_env())
    wait_for("the task to run", lambda: task_of(rid, "long")["state"] == "running")
    time.sleep(0.5)
    old_url = DAEMON.url
    DAEMON.stop(signal.SIGTERM)
    time.sleep(1)  # the watch notices and retries against nothing for a while
    DAEMON.start()
    try:
        out, err = watcher.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        watcher.kill()
        out, err = watcher.communicate()
        raise Failure("watch did not end after the restart:\n%s\n%s" % (out, err))
    proc = subprocess.CompletedProcess(watcher.args, watcher.returncode, out, err)
    check(watcher.returncode == 0, "watch across a daemon restart ends with the run's success",
          proc)
    check("reconnected" in err, "watch says it reconnected", proc)
    check(re.search(r"run \S+ succeeded", out), "and prints the run's report", proc)
    if DAEMON.url == old_url:
        print("note: the restarted daemon got the same port")


def test_unreachable():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = "http://127.0.0.1:%d" % port
    p = ark("--url", url, "runs")
    check(p.returncode == 3 and url in p.stderr and "--url" in p.stderr,
          "an unreachable daemon exits 3, naming the URL and where it came from", p)
    p = ark("--url", url, "status")
    check(p.returncode == 3, "with --url, status does not fall back to the state directory", p)
    p = subprocess.run([ARK, "--state-dir", STATE, "runs"], capture_output=True, text=True,
                       env=dict(cli_env(), ARKITECT_URL=url), timeout=TIMEOUT)
    check(p.returncode == 3 and "$ARKITECT_URL" in p.stderr, "$ARKITECT_URL is named as such", p)
    p = ark("--url", "ftp://example.org", "runs")
    check(p.returncode == 2, "a URL that is not http(s) is invalid input", p)


def test_stale_url(some_rid):
    # a crash leaves http.url behind
    DAEMON.stop(signal.SIGKILL)
    check(os.path.exists(DAEMON.url_file()), "a killed daemon leaves http.url")
    p = ark("status")
    check(p.returncode == 0, "status with a stale http.url works on the state directory", p)
    check("note:" in p.stderr and "http.url" in p.stderr and "state directory" in p.stderr,
          "and says so in one line", p)
    check(len(p.stderr.strip().splitlines()) == 1, "one line", p)
    check(some_rid in p.stdout, "listing the runs of the state directory", p)
    p = ark("dlq", "list")
    check(p.returncode == 0 and "note:" in p.stderr, "dlq list falls back too", p)
    p = ark("runs")
    check(p.returncode == 3 and "http.url" in p.stderr,
          "runs needs the daemon: exit 3 naming the stale file", p)
    os.unlink(DAEMON.url_file())
    p = ark("status")
    check(p.returncode == 0 and p.stderr == "", "without http.url, status is direct and quiet", p)
    p = ark("watch", some_rid)
    check(p.returncode == 3 and "no daemon" in p.stderr, "without a daemon, watch exits 3", p)


# a hostile daemon ------------------------------------------------------------------------------

EVIL = "\x1b[31m\x1b]0;owned\x07"  # colour and a window title: must not reach the terminal
HOSTILE_RUN = {"id": "01HOSTILE", "workflow": EVIL, "state": "running", "n_tasks": 2,
               "created_at": "2026-01-01T00:00:00.000000Z"}


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = None
    run_asked = 0

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what it should do

    def do_GET(self):
        mode = HostileHandler.mode
        path = self.path.split("?")[0]
        if path == "/healthz":
            return self.send(200, b'{"status":"ok"}')
        if path == "/api/v1/events":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            if mode == "long-line":
                self.wfile.write(b"data: " + b"x" * (2 << 20) + b"\n\n")
            else:  # garbage events the client must skip, then the end of the run
                self.wfile.write(b"data: {not json\n\ndata: [1,2]\n\n"
                                 b"data: {\"kind\": 7, \"run_id\": []}\n\n"
                                 b"data: {\"kind\": \"task.state\", \"run_id\": \"01HOSTILE\", "
                                 b"\"task_id\": \"a\", \"state\": \"exploded\"}\n\n"
                                 b": comment\n\nid: 5\ndata: {\"seq\": 5, \"kind\": "
                                 b"\"run.finished\", \"run_id\": \"01HOSTILE\", "
                                 b"\"state\": \"failed\"}\n\n")
            self.wfile.flush()
            return
        if mode == "deep":
            return self.send(200, b"[" * 200000 + b"]" * 200000)
        if mode == "garbage":
            return self.send(200, b"\x00\xff{\"runs\": [")
        if mode == "missing":
            return self.send(200, b"{}")
        if mode == "huge":
            return self.send(200, b'{"runs": ["' + b"x" * (70 << 20) + b'"]}')
        if mode == "cursor-loop":
            return self.send(200, json.dumps({"runs": [HOSTILE_RUN], "tasks": [],
                                              "next_cursor": "again"}).encode())
        if mode == "problem":
            return self.send(404, json.dumps({"type": EVIL, "detail": EVIL, "status": 404,
                                              "request_id": EVIL}).encode(),
                             "application/problem+json")
        # wrong types everywhere, escape sequences in every string
        if path == "/api/v1/runs/01HOSTILE":
            # running when the watch starts, failed once its event stream says so
            HostileHandler.run_asked += 1
            run = dict(HOSTILE_RUN)
            if mode == "finishing" and HostileHandler.run_asked > 1:
                run["state"] = "failed"
            return self.send(200, json.dumps(run).encode())
        body = {"runs": [1, "x", None, {"id": EVIL, "state": ["x"], "n_tasks": "lots",
                                       "task_counts": {"succeeded": -5}}, HOSTILE_RUN],
                "tasks": [{"id": EVIL, "state": "failed", "attempts": "many", "exit_code": 1e99},
                          {"id": "b", "state": 3, "reason": EVIL}, 42],
                "next_cursor": None, "version": EVIL, "health": [{"name": EVIL}, "x"],
                "executors": {"not": "a list"}, "uptime_seconds": -1}
        return self.send(200, json.dumps(body).encode())


def test_hostile_daemon():
    state = os.path.join(WORK, "hostile")
    os.mkdir(state, 0o700)
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(state, "http.url"), "w") as f:
        f.write("http://127.0.0.1:%d\n" % server.server_address[1])
    with open(os.path.join(state, "api-token"), "w") as f:
        f.write("hostile\n")

    def hostile(mode, *args):
        HostileHandler.mode = mode
        p = subprocess.run([ARK, "--state-dir", state] + list(args), capture_output=True,
                           text=True, env=cli_env(), timeout=TIMEOUT, errors="replace")
        check(p.returncode >= 0, "the client survives a hostile daemon (%s)" % mode, p)
        check("\x1b" not in p.stdout + p.stderr, "no escape sequence reaches the output", p)
        return p

    try:
        for mode, why in (("deep", "deeper than"), ("garbage", "not JSON"),
                          ("missing", "no 'runs' list"), ("huge", "larger than"),
                          ("cursor-loop", "does not move on")):
            p = hostile(mode, "runs")
            check(p.returncode == 3 and why in p.stderr and len(p.stderr.splitlines()) == 1,
                  "runs against a daemon answering %s exits 3 saying why" % mode, p)
        p = hostile("wrong-types", "runs")
        check(p.returncode == 0 and "01HOSTILE" in p.stdout,
              "runs skips what is not a run and shows what is", p)
        p = hostile("wrong-types", "status")
        check(p.returncode == 0, "status shows what it can of a mistyped status", p)
        p = hostile("wrong-types", "tasks", "01HOSTILE")
        check(p.returncode == 0 and "many" not in p.stdout, "tasks with mistyped members", p)
        p = hostile("problem", "status", "01HOSTILE")
        check(p.returncode == 2 and "not-found" not in p.stderr,
              "a problem document full of escape sequences is printed safely", p)
        HostileHandler.run_asked = 0
        p = hostile("finishing", "watch", "01HOSTILE")
        check(p.returncode == 1 and re.search(r"run 01HOSTILE failed", p.stdout),
              "watch skips events it can not read and ends with the run", p)
        p = hostile("long-line", "watch", "01HOSTILE")
        check(p.returncode == 3 and "longer than" in p.stderr,
              "an event stream line over the cap ends the watch with exit 3", p)
    finally:
        server.shutdown()
        server.server_close()


def main():
    global ARK, ARKD, WORK, STATE, CONFIG
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    ARK, ARKD = sys.argv[1], sys.argv[2]
    WORK = tempfile.mkdtemp(prefix="ark-client-test-")
    STATE = os.path.join(WORK, "state")
    os.mkdir(STATE, 0o700)
    CONFIG = write("arkitectd.conf", DAEMON_CONFIG)
    failed = False
    skipped = False

    def step(name, fn, *args):
        t0 = time.monotonic()
        result = fn(*args)
        print("ok - %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        return result

    try:
        step("a hostile daemon", test_hostile_daemon)
        keys = subprocess.run([ARKD, "--print-config"], capture_output=True, text=True,
                              timeout=60) if os.access(ARKD, os.X_OK) else None
        if keys is None or "[frontend-http]" not in keys.stdout:
            print("SKIP: the daemon (%s) has no HTTP frontend (plugins/frontend-http is not "
                  "built)" % ARKD)
            skipped = True
            return 77
        DAEMON.start()

        step("submit --wait exit codes", test_submit_wait)
        ok_rid = step("submit, idempotency key, watch", test_submit_plain)
        failed_rid = step("runs, status, tasks", test_listing, ok_rid)
        step("logs", test_logs, failed_rid)
        step("cancel", test_cancel)
        step("retry", test_retry)
        step("dlq", test_dlq)
        step("tokens", test_tokens_and_restart, ok_rid)
        step("watch across a daemon restart", test_watch_across_restart)
        step("unreachable daemon", test_unreachable)
        step("stale http.url", test_stale_url, ok_rid)
    except Failure as e:
        failed = True
        print("FAIL: %s" % e)
    except Exception:
        failed = True
        raise
    finally:
        try:
            DAEMON.stop(signal.SIGKILL)
        except Failure:
            pass
        if (failed or os.environ.get("ARK_CLIENT_TEST_KEEP")) and not skipped:
            print("work directory kept: %s" % WORK)
        else:
            shutil.rmtree(WORK, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
