# lua-supermetrics. `make` builds supermetrics/core.so for Lua 5.4; see
# README.md for the other targets and the variables LuaRocks sets.

# LUA picks the ABI: 5.1, 5.2, 5.3, 5.4 or luajit; each builds into its own
# folder, because a module built for one fails to load in another.
LUA         ?= 5.4
PKG_CONFIG  ?= pkg-config
ifeq ($(LUA),luajit)
LUA_PC      ?= luajit
LUA_ABI     := 5.1
LUA_BIN     ?= luajit
else
LUA_PC      ?= lua$(LUA)
LUA_ABI     := $(LUA)
LUA_BIN     ?= lua$(LUA)
endif
ifdef LUA_INCDIR
# LuaRocks names the headers' folder only: one build folder per folder.
LUA_CFLAGS  := -I$(LUA_INCDIR)
BUILD       ?= build/rock-$(notdir $(LUA_INCDIR))
else
LUA_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(LUA_PC) 2>/dev/null)
BUILD       ?= build/$(if $(filter luajit,$(LUA)),luajit,lua$(LUA))
endif
CURL_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS   ?= $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)
# hiredis (Debian libhiredis-dev): Redis's protocol for the rate budget's
# shared store (src/redis.c).
HIREDIS_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags hiredis 2>/dev/null)
HIREDIS_LIBS   ?= $(shell $(PKG_CONFIG) --libs hiredis 2>/dev/null || echo -lhiredis)

CC      ?= cc
CFLAGS  ?= -O2 -g
# Warnings are errors in the project's own builds only (make test, make
# check, CI set WERROR): a newer compiler's new warning must not break a
# user's `make install` or `luarocks install`.
WERROR  ?=
WARN    := -std=c99 -Wall -Wextra -Wshadow -Wstrict-prototypes $(WERROR)
STRICT  := -Werror -pedantic

# The version: the one supermetrics._VERSION reports.
VERSION := $(shell sed -n 's/^Client.VERSION = "\(.*\)"$$/\1/p' lua/supermetrics/client.lua)
DEFS    := -D_POSIX_C_SOURCE=200809L
LIBFLAG ?= -shared
# Never link liblua: the interpreter that loads the module provides it.
LDLIBS  := $(CURL_LIBS) $(HIREDIS_LIBS) -lm

SO      := $(BUILD)/supermetrics/core.so
SRCS    := $(wildcard src/*.c)
OBJS    := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
# The command line's own module, supermetrics.cli_native (src/cli/: the
# terminal, the key read, Ctrl-C), which only the command line loads; it
# shares the core's credential.c (the wipe) and reaches the core's cancel
# flag through the Lua registry (src/cancel.h).
CLI_SO  := $(BUILD)/supermetrics/cli_native.so
CLI_SRCS := $(wildcard src/cli/*.c)
CLI_OBJS := $(CLI_SRCS:src/cli/%.c=$(BUILD)/cli/obj/%.o) $(BUILD)/obj/credential.o

PREFIX  ?= /usr/local
LUA_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_ABI)
LUA_SHAREDIR ?= $(PREFIX)/share/lua/$(LUA_ABI)

.PHONY: all test test-all check demo clean install install-lib install-bin doc bench dist FORCE

all: $(SO) $(CLI_SO)

# A build folder's file `werror` says that what is in it was built with
# $(WERROR): a build that asks for warnings as errors (make test, make
# check) rebuilds what was built without them, by `make demo` say. A build
# without WERROR leaves such a folder alone, and removes the file when it
# compiles anything there. $(call werror_dep,DIR) is the prerequisite,
# $(call werror_lost,DIR) the recipe line.
werror_dep  = $(if $(strip $(WERROR)),$(1)/werror)
werror_lost = $(if $(strip $(WERROR)),,@rm -f $(1)/werror)
.PRECIOUS: %/werror
%/werror: FORCE
	@mkdir -p $(dir $@); printf '%s\n' '$(WERROR)' | cmp -s - $@ || printf '%s\n' '$(WERROR)' > $@

# Hidden by default: core.so exports luaopen_supermetrics_core alone (its
# sm_* helpers cannot clash with another module's, nor be called around Lua).
$(BUILD)/obj/%.o: src/%.c src/*.h $(call werror_dep,$(BUILD))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(BUILD))
	$(CC) $(CFLAGS) $(WARN) $(DEFS) -fPIC -fvisibility=hidden $(LUA_CFLAGS) $(CURL_CFLAGS) $(HIREDIS_CFLAGS) -c $< -o $@

$(SO): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

# Hidden the same way: cli_native.so exports luaopen_supermetrics_cli_native.
$(BUILD)/cli/obj/%.o: src/cli/%.c src/cli/*.h src/*.h $(call werror_dep,$(BUILD))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(BUILD))
	$(CC) $(CFLAGS) $(WARN) $(DEFS) -fPIC -fvisibility=hidden $(LUA_CFLAGS) $(CURL_CFLAGS) -c $< -o $@

$(CLI_SO): $(CLI_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $(CLI_OBJS) $(CURL_LIBS)

# The project's own builds treat warnings as errors (sub-makes inherit it).
test test-all check: export WERROR = $(STRICT)

# The gates (tests/README.md says what runs where). Both first install what
# a bare Debian/Ubuntu lacks (as root); tests/run.sh builds (make -j2, with
# warnings as errors: a tree `make` built is rebuilt) and prints the time it
# took from here.
# make test: before every commit, a few minutes: every spec under Lua 5.4
# and inside nginx (not the #slow ones), the #abi ones under 5.1, 5.2, 5.3
# and LuaJIT, luacheck, the fuzz corpora replayed.
test: export SM_SUITE_STARTED := $(shell date +%s)
test:
	tests/deps.sh test
	tests/run.sh quick

# make test-all: everything (CI runs it, .ci/run, after tests/deps.sh ci):
# the whole suite under every Lua and the ASan build, fuzzing, valgrind, the
# C drivers, the static checks, packaging and docs; what this machine lacks
# is named as not tested.
test-all: export SM_SUITE_STARTED := $(shell date +%s)
test-all:
	tests/deps.sh test
	tests/run.sh all

# The quick loop: Lua 5.4 and the OpenResty specs (not the #slow ones), no
# package installs; `make check SPEC=tests/spec/08-openresty_spec.lua` runs
# one file (#slow tests included).
check:
	tests/check.sh $(SPEC)

demo:
	tests/deps.sh demo
	$(MAKE) all
	tests/tools/demo.sh

# Not part of `make test`: about 20 minutes of load against a local nginx
# (instruction counts under valgrind included); writes bench/RESULTS.md,
# bench/results.png and bench/results-nginx.png and ends with issue 21's
# targets, met or not (see bench/run.sh, bench/METHOD.md).
bench:
	bench/run.sh

install: install-lib install-bin

# The library (with the command line's own module beside it: cli.lua and
# cli/*.lua are installed here too), and its types for editors (README.md, "Editor support"):
# Teal's beside the modules, where tl looks; lua-language-server's in a
# folder of their own for its workspace.library (never beside the modules,
# where a supermetrics.lua would hide supermetrics/init.lua). LuaRocks runs
# this target too, with LUA_SHAREDIR its tree's.
# Every folder of modules under lua/supermetrics, found rather than listed
# (a listed one was once forgotten: the cache's stores went uninstalled).
LUA_SUBDIRS := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard lua/supermetrics/*/*.lua)))))

install-lib: $(SO) $(CLI_SO)
	install -d $(DESTDIR)$(LUA_LIBDIR)/supermetrics $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/types/supermetrics \
		$(addprefix $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/,$(LUA_SUBDIRS))
	install -m 0755 $(SO) $(DESTDIR)$(LUA_LIBDIR)/supermetrics/core.so
	install -m 0755 $(CLI_SO) $(DESTDIR)$(LUA_LIBDIR)/supermetrics/cli_native.so
	install -m 0644 lua/supermetrics/*.lua $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/
	for d in $(LUA_SUBDIRS); do \
	    install -m 0644 lua/supermetrics/$$d/*.lua $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/$$d/ || exit 1; \
	done
	install -m 0644 types/supermetrics.d.tl $(DESTDIR)$(LUA_SHAREDIR)/
	install -m 0644 types/supermetrics/safe.d.tl $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/
	install -m 0644 types/supermetrics/time.d.tl types/supermetrics/format.d.tl types/supermetrics/testing.d.tl \
	    $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/
	install -m 0644 types/supermetrics.lua $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/types/
	install -m 0644 types/supermetrics/safe.lua $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/types/supermetrics/
	install -m 0644 types/supermetrics/time.lua types/supermetrics/format.lua types/supermetrics/testing.lua \
	    $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/types/supermetrics/

# The interpreter on the command line's first line: the one this build is
# for. LuaRocks passes its own (an absolute path) as LUA_INTERPRETER; a build
# against LuaJIT's headers (LuaRocks' 5.1 with LUA_INCDIR=.../luajit-2.1) is
# run by the luajit next to it, never by PUC Lua 5.1.
ifdef LUA_INTERPRETER
ifneq ($(wildcard $(LUA_INCDIR)/luajit.h),)
RUN_LUA := $(or $(wildcard $(dir $(LUA_INTERPRETER))luajit),/usr/bin/env luajit)
else
RUN_LUA := $(LUA_INTERPRETER)
endif
else
RUN_LUA := /usr/bin/env $(LUA_BIN)
endif

# The command line, run by the interpreter this build is for, with its man
# page and bash completion. It finds the modules of its own PREFIX itself.
# LuaRocks runs this with PREFIX = the rock's folder: the command goes to
# the tree's bin/, the man page and completion stay in the rock's share/.
install-bin:
	install -d $(DESTDIR)$(PREFIX)/bin
	sed '1s|.*|#!$(RUN_LUA)|' bin/supermetrics-logs > $(DESTDIR)$(PREFIX)/bin/supermetrics-logs
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/supermetrics-logs
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 share/man/man1/supermetrics-logs.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 share/bash-completion/completions/supermetrics-logs \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/

# A release: dist/lua-supermetrics-$(VERSION).tar.gz (what a build needs,
# README, licence, changelog, examples), the matching
# lua-supermetrics-$(VERSION)-1.rockspec (source: that tarball, with its
# checksum) and lua-supermetrics-$(VERSION)-1.src.rock. See tools/dist.sh.
dist:
	tools/dist.sh $(VERSION)

# The reference (docs/) from the public modules' doc comments (Debian:
# lua-ldoc); pages whose content did not change stay as committed.
doc:
	tools/doc.sh

clean:
	rm -rf build dist

# Hardening builds (sanitizers, fuzzing, C drivers): tests/hardening.mk, a
# checkout's only (release tarballs carry no tests/).
-include tests/hardening.mk
