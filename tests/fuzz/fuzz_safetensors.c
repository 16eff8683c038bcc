/* fuzz_safetensors.c - any bytes as a .safetensors file: st_open validates or refuses with a message;
 * every tensor it accepts can be read whole. */
#include "fuzz.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const char *p = fuzz_file("model.safetensors", data, n);
    StFile f;
    Err err;
    if (st_open(&f, p, &err) == 0) {
        for (int i = 0; i < f.n_tensors; i++) {
            const StTensor *t = &f.tensors[i];
            int64_t k = st_numel(t);
            if (k < 0 || k > (1 << 22) || st_dtype_bits(t->dtype) == 0) continue;
            float *out = malloc(sizeof(float) * (size_t)(k ? k : 1));
            st_read_f32(&f, t, out, &err);
            free(out);
        }
        st_close(&f);
    } else if (strchr(err.msg, '\n')) {
        abort(); /* a message is one line */
    }
    return 0;
}
