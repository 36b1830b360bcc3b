#!/usr/bin/env bash
# Builds the real Helm the chart tests run, from the pinned Go module in
# tools/helm/ (go.mod, go.sum: helm.sh/helm/v3), the way Helm's own Makefile
# builds a release (CGO_ENABLED=0, -trimpath, the version stamped by ldflags).
# Prints the path of the helm binary on stdout (progress goes to stderr).
#
# The binary is cached outside the work tree, keyed by a hash of the pins and
# this script: it is rebuilt only when they change. Folders of other pins
# unused for 30 days are removed.
#   CDCGUARD_HELM_CACHE  where the folders go (default ~/.cache/cdc-guard/helm)
#   GOMODCACHE, GOCACHE  Go's own module and build caches (warm runs reuse them)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mod="$root/tools/helm"

if ! command -v go >/dev/null 2>&1; then
  echo "helm-tool: go is not on PATH (the chart tests build helm with it)" >&2
  exit 1
fi

version="$(awk '$1 == "helm.sh/helm/v3" && $2 ~ /^v/ {print $2; exit}' "$mod/go.mod")"
[ -n "$version" ] || { echo "helm-tool: no helm.sh/helm/v3 version in $mod/go.mod" >&2; exit 1; }

key="$(cat "$mod/go.mod" "$mod/go.sum" "$0" | sha256sum | cut -c1-16)"
cache="${CDCGUARD_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-guard/helm}"
out="$cache/$version-$key"

if [ -x "$out/bin/helm" ] && [ -f "$out/built" ]; then
  touch "$out"
  find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'v*' ! -path "$out" \
    ! -newermt '30 days ago' -exec rm -rf {} + 2>/dev/null || true
  echo "$out/bin/helm"
  exit 0
fi

echo "helm-tool: building helm $version into $out" >&2
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# What Helm's Makefile stamps (internal/version), and the Kubernetes client
# version it reports to charts (.Capabilities) from its own go.mod.
k8s_version="$(awk '$1 == "k8s.io/client-go" && $2 ~ /^v/ {print $2; exit}' "$mod/go.mod")"
k8s_minor="${k8s_version#v0.}"; k8s_minor="${k8s_minor%%.*}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"

start=$(date +%s)
(
  cd "$mod"
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
  go build -trimpath -ldflags "$ldflags" -o "$tmp/bin/helm" helm.sh/helm/v3/cmd/helm
) >&2
"$tmp/bin/helm" version --short >&2
echo "helm_version=$version seconds=$(( $(date +%s) - start ))" > "$tmp/built"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "$out/bin/helm"
