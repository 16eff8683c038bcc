/* editor.c - the one-line editor (editor.h) as stb_textedit.h's glue: the string is an array of
 * Unicode code points, one stb "character" each, so the cursor never splits a UTF-8 sequence. */
#include "editor.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct {
    int *c;      /* code points */
    int len, cap;
} EdString;

static int ed_insert(EdString *s, int at, const int *c, int n) {
    if (n <= 0) return 1; /* nothing (and s->c may still be NULL: no memmove from NULL + 0) */
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 16;
        s->c = xrealloc(s->c, sizeof(int) * (size_t)s->cap);
    }
    memmove(s->c + at + n, s->c + at, sizeof(int) * (size_t)(s->len - at));
    memcpy(s->c + at, c, sizeof(int) * (size_t)n);
    s->len += n;
    return 1;
}

static void ed_delete(EdString *s, int at, int n) {
    if (n <= 0) return;
    memmove(s->c + at, s->c + at + n, sizeof(int) * (size_t)(s->len - at - n));
    s->len -= n;
}

#define STB_TEXTEDIT_CHARTYPE int
#define STB_TEXTEDIT_STRING EdString
#define STB_TEXTEDIT_STRINGLEN(s) ((s)->len)
#define STB_TEXTEDIT_GETCHAR(s, i) ((s)->c[i])
#define STB_TEXTEDIT_GETWIDTH(s, n, i) 1.0f /* monospaced: one column a character */
#define STB_TEXTEDIT_NEWLINE '\n'
#define STB_TEXTEDIT_KEYTOTEXT(k) ((k) >= 0x20 && (k) < 0x110000 ? (k) : -1)
#define STB_TEXTEDIT_DELETECHARS(s, i, n) ed_delete(s, i, n)
#define STB_TEXTEDIT_INSERTCHARS(s, i, c, n) ed_insert(s, i, c, n)
#define STB_TEXTEDIT_IS_SPACE(ch) ((ch) == ' ' || (ch) == '\t')
/* keys: above every code point */
#define STB_TEXTEDIT_K_SHIFT 0x40000000
#define STB_TEXTEDIT_K_LEFT 0x200001
#define STB_TEXTEDIT_K_RIGHT 0x200002
#define STB_TEXTEDIT_K_UP 0x200003
#define STB_TEXTEDIT_K_DOWN 0x200004
#define STB_TEXTEDIT_K_LINESTART 0x200005
#define STB_TEXTEDIT_K_LINEEND 0x200006
#define STB_TEXTEDIT_K_TEXTSTART 0x200007
#define STB_TEXTEDIT_K_TEXTEND 0x200008
#define STB_TEXTEDIT_K_DELETE 0x200009
#define STB_TEXTEDIT_K_BACKSPACE 0x20000a
#define STB_TEXTEDIT_K_UNDO 0x20000b
#define STB_TEXTEDIT_K_REDO 0x20000c
#define STB_TEXTEDIT_K_WORDLEFT 0x20000d
#define STB_TEXTEDIT_K_WORDRIGHT 0x20000e
#define STB_TEXTEDIT_K_PGUP 0x20000f
#define STB_TEXTEDIT_K_PGDOWN 0x200010

static void layout_row(void *r, EdString *s, int n);
#define STB_TEXTEDIT_LAYOUTROW(r, s, n) layout_row(r, s, n)
#define STB_TEXTEDIT_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb/stb_textedit.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static void layout_row(void *rp, EdString *s, int n) {
    StbTexteditRow *r = rp;
    r->x0 = 0;
    r->x1 = (float)(s->len - n);
    r->baseline_y_delta = 1;
    r->ymin = 0;
    r->ymax = 1;
    r->num_chars = s->len - n; /* one line */
}

/* Undo: snapshots of the text before each edit, typing of one word coalesced into one (stb's own
 * undo would take one step per character). */
typedef struct {
    int *c;
    int len, cursor, sel0, sel1;
} Snapshot;

#define UNDO_MAX 100

struct Editor {
    EdString s;
    STB_TexteditState st;
    Snapshot undo[UNDO_MAX], redo[UNDO_MAX];
    int n_undo, n_redo;
    int typing; /* the last edit was typing inside a word: the next one joins its snapshot */
};

static Snapshot snap(const Editor *e) {
    Snapshot s = {xmalloc(sizeof(int) * (size_t)(e->s.len + 1)), e->s.len, e->st.cursor, e->st.select_start, e->st.select_end};
    if (e->s.len) memcpy(s.c, e->s.c, sizeof(int) * (size_t)e->s.len); /* (an empty text may have no array) */
    return s;
}

static void restore(Editor *e, Snapshot *s) {
    e->s.len = 0;
    ed_insert(&e->s, 0, s->c, s->len);
    e->st.cursor = s->cursor, e->st.select_start = s->sel0, e->st.select_end = s->sel1;
    free(s->c);
}

static void push(Snapshot *stack, int *n, Snapshot s) {
    if (*n == UNDO_MAX) {
        free(stack[0].c);
        memmove(stack, stack + 1, sizeof(Snapshot) * (UNDO_MAX - 1));
        (*n)--;
    }
    stack[(*n)++] = s;
}

static void clear_stack(Snapshot *stack, int *n) {
    while (*n > 0) free(stack[--*n].c);
}

/* Before an edit: a snapshot to undo to (unless it continues the word being typed). */
static void before_edit(Editor *e, int typing) {
    if (!(typing && e->typing)) push(e->undo, &e->n_undo, snap(e));
    clear_stack(e->redo, &e->n_redo);
    e->typing = typing;
}

Editor *editor_new(void) {
    Editor *e = xcalloc(1, sizeof *e);
    stb_textedit_initialize_state(&e->st, 1);
    return e;
}

void editor_free(Editor *e) {
    if (!e) return;
    clear_stack(e->undo, &e->n_undo);
    clear_stack(e->redo, &e->n_redo);
    free(e->s.c);
    free(e);
}

/* UTF-8 to code points (an invalid byte becomes U+FFFD). */
static int *decode(const char *u, int *n) {
    size_t len = strlen(u);
    int *c = xmalloc(sizeof(int) * (len + 1));
    int k = 0;
    for (size_t i = 0; i < len;) {
        const unsigned char *p = (const unsigned char *)u + i;
        int l = utf8_seq_len(p, len - i), cp;
        if (l == 0) cp = 0xFFFD, l = 1;
        else if (l == 1) cp = p[0];
        else if (l == 2) cp = (p[0] & 0x1F) << 6 | (p[1] & 0x3F);
        else if (l == 3) cp = (p[0] & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
        else cp = (p[0] & 0x07) << 18 | (p[1] & 0x3F) << 12 | (p[2] & 0x3F) << 6 | (p[3] & 0x3F);
        c[k++] = cp;
        i += (size_t)l;
    }
    *n = k;
    return c;
}

static char *encode(const int *c, int n) {
    char *out = xmalloc((size_t)n * 4 + 1);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        unsigned cp = (unsigned)c[i];
        if (cp < 0x80) out[k++] = (char)cp;
        else if (cp < 0x800) out[k++] = (char)(0xC0 | cp >> 6), out[k++] = (char)(0x80 | (cp & 0x3F));
        else if (cp < 0x10000)
            out[k++] = (char)(0xE0 | cp >> 12), out[k++] = (char)(0x80 | (cp >> 6 & 0x3F)), out[k++] = (char)(0x80 | (cp & 0x3F));
        else
            out[k++] = (char)(0xF0 | cp >> 18), out[k++] = (char)(0x80 | (cp >> 12 & 0x3F)),
            out[k++] = (char)(0x80 | (cp >> 6 & 0x3F)), out[k++] = (char)(0x80 | (cp & 0x3F));
    }
    out[k] = 0;
    return out;
}

void editor_set(Editor *e, const char *utf8, int select_all) {
    int n;
    int *c = decode(utf8, &n);
    e->s.len = 0;
    ed_insert(&e->s, 0, c, n);
    free(c);
    stb_textedit_initialize_state(&e->st, 1);
    e->st.cursor = n;
    if (select_all) e->st.select_start = 0, e->st.select_end = n;
    clear_stack(e->undo, &e->n_undo);
    clear_stack(e->redo, &e->n_redo);
    e->typing = 0;
}

void editor_key(Editor *e, EditorKey k, int shift) {
    int key;
    switch (k) {
    case EK_LEFT: key = STB_TEXTEDIT_K_LEFT; break;
    case EK_RIGHT: key = STB_TEXTEDIT_K_RIGHT; break;
    case EK_HOME: key = STB_TEXTEDIT_K_LINESTART; break;
    case EK_END: key = STB_TEXTEDIT_K_LINEEND; break;
    case EK_WORDLEFT: key = STB_TEXTEDIT_K_WORDLEFT; break;
    case EK_WORDRIGHT: key = STB_TEXTEDIT_K_WORDRIGHT; break;
    case EK_BACKSPACE: before_edit(e, 0); key = STB_TEXTEDIT_K_BACKSPACE; break;
    case EK_DELETE: before_edit(e, 0); key = STB_TEXTEDIT_K_DELETE; break;
    case EK_UNDO:
        if (e->n_undo) push(e->redo, &e->n_redo, snap(e)), restore(e, &e->undo[--e->n_undo]);
        e->typing = 0;
        return;
    case EK_REDO:
        if (e->n_redo) push(e->undo, &e->n_undo, snap(e)), restore(e, &e->redo[--e->n_redo]);
        e->typing = 0;
        return;
    case EK_SELECT_ALL:
        e->st.select_start = 0, e->st.select_end = e->s.len, e->st.cursor = e->s.len;
        e->typing = 0;
        return;
    case EK_CLEAR:
        before_edit(e, 0);
        e->st.select_start = 0, e->st.select_end = e->s.len;
        stb_textedit_cut(&e->s, &e->st);
        return;
    default: return;
    }
    if (k != EK_BACKSPACE && k != EK_DELETE) e->typing = 0; /* a move ends the word being typed */
    stb_textedit_key(&e->s, &e->st, key | (shift ? STB_TEXTEDIT_K_SHIFT : 0));
}

void editor_insert(Editor *e, const char *utf8) {
    int n;
    int *c = decode(utf8, &n);
    for (int i = 0; i < n; i++) /* tabs and newlines become spaces: one line */
        if (c[i] == '\n' || c[i] == '\r' || c[i] == '\t') c[i] = ' ';
    int has_sel = e->st.select_start != e->st.select_end;
    if (n) before_edit(e, n == 1 && c[0] != ' ' && !has_sel);
    if (n) stb_textedit_paste(&e->s, &e->st, c, n);
    free(c);
}

char *editor_text(const Editor *e) { return encode(e->s.c, e->s.len); }

/* The code points from i on (an empty string has no array at all: no pointer arithmetic on NULL). */
static const int *from(const Editor *e, int i) { return e->s.c ? e->s.c + i : e->s.c; }

static int clamp_index(const Editor *e, int i) { return i < 0 ? 0 : i > e->s.len ? e->s.len : i; }

char *editor_selection(const Editor *e, int cut) {
    int a = clamp_index(e, e->st.select_start), b = clamp_index(e, e->st.select_end);
    if (a == b) return NULL;
    if (a > b) { int t = a; a = b; b = t; }
    char *s = encode(from(e, a), b - a);
    if (cut) {
        Editor *m = (Editor *)e;
        before_edit(m, 0);
        stb_textedit_cut(&m->s, &m->st);
    }
    return s;
}

void editor_parts(const Editor *e, char **before, char **sel, char **after, int *cursor, int *len) {
    int a = clamp_index(e, e->st.select_start), b = clamp_index(e, e->st.select_end);
    if (a > b) { int t = a; a = b; b = t; }
    if (a == b) a = b = clamp_index(e, e->st.cursor);
    *before = encode(from(e, 0), a);
    *sel = encode(from(e, a), b - a);
    *after = encode(from(e, b), e->s.len - b);
    *cursor = e->st.cursor;
    *len = e->s.len;
}

