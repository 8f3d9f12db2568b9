#include "fmapeak.h"
#include <immintrin.h>

volatile float fmapeak_sink;

// Twelve independent accumulators cover FMA latency (4 cycles) × 2 ports with room to spare.
#define CHAINS 12

// Each kernel is compiled for its own instruction set and chosen at run time: CI machines differ (some have no
// AVX-512 at all), and a file-wide -mavx512f would let the compiler put AVX-512 into the fallback too.
__attribute__((target("avx512f,fma"))) static double f32_avx512(uint64_t iterations) {
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

__attribute__((target("avx2,fma"))) static double f32_avx2(uint64_t iterations) {
    __m256 acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (uint64_t n = 0; n < iterations; n++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 total = acc[0];
    for (int i = 1; i < CHAINS; i++) total = _mm256_add_ps(total, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    fmapeak_sink = lanes[0] + lanes[7];
    return (double)iterations * CHAINS * 8 * 2;
}

const char *fmapeak_f32_isa(void) { return __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2"; }

double fmapeak_f32(uint64_t iterations) {
    return __builtin_cpu_supports("avx512f") ? f32_avx512(iterations) : f32_avx2(iterations);
}

__attribute__((target("avx512f,avx512bf16,avx512bw,avx512vl"))) static double bf16_avx512(uint64_t iterations) {
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

double fmapeak_bf16(uint64_t iterations) {
    if (!__builtin_cpu_supports("avx512bf16")) return -1;
    return bf16_avx512(iterations);
}
