// Whole files as text: read one, or write one so that it is never left half written under its
// name.
#pragma once

#include <string>
#include <string_view>

#include "drc/common/result.h"

namespace drc {

// The contents of `path`. NotFound "cannot read <what> <path>" when it cannot be opened.
Result<std::string> ReadTextFile(const std::string& path, std::string_view what = "file");

// Writes `text` to `path` through a file beside it that is renamed into place. IOError naming
// the path when it cannot be written.
Status WriteFileAtomically(const std::string& path, std::string_view text);

}  // namespace drc
