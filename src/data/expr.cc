// The row-expression language of expr.h: a lexer and a recursive-descent parser that builds
// Arrow compute expressions, typed against the table's schema as it goes (for division in
// float64 and for text literals compared with dates).
#include "drc/data/expr.h"

#include <arrow/array/util.h>
#include <arrow/compute/api_scalar.h>
#include <arrow/compute/cast.h>
#include <arrow/compute/exec.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "drc/common/strings.h"

namespace drc::data {
namespace {

namespace cp = arrow::compute;

struct Token {
  enum Kind { kEnd, kNumber, kText, kName, kQuotedName, kSymbol };
  Kind kind = kEnd;
  std::string text;
  size_t pos = 0;
};

// How a function's arguments become Arrow's call.
enum class Form {
  kPlain,    // Arrow's function of the values
  kNumbers,  // the same, integers next to floating-point numbers in float64 (min, max)
  kIfElse,   // a condition, then two values made alike (as kNumbers, and text read as dates)
  kDates,    // values of one temporal type (text read as the other value's type)
  kPattern,  // a text value and a text literal: Arrow's MatchSubstringOptions
  kReplace,  // a text value and two text literals: ReplaceSubstringOptions
  kSubstr,   // a text value and two integer literals (start from 1, length): SliceOptions
  kCast,     // one value cast to the type named in `arrow`
  kAddDays,  // a time stamp or date and a whole number of days
};

struct FunctionSpec {
  const char* name;   // ours
  const char* arrow;  // Arrow's function (kCast: the type)
  int min_args;
  int max_args;  // -1: any number
  Form form;
  const char* usage;  // for errors
};

constexpr FunctionSpec kFunctions[] = {
    {"abs", "abs", 1, 1, Form::kPlain, "abs(x)"},
    {"sqrt", "sqrt", 1, 1, Form::kPlain, "sqrt(x)"},
    {"exp", "exp", 1, 1, Form::kPlain, "exp(x)"},
    {"log", "ln", 1, 1, Form::kPlain, "log(x)"},
    {"log10", "log10", 1, 1, Form::kPlain, "log10(x)"},
    {"log1p", "log1p", 1, 1, Form::kPlain, "log1p(x)"},
    {"round", "round", 1, 1, Form::kPlain, "round(x)"},
    {"is_null", "is_null", 1, 1, Form::kPlain, "is_null(x)"},
    {"coalesce", "coalesce", 1, -1, Form::kNumbers, "coalesce(a, b, ...)"},
    {"min", "min_element_wise", 1, -1, Form::kNumbers, "min(a, b, ...)"},
    {"max", "max_element_wise", 1, -1, Form::kNumbers, "max(a, b, ...)"},
    {"if_else", "if_else", 3, 3, Form::kIfElse, "if_else(condition, a, b)"},
    {"year", "year", 1, 1, Form::kPlain, "year(date)"},
    {"quarter", "quarter", 1, 1, Form::kPlain, "quarter(date)"},
    {"month", "month", 1, 1, Form::kPlain, "month(date)"},
    {"week", "iso_week", 1, 1, Form::kPlain, "week(date)"},
    {"day", "day", 1, 1, Form::kPlain, "day(date)"},
    {"day_of_week", "day_of_week", 1, 1, Form::kPlain, "day_of_week(date)"},
    {"day_of_year", "day_of_year", 1, 1, Form::kPlain, "day_of_year(date)"},
    {"hour", "hour", 1, 1, Form::kPlain, "hour(time)"},
    {"days_between", "days_between", 2, 2, Form::kDates, "days_between(from, to)"},
    {"add_days", "add_checked", 2, 2, Form::kAddDays, "add_days(date, days)"},
    {"lower", "utf8_lower", 1, 1, Form::kPlain, "lower(text)"},
    {"upper", "utf8_upper", 1, 1, Form::kPlain, "upper(text)"},
    {"length", "utf8_length", 1, 1, Form::kPlain, "length(text)"},
    {"strip", "utf8_trim_whitespace", 1, 1, Form::kPlain, "strip(text)"},
    {"contains", "match_substring", 2, 2, Form::kPattern, "contains(text, 'part')"},
    {"starts_with", "starts_with", 2, 2, Form::kPattern, "starts_with(text, 'part')"},
    {"ends_with", "ends_with", 2, 2, Form::kPattern, "ends_with(text, 'part')"},
    {"replace", "replace_substring", 3, 3, Form::kReplace, "replace(text, 'old', 'new')"},
    {"matches", "match_substring_regex", 2, 2, Form::kPattern, "matches(text, 'regex')"},
    {"replace_regex", "replace_substring_regex", 3, 3, Form::kReplace,
     "replace_regex(text, 'regex', 'new')"},
    {"substr", "utf8_slice_codeunits", 3, 3, Form::kSubstr, "substr(text, start, length)"},
    {"int", "int64", 1, 1, Form::kCast, "int(x)"},
    {"float", "float64", 1, 1, Form::kCast, "float(x)"},
    {"text", "utf8", 1, 1, Form::kCast, "text(x)"},
    {"date", "date32", 1, 1, Form::kCast, "date(x)"},
};

std::string FunctionNames() {
  std::vector<std::string> names;
  for (const FunctionSpec& f : kFunctions) names.emplace_back(f.name);
  return JoinList(names);
}

bool IsTemporal(const arrow::DataType& type) {
  return type.id() == arrow::Type::TIMESTAMP || type.id() == arrow::Type::DATE32 ||
         type.id() == arrow::Type::DATE64;
}

class ExpressionParser {
 public:
  // `schema` null: syntax only.
  ExpressionParser(std::string_view text, const arrow::Schema* schema)
      : text_(text), schema_(schema) {}

  Result<cp::Expression> Parse() {
    DRC_RETURN_NOT_OK(Lex());
    DRC_ASSIGN_OR_RETURN(Node node, Or());
    if (Peek().kind != Token::kEnd) return Error(Peek().pos, "unexpected '" + Peek().text + "'");
    return node.expr;
  }

 private:
  struct Node {
    cp::Expression expr;
    size_t pos = 0;
    std::optional<std::string> text;  // a text literal, read again next to a date column
  };

  Status Error(size_t pos, const std::string& message) const {
    return Status::InvalidArgument("'", text_, "' at ", pos + 1, ": ", message);
  }

  Status Lex() {
    size_t i = 0;
    while (true) {
      while (i < text_.size() && std::isspace(static_cast<unsigned char>(text_[i]))) ++i;
      Token t;
      t.pos = i;
      if (i == text_.size()) {
        tokens_.push_back(t);
        return Status::OK();
      }
      const char c = text_[i];
      if (std::isdigit(static_cast<unsigned char>(c)) ||
          (c == '.' && i + 1 < text_.size() &&
           std::isdigit(static_cast<unsigned char>(text_[i + 1])))) {
        size_t j = i;
        while (j < text_.size() &&
               (std::isalnum(static_cast<unsigned char>(text_[j])) || text_[j] == '.' ||
                ((text_[j] == '+' || text_[j] == '-') &&
                 (text_[j - 1] == 'e' || text_[j - 1] == 'E')))) {
          ++j;
        }
        t.kind = Token::kNumber;
        t.text = std::string(text_.substr(i, j - i));
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[j])) ||
                                    text_[j] == '_' || text_[j] == '.')) {
          ++j;
        }
        t.kind = Token::kName;
        t.text = std::string(text_.substr(i, j - i));
        i = j;
      } else if (c == '\'' || c == '"' || c == '`') {
        // Quoted until the same quote; a doubled quote stands for one.
        size_t j = i + 1;
        while (true) {
          if (j >= text_.size()) return Error(i, std::string("no closing ") + c);
          if (text_[j] == c) {
            if (j + 1 < text_.size() && text_[j + 1] == c) {
              t.text += c;
              j += 2;
              continue;
            }
            break;
          }
          t.text += text_[j++];
        }
        t.kind = c == '`' ? Token::kQuotedName : Token::kText;
        i = j + 1;
      } else {
        static const char* kSymbols[] = {"==", "!=", "<=", ">=", "<", ">", "+",
                                         "-",  "*",  "/",  "(",  ")", ","};
        t.kind = Token::kSymbol;
        for (const char* s : kSymbols) {
          if (text_.substr(i, std::string_view(s).size()) == s) {
            t.text = s;
            break;
          }
        }
        if (t.text.empty()) {
          return Error(i, c == '=' ? "use == to compare" : std::string("unexpected '") + c + "'");
        }
        i += t.text.size();
      }
      tokens_.push_back(std::move(t));
    }
  }

  const Token& Peek() const { return tokens_[next_]; }
  bool Accept(const char* symbol) {
    if (Peek().kind == Token::kSymbol && Peek().text == symbol) {
      ++next_;
      return true;
    }
    return false;
  }
  bool AcceptWord(const char* word) {
    if (Peek().kind == Token::kName && Peek().text == word) {
      ++next_;
      return true;
    }
    return false;
  }

  // The type of `e`, bound to the schema (syntax only: none).
  Result<std::shared_ptr<arrow::DataType>> TypeOf(const Node& node) const {
    if (schema_ == nullptr) return std::shared_ptr<arrow::DataType>();
    auto bound = node.expr.Bind(*schema_);
    if (!bound.ok()) return Error(node.pos, bound.status().message());
    return bound->type()->GetSharedPtr();
  }

  // Arrow's `function` of `args`, checked against the schema's types.
  Result<Node> Call(const std::string& function, std::vector<cp::Expression> args, size_t pos,
                    const std::string& what) const {
    Node node{cp::call(function, std::move(args)), pos, std::nullopt};
    if (schema_ != nullptr) {
      auto bound = node.expr.Bind(*schema_);
      if (!bound.ok()) return Error(pos, "cannot " + what + ": " + bound.status().message());
    }
    return node;
  }

  Result<Node> Or() { return Chain("or", "or_kleene", &ExpressionParser::And); }
  Result<Node> And() { return Chain("and", "and_kleene", &ExpressionParser::Not); }

  // `operand` (`word` `operand`)*, folded from the left with Arrow's `function`.
  Result<Node> Chain(const char* word, const char* function,
                     Result<Node> (ExpressionParser::*operand)()) {
    DRC_ASSIGN_OR_RETURN(Node left, (this->*operand)());
    while (Peek().kind == Token::kName && Peek().text == word) {
      const size_t pos = Peek().pos;
      ++next_;
      DRC_ASSIGN_OR_RETURN(Node right, (this->*operand)());
      DRC_ASSIGN_OR_RETURN(
          left, Call(function, {left.expr, right.expr}, pos, std::string("take '") + word + "'"));
    }
    return left;
  }

  Result<Node> Not() {
    const size_t pos = Peek().pos;
    if (AcceptWord("not")) {
      DRC_ASSIGN_OR_RETURN(Node operand, Not());
      return Call("invert", {operand.expr}, pos, "take 'not'");
    }
    return Compare();
  }

  Result<Node> Compare() {
    DRC_ASSIGN_OR_RETURN(Node left, Sum());
    static const std::pair<const char*, const char*> kOps[] = {
        {"==", "equal"},         {"!=", "not_equal"}, {"<=", "less_equal"},
        {">=", "greater_equal"}, {"<", "less"},       {">", "greater"}};
    for (const auto& [symbol, function] : kOps) {
      const size_t pos = Peek().pos;
      if (!Accept(symbol)) continue;
      DRC_ASSIGN_OR_RETURN(Node right, Sum());
      DRC_RETURN_NOT_OK(TextAsTypeOf(left, right));
      DRC_RETURN_NOT_OK(TextAsTypeOf(right, left));
      DRC_RETURN_NOT_OK(PromoteMixed(left, right));
      return Call(function, {left.expr, right.expr}, pos, std::string("compare with ") + symbol);
    }
    return left;
  }

  // A text literal compared with a date or time stamp reads as a value of that type.
  Status TextAsTypeOf(Node& literal, const Node& other) const {
    if (!literal.text.has_value() || schema_ == nullptr) return Status::OK();
    DRC_ASSIGN_OR_RETURN(const auto type, TypeOf(other));
    if (!IsTemporal(*type)) return Status::OK();
    auto scalar = arrow::Scalar::Parse(type, *literal.text);
    if (!scalar.ok()) {
      return Error(literal.pos, "'" + *literal.text + "' is not a " + type->ToString());
    }
    literal.expr = cp::literal(*scalar);
    literal.text.reset();
    return Status::OK();
  }

  Result<Node> Sum() {
    DRC_ASSIGN_OR_RETURN(Node left, Product());
    while (true) {
      const size_t pos = Peek().pos;
      const bool add = Accept("+");
      if (!add && !Accept("-")) return left;
      DRC_ASSIGN_OR_RETURN(Node right, Product());
      DRC_RETURN_NOT_OK(PromoteMixed(left, right));
      DRC_ASSIGN_OR_RETURN(left, Call(add ? "add" : "subtract", {left.expr, right.expr}, pos,
                                      add ? "add" : "subtract"));
    }
  }

  Result<Node> Product() {
    DRC_ASSIGN_OR_RETURN(Node left, Unary());
    while (true) {
      const size_t pos = Peek().pos;
      const bool multiply = Accept("*");
      if (!multiply && !Accept("/")) return left;
      DRC_ASSIGN_OR_RETURN(Node right, Unary());
      if (multiply) {
        DRC_RETURN_NOT_OK(PromoteMixed(left, right));
        DRC_ASSIGN_OR_RETURN(left, Call("multiply", {left.expr, right.expr}, pos, "multiply"));
        continue;
      }
      // Integers divide as pandas divides them, not by truncation.
      DRC_RETURN_NOT_OK(AsFloat64(left));
      DRC_RETURN_NOT_OK(AsFloat64(right));
      DRC_ASSIGN_OR_RETURN(left, Call("divide", {left.expr, right.expr}, pos, "divide"));
    }
  }

  // An integer or float32 `node` as float64 (other types as they are).
  Status AsFloat64(Node& node) const {
    DRC_ASSIGN_OR_RETURN(const auto type, TypeOf(node));
    if (type == nullptr || !(arrow::is_integer(type->id()) || type->id() == arrow::Type::FLOAT)) {
      return Status::OK();
    }
    node.expr = cp::call("cast", {node.expr}, cp::CastOptions::Safe(arrow::float64()));
    return Status::OK();
  }

  // Integers next to floating-point numbers become float64 on both sides. Left to itself, Arrow
  // binds an int64 column times the literal 1.5 in float32, which loses digits (and fails on
  // integers beyond 2^24).
  Status PromoteMixed(Node& a, Node& b) const {
    DRC_ASSIGN_OR_RETURN(const auto ta, TypeOf(a));
    DRC_ASSIGN_OR_RETURN(const auto tb, TypeOf(b));
    if (ta == nullptr || tb == nullptr) return Status::OK();
    const bool floating = arrow::is_floating(ta->id()) || arrow::is_floating(tb->id());
    const bool numbers = arrow::is_numeric(ta->id()) && arrow::is_numeric(tb->id());
    if (!floating || !numbers) return Status::OK();
    DRC_RETURN_NOT_OK(AsFloat64(a));
    return AsFloat64(b);
  }

  Result<Node> Unary() {
    const size_t pos = Peek().pos;
    if (Accept("-")) {
      DRC_ASSIGN_OR_RETURN(Node operand, Unary());
      return Call("negate", {operand.expr}, pos, "negate");
    }
    return Primary();
  }

  Result<Node> Primary() {
    const Token t = Peek();
    if (t.kind == Token::kEnd) return Error(t.pos, "expected a value, a column or '('");
    ++next_;
    switch (t.kind) {
      case Token::kNumber: return Number(t);
      case Token::kText:
        return Node{cp::literal(std::make_shared<arrow::StringScalar>(t.text)), t.pos, t.text};
      case Token::kQuotedName: return Column(t);
      case Token::kSymbol:
        if (t.text == "(") {
          DRC_ASSIGN_OR_RETURN(Node inner, Or());
          if (!Accept(")")) return Error(Peek().pos, "expected ')'");
          inner.pos = t.pos;
          return inner;
        }
        return Error(t.pos, "unexpected '" + t.text + "'");
      default: break;
    }
    if (t.text == "true" || t.text == "false") {
      return Node{cp::literal(t.text == "true"), t.pos, std::nullopt};
    }
    if (t.text == "null") {
      return Node{cp::literal(arrow::MakeNullScalar(arrow::null())), t.pos, std::nullopt};
    }
    if (t.text == "and" || t.text == "or" || t.text == "not") {
      return Error(t.pos, "expected a value before '" + t.text + "'");
    }
    if (Accept("(")) return Function(t);
    return Column(t);
  }

  Result<Node> Number(const Token& t) const {
    int64_t integer = 0;
    const char* end = t.text.data() + t.text.size();
    auto parsed = std::from_chars(t.text.data(), end, integer);
    if (parsed.ec == std::errc() && parsed.ptr == end) {
      return Node{cp::literal(integer), t.pos, std::nullopt};
    }
    double real = 0;
    auto parsed_real = std::from_chars(t.text.data(), end, real);
    if (parsed_real.ec != std::errc() || parsed_real.ptr != end) {
      return Error(t.pos, "'" + t.text + "' is not a number");
    }
    return Node{cp::literal(real), t.pos, std::nullopt};
  }

  Result<Node> Column(const Token& t) const {
    if (schema_ != nullptr && schema_->GetFieldByName(t.text) == nullptr) {
      return Error(t.pos, "no column '" + t.text + "' (the table has " +
                              JoinList(schema_->field_names()) + ")");
    }
    return Node{cp::field_ref(t.text), t.pos, std::nullopt};
  }

  Result<Node> Function(const Token& name) {
    const FunctionSpec* spec = nullptr;
    for (const FunctionSpec& f : kFunctions) {
      if (name.text == f.name) spec = &f;
    }
    if (spec == nullptr) {
      return Error(name.pos,
                   "unknown function '" + name.text + "' (the functions: " + FunctionNames() + ")");
    }
    std::vector<Node> args;
    if (!Accept(")")) {
      do {
        DRC_ASSIGN_OR_RETURN(Node arg, Or());
        args.push_back(std::move(arg));
      } while (Accept(","));
      if (!Accept(")")) return Error(Peek().pos, "expected ',' or ')'");
    }
    const int n = static_cast<int>(args.size());
    if (n < spec->min_args || (spec->max_args >= 0 && n > spec->max_args)) {
      return Error(name.pos, std::string("expected ") + spec->usage);
    }
    switch (spec->form) {
      case Form::kPlain: break;
      case Form::kNumbers: DRC_RETURN_NOT_OK(Alike(args, 0)); break;
      case Form::kIfElse: DRC_RETURN_NOT_OK(Alike(args, 1)); break;
      case Form::kDates: DRC_RETURN_NOT_OK(Alike(args, 0)); break;
      case Form::kPattern:
      case Form::kReplace:
      case Form::kSubstr: return WithOptions(*spec, std::move(args), name.pos);
      case Form::kCast: return Cast(*spec, args[0], name.pos);
      case Form::kAddDays: return AddDays(*spec, std::move(args), name.pos);
    }
    std::vector<cp::Expression> exprs;
    for (Node& arg : args) exprs.push_back(std::move(arg.expr));
    return Call(spec->arrow, std::move(exprs), name.pos, "call " + name.text);
  }

  // args[from..] made alike: a text literal next to a date or time stamp reads as one, and
  // integers next to floating-point numbers are float64.
  Status Alike(std::vector<Node>& args, size_t from) const {
    if (schema_ == nullptr) return Status::OK();
    for (size_t i = from; i < args.size(); ++i) {
      for (size_t j = from; j < args.size(); ++j) {
        if (i != j) DRC_RETURN_NOT_OK(TextAsTypeOf(args[i], args[j]));
      }
    }
    // Dates next to time stamps: time stamps (a date is its midnight).
    std::shared_ptr<arrow::DataType> stamp;
    for (size_t i = from; i < args.size(); ++i) {
      DRC_ASSIGN_OR_RETURN(const auto type, TypeOf(args[i]));
      if (type->id() == arrow::Type::TIMESTAMP) stamp = type;
    }
    for (size_t i = from; i < args.size() && stamp != nullptr; ++i) {
      DRC_ASSIGN_OR_RETURN(const auto type, TypeOf(args[i]));
      if (type->id() != arrow::Type::DATE32 && type->id() != arrow::Type::DATE64) continue;
      args[i].expr = cp::call("cast", {args[i].expr}, cp::CastOptions::Safe(stamp));
    }
    bool floating = false;
    bool numbers = true;
    for (size_t i = from; i < args.size(); ++i) {
      DRC_ASSIGN_OR_RETURN(const auto type, TypeOf(args[i]));
      floating = floating || arrow::is_floating(type->id());
      numbers = numbers && (arrow::is_numeric(type->id()) || type->id() == arrow::Type::NA);
    }
    if (!floating || !numbers) return Status::OK();
    for (size_t i = from; i < args.size(); ++i) DRC_RETURN_NOT_OK(AsFloat64(args[i]));
    return Status::OK();
  }

  // The literal text of `arg`, or an error naming the function's form.
  Result<std::string> TextLiteral(const FunctionSpec& spec, const Node& arg) const {
    if (!arg.text.has_value()) {
      return Error(arg.pos, std::string("expected a 'text' here: ") + spec.usage);
    }
    return *arg.text;
  }

  // The integer literal of `arg` (a minus sign allowed), or an error naming the function's form.
  Result<int64_t> IntegerLiteral(const FunctionSpec& spec, const Node& arg) const {
    const arrow::Datum* datum = arg.expr.literal();
    if (datum == nullptr || !datum->is_scalar() || datum->type()->id() != arrow::Type::INT64) {
      const cp::Expression::Call* call = arg.expr.call();
      if (call != nullptr && call->function_name == "negate" && call->arguments.size() == 1) {
        Node inner{call->arguments[0], arg.pos, std::nullopt};
        DRC_ASSIGN_OR_RETURN(const int64_t value, IntegerLiteral(spec, inner));
        return -value;
      }
      return Error(arg.pos, std::string("expected a whole number here: ") + spec.usage);
    }
    return datum->scalar_as<arrow::Int64Scalar>().value;
  }

  // The functions whose literal arguments become Arrow's options.
  Result<Node> WithOptions(const FunctionSpec& spec, std::vector<Node> args, size_t pos) const {
    std::shared_ptr<cp::FunctionOptions> options;
    if (spec.form == Form::kPattern) {
      DRC_ASSIGN_OR_RETURN(const std::string pattern, TextLiteral(spec, args[1]));
      options = std::make_shared<cp::MatchSubstringOptions>(pattern);
    } else if (spec.form == Form::kReplace) {
      DRC_ASSIGN_OR_RETURN(const std::string old_text, TextLiteral(spec, args[1]));
      DRC_ASSIGN_OR_RETURN(const std::string new_text, TextLiteral(spec, args[2]));
      if (old_text.empty()) return Error(args[1].pos, "the text to replace is empty");
      options = std::make_shared<cp::ReplaceSubstringOptions>(old_text, new_text);
    } else {
      DRC_ASSIGN_OR_RETURN(const int64_t start, IntegerLiteral(spec, args[1]));
      DRC_ASSIGN_OR_RETURN(const int64_t length, IntegerLiteral(spec, args[2]));
      if (start < 1) return Error(args[1].pos, "substr's start counts from 1");
      if (length < 0) return Error(args[2].pos, "substr's length is negative");
      options = std::make_shared<cp::SliceOptions>(start - 1, start - 1 + length);
    }
    if (std::string_view(spec.arrow).ends_with("_regex")) {
      // RE2 compiles the pattern when the kernel runs: on one empty text, so that a bad
      // pattern is an error at the pattern now rather than when the rows are computed.
      const arrow::Datum one(std::make_shared<arrow::StringScalar>(""));
      auto tried = cp::CallFunction(spec.arrow, {one}, options.get());
      if (!tried.ok()) {
        std::string message = tried.status().message();
        const std::string_view prefix = "Invalid regular expression: ";
        if (message.starts_with(prefix)) message = message.substr(prefix.size());
        return Error(args[1].pos, "not a regular expression: " + message);
      }
    }
    Node node{cp::call(spec.arrow, {std::move(args[0].expr)}, std::move(options)), pos,
              std::nullopt};
    if (schema_ != nullptr) {
      auto bound = node.expr.Bind(*schema_);
      if (!bound.ok()) {
        return Error(pos, std::string("cannot call ") + spec.name + ": " +
                              bound.status().message() + " (expected " + spec.usage + ")");
      }
    }
    return node;
  }

  // A time stamp (of any unit) or a date plus a whole number of days (negative: earlier), of the
  // same type: the days become a duration in the stamp's unit (a date: in seconds, the result
  // cast back to a date).
  Result<Node> AddDays(const FunctionSpec& spec, std::vector<Node> args, size_t pos) const {
    DRC_ASSIGN_OR_RETURN(const auto type, TypeOf(args[0]));
    DRC_ASSIGN_OR_RETURN(const auto days_type, TypeOf(args[1]));
    if (type != nullptr && !IsTemporal(*type)) {
      return Error(args[0].pos, "expected a date or a time stamp here: " + std::string(spec.usage) +
                                    " (it is " + type->ToString() + ")");
    }
    if (days_type != nullptr && !arrow::is_integer(days_type->id())) {
      return Error(args[1].pos, "expected a whole number of days here: " + std::string(spec.usage) +
                                    " (it is " + days_type->ToString() + ")");
    }
    auto unit = arrow::TimeUnit::SECOND;
    cp::Expression stamp = std::move(args[0].expr);
    const bool date = type != nullptr && type->id() != arrow::Type::TIMESTAMP;
    if (type != nullptr && !date) {
      unit = static_cast<const arrow::TimestampType&>(*type).unit();
    } else if (date) {
      stamp = cp::call("cast", {std::move(stamp)}, cp::CastOptions::Safe(arrow::timestamp(unit)));
    }
    const int64_t per_day = 86400 * (unit == arrow::TimeUnit::SECOND  ? 1
                                     : unit == arrow::TimeUnit::MILLI ? 1000
                                     : unit == arrow::TimeUnit::MICRO ? 1000000
                                                                      : 1000000000);
    cp::Expression ticks = cp::call(
        "multiply_checked",
        {cp::call("cast", {std::move(args[1].expr)}, cp::CastOptions::Safe(arrow::int64())),
         cp::literal(per_day)});
    cp::Expression duration =
        cp::call("cast", {std::move(ticks)}, cp::CastOptions::Safe(arrow::duration(unit)));
    cp::Expression sum = cp::call(spec.arrow, {std::move(stamp), std::move(duration)});
    if (date) {
      cp::CastOptions back = cp::CastOptions::Safe(type);
      sum = cp::call("cast", {std::move(sum)}, back);
    }
    Node node{std::move(sum), pos, std::nullopt};
    if (schema_ != nullptr) {
      auto bound = node.expr.Bind(*schema_);
      if (!bound.ok()) {
        return Error(pos,
                     std::string("cannot call ") + spec.name + ": " + bound.status().message());
      }
    }
    return node;
  }

  // int (floating-point numbers truncated toward zero, as pandas' astype(int)), float, text,
  // date (a time stamp's day; a text as YYYY-MM-DD).
  Result<Node> Cast(const FunctionSpec& spec, Node arg, size_t pos) const {
    std::shared_ptr<arrow::DataType> to;
    if (spec.arrow == std::string_view("int64")) to = arrow::int64();
    if (spec.arrow == std::string_view("float64")) to = arrow::float64();
    if (spec.arrow == std::string_view("utf8")) to = arrow::utf8();
    if (spec.arrow == std::string_view("date32")) to = arrow::date32();
    DRC_ASSIGN_OR_RETURN(const auto from, TypeOf(arg));
    cp::Expression value = std::move(arg.expr);
    cp::CastOptions options = cp::CastOptions::Safe(to);
    if (from != nullptr && arrow::is_floating(from->id()) && to->id() == arrow::Type::INT64) {
      value = cp::call("trunc", {std::move(value)});
    }
    if (from != nullptr && from->id() == arrow::Type::TIMESTAMP &&
        to->id() == arrow::Type::DATE32) {
      options.allow_time_truncate = true;
    }
    Node node{cp::call("cast", {std::move(value)}, std::move(options)), pos, std::nullopt};
    if (schema_ != nullptr) {
      auto bound = node.expr.Bind(*schema_);
      if (!bound.ok()) {
        return Error(pos, std::string("cannot call ") + spec.name + " on a " + from->ToString() +
                              ": " + bound.status().message());
      }
    }
    return node;
  }

  std::string_view text_;
  const arrow::Schema* schema_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
};

}  // namespace

Result<arrow::compute::Expression> ParseExpression(std::string_view text,
                                                   const arrow::Schema& schema) {
  ExpressionParser parser(text, &schema);
  DRC_ASSIGN_OR_RETURN(cp::Expression expr, parser.Parse());
  auto bound = expr.Bind(schema);
  if (!bound.ok()) {
    return Status::InvalidArgument("'", text, "': ", bound.status().message());
  }
  return expr;
}

Status CheckExpressionSyntax(std::string_view text) {
  ExpressionParser parser(text, nullptr);
  return parser.Parse().status();
}

}  // namespace drc::data
