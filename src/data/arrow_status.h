// The one adapter from arrow::Status to drc::Status (internal to the data layer).
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "drc/common/result.h"
#include "drc/common/status.h"

namespace arrow {
class Buffer;
class MemoryPool;
}  // namespace arrow

namespace drc::data {

Status FromArrow(const arrow::Status& status, std::string_view context = {});

// arrow::AllocateBuffer(bytes, pool) as a shared buffer (null pool: Arrow's default); a failure
// is FromArrow(its status, context).
Result<std::shared_ptr<arrow::Buffer>> AllocateShared(int64_t bytes, arrow::MemoryPool* pool,
                                                      std::string_view context);

}  // namespace drc::data

#define DRC_ARROW_RETURN_NOT_OK(expr, context)                                      \
  do {                                                                              \
    ::arrow::Status _drc_arrow_st = (expr);                                         \
    if (!_drc_arrow_st.ok()) return ::drc::data::FromArrow(_drc_arrow_st, context); \
  } while (false)

#define DRC_ARROW_ASSIGN_OR_RETURN(lhs, rexpr, context)                                     \
  auto DRC_CONCAT(_drc_arrow_res_, __LINE__) = (rexpr);                                     \
  if (!DRC_CONCAT(_drc_arrow_res_, __LINE__).ok())                                          \
    return ::drc::data::FromArrow(DRC_CONCAT(_drc_arrow_res_, __LINE__).status(), context); \
  lhs = std::move(DRC_CONCAT(_drc_arrow_res_, __LINE__)).ValueOrDie()
