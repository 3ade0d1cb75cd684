// Building blocks of the radix-sort paths (fast_sort.cc, fast_join.cc; internal to the data
// layer): order-preserving 64-bit keys, a column cut into pieces for the worker threads, and the
// LSD radix sort of packed (key, row) words.
#pragma once

#include <arrow/array/data.h>
#include <arrow/chunked_array.h>
#include <arrow/util/bit_util.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace drc::data::internal {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

// An unsigned word whose order is the value order (floats: -0.0 == 0.0; NaN never comes here).
template <typename T>
inline uint64_t OrderBits(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    double d = static_cast<double>(v);
    if (d == 0.0) d = 0.0;
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    return (bits & kSignBit) != 0 ? ~bits : (bits | kSignBit);
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<uint64_t>(static_cast<int64_t>(v)) ^ kSignBit;
  } else {
    return static_cast<uint64_t>(v);
  }
}

// A piece of one chunk: rows [begin, end) of `data`; `row` is the global number of `begin`.
struct Segment {
  const arrow::ArrayData* data;
  int64_t begin;
  int64_t end;
  int64_t row;
};

// `column` cut into pieces of at most `piece` rows, chunk by chunk.
inline std::vector<Segment> MakeSegments(const arrow::ChunkedArray& column, int64_t piece) {
  std::vector<Segment> out;
  int64_t row = 0;
  for (const auto& chunk : column.chunks()) {
    const arrow::ArrayData* data = chunk->data().get();
    for (int64_t b = 0; b < data->length; b += piece) {
      const int64_t e = std::min(data->length, b + piece);
      out.push_back({data, b, e, row + b});
    }
    row += data->length;
  }
  return out;
}

// Calls f(i, value) for each non-null row of the segment and g(i) for each null row.
template <typename T, typename F, typename G>
inline void ForEachRow(const Segment& s, F&& f, G&& g) {
  const T* values = s.data->GetValues<T>(1);
  const uint8_t* valid = s.data->MayHaveNulls() && s.data->buffers[0] != nullptr
                             ? s.data->buffers[0]->data()
                             : nullptr;
  if (valid == nullptr) {
    for (int64_t i = s.begin; i < s.end; ++i) f(i, values[i]);
  } else {
    for (int64_t i = s.begin; i < s.end; ++i) {
      if (arrow::bit_util::GetBit(valid, s.data->offset + i)) {
        f(i, values[i]);
      } else {
        g(i);
      }
    }
  }
}

// Sorts words[0, m) by bits [lo, lo + bits) (stable LSD radix, over the CPU pool's threads when
// large); returns words or tmp, whichever holds the result. The words must be distinct when
// m is small (they carry row numbers), since short inputs are sorted whole with std::sort.
uint64_t* RadixSortWords(uint64_t* words, uint64_t* tmp, int64_t m, int lo, int bits);

}  // namespace drc::data::internal
