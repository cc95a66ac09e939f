# tests/hardening.mk, included by the Makefile: the hardening builds of
# docs/hardening.md (clang sanitizers, libFuzzer, the C drivers of tests/c), which
# tests/run.sh runs. It uses the Makefile's SRCS, WARN, DEFS and flags.
# `make asan` builds the module with AddressSanitizer + UBSan into build/asan;
# the stock interpreter loads it with the runtime preloaded (tests/sanitize/lua5.4-asan).
# `make fuzz` builds the libFuzzer harnesses of tests/fuzz into build/fuzz;
# `make wipe-check` and `make tsan-check` build the C drivers of tests/c.
SAN_CC    ?= clang
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
FUZZ      := build/fuzz
FUZZERS   := $(patsubst tests/fuzz/%.c,$(FUZZ)/%,$(wildcard tests/fuzz/fuzz_*.c))
LUA54_CFLAGS := $(shell $(PKG_CONFIG) --cflags lua5.4 2>/dev/null)
LUA54_LIBS   := $(shell $(PKG_CONFIG) --libs lua5.4 2>/dev/null || echo -llua5.4)
.PHONY: asan fuzz wipe-check tsan-check

asan:
	$(MAKE) LUA=5.4 CC=$(SAN_CC) BUILD=build/asan CFLAGS="$(SAN_FLAGS)" \
		LIBFLAG="-shared $(SAN_FLAGS)"

fuzz: $(FUZZERS)

$(FUZZ)/%: tests/fuzz/%.c tests/fuzz/*.h $(SRCS) src/*.h $(call werror_dep,$(FUZZ))
	@mkdir -p $(dir $@)
	$(call werror_lost,$(FUZZ))
	$(SAN_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(WARN) $(DEFS) -Isrc $(LUA54_CFLAGS) $(CURL_CFLAGS) -o $@ $< \
		$(SRCS) $(LUA54_LIBS) $(CURL_LIBS) $(HIREDIS_LIBS) -lm

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
