/* ReLU, inverted dropout and a 2x2 stride-2 max-pool as one pass each way, on NCHW float32 or
 * bfloat16 (as uint16). The same numbers as fastops._ReluDropoutPool, bit for bit:
 *   forward  v = drop ? 0 : round(max(x, 0) * scale)   (round: to x's type, nearest-even)
 *            z = the window's max, the first of equals, NaN wins; win = which of its 4 (0..3)
 *   backward gx[winner] = 0 + round((z > 0 ? grad : 0) * scale), 0 elsewhere
 * Built by native.py at first use with -ffp-contract=off (no fused multiply-add, which would
 * round once where torch rounds twice) and -fno-trapping-math (lets the compiler vectorise the
 * selects; no value changes). Loops are written as straight-line selects over rows so they
 * vectorise: the element-wise branches of a naive version mispredicted on ReLU's signs. */
#include <stdint.h>
#include <string.h>

#define MAXW 4096 /* widest map (native.py checks): two rows fit the stack's scratch */

static inline float bf2f(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline float same(float f) { return f; }
static inline uint16_t f2bf(float f) { /* as c10::BFloat16: nearest-even, NaN to 0x7FC0 */
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t r = (u + ((u >> 16) & 1) + 0x7FFF) >> 16, nan = 0u - (uint32_t)(f != f);
    return (uint16_t)((0x7FC0u & nan) | (r & ~nan)); /* branch-free: see stack_ */
}

/* one input row: ReLU, scale (rounded to the type), dropped elements 0 */
static void row_f32(const float* x, const uint8_t* d, float* v, int64_t n, float s) {
    for (int64_t w = 0; w < n; w++) {
        float a = x[w] < 0.0f ? 0.0f : x[w]; /* NaN stays NaN; -0 stays -0, as clamp_min */
        v[w] = d[w] ? 0.0f : a * s;
    }
}
static void row_bf16(const uint16_t* x, const uint8_t* d, float* v, int64_t n, float s) {
    for (int64_t w = 0; w < n; w++) {
        float a = bf2f(x[w]);
        a = a < 0.0f ? 0.0f : a;
        v[w] = d[w] ? 0.0f : bf2f(f2bf(a * s));
    }
}

/* pairs (v[2k], v[2k+1]) → their max (the first of equals; NaN wins, as torch's kernel) and
 * which (0, 1); over a block of whole rows when W is even, so this is one long loop */
static void pairs(const float* v, float* m, uint8_t* k, int64_t n) {
    for (int64_t q = 0; q < n; q++) {
        float a = v[2 * q], b = v[2 * q + 1];
        int c = (b > a) | (b != b);
        m[q] = c ? b : a;
        k[q] = (uint8_t)c;
    }
}
/* a window's top pair (mt, kt) against its bottom pair (mb, kb): the same winner as scanning
 * its 4 values in order (first max; the last NaN). Rows are short (13 outputs at 26x26), where
 * vector loops cost more in set-up than they save, so these run scalar; the choice is made with
 * bit masks, as a compiler turns a ?: on floats into a branch that random signs mispredict */
#define STACK(SUFFIX, T, STORE)                                                                   \
    __attribute__((optimize("no-tree-vectorize"))) static void stack_##SUFFIX(                  \
        const float* mt, const uint8_t* kt, const float* mb, const uint8_t* kb, T* z,           \
        uint8_t* win, int64_t n) {                                                               \
        for (int64_t j = 0; j < n; j++) {                                                        \
            uint32_t c = (uint32_t)((mb[j] > mt[j]) | (mb[j] != mb[j])), on = 0u - c, t, b;      \
            memcpy(&t, mt + j, 4);                                                               \
            memcpy(&b, mb + j, 4);                                                               \
            t = (b & on) | (t & ~on);                                                            \
            float best;                                                                          \
            memcpy(&best, &t, 4);                                                                \
            z[j] = STORE(best);                                                                  \
            win[j] = (uint8_t)(((2u + kb[j]) & on) | (kt[j] & ~on));                             \
        }                                                                                        \
    }
STACK(f32, float, same)
STACK(bf16, uint16_t, f2bf)

/* pooled gradients: thresholded where the window's max was not positive, scaled;
 * "0 +" turns -0 into +0, as the accumulation in max_pool2d's backward does */
static void grad_f32(const float* g, const float* z, float* s, int64_t n, float scale) {
    for (int64_t j = 0; j < n; j++) s[j] = 0.0f + (z[j] > 0.0f ? g[j] : 0.0f) * scale;
}
static void grad_bf16(const uint16_t* g, const uint16_t* z, float* s, int64_t n, float scale) {
    for (int64_t j = 0; j < n; j++)
        s[j] = 0.0f + bf2f(f2bf((bf2f(z[j]) > 0.0f ? bf2f(g[j]) : 0.0f) * scale));
}

/* planes = N*C; H, W the input map; H/2 × W/2 out (an odd last row or column is dropped).
 * Blocks of whole row pairs go through `scratch` floats at a time, so the passes are long loops */
#define SCRATCH 16384
#define KERNELS(SUFFIX, T, STORE)                                                                 \
    void rdp_forward_##SUFFIX(const T* x, const uint8_t* drop, T* z, uint8_t* win,               \
                              int64_t planes, int64_t H, int64_t W, float scale) {               \
        int64_t Ho = H / 2, Wo = W / 2, rows = SCRATCH / (2 * W);                                \
        float v[SCRATCH], m[SCRATCH / 2];                                                        \
        uint8_t k[SCRATCH / 2];                                                                  \
        for (int64_t p = 0; p < planes; p++)                                                     \
            for (int64_t i0 = 0; i0 < Ho; i0 += rows) {                                          \
                int64_t n = (i0 + rows < Ho ? rows : Ho - i0) * 2; /* input rows */              \
                int64_t at = (p * H + 2 * i0) * W;                                               \
                row_##SUFFIX(x + at, drop + at, v, n * W, scale);                                \
                if (W % 2 == 0)                                                                  \
                    pairs(v, m, k, n * Wo);                                                      \
                else                                                                             \
                    for (int64_t r = 0; r < n; r++) pairs(v + r * W, m + r * Wo, k + r * Wo, Wo); \
                for (int64_t r = 0; r < n; r += 2) {                                             \
                    int64_t out = (p * Ho + i0 + r / 2) * Wo;                                    \
                    stack_##SUFFIX(m + r * Wo, k + r * Wo, m + (r + 1) * Wo, k + (r + 1) * Wo,   \
                                   z + out, win + out, Wo);                                      \
                }                                                                                \
            }                                                                                    \
    }                                                                                            \
    void rdp_backward_##SUFFIX(const T* grad, const T* z, const uint8_t* win, T* gx,             \
                               int64_t planes, int64_t H, int64_t W, float scale) {              \
        int64_t Ho = H / 2, Wo = W / 2, total = planes * Ho * Wo;                                \
        int64_t i = 0, j = 0, at = 0; /* the window's row and column; its top-left in gx */      \
        float s[SCRATCH];                                                                        \
        memset(gx, 0, (size_t)(planes * H * W) * sizeof(T)); /* +0 in both types */             \
        for (int64_t q0 = 0; q0 < total; q0 += SCRATCH) {                                        \
            int64_t n = total - q0 < SCRATCH ? total - q0 : SCRATCH;                             \
            grad_##SUFFIX(grad + q0, z + q0, s, n, scale); /* one long loop */                   \
            for (int64_t e = 0; e < n; e++) { /* then each to its winner */                      \
                uint8_t t = win[q0 + e];                                                         \
                gx[at + (t >> 1) * W + (t & 1)] = STORE(s[e]);                                   \
                at += 2;                                                                         \
                if (++j == Wo) { /* next row of windows; an odd last column is skipped */        \
                    j = 0;                                                                       \
                    at += 2 * W - 2 * Wo;                                                        \
                    if (++i == Ho) { /* next plane; an odd last row is skipped */                \
                        i = 0;                                                                   \
                        at += (H - 2 * Ho) * W;                                                  \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }

KERNELS(f32, float, same)
KERNELS(bf16, uint16_t, f2bf)
