# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# make            build/ztrace (BPF objects, skeleton, loader)
# make test       unit tests (no root) + end-to-end tests (root), sanitizers on
# make check      install dependencies, build, test, vmtest: the README's test command
# make demo       two demo containers, ping -> pong, traced until Ctrl-C
# make fuzz       every parser under libFuzzer (FUZZ_SECONDS each)
# make bench      with/without ztrace, interleaved, as ratios (root)
# make prof       where the BPF programs' time goes: perf over the bench's worst case (root)
# make soak       minutes at load, RSS must stay flat (root, not in CI)
# make vmtest     the e2e test under stock Debian kernels (qemu) x hook modes x cgroup layouts

OUT        := build
CLANG      ?= clang
CC         ?= cc
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VMLINUX    := vmlinux/vmlinux.h

CFLAGS_COMMON := -std=gnu11 -g -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
		 -Wshadow -Wno-missing-field-initializers -D_GNU_SOURCE -I$(OUT) -Iuser -Ibpf
CFLAGS     ?=
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# What the parsers link (HPACK from nghttp2, json-c for the runtimes'
# container configs), then what the loader adds.
PARSER_LIBS := -lelf -lnghttp2 -ljson-c
LIBS       := -lbpf -lz $(PARSER_LIBS)
# The OTLP sender (user/export/otlp.c) posts with libcurl from its own thread;
# only the ztrace binaries have it, the encoder is pure and in LIB_SRCS.
# The live views' web server (libmicrohttpd, its own thread) likewise: the
# aggregate and the pages it serves are pure and in LIB_SRCS. Both libraries
# are opened when an export asks for them (user/dl.h), not linked: their
# dependencies are ~5.5 MB of resident memory.
EXPORT_SRCS := user/export/otlp.c user/live/server.c
EXPORT_LIBS := -lpthread

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS   := $(wildcard bpf/*.h)

# Pure userspace: no libbpf, unit-testable and fuzzable without root.
LIB_SRCS   := $(filter-out user/main.c user/loader.c user/hooks.c user/drain.c user/tracefs.c,\
		$(wildcard user/*.c user/proto/*.c user/output/*.c user/trace/*.c) user/tls/libs.c \
		user/export/otlp_pb.c $(filter-out user/live/server.c,$(wildcard user/live/*.c)))
BPF_USER   := user/loader.c user/hooks.c user/drain.c user/tracefs.c user/tls/attach.c
USER_HDRS  := $(wildcard user/*.h user/proto/*.h user/output/*.h user/tls/*.h user/trace/*.h \
		user/export/*.h user/live/*.h) bpf/ztrace.h

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(OUT)/san/%,$(UNIT_SRCS))
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60

.PHONY: all test unit bpftest e2e check deps demo fuzz fuzz-smoke bench prof soak vmtest clean vmlinux format
.DELETE_ON_ERROR:

all: $(OUT)/ztrace

$(OUT) $(OUT)/bpf $(OUT)/san $(OUT)/fuzz:
	@mkdir -p $@

# BPF: one object per concern, linked into one, one skeleton.
$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX) | $(OUT)/bpf
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Ivmlinux -Ibpf -c $< -o $@

$(OUT)/ztrace.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(OUT)/ztrace.skel.h: $(OUT)/ztrace.bpf.o
	$(BPFTOOL) gen skeleton $< name ztrace_bpf > $@

$(OUT)/ztrace: $(LIB_SRCS) $(BPF_USER) $(EXPORT_SRCS) user/main.c $(USER_HDRS) $(OUT)/ztrace.skel.h
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $(LIB_SRCS) $(BPF_USER) $(EXPORT_SRCS) user/main.c -o $@ $(LIBS) $(EXPORT_LIBS)

# The test build: the same program with ASan/UBSan, used by the end-to-end tests.
$(OUT)/san/ztrace: $(LIB_SRCS) $(BPF_USER) $(EXPORT_SRCS) user/main.c $(USER_HDRS) $(OUT)/ztrace.skel.h | $(OUT)/san
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) $(LIB_SRCS) $(BPF_USER) $(EXPORT_SRCS) user/main.c -o $@ $(LIBS) $(EXPORT_LIBS)

$(OUT)/san/test_%: tests/unit/test_%.c $(LIB_SRCS) $(USER_HDRS) tests/unit/check.h | $(OUT)/san
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) -Itests/unit $< $(LIB_SRCS) -o $@ $(PARSER_LIBS)

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_SRCS) $(USER_HDRS) | $(OUT)/fuzz
	$(CLANG) $(filter-out -O2,$(CFLAGS_COMMON)) -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $< $(LIB_SRCS) -o $@ $(PARSER_LIBS)

# ztrace's userspace cost per span, records replayed without the kernel:
# ns natively, instructions under callgrind (what `make bench` reports).
$(OUT)/spancost: scripts/spancost.c $(LIB_SRCS) $(USER_HDRS) | $(OUT)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(LIB_SRCS) -o $@ $(PARSER_LIBS)

# Kernel-side tests: the real programs, loaded, driven from the test process.
BPFTEST_SRCS := $(wildcard tests/bpf/test_*.c)
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(OUT)/san/%,$(BPFTEST_SRCS))

$(OUT)/san/test_capture: tests/bpf/test_capture.c $(LIB_SRCS) $(BPF_USER) $(USER_HDRS) $(OUT)/ztrace.skel.h | $(OUT)/san
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) -Itests/unit $< $(LIB_SRCS) $(BPF_USER) -o $@ $(LIBS)

# Twice: as the host's kernel wants, then as on a kernel that preempts our
# programs (twin programs loaded, atomic scratch claims: bpf/twin.bpf.h),
# which must pass the verifier and change nothing where none is preempted.
bpftest: $(BPFTEST_BINS)
	@fail=0; for t in $(BPFTEST_BINS); do for p in 0 1; do echo "$$t (ZTRACE_PREEMPTIBLE=$$p)"; \
		ZTRACE_PREEMPTIBLE=$$p timeout 600 $$t || { echo "FAIL: $$t ZTRACE_PREEMPTIBLE=$$p"; fail=1; }; \
	done; done; exit $$fail

# With them, a short replay of the bench's per-span driver: it builds
# against the current code and turns every request into one span.
unit: $(UNIT_BINS) $(OUT)/spancost
	@fail=0; for t in $(UNIT_BINS); do timeout 600 $$t || { echo "FAIL: $$t"; fail=1; }; done; \
	for f in json text; do timeout 60 $(OUT)/spancost $$f 2000 1 || { echo "FAIL: spancost $$f"; fail=1; }; done; \
	exit $$fail

e2e: $(OUT)/san/ztrace
	ZTRACE=$(abspath $(OUT)/san/ztrace) tests/e2e/run.sh

# Unit tests first: they need no root and fail fast.
test: unit fuzz-smoke bpftest e2e

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(OUT)/corpus/$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=1024 \
		$(OUT)/corpus/$$n tests/fuzz/corpus/$${n#fuzz_} || exit 1; done

# A short pass of every fuzzer, part of `make test`.
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$${FUZZ_SMOKE_SECONDS:-15}

deps:
	scripts/install-deps.sh

# The README's test command and CI: everything, then the kernel matrix.
check: deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory vmtest

demo: deps all
	scripts/demo.sh

bench: deps all $(OUT)/spancost
	scripts/bench.sh

prof: deps all
	scripts/bpfprof.sh

# Minutes at load, RSS sampled; not part of `make test`.
soak: deps all
	scripts/soak.sh

# Kernels x hook modes x cgroup layouts (VMTEST_KERNELS, VMTEST_CGROUP to narrow).
vmtest: deps all
	scripts/vmtest/matrix.sh $(if $(VMTEST_KERNELS),--kernels "$(VMTEST_KERNELS)") \
		$(if $(VMTEST_CGROUP),--cgroup "$(VMTEST_CGROUP)")

vmlinux:
	scripts/gen-vmlinux.sh

format:
	clang-format -i bpf/*.c bpf/*.h user/*.c user/*.h user/*/*.c user/*/*.h

clean:
	rm -rf $(OUT)
