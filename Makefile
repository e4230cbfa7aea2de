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

# The monitor when there is one and a terminal to show it on; otherwise the
# detailed list.  Exit 2 means "no GPU here", which is a fine answer to show.
run: build
	@if $(GPUCTL) help top >/dev/null 2>&1 && [ -t 1 ]; then \
	    $(GPUCTL) top; \
	else \
	    $(GPUCTL) list --details; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 2 ]; \
	fi

test: build asan
	@./scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

install: build
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-tsan
