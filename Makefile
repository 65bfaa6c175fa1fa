# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
#
# latkit build.  Every tools/NAME.c becomes build/NAME; a bpf/NAME.bpf.c
# becomes build/skel/NAME.skel.h, which any tool may include.  Extra
# userspace sources of a tool live in tools/NAME/*.c.

OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
APP_PREFIX ?=

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_NAMES := $(patsubst bpf/%.bpf.c,%,$(BPF_SRCS))
SKELS := $(patsubst %,$(OUTPUT)/skel/%.skel.h,$(BPF_NAMES))
TOOLS := $(patsubst tools/%.c,%,$(wildcard tools/*.c))
LIB_SRCS := $(wildcard common/*.c) $(wildcard trace_helpers/*.c)
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/obj/%.o,$(LIB_SRCS))
GEN := $(OUTPUT)/gen/syscall_names.h

LIBS_PC := libbpf libelf zlib
# --listen: HTTP (libmicrohttpd, TLS through GnuTLS), bcrypt (libcrypt).
# Debian has no static GnuTLS dependencies: STATIC=1 tools serve no HTTP.
ifneq ($(STATIC),1)
LIBS_PC += libmicrohttpd libcrypt
endif
ifeq ($(STATIC),1)
LDFLAGS += -static
LDLIBS += $(shell $(PKG_CONFIG) --static --libs $(LIBS_PC)) -lzstd -lpthread -lm
else
LDLIBS += $(shell $(PKG_CONFIG) --libs $(LIBS_PC)) -lpthread -lm
endif

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	  -std=gnu11 -D_GNU_SOURCE
# One version, debian/changelog's: every tool's --version prints it.
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
CFLAGS += -DLK_VERSION='"$(VERSION)"'
ifeq ($(STATIC),1)
CFLAGS += -DLK_NO_HTTPD
endif
INCLUDES := -I$(OUTPUT)/skel -I$(OUTPUT)/gen -Icommon -Itrace_helpers -Ibpf -Itools
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(dir $(VMLINUX)) \
	      -Ibpf -Icommon -Wall -Wno-unused-function -Wno-compare-distinct-pointer-types

.PHONY: all clean check unit install vmlinux vmtest demo bench deps fuzz test-bins soak
.DELETE_ON_ERROR:
.SECONDARY:

all: $(patsubst %,$(OUTPUT)/%,$(TOOLS))

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h common/*.h) $(VMLINUX)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/skel/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(GEN): scripts/gen-syscall-names.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)ARCH=$(ARCH) CC="$(CC)" sh $< > $@.tmp && mv $@.tmp $@

# Every userspace object may include any skeleton or generated header.
$(OUTPUT)/obj/%.o: %.c $(wildcard common/*.h trace_helpers/*.h bpf/*.h tools/*.h tools/*/*.h) | $(SKELS) $(GEN)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

# A tool's object embeds the BPF object through its skeleton: a changed
# skeleton must rebuild it, not only order it.
TOOL_OBJS := $(patsubst %.c,$(OUTPUT)/obj/%.o,$(wildcard tools/*.c tools/*/*.c))
$(TOOL_OBJS): $(SKELS) $(GEN)

$(OUTPUT)/libcommon.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# No '%' inside the secondary expansion: make would replace it with the
# stem before expanding, and tools/NAME/*.c would never be linked.
.SECONDEXPANSION:
$(OUTPUT)/%: $(OUTPUT)/obj/tools/%.o $$(addprefix $(OUTPUT)/obj/,$$(addsuffix .o,$$(basename $$(wildcard tools/$$*/*.c)))) $(OUTPUT)/libcommon.a $(SKELS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(filter %.o %.a,$^) $(LDLIBS) -o $@

# Unit tests: tests/unit/test_*.c, plain C, linked against libcommon.a.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libcommon.a $$(wildcard tools/*/*.c) | $(SKELS) $(GEN)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $< $(wildcard tools/*/*.c) $(OUTPUT)/libcommon.a $(LDLIBS) -o $@

# tcpreq --io-uring (tools/tcpreq/ring.c), and the unit tests that link
# tcpreq's files.
URING_LIBS := $(shell $(PKG_CONFIG) $(if $(filter 1,$(STATIC)),--static) --libs liburing)
$(OUTPUT)/tcpreq $(UNIT_BINS): LDLIBS += $(URING_LIBS)

# Test helper programs: tests/progs/*.c (workloads with known syscall counts).
PROG_BINS := $(patsubst tests/progs/%.c,$(OUTPUT)/tests/progs/%,$(wildcard tests/progs/*.c))
$(OUTPUT)/tests/progs/%: tests/progs/%.c tests/progs/clock.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lpthread

unit: $(UNIT_BINS)
	$(Q)for t in $(UNIT_BINS); do $$t || exit 1; done

deps:
	$(Q)sh scripts/install-deps.sh

test-bins: $(UNIT_BINS) $(PROG_BINS)

check:
	$(Q)sh scripts/install-deps.sh --test
	$(Q)$(MAKE) --no-print-directory all test-bins
	$(Q)OUTPUT=$(abspath $(OUTPUT)) bash tests/run.sh

# make check-repeat N=5: the suite N times (3 unless given), then each
# test's pass rate; failing logs are kept in build/repeat/RUN/.
.PHONY: check-repeat
check-repeat:
	$(Q)sh scripts/install-deps.sh --test
	$(Q)$(MAKE) --no-print-directory all test-bins
	$(Q)OUTPUT=$(abspath $(OUTPUT)) bash tests/repeat.sh $(N)

demo:
	$(Q)sh scripts/install-deps.sh --test
	$(Q)$(MAKE) --no-print-directory all
	$(Q)OUTPUT=$(abspath $(OUTPUT)) bash scripts/demo.sh

# bench/emptyprog: "r0 = 0; exit" on named hooks, the floor tcplat's is compared with.
$(OUTPUT)/bench/emptyprog: bench/emptyprog.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LDFLAGS) $(LDLIBS) -o $@

bench: all $(PROG_BINS) $(OUTPUT)/bench/emptyprog
	$(Q)OUTPUT=$(abspath $(OUTPUT)) bash bench/run.sh

# make soak [SOAK_SECS=600]: every tracing tool for 30 minutes beside
# loss and churn, reports every second (bench/soak.sh); not in make check.
soak: all $(PROG_BINS)
	$(Q)OUTPUT=$(abspath $(OUTPUT)) $(if $(SOAK_SECS),SOAK_SECS=$(SOAK_SECS)) bash bench/soak.sh

# The fuzz targets need clang's libFuzzer; built only on demand.
fuzz: $(OUTPUT)/fuzz/fuzz_frame $(OUTPUT)/fuzz/fuzz_proto
$(OUTPUT)/fuzz/fuzz_frame: tests/fuzz/fuzz_frame.c $(wildcard tools/tcpreq/*.c tools/tcpreq/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Itools $< tools/tcpreq/frame.c -o $@
# UBSan stops at its first report here: a report must fail the run.
$(OUTPUT)/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c $(wildcard tools/tcplat/proto*.c tools/tcplat/proto*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -Itools $< $(wildcard tools/tcplat/proto*.c) -o $@

# Boot Debian's 6.1 and 6.12 kernels under qemu and run the suite in each
# (LK_VM_KERNEL=6.1 or 6.12: one of them; scripts/vmtest.sh).
vmtest:
	$(Q)sh scripts/install-deps.sh --test --vm
	$(Q)$(MAKE) --no-print-directory all test-bins
	$(Q)OUTPUT=$(abspath $(OUTPUT)) bash scripts/vmtest.sh

vmlinux:
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

# APP_PREFIX lets a distribution prefix every installed name.
install: all
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR)
	$(Q)for t in $(TOOLS); do \
		n=$(APP_PREFIX)$$t; \
		install -m 0755 $(OUTPUT)/$$t $(DESTDIR)$(SBINDIR)/$$n || exit 1; \
		if [ -f man/man8/$$t.8 ]; then \
			install -m 0644 man/man8/$$t.8 $(DESTDIR)$(MANDIR)/man8/$$n.8 || exit 1; \
		fi; \
		sed "s/^complete .*/complete -F _latkit $$n/" completions/latkit \
			> $(DESTDIR)$(BASHCOMPDIR)/$$n || exit 1; \
	done

clean:
	$(Q)rm -rf $(OUTPUT)
