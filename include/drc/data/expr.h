// Row expressions written as text, as a pipeline file gives them ("y >= 0 and unique_id !=
// '01022500'", "flow * 2446.58 / area_m2"), parsed into Arrow compute expressions over a table's
// columns.
//
// The language, loosest binding first:
//   a or b    a and b    not a
//   a == b   a != b   a < b   a <= b   a > b   a >= b
//   a + b   a - b      a * b   a / b (always in float64, as pandas divides)      -a
//   (an integer next to a floating-point number: both in float64, as pandas; Arrow by itself
//   would compute an int64 column times 0.5 in float32)
//   numbers (1, 2.5, 1e-3), 'text' or "text", true, false, null, column names (letters, digits,
//   '_' and '.', not starting with a digit; any other name in `backticks`), (parentheses), and
//   the functions:
//   - numbers: abs sqrt exp log (natural) log10 log1p round; min(a, b, ...), max(a, b, ...)
//     (element-wise, nulls skipped)
//   - nulls and conditions: is_null(a), coalesce(a, b, ...), if_else(condition, a, b)
//   - dates and time stamps: year quarter month week (ISO) day day_of_week (Monday 0, as
//     pandas) day_of_year hour; days_between(from, to); add_days(date, days) (a whole number,
//     negative for earlier; the date's type: a time stamp of any unit, or a date)
//   - text: lower upper length strip; contains / starts_with / ends_with(text, 'part'),
//     replace(text, 'old', 'new'), substr(text, start from 1, length); matches(text, 'regex'),
//     replace_regex(text, 'regex', 'new') (RE2's syntax; \1 in 'new' for a group; a pattern
//     RE2 refuses is an error when parsed). Their 'part', 'old', 'new', patterns, start and
//     length are literals.
//   - casts: int(a) (fractions truncated toward zero, as pandas' astype(int); a text that is not
//     a whole number fails when the rows are computed), float(a), text(a), date(a) (a time
//     stamp's day, or a 'YYYY-MM-DD' text)
// A text literal compared with a date or time stamp column is read as a value of its type
// ("ds >= '2001-01-01'"), as it is next to one in if_else, min, max, coalesce and
// days_between; a date next to a time stamp there is its midnight. A null compares as null, and
// a filter drops such rows.
#pragma once

#include <arrow/compute/expression.h>
#include <arrow/type_fwd.h>

#include <string_view>

#include "drc/common/result.h"

namespace drc::data {

// `text` as an expression over `schema`'s columns (checked by binding it to the schema; the
// result is unbound, as data::Filter and data::Project take it). InvalidArgument naming the
// text, the character (from 1) and what was expected, or the unknown column and the table's
// columns: "'y >= zero' at 6: no column 'zero' (the table has unique_id, ds, y)".
Result<arrow::compute::Expression> ParseExpression(std::string_view text,
                                                   const arrow::Schema& schema);

// The syntax of `text` alone (columns and types unchecked): for checking a pipeline file before
// any table is read.
Status CheckExpressionSyntax(std::string_view text);

}  // namespace drc::data
