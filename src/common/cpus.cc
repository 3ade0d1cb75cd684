#include "drc/common/cpus.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace drc {

int UsableCores() {
  const long configured = sysconf(_SC_NPROCESSORS_CONF);
  const int ncpu = std::max(configured > 0 ? static_cast<int>(configured) : 1, CPU_SETSIZE);
  int count = 0;
  if (cpu_set_t* set = CPU_ALLOC(ncpu); set != nullptr) {
    const size_t size = CPU_ALLOC_SIZE(ncpu);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) == 0) count = CPU_COUNT_S(size, set);
    CPU_FREE(set);
  }
  if (count <= 0) {
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    count = online > 0 ? static_cast<int>(online) : 1;
  }
  return count;
}

int DefaultThreads(int processes) {
  if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp != nullptr) {
    char* end = nullptr;
    const long n = std::strtol(omp, &end, 10);
    if (end != omp && *end == '\0' && n > 0 && n <= 1 << 16) return static_cast<int>(n);
  }
  return std::max(1, UsableCores() / std::max(1, processes));
}

}  // namespace drc
