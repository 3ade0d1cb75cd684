# Front door. Every target runs the set-up script first (fast when everything is installed).
#   make demo     the main job, locally (set-up, build, run `drc demo`)
#   make test     set-up, build, and the whole test suite (what CI runs)
#   make dev-test the same under AddressSanitizer + UBSan
#   make format   clang-format the sources in place
PRESET ?= release
BUILD := build/$(PRESET)
JOBS ?= $(shell nproc)

.PHONY: setup configure build test demo dev-test format format-check clean

setup:
	@bash scripts/setup.sh

configure: setup
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

demo: build
	@$(BUILD)/apps/drc/drc demo

dev-test:
	@$(MAKE) --no-print-directory test PRESET=dev

format:
	@bash scripts/check-format.sh --fix

format-check:
	@bash scripts/check-format.sh

clean:
	rm -rf build
