/* fuzz_decode.c - any sequence of token ids (two bytes each) decoded by GPT-2's real tokenizer: the
 * text is valid UTF-8 (a cut-short character becomes U+FFFD), and streaming decode gives the same. */
#include "fuzz.h"

static Tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tok = fuzz_tokenizer();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    int k = (int)(n / 2), V = tok_vocab_size(tok);
    if (k > 4096) k = 4096;
    int *ids = malloc(sizeof(int) * (size_t)(k + 1));
    for (int i = 0; i < k; i++) ids[i] = (data[2 * i] | data[2 * i + 1] << 8) % V;
    size_t tlen;
    char *text = tok_decode_len(tok, ids, k, &tlen);
    size_t bad;
    if (!utf8_valid(text, tlen, &bad) || text[tlen]) abort();
    TokStream s;
    tok_stream_init(&s);
    size_t cap = tlen + 64, len = 0;
    char *acc = malloc(cap);
    for (int i = 0; i <= k; i++) {
        const char *piece = i < k ? tok_stream_push(&s, tok, ids[i]) : tok_stream_flush(&s);
        size_t m = s.len;
        if (len + m + 1 > cap) cap = (len + m + 1) * 2, acc = realloc(acc, cap);
        memcpy(acc + len, piece, m), len += m;
    }
    if (len != tlen || memcmp(acc, text, len) != 0) abort(); /* streaming = all at once, byte 0 included */
    free(acc);
    free(text);
    free(ids);
    return 0;
}
