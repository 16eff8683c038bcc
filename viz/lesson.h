/* lesson.h - guided lessons: a plain-text script (docs/lessons.md) parsed into steps that drive the
 * viewer through the same commands a person's keys send; played in the window with a clicker, or
 * exported headless as one PDF page (or PNG) per step. */
#ifndef GPTSTEP_LESSON_H
#define GPTSTEP_LESSON_H

#include "app.h"
#include "viz.h"

typedef enum { LI_COMMAND, LI_CAPTION, LI_HEADING, LI_PAUSE, LI_ASK, LI_ANSWER, LI_EXPECT, LI_NOTE } LessonItemKind;

typedef struct {
    LessonItemKind kind;
    int line, col;    /* where it is in the file (1-based), for error messages */
    int arg_col;      /* column of the argument, for errors about it */
    char *text;       /* the viewer command, or the caption / heading / question / answer text, or the
                       * expectation ("chosen_rank <= 5") */
    char cond[64];    /* ">[NAME] text", "expect[NAME] ...": only on models whose name starts with NAME */
} LessonItem;

typedef struct {
    char *path;
    char title[256];
    char model[512];     /* the first available of "model A or B" ("" = the default model) */
    char models[512];    /* what the script asked for, as written */
    LessonItem *items;   /* setup items come first, then the steps' items */
    int n_items;
    int *step_end;       /* step k shows items [0, step_end[k]) */
    int n_steps;
    /* the step lesson_show showed last and the state it left (-1: none), so that the next step can be
     * one step's work when nothing else changed the viewer since */
    int shown;
    VizView shown_view;
    long shown_epoch;
    int shown_run_step, shown_branch;
    SamplerSettings shown_sampler;
} Lesson;

/* Parses FILE. On a syntax error returns -1 with err = "FILE:LINE:COL: what was expected". */
int lesson_load(Lesson *l, const char *path, Err *err);
void lesson_free(Lesson *l);

/* Rebuilds the viewer's state for step k from scratch (exactly, so going back is exact). Loads the
 * lesson's model into v the first time. On a runtime error returns -1 with err = "FILE:LINE:COL: ...";
 * v then shows the state up to the failing line. */
int lesson_show(Lesson *l, VizState *v, int k, Err *err);

/* The value of a model fact or a number of the screen ("n_embd", "chosen_rank", "weight 17 3"...;
 * docs/lessons.md lists them): its text as a caption shows it, and its number. Returns -1 with err
 * when the fact is unknown or cannot be had. */
int lesson_fact(VizState *v, const char *expr, char *text, size_t cap, double *num, Err *err);
/* Whether expr names a fact with the right number of arguments (-1 with err when not), and whether NAME
 * is a fact (the docs' check). The facts are in facts.c. */
int lesson_fact_check(const char *expr, Err *err);
int lesson_fact_known(const char *name);

/* The speaker's notes of step k ('note' lines: never on the slide or in a student's handout), the answer
 * the step's question expects ("" when none), and the next step's heading ("" after the last). */
void lesson_notes(const Lesson *l, int k, char *buf, size_t cap);
void lesson_expected_answer(const Lesson *l, int k, char *buf, size_t cap);
void lesson_heading(const Lesson *l, int k, char *buf, size_t cap);
/* The lecturer's console for step k: the step and its heading, the clock (seconds since the lecture
 * began), the notes, the expected answer, and what comes next - drawn into W x H. */
void lesson_console_draw(const Lesson *l, int k, cairo_t *cr, double W, double H, double elapsed);
/* --notes: every step as a page for the lecturer - the slide above, its notes, expected answer and what
 * comes next below. */
int lesson_export_notes(Lesson *l, VizState *v, const char *pdf, const char *paper, Err *err);

/* Writes every step as one vector PDF page (pdf != NULL) and/or one PNG each into png_dir. paper: "a4"
 * or "letter" for a handout (portrait or landscape), NULL for 1600x900 slides. */
int lesson_export(Lesson *l, VizState *v, const char *pdf, const char *png_dir, const char *paper, int portrait, Err *err);

/* Playing a lesson in a window or a page (app.h): keys step through it (Right/Space/PageDown, Left/
 * PageUp/Backspace, Home, End; Esc leaves it), and each step is shown by the work hook, as a job. */
typedef struct {
    Lesson *l;
    int k;          /* the step shown (or to show) */
    int active;     /* 0 after Esc: free exploring */
    double started; /* when the lecture began (now_seconds), for the console's clock */
} LessonPlayer;
AppHooks lesson_player_hooks(LessonPlayer *p);
int lesson_player_key(void *ctx, VizState *v, const char *key, int shift);
int lesson_player_work(void *ctx, VizState *v, Err *err);

/* Writes the browser page (make web's build/web/gptstep.html, or GPTSTEP_WEB_PAGE) with the lesson's
 * file inside, so that it opens on the lesson. */
int lesson_html(const Lesson *l, const char *lesson_path, const char *out, Err *err);

int viz_lesson_main(int argc, char **argv);

#endif
