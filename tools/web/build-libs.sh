#!/bin/sh
# build-libs.sh - the C libraries gptstep uses, built for WebAssembly by Debian's emcc from Debian's own
# source packages (apt-get source): zlib, libpng, pixman, FreeType, cairo (image, PNG, PDF and SVG
# surfaces, FreeType fonts), PCRE2 and cJSON. Nothing is downloaded from anywhere but Debian's archive;
# Emscripten's "ports" (which download from the internet) are not used.
#   sh tools/web/build-libs.sh BUILD_DIR        (called by `make web`; BUILD_DIR is build/web)
# The sources are unpacked into BUILD_DIR/src, the libraries written to BUILD_DIR/lib/*.a and their
# headers to BUILD_DIR/include. A library already built is not built again.
set -eu
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
SRC=$OUT/src
LIB=$OUT/lib
INC=$OUT/include
mkdir -p "$SRC" "$LIB" "$INC"
EMCC=${EMCC:-emcc}
EMAR=${EMAR:-emar}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CF="-O2 -msimd128 -w"

# fetch PACKAGE GLOB: the source package's upstream tarball, unpacked; prints the folder.
fetch() {
    pkg=$1
    dir=$(ls -d "$SRC"/$2 2>/dev/null | head -n 1 || true)
    if [ -z "$dir" ]; then
        # the release's own version first (its pool is always there; a security or update suite's source
        # may be listed and not served), then whatever apt picks; the upstream tarball is all that is used
        codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
        tarball=""
        for want in ${codename:+$pkg/$codename} $pkg; do
            (cd "$SRC" && apt-get source --download-only -q "$want" >apt-$pkg.log 2>&1) || true
            tarball=$(ls "$SRC"/${pkg}_*.orig.tar.* 2>/dev/null | grep -v 'orig-\|\.asc$' | head -n 1 || true)
            [ -n "$tarball" ] && break
        done
        if [ -z "$tarball" ]; then
            echo "gptstep web: could not fetch Debian's source package '$pkg' (apt-get source; is there a deb-src line? 'make deps' adds one):" >&2
            tail -n 3 "$SRC/apt-$pkg.log" >&2
            exit 1
        fi
        (cd "$SRC" && tar xf "$tarball")
        dir=$(ls -d "$SRC"/$2 | head -n 1)
    fi
    echo "$dir"
}

# compile NAME FLAGS -- FILES...: each file to an object, in parallel, then one archive lib NAME.a
compile() {
    name=$1
    shift
    flags=""
    while [ "$1" != "--" ]; do flags="$flags $1"; shift; done
    shift
    obj=$OUT/obj/$name
    rm -rf "$obj" && mkdir -p "$obj"
    echo "  emcc  lib$name ($# files)"
    for f in "$@"; do echo "$f"; done | xargs -P "$JOBS" -I{} sh -c \
        'o="$0/$(basename "{}" .c).o"; '"$EMCC $CF $flags"' -c "{}" -o "$o" || { echo "failed: {}" >&2; exit 255; }' "$obj"
    rm -f "$LIB/lib$name.a"
    $EMAR rcs "$LIB/lib$name.a" "$obj"/*.o
}

# ---- zlib ----
if [ ! -f "$LIB/libz.a" ]; then
    Z=$(fetch zlib 'zlib-*')
    # unistd.h declares lseek (off_t): without it zlib would declare its own, a signature WebAssembly traps on
    sed -i '1i #define Z_HAVE_UNISTD_H 1' "$Z/zconf.h"
    compile z -I"$Z" -DHAVE_UNISTD_H -- $(for f in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast inflate inftrees trees uncompr zutil; do echo "$Z/$f.c"; done)
    cp "$Z/zlib.h" "$Z/zconf.h" "$INC/"
fi

# ---- libpng ----
if [ ! -f "$LIB/libpng.a" ]; then
    P=$(fetch libpng1.6 'libpng-*')
    cp "$P/scripts/pnglibconf.h.prebuilt" "$P/pnglibconf.h"
    compile png -I"$P" -I"$INC" -DPNG_ARM_NEON_OPT=0 -DPNG_INTEL_SSE_OPT=0 -- \
        $(for f in png pngerror pngget pngmem pngpread pngread pngrio pngrtran pngrutil pngset pngtrans pngwio pngwrite pngwtran pngwutil; do echo "$P/$f.c"; done)
    cp "$P/png.h" "$P/pngconf.h" "$P/pnglibconf.h" "$INC/"
fi

# ---- pixman ----
if [ ! -f "$LIB/libpixman-1.a" ]; then
    X=$(fetch pixman 'pixman-0*')
    v=$(basename "$X" | sed 's/pixman-//')
    sed -e "s/@PIXMAN_VERSION_MAJOR@/${v%%.*}/g" -e "s/@PIXMAN_VERSION_MINOR@/$(echo "$v" | cut -d. -f2)/g" \
        -e "s/@PIXMAN_VERSION_MICRO@/$(echo "$v" | cut -d. -f3)/g" "$X/pixman/pixman-version.h.in" > "$X/pixman/pixman-version.h"
    cat > "$X/pixman/config.h" <<'EOF'
#define PACKAGE "pixman"
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define SIZEOF_LONG 4
#define PIXMAN_NO_TLS 1
#define HAVE_BUILTIN_CLZ 1
EOF
    compile pixman-1 -I"$X/pixman" -DHAVE_CONFIG_H -- \
        $(for f in pixman pixman-access pixman-access-accessors pixman-bits-image pixman-combine32 pixman-combine-float \
            pixman-conical-gradient pixman-filter pixman-x86 pixman-mips pixman-arm pixman-ppc pixman-edge \
            pixman-edge-accessors pixman-fast-path pixman-glyph pixman-general pixman-gradient-walker pixman-image \
            pixman-implementation pixman-linear-gradient pixman-matrix pixman-noop pixman-radial-gradient \
            pixman-region16 pixman-region32 pixman-solid-fill pixman-timer pixman-trap pixman-utils; do echo "$X/pixman/$f.c"; done)
    mkdir -p "$INC/pixman-1"
    cp "$X/pixman/pixman.h" "$X/pixman/pixman-version.h" "$INC/pixman-1/"
fi

# ---- FreeType: TrueType fonts only (DejaVu), smooth rendering, the auto-hinter ----
if [ ! -f "$LIB/libfreetype.a" ]; then
    F=$(fetch freetype 'freetype-2*')
    mkdir -p "$F/gptstep"
    cat > "$F/gptstep/ftmodule.h" <<'EOF'
FT_USE_MODULE( FT_Module_Class, autofit_module_class )
FT_USE_MODULE( FT_Driver_ClassRec, tt_driver_class )
FT_USE_MODULE( FT_Module_Class, psnames_module_class )
FT_USE_MODULE( FT_Module_Class, sfnt_module_class )
FT_USE_MODULE( FT_Renderer_Class, ft_smooth_renderer_class )
EOF
    compile freetype -I"$F/include" -I"$F/gptstep" -I"$INC" -DFT_CONFIG_OPTION_SYSTEM_ZLIB -DFT2_BUILD_LIBRARY '-DFT_CONFIG_MODULES_H="<ftmodule.h>"' -- \
        "$F/src/base/ftsystem.c" "$F/src/base/ftinit.c" "$F/src/base/ftdebug.c" "$F/src/base/ftbase.c" \
        "$F/src/base/ftbbox.c" "$F/src/base/ftglyph.c" "$F/src/base/ftbitmap.c" "$F/src/base/ftmm.c" \
        "$F/src/base/ftsynth.c" "$F/src/base/fttype1.c" "$F/src/base/ftfstype.c" \
        "$F/src/autofit/autofit.c" "$F/src/truetype/truetype.c" "$F/src/sfnt/sfnt.c" \
        "$F/src/smooth/smooth.c" "$F/src/psnames/psnames.c" "$F/src/gzip/ftgzip.c"
    rm -rf "$INC/freetype2" && mkdir -p "$INC/freetype2"
    cp -r "$F/include/ft2build.h" "$F/include/freetype" "$INC/freetype2/"
fi

# ---- cairo: image, PNG, PDF, SVG and recording surfaces; FreeType fonts; no threads, no fontconfig ----
if [ ! -f "$LIB/libcairo.a" ]; then
    C=$(fetch cairo 'cairo-1*')
    S=$C/src
    cat > "$S/cairo-features.h" <<'EOF'
#ifndef CAIRO_FEATURES_H
#define CAIRO_FEATURES_H
#define CAIRO_HAS_IMAGE_SURFACE 1
#define CAIRO_HAS_PNG_FUNCTIONS 1
#define CAIRO_HAS_PDF_SURFACE 1
#define CAIRO_HAS_PS_SURFACE 1
#define CAIRO_HAS_SVG_SURFACE 1
#define CAIRO_HAS_FT_FONT 1
#define CAIRO_HAS_USER_FONT 1
#define CAIRO_HAS_MIME_SURFACE 1
#define CAIRO_HAS_RECORDING_SURFACE 1
#define CAIRO_HAS_OBSERVER_SURFACE 1
#endif
EOF
    cat > "$C/config.h" <<'EOF'
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_UINT64_T 1
#define HAVE_CTIME_R 1
#define HAVE_FT_LOAD_SFNT_TABLE 1
#define HAVE_FT_GET_X11_FONT_FORMAT 0
#define HAVE_FT_GLYPHSLOT_EMBOLDEN 1
#define HAVE_FT_GLYPHSLOT_OBLIQUE 1
#define HAVE_FT_LIBRARY_SETLCDFILTER 1
#define HAVE_FT_GET_VAR_BLEND_COORDINATES 1
#define HAVE_FT_DONE_MM_VAR 1
#define CAIRO_NO_MUTEX 1
#define SIZEOF_VOID_P 4
#define SIZEOF_INT 4
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_SIZE_T 4
#define PACKAGE "cairo"
EOF
    files=$(sed -n '/^cairo_sources = /,/^$/p; /^_cairo_font_subset_sources = /,/^$/p; /^_cairo_pdf_operators_sources = /,/^$/p' "$S/Makefile.sources" |
        tr -s ' \t\\' '\n' | grep '\.c$' | sed "s|^|$S/|")
    compile cairo -I"$C" -I"$S" -I"$INC" -I"$INC/pixman-1" -I"$INC/freetype2" -DHAVE_CONFIG_H -DCAIRO_COMPILATION -- \
        $files "$S/cairo-png.c" "$S/cairo-ps-surface.c" "$S/cairo-deflate-stream.c" "$S/cairo-pdf-surface.c" \
        "$S/cairo-pdf-interchange.c" "$S/cairo-tag-stack.c" "$S/cairo-svg-surface.c" "$S/cairo-ft-font.c"
    mkdir -p "$INC/cairo"
    cp "$S/cairo.h" "$S/cairo-deprecated.h" "$S/cairo-features.h" "$S/cairo-version.h" "$S/cairo-pdf.h" \
        "$S/cairo-svg.h" "$S/cairo-ps.h" "$S/cairo-ft.h" "$INC/cairo/"
fi

# ---- PCRE2 (8-bit, the interpreter: WebAssembly has no JIT) ----
if [ ! -f "$LIB/libpcre2-8.a" ]; then
    R=$(fetch pcre2 'pcre2-1*')
    cp "$R/src/pcre2.h.generic" "$R/src/pcre2.h"
    cp "$R/src/pcre2_chartables.c.dist" "$R/src/pcre2_chartables.c"
    cat > "$R/src/config.h" <<'EOF'
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_MEMMOVE 1
#define SUPPORT_UNICODE 1
#define LINK_SIZE 2
#define MATCH_LIMIT 10000000
#define MATCH_LIMIT_DEPTH 10000000
#define HEAP_LIMIT 20000000
#define MAX_NAME_SIZE 32
#define MAX_NAME_COUNT 10000
#define NEWLINE_DEFAULT 2
#define PARENS_NEST_LIMIT 250
#define MAX_VARLOOKBEHIND 255
#define PCRE2_EXP_DEFN
#define PCRE2_EXP_DECL extern
EOF
    compile pcre2-8 -I"$R/src" -DHAVE_CONFIG_H -DPCRE2_CODE_UNIT_WIDTH=8 -DPCRE2_STATIC -- \
        $(for f in auto_possess chartables compile config context convert dfa_match error extuni find_bracket \
            jit_compile maketables match match_data newline ord2utf pattern_info script_run serialize \
            string_utils study substitute substring tables ucd valid_utf xclass; do echo "$R/src/pcre2_$f.c"; done)
    cp "$R/src/pcre2.h" "$INC/"
fi

# ---- cJSON ----
if [ ! -f "$LIB/libcjson.a" ]; then
    J=$(fetch cjson 'cJSON-*')
    compile cjson -I"$J" -- "$J/cJSON.c"
    mkdir -p "$INC/cjson"
    cp "$J/cJSON.h" "$INC/" && cp "$J/cJSON.h" "$INC/cjson/"
fi

# stb (header-only, Debian's libstb-dev): the same headers the native build includes
rm -rf "$INC/stb" && cp -r /usr/include/stb "$INC/stb"
echo "  libraries for WebAssembly in $LIB"
