#!/usr/bin/env bash
# Webhook benchmark (issue 3, item 9): `POST /validate` throughput, latency and
# memory of `cdc-guard serve`, against a constant-response HTTPS server.
#
# What it measures. wrk drives POST /validate over HTTPS keep-alive (TLS on
# 127.0.0.1, one self-signed EC P-256 certificate for both servers) at 1
# connection (wrk -t1 -c1) and at 8 connections (wrk -t2 -c8), each after a
# short warm-up, against:
#   1. cdc-guard serve --registry-file REG --log-level warn, where REG holds
#      10,000 connectors (bench/gen_webhook_registry.py). The body is an
#      AdmissionReview v1 CREATE of a MySQL KafkaConnector whose server id is the
#      one the registry already gives it: every request is judged by every rule
#      against the 10,000 entries, the verdict is "allowed", nothing is written.
#   2. bench/constant_server.cpp: cpp-httplib's SSLServer with the same settings
#      (TCP_NODELAY, keep-alive, 64 threads, TLS 1.2+), sending cdc-guard's
#      response bytes without looking at the request. It is the ceiling for
#      this transport on this machine.
# For each server and connection count it prints req/s, p50, p99, the server's
# CPU time per request and its memory (VmHWM = peak RSS, VmRSS, from
# /proc/PID/status after the load); then the ratios cdc-guard/constant and
# PASS/FAIL against the targets: req/s ratio >= 0.8, p99 ratio <= 1.5,
# cdc-guard peak RSS <= 48 MiB. wrk runs on the same machine as the servers,
# so both share the CPUs with the client, alike.
#
# Reproduce:  ./bench/webhook.sh
#   BUILD_DIR=build-webhook ROUNDS=3 MAX_OTHER_CPU=15 ./bench/webhook.sh   (recorded figures:
#   a Release build of its own, median of 3 back-to-back rounds, on a quiet machine)
# Needs: wrk (apt-get install -y wrk), curl, openssl, python3, g++ and
# libcpp-httplib-dev (pkg-config cpp-httplib), and the usual cdc-guard build tools.
#
# Environment:
#   DURATION      measured run per server and connection count (default 10s; "10" means 10s)
#   WARMUP        warm-up run before each measurement (default 2s)
#   BUILD_DIR     cdc-guard build directory (default build); the binary is $BUILD_DIR/cdc-guard,
#                 built with ./scripts/build.sh if missing (BUILD_TYPE, default Release, applies
#                 when the directory is configured for the first time)
#   CDCGUARD_BIN  the cdc-guard binary to run (overrides BUILD_DIR; never built)
#   CONNECTIONS   connection counts (default "1 8"); wrk threads: 1 for 1 connection, else 2
#   ROUNDS        repeat every measurement this many times and report the median (default 1);
#                 rounds alternate which server goes first, and the ratios of each round's
#                 back-to-back pair are listed too
#   SERVERS       "constant cdc-guard" (default), or one of them alone
#   CONNECTORS    registry size (default 10000)
#   LOG_LEVEL     cdc-guard --log-level (default warn: no line per admission)
#   STRICT        1: exit 1 when a target is missed (default: exit nonzero only on setup errors)
#   KEEP_TMP      1: keep the temporary directory (certificate, registry, server logs)
#   MAX_OTHER_CPU before each measurement, wait until other processes use at most this % of one
#                 CPU (sampled over 1 s), for at most QUIET_WAIT seconds (default 300); default: no wait.
#                 Either way the table shows how much CPU other processes took during each run
#                 (needs /usr/bin/time, package `time`).
# Output: the table on stdout; raw wrk output and results.md under bench/out/webhook/ (gitignored).
# Exit status: 0 ran (targets met or not, unless STRICT=1); 1 a target missed with STRICT=1;
# 2 a setup error (missing tool, build failure, a server that does not start or denies).
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$bench_dir")
cd "$repo"

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
CONNECTIONS=${CONNECTIONS:-"1 8"}
ROUNDS=${ROUNDS:-1}
SERVERS=${SERVERS:-"constant cdc-guard"}
CONNECTORS=${CONNECTORS:-10000}
LOG_LEVEL=${LOG_LEVEL:-warn}
STRICT=${STRICT:-0}
KEEP_TMP=${KEEP_TMP:-0}
MAX_OTHER_CPU=${MAX_OTHER_CPU:-}
QUIET_WAIT=${QUIET_WAIT:-300}

# Targets (issue 3, item 9).
MIN_RPS_RATIO=0.8
MAX_P99_RATIO=1.5
MAX_RSS_KB=$((48 * 1024))

case $DURATION in *[0-9]) DURATION=${DURATION}s ;; esac
case $WARMUP in *[0-9]) WARMUP=${WARMUP}s ;; esac

die() {
  echo "webhook.sh: $*" >&2
  exit 2
}

want_server() {
  case " $SERVERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

for tool in wrk curl openssl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (wrk: apt-get install -y wrk)"
done
want_server constant || want_server cdc-guard || die "SERVERS must name constant and/or cdc-guard, got \"$SERVERS\""
case $ROUNDS in '' | *[!0-9]* | 0) die "ROUNDS must be a positive integer" ;; esac

out_dir=$bench_dir/out/webhook
mkdir -p "$out_dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cdcguard-webhook-bench.XXXXXX")
guard_pid=
const_pid=

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in $guard_pid $const_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in $guard_pid $const_pid; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP_TMP" = 1 ]; then
    echo "kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- binaries ---------------------------------------------------------------
if want_server cdc-guard; then
  if [ -n "${CDCGUARD_BIN:-}" ]; then
    BIN=$CDCGUARD_BIN
    [ -x "$BIN" ] || die "CDCGUARD_BIN=$BIN is not an executable"
  else
    BIN=$BUILD_DIR/cdc-guard
    if [ ! -x "$BIN" ]; then
      echo "building $BIN (BUILD_TYPE=$BUILD_TYPE) ..." >&2
      BUILD_DIR=$BUILD_DIR BUILD_TYPE=$BUILD_TYPE ./scripts/build.sh >&2 || die "build failed"
      [ -x "$BIN" ] || die "the build did not produce $BIN"
    fi
  fi
  "$BIN" serve --help >/dev/null 2>&1 ||
    die "$BIN has no working 'serve' subcommand (rebuild it, or run SERVERS=constant $0)"
fi

const_bin=$out_dir/constant_server
if want_server constant; then
  command -v g++ >/dev/null 2>&1 || die "g++ not found"
  pkg-config --exists cpp-httplib 2>/dev/null || die "cpp-httplib not found by pkg-config (apt-get install -y libcpp-httplib-dev)"
  if [ ! -x "$const_bin" ] || [ "$bench_dir/constant_server.cpp" -nt "$const_bin" ]; then
    echo "building $const_bin ..." >&2
    # shellcheck disable=SC2046 # pkg-config output is meant to split
    g++ -O2 -std=c++20 "$bench_dir/constant_server.cpp" $(pkg-config --cflags --libs cpp-httplib) \
      -lssl -lcrypto -pthread -o "$const_bin" || die "cannot build bench/constant_server.cpp"
  fi
fi

# --- inputs -----------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || die "openssl cannot make a certificate"
python3 "$bench_dir/gen_webhook_registry.py" --out "$tmp" --connectors "$CONNECTORS" 2>"$tmp/subject.txt" ||
  die "gen_webhook_registry.py failed: $(cat "$tmp/subject.txt")"
subject=$(cat "$tmp/subject.txt")
registry=$tmp/registry.yaml
body=$tmp/request.json
entries=$(grep -c '^  - {connector: .*serverId' "$registry" || true)

if want_server cdc-guard; then
  # The same verdict offline: the registry parses and the connector is clean.
  "$BIN" check --registry "$registry" "$tmp/connector.json" >"$tmp/check.txt" 2>&1 ||
    die "cdc-guard check rejects the generated registry or connector: $(cat "$tmp/check.txt")"
fi

# Three free ports (a later bind could still lose a race; then the server fails to start).
read -r guard_port metrics_port const_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

# --- servers ----------------------------------------------------------------
wait_ready() { # NAME PID URL LOG
  local _
  for _ in $(seq 1 150); do
    kill -0 "$2" 2>/dev/null || die "$1 exited at startup; its log:
$(tail -n 20 "$4")"
    if curl -skf --max-time 1 "$3" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$1 not ready at $3 after 15 s; its log:
$(tail -n 20 "$4")"
}

if want_server cdc-guard; then
  "$BIN" serve --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" --address 127.0.0.1 --port "$guard_port" \
    --metrics-port "$metrics_port" --registry-file "$registry" --log-level "$LOG_LEVEL" \
    >"$tmp/cdc-guard.log" 2>&1 &
  guard_pid=$!
  wait_ready cdc-guard "$guard_pid" "https://127.0.0.1:$guard_port/healthz" "$tmp/cdc-guard.log"
fi
if want_server constant; then
  "$const_bin" "$tmp/cert.pem" "$tmp/key.pem" "$const_port" "$tmp/response.json" >"$tmp/constant.log" 2>&1 &
  const_pid=$!
  wait_ready constant_server "$const_pid" "https://127.0.0.1:$const_port/healthz" "$tmp/constant.log"
fi

url_of() { if [ "$1" = cdc-guard ]; then echo "https://127.0.0.1:$guard_port/validate"; else echo "https://127.0.0.1:$const_port/validate"; fi; }
pid_of() { if [ "$1" = cdc-guard ]; then echo "$guard_pid"; else echo "$const_pid"; fi; }

registry_sum=$(sha256sum "$registry" | cut -d' ' -f1)

echo "== one request first (curl), $(wc -c <"$body") bytes of AdmissionReview for $subject"
for s in cdc-guard constant; do
  want_server "$s" || continue
  resp=$(curl -sk --max-time 10 -H 'Content-Type: application/json' --data-binary "@$body" \
    -w '\nHTTP %{http_code}' "$(url_of "$s")") || die "curl to $s failed"
  printf '%s:\n%s\n' "$s" "$resp"
  case $resp in
    *'"allowed":true'*'HTTP 200'*) ;;
    *) die "$s did not answer 200 with \"allowed\":true; the benchmark would measure something else" ;;
  esac
done
echo

# --- load -------------------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

declare -A res_rps res_p50 res_p99 res_cpu res_hwm res_rss res_err res_other
wrk_timed=()
if [ -x /usr/bin/time ]; then wrk_timed=(/usr/bin/time -f 'WRKCPU %U %S'); fi
raw=$out_dir/raw.txt
: >"$raw"

# CPU time of everything else during a run, in % of one CPU: all busy time
# (/proc/stat, steal included) minus the server's and wrk's own. On a shared
# machine this tells a clean run from a disturbed one.
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
other_cpu_now() { # % of one CPU used by others over 1 s while our servers are idle
  local b0 b1
  b0=$(busy_ticks)
  sleep 1
  b1=$(busy_ticks)
  echo $(((b1 - b0) * 100 / clk_tck))
}
wait_quiet() {
  [ -n "$MAX_OTHER_CPU" ] || return 0
  local waited=0 now
  while now=$(other_cpu_now); [ "$now" -gt "$MAX_OTHER_CPU" ]; do
    if [ "$waited" -ge "$QUIET_WAIT" ]; then
      echo "  (other processes still use ${now}% of a CPU after ${waited}s; measuring anyway)"
      return 0
    fi
    sleep 4
    waited=$((waited + 5))
  done
}

server_state() { # SERVER: alive or how it ended, and the end of its log
  local pid log rc
  pid=$(pid_of "$1")
  if [ "$1" = cdc-guard ]; then log=$tmp/cdc-guard.log; else log=$tmp/constant.log; fi
  if kill -0 "$pid" 2>/dev/null; then
    echo "server still running"
  else
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    echo "server exited with status $rc; its log ends: $(tail -n 5 "$log")"
  fi
}

measure() { # SERVER CONNECTIONS ROUND
  local s=$1 c=$2 r=$3 t=2 pid url out line
  [ "$c" -gt 1 ] || t=1
  pid=$(pid_of "$s")
  url=$(url_of "$s")
  wait_quiet
  # A failed wrk run (seen once, not reproduced) is retried once if the server is still up.
  if ! out=$(WEBHOOK_BODY=$body wrk -t"$t" -c"$c" -d"$WARMUP" -s "$bench_dir/webhook_validate.lua" "$url" 2>&1); then
    kill -0 "$pid" 2>/dev/null || die "wrk warm-up against $s failed ($(server_state "$s")): $out"
    echo "  (wrk warm-up against $s, $c connection(s) failed; retrying: $(tail -n 2 <<<"$out" | tr '\n' ' '))"
    out=$(WEBHOOK_BODY=$body wrk -t"$t" -c"$c" -d"$WARMUP" -s "$bench_dir/webhook_validate.lua" "$url" 2>&1) ||
      die "wrk warm-up against $s failed twice ($(server_state "$s")): $out"
  fi
  local cpu0 cpu1 busy0 busy1 t0 t1
  cpu0=$(cpu_ticks "$pid")
  busy0=$(busy_ticks)
  t0=$(date +%s%N)
  if ! out=$(WEBHOOK_BODY=$body "${wrk_timed[@]}" wrk -t"$t" -c"$c" -d"$DURATION" --latency \
    -s "$bench_dir/webhook_validate.lua" "$url" 2>&1); then
    kill -0 "$pid" 2>/dev/null || die "wrk against $s failed ($(server_state "$s")): $out"
    echo "  (wrk against $s, $c connection(s) failed; retrying: $(tail -n 2 <<<"$out" | tr '\n' ' '))"
    cpu0=$(cpu_ticks "$pid")
    busy0=$(busy_ticks)
    t0=$(date +%s%N)
    out=$(WEBHOOK_BODY=$body "${wrk_timed[@]}" wrk -t"$t" -c"$c" -d"$DURATION" --latency \
      -s "$bench_dir/webhook_validate.lua" "$url" 2>&1) || die "wrk against $s failed twice ($(server_state "$s")): $out"
  fi
  t1=$(date +%s%N)
  busy1=$(busy_ticks)
  cpu1=$(cpu_ticks "$pid")
  kill -0 "$pid" 2>/dev/null || die "$s died under load ($(server_state "$s"))"
  { echo "### $s, $c connection(s), round $r"; echo "$out"; echo; } >>"$raw"
  line=$(printf '%s\n' "$out" | grep '^WRKSTATS ') || die "no WRKSTATS line from wrk: $out"
  local requests rps p50 p99 errs wrk_cpu other k=$s:$c
  requests=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line")
  rps=$(sed -E 's/.* req_s=([0-9.]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.* p50_us=([0-9]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.* p99_us=([0-9]+).*/\1/' <<<"$line")
  errs=$(awk '{n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^errors_/) { split($i, a, "="); n += a[2] } print n}' <<<"$line")
  wrk_cpu=$(sed -nE 's/^WRKCPU ([0-9.]+) ([0-9.]+)$/\1 \2/p' <<<"$out")
  if [ -n "$wrk_cpu" ]; then
    other=$(awk -v b0="$busy0" -v b1="$busy1" -v s0="$cpu0" -v s1="$cpu1" -v w="$wrk_cpu" -v hz="$clk_tck" \
      -v ns="$((t1 - t0))" 'BEGIN {split(w, x, " "); o = ((b1 - b0) - (s1 - s0)) / hz - x[1] - x[2];
        if (o < 0) o = 0; printf "%.0f", o / (ns / 1e9) * 100}')
  else
    other='?'
  fi
  res_rps[$k]+="$rps "
  res_p50[$k]+="$p50 "
  res_p99[$k]+="$p99 "
  res_cpu[$k]+="$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$clk_tck" -v n="$requests" 'BEGIN {printf "%.1f", n ? (b - a) / hz * 1e6 / n : 0}') "
  res_err[$k]=$((${res_err[$k]:-0} + errs))
  res_hwm[$k]=$(status_kb "$pid" VmHWM)
  res_rss[$k]=$(status_kb "$pid" VmRSS)
  res_other[$k]+="$other% "
  printf '  %-9s c=%-2s round %s: %6.0f req/s  p50 %5s us  p99 %5s us  errors %s  VmHWM %s kB  VmRSS %s kB  other CPU %s%%\n' \
    "$s" "$c" "$r" "$rps" "$p50" "$p99" "$errs" "${res_hwm[$k]}" "${res_rss[$k]}" "$other"
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=
if git status --porcelain --untracked-files=no 2>/dev/null | grep -q .; then dirty=" (working tree modified)"; fi
echo "== load: wrk, $DURATION per run after a $WARMUP warm-up, rounds: $ROUNDS, connections: $CONNECTIONS"
echo "   registry: $entries entries; cdc-guard: ${BIN:-none} --log-level $LOG_LEVEL; commit $commit$dirty"
echo "   machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), load1 $(load1)"
for r in $(seq 1 "$ROUNDS"); do
  for c in $CONNECTIONS; do
    # Alternate which server goes first, so neither always runs on a warmer machine.
    if [ $((r % 2)) = 1 ]; then order="constant cdc-guard"; else order="cdc-guard constant"; fi
    for s in $order; do
      want_server "$s" && measure "$s" "$c" "$r"
    done
  done
done
echo

if want_server cdc-guard; then
  if [ "$(sha256sum "$registry" | cut -d' ' -f1)" = "$registry_sum" ]; then
    echo "registry file unchanged by the load (nothing written, as intended)"
  else
    echo "NOTE: the registry file changed during the load (an 'allowed' admission of a recorded connector should write nothing)"
  fi
  if m=$(curl -s --max-time 5 "http://127.0.0.1:$metrics_port/metrics" 2>/dev/null) && [ -n "$m" ]; then
    echo "cdc-guard /metrics, admission counters after the load:"
    grep -v '^#' <<<"$m" | grep -i 'admission' | grep -v -i 'bucket\|_sum\|_count' | head -n 12 | sed 's/^/  /' || true
  fi
  echo
fi

# --- results ----------------------------------------------------------------
fmt_ms() { awk -v u="$1" 'BEGIN {printf "%.3f ms", u / 1000}'; }
fmt_mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
missed=0
results=$out_dir/results.md
{
  echo "wrk $DURATION per run (warm-up $WARMUP), median of $ROUNDS round(s); $(nproc) CPUs; commit $commit$dirty; $entries registry entries; $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "| server | connections | req/s | p50 | p99 | server CPU per request | VmHWM (peak RSS) | VmRSS | errors | other CPU during the run(s) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for c in $CONNECTIONS; do
    for s in cdc-guard constant; do
      want_server "$s" || continue
      k="$s:$c"
      printf '| %s | %s | %.0f | %s | %s | %s µs | %s | %s | %s | %s|\n' "$s" "$c" "$(median "${res_rps[$k]}")" \
        "$(fmt_ms "$(median "${res_p50[$k]}")")" "$(fmt_ms "$(median "${res_p99[$k]}")")" \
        "$(median "${res_cpu[$k]}")" "$(fmt_mib "${res_hwm[$k]}")" "$(fmt_mib "${res_rss[$k]}")" \
        "${res_err[$k]}" "${res_other[$k]}"
    done
  done
} >"$results"

per_round() { # "a1 a2 ..." "b1 b2 ...": a1/b1 a2/b2 ... (each round's back-to-back pair)
  awk -v a="$1" -v b="$2" 'BEGIN {n = split(a, x, " "); split(b, y, " "); s = "";
    for (i = 1; i <= n; i++) s = s (i > 1 ? " " : "") (y[i] ? sprintf("%.2f", x[i] / y[i]) : "?"); print s}'
}
verdict() { if awk -v a="$1" -v b="$2" "BEGIN {exit !(a $3 b)}"; then echo PASS; else echo FAIL; fi; }
if want_server cdc-guard && want_server constant; then
  {
    echo
    echo "| connections | req/s ratio (target >= $MIN_RPS_RATIO) | p99 ratio (target <= $MAX_P99_RATIO) | cdc-guard peak RSS (target <= 48 MiB) | req/s, p99 ratios per round |"
    echo "|---:|---|---|---|---|"
    for c in $CONNECTIONS; do
      g=cdc-guard:$c
      k=constant:$c
      rr=$(awk -v a="$(median "${res_rps[$g]}")" -v b="$(median "${res_rps[$k]}")" 'BEGIN {printf "%.2f", b ? a / b : 0}')
      pr=$(awk -v a="$(median "${res_p99[$g]}")" -v b="$(median "${res_p99[$k]}")" 'BEGIN {printf "%.2f", b ? a / b : 0}')
      printf '| %s | %s %s | %s %s | %s %s | %s |\n' "$c" \
        "$rr" "$(verdict "$rr" "$MIN_RPS_RATIO" '>=')" \
        "$pr" "$(verdict "$pr" "$MAX_P99_RATIO" '<=')" \
        "$(fmt_mib "${res_hwm[$g]}")" "$(verdict "${res_hwm[$g]}" "$MAX_RSS_KB" '<=')" \
        "$(per_round "${res_rps[$g]}" "${res_rps[$k]}"); $(per_round "${res_p99[$g]}" "${res_p99[$k]}")"
    done
  } >>"$results"
elif want_server cdc-guard; then
  {
    echo
    for c in $CONNECTIONS; do
      g=cdc-guard:$c
      echo "cdc-guard peak RSS after $c connection(s) (target <= 48 MiB): $(fmt_mib "${res_hwm[$g]}") $(verdict "${res_hwm[$g]}" "$MAX_RSS_KB" '<=')"
    done
  } >>"$results"
fi
cat "$results"
echo
echo "raw wrk output: $raw; table: $results"

if grep -q 'FAIL' "$results"; then missed=1; fi
if [ "$missed" = 1 ]; then
  echo "some targets missed"
  [ "$STRICT" = 1 ] && exit 1
fi
exit 0
