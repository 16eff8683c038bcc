/* test_safetensors.c - the checkpoint loader accepts good files (unaligned data, F32/F16/BF16, empty
 * and 0-rank tensors) and rejects every corrupt case with a message naming the file and the problem.
 *     test_safetensors TMPDIR */
#define _DEFAULT_SOURCE /* setenv, truncate, fork */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common.h"
#include "model.h"
#include "safetensors.h"

static const char *dir;

typedef struct {
    const char *name, *dtype;
    int ndim;
    int64_t shape[4];
} Spec;

/* Writes a file: the header JSON as given, then n_data bytes of data (a ramp of floats). */
static char *write_raw(const char *file, const char *header, uint64_t hlen_override, size_t n_data) {
    char *path = path_join(dir, file);
    FILE *f = fopen(path, "wb");
    uint64_t hl = hlen_override ? hlen_override : strlen(header);
    fwrite(&hl, 8, 1, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < n_data / 4; i++) {
        float v = (float)i * 0.5f;
        fwrite(&v, 4, 1, f);
    }
    for (size_t i = n_data / 4 * 4; i < n_data; i++) fputc(0, f);
    fclose(f);
    return path;
}

static int dtype_size(const char *d) { return strcmp(d, "F32") == 0 ? 4 : strcmp(d, "I64") == 0 ? 8 : 2; }

/* Builds a header for specs laid out contiguously; returns the data size. */
static size_t build_header(char *buf, size_t cap, const Spec *s, int n) {
    size_t k = (size_t)snprintf(buf, cap, "{\"__metadata__\":{\"format\":\"pt\"}");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint64_t numel = 1;
        k += (size_t)snprintf(buf + k, cap - k, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", s[i].name, s[i].dtype);
        for (int d = 0; d < s[i].ndim; d++) {
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? "," : "", (long long)s[i].shape[d]);
            numel *= (uint64_t)s[i].shape[d];
        }
        uint64_t bytes = numel * (uint64_t)dtype_size(s[i].dtype);
        k += (size_t)snprintf(buf + k, cap - k, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                              (unsigned long long)(off + bytes));
        off += bytes;
    }
    snprintf(buf + k, cap - k, "}");
    return (size_t)off;
}

static void expect_fail(const char *what, const char *path, const char *needle) {
    StFile f;
    Err err = {{0}};
    int rc = st_open(&f, path, &err);
    CHECK(rc != 0 && strstr(err.msg, needle) && strstr(err.msg, path), "%s: got '%s', expected '%s'", what,
          rc ? err.msg : "success", needle);
    if (rc == 0) st_close(&f);
}

static void format_rules(void) {
    char h[4096];
    Spec two[] = {{"a", "F32", 2, {2, 3}}, {"b", "F32", 1, {4}}};
    size_t n = build_header(h, sizeof h, two, 2);
    /* a valid file whose data section starts at an odd offset */
    char *p = write_raw("ok.safetensors", h, 0, n);
    StFile f;
    Err err;
    CHECK(st_open(&f, p, &err) == 0, "valid file: %s", err.msg);
    if (f.map) {
        const StTensor *b = st_find(&f, "b");
        float out[4];
        CHECK(b && st_read_f32(&f, b, out, &err) == 0 && out[0] == 3.0f && out[3] == 4.5f, "read b");
        st_close(&f);
    }
    free(p);

    p = write_raw("truncated.safetensors", h, 0, n - 1);
    expect_fail("truncated", p, "truncated");
    free(p);
    p = write_raw("trailing.safetensors", h, 0, n + 3);
    expect_fail("trailing bytes", p, "trailing bytes");
    free(p);
    p = write_raw("huge-header.safetensors", h, 200000000ull, n);
    expect_fail("header too large", p, "larger than the 100000000-byte limit");
    free(p);
    p = write_raw("past-end.safetensors", h, 5000, 0);
    expect_fail("header past the end", p, "runs past the end");
    free(p);
    p = write_raw("tiny.safetensors", "", 0, 0);
    {
        FILE *t = fopen(p, "wb");
        fwrite("abc", 1, 3, t);
        fclose(t);
    }
    expect_fail("shorter than 8 bytes", p, "at least 8");
    free(p);
    p = write_raw("badjson.safetensors", "{\"a\":{\"dtype\":\"F32\",", 0, 0);
    expect_fail("invalid JSON", p, "not valid JSON");
    free(p);
    p = write_raw("badutf8.safetensors", "{\"\xff\":1}", 0, 0);
    expect_fail("invalid UTF-8 header", p, "not valid UTF-8");
    free(p);
    p = write_raw("overlap.safetensors",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 0, 12);
    expect_fail("overlapping offsets", p, "overlaps");
    free(p);
    p = write_raw("gap.safetensors",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 0, 20);
    expect_fail("gapped offsets", p, "leaves a gap");
    free(p);
    p = write_raw("dtype.safetensors", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 8);
    expect_fail("unknown dtype", p, "unknown dtype 'F33'");
    free(p);
    p = write_raw("span.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8);
    expect_fail("size not shape x dtype", p, "expected 12");
    free(p);
    p = write_raw("overflow.safetensors",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 0, 8);
    expect_fail("shape overflow", p, "overflows");
    free(p);
    p = write_raw("dup.safetensors",
                  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0, 8);
    expect_fail("duplicate name", p, "twice");
    free(p);
    p = write_raw("misaligned.safetensors", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", 0, 1);
    expect_fail("non-whole byte count", p, "not a whole number of bytes");
    free(p);
    p = write_raw("metadata.safetensors", "{\"__metadata__\":{\"a\":1}}", 0, 0);
    expect_fail("non-string metadata", p, "not a string");
    free(p);
    /* empty and 0-rank tensors are allowed */
    p = write_raw("empty.safetensors",
                  "{\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                  "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}  ", 0, 4);
    CHECK(st_open(&f, p, &err) == 0, "empty and scalar tensors: %s", err.msg);
    if (f.map) st_close(&f);
    free(p);
    expect_fail("missing file", "/nonexistent/model.safetensors", "cannot open");
}

/* A 1-layer model with C=8, NH=2, V=10, NCTX=4 in a folder, with one tensor changed by `mutate`. */
static char *write_model(const char *name, const char *wrong_name, const char *wrong_dtype, int64_t wrong_dim) {
    Spec s[20];
    int n = 0;
    const char *names2[][3] = {{"wte.weight", "10", "8"}, {"wpe.weight", "4", "8"}, {"h.0.attn.c_attn.weight", "8", "24"},
                               {"h.0.attn.c_proj.weight", "8", "8"}, {"h.0.mlp.c_fc.weight", "8", "32"},
                               {"h.0.mlp.c_proj.weight", "32", "8"}};
    const char *names1[][2] = {{"h.0.ln_1.weight", "8"}, {"h.0.ln_1.bias", "8"}, {"h.0.attn.c_attn.bias", "24"},
                               {"h.0.attn.c_proj.bias", "8"}, {"h.0.ln_2.weight", "8"}, {"h.0.ln_2.bias", "8"},
                               {"h.0.mlp.c_fc.bias", "32"}, {"h.0.mlp.c_proj.bias", "8"}, {"ln_f.weight", "8"},
                               {"ln_f.bias", "8"}};
    for (int i = 0; i < 6; i++) s[n++] = (Spec){names2[i][0], "F32", 2, {atoi(names2[i][1]), atoi(names2[i][2])}};
    for (int i = 0; i < 10; i++) s[n++] = (Spec){names1[i][0], "F32", 1, {atoi(names1[i][1])}};
    int keep = 0;
    for (int i = 0; i < n; i++) {
        if (wrong_name && strcmp(s[i].name, wrong_name) == 0) {
            if (wrong_dtype) s[i].dtype = wrong_dtype;
            else if (wrong_dim) s[i].shape[s[i].ndim - 1] = wrong_dim;
            else continue; /* drop it: a missing tensor */
        }
        s[keep++] = s[i];
    }
    char h[8192];
    size_t bytes = build_header(h, sizeof h, s, keep);
    /* the header padded with spaces so the data starts at byte 4,096: at a 64-byte boundary, as
     * gptstep's own writers pad it, so wte.weight (first) can be used in place; and on a page of its own,
     * so a file cut to its header has lost it */
    for (size_t k = strlen(h); 8 + k < 4096; k++) strcat(h, " ");
    char *folder = path_join(dir, name);
    mkdir(folder, 0755);
    char file[512];
    snprintf(file, sizeof file, "%s/model.safetensors", name);
    free(write_raw(file, h, 0, bytes));
    char *cfg = path_join(folder, "config.json");
    FILE *f = fopen(cfg, "w");
    fputs("{\"n_head\": 2}", f); /* C = 8 is not a multiple of 64, so NH cannot be inferred */
    fclose(f);
    free(cfg);
    return folder;
}

static void expect_load_fail(const char *what, const char *folder, const char *needle) {
    Gpt2Model m;
    Err err = {{0}};
    int rc = gpt2_load(&m, folder, &err);
    CHECK(rc != 0 && strstr(err.msg, needle) && strstr(err.msg, "model.safetensors"), "%s: got '%s', expected '%s'",
          what, rc ? err.msg : "success", needle);
    if (rc == 0) gpt2_free(&m);
}

static void model_rules(void) {
    char *ok = write_model("m-ok", NULL, NULL, 0);
    Gpt2Model m;
    Err err;
    CHECK(gpt2_load(&m, ok, &err) == 0, "valid model: %s", err.msg);
    if (m.w.wte.f) {
        CHECK(m.cfg.n_layer == 1 && m.cfg.n_embd == 8 && m.cfg.n_vocab == 10 && m.cfg.n_ctx == 4,
              "inferred sizes L=%d C=%d V=%d NCTX=%d", m.cfg.n_layer, m.cfg.n_embd, m.cfg.n_vocab, m.cfg.n_ctx);
        gpt2_free(&m);
    }
    char *p = write_model("m-shape", "h.0.mlp.c_fc.weight", NULL, 31);
    expect_load_fail("wrong shape", p, "tensor 'h.0.mlp.c_fc.weight': shape [8, 31], expected [8, 32]");
    free(p);
    p = write_model("m-missing", "h.0.ln_2.bias", NULL, 0);
    expect_load_fail("missing tensor", p, "missing tensor 'h.0.ln_2.bias'");
    free(p);
    p = write_model("m-dtype", "ln_f.bias", "I64", 0);
    expect_load_fail("integer dtype", p, "dtype I64, expected F32, F16 or BF16");
    free(p);
    /* config.json that disagrees with the shapes */
    char *cfg = path_join(ok, "config.json");
    FILE *f = fopen(cfg, "w");
    fputs("{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 16}", f);
    fclose(f);
    expect_load_fail("config disagrees", ok, "tensor 'wte.weight': shape [10, 8], expected [10, 16]");
    f = fopen(cfg, "w");
    fputs("{\"n_layer\": 2, \"n_head\": 2}", f);
    fclose(f);
    expect_load_fail("config layer count", ok, "has 1 layers, expected 2");
    f = fopen(cfg, "w");
    fputs("{\"n_layer\": 1, \"n_head\": 3}", f);
    fclose(f);
    expect_load_fail("heads do not divide", ok, "not divisible by n_head 3");
    free(cfg);
    free(ok);
    Gpt2Model m2;
    CHECK(gpt2_load(&m2, "/nonexistent-model", &err) != 0 && strstr(err.msg, "not found"), "missing dir: %s", err.msg);
}

/* Weights used in place from the mapped file, and the file truncated under them: one line naming the
 * file and exit status 1 (not "Bus error"); copied weights do not notice. */
static void file_changed_under_mapping(void) {
    char *folder = write_model("m-inplace", NULL, NULL, 0);
    char *file = path_join(folder, "model.safetensors");
    for (int copy = 0; copy < 2; copy++) {
        setenv("GPTSTEP_COPY_WEIGHTS", copy ? "1" : "0", 1);
        Gpt2Model m;
        Err err = {{0}};
        int loaded = gpt2_load(&m, folder, &err) == 0;
        CHECK(loaded, "GPTSTEP_COPY_WEIGHTS=%d: %s", copy, err.msg);
        if (!loaded) break;
        int here = m.map && (const unsigned char *)m.w.wte.f > m.map && (const unsigned char *)m.w.wte.f < m.map + m.map_len;
        CHECK(here == !copy, "GPTSTEP_COPY_WEIGHTS=%d: wte.weight %s the mapped file", copy, here ? "in" : "not in");
        CHECK(m.w.wte.f[3] == 1.5f, "wte.weight[0][3] = %g, expected 1.5 (the file's ramp)", m.w.wte.f[3]);
        if (copy) { /* the file cut to its header: the copied weights stay as they were */
            CHECK(truncate(file, 8) == 0, "truncate %s", file);
            CHECK(m.w.wte.f[3] == 1.5f, "copied: wte.weight[0][3] = %g after the file was cut, expected 1.5", m.w.wte.f[3]);
            gpt2_free(&m);
            break;
        }
        int fd[2];
        if (pipe(fd) != 0) {
            CHECK(0, "pipe");
            break;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) { /* the file cut to its header, then the weight read again */
            dup2(fd[1], 2);
            close(fd[0]);
            if (truncate(file, 8) != 0) _exit(3);
            volatile float x = m.w.wte.f[3];
            (void)x;
            _exit(0);
        }
        close(fd[1]);
        char out[2048] = "";
        size_t n = 0;
        for (ssize_t r; n < sizeof out - 1 && (r = read(fd[0], out + n, sizeof out - 1 - n)) > 0;) n += (size_t)r;
        out[n] = 0;
        close(fd[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "in place, the file cut under it: exit status %d%s, expected 1",
              WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), WIFEXITED(st) ? "" : " (a signal)");
        CHECK(strstr(out, file) && strstr(out, "changed on disk") && strchr(out, '\n') == out + n - 1,
              "in place, the file cut under it: one line naming it, got '%s'", out);
        gpt2_free(&m);
        free(write_model("m-inplace", NULL, NULL, 0)); /* whole again, for the copy */
    }
    unsetenv("GPTSTEP_COPY_WEIGHTS");
    free(file);
    free(folder);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_safetensors TMPDIR\n");
        return 2;
    }
    dir = argv[1];
    mkdir(dir, 0755);
    format_rules();
    model_rules();
    file_changed_under_mapping();
    return check_report("safetensors");
}
