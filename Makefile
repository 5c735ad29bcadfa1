# ember: see README.md. `make run` boots the default guest; `make test` runs
# every test tier. Both install what they need first.

SHELL := /bin/bash
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
IMAGES := guest-images/out
KERNEL ?= $(IMAGES)/bzImage
INITRD ?= $(IMAGES)/initramfs.cpio.gz
# Inside the nested test host a Linux guest needs seconds, not minutes.
E2E_TIMEOUT ?= 5m
TESTHOST_TIMEOUT ?= 7m

.PHONY: all build deps images run test unit e2e e2e-direct vet clean bench

all: build

deps:
	@bash scripts/deps
	@$(GO) mod download

# Static binaries: they run unchanged inside the test host.
build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ember ./cmd/ember

bin/e2e.test: $(shell find e2e -name '*.go' 2>/dev/null)
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) test -c -tags e2e -o bin/e2e.test ./e2e

images: deps
	@bash guest-images/build

# Boots the default guest to a shell on its serial console (Ctrl-A x quits).
run: deps build images
	@if grep -qwE 'vmx|svm' /proc/cpuinfo; then \
		bin/ember run --kernel $(KERNEL) --initrd $(INITRD); \
	else \
		echo "make run: this machine's /dev/kvm is emulated (no vmx/svm), so the VM boots inside"; \
		echo "the nested test host (QEMU with nested SVM; see README). Ctrl-A x quits ember."; \
		scripts/testhost run -- bin/ember run --kernel $(KERNEL) --initrd $(INITRD); \
	fi

# All three tiers: unit tests and tiny KVM guests (go test), then
# end-to-end boots of real guests (through the test host where needed).
test: deps build images unit e2e

unit:
	@echo "== tiers 1-2: unit tests and tiny guests on the local /dev/kvm"
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

e2e: build bin/e2e.test
	@echo "== tier 3: end-to-end boots of real Linux guests"
	@E2E_TIMEOUT=$(E2E_TIMEOUT) TESTHOST_TIMEOUT=$(TESTHOST_TIMEOUT) scripts/e2e

clean:
	rm -rf bin guest-images/out

# Times ember against gokvm, QEMU microvm, crun and runc (README, Performance). Where /dev/kvm
# is emulated, every system runs side by side in the test host, in BENCH_ROUNDS rounds of one
# run each (a fresh test host per round; one that freezes is stopped and the round retried;
# gokvm runs last in a round, as its guest has frozen test hosts), and
# the container runtimes (and ember's set-up, on the local /dev/kvm) also run here on the bare
# host for reference. crun needs a mount namespace without the cgroup v2 part of a hybrid
# layout (HOST-KVM.md).
BENCH_RUNS ?= 10
BENCH_VM_RUNS ?= 5
BENCH_ROUNDS ?= $(BENCH_VM_RUNS)
BENCH_OUT ?= .bench
BENCH_FILES = --json $(BENCH_OUT)/bench.json --svg $(BENCH_OUT)/bench.svg --table $(BENCH_OUT)/bench.txt
BENCH_IN_TESTHOST = --kernel /tmp/bench/bzImage --initrd /tmp/bench/initramfs.cpio.gz --bundle /tmp/bench/bundle
bench: deps build images
	@sh scripts/bench-peers prepare
	@mkdir -p $(BENCH_OUT)
	@set -o pipefail; if grep -qwE 'vmx|svm' /proc/cpuinfo; then \
		bin/ember bench --runs $(BENCH_RUNS) --vm-runs $(BENCH_VM_RUNS) $(BENCH_FILES); \
	else \
		echo "make bench: /dev/kvm here is emulated: the VMs and containers run side by side in the test host"; \
		echo "($(BENCH_ROUNDS) rounds); containers and ember's set-up also run here on the bare host, for reference."; \
		unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec bin/ember bench --runs $(BENCH_RUNS) \
			--vs crun,runc --progress line --json $(BENCH_OUT)/bare-host.json' >/dev/null || exit 1; \
		rm -f $(BENCH_OUT)/round-*.json; rounds=""; \
		for i in $$(seq 1 $(BENCH_ROUNDS)); do \
			for try in 1 2 3 4; do \
				echo "make bench: round $$i of $(BENCH_ROUNDS) (try $$try)"; \
				sh scripts/bench-peers round $(BENCH_OUT)/round-$$i.log -- --timeout 12m -- \
					sh scripts/bench-peers stage /tmp/bench -- sh -c "\
					ember bench --runs $$(( ($(BENCH_RUNS) + $(BENCH_ROUNDS) - 1) / $(BENCH_ROUNDS) )) --vm-runs 1 \
						--vs crun,runc,qemu --progress line $(BENCH_IN_TESTHOST) --json $(BENCH_OUT)/round-$$i.json; \
					ember bench --ember off --vs gokvm --vm-runs 1 --progress line $(BENCH_IN_TESTHOST) \
						--json $(BENCH_OUT)/round-$$i-gokvm.json"; \
				[ -s $(BENCH_OUT)/round-$$i.json ] && break; \
			done; \
			[ -s $(BENCH_OUT)/round-$$i.json ] || { echo "make bench: round $$i failed 4 times"; exit 1; }; \
			[ $$i = 1 ] || rounds="$$rounds --append $(BENCH_OUT)/round-$$i.json"; \
			[ -s $(BENCH_OUT)/round-$$i-gokvm.json ] && rounds="$$rounds --append $(BENCH_OUT)/round-$$i-gokvm.json"; \
		done; \
		bin/ember bench --from $(BENCH_OUT)/round-1.json $$rounds --merge $(BENCH_OUT)/bare-host.json $(BENCH_FILES); \
	fi
	@echo "make bench: wrote $(BENCH_OUT)/bench.json, $(BENCH_OUT)/bench.svg and $(BENCH_OUT)/bench.txt"
