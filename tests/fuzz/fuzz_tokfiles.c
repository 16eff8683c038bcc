/* fuzz_tokfiles.c - the tokenizer's two files: the vocabulary, then (after a "\n====\n" line) the merges;
 * the input's first byte picks the file names (odd: vocab.json + merges.txt, even: encoder.json +
 * vocab.bpe). A vocabulary that loads encodes and decodes a sentence. */
#include "fuzz.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1) return 0;
    int hf = data[0] & 1;
    data++, n--;
    size_t n1, n2;
    const uint8_t *p2;
    fuzz_split(data, n, &n1, &p2, &n2);
    fuzz_file(hf ? "encoder.json" : "vocab.json", NULL, 0);
    fuzz_file(hf ? "vocab.bpe" : "merges.txt", NULL, 0);
    fuzz_file(hf ? "vocab.json" : "encoder.json", data, n1);
    fuzz_file(hf ? "merges.txt" : "vocab.bpe", p2, n2);
    Err err;
    Tokenizer *t = tok_load(fuzz_dir(), &err);
    if (!t) {
        if (strchr(err.msg, '\n') || strchr(err.msg, '\033')) abort(); /* one line, no terminal escapes */
        return 0;
    }
    int *ids = NULL, k = 0;
    static const char TEXT[] = "Once upon a time, the dragon's 3 eggs \xE6\x97\xA5\xE6\x9C\xAC!";
    if (tok_encode(t, TEXT, sizeof TEXT - 1, 1, &ids, &k, &err) == 0) {
        for (int i = 0; i < k; i++)
            if (ids[i] < 0 || ids[i] >= tok_vocab_size(t)) abort();
        free(tok_decode(t, ids, k));
        free(ids);
    }
    tok_free(t);
    return 0;
}
