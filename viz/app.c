/* app.c - `gptstep view`: the SDL2 window. Each frame: events -> commands -> viz_draw into a cairo image
 * surface -> upload to an SDL texture -> present. Loading a model and running a prompt happen on a
 * worker thread, so the window keeps answering (and shows progress) while they run. */
#define _GNU_SOURCE
#include <SDL.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "viz.h"

struct App {
    VizState *v;
    SDL_Window *win;
    SDL_Surface *canvas;      /* ARGB8888, what cairo draws into; blitted to the window's surface */
    int tw, th;               /* canvas size in pixels */
    SDL_Thread *worker;
    SDL_atomic_t working;     /* 1 while the worker owns v */
    char job[4200];           /* the command the worker runs ("" = load and run the prompt) */
    Err job_err;
    int job_rc;
    int input;                /* 0: none, 1: typing a prompt, 2: typing a command */
    char text[4096];
    AppHooks hooks;
    int quit;
};

static int worker_main(void *data) {
    App *a = data;
    if (a->job[0]) a->job_rc = viz_command(a->v, a->job, &a->job_err);
    else a->job_rc = viz_load_and_run(a->v, &a->job_err);
    SDL_AtomicSet(&a->working, 0);
    return 0;
}

/* Runs a (possibly slow) command on the worker thread. */
static void start_job(App *a, const char *cmd, const char *what) {
    snprintf(a->job, sizeof a->job, "%s", cmd);
    snprintf(a->v->busy_what, sizeof a->v->busy_what, "%s", what);
    a->v->busy = 1;
    a->v->message[0] = 0;
    SDL_AtomicSet(&a->working, 1);
    a->worker = SDL_CreateThread(worker_main, "gptstep-worker", a);
    if (!a->worker) { /* no thread: run it here */
        worker_main(a);
    }
}

static void finish_job(App *a) {
    if (a->worker) SDL_WaitThread(a->worker, NULL);
    a->worker = NULL;
    a->v->busy = 0;
    if (a->job_rc) {
        snprintf(a->v->message, sizeof a->v->message, "%s", a->job_err.msg);
        a->v->message_is_error = 1;
    }
    if (a->hooks.after_job) a->hooks.after_job(a->hooks.ctx, a->v, a->job_rc);
}

/* Commands that can take seconds on a large model go to the worker. */
static int is_slow(const char *cmd) {
    return !strncmp(cmd, "prompt", 6) || !strncmp(cmd, "model", 5) || !strncmp(cmd, "seed", 4) ||
           !strncmp(cmd, "unconditional", 13);
}

void app_run_command(App *a, const char *cmd) {
    if (is_slow(cmd)) {
        start_job(a, cmd, "working\xE2\x80\xA6");
        return;
    }
    Err err;
    if (viz_command(a->v, cmd, &err)) {
        snprintf(a->v->message, sizeof a->v->message, "%s", err.msg);
        a->v->message_is_error = 1;
    } else if (!a->v->message_is_error || strncmp(cmd, "export", 6)) {
        if (strncmp(cmd, "export", 6)) a->v->message[0] = 0;
    }
}

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
    case SDLK_F1: return "F1";
    case SDLK_F11: return "F11";
    default:
        if (k > 0 && k < 128) {
            buf[0] = (char)k;
            buf[1] = 0;
            return buf;
        }
        return "";
    }
}

static void draw_frame(App *a) {
    SDL_Surface *screen = SDL_GetWindowSurface(a->win);
    if (!screen) return;
    int w = screen->w, h = screen->h;
    if (!a->canvas || w != a->tw || h != a->th) {
        if (a->canvas) SDL_FreeSurface(a->canvas);
        a->canvas = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
        a->tw = w, a->th = h;
    }
    if (!a->canvas) return;
    /* cairo's ARGB32 is SDL's ARGB8888 on little-endian machines: cairo draws straight into it. Plain
     * software drawing: no GPU or GL driver is needed, under Xvfb or on a projector laptop. */
    cairo_surface_t *s = cairo_image_surface_create_for_data(a->canvas->pixels, CAIRO_FORMAT_ARGB32, w, h, a->canvas->pitch);
    cairo_t *cr = cairo_create(s);
    if (a->v->busy) { /* the worker owns the model: draw nothing that reads it */
        cairo_set_source_rgb(cr, 0.97, 0.97, 0.96);
        cairo_paint(cr);
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, h / 40.0);
        char line[400];
        static const char *spin[] = {"\xE2\xA0\x8B", "\xE2\xA0\x99", "\xE2\xA0\xB9", "\xE2\xA0\xB8", "\xE2\xA0\xBC", "\xE2\xA0\xB4", "\xE2\xA0\xA6", "\xE2\xA0\xA7"};
        int pct = a->v->load_percent;
        if (pct >= 0 && pct < 100) snprintf(line, sizeof line, "%s loading the model: %d%%", spin[(SDL_GetTicks() / 120) % 8], pct);
        else snprintf(line, sizeof line, "%s %s", spin[(SDL_GetTicks() / 120) % 8], a->v->busy_what);
        cairo_text_extents_t e;
        cairo_text_extents(cr, line, &e);
        cairo_set_source_rgb(cr, 0.10, 0.40, 0.85);
        cairo_move_to(cr, (w - e.x_advance) / 2, h / 2.0);
        cairo_show_text(cr, line);
    } else {
        viz_draw(a->v, cr, w, h);
        if (a->hooks.overlay) a->hooks.overlay(a->hooks.ctx, a->v, cr, w, h);
        if (a->input) { /* the text input bar */
            double u = h / 50.0;
            cairo_set_source_rgb(cr, 0.12, 0.12, 0.14);
            cairo_rectangle(cr, 0, h - u * 2.6, w, u * 2.6);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_select_font_face(cr, "DejaVu Sans Mono", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
            cairo_set_font_size(cr, u);
            char line[4200];
            snprintf(line, sizeof line, "%s %s\xE2\x96\x8F   (Enter: run, Esc: cancel)", a->input == 1 ? "prompt:" : ":", a->text);
            cairo_move_to(cr, u, h - u * 0.9);
            cairo_show_text(cr, line);
        }
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    SDL_BlitSurface(a->canvas, NULL, screen, NULL);
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
    v->mouse_x = x, v->mouse_y = y;
    v->hover = -1;
    for (int i = v->n_hits - 1; i >= 0; i--) {
        const Hit *h = &v->hits[i];
        if (x >= h->r.x && y >= h->r.y && x < h->r.x + h->r.w && y < h->r.y + h->r.h) {
            v->hover = i;
            break;
        }
    }
}

static void handle_key(App *a, const SDL_KeyboardEvent *e) {
    VizState *v = a->v;
    SDL_Keycode k = e->keysym.sym;
    int shift = (e->keysym.mod & KMOD_SHIFT) != 0, ctrl = (e->keysym.mod & KMOD_CTRL) != 0;
    if (a->input) {
        if (k == SDLK_ESCAPE) {
            a->input = 0;
            SDL_StopTextInput();
        } else if (k == SDLK_BACKSPACE) {
            size_t n = strlen(a->text);
            while (n > 0 && ((unsigned char)a->text[n - 1] & 0xC0) == 0x80) n--; /* a whole UTF-8 character */
            if (n > 0) n--;
            a->text[n] = 0;
        } else if (k == SDLK_RETURN || k == SDLK_KP_ENTER) {
            char cmd[4200];
            if (a->input == 1) snprintf(cmd, sizeof cmd, "prompt %s", a->text);
            else snprintf(cmd, sizeof cmd, "%s", a->text);
            a->input = 0;
            SDL_StopTextInput();
            app_run_command(a, cmd);
        }
        return;
    }
    if (a->hooks.key && a->hooks.key(a->hooks.ctx, v, k == SDLK_ESCAPE ? "Escape" : "", shift)) return;
    if ((k == SDLK_q && !shift) || (k == SDLK_w && ctrl)) {
        a->quit = 1;
        return;
    }
    if (k == SDLK_RETURN || k == SDLK_KP_ENTER) {
        a->input = 1;
        snprintf(a->text, sizeof a->text, "%s", v->prompt);
        SDL_StartTextInput();
        return;
    }
    if ((k == SDLK_SEMICOLON && shift) || k == SDLK_COLON) {
        a->input = 2;
        a->text[0] = 0;
        SDL_StartTextInput();
        return;
    }
    if (k == SDLK_SLASH && shift) k = '?';
    char buf[4];
    const char *name = key_name(k, buf);
    if (a->hooks.key && a->hooks.key(a->hooks.ctx, v, name, shift)) return;
    if (!*name) return;
    Err err;
    int fs = v->fullscreen;
    if (viz_key(v, name, shift, ctrl, &err)) {
        snprintf(v->message, sizeof v->message, "%s", err.msg);
        v->message_is_error = 1;
    } else if (strcmp(name, "e") && strcmp(name, "E")) {
        v->message[0] = 0;
    }
    if (fs != v->fullscreen) SDL_SetWindowFullscreen(a->win, v->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
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
    a->win = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, 1600, 900,
                              SDL_WINDOW_RESIZABLE |
                                  (v->fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0));
    if (!a->win) {
        fprintf(stderr, "gptstep: cannot open a window: %s\n", SDL_GetError());
        free(a);
        SDL_Quit();
        return 1;
    }
    SDL_SetWindowMinimumSize(a->win, 640, 400);
    SDL_StopTextInput();
    if (!v->loaded) start_job(a, "", "loading the model and running the prompt\xE2\x80\xA6");
    int dirty = 1;
    while (!a->quit) {
        SDL_Event e;
        int got = SDL_WaitEventTimeout(&e, a->v->busy ? 60 : 250);
        if (a->v->busy && !SDL_AtomicGet(&a->working)) {
            finish_job(a);
            dirty = 1;
        }
        while (got) {
            switch (e.type) {
            case SDL_QUIT: a->quit = 1; break;
            case SDL_WINDOWEVENT: dirty = 1; break;
            case SDL_KEYDOWN:
                if (!a->v->busy) handle_key(a, &e.key);
                else if (e.key.keysym.sym == SDLK_q) a->quit = 1;
                dirty = 1;
                break;
            case SDL_TEXTINPUT:
                if (a->input && strlen(a->text) + strlen(e.text.text) < sizeof a->text - 1) strcat(a->text, e.text.text);
                dirty = 1;
                break;
            case SDL_MOUSEMOTION:
                if (!a->v->busy) {
                    double x, y;
                    to_pixels(a, e.motion.x, e.motion.y, &x, &y);
                    int before = v->hover;
                    update_hover(a, x, y);
                    dirty |= before != v->hover || (v->hover >= 0 && v->hits[v->hover].kind == HIT_VECTOR);
                }
                break;
            case SDL_MOUSEBUTTONDOWN:
                if (!a->v->busy && e.button.button == SDL_BUTTON_LEFT) {
                    double x, y;
                    to_pixels(a, e.button.x, e.button.y, &x, &y);
                    Err err;
                    if (viz_click(v, x, y, &err)) {
                        snprintf(v->message, sizeof v->message, "%s", err.msg);
                        v->message_is_error = 1;
                    }
                    dirty = 1;
                }
                break;
            default: break;
            }
            got = SDL_PollEvent(&e);
        }
        if (a->hooks.tick && !a->v->busy) dirty |= a->hooks.tick(a->hooks.ctx, v, a);
        if (dirty || a->v->busy) {
            draw_frame(a);
            dirty = 0;
        }
    }
    if (a->worker) SDL_WaitThread(a->worker, NULL);
    if (a->canvas) SDL_FreeSurface(a->canvas);
    SDL_DestroyWindow(a->win);
    SDL_Quit();
    free(a);
    return 0;
}

static const char *VIEW_HELP =
    "usage: gptstep view [--model MODEL] [--prompt TEXT | --unconditional] [-n N] [--seed S]\n"
    "                    [--fullscreen] [--large] [--colorblind]\n"
    "\n"
    "Opens the viewer: the prompt's tokens, attention heatmaps, the next-token distribution, the\n"
    "vectors inside a block and the forward pass's pipeline. Press ? in the window for every key.\n"
    "  --model MODEL      a model directory or a name under models/ (default: " GPT2_DEFAULT_MODEL ")\n"
    "  --prompt TEXT      the prompt (default: \"Once upon a time there was a\")\n"
    "  -n N               tokens to generate before showing (default 0)\n"
    "  --fullscreen, --large (presentation font), --colorblind (colour-blind-safe colours)\n";

int viz_view_main(int argc, char **argv) {
    static struct option opts[] = {{"model", required_argument, 0, 'm'}, {"prompt", required_argument, 0, 'P'},
                                   {"unconditional", no_argument, 0, 'u'}, {"seed", required_argument, 0, 's'},
                                   {"fullscreen", no_argument, 0, 'f'},   {"large", no_argument, 0, 'l'},
                                   {"colorblind", no_argument, 0, 'c'},   {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    int c, n = 0;
    while ((c = getopt_long(argc, argv, "+m:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': snprintf(v->model_arg, sizeof v->model_arg, "%s", optarg); break;
        case 'P': snprintf(v->prompt, sizeof v->prompt, "%s", optarg); break;
        case 'u': v->prompt[0] = 0; break;
        case 's': v->gen.sampler.seed = strtoull(optarg, NULL, 10); break;
        case 'f': v->fullscreen = 1; break;
        case 'l': v->large = 1; break;
        case 'c': v->colorblind = 1; break;
        case 'n': n = atoi(optarg); break;
        case 'h': fputs(VIEW_HELP, stdout); free(v); return 0;
        default: fprintf(stderr, "gptstep view: unknown option (see 'gptstep view --help')\n"); free(v); return 2;
        }
    }
    Err err;
    /* Resolve the model first so that a typo fails here, with the list of places looked in. */
    char *dir = gpt2_resolve_model(v->model_arg[0] ? v->model_arg : NULL, &err);
    if (!dir) {
        fprintf(stderr, "gptstep: %s\n", err.msg);
        free(v);
        return 1;
    }
    free(dir);
    AppHooks hooks = {0};
    if (n > 0) {
        /* generate before showing: load now (on this thread), the window opens on the result */
        if (viz_load_and_run(v, &err) == 0) {
            char cmd[32];
            snprintf(cmd, sizeof cmd, "generate %d", n);
            viz_command(v, cmd, &err);
        } else {
            snprintf(v->message, sizeof v->message, "%s", err.msg);
            v->message_is_error = 1;
        }
    }
    int rc = app_main(v, "gptstep", hooks);
    viz_free(v);
    free(v);
    return rc;
}
