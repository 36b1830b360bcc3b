#!/usr/bin/env bash
# Builds the real control plane the e2e tests run against, from the pinned Go
# modules in tools/kube/ (go.mod, go.sum): kube-apiserver and kubectl from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3 at the version kubeadm
# pins for that release. Prints the folder holding bin/{etcd,kube-apiserver,kubectl}
# on stdout (progress goes to stderr).
#
# The folder is a cache outside the work tree, keyed by a hash of the pins and
# this script: the binaries are rebuilt only when the pins change. Folders of
# other pins unused for 30 days are removed.
#   CDCGUARD_KUBE_TOOLS_CACHE  where the folders go (default ~/.cache/cdc-guard/kube-tools)
#   GOMODCACHE, GOCACHE        Go's own module and build caches (warm runs reuse them)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mod="$root/tools/kube"

if ! command -v go >/dev/null 2>&1; then
  echo "kube-tools: go is not on PATH (the e2e tests build kube-apiserver, etcd and kubectl with it)" >&2
  exit 1
fi

# The versions, read from the pins so that one edit of go.mod changes everything.
kube_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$mod/go.mod")"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' "$mod/go.mod")"
[ -n "$kube_version" ] && [ -n "$etcd_version" ] || {
  echo "kube-tools: could not read the k8s.io/kubernetes and etcd versions from $mod/go.mod" >&2
  exit 1
}

key="$(cat "$mod/go.mod" "$mod/go.sum" "$0" | sha256sum | cut -c1-16)"
cache="${CDCGUARD_KUBE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-guard/kube-tools}"
out="$cache/$kube_version-etcd-$etcd_version-$key"

# Folders of other pins not used for 30 days go (183 MB each).
prune_stale() {
  [ -d "$cache" ] || return 0
  find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'v*' ! -path "$out" \
    ! -newermt '30 days ago' -exec rm -rf {} + 2>/dev/null || true
}

if [ -x "$out/bin/kube-apiserver" ] && [ -x "$out/bin/etcd" ] && [ -x "$out/bin/kubectl" ] &&
   [ -f "$out/built" ]; then
  touch "$out"  # its use keeps it from being pruned
  prune_stale
  echo "$out"
  exit 0
fi

echo "kube-tools: building kube-apiserver and kubectl $kube_version, etcd $etcd_version into $out" >&2
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# What hack/lib/version.sh stamps into a release build, so that
# `kubectl version` and the API server's /version report the real release.
minor="${kube_version#v1.}"; minor="${minor%%.*}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
kube_ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=server/$etcd_version"

start=$(date +%s)
(
  cd "$mod"
  # -buildvcs=false: the module sits inside this git repository, whose state is
  # no part of the tools.
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
  go build -trimpath -ldflags "$kube_ldflags" -o "$tmp/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
  go build -trimpath -ldflags "$etcd_ldflags" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3
) >&2
"$tmp/bin/kubectl" version --client >&2
"$tmp/bin/etcd" --version >&2
echo "kube_version=$kube_version etcd_version=$etcd_version built=$build_date seconds=$(( $(date +%s) - start ))" \
  > "$tmp/built"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
touch "$out"
prune_stale
echo "kube-tools: built in $(( $(date +%s) - start )) s" >&2
echo "$out"
