# The two Quick-start commands:
#   make run    the chain service on this machine on embedded defaults (as far as it exists)
#   make test   every test, installing what the tests need first
SHELL := /bin/bash

.PHONY: test run build lint fmt bench deps images
test:
	bash scripts/test.sh

run:
	bash scripts/run-local.sh

build:
	cargo build --workspace --locked

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all

bench:
	cargo bench --workspace --locked

deps:
	bash scripts/test.sh --deps-only

images:
	bash images/build.sh
