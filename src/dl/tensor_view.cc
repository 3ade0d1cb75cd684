#include "src/dl/tensor_view.h"

#include <arrow/api.h>

#include <limits>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

Result<torch::ScalarType> TorchType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::FLOAT: return torch::kFloat32;
    case arrow::Type::DOUBLE: return torch::kFloat64;
    case arrow::Type::INT32: return torch::kInt32;
    case arrow::Type::INT64: return torch::kInt64;
    default:
      return Status::InvalidArgument("cannot view an Arrow column of type ", type.ToString(),
                                     " as a tensor (float32, float64, int32 or int64)");
  }
}

// Copies rows into a float tensor (float64 unless the column is float32), nulls as NaN.
template <typename ArrowArray, typename Out>
void CopyInto(const ArrowArray& a, Out* out) {
  for (int64_t i = 0; i < a.length(); ++i) {
    out[i] = a.IsNull(i) ? std::numeric_limits<Out>::quiet_NaN() : static_cast<Out>(a.Value(i));
  }
}

template <typename Out>
void CopyArray(const arrow::Array& array, Out* out) {
  switch (array.type_id()) {
    case arrow::Type::FLOAT: CopyInto(static_cast<const arrow::FloatArray&>(array), out); break;
    case arrow::Type::DOUBLE: CopyInto(static_cast<const arrow::DoubleArray&>(array), out); break;
    case arrow::Type::INT32: CopyInto(static_cast<const arrow::Int32Array&>(array), out); break;
    default: CopyInto(static_cast<const arrow::Int64Array&>(array), out); break;
  }
}

Result<ColumnTensor> CopyChunks(const arrow::ArrayVector& chunks,
                                const std::shared_ptr<arrow::DataType>& type, int64_t rows) {
  DRC_ASSIGN_OR_RETURN(auto torch_type, TorchType(*type));
  (void)torch_type;
  const bool f32 = type->id() == arrow::Type::FLOAT;
  return Guard("copying an Arrow column of " + std::to_string(rows) + " rows", [&] {
    ColumnTensor out;
    out.copied = true;
    out.tensor = torch::empty({rows}, f32 ? torch::kFloat32 : torch::kFloat64);
    int64_t at = 0;
    for (const auto& chunk : chunks) {
      if (f32) {
        CopyArray(*chunk, out.tensor.data_ptr<float>() + at);
      } else {
        CopyArray(*chunk, out.tensor.data_ptr<double>() + at);
      }
      at += chunk->length();
    }
    return out;
  });
}

}  // namespace

Result<ColumnTensor> ArrayAsTensor(const std::shared_ptr<arrow::Array>& array) {
  if (!array) return Status::InvalidArgument("ArrayAsTensor: null array");
  DRC_ASSIGN_OR_RETURN(auto torch_type, TorchType(*array->type()));
  if (array->null_count() > 0) return CopyChunks({array}, array->type(), array->length());
  const auto& values = array->data()->buffers[1];
  const int64_t width =
      array->type_id() == arrow::Type::FLOAT || array->type_id() == arrow::Type::INT32 ? 4 : 8;
  // Arrow's memory is immutable; the tensor is documented read-only.
  void* data = values ? const_cast<uint8_t*>(values->data()) + array->offset() * width : nullptr;
  return Guard("viewing an Arrow column as a tensor", [&] {
    ColumnTensor out;
    std::shared_ptr<arrow::Array> keep = array;
    out.tensor = torch::from_blob(
        data, {array->length()}, [keep](void*) mutable { keep.reset(); },
        torch::TensorOptions().dtype(torch_type));
    return out;
  });
}

Result<ColumnTensor> ColumnAsTensor(const std::shared_ptr<arrow::ChunkedArray>& column) {
  if (!column) return Status::InvalidArgument("ColumnAsTensor: null column");
  arrow::ArrayVector nonempty;
  for (const auto& chunk : column->chunks()) {
    if (chunk->length() > 0) nonempty.push_back(chunk);
  }
  if (nonempty.size() == 1) return ArrayAsTensor(nonempty[0]);
  if (nonempty.empty()) {
    DRC_ASSIGN_OR_RETURN(auto torch_type, TorchType(*column->type()));
    return ColumnTensor{torch::empty({0}, torch_type), false};
  }
  return CopyChunks(nonempty, column->type(), column->length());
}

}  // namespace drc::dl
