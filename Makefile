# lua-supermetrics. `make` builds supermetrics/core.so for Lua 5.4; see
# README.md for the other targets and the variables LuaRocks sets.

# LUA picks the ABI: 5.1, 5.2, 5.3, 5.4 or luajit; each builds into its own
# folder, because a module built for one fails to load in another.
LUA         ?= 5.4
PKG_CONFIG  ?= pkg-config
ifeq ($(LUA),luajit)
LUA_PC      ?= luajit
LUA_ABI     := 5.1
else
LUA_PC      ?= lua$(LUA)
LUA_ABI     := $(LUA)
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

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -Werror -pedantic -Wshadow -Wstrict-prototypes
DEFS    := -D_POSIX_C_SOURCE=200809L
LIBFLAG ?= -shared
# Never link liblua: the interpreter that loads the module provides it.
LDLIBS  := $(CURL_LIBS) -lm

SO      := $(BUILD)/supermetrics/core.so
SRCS    := $(wildcard src/*.c)
OBJS    := $(SRCS:src/%.c=$(BUILD)/obj/%.o)

PREFIX  ?= /usr/local
LUA_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_ABI)
LUA_SHAREDIR ?= $(PREFIX)/share/lua/$(LUA_ABI)

.PHONY: all test demo clean install deps bench

all: $(SO)

$(BUILD)/obj/%.o: src/%.c src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(DEFS) -fPIC $(LUA_CFLAGS) $(CURL_CFLAGS) -c $< -o $@

$(SO): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

# Both first install what a bare Debian/Ubuntu lacks (as root), then build.
test:
	tests/deps.sh test
	$(MAKE) all
	tests/run.sh

demo:
	tests/deps.sh demo
	$(MAKE) all
	tests/demo.sh

# Not part of `make test`: a few minutes of load against a local nginx; writes
# bench/RESULTS.md and bench/results.png (see bench/run.sh).
bench:
	bench/run.sh

install: $(SO)
	install -d $(DESTDIR)$(LUA_LIBDIR)/supermetrics $(DESTDIR)$(LUA_SHAREDIR)/supermetrics
	install -m 0755 $(SO) $(DESTDIR)$(LUA_LIBDIR)/supermetrics/core.so
	install -m 0644 lua/supermetrics/*.lua $(DESTDIR)$(LUA_SHAREDIR)/supermetrics/

clean:
	rm -rf build
