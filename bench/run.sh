#!/usr/bin/env bash
# bench/run.sh: Arkitect micro/macro benchmarks (see bench/README.md).
#
# Measures, for the memory store (--ephemeral) and the SQLite store (--state-dir):
#   1. per-task overhead of 10,000 thread-executor "noop" tasks: chain, fan-out, random DAG
#   2. makespan of 2,000 /bin/true process tasks at --slots 2, next to make -j2
#   3. peak RSS per queued task (10,000 tasks queued behind a sleeping root)
# and prints PASS/MISS against the targets. It measures; it does not gate: exit status is 0
# unless the build or a run itself fails.
#
# Environment knobs:
#   BENCH_BUILD_DIR  build dir to use/create (default: <src>/build-bench, buildtype=release)
#   BENCH_REPS       repetitions for the memory-store noop runs and the process runs (default 3)
#   BENCH_SQL_REPS   repetitions for the SQLite noop runs (default 1: each takes 5-20 s)
#   BENCH_N          noop / queued task count (default 10000)
#   BENCH_NPROC      /bin/true task count (default 2000)
#   BENCH_KEEP=1     keep the temp dir (workflows, reports) and print its path
set -u
set -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$HERE")
BUILD=${BENCH_BUILD_DIR:-$SRC/build-bench}
REPS=${BENCH_REPS:-3}
SQL_REPS=${BENCH_SQL_REPS:-1}
N=${BENCH_N:-10000}
NPROC=${BENCH_NPROC:-2000}
SLOTS=2
PY=${PYTHON:-python3}
GEN="$PY $HERE/gen-dag.py"
TIME_BIN=/usr/bin/time

die() { echo "bench: $*" >&2; exit 3; }
log() { echo "bench: $*" >&2; }

[ -x "$TIME_BIN" ] || die "GNU time is missing (apt-get install -y time)"
command -v make >/dev/null || die "make is missing"
command -v "$PY" >/dev/null || die "python3 is missing"

# ---------------------------------------------------------------- build (or reuse) ----
if [ ! -f "$BUILD/build.ninja" ]; then
	log "setting up $BUILD (release)"
	(cd "$SRC" && meson setup "$BUILD" -Dbuildtype=release) >&2 || die "meson setup failed"
fi
buildtype=$(meson introspect "$BUILD" --buildoptions 2>/dev/null |
	$PY -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"), "?"))' 2>/dev/null || echo "?")
[ "$buildtype" = release ] || log "warning: $BUILD has buildtype=$buildtype, not release"
ninja -C "$BUILD" >&2 || die "build failed"

ARK=$BUILD/core/arkitect
[ -x "$ARK" ] || die "no $ARK"
ARK_PLUGIN_DIR=$(for d in "$BUILD"/plugins/*/; do
	ls "$d"*.so >/dev/null 2>&1 && printf '%s\n' "${d%/}"; done | paste -sd:)
export ARK_PLUGIN_DIR

TMP=$(mktemp -d "${TMPDIR:-/tmp}/arkitect-bench.XXXXXX") || die "mktemp failed"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
	trap 'log "kept $TMP"' EXIT
else
	trap 'rm -rf "$TMP"' EXIT
fi
trap 'exit 130' INT TERM
mkdir -p "$TMP/reports"

T_START=$(date +%s)

# ---------------------------------------------------------------- helpers ----
# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# check a --json report: every task succeeded; print run.duration_seconds
# (= finished_at - created_at)
report_makespan() { # REPORT EXPECTED_TASKS
	$PY - "$1" "$2" <<'PYEOF'
import json, sys
from datetime import datetime
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
c = d["counts"]
if d["run"]["state"] != "succeeded" or c["succeeded"] != n or len(d["tasks"]) != n:
    sys.exit(f"run not fully successful: state={d['run']['state']} counts={c}")
p = lambda s: datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
ms = (p(d["run"]["finished_at"]) - p(d["run"]["created_at"])).total_seconds()
print(f"{ms:.6f}")
PYEOF
}

# one arkitect run under GNU time; prints "makespan_s wall_s peak_rss_kib"
RUN_SEQ=0
ark_once() { # STORE(mem|sql) WORKFLOW EXPECTED_TASKS
	local store=$1 wf=$2 n=$3 opt
	RUN_SEQ=$((RUN_SEQ + 1))
	local rep=$TMP/reports/run-$RUN_SEQ.json tf=$TMP/reports/time-$RUN_SEQ
	if [ "$store" = mem ]; then
		opt=(--ephemeral)
	else
		rm -rf "$TMP/state"
		opt=(--state-dir "$TMP/state")
	fi
	if ! $TIME_BIN -f '%e %M' -o "$tf" "$ARK" run "${opt[@]}" --json --quiet --slots "$SLOTS" \
		"$wf" >"$rep" 2>"$TMP/reports/err-$RUN_SEQ"; then
		log "arkitect run failed ($store, $wf):"; tail -5 "$TMP/reports/err-$RUN_SEQ" >&2
		rm -rf "$TMP/state"
		return 1
	fi
	rm -rf "$TMP/state"
	local ms
	ms=$(report_makespan "$rep" "$n") || return 1
	echo "$ms $(tail -1 "$tf")"
}

# R runs; prints "median_makespan median_wall max_rss"
ark_median() { # STORE WORKFLOW EXPECTED_TASKS REPS
	local i out mss=() walls=() rss=0
	for ((i = 0; i < $4; i++)); do
		out=$(ark_once "$1" "$2" "$3") || return 1
		read -r m w r <<<"$out"
		mss+=("$m"); walls+=("$w"); ((r > rss)) && rss=$r
	done
	echo "$(median "${mss[@]}") $(median "${walls[@]}") $rss"
}

# results: lines "key value" in $TMP/results
RES=$TMP/results
: >"$RES"
put() { echo "$1 $2" >>"$RES"; }
get() { awk -v k="$1" '$1==k {v=$2} END {print (v==""?"nan":v)}' "$RES"; }

# ---------------------------------------------------------------- machine ----
CPU=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
log "machine: $(nproc) CPUs ($CPU), $(uname -sr), load avg $(cut -d' ' -f1-3 /proc/loadavg)"
log "arkitect: $ARK (buildtype $buildtype)"

# ---------------------------------------------------------------- 1. noop overhead ----
for shape in chain fan random; do
	$GEN noop "$shape" "$N" -o "$TMP/noop-$shape.json"
done
for shape in chain fan random; do
	for store in mem sql; do
		reps=$REPS; [ $store = sql ] && reps=$SQL_REPS
		log "1. noop $shape x$N, $store store, $reps run(s)"
		if out=$(ark_median $store "$TMP/noop-$shape.json" "$N" "$reps"); then
			read -r m w r <<<"$out"
			put "noop.$shape.$store.makespan" "$m"
			put "noop.$shape.$store.wall" "$w"
			put "noop.$shape.$store.rss" "$r"
		fi
	done
done

# ---------------------------------------------------------------- 2. /bin/true vs make ----
$GEN true independent "$NPROC" -o "$TMP/true-fan.json"
$GEN make fan "$NPROC" -o "$TMP/Makefile"
# sanity: make really runs the recipes (dry-run count of commands == NPROC)
nmake=$(make -n -j1 -f "$TMP/Makefile" all | grep -c '/bin/true' || true)
[ "$nmake" = "$NPROC" ] || log "warning: make -n lists $nmake commands, expected $NPROC"
mkdir -p "$TMP/reports/proc"

ARK_MEM_CMD="'$ARK' run --ephemeral --json --quiet --slots $SLOTS '$TMP/true-fan.json' > \$(mktemp -p '$TMP/reports/proc' mem.XXXXXX)"
ARK_SQL_CMD="rm -rf '$TMP/pstate' && '$ARK' run --state-dir '$TMP/pstate' --json --quiet --slots $SLOTS '$TMP/true-fan.json' > \$(mktemp -p '$TMP/reports/proc' sql.XXXXXX)"
MAKE_CMD="make -s -j$SLOTS -f '$TMP/Makefile' all"

# Rounds are interleaved (make, arkitect-mem, arkitect-sqlite, make, ...) so that a load change
# on the machine hits all three alike; the median of the rounds is reported.
declare -a w_make=() w_mem=() w_sql=()
if command -v hyperfine >/dev/null; then
	PROC_TOOL="hyperfine, $REPS interleaved rounds, median"
	log "2. $NPROC x /bin/true, --slots $SLOTS vs make -j$SLOTS ($PROC_TOOL)"
	for ((i = 0; i < REPS; i++)); do
		hyperfine --style basic -w 0 -r 1 --export-json "$TMP/hf-$i.json" \
			-n make "$MAKE_CMD" -n mem "$ARK_MEM_CMD" -n sql "$ARK_SQL_CMD" >&2 ||
			{ log "hyperfine failed"; continue; }
		while read -r k t; do
			case $k in make) w_make+=("$t") ;; mem) w_mem+=("$t") ;; sql) w_sql+=("$t") ;; esac
		done < <($PY -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]: print(r["command"], r["times"][0])' "$TMP/hf-$i.json")
	done
else
	PROC_TOOL="$REPS interleaved rounds, median (no hyperfine)"
	log "2. $NPROC x /bin/true, --slots $SLOTS vs make -j$SLOTS ($PROC_TOOL)"
	for ((i = 0; i < REPS; i++)); do
		for k in make mem sql; do
			case $k in
			make) c=$MAKE_CMD ;; mem) c=$ARK_MEM_CMD ;; sql) c=$ARK_SQL_CMD ;;
			esac
			t0=$(date +%s.%N); sh -c "$c" >/dev/null || log "$k failed"; t1=$(date +%s.%N)
			dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')
			case $k in make) w_make+=("$dt") ;; mem) w_mem+=("$dt") ;; sql) w_sql+=("$dt") ;; esac
		done
	done
fi
((${#w_make[@]})) && put proc.make.wall "$(median "${w_make[@]}")"
((${#w_mem[@]})) && put proc.mem.wall "$(median "${w_mem[@]}")"
((${#w_sql[@]})) && put proc.sql.wall "$(median "${w_sql[@]}")"
log "   wall times (s): make ${w_make[*]:-}; arkitect-mem ${w_mem[*]:-}; arkitect-sqlite ${w_sql[*]:-}"
rm -rf "$TMP/pstate"
for k in mem sql; do
	mss=()
	for f in "$TMP"/reports/proc/$k.*; do
		[ -s "$f" ] || continue
		m=$(report_makespan "$f" "$NPROC") && mss+=("$m") || log "a $k /bin/true run did not fully succeed"
	done
	((${#mss[@]})) && put "proc.$k.makespan" "$(median "${mss[@]}")"
done

# ---------------------------------------------------------------- 3. RSS per queued task ----
# Headline: GNU time %M (peak over the whole command, including the --json report at the end).
# Also sampled: VmRSS of the arkitect process every 50 ms; the most frequent sample is the
# plateau while the 10,000 children wait for the 2 s sleep root (the "queued" RSS proper).
$GEN queued "$N" --sleep 2s -o "$TMP/queued.json"
$GEN noop independent 1 -o "$TMP/one.json"
rss_sampled() { # STORE WORKFLOW EXPECTED_TASKS -> "peak_kib plateau_kib"
	local store=$1 wf=$2 n=$3 opt tpid apid samples=$TMP/reports/rss-samples
	if [ "$store" = mem ]; then opt=(--ephemeral); else rm -rf "$TMP/state"; opt=(--state-dir "$TMP/state"); fi
	: >"$samples"
	$TIME_BIN -f '%M' -o "$TMP/reports/rss-time" "$ARK" run "${opt[@]}" --json --quiet \
		--slots "$SLOTS" "$wf" >"$TMP/reports/rss-report.json" 2>"$TMP/reports/rss-err" &
	tpid=$!
	while kill -0 "$tpid" 2>/dev/null; do
		apid=$(pgrep -P "$tpid" | head -1)
		[ -n "$apid" ] && awk '/^VmRSS:/ {print $2}' "/proc/$apid/status" 2>/dev/null >>"$samples"
		sleep 0.05
	done
	wait "$tpid" || { log "arkitect run failed ($store, $wf)"; tail -5 "$TMP/reports/rss-err" >&2; rm -rf "$TMP/state"; return 1; }
	rm -rf "$TMP/state"
	report_makespan "$TMP/reports/rss-report.json" "$n" >/dev/null || return 1
	echo "$(tail -1 "$TMP/reports/rss-time") $(sort -n "$samples" | uniq -c | sort -k1,1nr -k2,2nr | awk 'NR==1 {print $2}')"
}
for store in mem sql; do
	log "3. peak RSS: empty (1 task) and $N queued behind a 2 s sleep, $store store"
	if out=$(rss_sampled $store "$TMP/one.json" 1); then
		read -r p q <<<"$out"; put "rss.$store.empty" "$p"
	fi
	if out=$(rss_sampled $store "$TMP/queued.json" $((N + 1))); then
		read -r p q <<<"$out"; put "rss.$store.queued" "$p"; put "rss.$store.plateau" "${q:-nan}"
	fi
done

T_END=$(date +%s)

# ---------------------------------------------------------------- table ----
$PY - "$RES" "$N" "$NPROC" "$SLOTS" "$REPS" "$SQL_REPS" "$PROC_TOOL" "$(nproc)" "$CPU" \
	"$(uname -sr)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$((T_END - T_START))" "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?')" <<'PYEOF'
import sys, math, datetime
res_path, N, NPROC, SLOTS, REPS, SQL_REPS, PROC_TOOL, NCPU, CPU, KERNEL, LOAD, SECS, REV = sys.argv[1:]
N, NPROC = int(N), int(NPROC)
R = {}
for line in open(res_path):
    k, v = line.split()
    R[k] = float(v)
g = lambda k: R.get(k, math.nan)
def fmt(x, spec):
    return "n/a" if x != x else format(x, spec)
def verdict(x, limit, strict=False):
    if x != x:
        return "n/a"
    return "PASS" if (x < limit if strict else x <= limit) else "MISS"

print()
print(f"Arkitect benchmarks  {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}  rev {REV}")
print(f"machine: {NCPU} CPUs, {CPU}, {KERNEL}; load avg at end {LOAD}; took {SECS} s")
print(f"slots {SLOTS}; memory-store noop runs: median of {REPS}; SQLite noop runs: median of {SQL_REPS}")
print()
print(f"1. Per-task overhead, {N} thread-executor noop tasks (makespan = run created_at -> finished_at)")
hdr = f"   {'shape':<8} {'store':<7} {'makespan s':>10} {'us/task':>9} {'wall s':>8} {'wall us/task':>12} {'peak RSS MiB':>12}  target"
print(hdr); print("   " + "-" * (len(hdr) - 3))
targets = {("fan", "mem"): 10.0, ("fan", "sql"): 40.0}
for shape in ("chain", "fan", "random"):
    for store, label in (("mem", "memory"), ("sql", "sqlite")):
        m = g(f"noop.{shape}.{store}.makespan"); w = g(f"noop.{shape}.{store}.wall")
        rss = g(f"noop.{shape}.{store}.rss") / 1024
        us = m / N * 1e6; wus = w / N * 1e6
        t = targets.get((shape, store))
        tcol = f"<= {t:.0f} us  {verdict(us, t)}" if t else "-"
        print(f"   {shape:<8} {label:<7} {fmt(m,'10.3f')} {fmt(us,'9.1f')} {fmt(w,'8.2f')} {fmt(wus,'12.1f')} {fmt(rss,'12.1f')}  {tcol}")
print("   (chain: t_i needs t_{i-1}; fan: 1 root, N-1 children; random: <=3 parents in a 100-task window, seed 42)")
print()
print(f"2. {NPROC} x /bin/true, independent, --slots {SLOTS} vs make -j{SLOTS} ({PROC_TOOL})")
mk = g("proc.make.wall")
hdr = f"   {'engine':<17} {'wall s':>8} {'ms/task':>8} {'run makespan s':>14} {'vs make':>8}  target"
print(hdr); print("   " + "-" * (len(hdr) - 3))
print(f"   {'make -j'+SLOTS:<17} {fmt(mk,'8.2f')} {fmt(mk/NPROC*1e3,'8.2f')} {'-':>14} {'1.00x':>8}  -")
for store, label in (("mem", "arkitect memory"), ("sql", "arkitect sqlite")):
    w = g(f"proc.{store}.wall"); m = g(f"proc.{store}.makespan"); ratio = w / mk
    print(f"   {label:<17} {fmt(w,'8.2f')} {fmt(w/NPROC*1e3,'8.2f')} {fmt(m,'14.2f')} {fmt(ratio,'7.2f')}x  <= 1.15x  {verdict(ratio, 1.15)}")
print("   (ratio = median wall time of the arkitect command / median wall time of make, both incl. start-up)")
print()
print(f"3. RSS, {N} tasks queued behind a 2 s sleep root, minus an empty (1-task) run")
hdr = f"   {'store':<7} {'empty KiB':>10} {'peak KiB':>9} {'KiB/task (peak)':>16} {'while queued KiB':>17} {'KiB/task (queued)':>18}  target (peak)"
print(hdr); print("   " + "-" * (len(hdr) - 3))
for store, label in (("mem", "memory"), ("sql", "sqlite")):
    e = g(f"rss.{store}.empty"); q = g(f"rss.{store}.queued"); per = (q - e) / N
    pl = g(f"rss.{store}.plateau"); per_pl = (pl - e) / N
    print(f"   {label:<7} {fmt(e,'10.0f')} {fmt(q,'9.0f')} {fmt(per,'16.2f')} {fmt(pl,'17.0f')} {fmt(per_pl,'18.2f')}  < 1 KiB  {verdict(per, 1.0, True)}")
print("   (peak = GNU time %M over the whole command incl. the --json report; while queued = VmRSS")
print("    plateau sampled every 50 ms during the sleep)")
print()
PYEOF
exit 0
