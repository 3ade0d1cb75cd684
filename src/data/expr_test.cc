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

TEST_F(ExpressionTest, ErrorsNameTheCharacterAndWhatWasExpected) {
  EXPECT_EQ(ErrorOf("y >= zero"),
            "'y >= zero' at 6: no column 'zero' (the table has id, ds, y, flow, area, "
            "prcp(mm/day))");
  EXPECT_EQ(ErrorOf("y = 1"), "'y = 1' at 3: use == to compare");
  EXPECT_EQ(ErrorOf("y >"), "'y >' at 4: expected a value, a column or '('");
  EXPECT_EQ(ErrorOf("(y > 1"), "'(y > 1' at 7: expected ')'");
  EXPECT_EQ(ErrorOf("y > 1 1"), "'y > 1 1' at 7: unexpected '1'");
  EXPECT_EQ(ErrorOf("sin(y)"),
            "'sin(y)' at 1: unknown function 'sin' (the functions: abs, sqrt, exp, log, log10, "
            "log1p, round, is_null, coalesce)");
  EXPECT_EQ(ErrorOf("abs(y, 2)"), "'abs(y, 2)' at 1: abs takes one value");
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
