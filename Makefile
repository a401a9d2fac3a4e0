# etl: the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: help build test test-short lint proto clean db db-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## build bin/etl and bin/datagen
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/etl ./cmd/etl
	@if [ -d cmd/datagen ]; then $(GO) build -o $(BIN)/datagen ./cmd/datagen; fi

test: ## run every test, against a real PostgreSQL (started if none answers)
	eval "$$(sql/devdb.sh env)" && $(GO) test -count=1 -timeout 40m ./...

test-short: ## the quick tests only (no crash loops)
	eval "$$(sql/devdb.sh env)" && $(GO) test -count=1 -short ./...

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

proto: ## regenerate core/plugin/pb from its .proto (needs protoc, protoc-gen-go, protoc-gen-go-grpc)
	cd core/plugin/pb && protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto

db: ## get a PostgreSQL with ecommerce_database and data_user (see sql/devdb.sh)
	sql/devdb.sh up

db-down: ## stop the throwaway PostgreSQL cluster, if one was started
	sql/devdb.sh down

clean: ## remove built binaries
	rm -rf $(BIN) plugins/bin
