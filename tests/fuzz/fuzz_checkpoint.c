/* fuzz_checkpoint.c - a model folder: model.safetensors, then (after a "\n====\n" line) config.json
 * (none when the input has no such line). Loading succeeds with a usable model, or fails with one
 * line; sizes are never taken on trust. */
#include "fuzz.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    size_t n1, n2;
    const uint8_t *p2;
    fuzz_split(data, n, &n1, &p2, &n2);
    fuzz_file("model.safetensors", data, n1);
    fuzz_file("config.json", n2 || p2 != data + n ? p2 : NULL, n2);
    Gpt2Model m;
    Err err;
    if (gpt2_load(&m, fuzz_dir(), &err) == 0) {
        const Gpt2Config *c = &m.cfg;
        if (c->n_layer < 1 || c->n_head < 1 || c->n_embd < 1 || c->n_embd % c->n_head || c->n_ctx < 1 || c->n_vocab < 1) {
            fprintf(stderr, "loaded with n_layer %d n_head %d n_embd %d n_ctx %d n_vocab %d\n", c->n_layer, c->n_head,
                    c->n_embd, c->n_ctx, c->n_vocab);
            abort(); /* a loaded model has sizes a forward pass can use */
        }
        gpt2_free(&m);
    } else if (strchr(err.msg, '\n') || strchr(err.msg, '\033')) {
        abort(); /* one line, no terminal escapes */
    }
    return 0;
}
