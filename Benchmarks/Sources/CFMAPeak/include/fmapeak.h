#ifndef SPINEPLAN_FMAPEAK_H
#define SPINEPLAN_FMAPEAK_H
#include <stdint.h>

/// Runs `iterations` rounds of independent f32 FMA chains (AVX-512, or AVX2 on a CPU without it) on the calling thread
/// and returns the floating-point operations done (2 per lane per FMA). Time it from the caller.
double fmapeak_f32(uint64_t iterations);
/// The instruction set `fmapeak_f32` uses on this CPU: "AVX-512" or "AVX2".
const char *fmapeak_f32_isa(void);

/// The same with AVX512-BF16 dot products (vdpbf16ps: 2 bf16 multiply-adds into each f32 lane); returns FLOPs.
/// Returns -1 when the CPU lacks AVX512-BF16.
double fmapeak_bf16(uint64_t iterations);

/// Sink that keeps the compiler from discarding the kernels' results.
extern volatile float fmapeak_sink;

#endif
