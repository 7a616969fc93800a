# The front door. Every target delegates to a script so CI and humans run the same thing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help up dev db test test-service lint cluster cluster-down cluster-test bench clean-cache

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

up: ## the whole bundle on kind: cluster, images, operator, app with its database
	./scripts/up.sh

dev: ## the service alone against a local PostgreSQL (started from Debian's postgresql)
	./scripts/dev.sh

test: ## every test: lint, types, service, charts, operator, cluster and e2e
	./scripts/test.sh

lint: ## ruff and mypy
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .
	uv run --frozen mypy

cluster: ## create or reuse the kind cluster "moorage" (1 control plane + MOORAGE_WORKERS=2 workers, Traefik, NetworkPolicy)
	./cluster/up.sh

cluster-down: ## delete the kind cluster
	./cluster/down.sh

bench: ## service and operator benchmarks, printed as ratios to a same-run baseline
	./bench/run.sh
