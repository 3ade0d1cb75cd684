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

#include "drc/comm/communicator.h"
#include "drc/common/result.h"
#include "drc/data/context.h"

namespace drc::dl {

class CategoryCodes {
 public:
  // The categories of `table`'s column `name` over the rows [first, second) of `rows` (none
  // when those rows hold no value). InvalidArgument when the column is missing or of a type
  // that holds no categories (text, integers, floating-point numbers and booleans do).
  static Result<CategoryCodes> Of(const data::TablePtr& table, const std::string& name,
                                  const std::vector<std::pair<int64_t, int64_t>>& rows);

  // The categories of every rank's part of a partitioned table (collective): afterwards every
  // rank holds the union, coded alike. InvalidArgument on every rank when the ranks' columns
  // hold different kinds of values (text on one, numbers on another).
  Status Unite(comm::Communicator& comm, const std::string& name);

  // The code of every row of `table`'s column `name` (another table may be given, e.g. the
  // future values; its column must hold the same kind of values).
  Result<std::vector<double>> Codes(const data::TablePtr& table, const std::string& name) const;

  int cardinality() const {
    return static_cast<int>(text_ ? text_codes_.size() : number_codes_.size());
  }

 private:
  void Number();  // codes 1, 2, ... in sorted order

  bool text_ = false;
  std::map<std::string, int> text_codes_;
  std::map<double, int> number_codes_;
};

}  // namespace drc::dl
