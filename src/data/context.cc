#include "drc/data/context.h"

#include <arrow/memory_pool.h>

namespace drc::data {

Context::Context() : Context(nullptr) {}

Context::Context(comm::Communicator* comm, arrow::MemoryPool* pool)
    : comm_(comm), pool_(pool != nullptr ? pool : arrow::default_memory_pool()) {}

}  // namespace drc::data
