/* lesson.h - guided lessons: a plain-text script (docs/lessons.md) parsed into steps that drive the
 * viewer through the same commands a person's keys send; played in the window with a clicker, or
 * exported headless as one PDF page (or PNG) per step. */
#ifndef GPTSTEP_LESSON_H
#define GPTSTEP_LESSON_H

#include "viz.h"

typedef enum { LI_COMMAND, LI_CAPTION, LI_HEADING, LI_PAUSE, LI_ASK, LI_ANSWER } LessonItemKind;

typedef struct {
    LessonItemKind kind;
    int line, col;    /* where it is in the file (1-based), for error messages */
    int arg_col;      /* column of the argument, for errors about it */
    char *text;       /* the viewer command, or the caption / heading / question / answer text */
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
} Lesson;

/* Parses FILE. On a syntax error returns -1 with err = "FILE:LINE:COL: what was expected". */
int lesson_load(Lesson *l, const char *path, Err *err);
void lesson_free(Lesson *l);

/* Rebuilds the viewer's state for step k from scratch (exactly, so going back is exact). Loads the
 * lesson's model into v the first time. On a runtime error returns -1 with err = "FILE:LINE:COL: ...";
 * v then shows the state up to the failing line. */
int lesson_show(Lesson *l, VizState *v, int k, Err *err);

/* Writes every step as one vector PDF page (pdf != NULL) and/or one PNG each into png_dir. */
int lesson_export(Lesson *l, VizState *v, const char *pdf, const char *png_dir, Err *err);

int viz_lesson_main(int argc, char **argv);

#endif
