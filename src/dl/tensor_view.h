// Arrow columns as libtorch tensors, without a copy where the memory allows it.
//
// A single-chunk float32/float64/int32/int64 column without nulls becomes a 1-D tensor over the
// Arrow buffer itself (torch::from_blob); the tensor's deleter holds the Arrow array, so the
// buffer lives as long as any tensor sharing it. Arrow memory is immutable: treat such tensors
// as read-only (an in-place op on them is a bug). Other columns (several chunks, nulls) are
// copied into a fresh float tensor, nulls as NaN, and the result says so. Internal to src/dl.
#pragma once

#include <arrow/type_fwd.h>
#include <torch/types.h>

#include <memory>

#include "drc/common/result.h"

namespace drc::dl {

struct ColumnTensor {
  torch::Tensor tensor;  // 1-D, length = rows
  bool copied = false;   // false: the tensor views the Arrow buffer
};

// Views (or copies, see above) one array. Types other than float32/float64/int32/int64 are
// InvalidArgument naming the type.
Result<ColumnTensor> ArrayAsTensor(const std::shared_ptr<arrow::Array>& array);
// A chunked column: zero-copy when it has one chunk (or all rows in one), else a copy.
Result<ColumnTensor> ColumnAsTensor(const std::shared_ptr<arrow::ChunkedArray>& column);

}  // namespace drc::dl
