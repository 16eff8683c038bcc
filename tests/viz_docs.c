#define _POSIX_C_SOURCE 200809L
/* viz_docs.c - the docs agree with the viewer's command table: docs/viewer.md holds the command and
 * key tables exactly as the table prints them, and every command docs/lessons.md names exists.
 *     viz_docs DOCS_DIR [--update]      (--update rewrites the tables in docs/viewer.md: 'make docs') */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lesson.h"
#include "viz.h"

static char *generated(void (*fn)(FILE *)) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fn(f);
    fclose(f);
    return buf;
}

/* Replaces (update) or compares the text between "<!-- NAME -->\n" and "<!-- /NAME -->". */
static char *section(char *doc, const char *name, const char *want, int update, const char *path) {
    char open[64], close[64];
    snprintf(open, sizeof open, "<!-- %s -->\n", name);
    snprintf(close, sizeof close, "<!-- /%s -->", name);
    char *a = strstr(doc, open), *b = a ? strstr(a, close) : NULL;
    CHECK(a && b, "%s has a '%s' ... '%s' section", path, open, close);
    if (!a || !b) return doc;
    a += strlen(open);
    size_t have = (size_t)(b - a);
    if (update) {
        size_t n = strlen(doc) - have + strlen(want) + 1;
        char *out = malloc(n);
        snprintf(out, n, "%.*s%s%s", (int)(a - doc), doc, want, b);
        free(doc);
        return out;
    }
    CHECK(have == strlen(want) && memcmp(a, want, have) == 0,
          "%s: the %s table differs from the viewer's command table (run 'make docs' and read the diff)", path, name);
    return doc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: viz_docs DOCS_DIR [--update]\n");
        return 2;
    }
    int update = argc > 2 && !strcmp(argv[2], "--update");
    char path[1024];
    snprintf(path, sizeof path, "%s/viewer.md", argv[1]);
    char *doc;
    size_t len;
    Err err;
    if (read_file(path, &doc, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char *cmds = generated(viz_commands_markdown), *keys = generated(viz_keys_markdown);
    doc = section(doc, "commands", cmds, update, path);
    doc = section(doc, "keys", keys, update, path);
    if (update) {
        FILE *f = fopen(path, "w");
        if (!f || fputs(doc, f) < 0) return 1;
        fclose(f);
        printf("updated %s\n", path);
    }
    /* every command a lessons.md example or table uses is a command of the table */
    snprintf(path, sizeof path, "%s/lessons.md", argv[1]);
    char *ldoc;
    if (read_file(path, &ldoc, &len, &err) == 0) {
        int n = 0;
        for (char *p = strstr(ldoc, "\n| `"); p; p = strstr(p + 1, "\n| `")) {
            char name[64];
            if (sscanf(p, "\n| `%63[^` ]", name) != 1) continue;
            if (name[0] == '{') { /* a fact: {name} or {name args} */
                char fact[64];
                sscanf(name + 1, "%63[^} ]", fact);
                CHECK(lesson_fact_known(fact), "%s names the fact '%s', which lessons do not know", path, fact);
                continue;
            }
            char line[128];
            snprintf(line, sizeof line, "%s", name);
            Err e;
            int rc = viz_command_check(line, &e, NULL);
            int known = rc == 0 || strncmp(e.msg, "unknown command", 15) != 0;
            /* the lesson-only lines of docs/lessons.md's setup table */
            if (!strcmp(name, "title") || !strcmp(name, "model") || !strcmp(name, "prompt") || !strcmp(name, "seed")) known = 1;
            CHECK(known, "%s names '%s', which is not a viewer command", path, name);
            n++;
        }
        CHECK(n > 10, "%s lists the commands in a table (%d found)", path, n);
        free(ldoc);
    }
    free(cmds);
    free(keys);
    free(doc);
    return check_report("docs");
}
