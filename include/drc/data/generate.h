// Seeded synthetic tables for benchmarks and tests (no test framework needed).
#pragma once

#include <cstdint>

#include "drc/data/context.h"

namespace drc::data {

// Cylon's benchmark shape: `rows` rows of int64 "key" uniform in [0, key_factor * rows) and
// int64 "value" uniform in [0, 2^31), from a generator seeded with `seed`.
TablePtr CylonTable(int64_t rows, double key_factor, uint64_t seed);

}  // namespace drc::data
