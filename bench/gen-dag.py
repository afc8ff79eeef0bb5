#!/usr/bin/env python3
"""Generate Arkitect workflow JSON (and an equivalent Makefile) for bench/run.sh.

Only the Python standard library is used. Every shape is deterministic (fixed seed).

  gen-dag.py noop  SHAPE N [--seed S]   thread-executor "noop" tasks; SHAPE = chain | fan | random
  gen-dag.py true  fan   N              process tasks running /bin/true, all independent
  gen-dag.py queued      N [--sleep D]  one thread "sleep" root (args D, default "1s") and N
                                        noop children: N tasks held queued behind the root
  gen-dag.py make  fan   N              a Makefile: N independent .PHONY targets running
                                        /bin/true plus an "all" target

Shapes:
  chain   t_i needs t_{i-1}
  fan     one root t0, N-1 children each needing t0 (W8-style 1 -> N-1 fan-out)
  random  t_i needs up to 3 distinct random tasks among the 100 before it (seed 42)

Output goes to stdout (or -o FILE).
"""
import argparse
import json
import random
import sys


def task_id(i):
    return f"t{i}"


def parents(shape, n, seed):
    """Return a list of parent-index lists, one per task."""
    rng = random.Random(seed)
    par = [[] for _ in range(n)]
    if shape == "chain":
        for i in range(1, n):
            par[i] = [i - 1]
    elif shape == "fan":
        for i in range(1, n):
            par[i] = [0]
    elif shape == "independent":
        pass
    elif shape == "random":
        window, k_max = 100, 3
        for i in range(1, n):
            lo = max(0, i - window)
            k = rng.randint(1, min(k_max, i))
            par[i] = sorted(rng.sample(range(lo, i), k))
    else:
        sys.exit(f"unknown shape {shape!r}")
    return par


def workflow(name, tasks):
    return {"name": name, "tasks": tasks}


def gen_noop(shape, n, seed):
    tasks = []
    for i, ps in enumerate(parents(shape, n, seed)):
        t = {"id": task_id(i), "executor": "thread", "function": "noop"}
        if ps:
            t["needs"] = [task_id(p) for p in ps]
        tasks.append(t)
    return workflow(f"bench-noop-{shape}-{n}", tasks)


def gen_true(shape, n, seed):
    tasks = []
    for i, ps in enumerate(parents(shape, n, seed)):
        t = {"id": task_id(i), "executor": "process", "run": ["/bin/true"]}
        if ps:
            t["needs"] = [task_id(p) for p in ps]
        tasks.append(t)
    return workflow(f"bench-true-{shape}-{n}", tasks)


def gen_queued(n, sleep):
    tasks = [{"id": "root", "executor": "thread", "function": "sleep", "args": sleep}]
    for i in range(n):
        tasks.append({"id": task_id(i), "needs": ["root"], "executor": "thread",
                      "function": "noop"})
    return workflow(f"bench-queued-{n}", tasks)


def gen_make(n):
    names = [task_id(i) for i in range(n)]
    out = [".PHONY: all " + " ".join(names), "all: " + " ".join(names)]
    for name in names:
        # no shell metacharacters: GNU make execs /bin/true directly, no /bin/sh
        out.append(f"{name}:\n\t@/bin/true")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["noop", "true", "queued", "make"])
    ap.add_argument("rest", nargs="+", help="[SHAPE] N")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sleep", default="1s")
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()

    if a.kind == "queued":
        if len(a.rest) != 1:
            ap.error("queued takes N")
        text = json.dumps(gen_queued(int(a.rest[0]), a.sleep), separators=(",", ":"))
    else:
        if len(a.rest) != 2:
            ap.error(f"{a.kind} takes SHAPE N")
        shape, n = a.rest[0], int(a.rest[1])
        if a.kind == "make":
            if shape != "fan":
                ap.error("make supports only the fan shape")
            text = gen_make(n)
        elif a.kind == "noop":
            text = json.dumps(gen_noop(shape, n, a.seed), separators=(",", ":"))
        else:
            text = json.dumps(gen_true(shape, n, a.seed), separators=(",", ":"))

    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
