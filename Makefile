.DEFAULT_GOAL := help
BUILD_DIR ?= build
# The image label; the Dockerfile checks it against what the binary reports.
VERSION ?= $(shell sed -n 's/^project.cdc-guard VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install the Debian packages the build needs
	./scripts/install-deps.sh

build: ## configure and build into ./build
	./scripts/build.sh

test: ## install deps, build, run all tests (what CI runs)
	./scripts/test.sh

demo: ## check examples/ against examples/registry.yaml
	./scripts/demo.sh

asan: ## build and test with ASan+UBSan into ./build-asan
	BUILD_DIR=build-asan CDCGUARD_SANITIZE=ON BUILD_TYPE=Debug ./scripts/build.sh && ctest --test-dir build-asan --output-on-failure -j2

kube-tools: ## build kube-apiserver, etcd and kubectl from tools/kube/ (cached), print their folder
	./scripts/kube-tools.sh

e2e: ## build, then run only the end-to-end tests against a real kube-apiserver (ctest -L e2e)
	./scripts/build.sh && CDCGUARD_KUBE_TOOLS="$$(./scripts/kube-tools.sh)" ctest --test-dir $(BUILD_DIR) -L e2e --output-on-failure

kube-env: ## start etcd, kube-apiserver and 3 cdc-guard replicas; prints a KUBECONFIG line; Ctrl-C stops
	./scripts/build.sh && CDCGUARD_KUBE_TOOLS="$$(./scripts/kube-tools.sh)" $(BUILD_DIR)/tests/cdcguard_kube_env

helm: ## build helm from tools/helm/ (cached), print its path
	./scripts/helm-tool.sh

py-env: ## make the Python venv of the consumer tests from tools/python/ (cached), print its python
	./scripts/py-test-env.sh

consumers: ## build, then validate the SARIF and JUnit reports against their consumers' schemas (ctest -L consumers)
	./scripts/build.sh && CDCGUARD_PYTHON="$$(./scripts/py-test-env.sh)" ctest --test-dir $(BUILD_DIR) -L consumers --output-on-failure

manifests: ## regenerate manifests/ from charts/cdc-guard
	./scripts/manifests.sh

chart-test: ## build, then run the chart tests (helm lint/template, install on a real API server)
	./scripts/build.sh && CDCGUARD_KUBE_TOOLS="$$(./scripts/kube-tools.sh)" CDCGUARD_HELM="$$(./scripts/helm-tool.sh)" ctest --test-dir $(BUILD_DIR) -L chart --output-on-failure

bench: ## run the check and webhook benchmarks (bench/README.md)
	./bench/check_bench.sh
	ROUNDS=3 ./bench/webhook.sh

bench-claim: ## the claim path against the fake API server (bench/README.md)
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON && ninja -C build claim_latency && ./build/claim_latency 200

fmt: ## clang-format all sources in place
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

lint: ## clang-format check (no changes)
	clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.hpp')

docker-build: ## build the container image cdc-guard:dev (Dockerfile; VERSION from CMakeLists.txt)
	docker build --build-arg VERSION=$(VERSION) -t cdc-guard:dev .

.PHONY: help deps build test demo asan kube-tools e2e kube-env helm py-env consumers manifests chart-test bench bench-claim fmt lint docker-build
