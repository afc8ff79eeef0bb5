#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs bench/agents-trust-sim (built in the build tree) for a few load levels and prints the
results as Markdown tables: mean ± 95 % confidence half-width over the trials.

  bench/agents-trust.py [--build build] [--trials 50] [--tasks 2000] [--seed 1]
                        [--engine] [--scenario moderate|light|heavy ...]

--engine drives a real embedded engine on a virtual clock instead of the coordinator alone
(about 2 ms per task instead of 2 us; agent ids are random and order the candidates, so
repeated runs differ within the confidence intervals).
"""
import argparse
import json
import os
import subprocess
import sys

SCENARIOS = [
    ("moderate", "moderate load: 0.1 tasks/s (about a quarter of the capacity), 2 slots per agent, "
     "half-life 30 min", ["--rate", "0.1", "--half-life", "1800"]),
    ("light", "light load: 0.02 tasks/s, 8 slots per agent (the best agent is nearly always free), "
     "half-life 8 h", ["--rate", "0.02", "--slots", "8", "--half-life", "28800"]),
    ("heavy", "heavy load: 0.25 tasks/s (64 % of the capacity; with the retries nearly every slot is "
     "busy, so there is little to choose from), 2 slots per agent, half-life 30 min",
     ["--rate", "0.25", "--half-life", "1800"]),
]


def cell(stat, fmt):
    return (fmt + " ± " + fmt) % (stat["mean"], stat["ci95"])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--engine", action="store_true")
    ap.add_argument("--scenario", action="append", choices=[s[0] for s in SCENARIOS])
    args = ap.parse_args()
    sim = os.path.join(args.build, "bench", "agents-trust-sim")
    if not os.access(sim, os.X_OK):
        sys.exit("%s is not built (ninja -C %s)" % (sim, args.build))

    agents_printed = False
    for name, title, extra in SCENARIOS:
        if args.scenario and name not in args.scenario:
            continue
        cmd = [sim, "--trials", str(args.trials), "--tasks", str(args.tasks),
               "--seed", str(args.seed)] + extra + (["--engine"] if args.engine else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        agents = [r for r in rows if "agent" in r]
        config = next(r for r in rows if "tasks" in r)
        results = [r for r in rows if "strategy" in r]
        if not agents_printed:
            print("Agents (hidden from the coordinator; p = success probability, before → "
                  "after the change halfway through):\n")
            print("| agent | p | mean duration | |")
            print("|---|---|---|---|")
            for a in agents:
                p = ("%.2f" % a["p0"]) if a["p0"] == a["p1"] else \
                    ("%.2f → %.2f" % (a["p0"], a["p1"]))
                print("| %s | %s | %.0f s | %s |" % (a["agent"], p, a["mean_duration"],
                                                    a["what"]))
            print()
            agents_printed = True
        print("**%s** (%s; %d trials × %d tasks, seed %d, capacity %.2f tasks/s)\n" %
              (title, "through the engine" if config["engine"] else "coordinator alone",
               config["trials"], config["tasks"], config["seed"], config["capacity"]))
        print("| strategy | success rate | success rate, 2nd half | makespan (h) | regret "
              "| assignments | dead tasks |")
        print("|---|---|---|---|---|---|---|")
        for r in results:
            print("| %s | %s | %s | %s | %s | %s | %s |" % (
                r["strategy"], cell(r["success_rate"], "%.3f"),
                cell(r["success_rate_second_half"], "%.3f"),
                cell(r["makespan_h"], "%.2f"), cell(r["regret"], "%.0f"),
                cell(r["assignments"], "%.0f"), cell(r["dead"], "%.1f")))
        print()


if __name__ == "__main__":
    main()
