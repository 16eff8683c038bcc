/* app.c - `gptstep view`: the SDL2 window. Each frame: events -> commands (the command table) ->
 * viz_draw into a cairo image surface -> copy to the window. Anything that runs the model (a step, a
 * prompt, a model, the derived numbers of viz_prepare) runs on a worker thread: the window keeps
 * showing the last frame, with a progress line, and keys pressed meanwhile wait in a queue. */
#define _GNU_SOURCE
#include <SDL.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "editor.h"
#include "viz.h"

#define QUEUE 32
#define PREPARE "\x01prepare" /* the worker's job that only computes viz_prepare */

struct App {
    VizState *v;
    SDL_Window *win;
    SDL_Surface *canvas;      /* ARGB8888, what cairo draws into; blitted to the window's surface */
    int tw, th;               /* canvas size in pixels */
    SDL_Thread *worker;
    SDL_atomic_t working;     /* 1 while the worker owns v */
    char *job;                /* the command the worker runs ("" = load and run the prompt) */
    Uint32 job_start;
    Err job_err;
    int job_rc;
    char *queue[QUEUE];       /* commands waiting for the worker to finish */
    int nq;
    int input;                /* 0: none, 1: editing the prompt, 2: typing a command */
    Editor *ed;
    AppHooks hooks;
};

static int worker_main(void *data) {
    App *a = data;
    if (!strcmp(a->job, PREPARE)) a->job_rc = 0;
    else if (a->job[0]) a->job_rc = viz_command(a->v, a->job, &a->job_err);
    else a->job_rc = viz_load_and_run(a->v, &a->job_err);
    viz_prepare(a->v);
    SDL_AtomicSet(&a->working, 0);
    return 0;
}

/* Runs a command (or "" to load, or PREPARE) on the worker thread. */
static void start_job(App *a, const char *cmd, const char *what) {
    free(a->job);
    a->job = xstrdup(cmd);
    snprintf(a->v->ui.busy_what, sizeof a->v->ui.busy_what, "%s", what);
    a->v->ui.busy = 1;
    a->job_start = SDL_GetTicks();
    if (strcmp(cmd, PREPARE)) a->v->ui.message[0] = 0;
    SDL_AtomicSet(&a->working, 1);
    a->worker = SDL_CreateThread(worker_main, "gptstep-worker", a);
    if (!a->worker) worker_main(a); /* no thread: run it here */
}

static void app_command(App *a, const char *cmd);

static void finish_job(App *a) {
    if (a->worker) SDL_WaitThread(a->worker, NULL);
    a->worker = NULL;
    a->v->ui.busy = 0;
    if (a->job_rc) viz_message(a->v, 1, "%s", a->job_err.msg);
    if (a->hooks.after_job) a->hooks.after_job(a->hooks.ctx, a->v, a->job_rc);
    while (a->nq > 0 && !a->v->ui.busy) { /* what was pressed meanwhile, in order */
        char *c = a->queue[0];
        memmove(a->queue, a->queue + 1, sizeof(char *) * (size_t)--a->nq);
        app_command(a, c);
        free(c);
    }
}

/* Runs one command line: slow ones on the worker, the rest here; then the derived numbers. */
static void app_command(App *a, const char *cmd) {
    VizState *v = a->v;
    if (v->ui.busy) {
        if (a->nq < QUEUE) a->queue[a->nq++] = xstrdup(cmd);
        return;
    }
    if (viz_command_is_slow(cmd)) {
        start_job(a, cmd, !strncmp(cmd, "next", 4) || !strncmp(cmd, "generate", 8) ? "generating\xE2\x80\xA6" : "working\xE2\x80\xA6");
        return;
    }
    Err err;
    int exporting = !strncmp(cmd, "export", 6);
    if (viz_command(v, cmd, &err)) viz_message(v, 1, "%s", err.msg);
    else if (!exporting && strncmp(cmd, "temperature", 11) && strncmp(cmd, "top-", 4) && strncmp(cmd, "greedy", 6))
        v->ui.message[0] = 0;
    if (viz_needs_prepare(v)) start_job(a, PREPARE, "computing\xE2\x80\xA6");
}

void app_run_command(App *a, const char *cmd) { app_command(a, cmd); }

static const char *key_name(SDL_Keycode k, char *buf) {
    switch (k) {
    case SDLK_RIGHT: return "Right";
    case SDLK_LEFT: return "Left";
    case SDLK_UP: return "Up";
    case SDLK_DOWN: return "Down";
    case SDLK_SPACE: return "Space";
    case SDLK_PAGEDOWN: return "PageDown";
    case SDLK_PAGEUP: return "PageUp";
    case SDLK_HOME: return "Home";
    case SDLK_END: return "End";
    case SDLK_ESCAPE: return "Escape";
    case SDLK_BACKSPACE: return "Backspace";
    case SDLK_TAB: return "Tab";
    case SDLK_RETURN:
    case SDLK_KP_ENTER: return "Return";
    case SDLK_F1: return "F1";
    case SDLK_F11: return "F11";
    case SDLK_KP_PLUS: return "+";
    case SDLK_KP_MINUS: return "-";
    default:
        if (k > 0 && k < 128) {
            buf[0] = (char)k;
            buf[1] = 0;
            return buf;
        }
        return "";
    }
}

/* The input bar: the editor's text with its selection and cursor. */
static void draw_input(App *a, cairo_t *cr, int w, int h) {
    double fs = h / 40.0 > 14 ? h / 40.0 : 14, bar = fs * 2.2;
    cairo_set_source_rgb(cr, 0.12, 0.12, 0.14);
    cairo_rectangle(cr, 0, h - bar, w, bar);
    cairo_fill(cr);
    cairo_select_font_face(cr, "DejaVu Sans Mono", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, fs);
    char *before, *sel, *after;
    int cursor, len;
    editor_parts(a->ed, &before, &sel, &after, &cursor, &len);
    const char *label = a->input == 1 ? "prompt: " : ": ";
    cairo_text_extents_t e;
    cairo_text_extents(cr, "M", &e);
    double cw = e.x_advance, base = h - bar + bar * 0.65;
    const char *hint = "  Enter run \xC2\xB7 Esc cancel \xC2\xB7 Ctrl+A all \xC2\xB7 Ctrl+U clear \xC2\xB7 Ctrl+Z undo";
    int visible = (int)((w - fs) / cw) - (int)strlen(label) - 2;
    int first = cursor > visible - 1 ? cursor - visible + 1 : 0; /* scroll to keep the cursor shown */
    (void)first;
    double x = fs * 0.5;
    cairo_set_source_rgb(cr, 0.6, 0.75, 1.0);
    cairo_move_to(cr, x, base);
    cairo_show_text(cr, label);
    x += cw * (double)strlen(label);
    /* draw the three parts, character columns counted in code points */
    const char *parts[3] = {before, sel, after};
    double sx = x;
    for (int i = 0; i < 3; i++) {
        cairo_text_extents(cr, parts[i], &e);
        if (i == 1 && parts[1][0]) {
            cairo_set_source_rgb(cr, 0.10, 0.40, 0.85);
            cairo_rectangle(cr, sx, h - bar + bar * 0.15, e.x_advance, bar * 0.7);
            cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_move_to(cr, sx, base);
        cairo_show_text(cr, parts[i]);
        sx += e.x_advance;
    }
    /* the cursor: after `before` (+ the selection when the cursor is at its end) */
    cairo_text_extents(cr, before, &e);
    double cx = x + e.x_advance;
    if (sel[0]) {
        int nb = 0;
        for (const char *p = before; *p; p++) nb += ((unsigned char)*p & 0xC0) != 0x80;
        if (cursor > nb) cairo_text_extents(cr, sel, &e), cx += e.x_advance;
    }
    cairo_set_source_rgb(cr, 1, 0.8, 0.2);
    cairo_rectangle(cr, cx, h - bar + bar * 0.15, fs * 0.12, bar * 0.7);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.65);
    cairo_set_font_size(cr, fs * 0.75);
    cairo_text_extents(cr, hint, &e);
    if (sx + e.x_advance < w - fs * 0.5) {
        cairo_move_to(cr, w - fs * 0.5 - e.x_advance, base);
        cairo_show_text(cr, hint);
    }
    free(before), free(sel), free(after);
}

static void draw_frame(App *a) {
    SDL_Surface *screen = SDL_GetWindowSurface(a->win);
    if (!screen) return;
    int w = screen->w, h = screen->h;
    if (!a->canvas || w != a->tw || h != a->th) {
        if (a->canvas) SDL_FreeSurface(a->canvas);
        a->canvas = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
        a->tw = w, a->th = h;
        if (a->canvas) SDL_FillRect(a->canvas, NULL, SDL_MapRGB(a->canvas->format, 247, 247, 245));
    }
    if (!a->canvas) return;
    /* cairo's ARGB32 is SDL's ARGB8888 on little-endian machines: cairo draws straight into it. Plain
     * software drawing: no GPU or GL driver is needed, under Xvfb or on a projector laptop. */
    cairo_surface_t *s = cairo_image_surface_create_for_data(a->canvas->pixels, CAIRO_FORMAT_ARGB32, w, h, a->canvas->pitch);
    cairo_t *cr = cairo_create(s);
    VizState *v = a->v;
    if (!v->ui.busy) {
        viz_draw(v, cr, w, h);
        if (a->hooks.overlay) a->hooks.overlay(a->hooks.ctx, v, cr, w, h);
        if (a->input) draw_input(a, cr, w, h);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    SDL_BlitSurface(a->canvas, NULL, screen, NULL);
    if (v->ui.busy && SDL_GetTicks() - a->job_start > 150 && SDL_LockSurface(screen) == 0) {
        /* the last frame stays; a progress line over it (the worker owns the run: nothing reads it) */
        if (screen->format->BytesPerPixel == 4) {
            cairo_surface_t *ss = cairo_image_surface_create_for_data(screen->pixels, CAIRO_FORMAT_RGB24, w, h, screen->pitch);
            cairo_t *c2 = cairo_create(ss);
            static const char *spin[] = {"\xE2\xA0\x8B", "\xE2\xA0\x99", "\xE2\xA0\xB9", "\xE2\xA0\xB8", "\xE2\xA0\xBC", "\xE2\xA0\xB4", "\xE2\xA0\xA6", "\xE2\xA0\xA7"};
            char line[400];
            int pct = atomic_load(&v->ui.load_percent);
            if (pct >= 0 && pct < 100) snprintf(line, sizeof line, "%s loading the model: %d%%", spin[(SDL_GetTicks() / 120) % 8], pct);
            else snprintf(line, sizeof line, "%s %s", spin[(SDL_GetTicks() / 120) % 8], v->ui.busy_what);
            double fs = h / 36.0;
            cairo_select_font_face(c2, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
            cairo_set_font_size(c2, fs);
            cairo_text_extents_t e;
            cairo_text_extents(c2, line, &e);
            double bw = e.x_advance + fs * 2, bh = fs * 2;
            cairo_set_source_rgba(c2, 0.10, 0.40, 0.85, 0.92);
            cairo_rectangle(c2, (w - bw) / 2, h - bh - fs, bw, bh);
            cairo_fill(c2);
            cairo_set_source_rgb(c2, 1, 1, 1);
            cairo_move_to(c2, (w - e.x_advance) / 2, h - fs - bh * 0.32);
            cairo_show_text(c2, line);
            cairo_destroy(c2);
            cairo_surface_destroy(ss);
        }
        SDL_UnlockSurface(screen);
    }
    SDL_UpdateWindowSurface(a->win);
}

/* Pixel coordinates: the drawing is at renderer resolution, mouse events are in window points. */
static void to_pixels(App *a, int x, int y, double *px, double *py) {
    int ww, wh;
    SDL_GetWindowSize(a->win, &ww, &wh);
    *px = x * (double)a->tw / (ww ? ww : 1);
    *py = y * (double)a->th / (wh ? wh : 1);
}

static void update_hover(App *a, double x, double y) {
    VizState *v = a->v;
    v->ui.mouse_x = x, v->ui.mouse_y = y;
    v->ui.hover = -1;
    for (int i = v->ui.n_hits - 1; i >= 0; i--) {
        const Hit *h = &v->ui.hits[i];
        if (h->kind != HIT_PANEL && x >= h->r.x && y >= h->r.y && x < h->r.x + h->r.w && y < h->r.y + h->r.h) {
            v->ui.hover = i;
            break;
        }
    }
}

static void open_editor(App *a, int which) {
    a->input = which;
    editor_set(a->ed, which == 1 ? a->v->run.prompt : "", which == 1);
    SDL_StartTextInput();
}

static void close_editor(App *a) {
    a->input = 0;
    SDL_StopTextInput();
}

static void editor_keydown(App *a, const SDL_KeyboardEvent *e) {
    SDL_Keycode k = e->keysym.sym;
    int shift = (e->keysym.mod & KMOD_SHIFT) != 0, ctrl = (e->keysym.mod & KMOD_CTRL) != 0;
    Editor *ed = a->ed;
    if (k == SDLK_ESCAPE) close_editor(a);
    else if (k == SDLK_RETURN || k == SDLK_KP_ENTER) {
        char *text = editor_text(ed);
        size_t n = strlen(text) + 16;
        char *cmd = xmalloc(n);
        snprintf(cmd, n, "%s%s", a->input == 1 ? "prompt " : "", text);
        close_editor(a);
        app_command(a, cmd);
        free(cmd);
        free(text);
    } else if (k == SDLK_LEFT) editor_key(ed, ctrl ? EK_WORDLEFT : EK_LEFT, shift);
    else if (k == SDLK_RIGHT) editor_key(ed, ctrl ? EK_WORDRIGHT : EK_RIGHT, shift);
    else if (k == SDLK_HOME) editor_key(ed, EK_HOME, shift);
    else if (k == SDLK_END) editor_key(ed, EK_END, shift);
    else if (k == SDLK_BACKSPACE) editor_key(ed, EK_BACKSPACE, 0);
    else if (k == SDLK_DELETE) editor_key(ed, EK_DELETE, 0);
    else if (ctrl && k == SDLK_a) editor_key(ed, EK_SELECT_ALL, 0);
    else if (ctrl && (k == SDLK_u || k == SDLK_k)) editor_key(ed, EK_CLEAR, 0);
    else if (ctrl && k == SDLK_z) editor_key(ed, shift ? EK_REDO : EK_UNDO, 0);
    else if (ctrl && k == SDLK_y) editor_key(ed, EK_REDO, 0);
    else if (ctrl && (k == SDLK_c || k == SDLK_x)) {
        char *s = editor_selection(ed, k == SDLK_x);
        if (s) SDL_SetClipboardText(s);
        free(s);
    } else if (ctrl && k == SDLK_v) {
        char *s = SDL_GetClipboardText();
        if (s) editor_insert(ed, s);
        SDL_free(s);
    }
}

static void handle_key(App *a, const SDL_KeyboardEvent *e) {
    VizState *v = a->v;
    if (a->input) {
        editor_keydown(a, e);
        return;
    }
    SDL_Keycode k = e->keysym.sym;
    int shift = (e->keysym.mod & KMOD_SHIFT) != 0, ctrl = (e->keysym.mod & KMOD_CTRL) != 0;
    if (k == SDLK_w && ctrl) {
        v->ui.quit = 1;
        return;
    }
    if (k == SDLK_SLASH && shift) k = '?';
    if (k == SDLK_SEMICOLON && shift) k = ':';
    if (k == SDLK_EQUALS && shift) k = '+';
    char buf[4], cmd[128];
    const char *name = key_name(k, buf);
    if (a->hooks.key && a->hooks.key(a->hooks.ctx, v, name, shift)) {
        if (viz_needs_prepare(v) && !v->ui.busy) start_job(a, PREPARE, "computing\xE2\x80\xA6");
        return;
    }
    if (!*name) return;
    viz_key_command(v, name, shift, ctrl, cmd, sizeof cmd);
    if (!cmd[0]) return;
    if (!strcmp(cmd, "quit")) { /* even while the worker runs */
        v->ui.quit = 1;
        return;
    }
    app_command(a, cmd);
}

static void after_command(App *a, int fs_before) {
    VizState *v = a->v;
    if (v->ui.edit_request) {
        open_editor(a, v->ui.edit_request);
        v->ui.edit_request = 0;
    }
    if (fs_before != v->view.fullscreen) SDL_SetWindowFullscreen(a->win, v->view.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
}

/* The window's first size, at 16:9: 1600x900, less to fit a small display, more on a large one (up to
 * 80% of it: 3072x1728 on a 4K screen). */
static void window_size(int *w, int *h) {
    SDL_Rect b;
    *w = 1600, *h = 900;
    if (SDL_GetDisplayUsableBounds(0, &b) == 0 && b.w > 0 && b.h > 0) {
        double s = fmin(0.92 * b.w / 1600.0, 0.88 * b.h / 900.0);
        if (s < 1) *w = (int)(1600 * s), *h = (int)(900 * s);
        double big = fmin(0.8 * b.w / 1600.0, 0.8 * b.h / 900.0);
        if (big > 1) *w = (int)(1600 * big), *h = (int)(900 * big);
    }
    if (*w < 640) *w = 640;
    if (*h < 360) *h = 360;
}

int app_main(VizState *v, const char *title, AppHooks hooks) {
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0"); /* the window surface is plain memory */
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "gptstep: cannot open a window: %s (is there a display? try 'gptstep render' instead)\n", SDL_GetError());
        return 1;
    }
    App *a = calloc(1, sizeof *a);
    a->v = v;
    a->hooks = hooks;
    a->ed = editor_new();
    v->ui.async_prepare = 1;
    int w, h;
    window_size(&w, &h);
    a->win = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                              SDL_WINDOW_RESIZABLE | (v->view.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0));
    if (!a->win) {
        fprintf(stderr, "gptstep: cannot open a window: %s\n", SDL_GetError());
        editor_free(a->ed);
        free(a);
        SDL_Quit();
        return 1;
    }
    SDL_SetWindowMinimumSize(a->win, 640, 360);
    SDL_StopTextInput();
    if (!v->run.loaded) start_job(a, "", "loading the model and running the prompt\xE2\x80\xA6");
    else if (viz_needs_prepare(v)) start_job(a, PREPARE, "computing\xE2\x80\xA6");
    int dirty = 1;
    while (!v->ui.quit) {
        SDL_Event e;
        int got = SDL_WaitEventTimeout(&e, v->ui.busy ? 40 : 250);
        if (v->ui.busy && !SDL_AtomicGet(&a->working)) {
            finish_job(a);
            dirty = 1;
        }
        while (got) {
            int fs = v->view.fullscreen;
            switch (e.type) {
            case SDL_QUIT: v->ui.quit = 1; break;
            case SDL_WINDOWEVENT: dirty = 1; break;
            case SDL_KEYDOWN:
                handle_key(a, &e.key);
                dirty = 1;
                break;
            case SDL_TEXTINPUT:
                if (a->input) editor_insert(a->ed, e.text.text);
                dirty = 1;
                break;
            case SDL_MOUSEMOTION:
                if (!v->ui.busy) {
                    double x, y;
                    to_pixels(a, e.motion.x, e.motion.y, &x, &y);
                    int before = v->ui.hover;
                    update_hover(a, x, y);
                    dirty |= before != v->ui.hover ||
                             (v->ui.hover >= 0 && (v->ui.hits[v->ui.hover].kind == HIT_VECTOR || v->ui.hits[v->ui.hover].kind == HIT_CELL));
                }
                break;
            case SDL_MOUSEWHEEL:
                if (!v->ui.busy && !a->input) {
                    int mx, my;
                    double x, y;
                    SDL_GetMouseState(&mx, &my);
                    to_pixels(a, mx, my, &x, &y);
                    Err err;
                    int ctrl = (SDL_GetModState() & KMOD_CTRL) != 0;
                    if (viz_wheel(v, x, y, e.wheel.y, ctrl, &err)) viz_message(v, 1, "%s", err.msg);
                    dirty = 1;
                }
                break;
            case SDL_MOUSEBUTTONDOWN:
                if ((e.button.button == SDL_BUTTON_RIGHT || (e.button.button == SDL_BUTTON_LEFT && (SDL_GetModState() & KMOD_SHIFT))) &&
                    !a->input) { /* knock out the part under the mouse */
                    double x, y;
                    to_pixels(a, e.button.x, e.button.y, &x, &y);
                    char cmd[128];
                    if (!v->ui.busy && viz_knock_command(v, x, y, cmd, sizeof cmd)[0]) app_command(a, cmd);
                    dirty = 1;
                } else if (e.button.button == SDL_BUTTON_LEFT && !a->input) {
                    double x, y;
                    to_pixels(a, e.button.x, e.button.y, &x, &y);
                    char cmd[128];
                    if (!v->ui.busy && viz_click_command(v, x, y, cmd, sizeof cmd)[0]) {
                        if (!strncmp(cmd, "layer ", 6)) { /* a head of the grid: several commands */
                            Err err;
                            if (viz_click(v, x, y, &err)) viz_message(v, 1, "%s", err.msg);
                            if (viz_needs_prepare(v)) start_job(a, PREPARE, "computing\xE2\x80\xA6");
                        } else {
                            app_command(a, cmd);
                        }
                    }
                    dirty = 1;
                }
                break;
            default: break;
            }
            after_command(a, fs);
            got = SDL_PollEvent(&e);
        }
        if (a->hooks.tick && !v->ui.busy) dirty |= a->hooks.tick(a->hooks.ctx, v, a);
        if (dirty || v->ui.busy) {
            draw_frame(a);
            dirty = 0;
        }
    }
    if (a->worker) SDL_WaitThread(a->worker, NULL);
    for (int i = 0; i < a->nq; i++) free(a->queue[i]);
    free(a->job);
    if (a->canvas) SDL_FreeSurface(a->canvas);
    editor_free(a->ed);
    SDL_DestroyWindow(a->win);
    SDL_Quit();
    free(a);
    v->ui.async_prepare = 0;
    return 0;
}

static const char *VIEW_HELP =
    "usage: gptstep view [--model MODEL] [--prompt TEXT | --unconditional] [-n N] [--seed S]\n"
    "                    [--fullscreen] [--presenter] [--colorblind]\n"
    "\n"
    "Opens the viewer: the prompt's tokens, attention heatmaps, the next-token distribution, the\n"
    "vectors inside a block and the forward pass's pipeline. Press ? in the window for every key.\n"
    "  --model MODEL      a model directory or a name under models/ (default: " GPT2_DEFAULT_MODEL ")\n"
    "  --prompt TEXT      the prompt (default: \"Once upon a time there was a\")\n"
    "  -n N               tokens to generate before showing (default 0)\n"
    "  --seed S           the random seed (default 0)\n"
    "  --ablate SPEC      switch a part off, repeatable: L.H, L.mlp.N, L.attn, L.mlp, pos (X in the window)\n"
    "  --ablate-mode M    zero (default) or mean: its mean over the text's positions in a clean run (Ctrl+X)\n"
    "  --presenter        presenter mode: one view fills the screen, text readable from the back of a room\n"
    "                     (--large is the same); Tab changes the view\n"
    "  --fullscreen, --colorblind (colour-blind-safe colours)\n";

int viz_view_main(int argc, char **argv) {
    static struct option opts[] = {{"model", required_argument, 0, 'm'}, {"prompt", required_argument, 0, 'P'},
                                   {"unconditional", no_argument, 0, 'u'}, {"seed", required_argument, 0, 's'},
                                   {"fullscreen", no_argument, 0, 'f'},   {"large", no_argument, 0, 'l'},
                                   {"presenter", no_argument, 0, 'l'},    {"colorblind", no_argument, 0, 'c'},
                                   {"help", no_argument, 0, 'h'},         {"ablate", required_argument, 0, 'A'},
                                   {"ablate-mode", required_argument, 0, 'M'},
                                   {0, 0, 0, 0}};
    const char *ablate[64], *ablate_mode = NULL;
    int n_ablate = 0;
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    int c, rc = 0;
    long n = 0;
    Err err;
    char line[64];
    while ((c = getopt_long(argc, argv, "+m:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", optarg); break;
        case 'P': free(v->run.prompt); v->run.prompt = xstrdup(optarg); break;
        case 'u': v->run.prompt[0] = 0; break;
        case 's':
            snprintf(line, sizeof line, "seed %.40s", optarg);
            if (viz_command(v, line, &err)) fprintf(stderr, "gptstep view: %s\n", err.msg), rc = 2;
            break;
        case 'f': v->view.fullscreen = 1; break;
        case 'l': v->view.presenter = 1; break;
        case 'c': v->view.colorblind = 1; break;
        case 'A':
            if (n_ablate < 64) ablate[n_ablate++] = optarg;
            break;
        case 'M':
            if (strcmp(optarg, "zero") && strcmp(optarg, "mean"))
                fprintf(stderr, "gptstep view: --ablate-mode expects zero or mean, got '%s'\n", optarg), rc = 2;
            ablate_mode = optarg;
            break;
        case 'n': {
            char *end;
            n = strtol(optarg, &end, 10);
            if (*end || n < 0 || n > 100000) fprintf(stderr, "gptstep view: -n expects a number of tokens 0..100000, got '%s'\n", optarg), rc = 2;
            break;
        }
        case 'h': fputs(VIEW_HELP, stdout); viz_free(v); free(v); return 0;
        default: rc = 2; fprintf(stderr, "gptstep view: unknown option (see 'gptstep view --help')\n"); break;
        }
        if (rc) break;
    }
    if (rc == 0 && optind < argc) fprintf(stderr, "gptstep view: unexpected argument '%s' (see 'gptstep view --help')\n", argv[optind]), rc = 2;
    if (rc) {
        viz_free(v);
        free(v);
        return rc;
    }
    /* Resolve the model first so that a typo fails here, with the list of places looked in. */
    char *dir = gpt2_resolve_model(v->run.model_arg[0] ? v->run.model_arg : NULL, &err);
    if (!dir) {
        fprintf(stderr, "gptstep: %s\n", err.msg);
        viz_free(v);
        free(v);
        return 1;
    }
    free(dir);
    if (n > 0 || n_ablate > 0 || ablate_mode) { /* load now (on this thread): the window opens on the result */
        if (viz_load_and_run(v, &err) == 0) {
            snprintf(line, sizeof line, "ablate-mode %.20s", ablate_mode ? ablate_mode : "zero");
            if (viz_command(v, line, &err)) viz_message(v, 1, "%s", err.msg);
            for (int i = 0; i < n_ablate; i++) {
                snprintf(line, sizeof line, "ablate %.50s", ablate[i]);
                if (viz_command(v, line, &err)) viz_message(v, 1, "%s", err.msg);
            }
            snprintf(line, sizeof line, "generate %ld", n);
            if (n > 0 && viz_command(v, line, &err)) viz_message(v, 1, "%s", err.msg);
        } else {
            viz_message(v, 1, "%s", err.msg);
        }
    }
    rc = app_main(v, "gptstep", (AppHooks){0});
    viz_free(v);
    free(v);
    return rc;
}
