/* isa/neon/neon.h -- the intrinsics header for the *_neon.c files.
 *
 * On ARM64 (Apple silicon, Graviton, Raspberry Pi 4 and up) NEON is part of the architecture:
 * those files compile with no flag and cpu.c offers the level without a probe.  A test build
 * made with CATTN_EMULATE_NEON=<SIMDe include dir> compiles the very same source on x86-64
 * against SIMDe's portable implementations of the NEON intrinsics, so that the NEON kernels'
 * logic -- tiles, edges, NaN and infinity rules -- runs under the test suite here (setup.py,
 * scripts/emulate.sh); tests/c/kernels_check.c runs them natively under qemu-aarch64.
 */
#ifndef CATTN_NEON_H
#define CATTN_NEON_H

#if defined(CATTN_EMULATE_NEON)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/arm/neon.h>
#else
#include <arm_neon.h>
#endif

#endif /* CATTN_NEON_H */
