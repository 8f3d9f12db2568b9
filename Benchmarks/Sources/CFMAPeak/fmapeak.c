#include "fmapeak.h"
#include <immintrin.h>

volatile float fmapeak_sink;

// Twelve independent accumulators cover FMA latency (4 cycles) × 2 ports with room to spare.
#define CHAINS 12

double fmapeak_f32(uint64_t iterations) {
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (uint64_t n = 0; n < iterations; n++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 total = acc[0];
    for (int i = 1; i < CHAINS; i++) total = _mm512_add_ps(total, acc[i]);
    fmapeak_sink = _mm512_reduce_add_ps(total);
    return (double)iterations * CHAINS * 16 * 2;
}

double fmapeak_bf16(uint64_t iterations) {
    if (!__builtin_cpu_supports("avx512bf16")) return -1;
    __m512 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380);
    for (uint64_t n = 0; n < iterations; n++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    __m512 total = acc[0];
    for (int i = 1; i < CHAINS; i++) total = _mm512_add_ps(total, acc[i]);
    fmapeak_sink = _mm512_reduce_add_ps(total);
    return (double)iterations * CHAINS * 16 * 2 * 2;
}
