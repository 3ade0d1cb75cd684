#include "drc/common/svg.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace drc {

std::string FormatNum(double v, const char* format) {
  if (std::isnan(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  // A tiny negative value printed as zero ("-0", "-0.00") is zero.
  if (buf[0] == '-' && std::strspn(buf + 1, "0.") == std::strlen(buf + 1)) return buf + 1;
  return buf;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (raw <= step) break;
  }
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9) * step;
  for (double t = first; t <= hi + (hi - lo) * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

double ChartFrame::X(double x) const {
  return left + (x_hi > x_lo ? (x - x_lo) / (x_hi - x_lo) * plot_w : 0);
}

double ChartFrame::Y(double y) const {
  return top + plot_h - (y_hi > y_lo ? (y - y_lo) / (y_hi - y_lo) * plot_h : 0);
}

std::string ChartFrame::Open(const std::string& title) const {
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + FormatNum(w, "%.0f") +
                  "\" height=\"" + FormatNum(h, "%.0f") + "\" font-family=\"sans-serif\" " +
                  "font-size=\"11\">\n<title>" + HtmlEscape(title) + "</title>\n" +
                  "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + FormatNum(left, "%.0f") + "\" y=\"16\" font-size=\"13\">" +
       HtmlEscape(title) + "</text>\n";
  return s;
}

std::string ChartFrame::Axes(const std::string& x_label, const std::string& y_label,
                             bool y_ticks) const {
  std::string s;
  const std::string bottom = FormatNum(top + plot_h, "%.1f");
  s += "<line x1=\"" + FormatNum(left, "%.1f") + "\" y1=\"" + bottom + "\" x2=\"" +
       FormatNum(left + plot_w, "%.1f") + "\" y2=\"" + bottom + "\" stroke=\"black\"/>\n";
  s += "<line x1=\"" + FormatNum(left, "%.1f") + "\" y1=\"" + FormatNum(top, "%.1f") + "\" x2=\"" +
       FormatNum(left, "%.1f") + "\" y2=\"" + bottom + "\" stroke=\"black\"/>\n";
  for (double t : NiceTicks(x_lo, x_hi, 8)) {
    const std::string x = FormatNum(X(t), "%.1f");
    const std::string label = x_tick_label ? x_tick_label(t) : FormatNum(t, "%g");
    s += "<line x1=\"" + x + "\" y1=\"" + bottom + "\" x2=\"" + x + "\" y2=\"" +
         FormatNum(top + plot_h + 4, "%.1f") + "\" stroke=\"black\"/>\n<text x=\"" + x + "\" y=\"" +
         FormatNum(top + plot_h + 16, "%.1f") + "\" text-anchor=\"middle\">" + HtmlEscape(label) +
         "</text>\n";
  }
  if (y_ticks) {
    for (double t : NiceTicks(y_lo, y_hi, 5)) {
      const std::string y = FormatNum(Y(t), "%.1f");
      s += "<line x1=\"" + FormatNum(left - 4, "%.1f") + "\" y1=\"" + y + "\" x2=\"" +
           FormatNum(left, "%.1f") + "\" y2=\"" + y + "\" stroke=\"black\"/>\n<text x=\"" +
           FormatNum(left - 6, "%.1f") + "\" y=\"" + FormatNum(Y(t) + 4, "%.1f") +
           "\" text-anchor=\"end\">" + FormatNum(t, "%g") + "</text>\n";
    }
  }
  s += "<text x=\"" + FormatNum(left + plot_w / 2, "%.1f") + "\" y=\"" + FormatNum(h - 6, "%.1f") +
       "\" text-anchor=\"middle\">" + HtmlEscape(x_label) + "</text>\n";
  s += "<text transform=\"translate(12," + FormatNum(top + plot_h / 2, "%.1f") +
       ") rotate(-90)\" text-anchor=\"middle\">" + HtmlEscape(y_label) + "</text>\n";
  return s;
}

std::string ChartFrame::Legend(
    const std::vector<std::pair<std::string, std::string>>& items) const {
  // Right-aligned above the plot, clear of the title.
  double width = 0;
  for (const auto& item : items) width += 20 + 6.5 * static_cast<double>(item.second.size());
  double x = left + plot_w - width;
  std::string s;
  for (const auto& [colour, label] : items) {
    s += "<rect x=\"" + FormatNum(x, "%.0f") + "\" y=\"7\" width=\"10\" height=\"10\" fill=\"" +
         colour + "\"/><text x=\"" + FormatNum(x + 13, "%.0f") + "\" y=\"16\">" +
         HtmlEscape(label) + "</text>\n";
    x += 20 + 6.5 * static_cast<double>(label.size());
  }
  return s;
}

}  // namespace drc
