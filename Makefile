# etl: the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: help build run run-kafka test test-short test-faults bench lint proto clean db db-down js-deps

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## build bin/etl, bin/datagen and bin/devkafka
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/etl ./cmd/etl
	@if [ -d cmd/datagen ]; then $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/datagen ./cmd/datagen; fi
	@if [ -d cmd/devkafka ]; then $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/devkafka ./cmd/devkafka; fi

# run: the main job. Gets a database (sql/devdb.sh), then runs datagen and
# `etl run configs/ecommerce.yaml` side by side until Ctrl-C, and prints what
# landed. Both run in their own session, so Ctrl-C reaches them once, from
# here: datagen stops between files, etl commits what is in flight.
run: build ## run the e-commerce pipeline: database, datagen and etl side by side (Ctrl-C stops)
	@set -euo pipefail; \
	eval "$$(sql/devdb.sh env)"; \
	echo "make run: database $$(printf '%s' "$$DATABASE_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:****@#')"; \
	mkdir -p data/events data/archive; \
	setsid bin/datagen --out data/events --interval $${DATAGEN_INTERVAL:-1s} --rows-per-file $${DATAGEN_ROWS_PER_FILE:-1000} & dg=$$!; \
	setsid bin/etl run configs/ecommerce.yaml --log-format text & etl=$$!; \
	trap 'echo; echo "stopping: etl commits what is in flight..."; kill -INT $$dg $$etl 2>/dev/null || true' INT TERM; \
	while kill -0 $$etl 2>/dev/null; do wait $$etl || true; done; \
	kill -INT $$dg 2>/dev/null || true; while kill -0 $$dg 2>/dev/null; do wait $$dg || true; done; \
	echo; echo "In ecommerce_database now:"; \
	psql "$$DATABASE_URL" -X -q -c "SELECT 'events' AS \"table\", count(*) AS rows FROM events UNION ALL SELECT 'corrupt_records', count(*) FROM corrupt_records" \
	  || echo "(psql not found: query the tables with any client)"

# run-kafka: the same, fed by Kafka: bin/devkafka (a local Kafka for
# development and tests, on KAFKA_ADDR) with the topic, datagen publishing
# to it, and `etl run configs/ecommerce-kafka.yaml`. More workers: run
# `bin/etl run configs/ecommerce-kafka.yaml` again in another terminal.
KAFKA_ADDR ?= 127.0.0.1:9092
KAFKA_PARTITIONS ?= 12
run-kafka: build ## run the Kafka pipeline: database, devkafka, datagen --kafka and etl side by side (Ctrl-C stops)
	@set -euo pipefail; \
	eval "$$(sql/devdb.sh env)"; \
	echo "make run-kafka: database $$(printf '%s' "$$DATABASE_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:****@#')"; \
	export KAFKA_BROKERS=$${KAFKA_BROKERS:-$(KAFKA_ADDR)} KAFKA_TOPIC=$${KAFKA_TOPIC:-events}; \
	mkdir -p data; \
	setsid bin/devkafka --addr $(KAFKA_ADDR) --topic $$KAFKA_TOPIC --partitions $(KAFKA_PARTITIONS) & dk=$$!; \
	for i in $$(seq 50); do (exec 3<>/dev/tcp/$${KAFKA_BROKERS%%:*}/$${KAFKA_BROKERS##*:}) 2>/dev/null && break; sleep 0.1; done; \
	setsid bin/datagen --kafka $$KAFKA_BROKERS --topic $$KAFKA_TOPIC --manifest data/datagen-kafka-manifest.json --interval $${DATAGEN_INTERVAL:-1s} --rows-per-file $${DATAGEN_ROWS_PER_FILE:-1000} & dg=$$!; \
	setsid bin/etl run configs/ecommerce-kafka.yaml --log-format text & etl=$$!; \
	trap 'echo; echo "stopping: etl commits what is in flight..."; kill -INT $$dg $$etl 2>/dev/null || true' INT TERM; \
	while kill -0 $$etl 2>/dev/null; do wait $$etl || true; done; \
	kill -INT $$dg 2>/dev/null || true; while kill -0 $$dg 2>/dev/null; do wait $$dg || true; done; \
	kill -TERM $$dk 2>/dev/null || true; while kill -0 $$dk 2>/dev/null; do wait $$dk || true; done; \
	echo; echo "In ecommerce_database now:"; \
	psql "$$DATABASE_URL" -X -q -c "SELECT 'events' AS \"table\", count(*) AS rows FROM events UNION ALL SELECT 'corrupt_records', count(*) FROM corrupt_records" \
	  || echo "(psql not found: query the tables with any client)"

test: js-deps ## run every test, against a real PostgreSQL (started if none answers)
	eval "$$(sql/devdb.sh env)" && $(GO) test -count=1 -timeout 40m ./...

test-short: ## the quick tests only (no crash loops)
	eval "$$(sql/devdb.sh env)" && $(GO) test -count=1 -short ./...

# test-faults: cmd/etl's TestFaults alone (`make test` runs it too): the
# e-commerce pipeline, run as a user runs it, under one fault per row (kills
# of etl and of each plugin, SIGSTOP, a PostgreSQL restart, terminated
# backends, a 60 s lock, a full archive disk, constraint-refused rows),
# ending with a table of the faults and their outcome. About 2 minutes.
test-faults: ## the fault suite: the pipeline under kills, outages, locks, a full disk; prints a table
	eval "$$(sql/devdb.sh env)" && $(GO) test -count=1 -timeout 20m -run 'TestFaults' -v ./cmd/etl/

# bench: cmd/bench on the local PostgreSQL (as `make test` gets it): throughput
# of `etl run --once` over BENCH_ROWS rows against psql's \copy of the same
# rows (1 and 2 streams), the parallel copy and pgloader, latency at 20,000 events/s (files, and BENCH_KAFKA of the Kafka
# pipeline on devkafka; 0 skips it), peak memory; one table, and
# bench-results.json. BENCH_FLAGS passes more flags (bin/bench --help).
BENCH_ROWS ?= 2000000
BENCH_KAFKA ?= 30s
BENCH_FLAGS ?=
bench: build ## measure etl vs psql \copy, the parallel copy and pgloader (rows/s, own and PostgreSQL CPU), latency and memory; writes bench-results.json
	$(GO) build -o $(BIN)/bench ./cmd/bench
	eval "$$(sql/devdb.sh env)" && $(BIN)/bench --rows $(BENCH_ROWS) --kafka-latency-duration $(BENCH_KAFKA) $(BENCH_FLAGS)

# js-deps: the npm packages of the JavaScript example plugin, which a test of
# cmd/etl loads into a pipeline (skipped without Node.js unless
# ETL_TEST_REQUIRE_NODE is set, as .ci/run sets it).
JS_PLUGIN := plugins/examples/wordcount-js
js-deps: ## install the npm packages of the JavaScript example plugin (needs Node.js 20 and npm)
	@if command -v npm >/dev/null; then \
	  if [ ! -d $(JS_PLUGIN)/node_modules ] || [ $(JS_PLUGIN)/package-lock.json -nt $(JS_PLUGIN)/node_modules ]; then \
	    cd $(JS_PLUGIN) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules; \
	  fi; \
	else echo "js-deps: npm not found: the JavaScript plugin test will be skipped"; fi

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
