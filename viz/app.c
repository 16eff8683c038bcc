/* app.c - the viewer as an interactive program (app.h), apart from any window system: input by name
 * and in pixels -> commands (the command table) -> viz_draw into a pixel buffer. Anything that runs the
 * model is a job: the front end runs it where it can (a worker thread in the SDL window, after the
 * progress frame has been painted in the browser); meanwhile keys and commands wait in a queue. */
#define _GNU_SOURCE
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "editor.h"

#define QUEUE 64

typedef enum { JOB_LOAD, JOB_PREPARE, JOB_COMMAND, JOB_WORK } JobKind;
typedef enum { Q_COMMAND, Q_KEY } QueuedKind;
typedef struct {
    QueuedKind kind;
    char *s;         /* the command, or the key's name */
    int shift, ctrl;
} Queued;

struct App {
    VizState *v;
    AppHooks hooks;
    AppFront front;
    JobKind job;
    char *job_cmd;
    Err job_err;
    int job_rc;
    atomic_int job_state;  /* 0 none, 1 started, 2 ran to its end (app_poll finishes it) */
    Queued queue[QUEUE];
    int nq;
    int input;             /* 0: none, 1: editing the prompt, 2: typing a command */
    Editor *ed;
};

App *app_new(VizState *v, AppHooks hooks, AppFront front) {
    App *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->v = v, a->hooks = hooks, a->front = front;
    a->ed = editor_new();
    v->ui.async_prepare = 1;
    v->ui.interactive = 1;
    return a;
}

void app_free(App *a) {
    if (!a) return;
    for (int i = 0; i < a->nq; i++) free(a->queue[i].s);
    free(a->job_cmd);
    editor_free(a->ed);
    a->v->ui.async_prepare = 0;
    free(a);
}

VizState *app_state(App *a) { return a->v; }
int app_busy(const App *a) { return a->v->ui.busy; }
int app_editing(const App *a) { return a->input != 0; }
int app_job_pending(const App *a) { return atomic_load(&a->job_state) == 1; }

void app_job_run(App *a) {
    VizState *v = a->v;
    a->job_rc = 0;
    switch (a->job) {
    case JOB_LOAD: a->job_rc = viz_load_and_run(v, &a->job_err); break;
    case JOB_COMMAND: a->job_rc = viz_command(v, a->job_cmd, &a->job_err); break;
    case JOB_WORK: a->job_rc = a->hooks.work ? a->hooks.work(a->hooks.ctx, v, &a->job_err) : 0; break;
    case JOB_PREPARE: break;
    }
    viz_prepare(v);
    atomic_store(&a->job_state, 2);
}

static void start_job(App *a, JobKind kind, const char *cmd, const char *what) {
    free(a->job_cmd);
    a->job = kind;
    a->job_cmd = cmd ? xstrdup(cmd) : NULL;
    snprintf(a->v->ui.busy_what, sizeof a->v->ui.busy_what, "%s", what);
    a->v->ui.busy = 1;
    if (kind != JOB_PREPARE) a->v->ui.message[0] = 0;
    atomic_store(&a->job_state, 1);
    if (a->front.start_job) a->front.start_job(a->front.ctx, a);
    else app_job_run(a); /* no front end to defer it: run it here */
}

static void prepare_if_needed(App *a) {
    /* busy first: while a job runs, the run (and what viz_needs_prepare reads) is the job's */
    if (!a->v->ui.busy && viz_needs_prepare(a->v)) start_job(a, JOB_PREPARE, NULL, "computing\xE2\x80\xA6");
}

void app_set_hooks(App *a, AppHooks hooks) { a->hooks = hooks; }

void app_work(App *a) {
    if (a->v->ui.busy) return;
    start_job(a, JOB_WORK, NULL, "working\xE2\x80\xA6");
}

void app_start(App *a) {
    if (!a->v->run.loaded) start_job(a, JOB_LOAD, NULL, "loading the model and running the prompt\xE2\x80\xA6");
    else prepare_if_needed(a);
}

static void enqueue(App *a, QueuedKind kind, const char *s, int shift, int ctrl) {
    if (a->nq >= QUEUE) return; /* a full queue drops what comes after: 64 keys ahead of the model */
    a->queue[a->nq++] = (Queued){kind, xstrdup(s), shift, ctrl};
}

static void after_command(App *a, int fs_before);

void app_stop(App *a) {
    if (!a->v->ui.busy || atomic_load(&a->v->ui.stop)) return;
    atomic_store(&a->v->ui.stop, 1);
    snprintf(a->v->ui.busy_what, sizeof a->v->ui.busy_what, "closing\xE2\x80\xA6");
    for (int i = 0; i < a->nq; i++) free(a->queue[i].s);
    a->nq = 0;
}

int app_poll(App *a) {
    VizState *v = a->v;
    if (!v->ui.busy || atomic_load(&a->job_state) != 2) return 0;
    atomic_store(&a->job_state, 0);
    v->ui.busy = 0;
    if (atomic_load(&v->ui.stop)) { /* stopped for the window to close: nothing more runs */
        a->nq = 0;
        return 1;
    }
    if (a->job_rc) viz_message(v, 1, "%s", a->job_err.msg);
    prepare_if_needed(a);
    while (a->nq > 0 && !v->ui.busy) { /* what was pressed meanwhile, in order */
        Queued q = a->queue[0];
        memmove(a->queue, a->queue + 1, sizeof(Queued) * (size_t)--a->nq);
        if (q.kind == Q_KEY) app_key(a, q.s, q.shift, q.ctrl);
        else app_command(a, q.s);
        free(q.s);
    }
    return 1;
}

/* Runs one command line: slow ones as a job, the rest here; then the derived numbers. */
int app_command(App *a, const char *cmd) {
    VizState *v = a->v;
    if (v->ui.busy) { /* before anything reads the state: while a job runs it is the job's */
        enqueue(a, Q_COMMAND, cmd, 0, 0);
        return 0;
    }
    int fs = v->view.fullscreen;
    int flags = viz_command_flags(cmd);
    if (flags & VIZ_CMD_SLOW) {
        start_job(a, JOB_COMMAND, cmd, flags & VIZ_CMD_GENERATES ? "generating\xE2\x80\xA6" : "working\xE2\x80\xA6");
        return 1;
    }
    Err err;
    if (viz_command(v, cmd, &err)) viz_message(v, 1, "%s", err.msg);
    else if (!(flags & VIZ_CMD_REPORTS)) v->ui.message[0] = 0;
    after_command(a, fs);
    prepare_if_needed(a);
    return 1;
}

static void open_editor(App *a, int which) {
    a->input = which;
    editor_set(a->ed, which == 1 ? a->v->run.prompt : "", which == 1);
    if (a->front.text_input) a->front.text_input(a->front.ctx, 1);
}

static void close_editor(App *a) {
    a->input = 0;
    if (a->front.text_input) a->front.text_input(a->front.ctx, 0);
}

static void after_command(App *a, int fs_before) {
    VizState *v = a->v;
    if (v->ui.edit_request) {
        open_editor(a, v->ui.edit_request);
        v->ui.edit_request = 0;
    }
    if (v->ui.link_request) {
        char link[8192];
        link[0] = '#';
        viz_link_make(v, link + 1, sizeof link - 1);
        if (a->front.clip_set) a->front.clip_set(a->front.ctx, link);
        v->ui.link_request = 0;
    }
    if (fs_before != v->view.fullscreen && a->front.fullscreen) a->front.fullscreen(a->front.ctx, v->view.fullscreen);
}

static void editor_keydown(App *a, const char *k, int shift, int ctrl) {
    Editor *ed = a->ed;
    char c = strlen(k) == 1 ? (char)(k[0] | 0x20) : 0; /* a letter key, lower case */
    if (!strcmp(k, "Escape")) close_editor(a);
    else if (!strcmp(k, "Return")) {
        char *text = editor_text(ed);
        size_t n = strlen(text) + 16;
        char *cmd = xmalloc(n);
        snprintf(cmd, n, "%s%s", a->input == 1 ? "prompt " : "", text);
        close_editor(a);
        app_command(a, cmd);
        free(cmd);
        free(text);
    } else if (!strcmp(k, "Left")) editor_key(ed, ctrl ? EK_WORDLEFT : EK_LEFT, shift);
    else if (!strcmp(k, "Right")) editor_key(ed, ctrl ? EK_WORDRIGHT : EK_RIGHT, shift);
    else if (!strcmp(k, "Home")) editor_key(ed, EK_HOME, shift);
    else if (!strcmp(k, "End")) editor_key(ed, EK_END, shift);
    else if (!strcmp(k, "Backspace")) editor_key(ed, EK_BACKSPACE, 0);
    else if (!strcmp(k, "Delete")) editor_key(ed, EK_DELETE, 0);
    else if (ctrl && c == 'a') editor_key(ed, EK_SELECT_ALL, 0);
    else if (ctrl && (c == 'u' || c == 'k')) editor_key(ed, EK_CLEAR, 0);
    else if (ctrl && c == 'z') editor_key(ed, shift ? EK_REDO : EK_UNDO, 0);
    else if (ctrl && c == 'y') editor_key(ed, EK_REDO, 0);
    else if (ctrl && (c == 'c' || c == 'x')) {
        char *s = editor_selection(ed, c == 'x');
        if (s && a->front.clip_set) a->front.clip_set(a->front.ctx, s);
        free(s);
    } else if (ctrl && c == 'v' && a->front.clip_get) {
        char *s = a->front.clip_get(a->front.ctx);
        if (s) editor_insert(ed, s);
        free(s);
    }
}

int app_key(App *a, const char *name, int shift, int ctrl) {
    VizState *v = a->v;
    if (!name || !*name) return 0;
    if (a->input) {
        editor_keydown(a, name, shift, ctrl);
        return 1;
    }
    char lower = strlen(name) == 1 ? name[0] : 0;
    if (ctrl && (lower == 'w' || lower == 'W')) {
        v->ui.quit = 1;
        return 1;
    }
    char cmd[128];
    viz_key_command(v, name, shift, ctrl, cmd, sizeof cmd);
    if (!strcmp(cmd, "quit")) { /* even while a job runs */
        v->ui.quit = 1;
        return 1;
    }
    if (v->ui.busy) { /* the lesson's keys too: nothing reads the run while a job owns it */
        enqueue(a, Q_KEY, name, shift, ctrl);
        return 0;
    }
    if (a->hooks.key) {
        int r = a->hooks.key(a->hooks.ctx, v, name, shift);
        if (r == 2) start_job(a, JOB_WORK, NULL, "working\xE2\x80\xA6");
        if (r) {
            prepare_if_needed(a);
            return 1;
        }
    }
    if (!cmd[0]) return 0;
    return app_command(a, cmd);
}

int app_text(App *a, const char *utf8) {
    if (!a->input) return 0;
    editor_insert(a->ed, utf8);
    return 1;
}

int app_motion(App *a, double x, double y) {
    VizState *v = a->v;
    if (v->ui.busy) return 0;
    int before = v->ui.hover;
    v->ui.mouse_x = x, v->ui.mouse_y = y;
    v->ui.hover = -1;
    for (int i = v->ui.n_hits - 1; i >= 0; i--) {
        const Hit *h = &v->ui.hits[i];
        if (h->kind != HIT_PANEL && x >= h->r.x && y >= h->r.y && x < h->r.x + h->r.w && y < h->r.y + h->r.h) {
            v->ui.hover = i;
            break;
        }
    }
    return before != v->ui.hover ||
           (v->ui.hover >= 0 && (v->ui.hits[v->ui.hover].kind == HIT_VECTOR || v->ui.hits[v->ui.hover].kind == HIT_CELL));
}

int app_button(App *a, double x, double y, int right, int shift) {
    VizState *v = a->v;
    if (a->input || v->ui.busy) return 0; /* a click acts on what the last frame showed: not while it is stale */
    char cmd[128];
    if (right || shift) { /* knock out the part under the mouse */
        if (viz_knock_command(v, x, y, cmd, sizeof cmd)[0]) app_command(a, cmd);
        return 1;
    }
    if (!viz_click_command(v, x, y, cmd, sizeof cmd)[0]) return 1;
    app_command(a, cmd);
    return 1;
}

int app_wheel(App *a, double x, double y, int dy, int ctrl) {
    VizState *v = a->v;
    if (v->ui.busy || a->input) return 0;
    Err err;
    if (viz_wheel(v, x, y, dy, ctrl, &err)) viz_message(v, 1, "%s", err.msg);
    prepare_if_needed(a);
    return 1;
}

/* The input bar: the editor's text with its selection and cursor, scrolled so that the cursor shows. */
static void draw_input(App *a, cairo_t *cr, int w, int h) {
    double fs = h / 40.0 > 14 ? h / 40.0 : 14, bar = fs * 2.2;
    cairo_set_source_rgb(cr, 0.12, 0.12, 0.14);
    cairo_rectangle(cr, 0, h - bar, w, bar);
    cairo_fill(cr);
    Gfx g;
    gfx_begin(&g, cr, w, h, 0, 0);
    g.fs_min = 1;
    gfx_font(&g, FONT_MONO, fs, 0);
    char *before, *sel, *after;
    int cursor, len;
    editor_parts(a->ed, &before, &sel, &after, &cursor, &len);
    const char *label = a->input == 1 ? "prompt: " : ": ";
    const char *hint = "  Enter run \xC2\xB7 Esc cancel \xC2\xB7 Ctrl+A all \xC2\xB7 Ctrl+U clear \xC2\xB7 Ctrl+Z undo";
    double base = h - bar + bar * 0.65, x0 = fs * 0.5;
    cairo_set_source_rgb(cr, 0.6, 0.75, 1.0);
    double lw = gfx_text(&g, x0, base, label, 0);
    /* where the cursor falls: after `before` (and the selection when the cursor is at its end) */
    int nb = 0;
    for (const char *p = before; *p; p++) nb += ((unsigned char)*p & 0xC0) != 0x80;
    double wb = gfx_text_w(&g, before), ws = gfx_text_w(&g, sel), cx = wb + (sel[0] && cursor > nb ? ws : 0);
    double room = w - x0 - lw - fs, scroll = cx > room ? cx - room : 0;
    cairo_save(cr);
    cairo_rectangle(cr, x0 + lw, h - bar, w - x0 - lw, bar);
    cairo_clip(cr);
    double x = x0 + lw - scroll;
    if (sel[0]) {
        cairo_set_source_rgb(cr, 0.10, 0.40, 0.85);
        cairo_rectangle(cr, x + wb, h - bar + bar * 0.15, ws, bar * 0.7);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    double end = x + gfx_text(&g, x, base, before, 0);
    end += gfx_text(&g, end, base, sel, 0);
    end += gfx_text(&g, end, base, after, 0);
    cairo_set_source_rgb(cr, 1, 0.8, 0.2);
    cairo_rectangle(cr, x + cx, h - bar + bar * 0.15, fs * 0.12, bar * 0.7);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.65);
    gfx_font(&g, FONT_SANS, fs * 0.75, 0);
    double hw = gfx_text_w(&g, hint);
    if (end + hw < w - fs * 0.5) gfx_text(&g, w - fs * 0.5 - hw, base, hint, 0);
    free(before), free(sel), free(after);
}

void app_draw(App *a, unsigned char *pixels, int w, int h, int stride, unsigned ms) {
    VizState *v = a->v;
    (void)ms;
    if (v->ui.busy) return; /* the run belongs to the job: the front end keeps the last frame */
    v->ui.screen_w = w, v->ui.screen_h = h;
    cairo_surface_t *s = cairo_image_surface_create_for_data(pixels, CAIRO_FORMAT_ARGB32, w, h, stride);
    cairo_t *cr = cairo_create(s);
    viz_draw(v, cr, w, h);
    if (a->input) draw_input(a, cr, w, h);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}

void app_draw_progress(App *a, unsigned char *pixels, int w, int h, int stride, unsigned ms) {
    VizState *v = a->v;
    cairo_surface_t *s = cairo_image_surface_create_for_data(pixels, CAIRO_FORMAT_ARGB32, w, h, stride);
    cairo_t *cr = cairo_create(s);
    static const char *spin[] = {"\xE2\xA0\x8B", "\xE2\xA0\x99", "\xE2\xA0\xB9", "\xE2\xA0\xB8", "\xE2\xA0\xBC", "\xE2\xA0\xB4", "\xE2\xA0\xA6", "\xE2\xA0\xA7"};
    char line[400];
    int pct = atomic_load(&v->ui.load_percent);
    if (pct >= 0 && pct < 100 && !atomic_load(&v->ui.stop)) snprintf(line, sizeof line, "%s loading the model: %d%%", spin[(ms / 120) % 8], pct);
    else snprintf(line, sizeof line, "%s %s", spin[(ms / 120) % 8], v->ui.busy_what);
    Gfx g;
    gfx_begin(&g, cr, w, h, 0, 0);
    double fs = h / 36.0;
    g.fs_min = 1;
    gfx_font(&g, FONT_SANS, fs, 1);
    double tw = gfx_text_w(&g, line), bw = tw + fs * 2, bh = fs * 2;
    cairo_set_source_rgba(cr, 0.10, 0.40, 0.85, 0.92);
    cairo_rectangle(cr, (w - bw) / 2, h - bh - fs, bw, bh);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    gfx_text(&g, (w - tw) / 2, h - fs - bh * 0.32, line, 0);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}
