#include "src/dl/tensor_view.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <cmath>

namespace drc::dl {
namespace {

template <typename Builder>
std::shared_ptr<arrow::Array> Make(const std::vector<double>& values, bool null_second = false) {
  Builder b;
  for (size_t i = 0; i < values.size(); ++i) {
    if (null_second && i == 1) {
      EXPECT_TRUE(b.AppendNull().ok());
    } else {
      EXPECT_TRUE(b.Append(static_cast<typename Builder::value_type>(values[i])).ok());
    }
  }
  return b.Finish().ValueOrDie();
}

TEST(TensorView, Float64ColumnIsViewedWithoutCopy) {
  auto array = Make<arrow::DoubleBuilder>({1, 2, 3, 4});
  const double* raw = std::static_pointer_cast<arrow::DoubleArray>(array)->raw_values();
  auto view = ArrayAsTensor(array);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_FALSE(view->copied);
  EXPECT_EQ(view->tensor.data_ptr<double>(), raw);  // pointer identity: the Arrow buffer
  EXPECT_EQ(view->tensor.scalar_type(), torch::kFloat64);
  EXPECT_DOUBLE_EQ(view->tensor.sum().item<double>(), 10.0);
}

TEST(TensorView, TheTensorKeepsTheArrowBufferAlive) {
  auto array = Make<arrow::FloatBuilder>({5, 6, 7});
  const float* raw = std::static_pointer_cast<arrow::FloatArray>(array)->raw_values();
  auto chunked = std::make_shared<arrow::ChunkedArray>(array);
  auto view = ColumnAsTensor(chunked);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_FALSE(view->copied);
  EXPECT_EQ(view->tensor.data_ptr<float>(), raw);
  array.reset();
  chunked.reset();  // only the tensor holds the buffer now
  EXPECT_FLOAT_EQ(view->tensor[2].item<float>(), 7.0f);
}

TEST(TensorView, SlicedArrayViewsItsOffset) {
  auto array = Make<arrow::DoubleBuilder>({1, 2, 3, 4, 5})->Slice(2, 2);
  auto view = ArrayAsTensor(array);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_FALSE(view->copied);
  EXPECT_EQ(view->tensor.data_ptr<double>(),
            std::static_pointer_cast<arrow::DoubleArray>(array)->raw_values());
  EXPECT_DOUBLE_EQ(view->tensor[0].item<double>(), 3.0);
}

TEST(TensorView, NullsAndChunksAreCopiedAndSaySo) {
  auto with_null = ArrayAsTensor(Make<arrow::DoubleBuilder>({1, 2, 3}, /*null_second=*/true));
  ASSERT_TRUE(with_null.ok()) << with_null.status();
  EXPECT_TRUE(with_null->copied);
  EXPECT_TRUE(std::isnan(with_null->tensor[1].item<double>()));
  EXPECT_DOUBLE_EQ(with_null->tensor[2].item<double>(), 3.0);

  auto chunked = std::make_shared<arrow::ChunkedArray>(
      arrow::ArrayVector{Make<arrow::Int64Builder>({1, 2}), Make<arrow::Int64Builder>({3})});
  auto view = ColumnAsTensor(chunked);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_TRUE(view->copied);
  EXPECT_EQ(view->tensor.numel(), 3);
  EXPECT_DOUBLE_EQ(view->tensor.sum().item<double>(), 6.0);
}

TEST(TensorView, RejectsOtherTypes) {
  arrow::StringBuilder b;
  ASSERT_TRUE(b.Append("x").ok());
  auto view = ArrayAsTensor(b.Finish().ValueOrDie());
  ASSERT_FALSE(view.ok());
  EXPECT_NE(view.status().message().find("string"), std::string::npos);
}

}  // namespace
}  // namespace drc::dl
