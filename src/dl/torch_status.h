// The dl layer's one adapter from exceptions (libtorch's c10::Error, std::exception) to Status.
//
//   DRC_ASSIGN_OR_RETURN(auto y, Guard(Concat("MLP forward on ", ShapeOf(x)), [&] {
//     return model->Forward(batch);
//   }));
//
// `fn` returning void or Status gives a Status; returning Result<T> or a plain T gives a
// Result<T>. The context should name the model and the shapes involved; the message is
// "<context>: <what libtorch said>" (without its C++ backtrace). Internal to src/dl.
#pragma once

#include <c10/util/Exception.h>
#include <torch/types.h>

#include <exception>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>

#include "drc/common/result.h"

namespace drc::dl {

// "[32, 24]"
inline std::string ShapeOf(const torch::Tensor& t) {
  if (!t.defined()) return "[undefined]";
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

namespace internal {
template <typename T>
struct IsResult : std::false_type {};
template <typename T>
struct IsResult<Result<T>> : std::true_type {};

// The first line of a c10::Error (libtorch appends a backtrace and source location).
inline std::string FirstLines(const char* what) {
  std::string s(what);
  const auto pos = s.find("\nException raised from");
  if (pos != std::string::npos) s.resize(pos);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace internal

template <typename Fn>
auto Guard(const std::string& context, Fn&& fn) {
  using R = std::invoke_result_t<Fn>;
  using Out = std::conditional_t<std::is_void_v<R> || std::is_same_v<R, Status>, Status,
                                 std::conditional_t<internal::IsResult<R>::value, R, Result<R>>>;
  try {
    if constexpr (std::is_void_v<R>) {
      fn();
      return Out(Status::OK());
    } else {
      return Out(fn());
    }
  } catch (const c10::Error& e) {
    return Out(
        Status::InvalidArgument(context, ": ", internal::FirstLines(e.what_without_backtrace())));
  } catch (const std::bad_alloc&) {
    return Out(Status::ResourceExhausted(context, ": out of memory"));
  } catch (const std::exception& e) {
    return Out(Status::Internal(context, ": ", e.what()));
  }
}

}  // namespace drc::dl
