// Plain-text charts for the reports (`drc profile`, pipeline reports): an SVG frame with axes,
// round ticks and a legend, and HTML/SVG escaping. The charts are a few lines, rectangles and
// paths; no plotting library.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drc {

// printf-formats `v`; NaN gives "".
std::string FormatNum(double v, const char* format = "%.3f");

// Escapes text for HTML and SVG (element text and attribute values).
std::string HtmlEscape(std::string_view s);

// About `target` round tick values over [lo, hi]: steps of 1, 2 or 5 times a power of ten, each
// a multiple of the step.
std::vector<double> NiceTicks(double lo, double hi, int target);

// An SVG document of `w` x `h` with a plot area at (left, top) of plot_w x plot_h, axes with
// ticks over [x_lo, x_hi] and [y_lo, y_hi], and their labels.
struct ChartFrame {
  double w, h, left, top, plot_w, plot_h, x_hi, y_hi;
  double x_lo = 0, y_lo = 0;
  // The text of an x tick (default: the value, %g).
  std::function<std::string(double)> x_tick_label;

  double X(double x) const;
  double Y(double y) const;
  // The document's opening tag, white background and title.
  std::string Open(const std::string& title) const;
  std::string Axes(const std::string& x_label, const std::string& y_label, bool y_ticks) const;
  // Coloured squares with labels, right-aligned above the plot: {colour, label}.
  std::string Legend(const std::vector<std::pair<std::string, std::string>>& items) const;
};

}  // namespace drc
