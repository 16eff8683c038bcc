/* fuzz.h - what the libFuzzer harnesses share: the input written to a file (the parsers read files, as
 * gptstep does), one file or a folder of several, in a private scratch folder of this process. */
#ifndef GPTSTEP_FUZZ_H
#define GPTSTEP_FUZZ_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tokenizer.h"

/* A scratch folder of this process (in /dev/shm when it exists: no disk writes). */
static const char *fuzz_dir(void) {
    static char dir[256];
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/gptstep-fuzz-%d", base, (int)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

/* Writes data to NAME in the scratch folder (removing it when data is NULL); returns its path. */
static const char *fuzz_file(const char *name, const uint8_t *data, size_t n) {
    static char path[4][512];
    static int k;
    char *p = path[k++ & 3];
    snprintf(p, 512, "%s/%s", fuzz_dir(), name);
    if (!data) {
        unlink(p);
        return p;
    }
    FILE *f = fopen(p, "wb");
    if (f) {
        if (n) fwrite(data, 1, n, f);
        fclose(f);
    }
    return p;
}

/* Splits data at the first "\n====\n" into two parts (the second empty when there is none). */
static void fuzz_split(const uint8_t *data, size_t n, size_t *n1, const uint8_t **p2, size_t *n2) {
    static const char SEP[] = "\n====\n";
    const uint8_t *m = memmem(data, n, SEP, sizeof SEP - 1);
    if (!m) {
        *n1 = n, *p2 = data + n, *n2 = 0;
        return;
    }
    *n1 = (size_t)(m - data);
    *p2 = m + sizeof SEP - 1;
    *n2 = n - *n1 - (sizeof SEP - 1);
}

/* The repository's folder (GPTSTEP_ROOT, else the current folder) joined with rel. */
static const char *fuzz_repo(const char *rel) {
    static char path[1024];
    const char *root = getenv("GPTSTEP_ROOT");
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
    return path;
}

/* GPT-2's real tokenizer (models/tokenizer), for the harnesses that encode or decode; exits when missing. */
static inline Tokenizer *fuzz_tokenizer(void) {
    Err err;
    Tokenizer *t = tok_load(fuzz_repo("models/tokenizer"), &err);
    if (!t) {
        fprintf(stderr, "%s (run from the repository, or set GPTSTEP_ROOT)\n", err.msg);
        exit(1);
    }
    return t;
}

#endif
