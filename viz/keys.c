/* keys.c - the key table: which command each key sends, and the help overlay's and docs' lines made
 * from it. Keys only name commands (commands.c runs them), so this file depends on nothing else. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "viz.h"

typedef struct {
    const char *key;   /* SDL-independent name */
    int mods;          /* 0, or 1 shift, 2 ctrl (exact) ; -1 any */
    const char *command;
    const char *label; /* for help and docs: "Right, Space, PageDown" shows once per help text */
    const char *help;
} KeyBinding;

static const KeyBinding KEYS[] = {
    {"Right", -1, "next", "\xE2\x86\x92  Space  PageDown", "next token (generates one at the end)"},
    {"Space", -1, "next", 0, 0},
    {"PageDown", -1, "next", 0, 0},
    {"Left", -1, "prev", "\xE2\x86\x90  PageUp", "previous token"},
    {"PageUp", -1, "prev", 0, 0},
    {"Home", -1, "first", "Home / End", "first / last step"},
    {"End", -1, "last", 0, 0},
    {"Up", 0, "layer -", "\xE2\x86\x91 / \xE2\x86\x93", "previous / next layer"},
    {"Down", 0, "layer +", 0, 0},
    {"0", 0, "head 0", "0-9  ,  .", "head 0-9; previous / next head"},
    {"1", 0, "head 1", 0, 0}, {"2", 0, "head 2", 0, 0}, {"3", 0, "head 3", 0, 0}, {"4", 0, "head 4", 0, 0},
    {"5", 0, "head 5", 0, 0}, {"6", 0, "head 6", 0, 0}, {"7", 0, "head 7", 0, 0}, {"8", 0, "head 8", 0, 0},
    {"9", 0, "head 9", 0, 0},
    {",", 0, "head -", 0, 0},
    {".", 0, "head +", 0, 0},
    {"]", 0, "stage next", "] / [", "next / previous stage of the forward pass"},
    {"[", 0, "stage prev", 0, 0},
    {"a", 0, "attention next", "A", "heatmap: scores \xE2\x86\x92 masked \xE2\x86\x92 weights"},
    {"g", 0, "grid toggle", "G", "all heads at once (grid)"},
    {"Tab", 0, "view next", "Tab / Shift+Tab", "next / previous view, alone on the screen"},
    {"Tab", 1, "view prev", 0, 0},
    {"v", 0, "view all", "V", "all the views"},
    {"+", -1, "zoom in", "+ / \xE2\x88\x92  (Ctrl+wheel)", "heatmap: zoom in / out"},
    {"=", -1, "zoom in", 0, 0},
    {"-", -1, "zoom out", 0, 0},
    {"z", 0, "zoom fit", "Z", "heatmap: fit every position"},
    {"t", 0, "temperature down", "T / Shift+T", "temperature down / up"},
    {"t", 1, "temperature up", 0, 0},
    {"k", 0, "top-k down", "K / Shift+K", "top-k down / up (0 = off)"},
    {"k", 1, "top-k up", 0, 0},
    {"p", 0, "top-p down", "P / Shift+P", "top-p down / up"},
    {"p", 1, "top-p up", 0, 0},
    {"x", 0, "ablate head", "X / Shift+X / Ctrl+X", "knock out the head (again: back in) / all back in / zero \xE2\x86\x94 mean"},
    {"x", 1, "ablate clear", 0, 0},
    {"x", 2, "ablate-mode toggle", 0, 0},
    {"d", 0, "show-run next", "D", "show the ablated run / the clean run / the difference"},
    {"b", 0, "branch next", "B / Shift+B", "next / previous branch (after picking a candidate)"},
    {"b", 1, "branch prev", 0, 0},
    {"Return", -1, "edit prompt", "Enter", "edit the prompt"},
    {":", -1, "edit command", ":", "type a command (any of docs/viewer.md)"},
    {"e", 0, "export png", "E / Shift+E / Ctrl+E", "export the screen: PNG / PDF / SVG"},
    {"e", 1, "export pdf", 0, 0},
    {"e", 2, "export svg", 0, 0},
    {"l", 0, "presenter toggle", "L", "presenter mode (one view, large text)"},
    {"c", 0, "colorblind toggle", "C", "colour-blind-safe colours"},
    {"f", 0, "fullscreen toggle", "F / F11", "full screen"},
    {"F11", -1, "fullscreen toggle", 0, 0},
    {"?", -1, "help toggle", "? / F1", "this help"},
    {"F1", -1, "help toggle", 0, 0},
    {"Escape", -1, "escape", "Esc", "close help, the cell panel, a message"},
    {"h", 0, "heads next", "H", "head finder: heads by score (again: the next score)"},
    {"w", 0, "lines next", "W", "attention on the text (again: every head / one head)"},
    {"u", 0, "link", "U", "copy a link to this screen"},
    {"o", 0, "console", "O", "lesson: the lecturer's console in a second window"},
    {"q", 0, "quit", "Q", "quit"},
};
#define N_KEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

const char *viz_key_command(VizState *v, const char *key, int shift, int ctrl, char *buf, size_t cap) {
    (void)v;
    int mods = (shift ? 1 : 0) | (ctrl ? 2 : 0);
    for (int i = 0; i < N_KEYS; i++) {
        const KeyBinding *b = &KEYS[i];
        int same = strlen(key) == 1 && strlen(b->key) == 1 ? tolower((unsigned char)key[0]) == b->key[0] && (isalpha((unsigned char)key[0]) || key[0] == b->key[0])
                                                            : !strcmp(key, b->key);
        if (same && (b->mods < 0 || b->mods == mods)) {
            snprintf(buf, cap, "%s", b->command);
            return buf;
        }
    }
    buf[0] = 0;
    return buf;
}

/* What the mouse does: the help overlay's short form, and the docs' table. */
static const struct {
    const char *label, *help, *doc_label, *doc_help;
} MOUSE[] = {
    {"click a token", "select it as the query", "click a token", "select it as the query"},
    {"click a heatmap cell", "how its weight is computed", "click a heatmap cell", "how its score and weight are computed"},
    {"click a head (grid)", "open its heatmap", "click a head in the grid", "open its heatmap"},
    {"click a candidate", "continue from it (a branch)", "click a candidate", "continue from that token (a branch)"},
    {"click a stage", "select it (pipeline)", "click a pipeline stage", "select it"},
    {"right-click", "knock out the head, neuron or sublayer under it", "right-click (or Shift+click) a head in the grid or the heatmap's title",
     "knock it out (or back in)"},
    {0, 0, "right-click a neuron (mlp.gelu), a head's row, attn.proj, mlp.proj or pos_emb in the vectors view",
     "switch that neuron, head, sublayer or the position embedding off (or back on)"},
    {0, 0, "right-click the embedding, or an opened layer's attn or ffn, in the pipeline", "switch the position embedding or that sublayer off (or back on)"},
    {"wheel / Ctrl+wheel", "heatmap: pan / zoom", "wheel / Ctrl+wheel over the heatmap", "pan / zoom"},
};
#define N_MOUSE ((int)(sizeof MOUSE / sizeof MOUSE[0]))

int viz_help_lines(const char ***keys, const char ***what) {
    static const char *k[N_KEYS + N_MOUSE + 1], *w[N_KEYS + N_MOUSE + 1];
    int n = 0;
    for (int i = 0; i < N_KEYS; i++)
        if (KEYS[i].label) k[n] = KEYS[i].label, w[n++] = KEYS[i].help;
    for (int i = 0; i < N_MOUSE; i++)
        if (MOUSE[i].label) k[n] = MOUSE[i].label, w[n++] = MOUSE[i].help;
    k[n] = w[n] = NULL;
    *keys = k, *what = w;
    return n;
}

void viz_keys_markdown(FILE *out) {
    fprintf(out, "| key | action |\n|---|---|\n");
    for (int i = 0; i < N_KEYS; i++)
        if (KEYS[i].label) fprintf(out, "| %s | %s |\n", KEYS[i].label, KEYS[i].help);
    for (int i = 0; i < N_MOUSE; i++) fprintf(out, "| %s | %s |\n", MOUSE[i].doc_label, MOUSE[i].doc_help);
}
