// Context: what every data operation runs with — the communicator of the ranks that hold the
// table's partitions and the Arrow memory pool. No globals: pass the context explicitly.
//
// A Context does not own its communicator (the worker pool or the caller does) and is cheap to
// copy. A default Context is one rank with the default memory pool. Thread-compatible.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>

#include "drc/comm/communicator.h"

namespace drc::data {

using TablePtr = std::shared_ptr<arrow::Table>;

class Context {
 public:
  // One rank, no communicator, default pool.
  Context();
  // `comm` must outlive the context; nullptr means one rank.
  explicit Context(comm::Communicator* comm, arrow::MemoryPool* pool = nullptr);

  comm::Communicator* comm() const { return comm_; }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  int world_size() const { return comm_ ? comm_->size() : 1; }
  arrow::MemoryPool* pool() const { return pool_; }

 private:
  comm::Communicator* comm_;
  arrow::MemoryPool* pool_;
};

}  // namespace drc::data
