# datamover-operator — the front door. `make help` lists the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
NODE_BIN := node_modules/.bin
KUBECONFIG_PATH := $(shell bash hack/cluster-up.sh --kubeconfig)
export KUBECONFIG := $(KUBECONFIG_PATH)
export PATH := $(shell bash -c 'source hack/testbed-versions.sh && echo $$TESTBED_BIN'):$(CURDIR)/$(NODE_BIN):$(PATH)
export RCLONE_BINARY := $(shell bash -c 'source hack/testbed-versions.sh && echo $$RCLONE_BIN')/rclone
export VERSITYGW_BINARY := $(shell bash -c 'source hack/testbed-versions.sh && echo $$VERSITYGW_BIN')/versitygw

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

node_modules/.stamp: package.json package-lock.json
	bash hack/npm-deps.sh
	@touch $@

.PHONY: deps
deps: node_modules/.stamp ## Install the npm dependencies (Node LTS comes from the npm `node` package)

.PHONY: tools
tools: ## Install shellcheck, yamllint, promtool, amtool, lua, bubblewrap from Debian if missing
	bash hack/install-tools.sh

.PHONY: build
build: deps ## Compile TypeScript into dist/, and bundle the operator into dist/operator/ (rolldown.config.mjs)
	$(NODE_BIN)/tsc -p tsconfig.json
	$(NODE_BIN)/rolldown -c rolldown.config.mjs --logLevel warn

.PHONY: generate
generate: build ## Regenerate config/crd from the TypeBox schema
	$(NODE_BIN)/node dist/src/api/v1alpha1/generate.js

.PHONY: lint
lint: deps tools ## eslint, prettier, import direction (dependency-cruiser), shellcheck and yamllint
	$(NODE_BIN)/eslint .
	$(NODE_BIN)/depcruise --config .dependency-cruiser.cjs src mover
	$(NODE_BIN)/prettier --check .
	shellcheck hack/*.sh .ci/run
	yamllint -c .yamllint.yaml config hack

.PHONY: test-unit
test-unit: build ## Unit tests of the pure logic (no cluster)
	bash hack/test.sh tier unit

.PHONY: test-integration
test-integration: build cluster-up ## Operator journeys against the real control plane
	bash hack/test.sh tier integration

.PHONY: test-e2e
test-e2e: build cluster-up ## Hardening: crashes, failover, split brain, API faults, hostile input, retention
	bash hack/test.sh tier e2e-parallel
	bash hack/test.sh tier e2e

.PHONY: test-real
test-real: build cluster-up ## Real pods and real bytes on the test bed's real node (skipped, with the reason, if it has none)
	bash hack/test.sh tier real

.PHONY: verify
verify: deps tools cluster-up ## Packaging checks: promtool, amtool, server-side dry run of config/
	bash hack/verify.sh

.PHONY: test-mover
test-mover: build tools ## The mover against a real S3 server (rclone serve s3), no cluster needed
	bash hack/build-tools.sh
	bash hack/test.sh tier mover

.PHONY: test
test: deps tools build ## The whole suite: lint, unit, packaging checks, integration, e2e and real-node tests, the mover tier in the background (hack/test.sh)
	bash hack/test.sh

.PHONY: bench
bench: build cluster-up ## The operator benchmark: COUNT DataMovers (default 100), figures in BENCHMARKS.md
	$(NODE_BIN)/node dist/test/bench/bench.js --count $${COUNT:-100}

.PHONY: bench-schedules
bench-schedules: build cluster-up ## The schedule benchmark: SCHEDULES x PVCS DataMovers firing at one second, runs in flight
	$(NODE_BIN)/node dist/test/bench/schedules.js --schedules $${SCHEDULES:-100} --pvcs $${PVCS:-10}

.PHONY: bench-cap
bench-cap: build cluster-up ## The run cap: COUNT DataMovers in NAMESPACES namespaces, --max-concurrent-runs CAP, a failover halfway
	$(NODE_BIN)/node dist/test/bench/cap.js --count $${COUNT:-1000} --namespaces $${NAMESPACES:-10} --cap $${CAP:-10}

.PHONY: kind-deploy
kind-deploy: deps ## Needs Docker (not run by make test): kind cluster, both images, CSI hostpath, S3, the chart
	bash hack/kind-deploy.sh

.PHONY: testbed
testbed: ## Build the test bed's binaries (kube-apiserver, kcm, scheduler, kubectl, etcd, kwok) into the cache
	bash hack/build-testbed.sh

.PHONY: cluster-up
cluster-up: build ## Start the local control plane (kwokctl, binary runtime) with storage, kwok's node and the real node
	bash hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local control plane, the real node, the demo operator and the test provisioner
	bash hack/cluster-down.sh

.PHONY: demo
demo: build ## Run the operator on the local control plane and back up a sample PVC
	bash hack/demo.sh

.PHONY: run
run: build ## Run the operator against the current KUBECONFIG in the foreground
	$(NODE_BIN)/node dist/operator/main.js
