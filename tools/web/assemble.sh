#!/bin/sh
# assemble.sh - the browser page as one file: the page (viz/web/shell.html) with, where it says so, the
# WebAssembly module and every packed file (tools/web/pack.sh) as base64 in script elements the browser
# does not run (<script type="application/octet-stream"> / "application/gzip"), and Emscripten's
# JavaScript. The page's glue decodes them with the browser's own decoders (fetch of a data: URL,
# DecompressionStream): several times faster at load than a JavaScript string holding them.
#   sh tools/web/assemble.sh SHELL.html MODULE.js MODULE.wasm PACKDIR > PAGE.html
set -eu
SHELL_HTML=$1 JS=$2 WASM=$3 PACK=$4
grep -q '<!-- gptstep:data -->' "$SHELL_HTML" && grep -q '<!-- gptstep:script -->' "$SHELL_HTML" ||
    { echo "assemble.sh: $SHELL_HTML lacks its markers" >&2; exit 1; }
sed -n '1,/<!-- gptstep:data -->/p' "$SHELL_HTML" | sed '$d'
printf '<script type="application/octet-stream" id="gptstep-wasm">'
base64 -w0 "$WASM"
printf '</script>\n'
while read -r name dest; do
    printf '<script type="application/gzip" data-path="%s">' "$dest"
    base64 -w0 "$PACK/$name"
    printf '</script>\n'
done < "$PACK/index"
sed -n '/<!-- gptstep:data -->/,/<!-- gptstep:script -->/p' "$SHELL_HTML" | sed '1d;$d'
printf '<script>\n'
# Emscripten's loader; it never names a URL of its own here (instantiateWasm is the page's)
cat "$JS"
printf '\n</script>\n'
sed -n '/<!-- gptstep:script -->/,$p' "$SHELL_HTML" | sed '1d'
