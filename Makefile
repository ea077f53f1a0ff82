# StereoSpot: the two commands of the README, and the steps they are made of.
#   make run   install packages, build (Release), start `stereospot serve` (embedded backend)
#   make test  install packages, build, run every test under ASan + UBSan
SHELL := /bin/bash
.DEFAULT_GOAL := help

JOBS      ?= $(shell nproc)
DATA_DIR  ?= ./data
LISTEN    ?= 127.0.0.1:8080
CMAKE_GEN := -G Ninja

RELEASE_DIR := build/release
TEST_DIR    := build/test
ASAN_DIR    := build/asan
# Line tables (-g1) are all a test failure or a sanitizer report needs, and build much faster
# than full debug info on 2 cores; -O1 keeps sanitizer builds quick to compile and to run.
TEST_CXXFLAGS := -O2 -g1 -DNDEBUG
ASAN_CXXFLAGS := -O1 -g1

.PHONY: help deps build run test format-check test-plain test-asan bench format clean

help:
	@echo "make run    install dependencies, build, start the service on $(LISTEN)"
	@echo "make test   install dependencies, build, run every test under ASan + UBSan"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make format clang-format the sources"

deps:
	@bash scripts/install-deps.sh

$(RELEASE_DIR)/build.ninja:
	cmake -S . -B $(RELEASE_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DSTEREOSPOT_BUILD_TESTS=OFF

build: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS) --target stereospot

run: build
	$(RELEASE_DIR)/src/cli/stereospot --data-dir $(DATA_DIR) serve --listen $(LISTEN)

# The tests: one build with AddressSanitizer + UndefinedBehaviorSanitizer runs every test, so a
# memory or UB bug anywhere fails the run; building the tests once keeps CI short on 2 cores.
# `make test-plain` runs the same tests in an unsanitized build.
test: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory test-asan

test-plain: deps
	cmake -S . -B $(TEST_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$(TEST_CXXFLAGS)"
	cmake --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest -j $(JOBS) --output-on-failure --no-tests=error

test-asan:
	cmake -S . -B $(ASAN_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEREOSPOT_SANITIZE=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$(ASAN_CXXFLAGS)"
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -j $(JOBS) --output-on-failure --no-tests=error

bench: deps
	cmake -S . -B $(RELEASE_DIR) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release -DSTEREOSPOT_BUILD_TESTS=OFF
	cmake --build $(RELEASE_DIR) -j $(JOBS)
	bash bench/run.sh $(RELEASE_DIR)

# Sources: tracked files and new ones git does not ignore (so a file not yet added is checked).
SOURCES_CMD := git ls-files --cached --others --exclude-standard '*.cc' '*.h'

format:
	$(SOURCES_CMD) | xargs clang-format -i

# Fails, naming the files, when any source is not clang-formatted (`make format` fixes it).
format-check:
	@$(SOURCES_CMD) | xargs clang-format --dry-run -Werror \
	  || { echo "clang-format: run 'make format'"; exit 1; }
	@echo "format-check: all sources clang-formatted"

clean:
	rm -rf build
