# Lockwell. The two commands a newcomer needs:
#   make dev    run the local server on the embedded SQLite store (127.0.0.1:8080, data in ./.lockwell; only Go needed)
#   make test   run every test (installs Go modules and the npm stand-ins under localdev/ itself)
# Also: make bench, make build, make package, make invoke FN=get EVENT=localdev/events/get.json,
#       make image (the container image tarball; README "Kubernetes")

SHELL := /bin/bash
GO ?= go
ADDR ?= 127.0.0.1:8080
DATA_DIR ?= ./.lockwell
STORE ?= sqlite
NODE_MODULES := localdev/node_modules/.package-lock.json

.PHONY: dev test deps bench install lint fmt test-vault-real screenshots image

## deps: download Go modules and install the npm stand-ins (dynalite, fauxqs, Node 22) under localdev/
deps: $(NODE_MODULES)
	$(GO) mod download

$(NODE_MODULES): localdev/package.json localdev/package-lock.json
	npm ci --prefix localdev --no-audit --no-fund --loglevel=error
	@touch $@

## dev: the local server on the embedded store (needs only Go); STORE=dynamodb|postgres|mysql and
## VALUES=awssecretsmanager|gcpsecretmanager|azurekeyvault|hashivault run it on the local stand-ins
## instead, which also need npm (localdev/README.md). The server binary is built with -tags nocloud
## (no cloud SDKs: half the size and build time; see cmd/lockwell/cloud.go)
DEV_BIN := build/lockwell
BUILD_NOTE := echo "Building lockwell (a cold build takes a few minutes on a small machine; later builds take seconds)..."

dev:
ifeq ($(STORE)$(VALUES),sqlite)
	@$(BUILD_NOTE)
	@$(GO) build -buildvcs=auto -tags nocloud -o $(DEV_BIN) ./cmd/lockwell
	@$(DEV_BIN) serve --addr $(ADDR) --data-dir $(DATA_DIR)
else ifeq ($(STORE),postgres)
	@$(MAKE) --no-print-directory deps
	@$(BUILD_NOTE)
	@if [ -z "$$LOCKWELL_TEST_POSTGRES_URL" ]; then eval "$$(localdev/scripts/postgres.sh start)"; export PGUSER LOCKWELL_TEST_POSTGRES_URL; fi; \
	$(GO) run ./localdev/stack --store $(STORE) --values $(or $(VALUES),none) --addr $(ADDR) --data-dir $(DATA_DIR)
else ifeq ($(STORE),mysql)
	@$(BUILD_NOTE)
	if [ -z "$$LOCKWELL_TEST_MYSQL_URL" ]; then eval "$$(localdev/scripts/mariadb.sh start)"; export MYSQL_USER MYSQL_PWD_FILE LOCKWELL_TEST_MYSQL_URL; fi; \
	$(GO) run ./localdev/stack --store $(STORE) --values $(or $(VALUES),none) --addr $(ADDR) --data-dir $(DATA_DIR)
else
	@$(MAKE) --no-print-directory deps
	@$(BUILD_NOTE)
	@$(GO) run ./localdev/stack --store $(STORE) --values $(or $(VALUES),none) --addr $(ADDR) --data-dir $(DATA_DIR)
endif

## test: every test, run afresh (-count=1: never a cached result), with the race detector. PostgreSQL and MariaDB are started on loopback when they
## are installed (CI installs them); outside CI, tests whose database or emulator is missing skip and say
## why. Then the Helm chart's tests, in their own module (infra/helm/chartcheck) so helm stays out of the
## main build.
test: deps
	@if [ -x localdev/scripts/postgres.sh ] && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  eval "$$(localdev/scripts/postgres.sh start)"; \
	  export PGUSER LOCKWELL_TEST_POSTGRES_URL; \
	fi; \
	if [ -x localdev/scripts/mariadb.sh ] && command -v mariadb-install-db >/dev/null; then \
	  eval "$$(localdev/scripts/mariadb.sh start)"; \
	  export MYSQL_USER MYSQL_PWD_FILE LOCKWELL_TEST_MYSQL_URL; \
	fi; \
	$(GO) test -race -count=1 -timeout 20m ./...
	cd infra/helm/chartcheck && $(GO) test -count=1 -timeout 10m ./...

## bench: performance figures (never asserted by tests): the local server against a bare net/http
## handler, SQL list cost at 1k vs 100k secrets, DynamoDB and KMS calls per operation, Lambda bootstrap
## size / cold start / idle RSS, and migration throughput for 10,000 legacy entries.
bench: deps
	@echo "== local server vs bare net/http (localdev/bench) =="
	$(GO) run ./localdev/bench $(BENCH_FLAGS)
	@echo "== the same on PostgreSQL (localdev/bench -store-url; a schema of its own, dropped afterwards) =="
	@if [ -x localdev/scripts/postgres.sh ] && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  eval "$$(localdev/scripts/postgres.sh start)"; export PGUSER LOCKWELL_TEST_POSTGRES_URL; \
	  $(GO) run ./localdev/bench -store-url "$$LOCKWELL_TEST_POSTGRES_URL" $(BENCH_FLAGS); \
	else echo "PostgreSQL is not installed (apt-get install postgresql): skipped"; fi
	@echo "== SQL list page at 1k and 100k secrets (shared/sqlstore: SQLite, PostgreSQL, MariaDB) =="
	@if [ -x localdev/scripts/postgres.sh ] && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  eval "$$(localdev/scripts/postgres.sh start)"; export PGUSER LOCKWELL_TEST_POSTGRES_URL; fi; \
	if [ -x localdev/scripts/mariadb.sh ] && command -v mariadb-install-db >/dev/null; then \
	  eval "$$(localdev/scripts/mariadb.sh start)"; export MYSQL_USER MYSQL_PWD_FILE LOCKWELL_TEST_MYSQL_URL; fi; \
	$(GO) test -run '^$$' -bench 'ListPage' -benchtime 2000x ./shared/sqlstore/
	@echo "== The cost of history: get and update with 20 kept versions against none (shared/sqlstore) =="
	@if [ -x localdev/scripts/postgres.sh ] && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  eval "$$(localdev/scripts/postgres.sh start)"; export PGUSER LOCKWELL_TEST_POSTGRES_URL; fi; \
	$(GO) test -run '^$$' -bench 'HistoryCost' -benchtime 3000x ./shared/sqlstore/
	@echo "== SQLite writes from 16 concurrent writers, with and without group commit (shared/sqlstore) =="
	$(GO) test -run '^$$' -bench 'ConcurrentWrites' -benchtime 5000x ./shared/sqlstore/
	@echo "== DynamoDB backend on dynalite: throughput and calls per operation =="
	$(GO) run ./localdev/dynamobench/cmd/dynamobench
	@echo "== Lambda bootstraps: size, cold start, idle RSS =="
	$(MAKE) --no-print-directory bench-lambda
	@echo "== migration of 10,000 legacy entries =="
	$(GO) run ./localdev/migratebench -n 10000
	@echo "== import of 10,000 secrets from ZenML's REST API (stand-in), half of them private =="
	$(GO) run ./localdev/migratebench -n 10000 -source zenml-server

## test-vault-real: opt-in, not part of make test or CI: the Vault value store, the legacy Vault reader
## and the local Vault server checked against the real Vault 1.21.4 in-process
## (localdev/realvault/README.md: ~280 MB of modules, ~7 minutes of cold build, ~11 s of tests)
test-vault-real:
	cd localdev/realvault && GOFLAGS=-mod=mod nice -n 10 $(GO) test -race -count=1 ./...

## screenshots: the dashboard's pages at 1280 and 360 px, light and dark, into shared/dashboard/screenshots/
## (linked from the README), taken by its browser test in headless chromium (apt-get install chromium)
screenshots:
	LOCKWELL_SCREENSHOTS=$(CURDIR)/shared/dashboard/screenshots $(GO) test -count=1 -run '^TestDashboardScreenshots$$' ./shared/dashboard/

## image: the container image of `lockwell serve`, built without Docker, as a docker-archive tarball
## (IMAGE_OUT, default build/lockwell-image.tar) for docker/podman load, crane push or kind load;
## reproducible: two builds of one commit are byte-identical (infra/image)
IMAGE_OUT ?= build/lockwell-image.tar
image:
	$(GO) run ./infra/image --out $(IMAGE_OUT) $(IMAGE_FLAGS)

## install: the lockwell CLI into $(go env GOPATH)/bin (or $GOBIN), which must be on PATH
install:
	$(GO) install -buildvcs=auto ./cmd/lockwell
	@bin="$$($(GO) env GOBIN)"; bin="$${bin:-$$($(GO) env GOPATH)/bin}"; \
	case ":$$PATH:" in *":$$bin:"*) echo "Installed $$bin/lockwell." ;; \
	*) echo "Installed $$bin/lockwell; add $$bin to PATH: export PATH=\"\$$PATH:$$bin\"" ;; esac

## lint: gofmt, go vet, and go.mod/go.sum exactly as `go mod tidy` would leave them (also in the
## chart's test module infra/helm/chartcheck)
lint:
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; $(GO) mod tidy -diff; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	@cd infra/helm/chartcheck && { $(GO) mod tidy -diff >/dev/null || { echo "infra/helm/chartcheck: go.mod/go.sum are not tidy"; exit 1; }; $(GO) vet ./...; }

fmt:
	gofmt -w $$(git ls-files '*.go')

-include functions/functions.mk
