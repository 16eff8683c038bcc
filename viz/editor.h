/* editor.h - a one-line text editor (the window's prompt and command input) on stb_textedit.h: a
 * cursor, selection (Shift+arrows, Shift+Home/End, Ctrl+A), word moves, clear, undo/redo, cut, copy and
 * paste, over Unicode characters (text comes and goes as UTF-8), any length. No SDL or cairo here:
 * the window maps its keys to EditorKey and draws editor_layout's result. */
#ifndef GPTSTEP_EDITOR_H
#define GPTSTEP_EDITOR_H

typedef struct Editor Editor;

typedef enum {
    EK_LEFT, EK_RIGHT, EK_HOME, EK_END, EK_WORDLEFT, EK_WORDRIGHT, EK_BACKSPACE, EK_DELETE, EK_UNDO, EK_REDO,
    EK_SELECT_ALL, EK_CLEAR,
} EditorKey;

Editor *editor_new(void);
void editor_free(Editor *e);
/* Replaces the text; select_all selects it (typing then replaces it). */
void editor_set(Editor *e, const char *utf8, int select_all);
/* A key, with Shift extending the selection. */
void editor_key(Editor *e, EditorKey k, int shift);
/* Typed or pasted UTF-8 text, replacing the selection. */
void editor_insert(Editor *e, const char *utf8);
/* The text (malloc'd UTF-8), and the selection as a malloc'd UTF-8 copy (NULL when none); cut
 * deletes it. */
char *editor_text(const Editor *e);
char *editor_selection(const Editor *e, int cut);
/* The text split for drawing: before the selection, the selection, after it (malloc'd UTF-8 each),
 * and the cursor's character index and the text's length in characters. */
void editor_parts(const Editor *e, char **before, char **sel, char **after, int *cursor, int *len);

#endif
