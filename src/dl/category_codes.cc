#include "src/dl/category_codes.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

namespace drc::dl {

namespace {

bool IsNumeric(const arrow::DataType& type) {
  return arrow::is_integer(type.id()) || arrow::is_floating(type.id()) ||
         type.id() == arrow::Type::BOOL;
}

// The column's values, as numbers (NaN for a null) or as text (nullopt for a null).
struct Values {
  bool text = false;
  std::vector<double> numbers;
  std::vector<std::optional<std::string>> texts;
};

Result<Values> Read(const data::TablePtr& table, const std::string& name) {
  auto column = table->GetColumnByName(name);
  if (!column) {
    return Status::InvalidArgument("Forecast: no categorical column '", name, "'");
  }
  Values out;
  out.text = !IsNumeric(*column->type());
  auto cast = arrow::compute::Cast(column, out.text ? arrow::utf8() : arrow::float64());
  if (!cast.ok()) {
    return Status::InvalidArgument("Forecast: categorical column '", name, "' has type ",
                                   column->type()->ToString(),
                                   "; expected text, whole numbers or booleans");
  }
  for (const auto& chunk : cast->chunked_array()->chunks()) {
    if (out.text) {
      const auto& a = static_cast<const arrow::StringArray&>(*chunk);
      for (int64_t i = 0; i < a.length(); ++i) {
        out.texts.push_back(a.IsNull(i) ? std::nullopt
                                        : std::optional<std::string>(std::string(a.GetView(i))));
      }
    } else {
      const auto& a = static_cast<const arrow::DoubleArray&>(*chunk);
      for (int64_t i = 0; i < a.length(); ++i) {
        out.numbers.push_back(a.IsNull(i) ? std::nan("") : a.Value(i));
      }
    }
  }
  return out;
}

}  // namespace

Result<CategoryCodes> CategoryCodes::Of(const data::TablePtr& table, const std::string& name,
                                        const std::vector<std::pair<int64_t, int64_t>>& rows) {
  DRC_ASSIGN_OR_RETURN(const Values values, Read(table, name));
  CategoryCodes codes;
  codes.text_ = values.text;
  for (const auto& [begin, end] : rows) {
    for (int64_t row = begin; row < end; ++row) {
      if (values.text && values.texts[row]) codes.text_codes_.emplace(*values.texts[row], 0);
      if (!values.text && !std::isnan(values.numbers[row])) {
        codes.number_codes_.emplace(values.numbers[row], 0);
      }
    }
  }
  codes.Number();
  return codes;
}

void CategoryCodes::Number() {
  int next = 1;
  for (auto& entry : text_codes_) entry.second = next++;
  for (auto& entry : number_codes_) entry.second = next++;
}

Status CategoryCodes::Unite(comm::Communicator& comm, const std::string& name) {
  // Each rank's categories: 't' and each text as its length (4 bytes) and bytes, or 'n' and
  // each number's 8 bytes.
  std::string mine(1, text_ ? 't' : 'n');
  for (const auto& entry : text_codes_) {
    const auto size = static_cast<uint32_t>(entry.first.size());
    mine.append(reinterpret_cast<const char*>(&size), sizeof(size)).append(entry.first);
  }
  for (const auto& entry : number_codes_) {
    mine.append(reinterpret_cast<const char*>(&entry.first), sizeof(double));
  }
  DRC_ASSIGN_OR_RETURN(const auto all, comm::AllGatherStrings(comm, mine));
  for (size_t r = 0; r < all.size(); ++r) {
    const std::string& theirs = all[r];
    if (theirs.empty() || (theirs[0] == 't') != text_) {
      return Status::InvalidArgument("Forecast: categorical column '", name, "' holds ",
                                     text_ ? "text" : "numbers", " on rank ", comm.rank(), " and ",
                                     text_ ? "numbers" : "text", " on rank ", r);
    }
    for (size_t at = 1; at < theirs.size();) {
      if (text_) {
        uint32_t size = 0;
        std::memcpy(&size, theirs.data() + at, sizeof(size));
        text_codes_.emplace(theirs.substr(at + sizeof(size), size), 0);
        at += sizeof(size) + size;
      } else {
        double value = 0;
        std::memcpy(&value, theirs.data() + at, sizeof(value));
        number_codes_.emplace(value, 0);
        at += sizeof(value);
      }
    }
  }
  Number();
  return Status::OK();
}

Result<std::vector<double>> CategoryCodes::Codes(const data::TablePtr& table,
                                                 const std::string& name) const {
  DRC_ASSIGN_OR_RETURN(const Values values, Read(table, name));
  if (values.text != text_) {
    return Status::InvalidArgument("Forecast: categorical column '", name, "' holds ",
                                   values.text ? "text" : "numbers",
                                   " where the training rows "
                                   "hold ",
                                   text_ ? "text" : "numbers");
  }
  std::vector<double> out;
  if (text_) {
    out.reserve(values.texts.size());
    for (const auto& value : values.texts) {
      auto it = value ? text_codes_.find(*value) : text_codes_.end();
      out.push_back(it == text_codes_.end() ? 0 : it->second);
    }
  } else {
    out.reserve(values.numbers.size());
    for (double value : values.numbers) {
      // (find would take a NaN for the first key: NaN is unordered)
      auto it = std::isnan(value) ? number_codes_.end() : number_codes_.find(value);
      out.push_back(it == number_codes_.end() ? 0 : it->second);
    }
  }
  return out;
}

}  // namespace drc::dl
