// The row-expression language (expr.h): values computed and rows filtered through data::Project
// and data::Filter on a small table, checked by hand; and its errors.
#include "drc/data/expr.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "drc/data/io.h"
#include "drc/data/ops.h"
#include "src/data/testing/random_table.h"

namespace drc::data {
namespace {

class ExpressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = std::filesystem::temp_directory_path() /
                      ("drc_expr_" + std::to_string(::getpid()) + ".csv");
    std::ofstream(path) << "id,ds,y,flow,area,prcp(mm/day)\n"
                           "A,2001-01-31,1,1.5,3,0\n"
                           "B,2001-02-28,2,2.5,4,1\n"
                           "C,2001-03-31,,3.5,5,2\n"
                           "D,2001-04-30,4,-1,6,3\n";
    CsvOptions options;
    options.column_types["ds"] = "timestamp[s]";
    auto table = ReadCsv(path.string(), options);
    std::filesystem::remove(path);
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *table;
  }

  // The ids of the rows where `text` is true.
  std::vector<std::string> Where(const std::string& text) const {
    auto expr = ParseExpression(text, *table_->schema());
    if (!expr.ok()) return {expr.status().ToString()};
    auto kept = Filter(table_, *expr);
    if (!kept.ok()) return {kept.status().ToString()};
    return testing::ColumnTexts(**kept, "id");
  }

  // `text`'s value per row, as text.
  std::vector<std::string> Values(const std::string& text) const {
    auto expr = ParseExpression(text, *table_->schema());
    if (!expr.ok()) return {expr.status().ToString()};
    auto out = Project(table_, {*expr}, {"v"});
    if (!out.ok()) return {out.status().ToString()};
    return testing::ColumnTexts(**out, "v");
  }

  std::string ErrorOf(const std::string& text) const {
    auto expr = ParseExpression(text, *table_->schema());
    return expr.ok() ? "(parsed)" : expr.status().message();
  }

  TablePtr table_;
};

using Strings = std::vector<std::string>;

TEST_F(ExpressionTest, FiltersRows) {
  EXPECT_EQ(Where("y >= 2"), (Strings{"B", "D"}));  // C's null y: dropped
  EXPECT_EQ(Where("y >= 2 and id != 'D'"), (Strings{"B"}));
  EXPECT_EQ(Where("id == \"A\" or flow < 0"), (Strings{"A", "D"}));
  EXPECT_EQ(Where("not (flow > 2) and not is_null(y)"), (Strings{"A", "D"}));
  EXPECT_EQ(Where("is_null(y)"), (Strings{"C"}));
  EXPECT_EQ(Where("ds >= '2001-02-28' and ds < '2001-04-01'"), (Strings{"B", "C"}));
  EXPECT_EQ(Where("`prcp(mm/day)` > 1"), (Strings{"C", "D"}));
  EXPECT_EQ(Where("true"), (Strings{"A", "B", "C", "D"}));
  EXPECT_EQ(Where("y == null"), Strings{});  // a null compares as null
  // Precedence: * before +, comparisons before and/or.
  EXPECT_EQ(Where("area - 1 * 2 == 2 or area == 1 + 2 * 2 + 1"), (Strings{"B", "D"}));
}

TEST_F(ExpressionTest, ComputesValues) {
  // Integers divide in float64, as pandas divides.
  EXPECT_EQ(Values("y / area"),
            (Strings{"0.3333333333333333", "0.5", "null", "0.6666666666666666"}));
  EXPECT_EQ(Values("flow * 2 - -1"), (Strings{"4", "6", "8", "-1"}));
  EXPECT_EQ(Values("(y + 1) * 10"), (Strings{"20", "30", "null", "50"}));
  EXPECT_EQ(Values("coalesce(y, 0)"), (Strings{"1", "2", "0", "4"}));
  EXPECT_EQ(Values("abs(flow)"), (Strings{"1.5", "2.5", "3.5", "1"}));
  EXPECT_EQ(Values("round(sqrt(area) * 1000)"), (Strings{"1732", "2000", "2236", "2449"}));
  EXPECT_EQ(Values("round(log(area) * 100) / 100"), (Strings{"1.1", "1.39", "1.61", "1.79"}));
  EXPECT_EQ(Values("1.5e1 + .5"), (Strings{"15.5", "15.5", "15.5", "15.5"}));
  // An integer column with a fractional number is float64. Arrow alone binds `area * 0.5` in
  // float32 (0.5 is exact there), and adding 16777216 would then round to whole numbers.
  EXPECT_EQ(Values("area * 0.5 + 16777216"),
            (Strings{"16777217.5", "16777218", "16777218.5", "16777219"}));
  EXPECT_EQ(Values("area * 0.1"),
            (Strings{"0.30000000000000004", "0.4", "0.5", "0.6000000000000001"}));
  EXPECT_EQ(Where("area > 4.5"), (Strings{"C", "D"}));
}

TEST_F(ExpressionTest, DatePartsAndDays) {
  EXPECT_EQ(Values("year(ds)"), (Strings{"2001", "2001", "2001", "2001"}));
  EXPECT_EQ(Values("month(ds) * 100 + day(ds)"), (Strings{"131", "228", "331", "430"}));
  EXPECT_EQ(Values("quarter(ds)"), (Strings{"1", "1", "1", "2"}));
  // Monday is 0, as pandas' dayofweek: 2001-01-31 was a Wednesday.
  EXPECT_EQ(Values("day_of_week(ds)"), (Strings{"2", "2", "5", "0"}));
  EXPECT_EQ(Values("day_of_year(ds)"), (Strings{"31", "59", "90", "120"}));
  EXPECT_EQ(Values("week(ds)"), (Strings{"5", "9", "13", "18"}));
  EXPECT_EQ(Values("hour(ds)"), (Strings{"0", "0", "0", "0"}));
  EXPECT_EQ(Values("days_between('2001-01-01', ds)"), (Strings{"30", "58", "89", "119"}));
  EXPECT_EQ(Values("days_between(ds, date('2001-03-01'))"), (Strings{"29", "1", "-30", "-60"}));
  EXPECT_EQ(Values("date(ds)"), (Strings{"2001-01-31", "2001-02-28", "2001-03-31", "2001-04-30"}));
  EXPECT_EQ(Where("month(ds) >= 3"), (Strings{"C", "D"}));
  // Whole days later (or earlier), in the column's type; a date stays a date.
  EXPECT_EQ(Values("add_days(ds, 1)"), (Strings{"2001-02-01 00:00:00", "2001-03-01 00:00:00",
                                                "2001-04-01 00:00:00", "2001-05-01 00:00:00"}));
  EXPECT_EQ(Values("add_days(date(ds), -y)"),
            (Strings{"2001-01-30", "2001-02-26", "null", "2001-04-26"}));
  EXPECT_EQ(Where("add_days(ds, area * 10) > '2001-04-20'"), (Strings{"C", "D"}));
  EXPECT_EQ(ErrorOf("add_days(id, 1)"),
            "'add_days(id, 1)' at 10: expected a date or a time stamp here: add_days(date, days) "
            "(it is string)");
  EXPECT_EQ(ErrorOf("add_days(ds, 1.5)"),
            "'add_days(ds, 1.5)' at 14: expected a whole number of days here: add_days(date, "
            "days) (it is double)");
}

TEST_F(ExpressionTest, TextFunctions) {
  EXPECT_EQ(Values("lower(id)"), (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(Values("upper(lower(id))"), (Strings{"A", "B", "C", "D"}));
  EXPECT_EQ(Values("length(text(flow))"), (Strings{"3", "3", "3", "2"}));
  EXPECT_EQ(Values("text(flow)"), (Strings{"1.5", "2.5", "3.5", "-1"}));
  EXPECT_EQ(Values("substr(text(ds), 1, 7)"),
            (Strings{"2001-01", "2001-02", "2001-03", "2001-04"}));
  EXPECT_EQ(Values("substr('01022500', 2, 3)"), (Strings{"102", "102", "102", "102"}));
  EXPECT_EQ(Values("replace(text(flow), '.', ',')"), (Strings{"1,5", "2,5", "3,5", "-1"}));
  EXPECT_EQ(Values("strip('  x ')"), (Strings{"x", "x", "x", "x"}));
  EXPECT_EQ(Where("contains(text(flow), '.5')"), (Strings{"A", "B", "C"}));
  // RE2's syntax, matched anywhere in the text unless anchored.
  EXPECT_EQ(Where("matches(text(ds), '-0[23]-')"), (Strings{"B", "C"}));
  EXPECT_EQ(Where("matches(id, '^[AB]$')"), (Strings{"A", "B"}));
  EXPECT_EQ(Values("replace_regex(text(ds), '^(\\d+)-(\\d+)-.*', '\\2/\\1')"),
            (Strings{"01/2001", "02/2001", "03/2001", "04/2001"}));
  // A pattern that RE2 refuses is an error when the expression is parsed, at the pattern.
  EXPECT_EQ(ErrorOf("matches(id, '(')"),
            "'matches(id, '(')' at 13: not a regular expression: missing ): (");
  EXPECT_FALSE(CheckExpressionSyntax("matches(id, '(')").ok());
  EXPECT_EQ(Where("starts_with(text(ds), '2001-0') and ends_with(text(day(ds)), '1')"),
            (Strings{"A", "C"}));
}

TEST_F(ExpressionTest, ConditionsCastsMinAndMax) {
  EXPECT_EQ(Values("if_else(flow > 2, y, 0)"), (Strings{"0", "2", "null", "0"}));
  // The two values alike: an integer next to a fractional number is float64.
  EXPECT_EQ(Values("if_else(y >= 2, area, 0.5)"), (Strings{"0.5", "4", "null", "6"}));
  EXPECT_EQ(Values("if_else(is_null(y), 'none', id)"), (Strings{"A", "B", "none", "D"}));
  EXPECT_EQ(Values("if_else(flow < 0, '2000-01-01', ds) < '2001-01-01'"),
            (Strings{"false", "false", "false", "true"}));
  EXPECT_EQ(Values("int(flow * 2)"), (Strings{"3", "5", "7", "-2"}));
  // Truncated toward zero, as pandas' astype(int).
  EXPECT_EQ(Values("int(flow)"), (Strings{"1", "2", "3", "-1"}));
  EXPECT_EQ(Values("int(-flow)"), (Strings{"-1", "-2", "-3", "1"}));
  EXPECT_EQ(Values("float(area) / 2"), (Strings{"1.5", "2", "2.5", "3"}));
  EXPECT_EQ(Values("int('12') + 1"), (Strings{"13", "13", "13", "13"}));
  EXPECT_EQ(Values("min(flow, area, 2)"), (Strings{"1.5", "2", "2", "-1"}));
  EXPECT_EQ(Values("max(y, area)"), (Strings{"3", "4", "5", "6"}));  // a null is skipped
  EXPECT_EQ(Values("coalesce(y, 0.5)"), (Strings{"1", "2", "0.5", "4"}));
  // A text that is not a number fails when the rows are computed, saying which.
  const Strings bad = Values("int(id)");
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("Failed to parse string: '"), std::string::npos) << bad[0];
  EXPECT_NE(bad[0].find("as a scalar of type int64"), std::string::npos) << bad[0];
}

TEST_F(ExpressionTest, ErrorsNameTheCharacterAndWhatWasExpected) {
  EXPECT_EQ(ErrorOf("y >= zero"),
            "'y >= zero' at 6: no column 'zero' (the table has id, ds, y, flow, area, "
            "prcp(mm/day))");
  EXPECT_EQ(ErrorOf("y = 1"), "'y = 1' at 3: use == to compare");
  EXPECT_EQ(ErrorOf("y >"), "'y >' at 4: expected a value, a column or '('");
  EXPECT_EQ(ErrorOf("(y > 1"), "'(y > 1' at 7: expected ')'");
  EXPECT_EQ(ErrorOf("y > 1 1"), "'y > 1 1' at 7: unexpected '1'");
  const std::string sin = ErrorOf("sin(y)");
  EXPECT_EQ(sin.rfind("'sin(y)' at 1: unknown function 'sin' (the functions: abs, sqrt, ", 0), 0u)
      << sin;
  EXPECT_NE(sin.find(", substr, int, float, text, date)"), std::string::npos) << sin;
  EXPECT_EQ(ErrorOf("abs(y, 2)"), "'abs(y, 2)' at 1: expected abs(x)");
  EXPECT_EQ(ErrorOf("if_else(y > 1, y)"),
            "'if_else(y > 1, y)' at 1: expected if_else(condition, a, b)");
  EXPECT_EQ(ErrorOf("contains(id, flow)"),
            "'contains(id, flow)' at 14: expected a 'text' here: contains(text, 'part')");
  EXPECT_EQ(ErrorOf("substr(id, y, 2)"),
            "'substr(id, y, 2)' at 12: expected a whole number here: substr(text, start, length)");
  EXPECT_EQ(ErrorOf("substr(id, 0, 2)"), "'substr(id, 0, 2)' at 12: substr's start counts from 1");
  EXPECT_EQ(ErrorOf("substr(id, 1, -2)"), "'substr(id, 1, -2)' at 15: substr's length is negative");
  EXPECT_EQ(ErrorOf("replace(id, '', 'x')"),
            "'replace(id, '', 'x')' at 13: the text to replace is empty");
  const std::string year = ErrorOf("year(id)");
  EXPECT_EQ(year.rfind("'year(id)' at 1: cannot call year: ", 0), 0u) << year;
  const std::string lower = ErrorOf("lower(y)");
  EXPECT_EQ(lower.rfind("'lower(y)' at 1: cannot call lower: ", 0), 0u) << lower;
  const std::string contains = ErrorOf("contains(y, 'A')");
  EXPECT_NE(contains.find("(expected contains(text, 'part'))"), std::string::npos) << contains;
  const std::string date = ErrorOf("date(flow)");
  EXPECT_EQ(date.rfind("'date(flow)' at 1: cannot call date on a double: ", 0), 0u) << date;
  EXPECT_EQ(ErrorOf("ds > 'January'"), "'ds > 'January'' at 6: 'January' is not a timestamp[s]");
  EXPECT_EQ(ErrorOf("id == 'A"), "'id == 'A' at 7: no closing '");
  EXPECT_EQ(ErrorOf("y > 2x"), "'y > 2x' at 5: '2x' is not a number");
  EXPECT_EQ(ErrorOf("y and"), "'y and' at 6: expected a value, a column or '('");
  const std::string add = ErrorOf("id + 1");
  EXPECT_EQ(add.rfind("'id + 1' at 4: cannot add: ", 0), 0u) << add;
  // Syntax alone: the columns are not known yet.
  EXPECT_TRUE(CheckExpressionSyntax("y >= zero and `a b` < 1").ok());
  EXPECT_EQ(CheckExpressionSyntax("y >=").message(),
            "'y >=' at 5: expected a value, a column or '('");
}

// Random texts of the language's characters and words: each parses or is an InvalidArgument,
// never a crash or another error (run under the sanitizers by the dev preset).
TEST_F(ExpressionTest, AnyTextParsesOrIsAnInvalidArgument) {
  const std::vector<std::string> pieces = {"y",         "flow",
                                           "ds",        "`prcp(mm/day)`",
                                           "1",         "2.5",
                                           "1e3",       "'A'",
                                           "\"B\"",     "'2001-02-28'",
                                           "+",         "-",
                                           "*",         "/",
                                           "(",         ")",
                                           ",",         "==",
                                           "!=",        "<",
                                           "<=",        ">",
                                           ">=",        "=",
                                           "and",       "or",
                                           "not",       "null",
                                           "true",      "abs(",
                                           "coalesce(", "is_null(",
                                           "log(",      "'",
                                           "if_else(",  "substr(",
                                           "year(",     "contains(",
                                           "int(",      "date(",
                                           "`",         "@",
                                           " ",         "e",
                                           ".5",        "2x"};
  uint64_t state = 42;
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const int length = static_cast<int>((state >> 33) % 9);
    for (int k = 0; k < length; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      text += pieces[(state >> 33) % pieces.size()] + " ";
    }
    auto expr = ParseExpression(text, *table_->schema());
    if (expr.ok()) {
      ++parsed;
      continue;
    }
    EXPECT_EQ(expr.status().code(), StatusCode::kInvalidArgument) << text << ": " << expr.status();
    EXPECT_EQ(CheckExpressionSyntax(text).code() == StatusCode::kInvalidArgument ||
                  CheckExpressionSyntax(text).ok(),
              true)
        << text;
  }
  EXPECT_GT(parsed, 30);  // the mix is not all errors
}

}  // namespace
}  // namespace drc::data
