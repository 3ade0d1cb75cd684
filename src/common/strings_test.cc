#include "drc/common/strings.h"

#include <gtest/gtest.h>

#include <cmath>

#include "drc/common/svg.h"

namespace drc {
namespace {

TEST(JsonEscape, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("l1\nl2\tx\r"), "l1\\nl2\\tx\\r");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f", 2)), "\\u0001\\u001f");
  EXPECT_EQ(JsonEscape("ünïcode"), "ünïcode");
}

TEST(SplitList, SplitsOnCommasAndDropsEmptyItems) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SplitList(""), V{});
  EXPECT_EQ(SplitList(","), V{});
  EXPECT_EQ(SplitList("NHITS"), V{"NHITS"});
  EXPECT_EQ(SplitList("NHITS,LSTM"), (V{"NHITS", "LSTM"}));
  EXPECT_EQ(SplitList(",a,,b,"), (V{"a", "b"}));
  EXPECT_EQ(SplitList(" a , b"), (V{" a ", " b"}));
}

TEST(JoinList, PutsTheSeparatorBetweenItems) {
  EXPECT_EQ(JoinList({}), "");
  EXPECT_EQ(JoinList({"MLP"}), "MLP");
  EXPECT_EQ(JoinList({"MLP", "LSTM", "TCN"}), "MLP, LSTM, TCN");
  EXPECT_EQ(JoinList({"a", "", "b"}, "|"), "a||b");
}

TEST(Svg, FormatNumPrintsNoNegativeZero) {
  EXPECT_EQ(FormatNum(-1e-17, "%.0f"), "0");
  EXPECT_EQ(FormatNum(-0.0, "%.2f"), "0.00");
  EXPECT_EQ(FormatNum(-0.5, "%.1f"), "-0.5");
  EXPECT_EQ(FormatNum(-10, "%g"), "-10");
  EXPECT_EQ(FormatNum(std::nan(""), "%g"), "");
}

}  // namespace
}  // namespace drc
