/* fuzz_encode.c - any bytes as text for GPT-2's real tokenizer (models/tokenizer). Oracles: invalid
 * UTF-8 is refused naming the byte; valid text encodes to ids in range that decode back to exactly
 * the text (with and without the special token), and decoding token by token (streaming) gives the
 * same text as decoding all at once. */
#include "fuzz.h"

static Tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tok = fuzz_tokenizer();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n > 1 << 16) return 0;
    const char *text = (const char *)data;
    size_t bad;
    int valid = utf8_valid(text, n, &bad);
    for (int special = 0; special < 2; special++) {
        int *ids = NULL, k = 0;
        Err err;
        int rc = tok_encode(tok, text, n, special, &ids, &k, &err);
        if (!valid) {
            if (rc == 0) abort(); /* invalid UTF-8 is refused */
            free(ids);
            continue;
        }
        if (rc != 0) abort();
        for (int i = 0; i < k; i++)
            if (ids[i] < 0 || ids[i] >= tok_vocab_size(tok)) abort();
        size_t blen;
        char *back = tok_decode_len(tok, ids, k, &blen);
        if (blen != n || memcmp(back, text, n) != 0) abort(); /* the round trip, a byte 0 included */
        /* streaming gives the same text */
        TokStream s;
        tok_stream_init(&s);
        size_t cap = n + 64, len = 0;
        char *acc = malloc(cap);
        for (int i = 0; i < k; i++) {
            const char *piece = tok_stream_push(&s, tok, ids[i]);
            size_t m = s.len;
            if (len + m + 1 > cap) cap = (len + m + 1) * 2, acc = realloc(acc, cap);
            memcpy(acc + len, piece, m), len += m;
        }
        const char *rest = tok_stream_flush(&s);
        size_t m = s.len;
        if (len + m + 1 > cap) cap = len + m + 1, acc = realloc(acc, cap);
        memcpy(acc + len, rest, m), len += m;
        if (len != n || memcmp(acc, text, n) != 0) abort();
        free(acc);
        free(back);
        free(ids);
    }
    return 0;
}
