# ember: see README.md. `make run` boots the default guest; `make test` runs
# every test tier. Both install what they need first.

SHELL := /bin/bash
GO ?= go
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
# runtime.godebugDefault: GODEBUG defaults linked into the binary, as //go:debug lines would set
# them (//go:debug does not know disablethp). disablethp=1: the Go heap takes no transparent huge
# pages. Where THP is "always" (Debian's kernels) the heap's first 4 MiB were two huge pages,
# about 2.8 MiB more resident per VM process (guest RAM keeps its huge pages: guestmem asks for
# them). It covers every ember process, `ember run` too, which could not get it from its
# environment. GODEBUG in the environment still overrides it.
LDFLAGS := -s -w -X main.version=$(VERSION) -X runtime.godebugDefault=disablethp=1
IMAGES := guest-images/out
KERNEL ?= $(IMAGES)/bzImage
INITRD ?= $(IMAGES)/initramfs.cpio.gz

.PHONY: all build bin/ember-seccomptest deps images run test unit kvm e2e man clean bench bench-quick

all: build

deps:
	@bash scripts/deps
	@$(GO) mod download

# Static binaries: they run unchanged inside the test host.
build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ember ./cmd/ember
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/containerd-shim-ember-v2 ./cmd/containerd-shim-ember-v2

# The e2e tests' ember with a test hook (cmd/ember/hook_seccomptest.go): it can be made
# to attempt a forbidden system call. Never installed or shipped.
bin/ember-seccomptest: build
	CGO_ENABLED=0 $(GO) build -trimpath -tags seccomptest -ldflags '$(LDFLAGS)' -o $@ ./cmd/ember

bin/e2e.test: $(shell find e2e -name '*.go' 2>/dev/null)
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) test -c -tags e2e -o bin/e2e.test ./e2e
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/e2e-vsockguest ./e2e/testdata/vsockguest

images: deps
	@bash guest-images/build

# Boots the default guest to a shell on its serial console (Ctrl-A x quits).
run: deps build images
	@if [ "$$(bin/ember probe --accel)" = hardware ]; then \
		bin/ember run --kernel $(KERNEL) --initrd $(INITRD); \
	else \
		echo "make run: /dev/kvm here is $$(bin/ember probe --accel) (not hardware-backed), so the VM boots"; \
		echo "inside the nested test host (QEMU with nested SVM; see README). Ctrl-A x quits ember."; \
		scripts/testhost run -- bin/ember run --kernel $(KERNEL) --initrd $(INITRD); \
	fi

# Every tier, with a summary line each (scripts/test): the test host's self-test, unit tests,
# the tests that need KVM (in the test host where /dev/kvm is not hardware-backed), and
# end-to-end boots of real guests.
test: deps build images bin/e2e.test bin/ember-seccomptest
	@scripts/test

unit kvm e2e: build bin/e2e.test bin/ember-seccomptest
	@scripts/test $@

# ember(1), from the same flag definitions as --help (bin/ember man).
man: build
	@bin/ember man >bin/ember.1 && echo "wrote bin/ember.1 (man -l bin/ember.1)"

clean:
	rm -rf bin guest-images/out

# Times ember against gokvm, QEMU microvm, crun and runc (docs/bench/; scripts/bench says how).
bench: deps build images
	@scripts/bench

# The boot-time regression guard: ember against QEMU microvm, 3 rounds in one test host; fails
# when ember's start-to-ready ratio to QEMU's rises 15 % above docs/bench/quick-ratio.json's
# (scripts/bench-quick). make test's e2e tier runs it too.
bench-quick: deps build images
	@scripts/bench-quick
