// The categories of a categorical exogenous column (ForecastConfig::cat_exog) and their codes,
// as NeuralForecast 3.3's vocabulary (core.py `_build_categorical_vocab`): the distinct non-null
// values of the training rows, sorted (numbers and booleans by value, text by its bytes, as
// Python sorts str), are coded 1, 2, ... in that order; any other value, and a null, is 0 (the
// unseen category, categorical.h). Internal to src/dl.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "drc/common/result.h"
#include "drc/data/context.h"

namespace drc::dl {

class CategoryCodes {
 public:
  // The categories of `table`'s column `name` over the rows [first, second) of `rows`.
  // InvalidArgument when the column is missing or of a type that holds no categories (text,
  // integers, floating-point numbers and booleans do), or when those rows hold no value.
  static Result<CategoryCodes> Of(const data::TablePtr& table, const std::string& name,
                                  const std::vector<std::pair<int64_t, int64_t>>& rows);

  // The code of every row of `table`'s column `name` (another table may be given, e.g. the
  // future values; its column must hold the same kind of values).
  Result<std::vector<double>> Codes(const data::TablePtr& table, const std::string& name) const;

  int cardinality() const {
    return static_cast<int>(text_ ? text_codes_.size() : number_codes_.size());
  }

 private:
  bool text_ = false;
  std::map<std::string, int> text_codes_;
  std::map<double, int> number_codes_;
};

}  // namespace drc::dl
