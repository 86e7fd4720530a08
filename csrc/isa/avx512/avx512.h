/* isa/avx512/avx512.h -- the intrinsics header for the files of isa/avx512/.
 *
 * A normal build compiles those files with -mavx512f -mavx512dq and the CPU's own instructions.
 * A test build made with CATTN_EMULATE_AVX512=<SIMDe include dir> compiles the very same source
 * against SIMDe's portable implementations of the same intrinsics (on AVX2), so that the AVX-512
 * kernels' logic -- tiles, edges, masks, numerics -- runs under the whole test suite on a machine
 * without AVX-512 (setup.py, .ci/run).  Nothing else differs between the two.
 *
 * So that the emulation tells the truth, the AVX-512 files use only instructions SIMDe reproduces
 * exactly: plain loads and stores, arithmetic and FMA, conversions, integer shifts, comparisons
 * into masks and masked moves.  Not masked loads/stores (SIMDe 0.8's masked store writes the whole
 * vector, past the end of a row), vscalef (SIMDe forms 2^n first, which overflows at n = 128) nor
 * vroundscale toward -inf (SIMDe rounded 511.5 to 511.5): each was tried and failed the tests
 * under emulation.
 */
#ifndef CATTN_AVX512_H
#define CATTN_AVX512_H

#if defined(CATTN_EMULATE_AVX512)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
/* SIMDe has no streaming store; an aligned store leaves the same bytes in memory */
#define _mm512_stream_ps(p, v) _mm512_store_ps((p), (v))
#define _mm512_stream_pd(p, v) _mm512_store_pd((p), (v))
#else
#include <immintrin.h>
#endif

#endif /* CATTN_AVX512_H */
