/* web.c - the browser page's side of the viewer (built only by `make web`, with emcc): the same core
 * (app.h, every view, the command table, lessons) driven by the page's JavaScript glue (web/shell.html).
 * The glue sends keys by name, text, mouse and wheel in canvas pixels, and asks for frames; this file
 * draws them with cairo into memory and hands back RGBA pixels for a canvas ImageData.
 *
 * No threads in the page (file:// pages cannot share memory with workers): a job (a step, a prompt, a
 * lesson step) is not run when it starts; the glue first paints the frame with its progress line, then
 * calls gs_job_run. Keys that arrive meanwhile wait in the core's queue, as in the window.
 *
 * The files the page needs are inside the page, gzip-compressed (tools/web/assemble.sh); the page's glue
 * writes them into /models, /fonts and /lessons before main, where the native code finds them. */
#define _GNU_SOURCE /* setenv, chdir */
#include <emscripten.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "lesson.h"

typedef struct {
    VizState v;
    App *app;
    unsigned char *argb, *rgba; /* the last frame (cairo's layout) and what the canvas gets */
    int w, h;
    int dirty;
    double job_t0;
    Lesson lesson;
    int has_lesson;
    LessonPlayer player;
    char *json;
} Web;

static Web W;

static void web_start_job(void *ctx, App *a) {
    (void)ctx, (void)a;
    W.job_t0 = emscripten_get_now(); /* run by gs_job_run, once the page has painted the progress line */
}

static void web_fullscreen(void *ctx, int on) {
    (void)ctx;
    EM_ASM({ Module.gsFullscreen($0); }, on);
}

static void web_clip_set(void *ctx, const char *s) {
    (void)ctx;
    EM_ASM({ Module.gsCopy(UTF8ToString($0)); }, s);
}

static void json_update(void) {
    free(W.json);
    W.json = viz_state_json(&W.v);
}

/* Opens a lesson file: its steps drive the viewer through the same hooks the window uses. */
EMSCRIPTEN_KEEPALIVE int gs_lesson(const char *path, int step) {
    Err err;
    if (app_busy(W.app)) {
        viz_message(&W.v, 1, "busy: open the lesson again when the work in progress is done");
        return -1;
    }
    Lesson l;
    if (lesson_load(&l, path, &err)) {
        viz_message(&W.v, 1, "%s", err.msg);
        W.dirty = 1;
        return -1;
    }
    if (W.has_lesson) lesson_free(&W.lesson);
    W.lesson = l;
    W.has_lesson = 1;
    if (step < 0) step = 0;
    if (step >= l.n_steps) step = l.n_steps - 1;
    W.player = (LessonPlayer){&W.lesson, step, 1, 0};
    app_set_hooks(W.app, lesson_player_hooks(&W.player));
    app_work(W.app);
    W.dirty = 1;
    return 0;
}

EMSCRIPTEN_KEEPALIVE int gs_init(const char *fragment, int w, int h) {
    setenv("GPTSTEP_MODELS", "/models", 1);
    mkdir("/out", 0755);
    chdir("/out"); /* exports land here; the glue downloads and removes them */
    viz_init(&W.v);
    W.app = app_new(&W.v, (AppHooks){0}, (AppFront){NULL, web_start_job, web_fullscreen, NULL, web_clip_set, NULL});
    W.w = w, W.h = h;
    VizLink link;
    Err err;
    int bad = viz_link_parse(fragment, &link, &err);
    if (link.prompt) free(W.v.run.prompt), W.v.run.prompt = xstrdup(link.prompt);
    for (int i = 0; i < link.n_pre; i++) { /* the sampler's settings, before the prompt runs (nothing is loaded yet) */
        Err e2;
        if (viz_command(&W.v, link.pre[i], &e2) && !bad) bad = 1, err = e2;
    }
    if (link.lesson) {
        char path[600];
        snprintf(path, sizeof path, strchr(link.lesson, '/') ? "%s" : "/lessons/%s.lesson", link.lesson);
        struct stat sb;
        if (!strchr(link.lesson, '/') && stat(path, &sb) != 0) { /* "09" or "knock-it-out" for 09-knock-it-out */
            DIR *d = opendir("/lessons");
            struct dirent *e;
            while (d && (e = readdir(d))) {
                const char *dash = strchr(e->d_name, '-');
                size_t n = strlen(link.lesson);
                if ((!strncmp(e->d_name, link.lesson, n) && (e->d_name[n] == '-' || e->d_name[n] == '.')) ||
                    (dash && !strncmp(dash + 1, link.lesson, n) && dash[1 + n] == '.')) {
                    snprintf(path, sizeof path, "/lessons/%s", e->d_name);
                    break;
                }
            }
            if (d) closedir(d);
        }
        if (gs_lesson(path, link.lesson_step) && !bad) bad = 1, snprintf(err.msg, sizeof err.msg, "%s", W.v.ui.message);
    } else {
        app_start(W.app);
    }
    for (int i = 0; i < link.n; i++) app_command(W.app, link.cmds[i]);
    if (bad) viz_message(&W.v, 1, "%s", err.msg);
    viz_link_free(&link);
    W.dirty = 1;
    return 0;
}

EMSCRIPTEN_KEEPALIVE int gs_key(const char *name, int shift, int ctrl) { return W.dirty |= app_key(W.app, name, shift, ctrl); }
EMSCRIPTEN_KEEPALIVE int gs_text(const char *utf8) { return W.dirty |= app_text(W.app, utf8); }
EMSCRIPTEN_KEEPALIVE int gs_motion(double x, double y) { return W.dirty |= app_motion(W.app, x, y); }
EMSCRIPTEN_KEEPALIVE int gs_button(double x, double y, int right, int shift) { return W.dirty |= app_button(W.app, x, y, right, shift); }
EMSCRIPTEN_KEEPALIVE int gs_wheel(double x, double y, int dy, int ctrl) { return W.dirty |= app_wheel(W.app, x, y, dy, ctrl); }
EMSCRIPTEN_KEEPALIVE int gs_command(const char *cmd) { return W.dirty |= app_command(W.app, cmd); }
EMSCRIPTEN_KEEPALIVE int gs_busy(void) { return app_busy(W.app); }
EMSCRIPTEN_KEEPALIVE int gs_editing(void) { return app_editing(W.app); }
EMSCRIPTEN_KEEPALIVE int gs_job_pending(void) { return app_job_pending(W.app); }
EMSCRIPTEN_KEEPALIVE int gs_quit_requested(void) {
    int q = W.v.ui.quit;
    W.v.ui.quit = 0; /* a page is closed by closing its tab */
    return q;
}

EMSCRIPTEN_KEEPALIVE void gs_job_run(void) {
    if (!app_job_pending(W.app)) return;
    app_job_run(W.app);
    app_poll(W.app);
    /* the queue may have started the next job: the glue sees gs_job_pending and comes back */
    W.dirty = 1;
}

EMSCRIPTEN_KEEPALIVE void gs_resize(int w, int h) {
    if (w < 320) w = 320;
    if (h < 240) h = 240;
    if (w > 8192) w = 8192;
    if (h > 8192) h = 8192;
    if (w != W.w || h != W.h) W.w = w, W.h = h, W.dirty = 1;
}

EMSCRIPTEN_KEEPALIVE void gs_redraw(void) { W.dirty = 1; } /* the next gs_frame draws (make bench times it) */
EMSCRIPTEN_KEEPALIVE int gs_width(void) { return W.w; }
EMSCRIPTEN_KEEPALIVE int gs_height(void) { return W.h; }

/* Draws the frame when something changed (or a job is waiting: the last frame with its progress line)
 * and returns the RGBA pixels, W x H; NULL when nothing changed. */
EMSCRIPTEN_KEEPALIVE unsigned char *gs_frame(void) {
    int busy = app_busy(W.app);
    static int frame_w, frame_h;
    if (!W.dirty && !busy) return NULL;
    size_t n = (size_t)W.w * W.h * 4;
    if (!W.argb || frame_w != W.w || frame_h != W.h) {
        free(W.argb), free(W.rgba);
        W.argb = calloc(1, n), W.rgba = malloc(n);
        frame_w = W.w, frame_h = W.h;
        if (!W.argb || !W.rgba) return NULL;
        for (size_t i = 0; i < n; i += 4) W.argb[i] = 245, W.argb[i + 1] = 247, W.argb[i + 2] = 247, W.argb[i + 3] = 255;
    }
    if (!busy) {
        app_draw(W.app, W.argb, W.w, W.h, W.w * 4, 0);
        W.dirty = 0;
        json_update();
    }
    /* cairo's ARGB32 is one 32-bit word a pixel, 0xAARRGGBB (premultiplied; the frame is opaque); the
     * canvas wants bytes R, G, B, A: little-endian, the word 0xAABBGGRR */
    const uint32_t *s = (const uint32_t *)W.argb;
    uint32_t *d = (uint32_t *)W.rgba;
    size_t np = (size_t)W.w * W.h;
    for (size_t i = 0; i < np; i++) {
        uint32_t p = s[i];
        d[i] = 0xFF000000u | (p & 0x0000FF00u) | (p >> 16 & 0xFFu) | (p & 0xFFu) << 16;
    }
    if (busy) { /* the progress line over the last frame, drawn on the copy (cairo's order, then back) */
        unsigned ms = (unsigned)(emscripten_get_now() - W.job_t0);
        memcpy(d, s, n);
        app_draw_progress(W.app, W.rgba, W.w, W.h, W.w * 4, ms);
        for (size_t i = 0; i < np; i++) {
            uint32_t p = d[i];
            d[i] = 0xFF000000u | (p & 0x0000FF00u) | (p >> 16 & 0xFFu) | (p & 0xFFu) << 16;
        }
        json_update();
    }
    return W.rgba;
}

/* What the screen shows, as JSON (viz_state_json), as of the last frame. */
EMSCRIPTEN_KEEPALIVE const char *gs_state(void) {
    if (!W.json) json_update();
    return W.json;
}

/* The current state as a link's fragment. */
EMSCRIPTEN_KEEPALIVE const char *gs_link(void) {
    static char buf[8192];
    viz_link_make(&W.v, buf, sizeof buf);
    return buf;
}

/* A message in the frame (the glue's own errors: a file it could not read, a bad drop). */
EMSCRIPTEN_KEEPALIVE void gs_message(const char *s, int is_error) {
    viz_message(&W.v, is_error, "%s", s);
    W.dirty = 1;
}

int main(void) { return 0; }
