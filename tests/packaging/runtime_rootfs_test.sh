#!/usr/bin/env bash
# The container image without Docker: builds the image's file system with
# scripts/runtime-rootfs.sh (what the Dockerfile copies into a scratch image)
# from the built binary, then, as uid/gid 65532 under chroot:
#   - the rootfs holds only what the image should (no shell) and the dynamic
#     loader inside it resolves every library the binary needs;
#   - `cdc-guard --version` prints VERSION;
#   - `cdc-guard serve` (standalone, TLS material made here) answers /healthz,
#     /readyz and /metrics, and exits 0 on SIGTERM; with the rootfs mounted
#     read-only and a tmpfs on /tmp, as readOnlyRootFilesystem in the chart,
#     when a private mount namespace is allowed (`unshare -m`).
# Needs root (chroot, mounts): otherwise exits 77, which ctest reports as
# skipped.
#
# Usage: runtime_rootfs_test.sh BINARY VERSION WORKDIR
set -euo pipefail

readonly skip=77
if [ $# -ne 3 ]; then
  echo "usage: $0 BINARY VERSION WORKDIR" >&2
  exit 2
fi
binary=$(realpath "$1")
version=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: chroot and mounts need root (uid $(id -u))"
  exit $skip
fi
for tool in chroot openssl curl readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIPPED: $tool not installed"
    exit $skip
  fi
done

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work"
rootfs=$work/rootfs
"$source_dir/scripts/runtime-rootfs.sh" "$rootfs" "$binary"

# --- What the image holds -------------------------------------------------
for shell in /bin/sh /usr/bin/sh /bin/bash /usr/bin/bash /bin/busybox; do
  [ ! -e "$rootfs$shell" ] && [ ! -L "$rootfs$shell" ] || fail "$shell in the rootfs"
done
# Every regular file is one of these kinds; anything else is unexpected.
unexpected=$(cd "$rootfs" && find . -type f | sed 's|^\.||' | grep -Ev \
  -e '^/usr/local/bin/cdc-guard$' \
  -e '^/usr/lib/x86_64-linux-gnu/(ld-linux-x86-64\.so\.2|lib[^/]+\.so[.0-9]*)$' \
  -e '^/usr/lib/[^/]+/(ld-linux[^/]*\.so\.[0-9]+|lib[^/]+\.so[.0-9]*)$' \
  -e '^/etc/(passwd|group|nsswitch\.conf|os-release|ssl/certs/ca-certificates\.crt)$' \
  -e '^/usr/share/doc/[^/]+/copyright$' \
  -e '^/var/lib/dpkg/status\.d/[^/]+$' || true)
[ -z "$unexpected" ] || fail "unexpected files in the rootfs:"$'\n'"$unexpected"
grep -qx 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' "$rootfs/etc/passwd" ||
  fail "no nonroot 65532 in /etc/passwd"
[ "$(stat -c %a "$rootfs/tmp")" = 1777 ] || fail "/tmp is $(stat -c %a "$rootfs/tmp"), not 1777"
[ -s "$rootfs/etc/ssl/certs/ca-certificates.crt" ] || fail "no CA bundle"

# The loader the binary asks for, run inside the rootfs: every library must
# resolve there, with nothing from this machine to fall back on.
interpreter=$(readelf -l "$binary" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
[ -n "$interpreter" ] || fail "no program interpreter in $binary"
resolved=$(chroot --userspec=65532:65532 "$rootfs" "$interpreter" --list /usr/local/bin/cdc-guard) ||
  fail "the loader in the rootfs cannot load cdc-guard:"$'\n'"$resolved"
if grep -q "not found" <<<"$resolved"; then
  fail "unresolved libraries in the rootfs:"$'\n'"$resolved"
fi
echo "ok: $(grep -c '=> /' <<<"$resolved") libraries resolve inside the rootfs"

# --- cdc-guard --version as 65532 -------------------------------------------
printed=$(chroot --userspec=65532:65532 "$rootfs" /usr/local/bin/cdc-guard --version)
[ "$printed" = "cdc-guard $version" ] || fail "--version printed '$printed', want 'cdc-guard $version'"
echo "ok: $printed"

# --- serve, standalone -------------------------------------------------------
# A certificate for 127.0.0.1, made now; the registry from the test fixtures.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=cdc-guard -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>"$work/openssl.log" || fail "openssl: $(cat "$work/openssl.log")"
cp "$source_dir/tests/fixtures/registry/design-example.yaml" "$work/registry.yaml"

if unshare -m true 2>/dev/null; then
  read_only=1
else
  read_only=0
  echo "NOTE: unshare -m is not permitted here: serve runs in a writable rootfs (read-only root not checked)"
fi

log=$work/serve.log
# In its own mount namespace (private propagation: nothing leaks out, and it
# all goes away with the process): the rootfs bind-mounted read-only over
# itself, a tmpfs on /tmp holding the TLS files and the registry (which serve
# writes back), then chroot and exec, so $serve_pid is cdc-guard itself.
# shellcheck disable=SC2016
setup='
  set -eu
  rootfs=$1 work=$2 read_only=$3
  shift 3
  if [ "$read_only" = 1 ]; then
    mount --bind "$rootfs" "$rootfs"
    mount -o remount,bind,ro "$rootfs"
    if touch "$rootfs/.write-probe" 2>/dev/null; then echo "rootfs still writable" >&2; exit 90; fi
    mount -t tmpfs -o mode=1777,size=16m tmpfs "$rootfs/tmp"
  fi
  mkdir -p "$rootfs/tmp/cdc-guard"
  cp "$work/tls.crt" "$work/tls.key" "$work/registry.yaml" "$rootfs/tmp/cdc-guard/"
  chown -R 65532:65532 "$rootfs/tmp/cdc-guard"
  exec chroot --userspec=65532:65532 "$rootfs" "$@"
'
serve_args=(/usr/local/bin/cdc-guard serve
  --tls-cert /tmp/cdc-guard/tls.crt --tls-key /tmp/cdc-guard/tls.key
  --registry-file /tmp/cdc-guard/registry.yaml
  --port 0 --metrics-port 0 --address 127.0.0.1 --threads 2
  --shutdown-delay 0 --log-format json)
if [ "$read_only" = 1 ]; then
  unshare -m bash -c "$setup" setup "$rootfs" "$work" 1 "${serve_args[@]}" >"$log" 2>&1 &
else
  bash -c "$setup" setup "$rootfs" "$work" 0 "${serve_args[@]}" >"$log" 2>&1 &
fi
serve_pid=$!
cleanup() {
  if kill -0 "$serve_pid" 2>/dev/null; then kill -KILL "$serve_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Bounded polls with sleeps (the machine may be busy): 120 x 0.5 s.
port="" metrics_port=""
for _ in $(seq 120); do
  if ! kill -0 "$serve_pid" 2>/dev/null; then
    wait "$serve_pid" && rc=0 || rc=$?
    fail "serve exited ($rc) before serving:"$'\n'"$(cat "$log")"
  fi
  if [[ $(cat "$log") =~ \"msg\":\"serving\",\"port\":([0-9]+),\"metricsPort\":([0-9]+) ]]; then
    port=${BASH_REMATCH[1]}
    metrics_port=${BASH_REMATCH[2]}
    break
  fi
  sleep 0.5
done
[ -n "$port" ] || fail "no \"serving\" line in the log within 60 s:"$'\n'"$(cat "$log")"

# It runs as 65532 (the kernel's view, not the log's).
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$serve_pid/status")
gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$serve_pid/status")
[ "$uids" = "65532 65532 65532 65532" ] || fail "serve runs with uids $uids"
[ "$gids" = "65532 65532 65532 65532" ] || fail "serve runs with gids $gids"

healthz=""
for _ in $(seq 120); do
  healthz=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/tls.crt" "https://127.0.0.1:$port/healthz" || true)
  [ "$healthz" = 200 ] && break
  sleep 0.5
done
[ "$healthz" = 200 ] || fail "https://127.0.0.1:$port/healthz answered '$healthz' within 60 s:"$'\n'"$(cat "$log")"
echo "ok: /healthz 200 over TLS on port $port (read-only root: $read_only)"

readyz=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/tls.crt" "https://127.0.0.1:$port/readyz")
[ "$readyz" = 200 ] || fail "/readyz answered $readyz"

metrics=$(curl -sf "http://127.0.0.1:$metrics_port/metrics") || fail "GET /metrics on port $metrics_port failed"
grep -q '^# TYPE cdcguard_admission_requests_total counter' <<<"$metrics" ||
  fail "/metrics lacks cdcguard_admission_requests_total:"$'\n'"$metrics"
echo "ok: /metrics on port $metrics_port"

kill -TERM "$serve_pid"
for _ in $(seq 120); do
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.5
done
kill -0 "$serve_pid" 2>/dev/null && fail "serve still running 60 s after SIGTERM:"$'\n'"$(cat "$log")"
wait "$serve_pid" && rc=0 || rc=$?
[ "$rc" = 0 ] || fail "serve exited $rc after SIGTERM:"$'\n'"$(cat "$log")"
echo "ok: serve exited 0 on SIGTERM"
echo "PASS: rootfs $(du -sh "$rootfs" | cut -f1), $(find "$rootfs" -type f | wc -l) files"
