// Collective error agreement for the data layer's distributed functions (internal).
#pragma once

#include "drc/common/status.h"
#include "drc/data/context.h"

namespace drc::data::internal {

// Collective over ctx.comm(): OK on every rank if `local` is OK on every rank; otherwise an
// error on every rank — the failing rank keeps its own status, the others get the first failed
// rank's code and message prefixed with "rank R: ". Call it after each step that can fail
// locally, so that no rank returns while the others wait in a later collective.
Status AgreeOnStatus(const Context& ctx, const Status& local);

}  // namespace drc::data::internal
