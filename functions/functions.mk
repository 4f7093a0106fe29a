# functions/functions.mk: building, packaging, invoking and measuring the Lambda
# bootstraps. Included from the top-level Makefile (`-include functions/functions.mk`);
# it also works alone: make -f functions/functions.mk build
#
#   make build                      every function's bootstrap in build/lambda/<op>/bootstrap
#   make build-GetSecretFunction    one bootstrap into $(ARTIFACTS_DIR) (what `sam build` runs)
#   make package                    dist/<op>.zip, one per function, bootstrap at the zip's root
#   make invoke FN=get EVENT=localdev/events/get.json [ID=<uuid>]
#                                   run the bootstrap under the Lambda Runtime Interface Emulator
#                                   against a local SQLite store and print the response
#   make bench-lambda               bootstrap size, cold start and idle RSS per function
#
# Variables:
#   LAMBDA_GOARCH        arm64 (default, as template.yaml) or amd64
#   LAMBDA_BACKEND_TAGS  comma-separated backend tags (functions/backends); empty links the AWS
#                        set: DynamoDB, KMS and Secrets Manager. Local: lockwell_only,lockwell_sql.
#                        Add lockwell_otel to link OpenTelemetry tracing (about 9 MB more per bootstrap)

GO ?= go
LAMBDA_FUNCTIONS := create get list update delete dashboard purge
LAMBDA_GOARCH ?= arm64
LAMBDA_BACKEND_TAGS ?=
LAMBDA_BUILD_DIR ?= build/lambda
LAMBDA_DIST_DIR ?= dist
LAMBDA_LOCAL_TAGS := lockwell_only,lockwell_sql
LAMBDA_DATA_DIR ?= ./.lockwell/lambda

lambda_comma := ,
lambda_tags = lambda.norpc$(if $(1),$(lambda_comma)$(1))
# lambda_build OP DIR [TAGS] [GOARCH]: a static, trimmed, stripped bootstrap.
lambda_build = mkdir -p $(2) && CGO_ENABLED=0 GOOS=linux GOARCH=$(or $(4),$(LAMBDA_GOARCH)) \
	$(GO) build -tags $(call lambda_tags,$(or $(3),$(LAMBDA_BACKEND_TAGS))) -trimpath -ldflags='-s -w' \
	-o $(2)/bootstrap ./functions/$(1)

.PHONY: build package invoke bench-lambda $(addprefix build-lambda-,$(LAMBDA_FUNCTIONS)) \
	build-CreateSecretFunction build-GetSecretFunction build-ListSecretsFunction \
	build-UpdateSecretFunction build-DeleteSecretFunction build-DashboardFunction build-MigrateSecretsFunction \
	build-PurgeExpiredFunction build-EventsFunction

## build: every Lambda bootstrap (build/lambda/<op>/bootstrap)
build: $(addprefix build-lambda-,$(LAMBDA_FUNCTIONS))

# A static pattern rule: make applies no implicit rules to .PHONY targets.
$(addprefix build-lambda-,$(LAMBDA_FUNCTIONS)): build-lambda-%:
	$(call lambda_build,$*,$(LAMBDA_BUILD_DIR)/$*)

# SAM (Metadata: BuildMethod: makefile) runs `make build-<LogicalId>` with ARTIFACTS_DIR set.
build-CreateSecretFunction:
	$(call lambda_build,create,$(ARTIFACTS_DIR))
build-GetSecretFunction:
	$(call lambda_build,get,$(ARTIFACTS_DIR))
build-ListSecretsFunction:
	$(call lambda_build,list,$(ARTIFACTS_DIR))
build-UpdateSecretFunction:
	$(call lambda_build,update,$(ARTIFACTS_DIR))
build-DeleteSecretFunction:
	$(call lambda_build,delete,$(ARTIFACTS_DIR))
# The scheduled purge of deleted secrets past their recovery window.
build-PurgeExpiredFunction:
	$(call lambda_build,purge,$(ARTIFACTS_DIR))
# The web dashboard's assets, sign-in and whoami (shared/dashboard).
build-DashboardFunction:
	$(call lambda_build,dashboard,$(ARTIFACTS_DIR))
# Change events from the secrets table's DynamoDB stream to EventBridge.
build-EventsFunction:
	$(call lambda_build,events,$(ARTIFACTS_DIR))
# The legacy-secrets migrator (migrate/lambda), an SQS-triggered function.
build-MigrateSecretsFunction:
	mkdir -p $(ARTIFACTS_DIR) && CGO_ENABLED=0 GOOS=linux GOARCH=$(LAMBDA_GOARCH) \
	$(GO) build -tags $(call lambda_tags,$(LAMBDA_BACKEND_TAGS)) -trimpath -ldflags='-s -w' \
	-o $(ARTIFACTS_DIR)/bootstrap ./migrate/lambda

## package: one zip per function in dist/ (dist/<op>.zip with bootstrap at its root)
package: build
	@mkdir -p $(LAMBDA_DIST_DIR)
	@for fn in $(LAMBDA_FUNCTIONS); do \
	  rm -f $(LAMBDA_DIST_DIR)/$$fn.zip; \
	  (cd $(LAMBDA_BUILD_DIR)/$$fn && zip -q -X $(abspath $(LAMBDA_DIST_DIR))/$$fn.zip bootstrap) || exit 1; \
	  echo "$(LAMBDA_DIST_DIR)/$$fn.zip"; \
	done

## invoke: FN=get EVENT=localdev/events/get.json [ID=uuid]: one event through the real bootstrap under the emulator
invoke:
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=get EVENT=localdev/events/get.json [ID=<secret id>]"; exit 2; }
	@$(call lambda_build,$(FN),$(LAMBDA_BUILD_DIR)/local/$(FN),$(LAMBDA_LOCAL_TAGS),$(shell $(GO) env GOARCH))
	@$(GO) run ./localdev/lambdarun invoke -bootstrap $(LAMBDA_BUILD_DIR)/local/$(FN)/bootstrap \
	  -event $(EVENT) -data-dir $(LAMBDA_DATA_DIR) $(if $(ID),-id $(ID))

## bench-lambda: per bootstrap: size (AWS build, $(LAMBDA_GOARCH)), cold start and idle RSS under the emulator
## (the SQLite build, and the AWS build for this machine against dynalite and the local KMS)
bench-lambda:
	@for fn in $(LAMBDA_FUNCTIONS); do \
	  $(call lambda_build,$$fn,$(LAMBDA_BUILD_DIR)/aws/$$fn) || exit 1; \
	  $(call lambda_build,$$fn,$(LAMBDA_BUILD_DIR)/aws-host/$$fn,,$(shell $(GO) env GOARCH)) || exit 1; \
	  $(call lambda_build,$$fn,$(LAMBDA_BUILD_DIR)/local/$$fn,$(LAMBDA_LOCAL_TAGS),$(shell $(GO) env GOARCH)) || exit 1; \
	done
	@$(GO) run ./localdev/lambdarun bench -aws $(LAMBDA_BUILD_DIR)/aws -aws-host $(LAMBDA_BUILD_DIR)/aws-host \
	  -local $(LAMBDA_BUILD_DIR)/local
