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
E2E_TIMEOUT ?= 25m
TESTHOST_TIMEOUT ?= 30m

.PHONY: all build deps images run test unit e2e e2e-direct vet clean

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
	@if grep -qwE 'vmx|svm' /proc/cpuinfo; then \
		bin/e2e.test -test.v -test.timeout $(E2E_TIMEOUT); \
	else \
		echo "(/dev/kvm is emulated here: running them inside the nested test host)"; \
		scripts/testhost run --timeout $(TESTHOST_TIMEOUT) -- bin/e2e.test -test.v -test.timeout $(E2E_TIMEOUT); \
	fi

clean:
	rm -rf bin guest-images/out
