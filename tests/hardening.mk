# tests/hardening.mk, included by the Makefile: the hardening builds of
# docs/hardening.md (clang sanitizers, libFuzzer, the C drivers of tests/c), which
# tests/run.sh runs. It uses the Makefile's SRCS, WARN, DEFS and flags.
# `make asan` builds the module with AddressSanitizer + UBSan into build/asan;
# the stock interpreter loads it with the runtime preloaded (tests/sanitize/lua5.4-asan).
# `make fuzz` builds the libFuzzer harnesses of tests/fuzz into build/fuzz, all
# linked against one instrumented build of the library (build/fuzz/libsm.a);
# `make replay` builds them without libFuzzer or a sanitizer into build/replay,
# each with tests/fuzz/replay.c's main(), against an archive of the Lua 5.4
# build's own objects (make test replays the corpora with them);
# `make wipe-check` and `make tsan-check` build the C drivers of tests/c.
SAN_CC    ?= clang
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
FUZZ      := build/fuzz
FUZZ_SAN  := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZERS   := $(patsubst tests/fuzz/%.c,$(FUZZ)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJS := $(SRCS:src/%.c=$(FUZZ)/obj/%.o)
REPLAY    := build/replay
REPLAYERS := $(patsubst tests/fuzz/%.c,$(REPLAY)/%,$(wildcard tests/fuzz/fuzz_*.c))
LUA54_CFLAGS := $(shell $(PKG_CONFIG) --cflags lua5.4 2>/dev/null)
LUA54_LIBS   := $(shell $(PKG_CONFIG) --libs lua5.4 2>/dev/null || echo -llua5.4)
.PHONY: asan fuzz replay replay-bins wipe-check tsan-check

asan:
	$(MAKE) LUA=5.4 CC=$(SAN_CC) BUILD=build/asan CFLAGS="$(SAN_FLAGS)" \
		LIBFLAG="-shared $(SAN_FLAGS)"

fuzz: $(FUZZERS)

# The library once, with libFuzzer's coverage and the sanitizers
# (fuzzer-no-link: no main of libFuzzer's in it).
$(FUZZ)/obj/%.o: src/%.c src/*.h $(call werror_dep,$(FUZZ))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(FUZZ))
	$(SAN_CC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(WARN) $(DEFS) $(LUA54_CFLAGS) $(CURL_CFLAGS) \
		$(HIREDIS_CFLAGS) -c $< -o $@

$(FUZZ)/libsm.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ)/%: tests/fuzz/%.c tests/fuzz/*.h src/*.h $(FUZZ)/libsm.a $(call werror_dep,$(FUZZ))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(FUZZ))
	$(SAN_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(WARN) $(DEFS) -Isrc $(LUA54_CFLAGS) $(CURL_CFLAGS) \
		-o $@ $< $(FUZZ)/libsm.a $(LUA54_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS) -lm

# The plain replay driver: the Lua 5.4 build's objects (whatever $(LUA) is).
replay:
	@$(MAKE) --no-print-directory LUA=5.4 BUILD=build/lua5.4 replay-bins

replay-bins: $(REPLAYERS)

$(REPLAY)/libsm.a: $(OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(REPLAY)/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/*.h src/*.h $(REPLAY)/libsm.a \
		$(call werror_dep,$(REPLAY))
	$(call werror_lost,$(REPLAY))
	$(CC) -g -O1 $(WARN) $(DEFS) -Isrc $(LUA54_CFLAGS) $(CURL_CFLAGS) -o $@ $< tests/fuzz/replay.c \
		$(REPLAY)/libsm.a $(LUA54_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS) -lm

# C drivers (tests/c): credential wiping, checked on free() through --wrap
# (plus a mutant whose sm_wipe_free does not wipe, which the check must
# catch), and two threads under ThreadSanitizer.
CDRV      := build/c
CDRV_FLAGS = $(WARN) $(DEFS) -g -O1 -Isrc $(LUA54_CFLAGS) $(CURL_CFLAGS)
WRAP      := -Wl,--wrap=free,--wrap=curl_slist_free_all

wipe-check: $(CDRV)/wipe $(CDRV)/wipe-mutant
tsan-check: $(CDRV)/threads

$(CDRV)/wipe: tests/c/wipe.c tests/c/embed.h $(SRCS) src/*.h $(call werror_dep,$(CDRV))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(CDRV))
	$(CC) $(CDRV_FLAGS) -o $@ $< $(SRCS) $(WRAP) $(LUA54_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS) -lm

$(CDRV)/wipe-mutant: tests/c/wipe.c tests/c/embed.h $(SRCS) src/*.h $(call werror_dep,$(CDRV))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(CDRV))
	sed 's/\*v++ = 0;/v++;/' src/credential.c > $@-credential.c
	! cmp -s src/credential.c $@-credential.c
	$(CC) $(CDRV_FLAGS) -Wno-unused-value -o $@ $< $(filter-out src/credential.c,$(SRCS)) \
		$@-credential.c $(WRAP) $(LUA54_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS) -lm

$(CDRV)/threads: tests/c/threads.c tests/c/embed.h $(SRCS) src/*.h $(call werror_dep,$(CDRV))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(CDRV))
	$(SAN_CC) $(CDRV_FLAGS) -fsanitize=thread -o $@ $< $(SRCS) -pthread \
		$(LUA54_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS) -lm
