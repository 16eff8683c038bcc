/* app_sdl.c - the SDL2 window around the viewer (app.h): SDL events in, named keys and pixel
 * coordinates to the core, jobs on a worker thread, the frame drawn by cairo into the window's
 * memory. No GPU or GL driver is needed, under Xvfb or on a projector laptop. */
#define _GNU_SOURCE
#include <SDL.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"

typedef struct {
    App *app;
    SDL_Window *win;
    SDL_Surface *canvas; /* ARGB8888: the last frame drawn, blitted to the window's surface */
    int tw, th;
    SDL_Thread *worker;
    Uint32 job_start;
    const char *state_path; /* GPTSTEP_STATE: write viz_state_json there after each frame */
    AppHooks hooks;
    SDL_Window *console;    /* the lecturer's console (a lesson's), or NULL */
} Sdl;

static int worker_main(void *data) {
    app_job_run(data);
    return 0;
}

static void sdl_start_job(void *ctx, App *a) {
    Sdl *s = ctx;
    s->job_start = SDL_GetTicks();
    s->worker = SDL_CreateThread(worker_main, "gptstep-worker", a);
    if (!s->worker) app_job_run(a); /* no thread: run it here */
}

static void sdl_fullscreen(void *ctx, int on) {
    Sdl *s = ctx;
    SDL_SetWindowFullscreen(s->win, on ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
}

static void sdl_text_input(void *ctx, int on) {
    (void)ctx;
    if (on) SDL_StartTextInput();
    else SDL_StopTextInput();
}

static void sdl_clip_set(void *ctx, const char *s) {
    (void)ctx;
    SDL_SetClipboardText(s);
}

static char *sdl_clip_get(void *ctx) {
    (void)ctx;
    char *s = SDL_GetClipboardText();
    char *r = s && *s ? xstrdup(s) : NULL;
    SDL_free(s);
    return r;
}

/* SDL's key to the core's name ("" when none). */
static const char *key_name(SDL_Keycode k, int shift, char *buf) {
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
    case SDLK_DELETE: return "Delete";
    case SDLK_TAB: return "Tab";
    case SDLK_RETURN:
    case SDLK_KP_ENTER: return "Return";
    case SDLK_F1: return "F1";
    case SDLK_F11: return "F11";
    case SDLK_KP_PLUS: return "+";
    case SDLK_KP_MINUS: return "-";
    case SDLK_SLASH: return shift ? "?" : "/";
    case SDLK_SEMICOLON: return shift ? ":" : ";";
    case SDLK_EQUALS: return shift ? "+" : "=";
    default:
        if (k > 0 && k < 128) {
            buf[0] = (char)k;
            buf[1] = 0;
            return buf;
        }
        return "";
    }
}

static void draw_frame(Sdl *s) {
    SDL_Surface *screen = SDL_GetWindowSurface(s->win);
    if (!screen) return;
    int w = screen->w, h = screen->h;
    if (!s->canvas || w != s->tw || h != s->th) {
        if (s->canvas) SDL_FreeSurface(s->canvas);
        s->canvas = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
        s->tw = w, s->th = h;
        if (s->canvas) SDL_FillRect(s->canvas, NULL, SDL_MapRGB(s->canvas->format, 247, 247, 245));
    }
    if (!s->canvas) return;
    /* cairo's ARGB32 is SDL's ARGB8888 on little-endian machines: cairo draws straight into it */
    app_draw(s->app, s->canvas->pixels, w, h, s->canvas->pitch, 0);
    SDL_BlitSurface(s->canvas, NULL, screen, NULL);
    Uint32 ms = SDL_GetTicks() - s->job_start;
    if (app_busy(s->app) && ms > 150 && screen->format->BytesPerPixel == 4 && SDL_LockSurface(screen) == 0) {
        app_draw_progress(s->app, screen->pixels, w, h, screen->pitch, ms);
        SDL_UnlockSurface(screen);
    }
    SDL_UpdateWindowSurface(s->win);
    if (s->state_path && !app_busy(s->app)) { /* what the window shows, as data (GPTSTEP_STATE) */
        char *json = viz_state_json(app_state(s->app)), tmp[4200];
        snprintf(tmp, sizeof tmp, "%.4000s.tmp", s->state_path);
        FILE *f = json ? fopen(tmp, "w") : NULL;
        if (f) {
            fputs(json, f);
            if (fclose(f) == 0) rename(tmp, s->state_path);
        }
        free(json);
    }
}

/* The lecturer's console: a second window, on the second display when there is one (the first is the
 * room's), drawn by the lesson's hook. */
static void console_toggle(Sdl *s, VizState *v) {
    if (s->console) {
        SDL_DestroyWindow(s->console);
        s->console = NULL;
        return;
    }
    if (!s->hooks.console) {
        viz_message(v, 1, "the console is a lesson's: gptstep lesson FILE --console (or O while it plays)");
        return;
    }
    int d = SDL_GetNumVideoDisplays() > 1 ? 1 : 0, mw, mh;
    SDL_Rect b;
    SDL_GetWindowSize(s->win, &mw, &mh);
    if (SDL_GetDisplayBounds(d, &b) != 0) b = (SDL_Rect){0, 0, 1280, 720};
    int w = d ? b.w * 3 / 4 : 900, h = d ? b.h * 3 / 4 : 600;
    s->console = SDL_CreateWindow("gptstep console", d ? SDL_WINDOWPOS_CENTERED_DISPLAY(d) : SDL_WINDOWPOS_UNDEFINED,
                                  d ? SDL_WINDOWPOS_CENTERED_DISPLAY(d) : SDL_WINDOWPOS_UNDEFINED, w, h, SDL_WINDOW_RESIZABLE);
    if (!s->console) viz_message(v, 1, "cannot open the console: %s", SDL_GetError());
}

static void draw_console(Sdl *s) {
    if (!s->console) return;
    SDL_Surface *screen = SDL_GetWindowSurface(s->console);
    if (!screen || screen->format->BytesPerPixel != 4 || SDL_LockSurface(screen) != 0) return;
    cairo_surface_t *cs = cairo_image_surface_create_for_data(screen->pixels, CAIRO_FORMAT_ARGB32, screen->w, screen->h, screen->pitch);
    cairo_t *cr = cairo_create(cs);
    s->hooks.console(s->hooks.ctx, cr, screen->w, screen->h);
    cairo_destroy(cr);
    cairo_surface_destroy(cs);
    SDL_UnlockSurface(screen);
    SDL_UpdateWindowSurface(s->console);
}

/* Pixel coordinates: the drawing is at renderer resolution, mouse events are in window points. */
static void to_pixels(Sdl *s, int x, int y, double *px, double *py) {
    int ww, wh;
    SDL_GetWindowSize(s->win, &ww, &wh);
    *px = x * (double)s->tw / (ww ? ww : 1);
    *py = y * (double)s->th / (wh ? wh : 1);
}

/* The window's first size, at 16:9: 1600x900, less to fit a small display, more on a large one (up to
 * 80% of it: 3072x1728 on a 4K screen). */
static void window_size(int *w, int *h) {
    SDL_Rect b;
    *w = 1600, *h = 900;
    if (SDL_GetDisplayUsableBounds(0, &b) == 0 && b.w > 0 && b.h > 0) {
        double sc = fmin(0.92 * b.w / 1600.0, 0.88 * b.h / 900.0);
        if (sc < 1) *w = (int)(1600 * sc), *h = (int)(900 * sc);
        double big = fmin(0.8 * b.w / 1600.0, 0.8 * b.h / 900.0);
        if (big > 1) *w = (int)(1600 * big), *h = (int)(900 * big);
    }
    if (*w < 640) *w = 640;
    if (*h < 360) *h = 360;
}

/* SDL falls back to drivers that show nothing ("offscreen", "dummy") when it cannot reach a display:
 * a window nobody sees, waiting for keys nobody can press. Refused unless SDL_VIDEODRIVER names them. */
static int no_display(void) {
    const char *d = SDL_GetCurrentVideoDriver(), *asked = getenv("SDL_VIDEODRIVER");
    if (!d) return 1;
    if (strcmp(d, "offscreen") && strcmp(d, "dummy") && strcmp(d, "evdev")) return 0;
    return !(asked && strstr(asked, d));
}

int app_main(VizState *v, const char *title, AppHooks hooks) {
    SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0"); /* the window surface is plain memory */
    const char *disp = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY"), *asked = getenv("SDL_VIDEODRIVER");
    int x11 = disp && *disp, wayland = wl && *wl;
    /* only the window system that is named is tried (another one would print its own complaint) */
    if (!(asked && *asked) && x11 != wayland) SDL_SetHint(SDL_HINT_VIDEODRIVER, x11 ? "x11" : "wayland");
    if ((!x11 && !wayland && !(asked && *asked)) || SDL_Init(SDL_INIT_VIDEO) != 0 || no_display()) {
        fprintf(stderr, "gptstep: no display to open a window on (%s%s%s); 'gptstep render' draws to PNG/PDF without one, "
                        "'gptstep lesson FILE --pdf OUT.pdf' writes a lesson's handout\n",
                x11 ? "DISPLAY=" : wayland ? "WAYLAND_DISPLAY=" : "DISPLAY is not set", x11 ? disp : wayland ? wl : "",
                x11 || wayland ? " cannot be reached" : "");
        SDL_Quit();
        return 1;
    }
    Sdl s = {0};
    s.hooks = hooks;
    s.state_path = getenv("GPTSTEP_STATE");
    if (s.state_path && !*s.state_path) s.state_path = NULL;
    s.app = app_new(v, hooks, (AppFront){&s, sdl_start_job, sdl_fullscreen, sdl_text_input, sdl_clip_set, sdl_clip_get});
    int w, h;
    window_size(&w, &h);
    s.win = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                             SDL_WINDOW_RESIZABLE | (v->view.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0));
    if (!s.win) {
        fprintf(stderr, "gptstep: cannot open a window: %s\n", SDL_GetError());
        app_free(s.app);
        SDL_Quit();
        return 1;
    }
    SDL_SetWindowMinimumSize(s.win, 640, 360);
    SDL_StopTextInput();
    App *a = s.app;
    app_start(a);
    if (hooks.console && hooks.open_console) console_toggle(&s, v);
    int dirty = 1;
    Uint32 console_drawn = 0;
    while (!v->ui.quit || app_busy(a)) { /* closed during a job: the job stops, then the window closes */
        if (v->ui.quit) app_stop(a);
        SDL_Event e;
        int got = SDL_WaitEventTimeout(&e, app_busy(a) ? 40 : 250);
        if (app_busy(a) && !app_job_pending(a)) {
            if (s.worker) SDL_WaitThread(s.worker, NULL);
            s.worker = NULL;
            dirty |= app_poll(a);
        }
        while (got) {
            double x, y;
            switch (e.type) {
            case SDL_QUIT: v->ui.quit = 1; break;
            case SDL_WINDOWEVENT:
                if (e.window.event == SDL_WINDOWEVENT_CLOSE) { /* two windows: a close is not SDL_QUIT */
                    if (s.console && e.window.windowID == SDL_GetWindowID(s.console)) console_toggle(&s, v);
                    else v->ui.quit = 1;
                }
                dirty = 1;
                break;
            case SDL_KEYDOWN: {
                char buf[4];
                int shift = (e.key.keysym.mod & KMOD_SHIFT) != 0, ctrl = (e.key.keysym.mod & KMOD_CTRL) != 0;
                app_key(a, key_name(e.key.keysym.sym, shift, buf), shift, ctrl);
                dirty = 1;
                break;
            }
            case SDL_TEXTINPUT: dirty |= app_text(a, e.text.text); break;
            case SDL_MOUSEMOTION:
                to_pixels(&s, e.motion.x, e.motion.y, &x, &y);
                dirty |= app_motion(a, x, y);
                break;
            case SDL_MOUSEWHEEL: {
                int mx, my;
                SDL_GetMouseState(&mx, &my);
                to_pixels(&s, mx, my, &x, &y);
                dirty |= app_wheel(a, x, y, e.wheel.y, (SDL_GetModState() & KMOD_CTRL) != 0);
                break;
            }
            case SDL_MOUSEBUTTONDOWN:
                to_pixels(&s, e.button.x, e.button.y, &x, &y);
                if (e.button.button == SDL_BUTTON_RIGHT || e.button.button == SDL_BUTTON_LEFT)
                    dirty |= app_button(a, x, y, e.button.button == SDL_BUTTON_RIGHT, (SDL_GetModState() & KMOD_SHIFT) != 0);
                break;
            default: break;
            }
            got = SDL_PollEvent(&e);
        }
        if (v->ui.console_request) {
            v->ui.console_request = 0;
            console_toggle(&s, v);
            dirty = 1;
        }
        int drew = dirty || app_busy(a);
        if (drew) {
            draw_frame(&s);
            dirty = 0;
        }
        if (s.console && (drew || SDL_GetTicks() - console_drawn > 1000)) { /* the clock ticks every second */
            draw_console(&s);
            console_drawn = SDL_GetTicks();
        }
    }
    if (s.worker) SDL_WaitThread(s.worker, NULL);
    if (s.console) SDL_DestroyWindow(s.console);
    if (s.canvas) SDL_FreeSurface(s.canvas);
    app_free(a);
    SDL_DestroyWindow(s.win);
    SDL_Quit();
    return 0;
}

/* ---- gptstep view ---- */

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
    const char *ablate[GPT2_MAX_ABLATIONS], *ablate_mode = NULL;
    int n_ablate = 0;
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    int c, rc = 0;
    long n = 0;
    Err err;
    char line[64];
    while ((c = getopt_long(argc, argv, "+:m:n:h", opts, NULL)) != -1) {
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
        case 'A': /* as generate: at most 64, each switched on once however often it is named */
            rc = cli_collect("view", "--ablate", "ablations", ablate, &n_ablate, GPT2_MAX_ABLATIONS, optarg);
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
        default: rc = cli_bad_option("view", c, argv); break;
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
                if (viz_ablation_named_before(v, ablate, i)) continue; /* ablate toggles: once each */
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
