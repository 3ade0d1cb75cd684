// Small string helpers shared by several layers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace drc {

// Appends `s` to `out` escaped for use inside a JSON string (quotes not included).
void AppendJsonEscaped(std::string& out, std::string_view s);

inline std::string JsonEscape(std::string_view s) {
  std::string out;
  AppendJsonEscaped(out, s);
  return out;
}

// Splits a comma-separated list ("a,b,,c" -> {"a", "b", "c"}), or one with another separator;
// empty items are dropped, no white space is trimmed.
std::vector<std::string> SplitList(std::string_view text, char separator = ',');

// Joins items with `separator` ({"a", "b"} -> "a, b").
std::string JoinList(const std::vector<std::string>& items, std::string_view separator = ", ");

// The name in `known` closest to `name` within two edits (Levenshtein), or "" when none is
// (for "did you mean" hints).
std::string ClosestName(const std::string& name, const std::vector<std::string>& known);

}  // namespace drc
