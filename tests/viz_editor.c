/* viz_editor.c - the prompt editor (viz/editor.c on stb_textedit.h): typing, the cursor over UTF-8
 * characters, selection, select-all then type (replaces), clear and undo, cut, and a text far longer
 * than any fixed buffer. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "editor.h"

static int is(Editor *e, const char *want) {
    char *t = editor_text(e);
    int ok = strcmp(t, want) == 0;
    if (!ok) fprintf(stderr, "  editor holds '%s', expected '%s'\n", t, want);
    free(t);
    return ok;
}

int main(void) {
    Editor *e = editor_new();
    editor_set(e, "", 1); /* a new editor given an empty text (the viewer's first ':'): nothing to copy */
    CHECK(is(e, ""), "a new editor set to an empty text is empty");
    editor_insert(e, "x"); /* its undo snapshot of the empty text */
    editor_key(e, EK_UNDO, 0);
    CHECK(is(e, ""), "typing into it and undoing leaves it empty");
    editor_set(e, "Once upon a time", 0);
    editor_insert(e, " there");
    CHECK(is(e, "Once upon a time there"), "typing at the end (the cursor starts there)");
    editor_set(e, "Once upon a time", 1);
    editor_insert(e, "The dragon");
    CHECK(is(e, "The dragon"), "the old prompt comes selected: typing replaces it");
    editor_key(e, EK_UNDO, 0);
    CHECK(is(e, "Once upon a time"), "undo brings the old prompt back");
    editor_key(e, EK_REDO, 0);
    CHECK(is(e, "The dragon"), "redo");
    editor_key(e, EK_CLEAR, 0);
    CHECK(is(e, ""), "clear");
    editor_key(e, EK_UNDO, 0);
    CHECK(is(e, "The dragon"), "undo after clear");
    /* typing a word is one undo step; each word its own */
    editor_set(e, "", 0);
    const char *typed = "big red dog";
    for (const char *p = typed; *p; p++) {
        char c[2] = {*p, 0};
        editor_insert(e, c);
    }
    editor_key(e, EK_UNDO, 0);
    CHECK(is(e, "big red "), "undo takes back the last word typed");
    /* UTF-8: the cursor moves by whole characters */
    editor_set(e, "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC", 0);
    editor_key(e, EK_BACKSPACE, 0);
    CHECK(is(e, "caf\xC3\xA9 \xE6\x97\xA5"), "backspace removes one whole character");
    editor_key(e, EK_LEFT, 0);
    editor_key(e, EK_LEFT, 0);
    editor_insert(e, "!");
    CHECK(is(e, "caf\xC3\xA9! \xE6\x97\xA5"), "the cursor steps over whole characters (the two-byte \xC3\xA9)");
    /* selection with shift, then cut */
    editor_set(e, "one two three", 0);
    editor_key(e, EK_HOME, 0);
    editor_key(e, EK_WORDRIGHT, 1);
    char *sel = editor_selection(e, 1);
    CHECK(sel && strncmp(sel, "one", 3) == 0, "Shift+Ctrl+Right selects a word (got '%s')", sel ? sel : "(none)");
    free(sel);
    char *t = editor_text(e);
    CHECK(strstr(t, "one") == NULL && strstr(t, "two three") != NULL, "cut removes the selection ('%s')", t);
    free(t);
    editor_key(e, EK_SELECT_ALL, 0);
    editor_insert(e, "x");
    CHECK(is(e, "x"), "select all, then type");
    /* a long text: no fixed limit */
    char *big = malloc(20001);
    for (int i = 0; i < 20000; i++) big[i] = "abcdefghij "[i % 11];
    big[20000] = 0;
    editor_set(e, big, 0);
    editor_insert(e, "Z");
    t = editor_text(e);
    CHECK(strlen(t) == 20001 && t[20000] == 'Z', "a 20,000-character text is kept whole (%zu bytes)", strlen(t));
    free(t);
    free(big);
    /* an empty text, with and without a selection: its parts are empty strings and there is nothing to
     * copy (the viewer's fuzzer found pointer arithmetic on the empty text's NULL array here; make asan
     * checks it) */
    editor_set(e, "", 1);
    char *b4, *sl, *af;
    int cur, len;
    editor_parts(e, &b4, &sl, &af, &cur, &len);
    CHECK(!b4[0] && !sl[0] && !af[0] && cur == 0 && len == 0, "an empty text has empty parts");
    free(b4), free(sl), free(af);
    CHECK(editor_selection(e, 0) == NULL && editor_selection(e, 1) == NULL, "and nothing to copy or cut");
    editor_key(e, EK_SELECT_ALL, 0);
    editor_key(e, EK_BACKSPACE, 0);
    editor_parts(e, &b4, &sl, &af, &cur, &len);
    CHECK(len == 0 && !b4[0], "select all and delete on an empty text");
    free(b4), free(sl), free(af);
    editor_free(e);
    return check_report("editor");
}
