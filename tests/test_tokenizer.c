/* test_tokenizer.c - the tokenizer against the reference vectors (tests/tokenizer-vectors.json and the
 * published ones in docs/gpt2-facts.md), special tokens, round trips, invalid UTF-8 and streaming decode.
 *     test_tokenizer MODELS_DIR TESTS_DIR */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "tokenizer.h"

static int same_ids(const int *a, int na, const int *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, sizeof(int) * (size_t)na) == 0);
}

static void expect(Tokenizer *t, const char *text, int special, const int *want, int n_want) {
    int *ids, n;
    Err err;
    int rc = tok_encode(t, text, strlen(text), special, &ids, &n, &err);
    CHECK(rc == 0 && same_ids(ids, n, want, n_want), "encode '%s': got %d tokens", text, n);
    free(ids);
}

static void vectors_file(Tokenizer *t, const char *path) {
    char *data;
    size_t len;
    Err err;
    CHECK(read_file(path, &data, &len, &err) == 0, "%s", err.msg);
    cJSON *root = cJSON_Parse(data);
    free(data);
    CHECK(cJSON_IsObject(root), "%s is not a JSON object", path);
    int count = 0;
    for (cJSON *it = root ? root->child : NULL; it; it = it->next) {
        int n = cJSON_GetArraySize(it), want[256];
        for (int i = 0; i < n && i < 256; i++) want[i] = cJSON_GetArrayItem(it, i)->valueint;
        /* the reference (encoder.py) does not treat <|endoftext|> as special */
        expect(t, it->string, 0, want, n);
        int *ids, got;
        tok_encode(t, it->string, strlen(it->string), 0, &ids, &got, &err);
        char *back = tok_decode(t, ids, got);
        CHECK(strcmp(back, it->string) == 0, "round trip of '%s'", it->string);
        free(back);
        free(ids);
        count++;
    }
    CHECK(count >= 30, "only %d vectors in %s", count, path);
    cJSON_Delete(root);
}

static void published_vectors(Tokenizer *t) {
    expect(t, "hello world", 1, (int[]){31373, 995}, 2);
    expect(t, "hello <|endoftext|>", 1, (int[]){31373, 220, 50256}, 3);
    expect(t, "<|endoftext|>", 0, (int[]){27, 91, 437, 1659, 5239, 91, 29}, 7);
    expect(t, "<|endoftext|>", 1, (int[]){50256}, 1);
    expect(t, "a<|endoftext|><|endoftext|>b", 1, (int[]){64, 50256, 50256, 65}, 4);
    expect(t, "", 1, NULL, 0);
    expect(t, " ", 1, (int[]){220}, 1);
    expect(t, "\t", 1, (int[]){197}, 1);
    expect(t, "This is some text", 1, (int[]){1212, 318, 617, 2420}, 4);
    expect(t, "indivisible", 1, (int[]){521, 452, 12843}, 3);
    expect(t, "hello \xF0\x9F\x91\x8B world \xF0\x9F\x8C\x8D", 1, (int[]){31373, 50169, 233, 995, 12520, 234, 235}, 7);
    expect(t, "toString constructor hasOwnProperty valueOf", 1,
           (int[]){1462, 10100, 23772, 468, 23858, 21746, 1988, 5189}, 8);
    expect(t, "0000000000000000", 1, (int[]){25645}, 1);
    expect(t, "00000000000000000", 1, (int[]){8269, 10535, 830}, 3);
    expect(t, "it\xE2\x80\x99s", 1, (int[]){270, 447, 247, 82}, 4);
    CHECK(tok_eot(t) == 50256 && tok_vocab_size(t) == 50257, "eot %d, vocab %d", tok_eot(t), tok_vocab_size(t));
    CHECK(tok_id_of_piece(t, " the") == 262 && tok_id_of_piece(t, "Hello") == 15496 && tok_id_of_piece(t, "<|endoftext|>") == 50256,
          "a piece's id: ' the' %d, 'Hello' %d", tok_id_of_piece(t, " the"), tok_id_of_piece(t, "Hello"));
    CHECK(tok_id_of_piece(t, " the cat") == -1 && tok_id_of_piece(t, "") == -1, "no single token is ' the cat' or ''");
}

static void round_trip_file(Tokenizer *t, const char *path) {
    char *data;
    size_t len;
    Err err;
    CHECK(read_file(path, &data, &len, &err) == 0, "%s", err.msg);
    int *ids, n;
    CHECK(tok_encode(t, data, len, 0, &ids, &n, &err) == 0, "%s", err.msg);
    char *back = tok_decode(t, ids, n);
    CHECK(strlen(back) == len && memcmp(back, data, len) == 0, "round trip of %s (%zu bytes, %d tokens)", path, len, n);
    /* streaming decode, one token at a time, gives the same bytes */
    TokStream s;
    tok_stream_init(&s);
    size_t cap = 4 * len + 16, k = 0;
    char *streamed = malloc(cap);
    for (int i = 0; i < n; i++) {
        const char *piece = tok_stream_push(&s, t, ids[i]);
        size_t pl = strlen(piece);
        CHECK(utf8_valid(piece, pl, NULL), "stream piece %d is valid UTF-8", i);
        memcpy(streamed + k, piece, pl);
        k += pl;
    }
    const char *rest = tok_stream_flush(&s);
    memcpy(streamed + k, rest, strlen(rest));
    k += strlen(rest);
    CHECK(k == len && memcmp(streamed, data, len) == 0, "streamed decode of %s", path);
    free(streamed);
    free(back);
    free(ids);
    free(data);
}

static void invalid_utf8(Tokenizer *t) {
    const char *bad[] = {"abc\xFF", "\xC3", "\xE2\x82", "ok \xED\xA0\x80 surrogate", "\xC0\xAF overlong"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int *ids = NULL, n;
        Err err = {{0}};
        int rc = tok_encode(t, bad[i], strlen(bad[i]), 1, &ids, &n, &err);
        CHECK(rc != 0 && strstr(err.msg, "not valid UTF-8"), "invalid UTF-8 case %zu rejected: '%s'", i, err.msg);
        if (rc == 0) free(ids);
    }
    /* decoding a lone partial sequence gives one U+FFFD (as Python's errors="replace"), never invalid
     * output; bytes that cannot start a character get one each */
    int id = 50169; /* ' \xF0\x9F\x91' */
    char *s = tok_decode(t, &id, 1);
    CHECK(strcmp(s, " \xEF\xBF\xBD") == 0, "partial sequence decodes with one replacement");
    free(s);
    int ids2[] = {50169, 50169}; /* the cut-short emoji twice: two replacements */
    s = tok_decode(t, ids2, 2);
    CHECK(strcmp(s, " \xEF\xBF\xBD \xEF\xBF\xBD") == 0, "two partial sequences: '%s'", s);
    free(s);
    TokStream st;
    tok_stream_init(&st);
    CHECK(strcmp(tok_stream_push(&st, t, 50169), " ") == 0, "stream holds the incomplete emoji");
    CHECK(strcmp(tok_stream_push(&st, t, 233), "\xF0\x9F\x91\x8B") == 0, "stream completes the emoji");
    CHECK(strcmp(tok_stream_push(&st, t, 50169), " ") == 0 && strcmp(tok_stream_flush(&st), "\xEF\xBF\xBD") == 0,
          "an incomplete character at the end of the stream flushes as one U+FFFD");
}

/* A token's display text, worked by hand: what the terminal and the screen show for each kind of byte. */
static void display_text(const Tokenizer *t) {
    static const struct { const char *bytes; int len; const char *terminal, *screen; } C[] = {
        {" the", 4, " the", "\xE2\x90\xA3the"},
        {"a\nb\tc", 5, "a\\nb\\tc", "a\xE2\x86\xB5" "b\xE2\x87\xA5" "c"},
        {"\r\\", 2, "\\r\\\\", "\\x0d\\"},
        {"\x1b[2J", 4, "\\x1b[2J", "\\x1b[2J"},          /* a terminal escape never gets through */
        {"\xE2\x80", 2, "\\xe2\\x80", "\\xe2\\x80"},  /* part of a character */
        {"\xC3\xA9", 2, "\xC3\xA9", "\xC3\xA9"},           /* a whole one */
        {"", 0, "", "\xE2\x88\x85"},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        char term[64], scr[64];
        tok_show_bytes(C[i].bytes, C[i].len, TOK_SHOW_TERMINAL, term, sizeof term);
        tok_show_bytes(C[i].bytes, C[i].len, TOK_SHOW_SCREEN, scr, sizeof scr);
        CHECK(!strcmp(term, C[i].terminal), "display case %zu in a terminal: '%s', expected '%s'", i, term, C[i].terminal);
        CHECK(!strcmp(scr, C[i].screen), "display case %zu on screen: '%s', expected '%s'", i, scr, C[i].screen);
    }
    char out[64];
    tok_show(t, 198, TOK_SHOW_TERMINAL, out, sizeof out); /* id 198 is "\n" in GPT-2's vocabulary */
    CHECK(!strcmp(out, "\\n"), "token 198 shows as \\n in a terminal, got '%s'", out);
    char small[6];
    tok_show_bytes("abcdefghij", 10, TOK_SHOW_TERMINAL, small, sizeof small);
    CHECK(strlen(small) < sizeof small, "a small buffer is never overrun ('%s')", small);
}

static void bad_files(void) {
    Err err;
    CHECK(tok_load("/nonexistent", &err) == NULL && strstr(err.msg, "no tokenizer files"), "missing dir: %s", err.msg);
}

/* The O(n log n) BPE against the plain quadratic one: the same ids for thousands of words (letters,
 * repeats that merge in chains, bytes of multi-byte characters), and a long word in linear-ish time. */
static void bpe_fast_vs_plain(Tokenizer *t) {
    static const char *ALPHA[] = {"a", "b", "e", "t", "h", "th", "in", "er", "an", " ", "\xC3\xA9", "\xE6\x97\xA5", "0", "1", "'", "."};
    unsigned seed = 7;
    int *a = malloc(sizeof(int) * 4096), *b = malloc(sizeof(int) * 4096), bad = 0;
    unsigned char word[4096];
    for (int w = 0; w < 4000; w++) {
        int n = 0, len = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 300;
        while (n < len) {
            const char *p = ALPHA[((seed = seed * 1103515245 + 12345) >> 16) % 16];
            int l = (int)strlen(p);
            if (n + l > 4000) break;
            memcpy(word + n, p, (size_t)l), n += l;
        }
        int na = tok_bpe(t, word, n, a), nb = tok_bpe_plain(t, word, n, b);
        bad += na != nb || memcmp(a, b, sizeof(int) * (size_t)na) != 0;
    }
    CHECK(bad == 0, "the fast BPE gives the plain BPE's ids on 4000 random words (%d differ)", bad);
    /* aaaa... merges in chains: the hardest case for the order of equal ranks */
    for (int n = 1; n < 300; n++) {
        memset(word, 'a', (size_t)n);
        int na = tok_bpe(t, word, n, a), nb = tok_bpe_plain(t, word, n, b);
        if (na != nb || memcmp(a, b, sizeof(int) * (size_t)na)) bad++;
    }
    CHECK(bad == 0, "runs of one letter merge the same way");
    free(a);
    free(b);
    /* a 1 MB word (no spaces) encodes in time linear in its length, not quadratic: timed against a word 16
     * times shorter in the same run (a ratio, so no machine's speed is assumed; linear gives about 16,
     * quadratic 256) */
    size_t big = 1 << 20, small = big / 16;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++) text[i] = "abcdefghij"[(i * 7 + i / 3) % 10];
    text[big] = 0;
    int *ids = NULL, n = 0;
    Err err;
    double best_small = 1e9;
    for (int rep = 0; rep < 3; rep++) { /* the quickest of three: the least disturbed by the machine */
        double t0 = now_seconds();
        int *sids = NULL, sn = 0;
        if (tok_encode(t, text, small, 0, &sids, &sn, &err) == 0 && now_seconds() - t0 < best_small) best_small = now_seconds() - t0;
        free(sids);
    }
    double t0 = now_seconds();
    int rc = tok_encode(t, text, big, 0, &ids, &n, &err);
    double sec = now_seconds() - t0;
    CHECK(rc == 0 && n > 0, "a 1 MB word encodes");
    CHECK(sec < 64 * best_small + 0.05, "a 1 MB word takes %.0fx the time of a 64 KB one (%.3f s vs %.4f s; linear is about 16x, "
          "quadratic 256x)", sec / best_small, sec, best_small);
    char *back = rc == 0 ? tok_decode(t, ids, n) : NULL;
    CHECK(back && strcmp(back, text) == 0, "and decodes back");
    free(back);
    free(ids);
    free(text);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_tokenizer MODELS_DIR TESTS_DIR\n");
        return 2;
    }
    Err err;
    char *dir = path_join(argv[1], "tokenizer");
    Tokenizer *t = tok_load(dir, &err);
    free(dir);
    CHECK(t != NULL, "load: %s", err.msg);
    if (!t) return check_report("tokenizer");
    char *vec = path_join(argv[2], "tokenizer-vectors.json"), *sample = path_join(argv[2], "data/sample.txt");
    vectors_file(t, vec);
    published_vectors(t);
    round_trip_file(t, sample);
    invalid_utf8(t);
    display_text(t);
    bad_files();
    bpe_fast_vs_plain(t);
    free(vec);
    free(sample);
    tok_free(t);
    return check_report("tokenizer");
}
