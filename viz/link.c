/* link.c - the viewer's state as a link and as data: a URL fragment ("prompt=...&steps=3&layer=3")
 * read into viewer commands (the same command table keys and lessons use), the current state written
 * back as one, and what the screen shows as JSON (token ids, position, layer, head, the top candidates
 * with their probabilities) for tests and scripts. The browser page uses all three; so can anything
 * native (`gptstep render --state FILE`). */
#define _DEFAULT_SOURCE /* strtok_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "vizint.h"

/* The keys a link may hold, in the order they are applied (whatever their order in the link): each is
 * the viewer command of the same name with the value as its argument, except steps (generate N) and
 * ablate (a comma-separated list, one ablate command each). prompt and lesson are the front end's. */
static const char *const LINK_KEYS[] = {"seed",  "temperature", "top-k", "top-p",      "greedy", "steps", "tokens",
                                        "ablate-mode", "ablate", "compare", "query", "layer",  "head",
                                        "attention", "grid", "view", "show-run", "stage", "zoom", "pan",
                                        "bars", "presenter", "colorblind"};
#define N_LINK_KEYS ((int)(sizeof LINK_KEYS / sizeof LINK_KEYS[0]))

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decoding as a browser's URLSearchParams does it ('+' is a space); a bad escape stays as it is. */
static char *url_decode(const char *s, size_t n) {
    char *o = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') o[k++] = ' ';
        else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
            o[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])), i += 2;
        else o[k++] = s[i];
    }
    o[k] = 0;
    return o;
}

void viz_link_free(VizLink *l) {
    for (int i = 0; i < l->n; i++) free(l->cmds[i]);
    for (int i = 0; i < l->n_pre; i++) free(l->pre[i]);
    free(l->prompt);
    free(l->lesson);
    memset(l, 0, sizeof *l);
}

static void add_cmd(VizLink *l, const char *name, const char *arg) {
    if (l->n >= VIZ_LINK_MAX) return;
    size_t n = strlen(name) + strlen(arg) + 2;
    char *c = xmalloc(n);
    snprintf(c, n, "%s %s", name, arg);
    l->cmds[l->n++] = c;
}

/* Checks each command's form against the command table, dropping the bad ones; the first bad one is
 * named in err. */
static void drop_bad(char **list, int *n, int *bad, Err *err) {
    for (int i = 0; i < *n; i++) {
        Err e;
        int col;
        if (viz_command_check(list[i], &e, &col) == 0) continue;
        if (!(*bad)++) err_set(err, "the link's '%.60s': %s", list[i], e.msg);
        free(list[i]);
        memmove(list + i, list + i + 1, sizeof(char *) * (size_t)(*n - i - 1));
        (*n)--, i--;
    }
}

int viz_link_parse(const char *frag, VizLink *l, Err *err) {
    memset(l, 0, sizeof *l);
    l->lesson_step = -1;
    if (!frag) return 0;
    if (*frag == '#') frag++;
    char *vals[N_LINK_KEYS] = {0};
    int bad = 0;
    const char *p = frag;
    while (*p) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (end > p) {
            char *key = url_decode(p, (size_t)((eq ? eq : end) - p));
            char *val = eq ? url_decode(eq + 1, (size_t)(end - eq - 1)) : xstrdup("on");
            int found = 0;
            if (!strcmp(key, "prompt")) free(l->prompt), l->prompt = val, val = NULL, found = 1;
            else if (!strcmp(key, "lesson")) free(l->lesson), l->lesson = val, val = NULL, found = 1;
            else if (!strcmp(key, "lesson-step")) {
                char *e;
                long k = strtol(val, &e, 10);
                found = 1;
                if (*e || e == val || k < 1 || k > 100000) {
                    if (!bad++) err_set(err, "the link's lesson-step expects a step number 1..100000, got '%.60s'", val);
                } else {
                    l->lesson_step = (int)k - 1;
                }
            } else {
                for (int i = 0; i < N_LINK_KEYS && !found; i++)
                    if (!strcmp(key, LINK_KEYS[i])) free(vals[i]), vals[i] = val, val = NULL, found = 1;
            }
            if (!found && !bad++)
                err_set(err, "the link has an unknown key '%.60s' (docs/web.md lists them: prompt, steps, seed, layer, head, view, ablate, ...)", key);
            free(key);
            free(val);
        }
        p = amp ? amp + 1 : end;
    }
    for (int i = 0; i < N_LINK_KEYS; i++) {
        if (!vals[i]) continue;
        const char *k = LINK_KEYS[i];
        if (!strcmp(k, "ablate")) { /* "3.3,2.1": one command each */
            char *save = NULL;
            for (char *t = strtok_r(vals[i], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                while (*t == ' ') t++;
                if (*t) add_cmd(l, "ablate", t);
            }
        } else if (!strcmp(k, "steps") && vals[i + 1] && !strcmp(LINK_KEYS[i + 1], "tokens")) {
            /* the tokens the steps chose, as they were chosen (under the ablations of that moment, which
             * the link does not know): follow them rather than drawing again */
            add_cmd(l, "follow", vals[i + 1]);
            free(vals[i + 1]);
            vals[i + 1] = NULL;
        } else {
            add_cmd(l, !strcmp(k, "steps") ? "generate" : k, vals[i]);
        }
        free(vals[i]);
    }
    /* the sampler's settings come first and apart (viz.h: VizLink.pre) */
    while (l->n > 0 && l->n_pre < 8 &&
           (!strncmp(l->cmds[0], "seed ", 5) || !strncmp(l->cmds[0], "temperature ", 12) || !strncmp(l->cmds[0], "top-k ", 6) ||
            !strncmp(l->cmds[0], "top-p ", 6) || !strncmp(l->cmds[0], "greedy ", 7))) {
        l->pre[l->n_pre++] = l->cmds[0];
        memmove(l->cmds, l->cmds + 1, sizeof(char *) * (size_t)--l->n);
    }
    /* each command's form is checked before anything runs: a bad value is named with its key */
    drop_bad(l->pre, &l->n_pre, &bad, err);
    drop_bad(l->cmds, &l->n, &bad, err);
    return bad ? -1 : 0;
}

/* Appends key=value, percent-encoded (unreserved characters as they are). */
static void put(char *buf, size_t cap, size_t *k, const char *key, const char *val) {
    if (*k + 1 >= cap) return;
    *k += (size_t)snprintf(buf + *k, cap - *k, "%s%s=", *k ? "&" : "", key);
    for (const unsigned char *s = (const unsigned char *)val; *s && *k + 4 < cap; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("-_.~,", *s))
            buf[(*k)++] = (char)*s;
        else
            *k += (size_t)snprintf(buf + *k, cap - *k, "%%%02X", *s);
    }
    if (*k < cap) buf[*k] = 0;
}

void viz_link_make(const VizState *v, char *buf, size_t cap) {
    size_t k = 0;
    char num[64];
    buf[0] = 0;
    const VizRun *r = &v->run;
    put(buf, cap, &k, "prompt", r->prompt ? r->prompt : "");
    const SamplerSettings *s = &r->gen.sampler;
    if (s->seed) snprintf(num, sizeof num, "%llu", (unsigned long long)s->seed), put(buf, cap, &k, "seed", num);
    if (s->greedy == 1) put(buf, cap, &k, "greedy", "on");
    else {
        SamplerSettings d = sampler_default();
        if (s->temperature != d.temperature) snprintf(num, sizeof num, "%g", s->temperature), put(buf, cap, &k, "temperature", num);
        if (s->top_k != d.top_k) snprintf(num, sizeof num, "%d", s->top_k), put(buf, cap, &k, "top-k", num);
        if (s->top_p != d.top_p) snprintf(num, sizeof num, "%g", s->top_p), put(buf, cap, &k, "top-p", num);
    }
    if (r->loaded && r->step > 0) {
        snprintf(num, sizeof num, "%d", r->step), put(buf, cap, &k, "steps", num);
        /* and the tokens they chose: a link cannot tell whether they were drawn before or after an
         * ablation, so it carries them */
        char ids[4096];
        size_t n = 0;
        int p0 = r->gen.trace.steps[0].n_pos;
        for (int i = 0; i < r->step && p0 + i < r->gen.trace.n_pos && n + 12 < sizeof ids; i++)
            n += (size_t)snprintf(ids + n, sizeof ids - n, "%s%d", i ? "," : "", r->gen.trace.pos[p0 + i].token);
        if (n) put(buf, cap, &k, "tokens", ids);
    }
    const Interventions *iv = &r->gen.state.iv;
    if (iv->n) {
        char list[GPT2_MAX_ABLATIONS * 24] = "";
        size_t n = 0;
        for (int i = 0; i < iv->n; i++) {
            char one[48];
            ablation_name(&iv->a[i], one, sizeof one);
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? "," : "", one);
            if (n >= sizeof list) break;
        }
        if (iv->mode == ABLATE_MEAN) put(buf, cap, &k, "ablate-mode", "mean");
        put(buf, cap, &k, "ablate", list);
    }
    const VizView *w = &v->view;
    if (w->query >= 0) snprintf(num, sizeof num, "%d", w->query), put(buf, cap, &k, "query", num);
    snprintf(num, sizeof num, "%d", w->layer), put(buf, cap, &k, "layer", num);
    snprintf(num, sizeof num, "%d", w->head), put(buf, cap, &k, "head", num);
    static const char *ATT[] = {"scores", "masked", "weights"};
    if (w->att != ATT_WEIGHTS) put(buf, cap, &k, "attention", ATT[w->att]);
    if (w->main == MAIN_GRID) put(buf, cap, &k, "grid", "on");
    if (w->only != VIEW_ALL) put(buf, cap, &k, "view", viz_view_name(w->only));
    if (w->presenter) put(buf, cap, &k, "presenter", "on");
    if (w->colorblind) put(buf, cap, &k, "colorblind", "on");
}

char *viz_state_json(VizState *v) {
    cJSON *o = cJSON_CreateObject();
    const VizRun *r = &v->run;
    char text[512];
    cJSON_AddNumberToObject(o, "frame", (double)v->ui.frames);
    cJSON_AddBoolToObject(o, "loaded", r->loaded);
    cJSON_AddBoolToObject(o, "busy", v->ui.busy);
    cJSON_AddStringToObject(o, "message", v->ui.message);
    cJSON_AddBoolToObject(o, "message_is_error", v->ui.message[0] && v->ui.message_is_error);
    if (v->view.title[0] || v->view.progress[0]) {
        cJSON *l = cJSON_AddObjectToObject(o, "lesson");
        cJSON_AddStringToObject(l, "title", v->view.title);
        cJSON_AddStringToObject(l, "progress", v->view.progress);
        cJSON_AddStringToObject(l, "caption", v->view.caption);
    }
    char link[8192];
    viz_link_make(v, link, sizeof link);
    cJSON_AddStringToObject(o, "link", link);
    cJSON_AddStringToObject(o, "view", viz_view_name(viz_shown_view(v)));
    cJSON_AddNumberToObject(o, "layer", v->view.layer);
    cJSON_AddNumberToObject(o, "head", v->view.head);
    cJSON_AddBoolToObject(o, "presenter", v->view.presenter);
    cJSON_AddStringToObject(o, "main", v->view.main == MAIN_GRID ? "grid" : "heatmap");
    static const char *RUN[] = {"ablated", "clean", "difference"};
    cJSON_AddStringToObject(o, "run_shown", RUN[v->view.run_shown]);
    static const char *EXP[] = {"none", "attribution", "patching"};
    cJSON_AddStringToObject(o, "experiment", EXP[r->exp.kind]);
    if (!r->loaded || v->ui.busy) {
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return s;
    }
    const Gpt2Config *c = &r->gen.model.cfg;
    cJSON *m = cJSON_AddObjectToObject(o, "model");
    cJSON_AddStringToObject(m, "name", r->gen.model.name);
    cJSON_AddNumberToObject(m, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(m, "n_head", c->n_head);
    cJSON_AddNumberToObject(m, "n_embd", c->n_embd);
    cJSON_AddNumberToObject(m, "n_vocab", c->n_vocab);
    cJSON_AddNumberToObject(m, "n_ctx", c->n_ctx);
    cJSON_AddStringToObject(o, "prompt", r->prompt ? r->prompt : "");
    int n = viz_n_shown(v), pos = viz_dist_pos(v);
    const Trace *tr = &r->gen.trace;
    cJSON *ids = cJSON_AddArrayToObject(o, "tokens"), *pieces = cJSON_AddArrayToObject(o, "pieces");
    for (int p = 0; p < n; p++) {
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(tr->pos[p].token));
        viz_piece(v, tr->pos[p].token, text, sizeof text);
        cJSON_AddItemToArray(pieces, cJSON_CreateString(text));
    }
    cJSON_AddNumberToObject(o, "step", r->step);
    cJSON_AddNumberToObject(o, "position", pos);
    char ab[GPT2_MAX_ABLATIONS * 24];
    interventions_text(&r->gen.state.iv, ab, sizeof ab);
    cJSON_AddStringToObject(o, "ablated", ab);
    const SamplerSettings *s = &r->gen.sampler;
    cJSON *smp = cJSON_AddObjectToObject(o, "sampler");
    cJSON_AddBoolToObject(smp, "greedy", s->greedy == 1);
    cJSON_AddNumberToObject(smp, "temperature", s->temperature);
    cJSON_AddNumberToObject(smp, "top_k", s->top_k);
    cJSON_AddNumberToObject(smp, "top_p", s->top_p);
    cJSON_AddNumberToObject(smp, "seed", (double)s->seed);
    const float *probs = viz_tensor(v, TK_PROBS, 0, pos);
    const VizDerived *d = &r->d;
    if (probs && d->epoch >= 0 && d->pos == viz_query_pos(v) && d->order) {
        cJSON *top = cJSON_AddArrayToObject(o, "top");
        for (int i = 0; i < 10 && i < c->n_vocab; i++) {
            int id = d->order[i];
            cJSON *t = cJSON_CreateObject();
            cJSON_AddNumberToObject(t, "id", id);
            viz_piece(v, id, text, sizeof text);
            cJSON_AddStringToObject(t, "piece", text);
            cJSON_AddNumberToObject(t, "p", probs[id]);
            snprintf(text, sizeof text, "%.1f%%", 100 * probs[id]); /* as the distribution view prints it */
            cJSON_AddStringToObject(t, "shown", text);
            cJSON_AddNumberToObject(t, "sampler_p", d->samp[id]);
            cJSON_AddItemToArray(top, t);
        }
        int next = viz_next_token(v, pos);
        if (next >= 0) cJSON_AddNumberToObject(o, "next", next);
        cJSON_AddNumberToObject(o, "entropy", d->entropy);
    }
    char *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}
