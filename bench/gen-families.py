#!/usr/bin/env python3
"""Generate workflows of standard DAG families for `arkitect simulate` (bench/compare-policies.py).

Only the Python standard library is used; every family is deterministic in --seed.

  gen-families.py FAMILY [-n N] [--seed S] [--deadlines F] [--noise SIGMA] [-o FILE]

Families (N is the approximate number of tasks):
  layered      random layered DAG: ~sqrt(N) layers of random width, each task needs 1-3 tasks of
               the layer before; durations heavy-tailed (80% 1-10 s, 20% 50-500 s)
  forkjoin     stages of fork-join: a fork task, W parallel tasks of skewed length, a join
  montage      Montage-like (astronomy mosaics): mProjectPP per image, mDiffFit per overlapping
               pair, mConcatFit, mBgModel, mBackground per image, mImgtbl, mAdd, mShrink, mJPEG
  epigenomics  Epigenomics-like (genome sequencing): per lane fastqSplit, then chains of
               filterContams, sol2sanger, fastq2bfq, map, then mapMerge, maqIndex, pileup
  cybershake   CyberShake-like (seismic hazard): ExtractSGT, SeismogramSynthesis per rupture
               variation, PeakValCalcOkaya per seismogram, ZipSeis and ZipPSA collecting all
  random       the gen-dag.py random shape: each task needs up to 3 of the 100 before it

The scientific shapes and their mean task durations follow the Pegasus workflow
characterisations (Bharathi et al., WORKS 2008; Juve et al., FGCS 2013); each task's duration is
its kind's mean times a log-normal factor (sigma 0.5), so durations are skewed within a kind too.

Every task gets "estimate" = its duration (the policies know the truth), or with --noise SIGMA
a "simulate" log-normal around the estimate (the policies see only the mean). With
--deadlines F, a fraction F of the tasks (default 0.1) gets a relative deadline of its earliest
possible finish (the longest path to it, itself included) times a slack drawn from [1.5, 4).
Tasks use the thread executor's noop function, so the file also validates and runs for real.
"""
import argparse
import json
import math
import random
import sys


class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.tasks = []
        self.by_id = {}

    def add(self, tid, seconds, needs=(), noise=0.5):
        d = seconds * math.exp(self.rng.gauss(0, noise) - noise * noise / 2) if noise else seconds
        d = max(0.001, round(d, 3))
        t = {"id": tid, "executor": "thread", "function": "noop", "estimate": d}
        if needs:
            t["needs"] = list(dict.fromkeys(needs))
        self.tasks.append(t)
        self.by_id[tid] = t
        return tid


def gather(b, name, seconds, needs):
    """One task needing all of @needs; past the workflow format's 1024 needs, a level of
    partial tasks of the same kind (each a fraction of the work) in between."""
    limit = 1000
    while len(needs) > limit:
        groups = [needs[i:i + limit] for i in range(0, len(needs), limit)]
        needs = [b.add(f"{name}_part{len(b.tasks)}_{k}", seconds / len(groups), g)
                 for k, g in enumerate(groups)]
    return b.add(name, seconds, needs)


def skewed(rng):
    return rng.uniform(50, 500) if rng.random() < 0.2 else rng.uniform(1, 10)


def gen_layered(b, n):
    rng = b.rng
    layers = max(2, int(math.sqrt(n)))
    prev, made = [], 0
    for layer in range(layers):
        left = n - made
        width = left if layer == layers - 1 else max(1, int(rng.uniform(0.5, 1.5) * n / layers))
        width = min(width, left - (layers - layer - 1)) if layer < layers - 1 else width
        cur = []
        for j in range(max(1, width)):
            needs = rng.sample(prev, min(len(prev), rng.randint(1, 3))) if prev else []
            cur.append(b.add(f"l{layer}_{j}", skewed(rng), needs, noise=0))
        made += len(cur)
        prev = cur


def gen_forkjoin(b, n):
    rng = b.rng
    width = max(2, int(math.sqrt(n)))
    stages = max(1, n // (width + 2))
    last = None
    for s in range(stages):
        fork = b.add(f"fork{s}", 2, [last] if last else [])
        mids = [b.add(f"s{s}_{j}", skewed(rng), [fork], noise=0) for j in range(width)]
        last = gather(b, f"join{s}", 5, mids)


def gen_montage(b, n):
    rng = b.rng
    images = max(2, n // 5)  # about 2 + 2.4 per image + 6 tasks in all
    proj = [b.add(f"mProjectPP_{i}", 1.73, []) for i in range(images)]
    diffs = []
    for i in range(images):
        # neighbours in a strip of the sky overlap: the next one, sometimes two more
        for k in (1, 2, 3):
            if i + k < images and (k == 1 or rng.random() < 0.35):
                diffs.append(b.add(f"mDiffFit_{i}_{i + k}", 0.66, [proj[i], proj[i + k]]))
    concat = gather(b, "mConcatFit", 143.0, diffs)
    model = b.add("mBgModel", 384.0, [concat])
    bgs = [b.add(f"mBackground_{i}", 1.72, [model, proj[i]]) for i in range(images)]
    tbl = gather(b, "mImgtbl", 2.6, bgs)
    add = b.add("mAdd", 282.0, [tbl])
    shrink = b.add("mShrink", 66.0, [add])
    b.add("mJPEG", 0.7, [shrink])


def gen_epigenomics(b, n):
    rng = b.rng
    lanes = max(1, n // 200)
    per_lane = max(2, (n - 1) // lanes // 4 - 1)
    merges = []
    for lane in range(lanes):
        split = b.add(f"fastqSplit_{lane}", 34.3)
        maps = []
        for c in range(per_lane):
            f = b.add(f"filterContams_{lane}_{c}", 2.5, [split])
            s = b.add(f"sol2sanger_{lane}_{c}", 0.5, [f])
            q = b.add(f"fastq2bfq_{lane}_{c}", 1.4, [s])
            maps.append(b.add(f"map_{lane}_{c}", 201.0 * rng.uniform(0.5, 1.5), [q]))
        merges.append(b.add(f"mapMerge_{lane}", 11.0, maps))
    top = gather(b, "mapMerge", 11.0, merges)
    idx = b.add("maqIndex", 43.0, [top])
    b.add("pileup", 55.0, [idx])


def gen_cybershake(b, n):
    rng = b.rng
    sites = max(1, n // 400)
    per_site = max(1, (n - 2) // sites // 2 - 1)
    synth_all, peak_all = [], []
    for site in range(sites):
        sgt = [b.add(f"ExtractSGT_{site}_{k}", 110.0) for k in range(2)]
        for v in range(per_site):
            # a rupture variation's seismogram needs the strain Green tensors of its site
            needs = sgt if rng.random() < 0.5 else [rng.choice(sgt)]
            s = b.add(f"SeismogramSynthesis_{site}_{v}", 38.0, needs)
            p = b.add(f"PeakValCalcOkaya_{site}_{v}", 0.6, [s])
            synth_all.append(s)
            peak_all.append(p)
    gather(b, "ZipSeis", 265.0, synth_all)
    gather(b, "ZipPSA", 195.0, peak_all)


def gen_random(b, n):
    rng = b.rng
    for i in range(n):
        needs = []
        if i > 0:
            lo = max(0, i - 100)
            needs = [f"t{p}" for p in sorted(rng.sample(range(lo, i), rng.randint(1, min(3, i))))]
        b.add(f"t{i}", skewed(rng), needs, noise=0)


FAMILIES = {
    "layered": gen_layered,
    "forkjoin": gen_forkjoin,
    "montage": gen_montage,
    "epigenomics": gen_epigenomics,
    "cybershake": gen_cybershake,
    "random": gen_random,
}


def add_deadlines(b, fraction):
    """A relative deadline for a fraction of the tasks: earliest finish times a slack."""
    if fraction <= 0:
        return
    finish = {}
    for t in b.tasks:  # tasks are generated after their needs
        start = max((finish[n] for n in t.get("needs", [])), default=0.0)
        finish[t["id"]] = start + t["estimate"]
    for t in b.tasks:
        if b.rng.random() < fraction:
            t["deadline"] = f"+{round(finish[t['id']] * b.rng.uniform(1.5, 4.0), 3)}s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("family", choices=sorted(FAMILIES))
    ap.add_argument("-n", type=int, default=1000, help="approximate number of tasks")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--deadlines", type=float, default=0.1,
                    help="fraction of tasks with a deadline (0 for none)")
    ap.add_argument("--noise", type=float, default=0.0,
                    help="sigma of a log-normal simulated duration around each estimate")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    args = ap.parse_args()
    if args.n < 1 or args.n > 100000:
        sys.exit("-n must be between 1 and 100000")

    b = Builder(random.Random(args.seed))
    FAMILIES[args.family](b, args.n)
    add_deadlines(b, args.deadlines)
    for t in b.tasks:
        if args.noise > 0:
            t["simulate"] = {"distribution": "lognormal", "mean": t["estimate"],
                             "sigma": args.noise}
    doc = {"name": f"{args.family}-{len(b.tasks)}", "tasks": b.tasks}
    out = open(args.output, "w") if args.output else sys.stdout
    json.dump(doc, out, separators=(",", ":"))
    out.write("\n")


if __name__ == "__main__":
    main()
