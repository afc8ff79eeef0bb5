#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""arkitectd as a process: configuration checks, one daemon per state directory, the systemd
notification protocol (a real datagram socket as $NOTIFY_SOCKET), taking over unfinished runs at
start, and the SIGTERM drain that interrupts what runs and lets the next start finish it.

Usage: daemon-test.py ARKITECT ARKITECTD   (ARK_PLUGIN_DIR set, as meson test does). TAP output.
"""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

ARKITECT, ARKITECTD = sys.argv[1], sys.argv[2]
WORK = tempfile.mkdtemp(prefix="ark-daemon-test-")
n_test = 0
failed = 0


def ok(cond, name, detail=""):
    global n_test, failed
    n_test += 1
    if cond:
        print(f"ok {n_test} - {name}")
    else:
        failed += 1
        print(f"not ok {n_test} - {name}")
        for line in str(detail).splitlines():
            print(f"#   {line}")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def daemon(args, env=None, **kw):
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    e.update(env or {})
    return subprocess.Popen([ARKITECTD] + args, env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def run(args, timeout=60):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


class Notify:
    """the service manager's end of sd_notify(3)"""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        for m in self.messages:
            if needle in m:
                return m
        while time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                data = self.sock.recv(65536).decode()
            except socket.timeout:
                break
            self.messages.append(data)
            if needle in data:
                return data
        return None


def store_rows(state, query, args=()):
    db = sqlite3.connect(f"file:{state}/arkitect.db?mode=ro", uri=True)
    try:
        return db.execute(query, args).fetchall()
    finally:
        db.close()


def test_config_errors():
    conf = os.path.join(WORK, "bad", "arkitect.conf")
    write(conf, "[daemon]\ndrain-timeout = 5s\nbogus = 1\n\n[engine]\nloop-lag-limit = 3x\n"
          "[nothing-here]\nkey = value\n")
    write(os.path.join(WORK, "bad", "conf.d", "10-a.conf"), "[executor-process]\nslots = 4\n")
    # the later drop-in wins, and its error names the drop-in
    write(os.path.join(WORK, "bad", "conf.d", "20-b.conf"), "[executor-process]\nslots = 0\n")
    p = run([ARKITECTD, "--config", conf, "--state-dir", os.path.join(WORK, "bad", "state")])
    ok(p.returncode == 2, "bad configuration exits 2", p.stderr)
    ok(f"{conf}:3: unknown key 'bogus' in [daemon]" in p.stderr, "unknown key with file:line",
       p.stderr)
    ok(f"{conf}:6: [engine] loop-lag-limit: '3x' is not a duration" in p.stderr,
       "bad duration with file:line", p.stderr)
    ok("20-b.conf:2: [executor-process] slots: '0' is out of range" in p.stderr,
       "drop-ins override in lexical order; the error names the drop-in", p.stderr)
    ok(f"{conf}:7: section [nothing-here] is not read" in p.stderr,
       "unknown section is a warning with file:line", p.stderr)
    ok(not os.path.exists(os.path.join(WORK, "bad", "state")),
       "nothing is created before the configuration is clean")

    write(conf, "[daemon]\nthis line has no equals sign\n")
    p = run([ARKITECTD, "--config", conf, "--check-config"])
    ok(p.returncode == 2 and f"{conf}:2: expected 'key = value'" in p.stderr,
       "syntax error with file:line", p.stderr)
    write(conf, "\x00\x01 binary")
    p = run([ARKITECTD, "--config", conf, "--check-config"])
    ok(p.returncode == 2 and "not a text file" in p.stderr, "binary file refused", p.stderr)
    write(conf, "[daemon]\n" + "x" * (2 * 1024 * 1024) + "\n")
    p = run([ARKITECTD, "--config", conf, "--check-config"])
    ok(p.returncode == 2 and "larger than a configuration file may be" in p.stderr,
       "oversized file refused", p.stderr)
    p = run([ARKITECTD, "--config", os.path.join(WORK, "missing.conf"), "--check-config"])
    ok(p.returncode == 2 and "missing.conf" in p.stderr, "a --config that does not exist", p.stderr)
    os.remove(os.path.join(WORK, "bad", "conf.d", "20-b.conf"))
    write(conf, "# comments only\n[daemon]\ndrain-timeout = 1m\n")
    p = run([ARKITECTD, "--config", conf, "--check-config"])
    ok(p.returncode == 0 and "10-a.conf: ok" in p.stdout, "--check-config passes a clean set",
       p.stdout + p.stderr)
    p = run([ARKITECTD, "--bogus-option"])
    ok(p.returncode == 2, "unknown option exits 2", p.stderr)


def start_daemon(state, conf, notify_path=None, extra_env=None):
    # the HTTP frontend's default port is shared by the whole machine: tests take a free one
    write(os.path.join(os.path.dirname(conf), "conf.d", "99-http.conf"),
          "[frontend-http]\nlisten = 127.0.0.1:0\n")
    env = dict(extra_env or {})
    if notify_path:
        env["NOTIFY_SOCKET"] = notify_path
    return daemon(["--config", conf, "--state-dir", state], env=env)


def stop(proc, sig=signal.SIGTERM, timeout=30):
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, err
    return proc.returncode, err


def test_notify_and_single_instance():
    state = os.path.join(WORK, "notify", "state")
    conf = os.path.join(WORK, "notify", "arkitect.conf")
    write(conf, "[daemon]\nhealth-interval = 200ms\n")
    n = Notify(os.path.join(WORK, "notify", "sock"))
    proc = start_daemon(state, conf, n.path, {"WATCHDOG_USEC": "400000"})
    ready = n.wait_for("READY=1")
    ok(ready is not None and f"MAINPID={proc.pid}" in ready, "READY=1 with MAINPID", ready)
    ok(n.wait_for("STATUS=") is not None, "STATUS= lines")
    ok(n.wait_for("WATCHDOG=1", timeout=5) is not None, "WATCHDOG=1 from the main loop")

    second = run([ARKITECTD, "--config", conf, "--state-dir", state])
    ok(second.returncode == 3 and f"in use by process {proc.pid}" in second.stderr,
       "a second daemon on the state directory exits 3 naming the holder", second.stderr)
    cli = run([ARKITECT, "run", "--state-dir", state, "--quiet",
               os.path.join(WORK, "notify", "wf.json")])
    ok(cli.returncode != 0, "so does arkitect run", cli.stderr)

    n.messages.clear()
    proc.send_signal(signal.SIGHUP)
    ok(n.wait_for("RELOADING=1") is not None, "SIGHUP: RELOADING=1")
    ok(n.wait_for("READY=1") is not None, "then READY=1 after a good reload")
    write(conf, "[daemon]\nhealth-interval = soon\n")
    n.messages.clear()
    proc.send_signal(signal.SIGHUP)
    m = n.wait_for("reload failed")
    ok(m is not None, "a broken configuration on reload keeps the running one", n.messages)
    ok(proc.poll() is None, "and the daemon keeps running")
    n.messages.clear()
    rc, err = stop(proc)
    ok(n.wait_for("STOPPING=1") is not None, "SIGTERM: STOPPING=1")
    ok(rc == 0, "clean stop exits 0", err)
    ok("health-interval: 'soon' is not a duration" in err, "the reload error is logged", err)


def test_resume_and_drain():
    root = os.path.join(WORK, "drain")
    state = os.path.join(root, "state")
    conf = os.path.join(root, "arkitect.conf")
    marker = os.path.join(root, "marker")
    write(conf, "[daemon]\ndrain-timeout = 500ms\n")
    wf = os.path.join(root, "wf.json")
    # 'slow' runs long enough to be running at every signal; each of its starts leaves a line
    write(wf, json.dumps({"name": "drain", "tasks": [
        {"id": "first", "run": ["true"]},
        {"id": "slow", "needs": ["first"], "run": f"echo start >> {marker}; sleep 3", "shell": True,
         "retry": {"max_attempts": 2, "initial_delay": "1ms", "on": ["lost"]}},
        {"id": "after", "needs": ["slow"], "run": ["true"]},
    ]}))

    # an embedded runner starts the run and dies: the daemon must take it over
    cli = subprocess.Popen([ARKITECT, "run", "--state-dir", state, "--quiet", wf],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not os.path.exists(marker):
        time.sleep(0.05)
    cli.kill()
    cli.wait()
    run_id = store_rows(state, "SELECT id FROM runs")[0][0]

    proc = start_daemon(state, conf)
    deadline = time.monotonic() + 30
    starts = 0
    while time.monotonic() < deadline:
        starts = open(marker).read().count("start")
        if starts >= 2:
            break
        time.sleep(0.05)
    ok(starts == 2, "the daemon resumed the unfinished run and started the lost task again")
    lost = store_rows(state, "SELECT status, error FROM attempts WHERE task_id='slow' "
                             "ORDER BY number")
    ok(len(lost) == 2 and lost[0][0] == 5 and "stopped while the attempt ran" in lost[0][1],
       "the dead runner's attempt is recorded lost", lost)

    t0 = time.monotonic()
    rc, err = stop(proc)
    took = time.monotonic() - t0
    ok(rc == 0, "SIGTERM with a running attempt exits 0 after the drain timeout", err)
    ok("interrupting 1 attempt" in err, "the interrupted attempt is logged", err)
    rows = store_rows(state, "SELECT state, retry_base FROM tasks WHERE task_id='slow'")
    attempts = store_rows(state, "SELECT status, error FROM attempts WHERE task_id='slow' "
                                 "ORDER BY number")
    ok(rows[0][0] == 1 and rows[0][1] == 1 and attempts[-1][0] == 4 and
       "interrupted" in attempts[-1][1],
       "the interrupted attempt is recorded cancelled and its task ready", (rows, attempts))
    ok(took < 25, f"the drain did not wait for the task's end ({took:.1f}s)")

    # the next start runs it again (its one-attempt budget is not used up by interruptions)
    proc = start_daemon(state, conf)
    deadline = time.monotonic() + 60
    state_now = None
    while time.monotonic() < deadline:
        state_now = store_rows(state, "SELECT state FROM runs WHERE id=?", (run_id,))[0][0]
        if state_now >= 2:
            break
        time.sleep(0.1)
    ok(state_now == 2, "the run finishes successfully after the restart", state_now)
    st = run([ARKITECT, "status", "--state-dir", state, "--json", run_id])
    ok(st.returncode == 0 and '"succeeded"' in st.stdout,
       "arkitect status reads it beside the running daemon", st.stdout + st.stderr)
    t0 = time.monotonic()
    rc, err = stop(proc)
    ok(rc == 0 and time.monotonic() - t0 < 10, "an idle daemon stops at once", err)


def main():
    print("TAP version 13")
    write(os.path.join(WORK, "notify", "wf.json"),
          json.dumps({"name": "x", "tasks": [{"id": "a", "run": ["true"]}]}))
    try:
        test_config_errors()
        test_notify_and_single_instance()
        test_resume_and_drain()
    finally:
        print(f"1..{n_test}")
        if failed == 0:
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            print(f"# work directory kept: {WORK}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
