#!/usr/bin/env python3
"""Compare every loaded scheduling policy across DAG families and slot counts.

For each family of bench/gen-families.py and each slot count it runs
`arkitect simulate FILE --policy all --json --slots N` and prints, per policy, the makespan
relative to the lower bound (max of critical path and work / slots) and the deadline-miss rate,
as a Markdown table, then the geometric mean of the ratio per policy over all rows.

  compare-policies.py [--build DIR] [-n N] [--slots 4,16,64] [--families a,b] [--seed S]
                      [--noise SIGMA] [--json FILE]

The arkitect binary and plugins come from --build (default ./build); ARK_PLUGIN_DIR is set to
every plugin directory in it unless it is already set. Slot counts are scaled per family so
that each row lies where the policy matters: "auto" (the default) picks, per family, the slot
counts at which work / slots is 4x, 1x and 1/4x the critical path.
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FAMILIES = ["layered", "forkjoin", "montage", "epigenomics", "cybershake"]


def simulate(cli, path, slots, env):
    p = subprocess.run([cli, "simulate", path, "--policy", "all", "--json", "--slots",
                        str(slots)], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"arkitect simulate {path} --slots {slots} failed: {p.stderr}")
    return json.loads(p.stdout)


def auto_slots(cli, path, env):
    """Slot counts where work/slots is 4x, 1x and 1/4x the critical path."""
    probe = subprocess.run([cli, "simulate", path, "--policy", "fifo", "--json", "--slots",
                            "1"], capture_output=True, text=True, env=env)
    if probe.returncode != 0:
        sys.exit(f"arkitect simulate {path} failed: {probe.stderr}")
    r = json.loads(probe.stdout)
    balance = r["total_work_us"] / max(r["critical_path_us"], 1)
    out = []
    for f in (0.25, 1.0, 4.0):
        s = max(1, min(4096, round(balance * f)))
        if s not in out:
            out.append(s)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("-n", type=int, default=1000, help="tasks per workflow (approximate)")
    ap.add_argument("--slots", default="auto", help="comma-separated slot counts, or auto")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--noise", type=float, default=0.0,
                    help="simulated durations log-normal around the estimates (sigma)")
    ap.add_argument("--json", help="also write every report here")
    args = ap.parse_args()

    cli = os.path.join(args.build, "core", "arkitect")
    env = dict(os.environ)
    if "ARK_PLUGIN_DIR" not in env:
        env["ARK_PLUGIN_DIR"] = ":".join(sorted(
            d.rstrip("/") for d in glob.glob(os.path.join(args.build, "plugins", "*/"))))

    rows = []
    with tempfile.TemporaryDirectory(prefix="ark-compare-") as tmp:
        for family in args.families.split(","):
            path = os.path.join(tmp, f"{family}.json")
            subprocess.run([sys.executable, os.path.join(HERE, "gen-families.py"), family,
                            "-n", str(args.n), "--seed", str(args.seed), "--noise",
                            str(args.noise), "-o", path], check=True)
            slots = (auto_slots(cli, path, env) if args.slots == "auto"
                     else [int(s) for s in args.slots.split(",")])
            for s in slots:
                rows.append((family, s, simulate(cli, path, s, env)))

    policies = sorted({r["policy"] for _, _, rep in rows for r in rep["results"]})
    print("| family | tasks | slots | CP/bound | " +
          " | ".join(policies) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(policies))
    logs = {p: [] for p in policies}
    misses = {p: [0, 0] for p in policies}
    for family, s, rep in rows:
        by = {r["policy"]: r for r in rep["results"]}
        best = min(r["ratio"] for r in rep["results"])
        cells = []
        for p in policies:
            r = by[p]
            logs[p].append(math.log(r["ratio"]))
            misses[p][0] += r["deadline_misses"]
            misses[p][1] += r["deadlines"]
            miss = (f" / {100 * r['deadline_misses'] / r['deadlines']:.0f}%"
                    if r["deadlines"] else "")
            ratio = f"{r['ratio']:.3f}"
            cells.append(f"**{ratio}**{miss}" if r["ratio"] == best else f"{ratio}{miss}")
        print(f"| {family} | {rep['tasks']} | {s} | "
              f"{rep['critical_path_us'] / rep['lower_bound_us']:.2f} | " +
              " | ".join(cells) + " |")
    print("| **geometric mean of makespan/bound** | | | | " + " | ".join(
        f"{math.exp(sum(v) / len(v)):.3f}" for v in logs.values()) + " |")
    print("| **deadline misses, all rows** | | | | " + " | ".join(
        f"{100 * m / t:.1f}%" if t else "-" for m, t in misses.values()) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"family": fam, "slots": s, "report": rep} for fam, s, rep in rows], f,
                      indent=1)


if __name__ == "__main__":
    main()
