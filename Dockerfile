# cdc-guard container image: `make docker-build` (passes VERSION).
#
# Build stage: Debian 12 with the build dependencies (scripts/install-deps.sh,
# build-only), a Release build without tests (scripts/build.sh), then
# scripts/runtime-rootfs.sh assembles the image's whole file system in
# /rootfs: the binary, the shared libraries `ldd` names and the dynamic
# loader, /etc/passwd and /etc/group with nonroot (65532), the CA bundle,
# /tmp, and the Debian licence and package records of what was copied.
# Runtime stage: that folder in an empty image; no shell, no package manager.
# tests/packaging/runtime_rootfs_test.sh runs cdc-guard from the same folder
# under chroot as 65532 with a read-only root (ctest -L packaging).
#
# The base is debian:bookworm-slim pinned by the digest of its multi-arch
# index as published on Docker Hub (taken from Renovate's bump in
# cloudnative-pg/postgres-containers PR 374); bump tag and digest together.
# The runtime libraries come from the same Debian 12 packages as the build,
# so they match the binary exactly.
ARG BASE_IMAGE=debian:bookworm-slim@sha256:e899040a73d36e2b36fa33216943539d9957cba8172b858097c2cabcdb20a3e2

FROM ${BASE_IMAGE} AS build
ARG VERSION=""
WORKDIR /src
COPY scripts/install-deps.sh scripts/
# ca-certificates: the image's CA bundle (runtime-rootfs.sh copies it); the
# package lists are there because install-deps.sh ran apt-get update (the
# slim image has none of the build dependencies).
# Package versions are not pinned on purpose: Debian 12 security updates land
# in the next build.
# hadolint ignore=DL3008
RUN CDCGUARD_BUILD_DEPS_ONLY=1 ./scripts/install-deps.sh \
 && apt-get install -y -qq --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN BUILD_DIR=build-image BUILD_TYPE=Release BUILD_TESTING=OFF ./scripts/build.sh
# The image's version label must be the version the binary reports.
RUN built="$(build-image/cdc-guard --version)" \
 && echo "built: ${built}" \
 && if [ -n "${VERSION}" ] && [ "${built}" != "cdc-guard ${VERSION}" ]; then \
      echo "VERSION=${VERSION} but the binary says '${built}' (CMakeLists.txt project VERSION)" >&2; exit 1; \
    fi
RUN ./scripts/runtime-rootfs.sh /rootfs build-image/cdc-guard

FROM scratch
ARG VERSION=""
# The files are root-owned: 65532 can write only to /tmp (1777). cdc-guard
# writes only next to its --registry-file: mount a writable volume there.
COPY --from=build /rootfs /
LABEL org.opencontainers.image.title="cdc-guard" \
      org.opencontainers.image.description="Admission webhook and operator for Debezium MySQL/MariaDB connectors on Strimzi: unique server ids, topic prefixes and schema history topics" \
      org.opencontainers.image.source="https://github.com/cdc-guard/cdc-guard" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
USER 65532:65532
# 8443: HTTPS webhook (serve --port); 8080: Prometheus metrics (--metrics-port).
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/cdc-guard"]
CMD ["serve", "--help"]
