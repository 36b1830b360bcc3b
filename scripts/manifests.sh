#!/usr/bin/env bash
# Generates the plain manifests in manifests/ from the Helm chart, with the
# real helm (scripts/helm-tool.sh), so that the two never drift:
#   manifests/cdc-guard.yaml          TLS from cert-manager (it must be installed)
#   manifests/cdc-guard-own-tls.yaml  TLS from a Secret you create; the CA that
#                                     signed it goes in for ${CA_BUNDLE} (envsubst)
# Both install into namespace cdc-guard (the Namespace object comes first).
#   scripts/manifests.sh          write them
#   scripts/manifests.sh --check  fail (and show the diff) when they are not current
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
helm="${CDCGUARD_HELM:-$("$root/scripts/helm-tool.sh")}"
check=0
[ "${1:-}" = "--check" ] && check=1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export HELM_CACHE_HOME="$tmp/helm/cache" HELM_CONFIG_HOME="$tmp/helm/config" HELM_DATA_HOME="$tmp/helm/data"

render() {  # render OUT HEADER [helm --set ...]
  local out="$1" header="$2"
  shift 2
  {
    printf '%s\n' "$header"
    printf '%s\n' "# Generated from charts/cdc-guard by scripts/manifests.sh (make manifests): do not edit." \
      "---" "apiVersion: v1" "kind: Namespace" "metadata:" "  name: cdc-guard" \
      "  labels:" "    app.kubernetes.io/part-of: cdc-guard"
    "$helm" template cdc-guard "$root/charts/cdc-guard" --namespace cdc-guard --skip-tests "$@"
  } > "$out"
}

render "$tmp/cdc-guard.yaml" \
  "# cdc-guard with TLS from cert-manager: kubectl apply --server-side -f manifests/cdc-guard.yaml"
render "$tmp/cdc-guard-own-tls.yaml" \
  "# cdc-guard with TLS from your own Secret cdc-guard-tls (docs/install.md):
#   export CA_BUNDLE=\"\$(base64 -w0 ca.crt)\"
#   envsubst '\${CA_BUNDLE}' < manifests/cdc-guard-own-tls.yaml | kubectl apply --server-side -f -" \
  --set tls.certManager.enabled=false --set tls.secretName=cdc-guard-tls --set 'tls.caBundle=${CA_BUNDLE}'

status=0
for f in cdc-guard.yaml cdc-guard-own-tls.yaml; do
  if [ "$check" = 1 ]; then
    if ! diff -u "$root/manifests/$f" "$tmp/$f"; then
      echo "manifests/$f is not what charts/cdc-guard renders: run make manifests" >&2
      status=1
    fi
  else
    mkdir -p "$root/manifests"
    cp "$tmp/$f" "$root/manifests/$f"
    echo "wrote manifests/$f"
  fi
done
[ "$check" = 1 ] && [ "$status" = 0 ] && echo "manifests/ is current"
exit "$status"
