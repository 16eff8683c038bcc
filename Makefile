# gptstep - watch GPT-2 think, one token and one tensor at a time.
# `make run` and `make test` are the only commands a new user needs; both install missing packages first.

CC      ?= cc
PKGS    := libpcre2-8 libcjson
VIZ_PKGS := sdl2 cairo
OPT     ?= -O2
CFLAGS  ?= -g
OPENMP  ?= -fopenmp
CFLAGS  += $(OPT) -std=c11 -Wall -Wextra -pedantic $(OPENMP) -MMD -MP -Isrc
ifneq ($(CI),)
CFLAGS  += -Werror
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VIZ_CFLAGS = $(shell pkg-config --cflags $(VIZ_PKGS) 2>/dev/null)
VIZ_LIBS   = $(shell pkg-config --libs $(VIZ_PKGS) 2>/dev/null)
LDLIBS  += $(PKG_LIBS) -lm $(OPENMP)

BUILD   ?= build
CORE_SRC := $(wildcard src/*.c)
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/src/%.o)
LIB     := $(BUILD)/libgptstep.a
# The viewer (SDL2 + cairo) and the program's main(); only viz/ sees SDL and cairo.
VIZ_SRC := $(filter-out viz/main.c viz/web.c,$(wildcard viz/*.c))
VIZ_OBJ := $(VIZ_SRC:viz/%.c=$(BUILD)/viz/%.o)
VIZLIB  := $(BUILD)/libgptstep-viz.a
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c tests/viz_*.c))
PY      := /usr/bin/python3

.PHONY: all deps deps-test run test unit bench asan tsan valgrind goldens docs fuzz fuzz-replay web clean gpt2 gpt2-medium gpt2-large gpt2-xl distilgpt2 fmt

all: gptstep

deps:
	@sh tools/deps.sh

deps-test:
	@sh tools/deps.sh --test

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# The fast kernels may fuse multiply-adds (FMA); the reference kernels in ops.c stay plain ISO C.
$(BUILD)/src/ops_fast.o: CFLAGS += -O3 -ffp-contract=fast -Wno-psabi

$(BUILD)/viz/%.o: viz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(VIZ_CFLAGS) -c $< -o $@

$(LIB): $(CORE_OBJ)
	ar rcs $@ $^

$(VIZLIB): $(VIZ_OBJ)
	ar rcs $@ $^

gptstep: $(BUILD)/viz/main.o $(VIZLIB) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(VIZ_LIBS) $(LDLIBS) -lpthread

$(BUILD)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/viz_%: tests/viz_%.c $(VIZLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(VIZ_CFLAGS) -Iviz -o $@ $< $(VIZLIB) $(LIB) $(VIZ_LIBS) $(LDLIBS) -lpthread

run: deps
	@$(MAKE) --no-print-directory gptstep
	./gptstep view

test: deps-test
	@$(MAKE) --no-print-directory gptstep $(TESTS) $(FUZZERS) web
	@sh tests/run.sh

bench: deps-test
	@$(MAKE) --no-print-directory gptstep $(BUILD)/tests/bench $(BUILD)/tests/viz_bench web
	@sh tests/bench.sh

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build folder.
ASAN := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan: deps-test
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="$(ASAN)" LDLIBS="$(LDLIBS) $(ASAN)" \
	    build-asan/gptstep $(TESTS:$(BUILD)/%=build-asan/%)
	@$(MAKE) --no-print-directory $(FUZZERS) web
	@GPTSTEP_WEB_PAGE=$(WEB)/gptstep.html GPTSTEP=build-asan/gptstep GPTSTEP_TEST_BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 SHOT_DELAY=2 sh tests/run.sh

# The window under ThreadSanitizer (tests/tsan.sh): the viewer and a lesson driven with keys faster than
# their jobs run, under Xvfb; any report fails. Built without OpenMP, whose runtime TSan cannot see into.
TSAN := -O1 -g -fsanitize=thread -fno-omit-frame-pointer -Wno-unknown-pragmas
tsan: deps-test
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="$(TSAN)" OPENMP= build-tsan/gptstep
	@$(MAKE) --no-print-directory gptstep
	@/usr/bin/python3 tests/test_forward.py ./gptstep tests/out --quick > /dev/null
	@sh tests/tsan.sh build-tsan/gptstep tests/out
	@$(MAKE) --no-print-directory $(FUZZ_TSAN)
	@FUZZ_BUILD=$(FUZZ_TSAN_BUILD) FUZZ_ONLY=window sh tests/fuzz/run.sh replay

# The C test programs and a few ./gptstep runs under valgrind's memcheck.
valgrind:
	@sh tools/deps.sh --valgrind
	@$(MAKE) --no-print-directory gptstep $(TESTS)
	@sh tests/valgrind.sh

$(BUILD)/gptstep: $(BUILD)/viz/main.o $(VIZLIB) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(VIZ_LIBS) $(LDLIBS) -lpthread

# libFuzzer harnesses (tests/fuzz/, docs/robustness.md): every parser and the viewer's commands, with
# AddressSanitizer and UndefinedBehaviorSanitizer, built by clang into build-fuzz/ (single-threaded).
# `make fuzz` runs each for FUZZ_SECONDS; `make test` replays their corpora and regressions.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -g -O1 -std=c11 -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined -Wno-unknown-pragmas -MMD -MP -Isrc -Iviz -Itests/fuzz
FUZZ_SRC     := $(filter-out viz/main.c viz/web.c,$(wildcard src/*.c viz/*.c))
FUZZ_OBJ     := $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZERS      := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) $(VIZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/fuzz_viz.h $(FUZZ_OBJ)
	@echo "  fuzz  $@"; $(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) $(VIZ_CFLAGS) -o $@ $< $(FUZZ_OBJ) \
	    $(VIZ_LIBS) $(PKG_LIBS) -lm -lpthread

# The window harness (fuzz_window.c: events on the window's core, every job on a worker thread) also
# built with ThreadSanitizer: `make fuzz` fuzzes it for FUZZ_SECONDS, `make tsan` replays its corpus.
# The library's objects carry no coverage counters here: libFuzzer's counters are plain bytes that both
# threads bump, which ThreadSanitizer reports as races of their own; every event is valid input, so
# mutation without them still reaches every key and command.
FUZZ_TSAN_BUILD := build-fuzz-tsan
FUZZ_TSAN_FLAGS := -g -O1 -std=c11 -fsanitize=thread -fno-omit-frame-pointer -Wno-unknown-pragmas -MMD -MP -Isrc -Iviz -Itests/fuzz
FUZZ_TSAN_OBJ   := $(FUZZ_SRC:%.c=$(FUZZ_TSAN_BUILD)/%.o)
FUZZ_TSAN       := $(FUZZ_TSAN_BUILD)/fuzz_window

$(FUZZ_TSAN_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_TSAN_FLAGS) $(PKG_CFLAGS) $(VIZ_CFLAGS) -c $< -o $@

$(FUZZ_TSAN): tests/fuzz/fuzz_window.c tests/fuzz/fuzz.h tests/fuzz/fuzz_viz.h $(FUZZ_TSAN_OBJ)
	@echo "  fuzz  $@ (ThreadSanitizer)"; $(FUZZ_CC) $(FUZZ_TSAN_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) $(VIZ_CFLAGS) -o $@ $< \
	    $(FUZZ_TSAN_OBJ) $(VIZ_LIBS) $(PKG_LIBS) -lm -lpthread

fuzz: deps-test
	@$(MAKE) --no-print-directory $(FUZZERS) $(FUZZ_TSAN)
	@sh tests/fuzz/run.sh fuzz $(FUZZ_SECONDS)
	@FUZZ_BUILD=$(FUZZ_TSAN_BUILD) FUZZ_ONLY=window sh tests/fuzz/run.sh fuzz $(FUZZ_SECONDS)

fuzz-replay: $(FUZZERS)
	@sh tests/fuzz/run.sh replay

# The browser build (docs/web.md): build/web/gptstep.html, one self-contained page - the same src/ and viz/
# compiled by Debian's emcc to WebAssembly (SIMD, no threads), with cairo, pixman, FreeType, libpng, zlib,
# PCRE2 and cJSON built for it from Debian's source packages (tools/web/build-libs.sh), and the storybook
# model, the tokenizer, the fonts and the lessons embedded (tools/web/pack.sh). No network at run time.
WEB       := $(BUILD)/web
WEB_ENV   := EMSDK_PYTHON=/usr/bin/python3 NODE_PATH=/usr/share/nodejs
WEB_CC    := $(WEB_ENV) emcc
WEB_FLAGS := -O2 -msimd128 -std=c11 -Wall -Wextra -Wno-unknown-pragmas -Wno-unused-command-line-argument \
             -DGPTSTEP_WEB -MMD -MP -Isrc -Iviz -I$(WEB)/include -I$(WEB)/include/cairo -I$(WEB)/include/pixman-1 \
             -I$(WEB)/include/freetype2
WEB_SRC   := $(wildcard src/*.c) $(filter-out viz/main.c viz/app_sdl.c,$(wildcard viz/*.c))
WEB_OBJ   := $(WEB_SRC:%.c=$(WEB)/obj/%.o)
WEB_LIBS  := $(addprefix $(WEB)/lib/lib,cairo.a pixman-1.a freetype.a png.a z.a pcre2-8.a cjson.a)
WEB_LINK  := -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=64MB -sMAXIMUM_MEMORY=4GB -sTOTAL_STACK=8MB -sENVIRONMENT=web \
             -sFORCE_FILESYSTEM=1 -sEXPORTED_FUNCTIONS=_main,_malloc,_free \
             -sEXPORTED_RUNTIME_METHODS=cwrap,UTF8ToString,FS,addRunDependency,removeRunDependency

web: $(WEB)/gptstep.html

$(WEB)/obj/viz/web.o: WEB_FLAGS += -std=gnu11 # EM_ASM

$(WEB)/lib/.built: tools/web/build-libs.sh
	@sh tools/deps.sh --web
	@$(WEB_ENV) sh tools/web/build-libs.sh $(WEB)
	@touch $@

$(WEB)/obj/%.o: %.c $(WEB)/lib/.built
	@mkdir -p $(dir $@)
	@echo "  emcc  $<"; $(WEB_CC) $(WEB_FLAGS) -c $< -o $@

$(WEB)/pack/index: tools/web/pack.sh $(wildcard lessons/*.lesson) models/storybook/model.safetensors models/storybook/config.json
	@sh tools/web/pack.sh $(WEB)/pack

$(WEB)/gptstep.js: $(WEB_OBJ)
	@echo "  emcc  $@"; $(WEB_CC) -O2 -msimd128 -o $@ $(WEB_OBJ) $(WEB_LIBS) $(WEB_LINK)

$(WEB)/gptstep.html: $(WEB)/gptstep.js $(WEB)/pack/index viz/web/shell.html tools/web/assemble.sh
	@sh tools/web/assemble.sh viz/web/shell.html $(WEB)/gptstep.js $(WEB)/gptstep.wasm $(WEB)/pack > $@.tmp && mv $@.tmp $@
	@ls -l $@ | awk '{printf "  %s: %.1f MB\n", $$NF, $$5 / 1e6}'

# Real GPT-2 checkpoints from the Hugging Face hub (see docs/models.md).
gpt2 gpt2-medium gpt2-large gpt2-xl distilgpt2:
	@sh models/download.sh $@

# Golden images of every view (tests/golden/), redrawn from the current code: run after a deliberate
# change to the drawing, look at them, and commit them.
goldens: gptstep $(BUILD)/tests/viz_views
	@/usr/bin/python3 tests/test_forward.py ./gptstep tests/out --quick > /dev/null
	$(BUILD)/tests/viz_views tests/out/tiny-f32 tests/golden tests/out/views --update

# The key and command tables of docs/viewer.md, from the viewer's one command table (viz/commands.c);
# `make test` fails when they differ.
docs: $(BUILD)/tests/viz_docs
	$(BUILD)/tests/viz_docs docs --update

fmt:
	clang-format -i src/*.c src/*.h tests/*.c

clean:
	rm -rf build build-asan build-tsan build-fuzz build-fuzz-tsan gptstep

-include $(CORE_OBJ:.o=.d) $(VIZ_OBJ:.o=.d) $(BUILD)/viz/main.d $(FUZZ_OBJ:.o=.d) $(FUZZ_TSAN_OBJ:.o=.d) $(WEB_OBJ:.o=.d)
