#!/usr/bin/env bash
# Times `cdc-guard check` over generated GitOps trees of 1k, 10k and 100k
# KafkaConnectors (bench/gen_tree.py) with a matching registry. See bench/README.md.
#
# Environment:
#   CDCGUARD_BIN        binary to time (default build-bench/cdc-guard, built in Release if missing)
#   BENCH_SIZES         connector counts (default "1000 10000 100000")
#   BENCH_RUNS_SMALL    timed runs for sizes below 100000 (default 5)
#   BENCH_RUNS_LARGE    timed runs for sizes of 100000 and more (default 3)
#   BENCH_MAX_LOAD      if set, wait before each size until the 1-minute load average
#                       is at most this (for up to BENCH_LOAD_WAIT seconds, default 300)
#   BENCH_NO_HYPERFINE  1: time with /usr/bin/time even if hyperfine is installed
#   BENCH_STRESS        1: also time worst cases (gen_tree.py --stress): N connectors sharing one
#                       server id and history topic, N KafkaConnects on one Kafka, for
#                       N in BENCH_STRESS_SIZES (default "500 1000 2000"), one run each; and N
#                       connectors whose prefixes differ only in '.' and '_' in half of them, for N
#                       in BENCH_FOLD_SIZES (default "1000 10000 20000")
#   BENCH_BIG           1: also time one big file (gen_tree.py --big): a `kind: List` as
#                       `kubectl get -o yaml` prints it, and the same objects as a multi-document
#                       stream, each BENCH_BIG_BYTES (default 60000000), BENCH_BIG_RUNS runs
#                       (default 3); fails when the max RSS is over BENCH_BIG_MAX_RATIO (default 10)
#                       times the file's size. BENCH_SIZES="" skips the trees.
# Output: a table on stdout; raw data and results.md under bench/out/ (gitignored).
# Exit status: 0 when every size ran and gave the expected verdict (and the big files stayed
# within their memory budget), else 1.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$bench_dir")
cd "$repo"

default_bin=build-bench/cdc-guard
BIN=${CDCGUARD_BIN:-$default_bin}
SIZES=${BENCH_SIZES-"1000 10000 100000"}
RUNS_SMALL=${BENCH_RUNS_SMALL:-5}
RUNS_LARGE=${BENCH_RUNS_LARGE:-3}
MAX_LOAD=${BENCH_MAX_LOAD:-}
LOAD_WAIT=${BENCH_LOAD_WAIT:-300}
NOW=2026-11-25T00:00:00Z
TREES=bench/trees
OUT=bench/out

say() { printf '%s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

command -v python3 >/dev/null || { say "check_bench: python3 is required"; exit 1; }

# --- the binary ----------------------------------------------------------------
if [[ ! -x $BIN ]]; then
  if [[ $BIN != "$default_bin" ]]; then
    say "check_bench: CDCGUARD_BIN=$BIN is not an executable"
    exit 1
  fi
  say "check_bench: building $BIN (Release)"
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  ninja -C build-bench cdc-guard >/dev/null
fi
version=$("$BIN" --version)

# --- the trees -----------------------------------------------------------------
stamp=$(sha256sum bench/gen_tree.py | cut -c1-16)
mkdir -p "$TREES" "$OUT"
for n in $SIZES; do
  dir=$TREES/$n
  if [[ ! -f $dir/.stamp || $(cat "$dir/.stamp") != "$stamp" ]]; then
    say "check_bench: generating $dir"
    python3 bench/gen_tree.py --connectors "$n" --out "$dir"
    echo "$stamp" >"$dir/.stamp"
  fi
done

# --- timing --------------------------------------------------------------------
use_hyperfine=0
if [[ ${BENCH_NO_HYPERFINE:-0} != 1 ]] && command -v hyperfine >/dev/null; then use_hyperfine=1; fi
have_time=0
[[ -x /usr/bin/time ]] && have_time=1
if ((!use_hyperfine && !have_time)); then
  say "check_bench: neither hyperfine nor /usr/bin/time (package time) found: timing with bash only, no RSS"
fi

wait_for_load() {
  [[ -z $MAX_LOAD ]] && return 0
  local waited=0
  while python3 -c "import sys; sys.exit(0 if float('$(load1)') > float('$MAX_LOAD') else 1)"; do
    if ((waited >= LOAD_WAIT)); then
      say "check_bench: load $(load1) still above $MAX_LOAD after ${LOAD_WAIT}s; measuring anyway"
      return 0
    fi
    sleep 10
    waited=$((waited + 10))
  done
}

# rss_of FILE: "Maximum resident set size (kbytes)" from /usr/bin/time -v output
rss_of() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

status=0
results=$OUT/results.tsv
printf 'size\tconnectors\tfiles\tentries\truns\tmean_s\tsd_s\tmin_s\tcpu_s\trss_kb\tload_before\tload_after\ttool\n' >"$results"
say "check_bench: $version, $(nproc) CPUs, hyperfine=$use_hyperfine"

for n in $SIZES; do
  dir=$TREES/$n
  runs=$RUNS_SMALL
  ((n >= 100000)) && runs=$RUNS_LARGE
  cmd=("$BIN" check --registry "$dir/registry.yaml" --now "$NOW" "$dir/manifests")

  # The verdict: also warms the page cache. Exit 1 (deny-level findings) is expected.
  rc=0
  "${cmd[@]}" --output json >"$OUT/verdict-$n.json" 2>"$OUT/verdict-$n.err" || rc=$?
  if ! python3 - "$dir/expected.json" "$OUT/verdict-$n.json" "$rc" <<'PY'; then
import json, sys
exp = json.load(open(sys.argv[1]))
rc = int(sys.argv[3])
try:
    got = json.load(open(sys.argv[2]))
except ValueError as e:
    sys.exit(f"  verdict: not JSON ({e}), exit code {rc}")
problems = []
if rc != 1:
    problems.append(f"exit code {rc}, expected 1")
if got["summary"]["connectors"] != exp["connectors"]:
    problems.append(f"{got['summary']['connectors']} connectors checked, generated {exp['connectors']}")
if got.get("errors"):
    problems.append(f"input errors: {got['errors'][:3]}")
found = {(v["connector"], v["rule"]) for v in got["violations"]}
for p in exp["planted"]:
    if (p["connector"], p["rule"]) not in found:
        problems.append(f"planted {p['rule']} on {p['connector']} not reported")
allowed = {p["connector"] for p in exp["planted"]} | set(exp["victims"])
for v in got["violations"]:
    if v["connector"] not in allowed:
        problems.append(f"unexpected {v['rule']} on {v['connector']}: {v['message'][:120]}")
if got["summary"]["exempted"] < 1:
    problems.append("the exception was not applied")
s = got["summary"]
print(f"  verdict: exit {rc}, {s['connectors']} connectors, {s['connectClusters']} KafkaConnects, "
      f"{s['files']} files: {s['errors']} errors, {s['warnings']} warnings, {s['exempted']} exempted",
      file=sys.stderr)
if problems:
    print("  verdict differs from what the generator planted:\n    " + "\n    ".join(problems[:20]),
          file=sys.stderr)
    sys.exit(1)
PY
    status=1
  fi

  wait_for_load
  before=$(load1)
  say "check_bench: $n connectors, $runs runs, load $before"
  if ((use_hyperfine)); then
    # -N: no intermediate shell; -i: exit code 1 is the expected verdict.
    hyperfine -N -i --style basic --warmup 1 --runs "$runs" --export-json "$OUT/hyperfine-$n.json" \
      "${cmd[*]}" >"$OUT/hyperfine-$n.txt"
    if ((have_time)); then
      /usr/bin/time -v -o "$OUT/time-$n.txt" "${cmd[@]}" >/dev/null 2>&1 || true
      rss=$(rss_of "$OUT/time-$n.txt")
    else
      rss=""
    fi
    read -r mean sd min cpu < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(r["mean"], r["stddev"] or 0, r["min"], r["user"] + r["system"])' "$OUT/hyperfine-$n.json")
    tool=hyperfine
  else
    : >"$OUT/walls-$n.txt"
    rss=0
    "${cmd[@]}" >/dev/null 2>&1 || true  # warmup
    for ((i = 0; i < runs; i++)); do
      t0=$(date +%s%N)
      if ((have_time)); then
        /usr/bin/time -v -o "$OUT/time-$n.txt" "${cmd[@]}" >/dev/null 2>&1 || true
      else
        "${cmd[@]}" >/dev/null 2>&1 || true
      fi
      t1=$(date +%s%N)
      cpu_run=""
      if ((have_time)); then
        r=$(rss_of "$OUT/time-$n.txt")
        ((r > rss)) && rss=$r
        cpu_run=$(python3 -c '
import re, sys
t = open(sys.argv[1]).read()
u = float(re.search(r"User time \(seconds\): ([0-9.]+)", t).group(1))
s = float(re.search(r"System time \(seconds\): ([0-9.]+)", t).group(1))
print(u + s)' "$OUT/time-$n.txt")
      fi
      echo "$(((t1 - t0) / 1000)) $cpu_run" >>"$OUT/walls-$n.txt"
    done
    ((have_time)) || rss=""
    read -r mean sd min cpu < <(python3 -c '
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
w = [int(r[0]) / 1e6 for r in rows]
c = [float(r[1]) for r in rows if len(r) > 1]
print(statistics.mean(w), statistics.stdev(w) if len(w) > 1 else 0, min(w),
      statistics.mean(c) if c else "nan")' "$OUT/walls-$n.txt")
    tool=/usr/bin/time
  fi
  after=$(load1)
  read -r connectors files entries < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
print(e["connectors"], e["stats"]["files"], e["registry_entries"])' "$dir/expected.json")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$connectors" "$files" "$entries" "$runs" \
    "$mean" "$sd" "$min" "$cpu" "${rss:-}" "$before" "$after" "$tool" >>"$results"
done

# --- report --------------------------------------------------------------------
python3 - "$results" "$OUT/results.md" "$version" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def f(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan
lines = [
    "| connectors | files | registry entries | runs | mean wall | min wall | CPU (user+sys, mean) "
    "| max RSS | wall per connector (mean / min) | load1 before / after |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
]
for r in rows:
    n = int(r["connectors"])
    mean, sd, mn, cpu = f(r["mean_s"]), f(r["sd_s"]), f(r["min_s"]), f(r["cpu_s"])
    rss = f(r["rss_kb"])
    rss_txt = f"{rss / 1024:.0f} MiB" if not math.isnan(rss) else "n/a"
    lines.append(
        f"| {n:,} | {int(r['files']):,} | {int(r['entries']):,} | {r['runs']} | {mean:.3f} s ± {sd:.3f} "
        f"| {mn:.3f} s | {cpu:.3f} s | {rss_txt} | {mean / n * 1e6:.1f} µs / {mn / n * 1e6:.1f} µs "
        f"| {r['load_before']} / {r['load_after']} |")
by = {int(r["size"]): r for r in rows}
notes = []
for small, big in ((1000, 10000), (10000, 100000)):
    if small in by and big in by:
        a, b = by[small], by[big]
        k = int(b["connectors"]) / int(a["connectors"])
        notes.append(
            f"- {big // 1000}k / {small // 1000}k ({k:.0f}x the connectors): mean wall x{f(b['mean_s']) / f(a['mean_s']):.2f}, "
            f"min wall x{f(b['min_s']) / f(a['min_s']):.2f}, CPU x{f(b['cpu_s']) / f(a['cpu_s']):.2f}, "
            f"max RSS x{f(b['rss_kb']) / f(a['rss_kb']):.2f} (linear: x{k:.0f})")
if 10000 in by:
    m, mn = f(by[10000]["mean_s"]), f(by[10000]["min_s"])
    notes.append(f"- target 10k connectors <= 1 s: mean {m:.3f} s, min {mn:.3f} s: "
                 f"{'met' if m <= 1.0 else 'met by the min only' if mn <= 1.0 else 'NOT met'}")
text = "\n".join(lines + [""] + notes) + "\n"
open(sys.argv[2], "w").write(f"{sys.argv[3]}, timed with {rows[0]['tool'] if rows else '?'}\n\n" + text)
print(text, end="")
PY

# --- worst cases (optional) -------------------------------------------------------
if [[ ${BENCH_STRESS:-0} == 1 ]]; then
  echo
  echo "Worst cases (one run each; linear would be x2 per doubling):"
  echo
  echo "| case | objects | wall | CPU (user+sys) | max RSS | load1 |"
  echo "|---|---:|---:|---:|---:|---|"
  for kind in same-id shared-kafka dot-underscore; do
    sizes=${BENCH_STRESS_SIZES:-500 1000 2000}
    [[ $kind == dot-underscore ]] && sizes=${BENCH_FOLD_SIZES:-1000 10000 20000}
    for n in $sizes; do
      file=$TREES/stress/$kind-$n.yaml
      [[ -f $file ]] || python3 bench/gen_tree.py --stress "$kind" --connectors "$n" --out "$file"
      wait_for_load
      before=$(load1)
      t0=$(date +%s%N)
      /usr/bin/time -f '%U %S %M' -o "$OUT/stress-time.txt" "$BIN" check --now "$NOW" "$file" >/dev/null 2>&1 || true
      t1=$(date +%s%N)
      read -r u s m < <(tail -n 1 "$OUT/stress-time.txt")
      python3 -c 'import sys; w, u, s, m = map(float, sys.argv[4:8]); print(f"| {sys.argv[1]} | {sys.argv[2]} | {w:.2f} s | {u + s:.2f} s | {m / 1024:.0f} MiB | {sys.argv[3]} |")' \
        "$kind" "$n" "$before" "$(((t1 - t0) / 1000000))e-3" "$u" "$s" "$m"
    done
  done | tee "$OUT/stress.md"
fi
# --- big files (optional) ---------------------------------------------------------
if [[ ${BENCH_BIG:-0} == 1 ]]; then
  bytes=${BENCH_BIG_BYTES:-60000000}
  big_runs=${BENCH_BIG_RUNS:-3}
  max_ratio=${BENCH_BIG_MAX_RATIO:-10}
  ((have_time)) || { say "check_bench: BENCH_BIG needs /usr/bin/time (package time)"; exit 1; }
  echo
  echo "One big file ($bytes bytes; min of $big_runs runs; max RSS of the worst run):"
  echo
  echo "| file | connectors | wall | CPU (user+sys) | max RSS | RSS / file size | load1 |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  (
    big_status=0
    for shape in list stream; do
      dir=$TREES/big-$shape-$bytes
      if [[ ! -f $dir/.stamp || $(cat "$dir/.stamp") != "$stamp" ]]; then
        say "check_bench: generating $dir"
        python3 bench/gen_tree.py --big "$shape" --bytes "$bytes" --out "$dir"
        echo "$stamp" >"$dir/.stamp"
      fi
      file=$dir/$shape.yaml
      cmd=("$BIN" check --registry "$dir/registry.yaml" --now "$NOW" "$file")
      rc=0
      "${cmd[@]}" --output json >"$OUT/big-$shape.json" 2>"$OUT/big-$shape.err" || rc=$?
      wait_for_load
      before=$(load1)
      : >"$OUT/big-$shape.tsv"
      for ((i = 0; i < big_runs; i++)); do
        t0=$(date +%s%N)
        /usr/bin/time -f '%U %S %M' -o "$OUT/big-time.txt" "${cmd[@]}" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        echo "$(((t1 - t0) / 1000)) $(tail -n 1 "$OUT/big-time.txt")" >>"$OUT/big-$shape.tsv"
      done
      if ! python3 - "$OUT/big-$shape.tsv" "$OUT/big-$shape.json" "$rc" "$file" "$shape" "$max_ratio" "$before" <<'PY'; then
import json, os, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
rc, path, shape, max_ratio, load = int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6]), sys.argv[7]
size = os.path.getsize(path)
wall = min(r[0] for r in rows) / 1e6
cpu = min(r[1] + r[2] for r in rows)
rss = max(r[3] for r in rows) * 1024
try:
    s = json.load(open(sys.argv[2]))["summary"]
    connectors = f"{s['connectors']:,}"
except (ValueError, KeyError):
    s, connectors = None, "?"
print(f"| {shape} | {connectors} | {wall:.2f} s | {cpu:.2f} s | {rss / 2**20:.0f} MiB | {rss / size:.1f} | {load} |")
problems = []
if rc != 0:
    problems.append(f"exit code {rc}, expected 0 (the generator plants no conflict)")
if rss > max_ratio * size:
    problems.append(f"max RSS {rss / 2**20:.0f} MiB is over {max_ratio:g} x the file ({size / 2**20:.0f} MiB)")
if problems:
    print("  " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
PY
        big_status=1
      fi
    done
    exit $big_status
  ) | tee "$OUT/big.md"
  [[ ${PIPESTATUS[0]} == 0 ]] || status=1
fi
exit $status
