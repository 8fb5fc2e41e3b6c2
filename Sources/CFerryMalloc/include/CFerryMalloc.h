#ifndef CFERRY_MALLOC_H
#define CFERRY_MALLOC_H

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
/// Fixes glibc's mmap threshold (disabling its dynamic growth); returns 1 on success.
static inline int ferry_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
#else
static inline int ferry_set_mmap_threshold(int bytes) { (void)bytes; return 0; }
#endif

#endif
