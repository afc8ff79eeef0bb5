#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The D-Bus interface of arkitectd (docs/dbus.md) as its clients use it: every method through
`gdbus call` and through the `arkitect` command line, the signals as `gdbus monitor` sees them
(coalesced on a run of 10,000 tasks), the error names, malformed arguments (wrong types, ids and
strings too long, invalid UTF-8, bad file descriptors), a client that vanishes in the middle of a
call, a second daemon waiting for the name, and, as root, the access rule for users who may only
read and the system bus policy file on a bus configured like the system bus.

Runs under dbus-run-session (meson test does it): the daemon is on that private session bus.
Usage: dbus-test.py ARKITECT ARKITECTD SOURCE_ROOT   (ARK_PLUGIN_DIR set). TAP output.
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

ARKITECT, ARKITECTD, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
WORK = tempfile.mkdtemp(prefix="ark-dbus-test-")
NAME = "org.arkitect.Arkitect1"
PATH = "/org/arkitect/Arkitect1"
IFACE = "org.arkitect.Arkitect1.Manager"
ERR = "org.arkitect.Arkitect1.Error."
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


def note(text):
    print(f"# {text}", flush=True)


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)
    return path


def run(args, timeout=120, env=None, **kw):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e, **kw)


def gcall(method, *args, address=None, iface=IFACE, timeout=120, prefix=(), **kw):
    bus = ["--address", address] if address else ["--session"]
    return run(list(prefix) + ["gdbus", "call"] + bus + ["-d", NAME, "-o", PATH, "-m",
                                                          f"{iface}.{method}"] +
               [str(a) for a in args], timeout=timeout, **kw)


def gvalue(p):
    """the first string of a gdbus reply like ('RUN', false)"""
    m = re.search(r"'([^']*)'", p.stdout)
    return m.group(1) if m else None


def cli(*args, env=None, timeout=120):
    e = {"XDG_STATE_HOME": os.path.join(WORK, "xdg"), "ARKITECT_URL": ""}
    e.update(env or {})
    return run([ARKITECT] + list(args), env=e, timeout=timeout)


def workflow(name, tasks):
    return json.dumps({"name": name, "tasks": tasks})


def noop(task_id, **more):
    return dict({"id": task_id, "executor": "thread", "function": "noop"}, **more)


def wait_name(address=None, timeout=20):
    bus = ["--address", address] if address else ["--session"]
    p = run(["gdbus", "wait"] + bus + ["--timeout", str(timeout), NAME], timeout=timeout + 10)
    return p.returncode == 0


def name_owner(address=None):
    bus = ["--address", address] if address else ["--session"]
    p = run(["gdbus", "call"] + bus + ["-d", "org.freedesktop.DBus", "-o",
                                       "/org/freedesktop/DBus", "-m",
                                       "org.freedesktop.DBus.GetNameOwner", NAME])
    return gvalue(p) if p.returncode == 0 else None


class Daemon:
    def __init__(self, name, conf="", args=(), env=None):
        self.state = os.path.join(WORK, name, "state")
        self.conf = write(os.path.join(WORK, name, "arkitect.conf"),
                          "[frontend-http]\nlisten = 127.0.0.1:0\n" + conf)
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

    def wait_log(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            if self.proc.poll() is not None:
                return needle in self.text()
            time.sleep(0.05)
        return False

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


class Monitor:
    """gdbus monitor on the daemon's name, line-buffered into a file"""

    def __init__(self, address=None):
        self.path = os.path.join(WORK, f"monitor-{time.monotonic_ns()}.txt")
        self.out = open(self.path, "w")
        bus = ["--address", address] if address else ["--session"]
        self.proc = subprocess.Popen(["stdbuf", "-oL", "gdbus", "monitor"] + bus +
                                     ["--dest", NAME], stdout=self.out,
                                     stderr=subprocess.DEVNULL)

    def text(self):
        with open(self.path) as f:
            return f.read()

    def wait_for(self, pattern, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text()):
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.out.close()


def run_state(run_id):
    p = gcall("GetRun", run_id)
    m = re.search(r"'state': <'([a-z_]+)'>", p.stdout)
    return m.group(1) if m else None


def wait_run(run_id, states=("succeeded", "failed", "cancelled"), timeout=120):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = run_state(run_id)
        if state in states:
            return state
        time.sleep(0.05)
    return state


def task_state(run_id, task_id):
    p = gcall("GetTask", run_id, task_id)
    m = re.search(r"'state': <'([a-z_]+)'>", p.stdout)
    return m.group(1) if m else None


def wait_task(run_id, task_id, states, timeout=60):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = task_state(run_id, task_id)
        if state in states:
            return state
        time.sleep(0.05)
    return state


def audit_records(daemon):
    path = os.path.join(daemon.state, "audit.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# the tests -----------------------------------------------------------------------------------

def test_introspection_and_properties(d):
    p = run(["gdbus", "introspect", "--session", "-d", NAME, "-o", PATH])
    ok(p.returncode == 0 and f"interface {IFACE}" in p.stdout and
       "TasksChanged" in p.stdout and "RunStateChanged" in p.stdout,
       "the object is introspectable with the interface of org.arkitect.Arkitect1.xml",
       p.stdout + p.stderr)
    for method in ("Submit", "SubmitFd", "ListRuns", "GetRun", "ListTasks", "GetTask",
                   "CancelRun", "CancelTask", "RetryTask", "AddTask", "DlqList", "DlqReplay",
                   "Explain", "GetStatus"):
        ok(re.search(rf"\b{method}\(", p.stdout) is not None, f"introspection has {method}")
    p = gcall("GetAll", IFACE, iface="org.freedesktop.DBus.Properties")
    ok(p.returncode == 0 and "'Version': <'" in p.stdout and "'State': <'running'>" in p.stdout,
       "Version and State properties", p.stdout + p.stderr)
    ok(all(f"'{s}': " in p.stdout for s in ("pending", "running", "succeeded", "failed",
                                              "cancelled")),
       "RunCounts has every run state", p.stdout)
    ok("'frontend-dbus'" in p.stdout and "'executor-thread'" in p.stdout,
       "Plugins lists the loaded plugins", p.stdout)


def test_status(d):
    p = gcall("GetStatus")
    ok(p.returncode == 0, "GetStatus answers", p.stderr)
    for key in ("version", "state", "started_at", "uptime_seconds", "open_runs",
                "default_policy", "policies", "executors", "queue_depth", "health", "bus"):
        ok(f"'{key}': <" in p.stdout, f"GetStatus has {key}", p.stdout)
    ok("'bus': <'session'>" in p.stdout, "GetStatus says the session bus", p.stdout)


def test_submit_and_read(d, mon):
    wf = workflow("reads", [noop("a"), noop("b", needs=["a"]), noop("c", needs=["b"])])
    p = gcall("Submit", wf, "{'idempotency-key': <'key-1'>}")
    run_id = gvalue(p)
    ok(p.returncode == 0 and run_id and p.stdout.strip().endswith("false)"),
       "Submit returns a new run id", p.stdout + p.stderr)
    ok(wait_run(run_id) == "succeeded", "the submitted run succeeds")
    p = gcall("Submit", workflow("other", [noop("z")]), "{'idempotency-key': <'key-1'>}")
    ok(p.returncode == 0 and gvalue(p) == run_id and p.stdout.strip().endswith("true)"),
       "Submit with a key seen before returns that run and existed=true",
       p.stdout + p.stderr)

    p = gcall("GetRun", run_id)
    ok(p.returncode == 0 and f"'id': <'{run_id}'>" in p.stdout and
       "'workflow': <'reads'>" in p.stdout and "'n_tasks': <uint32 3>" in p.stdout and
       "'task_counts': <{'succeeded': uint32 3}>" in p.stdout and
       "'idempotency_key': <'key-1'>" in p.stdout and "'created_at': <int64 " in p.stdout,
       "GetRun has the run's members, task counts and timestamps", p.stdout + p.stderr)
    p = gcall("ListTasks", run_id, "[]", "", 0)
    ids = re.findall(r"'id': <'([^']+)'>", p.stdout)
    ok(p.returncode == 0 and ids == ["a", "b", "c"] and p.stdout.strip().endswith("'')"),
       "ListTasks lists the tasks in workflow order, last page", p.stdout + p.stderr)
    p = gcall("ListTasks", run_id, "['succeeded']", "", 2)
    ids = re.findall(r"'id': <'([^']+)'>", p.stdout)
    cursor = re.search(r"\], '([^']*)'\)\s*$", p.stdout)
    ok(p.returncode == 0 and ids == ["a", "b"] and cursor and cursor.group(1) == "1",
       "ListTasks pages with limit and gives the next cursor", p.stdout + p.stderr)
    p = gcall("ListTasks", run_id, "['succeeded']", "1", 2)
    ok(re.findall(r"'id': <'([^']+)'>", p.stdout) == ["c"],
       "ListTasks continues after the cursor", p.stdout + p.stderr)
    p = gcall("GetTask", run_id, "b")
    ok(p.returncode == 0 and "'attempts': <[{'number': <uint32 1>" in p.stdout and
       "'status': <'succeeded'>" in p.stdout and "'definition': <'{" in p.stdout and
       '\\"needs\\"' not in p.stdout,
       "GetTask has the attempts and the task's definition", p.stdout + p.stderr)

    # pages of runs
    second = gvalue(gcall("Submit", workflow("reads", [noop("a")]), "{}"))
    wait_run(second)
    p = gcall("ListRuns", "{'workflow': <'reads'>}", "", 1)
    first_page = re.findall(r"'id': <'([^']+)'>", p.stdout)
    cursor = re.search(r"\], '([^']*)'\)\s*$", p.stdout)
    ok(p.returncode == 0 and first_page == [second] and cursor and cursor.group(1) == second,
       "ListRuns: newest first, one per page, a cursor", p.stdout + p.stderr)
    p = gcall("ListRuns", "{'workflow': <'reads'>}", second, 1)
    ok(re.findall(r"'id': <'([^']+)'>", p.stdout) == [run_id] and
       p.stdout.strip().endswith("'')"),
       "ListRuns: the next page ends the listing", p.stdout + p.stderr)
    p = gcall("ListRuns", "{'states': <['succeeded']>, 'order': <'oldest'>}", "", 0)
    listed = re.findall(r"'id': <'([^']+)'>", p.stdout)
    ok(listed[:2] == [run_id, second], "ListRuns: filtered by state, oldest first", p.stdout)

    # the monitor saw the run go by
    ok(mon.wait_for(rf"RunStateChanged \('{run_id}', 'succeeded'\)"),
       "RunStateChanged signals the run's end", mon.text()[-2000:])
    text = mon.text()
    ok(f"RunStateChanged ('{run_id}', 'pending')" in text and
       f"RunStateChanged ('{run_id}', 'running')" in text,
       "RunStateChanged signals submission and start", text[-2000:])
    changes = re.findall(rf"TasksChanged \('{run_id}', (\[[^\]]*\])", text)
    last = {}
    for batch in changes:
        for task_id, state in re.findall(r"\('([^']+)', '([a-z_]+)'\)", batch):
            last[task_id] = state
    ok(last == {"a": "succeeded", "b": "succeeded", "c": "succeeded"},
       "TasksChanged reports every task's last state", text[-3000:])
    pos_tasks = max(text.rfind(f"TasksChanged ('{run_id}'"), 0)
    pos_end = text.find(f"RunStateChanged ('{run_id}', 'succeeded')")
    ok(0 < pos_tasks < pos_end, "a run's task changes are signalled before its end")
    return run_id


def test_fd_submission(d):
    wf = write(os.path.join(WORK, "fd.json"), workflow("from-fd", [noop("x")]))
    # the descriptor is the file itself, opened by the shell as fd 3
    p = run(["sh", "-c", f'exec gdbus call --session -d {NAME} -o {PATH} -m {IFACE}.SubmitFd '
             f'3 "{{\'policy\': <\'fifo\'>}}" 3<"{wf}"'])
    run_id = gvalue(p)
    ok(p.returncode == 0 and run_id, "SubmitFd submits the workflow a file descriptor reads",
       p.stdout + p.stderr)
    ok(wait_run(run_id) == "succeeded", "the run from SubmitFd succeeds")
    p = run(["sh", "-c", f'cat "{wf}" | gdbus call --session -d {NAME} -o {PATH} -m '
             f'{IFACE}.SubmitFd 0 "{{}}"'])
    ok(p.returncode == 0 and gvalue(p), "SubmitFd reads a pipe to its end", p.stdout + p.stderr)


def fd_call(redirect, options="{}"):
    return run(["sh", "-c", f'exec gdbus call --session -d {NAME} -o {PATH} -m {IFACE}.SubmitFd '
                f'3 "{options}" {redirect}'])


def test_errors(d, run_id):
    cases = [
        ("an unknown run", ["GetRun", "01NOSUCHRUN"], "NotFound"),
        ("an unknown task", ["GetTask", run_id, "nope"], "NotFound"),
        ("a run id with a slash", ["GetRun", "a/b"], "InvalidArgument"),
        ("a run id of 129 characters", ["GetRun", "r" * 129], "InvalidArgument"),
        ("a task id starting with a dot", ["GetTask", run_id, ".x"], "InvalidArgument"),
        ("a task id of 10000 characters", ["GetTask", run_id, "t" * 10000], "InvalidArgument"),
        ("an unknown task state", ["ListTasks", run_id, "['nope']", "", 0], "InvalidArgument"),
        ("a limit above the maximum", ["ListRuns", "{}", "", 1001], "InvalidArgument"),
        ("a filter of the wrong type", ["ListRuns", "{'states': <'running'>}", "", 0],
         "InvalidArgument"),
        ("an unknown filter", ["ListRuns", "{'colour': <'red'>}", "", 0], "InvalidArgument"),
        ("a bad run cursor", ["ListRuns", "{}", "../x", 0], "InvalidArgument"),
        ("a bad task cursor", ["ListTasks", run_id, "[]", "x", 0], "InvalidArgument"),
        ("a bad DLQ cursor", ["DlqList", "", "nocursor", 0], "InvalidArgument"),
        ("cancelling a finished run", ["CancelRun", run_id, ""], "Exists"),
        ("cancelling a finished task", ["CancelTask", run_id, "a", ""], "Exists"),
        ("a reason over 1024 bytes", ["CancelRun", run_id, "r" * 1025], "InvalidArgument"),
        ("replaying a task that is not dead", ["DlqReplay", run_id, "a", "{}"], "NotFound"),
        ("an unknown retry option", ["RetryTask", run_id, "a", "{'sett': <'{}'>}"],
         "InvalidArgument"),
        ("a set that is not a JSON object", ["RetryTask", run_id, "a", "{'set': <'[1]'>}"],
         "InvalidArgument"),
        ("a set nested too deep",
         ["RetryTask", run_id, "a", "{'set': <'" + "[" * 100 + "'>}"], "InvalidArgument"),
        ("a bad timeout", ["RetryTask", run_id, "a", "{'timeout': <'soon'>}"],
         "InvalidArgument"),
        ("an unknown submit option", ["Submit", workflow("x", [noop("a")]),
                                      "{'labels': <{'a': 'b'}>}"], "InvalidArgument"),
        ("an idempotency key of the wrong type",
         ["Submit", workflow("x", [noop("a")]), "{'idempotency-key': <42>}"], "InvalidArgument"),
        ("an idempotency key with a space",
         ["Submit", workflow("x", [noop("a")]), "{'idempotency-key': <'a b'>}"],
         "InvalidArgument"),
        ("an idempotency key of 200 characters",
         ["Submit", workflow("x", [noop("a")]), "{'idempotency-key': <'" + "k" * 200 + "'>}"],
         "InvalidArgument"),
        ("an unknown policy", ["Submit", workflow("x", [noop("a")]), "{'policy': <'nope'>}"],
         "InvalidArgument"),
        ("a workflow that is not JSON", ["Submit", "{", "{}"], "InvalidArgument"),
        ("an empty workflow", ["Submit", "", "{}"], "InvalidArgument"),
    ]
    for name, args, error in cases:
        p = gcall(*args)
        ok(p.returncode != 0 and f"GDBus.Error:{ERR}{error}:" in p.stderr,
           f"{name}: {error}", p.stdout + p.stderr)

    p = gcall("Submit", workflow("bad", [noop("a", needs=["bild"]), noop("build")]), "{}")
    ok(p.returncode != 0 and f"{ERR}InvalidArgument" in p.stderr and
       "did you mean 'build'" in p.stderr,
       "an invalid workflow is InvalidArgument naming every problem", p.stderr)

    # types the interface does not declare: GDBus refuses them before the daemon sees them
    p = run(["dbus-send", "--session", "--print-reply", f"--dest={NAME}", PATH,
             f"{IFACE}.GetRun", "int32:42"])
    ok(p.returncode != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in p.stderr,
       "an argument of the wrong type: InvalidArgs", p.stdout + p.stderr)
    p = run(["dbus-send", "--session", "--print-reply", f"--dest={NAME}", PATH,
             f"{IFACE}.GetTask", "string:only-one"])
    ok(p.returncode != 0 and "org.freedesktop.DBus.Error.InvalidArgs" in p.stderr,
       "too few arguments: InvalidArgs", p.stdout + p.stderr)
    p = run(["dbus-send", "--session", "--print-reply", f"--dest={NAME}", PATH,
             f"{IFACE}.Reboot"])
    ok(p.returncode != 0 and "org.freedesktop.DBus.Error.UnknownMethod" in p.stderr,
       "an unknown method: UnknownMethod", p.stdout + p.stderr)

    # what a file descriptor gives is untrusted input too
    bad = write(os.path.join(WORK, "bad-utf8.json"), b'{"name": "\xff\xfe", "tasks": []}', "wb")
    p = fd_call(f'3<"{bad}"')
    ok(f"{ERR}InvalidArgument" in p.stderr and "UTF-8" in p.stderr,
       "SubmitFd: invalid UTF-8 is InvalidArgument", p.stdout + p.stderr)
    nul = write(os.path.join(WORK, "nul.json"), b'{"name": "a\x00b", "tasks": []}', "wb")
    p = fd_call(f'3<"{nul}"')
    ok(f"{ERR}InvalidArgument" in p.stderr, "SubmitFd: a NUL byte is InvalidArgument",
       p.stdout + p.stderr)
    big = os.path.join(WORK, "big.json")
    with open(big, "wb") as f:
        f.truncate(17 * 1024 * 1024)
    p = fd_call(f'3<"{big}"')
    ok(f"{ERR}LimitExceeded" in p.stderr, "SubmitFd: a file over 16 MiB is LimitExceeded",
       p.stdout + p.stderr)
    p = fd_call("3</dev/zero")
    ok(f"{ERR}LimitExceeded" in p.stderr,
       "SubmitFd: an endless stream is cut at the limit: LimitExceeded", p.stdout + p.stderr)
    p = fd_call(f'3<"{WORK}"')
    ok(f"{ERR}InvalidArgument" in p.stderr and "readable" in p.stderr,
       "SubmitFd: a directory is InvalidArgument", p.stdout + p.stderr)
    p = fd_call(f'3>"{os.path.join(WORK, "wronly")}"')
    ok(f"{ERR}InvalidArgument" in p.stderr and "readable" in p.stderr,
       "SubmitFd: a write-only descriptor is InvalidArgument", p.stdout + p.stderr)
    p = gcall("GetStatus")
    ok(p.returncode == 0, "the daemon answers after all of that", p.stderr)


def test_small_limit():
    """max-workflow-size applies to Submit's string as well"""
    d = Daemon("limit", "[daemon]\nstore = memory\n[frontend-dbus]\nmax-workflow-size = 1024\n",
               ["--bus", "session"])
    try:
        ok(wait_name() and d.wait_log("D-Bus: org.arkitect.Arkitect1 on the session bus"),
           "a daemon with a small max-workflow-size owns the name", d.text())
        tasks = [noop(f"task-{i}") for i in range(40)]
        p = gcall("Submit", workflow("large", tasks), "{}")
        ok(f"{ERR}LimitExceeded" in p.stderr, "Submit: a document over the limit is "
           "LimitExceeded", p.stdout + p.stderr)
    finally:
        d.stop()


def test_dlq_retry_cancel(d):
    wf = workflow("dlq", [
        {"id": "flaky", "run": ["false"],
         "retry": {"max_attempts": 2, "initial_delay": "10ms", "jitter": False}},
        noop("after", needs=["flaky"]),
    ])
    run_id = gvalue(gcall("Submit", wf, "{}"))
    ok(wait_run(run_id) == "failed", "a run with a task that dies fails", run_id)
    p = gcall("DlqList", "", "", 0)
    ok(p.returncode == 0 and f"'run_id': <'{run_id}'>" in p.stdout and
       "'id': <'flaky'>" in p.stdout and "'state': <'dead'>" in p.stdout,
       "DlqList lists the dead task", p.stdout + p.stderr)
    p = gcall("DlqList", run_id, "", 1)
    ok(p.returncode == 0 and p.stdout.strip().endswith("'')"), "DlqList of one run",
       p.stdout + p.stderr)
    p = gcall("DlqReplay", run_id, "flaky", "{'set': <'{\"run\": [\"true\"]}'>, "
              "'timeout': <'30s'>}")
    ok(p.returncode == 0 and "'id': <'flaky'>" in p.stdout,
       "DlqReplay with set and timeout returns the task", p.stdout + p.stderr)
    ok(wait_run(run_id) == "succeeded",
       "the replayed task succeeds with its override, and so does the run")
    ok(task_state(run_id, "after") == "succeeded", "the task after it ran too")

    wf = workflow("retry", [{"id": "once", "run": ["false"]}])
    run_id = gvalue(gcall("Submit", wf, "{}"))
    wait_run(run_id)
    ok(task_state(run_id, "once") == "failed", "a task without retries fails")
    p = gcall("RetryTask", run_id, "once", "{'set': <'{\"run\": [\"true\"]}'>}")
    ok(p.returncode == 0 and "'id': <'once'>" in p.stdout, "RetryTask returns the task",
       p.stdout + p.stderr)
    ok(wait_run(run_id) == "succeeded", "the retried task succeeds")

    wf = workflow("long", [{"id": "sleepy", "executor": "thread", "function": "sleep",
                            "args": "60s"},
                           {"id": "other", "executor": "thread", "function": "sleep",
                            "args": "60s"},
                           noop("later", needs=["other"])])
    run_id = gvalue(gcall("Submit", wf, "{}"))
    ok(wait_task(run_id, "sleepy", ("running",)) == "running", "a long task runs")
    p = gcall("CancelTask", run_id, "sleepy", "not needed")
    ok(p.returncode == 0 and "'id': <'sleepy'>" in p.stdout, "CancelTask returns the task",
       p.stdout + p.stderr)
    ok(wait_task(run_id, "sleepy", ("cancelled",)) == "cancelled", "the task ends cancelled")
    p = gcall("CancelRun", run_id, "wrong branch")
    ok(p.returncode == 0 and f"'id': <'{run_id}'>" in p.stdout, "CancelRun returns the run",
       p.stdout + p.stderr)
    ok(wait_run(run_id) == "cancelled", "the run ends cancelled")
    p = gcall("GetRun", run_id)
    ok("'reason': <'wrong branch" in p.stdout and "'cancelled_by': <'" in p.stdout,
       "the reason and who cancelled are recorded", p.stdout)


def test_add_task(d, finished_run):
    wf = workflow("grow", [{"id": "base", "executor": "thread", "function": "sleep",
                            "args": "60s"}])
    run_id = gvalue(gcall("Submit", wf, "{}"))
    wait_task(run_id, "base", ("running",))
    p = gcall("AddTask", run_id, json.dumps(noop("extra")))
    ok(p.returncode == 0 and "'id': <'extra'>" in p.stdout and f"'run_id': <'{run_id}'>"
       in p.stdout, "AddTask adds a task to an open run and returns it", p.stdout + p.stderr)
    ok(wait_task(run_id, "extra", ("succeeded",)) == "succeeded", "the added task runs")
    p = gcall("AddTask", run_id, json.dumps(noop("after-base", needs=["base"])))
    ok(p.returncode == 0 and task_state(run_id, "after-base") == "pending",
       "an added task may need a task of the run", p.stdout + p.stderr)
    for name, run, task, error in (
            ("a duplicate id", run_id, json.dumps(noop("extra")), "InvalidArgument"),
            ("an unknown need", run_id, json.dumps(noop("x", needs=["nope"])), "InvalidArgument"),
            ("a task that is not an object", run_id, "[1]", "InvalidArgument"),
            ("a task that is not JSON", run_id, "{", "InvalidArgument"),
            ("a finished run", finished_run, json.dumps(noop("late")), "InvalidArgument"),
            ("an unknown run", "01NOSUCHRUN", json.dumps(noop("late")), "NotFound")):
        p = gcall("AddTask", run, task)
        ok(f"{ERR}{error}" in p.stderr, f"AddTask with {name}: {error}", p.stdout + p.stderr)
    gcall("CancelRun", run_id, "")
    ok(wait_run(run_id) == "cancelled", "the grown run is cancelled")
    ok(any(r.get("action") == "task.add" and r.get("target") == f"{run_id}/extra" and
           r.get("result") == "ok" for r in audit_records(d)),
       "AddTask is audited as task.add with RUN/TASK")


def test_explain(d, run_id):
    p = gcall("Explain", run_id, "a")
    ok(p.returncode == 0 and "'state': <'succeeded'>" in p.stdout and
       "'summary': <'" in p.stdout and f"'run_id': <'{run_id}'>" in p.stdout,
       "Explain says why a task is where it is", p.stdout + p.stderr)
    wf = workflow("explain", [{"id": "blocker", "executor": "thread", "function": "sleep",
                               "args": "60s"}, noop("waiting", needs=["blocker"])])
    waiting = gvalue(gcall("Submit", wf, "{}"))
    wait_task(waiting, "blocker", ("running",))
    p = gcall("Explain", waiting, "waiting")
    ok(p.returncode == 0 and "'state': <'pending'>" in p.stdout and
       "'waiting_for': <[<{'task_id': <'blocker'>" in p.stdout,
       "Explain of a pending task names what it waits for", p.stdout + p.stderr)
    c = cli("explain", waiting, "waiting")
    ok(c.returncode == 0 and "waiting" in c.stdout and "blocker" in c.stdout,
       "arkitect explain prints it", c.stdout + c.stderr)
    c = cli("explain", waiting, "waiting", "--json")
    try:
        doc = json.loads(c.stdout)
    except ValueError:
        doc = {}
    ok(doc.get("state") == "pending" and doc.get("task_id") == "waiting",
       "arkitect explain --json", c.stdout + c.stderr)
    c = run([ARKITECT, "explain", waiting, "waiting", "--json", "--state-dir", d.state])
    try:
        http_doc = json.loads(c.stdout)
    except ValueError:
        http_doc = {}
    ok(http_doc.get("state") == "pending" and
       http_doc.get("waiting_for") == doc.get("waiting_for"),
       "arkitect explain over HTTP (--state-dir) says the same", c.stdout + c.stderr)
    p = gcall("Explain", waiting, "nope")
    ok(f"{ERR}NotFound" in p.stderr, "Explain of an unknown task: NotFound", p.stderr)
    gcall("CancelRun", waiting, "")
    wait_run(waiting)


def test_vanishing_client(d):
    """SubmitFd from a client that is killed before the answer: the daemon reads the pipe to
    its end, submits, answers nobody and goes on"""
    r, w = os.pipe()
    ino = os.fstat(r).st_ino
    client = subprocess.Popen(["sh", "-c", f'exec gdbus call --session -d {NAME} -o {PATH} '
                               f'-m {IFACE}.SubmitFd 3 "{{}}" 3<&{r}'], pass_fds=(r,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(r)
    # the call has reached the daemon when the daemon holds the pipe
    held = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not held:
        fd_dir = f"/proc/{d.proc.pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(os.path.join(fd_dir, fd)) == f"pipe:[{ino}]":
                    held = True
            except OSError:
                pass
        time.sleep(0.02)
    ok(held, "the daemon holds the descriptor of the pending call")
    client.kill()
    client.wait()
    os.write(w, workflow("vanished", [noop("v")]).encode())
    os.close(w)
    deadline = time.monotonic() + 20
    found = []
    while time.monotonic() < deadline and not found:
        p = gcall("ListRuns", "{'workflow': <'vanished'>}", "", 0)
        found = re.findall(r"'id': <'([^']+)'>", p.stdout)
        time.sleep(0.05)
    ok(len(found) == 1, "the run of a vanished client was submitted once", found)
    ok(found and wait_run(found[0]) == "succeeded", "and it runs")
    ok(d.proc.poll() is None and gcall("GetStatus").returncode == 0,
       "the daemon answers the next client")

    # a client that dies while its Submit waits for the caller lookup and the commit
    procs = [subprocess.Popen(["gdbus", "call", "--session", "-d", NAME, "-o", PATH, "-m",
                               f"{IFACE}.Submit", workflow("burst", [noop("b")]), "{}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(20)]
    for proc in procs:
        proc.kill()
    for proc in procs:
        proc.wait()
    ok(d.proc.poll() is None and gcall("GetStatus").returncode == 0,
       "twenty clients killed mid-call leave the daemon serving")


def test_coalescing(d):
    n = 10000
    path = write(os.path.join(WORK, "big-run.json"),
                 workflow("ten-thousand", [noop(f"t{i}") for i in range(n)]))
    mon = Monitor()
    time.sleep(0.5)  # the monitor's match rule is in place before the run starts
    p = run(["sh", "-c", f'exec gdbus call --session -d {NAME} -o {PATH} -m '
             f'{IFACE}.SubmitFd 3 "{{}}" 3<"{path}"'])
    run_id = gvalue(p)
    ok(p.returncode == 0 and run_id, f"a run of {n} tasks is submitted", p.stdout + p.stderr)
    seen_end = mon.wait_for(rf"RunStateChanged \('{run_id}', 'succeeded'\)", timeout=300)
    mon.stop()
    ok(seen_end, "the monitor sees the run succeed")
    text = mon.text()
    batches = re.findall(rf"TasksChanged \('{run_id}', (\[[^\]]*\])", text)
    last = {}
    entries = 0
    for batch in batches:
        for task_id, state in re.findall(r"\('([^']+)', '([a-z_]+)'\)", batch):
            last[task_id] = state
            entries += 1
    runs_signals = len(re.findall(rf"RunStateChanged \('{run_id}'", text))
    # every task goes at least through running and succeeded
    transitions = 2 * n
    note(f"{n} tasks: {len(batches)} TasksChanged + {runs_signals} RunStateChanged signals "
         f"carrying {entries} task states, for at least {transitions} task transitions")
    ok(len(last) == n and set(last.values()) == {"succeeded"},
       "coalesced signals still report every task's final state", len(last))
    ok(len(batches) + runs_signals <= transitions // 10,
       f"signals are far fewer than transitions ({len(batches) + runs_signals} for "
       f">= {transitions})")
    ok(max((b.count("('") for b in batches), default=0) <= 1000,
       "no TasksChanged carries more than 1000 tasks")
    return run_id


def test_cli(d, run_id):
    wf = write(os.path.join(WORK, "cli.json"),
               workflow("cli", [noop("one"), {"id": "two", "needs": ["one"], "run": ["false"]}]))
    c = cli("submit", wf, "--idempotency-key", "cli-1")
    new = c.stdout.strip()
    ok(c.returncode == 0 and re.fullmatch(r"[0-9A-Z]{26}", new),
       "arkitect submit over D-Bus prints the run id", c.stdout + c.stderr)
    c = cli("submit", wf, "--idempotency-key", "cli-1")
    ok(c.returncode == 0 and c.stdout.strip() == new and "already submitted" in c.stderr,
       "arkitect submit with the same key: the same run", c.stdout + c.stderr)
    ok(wait_run(new) == "failed", "the run from the command line ran")
    c = cli("status", "--json")
    ok(c.returncode == 0 and json.loads(c.stdout).get("bus") == "session",
       "arkitect status asked over D-Bus (no http.url where it looks)", c.stdout + c.stderr)
    c = cli("runs", "--json", "--workflow", "cli")
    runs = json.loads(c.stdout).get("runs", []) if c.returncode == 0 else []
    ok([r.get("id") for r in runs] == [new] and runs[0].get("created_at", "").endswith("Z"),
       "arkitect runs --json: the HTTP API's shape, timestamps as RFC 3339",
       c.stdout + c.stderr)
    c = cli("runs")
    ok(c.returncode == 0 and new in c.stdout and "cli" in c.stdout, "arkitect runs",
       c.stdout + c.stderr)
    c = cli("tasks", new)
    ok(c.returncode == 0 and re.search(r"two\s+failed", c.stdout), "arkitect tasks",
       c.stdout + c.stderr)
    c = cli("status", new)
    ok(c.returncode == 0 and "two failed: exited with status 1" in c.stdout,
       "arkitect status RUN reports the run", c.stdout + c.stderr)

    # the same answers as over HTTP
    http = run([ARKITECT, "tasks", new, "--json", "--state-dir", d.state])
    dbus = cli("tasks", new, "--json")
    strip = lambda doc: [{k: v for k, v in t.items() if v is not None}
                         for t in json.loads(doc)["tasks"]]
    ok(http.returncode == 0 and dbus.returncode == 0 and strip(http.stdout) == strip(dbus.stdout),
       "arkitect tasks --json says the same over D-Bus and over HTTP",
       http.stdout + http.stderr + dbus.stdout + dbus.stderr)

    c = cli("retry", new, "two", "--set", 'run=["true"]')
    ok(c.returncode == 0 and "retrying task two" in c.stdout, "arkitect retry",
       c.stdout + c.stderr)
    ok(wait_run(new) == "succeeded", "the retried run succeeds")

    wf = write(os.path.join(WORK, "cli-dlq.json"), workflow("cli-dlq", [
        {"id": "dies", "run": ["false"],
         "retry": {"max_attempts": 2, "initial_delay": "10ms", "jitter": False}}]))
    dead_run = cli("submit", wf).stdout.strip()
    wait_run(dead_run)
    c = cli("dlq", "list")
    ok(c.returncode == 0 and dead_run in c.stdout and "dies" in c.stdout, "arkitect dlq list",
       c.stdout + c.stderr)
    c = cli("dlq", "show", dead_run, "dies")
    ok(c.returncode == 0 and "dead" in c.stdout and '"run"' in c.stdout,
       "arkitect dlq show has the attempts and the definition", c.stdout + c.stderr)
    c = cli("dlq", "replay", dead_run, "dies", "--set", 'run=["true"]')
    ok(c.returncode == 0 and "retrying task dies" in c.stdout, "arkitect dlq replay",
       c.stdout + c.stderr)
    ok(wait_run(dead_run) == "succeeded", "the replayed run succeeds")

    wf = write(os.path.join(WORK, "cli-long.json"), workflow("cli-long", [
        {"id": "s", "executor": "thread", "function": "sleep", "args": "60s"}]))
    long_run = cli("submit", wf).stdout.strip()
    wait_task(long_run, "s", ("running",))
    c = cli("cancel", long_run, "--reason", "from the cli")
    ok(c.returncode == 0 and f"cancelling run {long_run}" in c.stdout, "arkitect cancel",
       c.stdout + c.stderr)
    ok(wait_run(long_run) == "cancelled", "the run is cancelled")

    c = cli("status", "01NOSUCHRUN")
    ok(c.returncode == 2 and "there is no run 01NOSUCHRUN" in c.stderr,
       "an unknown run over D-Bus: exit 2 with the daemon's message", c.stdout + c.stderr)
    c = cli("cancel", long_run)
    ok(c.returncode == 2 and "already finished" in c.stderr,
       "cancelling a finished run: exit 2", c.stdout + c.stderr)
    c = cli("runs", "--bus", "none")
    ok(c.returncode == 3 and "no daemon" in c.stderr,
       "--bus none: no D-Bus, and no http.url in this state directory", c.stdout + c.stderr)
    c = cli("runs", "--bus", "system", env={"DBUS_SYSTEM_BUS_ADDRESS":
                                            "unix:path=/nonexistent/ark-test-bus"})
    ok(c.returncode == 3 and "no daemon on the system bus" in c.stderr,
       "--bus system without a system bus: exit 3", c.stdout + c.stderr)
    c = cli("runs", "--json", "--state-dir", d.state)
    ok(c.returncode == 0 and new in c.stdout, "--state-dir means that daemon, over HTTP",
       c.stdout + c.stderr)


def test_audit(d):
    records = audit_records(d)
    uid = os.getuid()
    dbus_records = [r for r in records if str(r.get("origin", "")).startswith("dbus :")]
    actions = {r.get("action") for r in dbus_records}
    ok({"run.submit", "run.cancel", "task.cancel", "task.retry", "task.add", "dlq.replay"} <=
       actions,
       "every mutating method is in the audit log", sorted(actions))
    ok(all(str(r.get("actor", "")).startswith(f"uid {uid}") for r in dbus_records),
       "the actor is the caller's uid as the bus reports it",
       {r.get("actor") for r in dbus_records})
    ok(any(r.get("action") == "run.cancel" and r.get("result") == "exists"
           for r in dbus_records), "a refused call is audited with its error", "")
    reads = [r for r in dbus_records if r.get("action") not in
             ("run.submit", "run.cancel", "task.cancel", "task.retry", "task.add",
              "dlq.replay")]
    ok(not reads, "reads are not audited", reads[:3])


def test_second_daemon(d):
    """a second daemon waits for the name and takes it when the first one stops"""
    second = Daemon("second", "[daemon]\nstore = memory\n", ["--bus", "session"])
    ok(second.wait_log("is taken on the session bus"),
       "a second daemon finds the name taken, logs it and runs on", second.text())
    first_owner = name_owner()
    rc = d.stop()
    ok(rc == 0, "the first daemon stops cleanly", d.text()[-2000:])
    m = re.search(r"D-Bus interface stopped \((\d+) signals for (\d+) task transitions\)",
                  d.text())
    if m:
        note(f"the first daemon sent {m.group(1)} signals for {m.group(2)} task transitions")
    ok(m is not None and int(m.group(1)) * 10 < int(m.group(2)),
       "over its life the daemon sent far fewer signals than task transitions",
       d.text()[-500:])
    ok(second.wait_log("D-Bus: org.arkitect.Arkitect1 on the session bus"),
       "the second daemon takes the name over", second.text())
    ok(name_owner() not in (None, first_owner), "the name has a new owner")
    ok(second.stop() == 0, "and stops cleanly")

    none = Daemon("none", "[daemon]\nstore = memory\nbus = session\n", ["--bus", "none"])
    ok(none.wait_log("D-Bus: off ([daemon] bus = none)"),
       "--bus none overrides the configuration: no D-Bus", none.text())
    ok(name_owner() is None, "nobody owns the name")
    ok(none.stop() == 0, "it stops cleanly")
    p = run([ARKITECTD, "--bus", "bogus"])
    ok(p.returncode == 2 and "--bus" in p.stderr, "a bad --bus is a usage error", p.stderr)


def test_drain():
    """SIGTERM: State turns draining (PropertiesChanged), new work is Busy, reads still work"""
    d = Daemon("drain", "[daemon]\nstore = memory\n", ["--bus", "session"])
    mon = Monitor()
    try:
        ok(wait_name() and d.wait_log("on the session bus"), "a daemon to drain", d.text())
        wf = workflow("drain", [{"id": "s", "executor": "thread", "function": "sleep",
                                 "args": "60s"}])
        run_id = gvalue(gcall("Submit", wf, "{}"))
        wait_task(run_id, "s", ("running",))
        d.proc.send_signal(signal.SIGTERM)
        ok(mon.wait_for(r"PropertiesChanged \('org.arkitect.Arkitect1.Manager', "
                        r"\{[^\n]*'State': <'draining'>", timeout=20),
           "State turns draining, announced by PropertiesChanged", mon.text()[-2000:])
        p = gcall("Submit", wf, "{}")
        ok(f"{ERR}Busy" in p.stderr and "shutting down" in p.stderr,
           "Submit while draining: Busy", p.stdout + p.stderr)
        ok(gcall("GetRun", run_id).returncode == 0, "reads still work while draining")
        d.proc.send_signal(signal.SIGTERM)  # a second one: stop waiting for the sleeper
    finally:
        rc = d.stop()
        mon.stop()
    ok(rc == 0, "the drained daemon stops cleanly", d.text()[-2000:])


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{type}</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  {policy}
</busconfig>
"""

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

OPEN_POLICY = """<policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>"""


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


NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def test_access_rule():
    """the daemon's own rule: on a bus that lets everyone call everything, a user outside
    admin-group may read but not change anything"""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip("the access rule for other users", "needs root and setpriv to call as nobody")
        return
    bus = Bus("open-bus", "session", OPEN_POLICY)
    env = {"DBUS_SESSION_BUS_ADDRESS": bus.address}
    d = Daemon("access", "[daemon]\nstore = memory\n", ["--bus", "session"], env=env)
    try:
        ok(wait_name(bus.address), "the daemon owns the name on a bus open to everyone",
           d.text())
        p = gcall("GetStatus", address=bus.address, prefix=NOBODY)
        ok(p.returncode == 0, "nobody may read (GetStatus)", p.stdout + p.stderr)
        p = gcall("ListRuns", "{}", "", 0, address=bus.address, prefix=NOBODY)
        ok(p.returncode == 0, "nobody may list runs", p.stdout + p.stderr)
        p = gcall("Submit", workflow("from-nobody", [noop("a")]), "{}", address=bus.address,
                  prefix=NOBODY)
        ok(f"{ERR}PermissionDenied" in p.stderr and "arkitect" in p.stderr,
           "nobody may not submit: PermissionDenied naming the group", p.stdout + p.stderr)
        p = gcall("CancelRun", "01NOSUCHRUN", "", address=bus.address, prefix=NOBODY)
        ok(f"{ERR}PermissionDenied" in p.stderr,
           "the rule comes before the arguments are looked at", p.stdout + p.stderr)
        p = gcall("AddTask", "01NOSUCHRUN", "{}", address=bus.address, prefix=NOBODY)
        ok(f"{ERR}PermissionDenied" in p.stderr, "nobody may not add tasks",
           p.stdout + p.stderr)
        p = gcall("Submit", workflow("from-root", [noop("a")]), "{}", address=bus.address)
        ok(p.returncode == 0, "root may submit", p.stdout + p.stderr)
        denied = [r for r in audit_records(d) if r.get("result") == "permission-denied"]
        ok(any(r.get("actor", "").startswith("uid 65534") and r.get("action") == "run.submit"
               for r in denied), "the refusal is audited with nobody's uid", denied)

        # admin-group: nobody's primary group, after a reload
        group = run(["id", "-gn", "nobody"]).stdout.strip() or "nogroup"
        write(d.conf, f"[frontend-http]\nlisten = 127.0.0.1:0\n[daemon]\nstore = memory\n"
                      f"[frontend-dbus]\nadmin-group = {group}\n")
        d.proc.send_signal(signal.SIGHUP)
        ok(d.wait_log("configuration reloaded"), "the daemon reloads", d.text())
        ok(wait_name(bus.address), "and owns the name again")
        p = gcall("Submit", workflow("from-nobody", [noop("a")]), "{}", address=bus.address,
                  prefix=NOBODY)
        ok(p.returncode == 0, f"a member of admin-group ({group}) may submit",
           p.stdout + p.stderr)

        # losing the bus
        bus.stop()
        ok(d.wait_log("lost the connection to the session bus"),
           "losing the bus is logged", d.text())
        time.sleep(0.3)
        ok(d.proc.poll() is None, "and the daemon runs on")
    finally:
        rc = d.stop()
        bus.stop()
    ok(rc == 0, "it stops cleanly without its bus", d.text()[-2000:])


def test_system_policy():
    """data/org.arkitect.Arkitect1.conf on a bus configured like the system bus"""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        skip("the system bus policy", "needs root and setpriv to call as nobody")
        return
    conf = os.path.join(SRC, "data", "org.arkitect.Arkitect1.conf")
    bus = Bus("system-bus", "system", SYSTEM_POLICY.format(conf=conf))
    env = {"DBUS_SYSTEM_BUS_ADDRESS": bus.address, "DBUS_SESSION_BUS_ADDRESS": ""}
    d = Daemon("system", "[daemon]\nstore = memory\n", env=env)
    try:
        ok(wait_name(bus.address) and d.wait_log("on the system bus"),
           "with no session bus, the daemon takes the system bus by itself and root may own "
           "the name", d.text())
        ok(d.wait_log("chosen automatically"), "the log says the bus was chosen", d.text())
        p = gcall("GetStatus", address=bus.address, prefix=NOBODY)
        ok(p.returncode == 0, "the policy lets everyone read", p.stdout + p.stderr)
        p = gcall("GetAll", IFACE, iface="org.freedesktop.DBus.Properties",
                  address=bus.address, prefix=NOBODY)
        ok(p.returncode == 0, "and read the properties", p.stdout + p.stderr)
        p = run(list(NOBODY) + ["gdbus", "introspect", "--address", bus.address, "-d", NAME,
                                "-o", PATH])
        ok(p.returncode == 0 and IFACE in p.stdout, "and introspect", p.stdout + p.stderr)
        for method, args in (("Submit", (workflow("x", [noop("a")]), "{}")),
                             ("CancelRun", ("01NOSUCHRUN", "")),
                             ("RetryTask", ("01NOSUCHRUN", "a", "{}")),
                             ("AddTask", ("01NOSUCHRUN", "{}"))):
            p = gcall(method, *args, address=bus.address, prefix=NOBODY)
            ok("org.freedesktop.DBus.Error.AccessDenied" in p.stderr,
               f"the bus refuses {method} from nobody", p.stdout + p.stderr)
        p = gcall("Submit", workflow("x", [noop("a")]), "{}", address=bus.address)
        ok(p.returncode == 0, "root may submit", p.stdout + p.stderr)
        c = run([ARKITECT, "runs", "--json"], env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address,
                                                  "DBUS_SESSION_BUS_ADDRESS": "",
                                                  "XDG_STATE_HOME": os.path.join(WORK, "xdg")})
        ok(c.returncode == 0 and '"workflow" : "x"' in c.stdout,
           "arkitect finds the daemon on the system bus", c.stdout + c.stderr)
    finally:
        d.stop()
        bus.stop()


def main():
    print("TAP version 13", flush=True)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        print("1..0 # SKIP not under dbus-run-session")
        return 0
    os.makedirs(os.path.join(WORK, "xdg"), exist_ok=True)
    d = Daemon("main", "", ["--bus", "session"])
    mon = Monitor()
    try:
        ok(wait_name() and d.wait_log("D-Bus: org.arkitect.Arkitect1 on the session bus"),
           "the daemon owns org.arkitect.Arkitect1 on the session bus", d.text())
        test_introspection_and_properties(d)
        test_status(d)
        run_id = test_submit_and_read(d, mon)
        test_fd_submission(d)
        test_errors(d, run_id)
        test_dlq_retry_cancel(d)
        test_explain(d, run_id)
        test_add_task(d, run_id)
        test_vanishing_client(d)
        test_coalescing(d)
        test_cli(d, run_id)
        # the properties are published at most every 100 ms: a run the tests above left
        # finishing is counted a moment later, so agreement is awaited, not sampled once
        deadline = time.monotonic() + 10
        while True:
            p = gcall("GetAll", IFACE, iface="org.freedesktop.DBus.Properties")
            m = re.search(r"'RunCounts': <\{([^}]*)\}>", p.stdout)
            counts = dict(re.findall(r"'([a-z]+)': (?:uint32 )?(\d+)", m.group(1))) if m else {}
            lr = gcall("ListRuns", "{'states': <['succeeded']>}", "", 1000)
            agree = (int(counts.get("succeeded", -1)) == len(re.findall(r"'id': <'", lr.stdout))
                     and int(counts.get("running", -1)) == 0)
            if agree or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        ok(agree, "RunCounts agrees with ListRuns", p.stdout)
        test_audit(d)
        mon.stop()
        test_second_daemon(d)
        test_small_limit()
        test_drain()
        test_access_rule()
        test_system_policy()
    finally:
        if d.proc.poll() is None:
            d.stop()
        if mon.proc.poll() is None:
            mon.stop()
        print(f"1..{n_test}")
        if failed == 0:
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            print(f"# work directory kept: {WORK}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
