# frp-style reverse proxy with pluggable transports. One GNU make.
#
#   make            build/frps, build/frpc, build/transports/*.so, tools
#   make check      install deps, build, run every test, then again under
#                   ASan+UBSan (build-san/)
#   make demo       frps + frpc + a sample service on loopback over KCP
#   make deps       apt-get what the build and tests need (when missing)
#   make BUILD=dir  build somewhere else; SAN=1 adds ASan+UBSan
#
# Sources are found by wildcard, so a new module needs no Makefile edit:
#   common/*.c            -> $(BUILD)/libcommon.a (frpc, frps, tests; never plugins)
#   frpc/*.c, frps/*.c    -> $(BUILD)/frpc, $(BUILD)/frps
#   transports/X/*.c      -> $(BUILD)/transports/X.so (+ libxport_X.a for unit tests)
#                            extra libraries: XPORT_LIBS_X in transports/X/module.mk
#   tests/unit/test_*.c   -> $(BUILD)/tests/test_* (check), linked with everything
#   tests/xport/*.c       -> $(BUILD)/tests/xport_conformance (takes a .so path)
#   tests/tools/*.c       -> $(BUILD)/tools/* (one program per file)

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
else
BUILD ?= build
endif

CC ?= gcc
PKGS := libevent libevent_pthreads yaml-0.1 jansson zlib check libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS_CORE := $(shell pkg-config --libs libevent yaml-0.1 jansson zlib 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

# The core (programs, common/, tests) is built for size: frpc runs on routers
# and small boards (budget: frpc + plugins <= 300 KB stripped) and its hot
# paths are in libevent, mbedTLS and the kernel. Transport plugins keep -O2:
# KCP's ARQ, FEC and crypt loops are ours.
OPT ?= -Os
XPORT_OPT ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror \
	-Wno-missing-field-initializers -fPIC -MMD -MP -Icommon $(PKG_CFLAGS) \
	-ffunction-sections -fdata-sections
LDFLAGS_BASE :=
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
LDFLAGS_BASE += -fsanitize=address,undefined
endif
CFLAGS_ALL = $(CFLAGS_BASE) $(CFLAGS)
LDFLAGS_ALL = $(LDFLAGS_BASE) $(LDFLAGS)
CORE_LIBS := $(PKG_LIBS_CORE) -lmbedtls -lmbedx509 -lmbedcrypto -lsnappy -ldl -lm

COMMON_SRC := $(wildcard common/*.c)
FRPC_SRC := $(wildcard frpc/*.c)
FRPS_SRC := $(wildcard frps/*.c)
TRANSPORTS := $(notdir $(patsubst %/,%,$(dir $(wildcard transports/*/*.c))))
TRANSPORTS := $(sort $(TRANSPORTS))
-include $(wildcard transports/*/module.mk)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_HELPERS := $(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c))
XPORT_TEST_SRC := $(wildcard tests/xport/*.c)
TOOL_SRC := $(wildcard tests/tools/*.c) $(wildcard bench/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_LIB := $(BUILD)/libcommon.a
SO_FILES := $(foreach t,$(TRANSPORTS),$(BUILD)/transports/$(t).so)
XPORT_LIBS_A := $(foreach t,$(TRANSPORTS),$(BUILD)/libxport_$(t).a)
ALL_XPORT_EXTRA := $(foreach t,$(TRANSPORTS),$(XPORT_LIBS_$(t)))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BINS := $(foreach f,$(TOOL_SRC),$(BUILD)/tools/$(basename $(notdir $(f))))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
XPORT_TEST_BIN := $(if $(XPORT_TEST_SRC),$(BUILD)/tests/xport_conformance)
KCPCAT_SRC := $(wildcard kcpcat/*.c)
PROGRAMS := $(if $(FRPS_SRC),$(BUILD)/frps) $(if $(FRPC_SRC),$(BUILD)/frpc) \
	$(if $(KCPCAT_SRC),$(BUILD)/kcpcat)
# The kcp-go interop peer (Go, built offline against Debian's kcp-go source).
INTEROP_BIN := $(if $(shell command -v go 2>/dev/null),$(BUILD)/tools/kcppeer)

.PHONY: all deps check check-build test test-unit test-xport test-e2e demo clean format \
	programs plugins tools unit
all: programs plugins tools
programs: $(PROGRAMS)
plugins: $(SO_FILES)
tools: $(TOOL_BINS)
unit: $(UNIT_BINS) $(XPORT_TEST_BIN) $(INTEROP_BIN) $(FUZZ_BINS)

# ---- objects -------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# Plugin objects: hidden visibility, only the entry symbol is exported.
$(BUILD)/pobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(XPORT_OPT) -fvisibility=hidden -c $< -o $@

$(COMMON_LIB): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Programs keep only what they use (frpc is meant for routers: the
# size budget is frpc + plugins <= 300 KB stripped), so no -rdynamic.
PROG_LDFLAGS := -Wl,--gc-sections
$(BUILD)/frpc: $(call obj,$(FRPC_SRC)) $(COMMON_LIB)
	$(CC) $(LDFLAGS_ALL) $(PROG_LDFLAGS) -o $@ $^ $(CORE_LIBS)
$(BUILD)/frps: $(call obj,$(FRPS_SRC)) $(COMMON_LIB)
	$(CC) $(LDFLAGS_ALL) $(PROG_LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(BUILD)/kcpcat: $(call obj,$(KCPCAT_SRC)) $(COMMON_LIB)
	$(CC) $(LDFLAGS_ALL) $(PROG_LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(BUILD)/tools/kcppeer: $(wildcard tests/interop/*.go)
	@mkdir -p $(BUILD)/gopath $(dir $@)
	cd tests/interop && GOPATH=$(abspath $(BUILD))/gopath:/usr/share/gocode \
		GO111MODULE=off GOCACHE=$(abspath $(BUILD))/gocache go build -o $(abspath $@) .

define transport_rules
$(BUILD)/transports/$(1).so: $(patsubst %.c,$(BUILD)/pobj/%.o,$(wildcard transports/$(1)/*.c))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_ALL) -shared -Wl,--no-undefined -Wl,--gc-sections -o $$@ $$^ $$(PKG_LIBS_CORE) $$(XPORT_LIBS_$(1))
$(BUILD)/libxport_$(1).a: $(patsubst %.c,$(BUILD)/pobj/%.o,$(wildcard transports/$(1)/*.c))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach t,$(TRANSPORTS),$(eval $(call transport_rules,$(t))))

TEST_LINK = $(COMMON_LIB) $(XPORT_LIBS_A)
TEST_LIBS = $(CHECK_LIBS) $(CORE_LIBS) $(ALL_XPORT_EXTRA) -lpthread

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(call obj,$(UNIT_HELPERS)) $(TEST_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $< $(call obj,$(UNIT_HELPERS)) \
		-Wl,--start-group $(TEST_LINK) -Wl,--end-group $(TEST_LIBS)

$(BUILD)/tests/xport_conformance: $(call obj,$(XPORT_TEST_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $^ $(CHECK_LIBS) $(CORE_LIBS) -lpthread

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(COMMON_LIB) $(XPORT_LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $< -Wl,--start-group $(COMMON_LIB) \
		$(XPORT_LIBS_A) -Wl,--end-group $(CORE_LIBS) $(ALL_XPORT_EXTRA) -lpthread
# Fuzz targets as plain programs (bounded seeded runs; -DFUZZING for libFuzzer).
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(COMMON_LIB) $(XPORT_LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< -Wl,--start-group $(COMMON_LIB) \
		$(XPORT_LIBS_A) -Wl,--end-group $(CORE_LIBS) $(ALL_XPORT_EXTRA) -lpthread
$(BUILD)/tools/%: $(BUILD)/obj/bench/%.o $(COMMON_LIB) $(XPORT_LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $< -Wl,--start-group $(COMMON_LIB) \
		$(XPORT_LIBS_A) -Wl,--end-group $(CORE_LIBS) $(ALL_XPORT_EXTRA) -lpthread

# ---- dependencies ----------------------------------------------------------
deps:
	@tests/deps.sh

# ---- tests ------------------------------------------------------------------
# `make check` = deps, then the whole suite normally, then under ASan+UBSan.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check: deps
	$(MAKE) -j$(JOBS) all unit SAN=0
	$(MAKE) check-build SAN=0
	$(MAKE) -j$(JOBS) all unit SAN=1
	$(MAKE) check-build SAN=1

check-build: all unit
	tests/run.sh $(BUILD)

test: all unit
	tests/run.sh $(BUILD)

demo: deps
	$(MAKE) -j$(JOBS) all SAN=0
	tests/demo.sh build

format:
	clang-format -i $(COMMON_SRC) $(FRPC_SRC) $(FRPS_SRC) common/*.h \
		$(wildcard transports/*/*.[ch]) $(wildcard tests/*/*.[ch])

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- fake transport plugins (tests/unit/test_loader.c) -----------------------
# One deliberately good or broken plugin per tests/fakeplugins/*.c, built like
# a real transport into $(BUILD)/fakeplugins/*.so; test_loader finds them next
# to its own directory ($(BUILD)/tests/../fakeplugins).
FAKEPLUGIN_SRC := $(wildcard tests/fakeplugins/*.c)
FAKEPLUGIN_SO := $(patsubst tests/fakeplugins/%.c,$(BUILD)/fakeplugins/%.so,$(FAKEPLUGIN_SRC))
$(BUILD)/fakeplugins/%.so: $(BUILD)/pobj/tests/fakeplugins/%.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,--no-undefined -o $@ $< $(PKG_LIBS_CORE)
unit: $(FAKEPLUGIN_SO)
# ---- end of fake transport plugins -------------------------------------------

# ---- web assets and the frps dashboard -----------------------------------------
# web/<app>/* + web/common/* -> $(BUILD)/gen/web_<app>.c (web/embed.sh,
# xxd -i), linked into frps (web/frps: the dashboard) and frpc (web/frpc:
# the admin page).
# $(BUILD)/libfrps.a = frps without main(), for the dashboard's unit tests
# and fuzz targets (test_dash_*, fuzz_dash_*).
WEB_APPS := $(notdir $(patsubst %/,%,$(dir $(wildcard web/*/*))))
WEB_APPS := $(filter-out common,$(sort $(WEB_APPS)))
define web_rules
$(BUILD)/gen/web_$(1).c: $(wildcard web/$(1)/* web/common/*) web/embed.sh
	@mkdir -p $$(dir $$@)
	sh web/embed.sh $(1) web/$(1) web/common > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach a,$(WEB_APPS),$(eval $(call web_rules,$(a))))
$(BUILD)/genobj/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-overlength-strings -c $< -o $@
ifneq ($(filter frps,$(WEB_APPS)),)
$(BUILD)/frps: $(BUILD)/genobj/web_frps.o
endif
ifneq ($(filter frpc,$(WEB_APPS)),)
$(BUILD)/frpc: $(BUILD)/genobj/web_frpc.o
endif
FRPS_LIB := $(BUILD)/libfrps.a
$(FRPS_LIB): $(call obj,$(filter-out frps/main.c,$(FRPS_SRC))) \
		$(if $(filter frps,$(WEB_APPS)),$(BUILD)/genobj/web_frps.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/obj/tests/unit/test_dash_%.o $(BUILD)/obj/tests/fuzz/fuzz_dash_%.o: \
	CFLAGS += -Ifrps
$(BUILD)/tests/test_dash_%: $(BUILD)/obj/tests/unit/test_dash_%.o $(FRPS_LIB) $(TEST_LINK)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $< \
		-Wl,--start-group $(FRPS_LIB) $(TEST_LINK) -Wl,--end-group $(TEST_LIBS)
$(BUILD)/fuzz/fuzz_dash_%: $(BUILD)/obj/tests/fuzz/fuzz_dash_%.o $(FRPS_LIB) $(COMMON_LIB) $(XPORT_LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< -Wl,--start-group $(FRPS_LIB) $(COMMON_LIB) \
		$(XPORT_LIBS_A) -Wl,--end-group $(CORE_LIBS) $(ALL_XPORT_EXTRA) -lpthread
# ---- end of web assets and the frps dashboard ----------------------------------
