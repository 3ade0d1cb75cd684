#include "drc/dl/allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace drc::dl {

bool KeepFreedMemoryForReuse() {
#if defined(__GLIBC__)
  constexpr int kMmapThreshold = 32 << 20;  // glibc's maximum on 64-bit
  constexpr int kTrimThreshold = 1 << 30;
  // mallopt returns 1 on success; setting the mmap threshold also stops glibc's own adjustment.
  // M_MMAP_MAX 0: no block is mapped on its own, so large ones are reused from the heap too.
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
         mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1 && mallopt(M_MMAP_MAX, 0) == 1;
#else
  return false;
#endif
}

}  // namespace drc::dl
