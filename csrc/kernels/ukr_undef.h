/* kernels/ukr_undef.h -- included after each microkernel: forgets the names ukr.h's macros were
 * given (TY, VEC, W and the vector operations), so that the next kernel in the file defines its
 * own. */
#undef TY
#undef VEC
#undef W
#undef ZERO
#undef LOAD
#undef STORE
#undef BCAST
#undef FMA
#undef ADD
