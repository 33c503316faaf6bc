# The two commands of the README. Both install what is missing first (scripts/setup.sh).
.PHONY: serve test lint bench setup-serve setup-test image image-gpu

CARGO ?= cargo

setup-serve:
	scripts/setup.sh serve

setup-test:
	scripts/setup.sh test

## Start the embedded service on 127.0.0.1:8080 with data under .iprod/data (bucket "media").
serve: setup-serve
	$(CARGO) build --release -p iprod-cli
	./target/release/iprod serve

## The whole test suite: format, lints, every test of the workspace (the AWS ones against one
## moto server started for the run), the SAM template's offline validation, the AWS
## walkthrough of events/README.md run end to end (scripts/try-aws-local.sh), then again with
## the jobs in the worker container (built from the test build's binaries).
test: setup-test lint
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		scripts/with-moto.sh $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		scripts/with-moto.sh $(CARGO) test --workspace --no-fail-fast; \
	fi
	scripts/try-aws-local.sh
	IPROD_IMAGE_PROFILE=debug IPROD_IMAGE_TAG=iprod-worker:test scripts/image.sh cpu
	scripts/try-aws-local.sh --worker-image iprod-worker:test

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## The worker image (Dockerfile), CPU and GPU variants, with release binaries; podman offline
## (CONTAINER_TOOL=docker for Docker).
image:
	scripts/setup.sh image
	scripts/image.sh cpu

image-gpu:
	scripts/setup.sh image
	scripts/image.sh gpu

## Benchmarks (not part of the tests: they print ratios against a baseline from the same run).
bench: setup-test
	bench/rembg/setup.sh
	bench/scenedetect/setup.sh
	$(CARGO) bench -p iprod-tests --bench submit
	$(CARGO) bench -p iprod-tests --bench matting
	$(CARGO) bench -p iprod-media --bench images
	$(CARGO) bench -p iprod-media --bench videos
	$(CARGO) bench -p iprod-media --bench frame_streams
