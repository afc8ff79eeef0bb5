#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`arkitect audit verify` and `audit list` on a real audit log, intact and tampered with.

ark-audit-writer appends records through a real engine to a sqlite store and its JSON-lines file.
Each case copies that state directory, changes it the way someone covering their tracks would
(with the sqlite3 command on the store, or an editor on the file) and checks that verify exits 1
and names the record that was touched; the untouched log exits 0. Hostile files (garbage, a huge
line, bytes that are not UTF-8) are problems, never a crash; usage errors exit 2, a store or file
that can not be read 3.

Usage: check-audit-cli.py AUDIT_WRITER   (ARK_CLI, ARK_PLUGIN_DIR and G_TEST_SRCDIR from meson)
Exit status: 0 passed, 1 failed, 77 skipped (no sqlite3 command).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

N = 12
failures = []

# what someone who drops the triggers first can do to the store, and what verify then says
STORE_TAMPERING = [
    ("updated actor",
     "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = 5",
     ["record 5: hash does not match its content (modified)",
      "file line 5 differs from store record 5", "audit log damaged"]),
    ("deleted record",
     "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 7",
     ["seq jumps from 6 to 8 (record 7 removed)",
      "file line 7 holds record 7, which the store does not have"]),
    ("swapped records",
     "DROP TRIGGER audit_no_update; UPDATE audit SET seq = -1 WHERE seq = 3;"
     "UPDATE audit SET seq = 3 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = -1",
     ["record 3: prev_hash does not match record 2 (removed or reordered)",
      "record 3: hash does not match its content (modified)",
      "record 4: hash does not match its content (modified)",
      "record 5: prev_hash does not match record 4 (removed or reordered)"]),
    ("the store's tail removed, the file still has it",
     "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > 10",
     ["file line 11 holds record 11, which the store does not have", "head: record 10 "]),
]


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, errors="replace", **kwargs)


def cli(state_dir, *args):
    return run([os.environ["ARK_CLI"], "--state-dir", state_dir, *args])


def sql(state_dir, statement):
    return run(["sqlite3", os.path.join(state_dir, "arkitect.db"), statement])


def check(name, condition, detail=""):
    if condition:
        print(f"ok - {name}")
    else:
        print(f"not ok - {name}\n{detail}")
        failures.append(name)


def expect(name, result, status, *needles):
    """verify/list exited with @status and printed every needle (stdout and stderr)"""
    out = result.stdout + result.stderr
    missing = [n for n in needles if n not in out]
    crashed = "CRITICAL" in out or "ERROR" in out or result.returncode < 0
    check(name, result.returncode == status and not missing and not crashed,
          f"  exit {result.returncode}, expected {status}; missing {missing}\n"
          + "".join(f"  | {line}\n" for line in out.splitlines()[:40]))


def copy_of(pristine, work, name):
    path = os.path.join(work, name)
    shutil.copytree(pristine, path)
    return path


def file_lines(state_dir):
    with open(os.path.join(state_dir, "audit.jsonl"), "rb") as f:
        return f.read().split(b"\n")[:-1]


def write_lines(state_dir, lines, tail=b""):
    with open(os.path.join(state_dir, "audit.jsonl"), "wb") as f:
        f.write(b"".join(line + b"\n" for line in lines) + tail)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    writer = sys.argv[1]
    if shutil.which("sqlite3") is None:
        print("1..0 # SKIP the sqlite3 command is not installed")
        return 77

    work = tempfile.mkdtemp(prefix="ark-audit-cli-")
    try:
        pristine = os.path.join(work, "pristine")
        os.mkdir(pristine)
        result = run([writer, pristine, str(N)])
        check("writer", result.returncode == 0, result.stderr)
        lines = file_lines(pristine)
        head = json.loads(lines[-1])

        # the untouched log
        result = cli(pristine, "audit", "verify")
        expect("intact", result, 0,
               f"audit log intact: {N} records in the store, {N} lines in",
               f"head: record {N} {head['hash']}")
        result = cli(pristine, "audit", "verify", "--json")
        report = json.loads(result.stdout)
        check("intact --json", result.returncode == 0 and report["intact"]
              and report["head"] == {"seq": N, "hash": head["hash"]}
              and report["records"] == N and report["file_lines"] == N
              and report["problems"] == [], result.stdout)
        result = cli(pristine, "audit", "list", "--limit", "3")
        expect("list", result, 0, "SEQ", "token:ci", "01JRUN0011/build")
        check("list shows the newest three",
              [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["10", "11", "12"],
              result.stdout)
        result = cli(pristine, "audit", "list", "--json")
        records = json.loads(result.stdout)["records"]
        check("list --json", [r["seq"] for r in records] == list(range(1, N + 1))
              and records[0]["detail"] == '{"i":0,"note":"é \\"q\\""}'
              and records[-1]["hash"] == head["hash"], result.stdout)

        # the store: the triggers stop a plain UPDATE or DELETE ...
        d = copy_of(pristine, work, "guarded")
        result = sql(d, "UPDATE audit SET actor = 'mallory' WHERE seq = 5")
        check("update refused by the schema", result.returncode != 0
              and "can not be changed" in result.stderr, result.stderr)
        result = sql(d, "DELETE FROM audit WHERE seq = 5")
        check("delete refused by the schema", result.returncode != 0
              and "can not be removed" in result.stderr, result.stderr)
        expect("refused changes leave it intact", cli(d, "audit", "verify"), 0, "intact")

        # ... and someone who drops them first is found out
        for name, statement, needles in STORE_TAMPERING:
            d = copy_of(pristine, work, name)
            result = sql(d, statement)
            check(name + ": tampered", result.returncode == 0, result.stderr)
            expect(name, cli(d, "audit", "verify"), 1, *needles)

        # the file
        d = copy_of(pristine, work, "edited")
        edited = file_lines(d)
        edited[8] = edited[8].replace(b'"actor":"uid 1000 (alice)"', b'"actor":"uid 0 (root)"')
        check("the line to edit exists", edited[8] != lines[8])
        write_lines(d, edited)
        result = cli(d, "audit", "verify")
        expect("edited line", result, 1,
               "file line 9 differs from store record 9 (the line was changed)")
        check("only that line", result.stdout.count("\n") == 3, result.stdout)

        d = copy_of(pristine, work, "truncated")
        write_lines(d, lines[:-1])
        expect("last line dropped", cli(d, "audit", "verify"), 1,
               f"file ends at record {N - 1}, store has {N}")

        d = copy_of(pristine, work, "missing")
        os.unlink(os.path.join(d, "audit.jsonl"))
        expect("file removed", cli(d, "audit", "verify"), 1,
               f"does not exist, store has {N} records")
        expect("--no-file checks the store only", cli(d, "audit", "verify", "--no-file"), 0,
               f"audit log intact: {N} records in the store\n")

        # hostile files: a problem each, never a crash
        d = copy_of(pristine, work, "hostile")
        write_lines(d, [lines[0], b"garbage", b"{" * (3 * 1024 * 1024), b"\xff\xfe bytes",
                        b'{"seq":"2"}', b"\x00", *lines[1:]], b'{"seq":13,')
        expect("hostile file", cli(d, "audit", "verify"), 1,
               "file line 2 is not an audit record",
               "file line 3 is not an audit record (longer than 1048576 bytes)",
               "file line 5 is not an audit record (no positive integer seq)",
               "file line 6 is not an audit record (not UTF-8 text)",
               f"file line {N + 6} does not end with a newline")
        result = cli(d, "audit", "verify", "--json")
        check("hostile file --json", result.returncode == 1
              and len(json.loads(result.stdout)["problems"]) >= 6, result.stdout[:2000])
        with open(os.path.join(d, "noise.jsonl"), "wb") as f:
            f.write(os.urandom(256 * 1024))
        expect("random bytes", cli(d, "audit", "verify", "--file",
                                   os.path.join(d, "noise.jsonl")), 1, "is not an audit record")

        # usage and environment
        for args in (["audit"], ["audit", "bogus"], ["audit", "verify", "extra"],
                     ["audit", "verify", "--file", "x", "--no-file"]):
            expect("usage: " + " ".join(args), cli(pristine, *args), 2, "usage" if
                   "--no-file" not in args else "exclude each other")
        expect("a directory as the file", cli(pristine, "audit", "verify", "--file", work), 3,
               "failed to read")
        old = os.path.join(work, "v2")
        os.mkdir(old)
        shutil.copy(os.path.join(os.environ["G_TEST_SRCDIR"], "ark-store-v2.db"),
                    os.path.join(old, "arkitect.db"))
        expect("a store not migrated yet", cli(old, "audit", "verify"), 3, "schema version 2")
        empty = os.path.join(work, "empty")
        os.mkdir(empty)
        expect("no store yet", cli(empty, "audit", "verify"), 0, "audit log intact: 0 records")
        expect("no store yet: list", cli(empty, "audit", "list"), 0, "the audit log is empty")
    finally:
        if failures:
            print(f"# kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
