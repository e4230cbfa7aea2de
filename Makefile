# gpuctl - thin wrapper over Meson.  `make run` and `make test` do all set-up
# on a fresh Debian machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
DESTDIR    ?=
GPUCTL      = $(BUILD)/gpuctl

.PHONY: all deps build asan run test unit integration install clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dbuildtype=debug

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

asan: deps $(ASAN_BUILD)/build.ninja
	@ninja -C $(ASAN_BUILD) >/dev/null || ninja -C $(ASAN_BUILD)

# The monitor on a terminal, otherwise the detailed list; on a machine
# without a GPU (list exits 2) both run on four simulated GPUs, and one line
# says so.
run: build
	@sim=""; \
	$(GPUCTL) list >/dev/null 2>&1; \
	if [ $$? -eq 2 ]; then \
	    echo "No GPU found on this machine: showing 4 simulated GPUs (--simulate 4x8)."; \
	    sim="--simulate 4x8"; \
	fi; \
	if [ -t 0 ] && [ -t 1 ]; then \
	    $(GPUCTL) $$sim top; \
	else \
	    $(GPUCTL) $$sim list --details; \
	fi

test: build asan
	@./scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

install: build
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-tsan
