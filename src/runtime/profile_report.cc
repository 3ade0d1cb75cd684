// The report of `drc profile`: SVG charts (timeline, utilization), an HTML page that holds them
// with the summary tables, and a CSV of every attempt's times. Plain text output: the charts
// are a few rectangles and paths, which needs no plotting library.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <queue>

#include "drc/common/files.h"
#include "drc/common/svg.h"
#include "drc/runtime/profile.h"

namespace drc::runtime {
namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Up to this many cores the timeline has a lane per core, else a lane per attempt.
constexpr int64_t kMaxCoreLanes = 1024;

constexpr const char* kStaging = "#e6b422";
constexpr const char* kLaunch = "#f08030";
constexpr const char* kRunning = "#3a70c0";
constexpr const char* kFailed = "#d03030";

std::string Rect(const ChartFrame& f, double from, double to, double y, double height,
                 const char* colour) {
  if (std::isnan(from) || std::isnan(to)) return "";
  const double x0 = f.X(from);
  const double width = std::max(0.5, f.X(to) - x0);
  return "<rect x=\"" + FormatNum(x0, "%.2f") + "\" y=\"" + FormatNum(y, "%.2f") + "\" width=\"" +
         FormatNum(width, "%.2f") + "\" height=\"" + FormatNum(height, "%.2f") + "\" fill=\"" +
         colour + "\"/>";
}

std::string Percent(double fraction) {
  return std::isnan(fraction) ? "n/a" : FormatNum(100 * fraction, "%.1f") + " %";
}

}  // namespace

std::string TimelineSvg(const RunLog& log, int64_t max_bars) {
  struct Bar {
    const TaskProfile* task;
    const AttemptProfile* a;
    double start, end;
    int lane, span;
  };
  std::vector<Bar> bars;
  for (const auto& task : log.tasks) {
    for (const auto& a : task.attempts) {
      if (std::isnan(a.placed)) continue;
      // A bar spans what the attempt held: placement to release (staging out comes after).
      const double end = std::isnan(a.released()) ? log.duration : a.released();
      bars.push_back({&task, &a, a.placed, end, 0, 1});
    }
  }
  std::sort(bars.begin(), bars.end(), [](const Bar& x, const Bar& y) { return x.start < y.start; });
  const int64_t total = static_cast<int64_t>(bars.size());
  if (max_bars >= 0 && total > max_bars) bars.resize(static_cast<size_t>(max_bars));
  int lanes = 0;
  const bool per_core = log.cores > 0 && log.cores <= kMaxCoreLanes;
  if (per_core) {
    // One lane per core: an attempt of c cores takes the first c adjacent lanes free at its
    // start (more than the pilot's cores only where free lanes are not adjacent).
    std::vector<double> lane_end;
    for (auto& b : bars) {
      const size_t c = static_cast<size_t>(std::max<int64_t>(b.a->cores, 1));
      size_t first = 0;
      size_t run = 0;
      for (size_t i = 0; i < lane_end.size() && run < c; ++i) {
        if (lane_end[i] <= b.start) {
          if (run++ == 0) first = i;
        } else {
          run = 0;
        }
      }
      if (run < c) {  // extend at the end
        if (run == 0) first = lane_end.size();
        lane_end.resize(first + c, 0.0);
      }
      for (size_t i = first; i < first + c; ++i) lane_end[i] = b.end;
      b.lane = static_cast<int>(first);
      b.span = static_cast<int>(c);
    }
    lanes = static_cast<int>(lane_end.size());
  } else {
    // One lane per attempt: each takes the lane that came free first, or a new one.
    using Free = std::pair<double, int>;  // (end, lane)
    std::priority_queue<Free, std::vector<Free>, std::greater<>> free;
    for (auto& b : bars) {
      if (!free.empty() && free.top().first <= b.start) {
        b.lane = free.top().second;
        free.pop();
      } else {
        b.lane = lanes++;
      }
      free.push({b.end, b.lane});
    }
  }
  const double row = std::clamp(600.0 / std::max(lanes, 1), 1.0, 20.0);
  ChartFrame f{1100, 0, 60, 30, 1010, std::max(row * lanes, 20.0), std::max(log.duration, 1e-6),
               0,    0, 0,  {}};
  f.h = f.top + f.plot_h + 45;
  std::string title = "Timeline: " + std::to_string(total) + " attempts, " +
                      (per_core ? "a lane per core" : "a lane per attempt");
  if (static_cast<int64_t>(bars.size()) < total) {
    title += " (the first " + std::to_string(bars.size()) + " drawn)";
  }
  std::string s = f.Open(title);
  s += f.Legend(
      {{kStaging, "staging in"}, {kLaunch, "launch"}, {kRunning, "running"}, {kFailed, "failed"}});
  const double gap = row > 3 ? 1 : 0;
  for (const auto& b : bars) {
    const AttemptProfile& a = *b.a;
    const double y = f.top + b.lane * row;
    const double h = row * b.span - gap;
    s += "<g><title>" + HtmlEscape(b.task->uid) + " attempt " + std::to_string(a.attempt) +
         ": placed " + FormatNum(a.placed) + " s, " + std::to_string(a.cores) + " cores";
    if (a.gpus > 0) s += ", " + std::to_string(a.gpus) + " GPUs";
    if (!std::isnan(a.launched) && !std::isnan(a.exited)) {
      s += ", ran " + FormatNum(a.exited - a.launched) + " s";
    }
    s += "</title>";
    const double run_end = std::isnan(a.exited) ? log.duration : a.exited;
    s += Rect(f, a.placed, std::isnan(a.executing) ? b.end : a.executing, y, h, kStaging);
    s += Rect(f, a.executing, std::isnan(a.launched) ? b.end : a.launched, y, h, kLaunch);
    s += Rect(f, a.launched, run_end, y, h, a.exit_ok || std::isnan(a.exited) ? kRunning : kFailed);
    // The task's name on its bar where it fits.
    const double width = f.X(b.end) - f.X(b.start);
    if (h >= 11 && width >= 6.5 * static_cast<double>(b.task->uid.size()) + 6) {
      s += "<text x=\"" + FormatNum(f.X(b.start) + 3, "%.2f") + "\" y=\"" +
           FormatNum(y + h / 2 + 4, "%.2f") + "\" fill=\"white\">" + HtmlEscape(b.task->uid) +
           "</text>";
    }
    s += "</g>\n";
  }
  s += f.Axes("seconds since the pilot started", per_core ? "cores" : "attempts", false);
  return s + "</svg>\n";
}

std::string UtilizationSvg(const RunLog& log, int bins, bool gpus) {
  const char* unit = gpus ? "GPUs" : "cores";
  const int64_t total = gpus ? log.gpus : log.cores;
  bins = std::max(bins, 1);
  const double span = std::max(log.duration, 1e-6);
  const double width = span / bins;
  std::vector<double> held(static_cast<size_t>(bins), 0.0);
  std::vector<double> running(static_cast<size_t>(bins), 0.0);
  // Adds cores x the overlap of [from, to) with each bin.
  auto add = [&](std::vector<double>& v, double from, double to, double cores) {
    if (std::isnan(from) || std::isnan(to) || cores <= 0) return;
    from = std::clamp(from, 0.0, span);
    to = std::clamp(to, 0.0, span);
    for (auto i = static_cast<int64_t>(from / width); i < bins && i * width < to; ++i) {
      const double lo = std::max(from, i * width);
      const double hi = std::min(to, (i + 1) * width);
      if (hi > lo) v[static_cast<size_t>(i)] += cores * (hi - lo);
    }
  };
  for (const auto& task : log.tasks) {
    for (const auto& a : task.attempts) {
      const double cores = static_cast<double>(gpus ? a.gpus : a.cores);
      add(held, a.placed, std::isnan(a.released()) ? span : a.released(), cores);
      add(running, a.launched, std::isnan(a.exited) ? span : a.exited, cores);
    }
  }
  double peak = static_cast<double>(total);
  for (double& x : held) {
    x /= width;
    peak = std::max(peak, x);
  }
  for (double& x : running) x /= width;
  ChartFrame f{1100, 330, 60, 30, 1010, 250, span, std::max(peak * 1.05, 1.0), 0, 0, {}};
  std::string s = f.Open(std::string(gpus ? "GPUs" : "Cores") + " in use (averaged over " +
                         FormatNum(width, "%.3g") + " s)");
  s += f.Legend({{"#9cc0ea", "held (staging in, launch, running)"}, {kRunning, "running"}});
  auto area = [&](const std::vector<double>& v, const char* colour) {
    std::string path = "<path fill=\"" + std::string(colour) + "\" d=\"M" +
                       FormatNum(f.X(0), "%.2f") + "," + FormatNum(f.Y(0), "%.2f");
    for (int i = 0; i < bins; ++i) {
      const std::string y = FormatNum(f.Y(v[static_cast<size_t>(i)]), "%.2f");
      path += " L" + FormatNum(f.X(i * width), "%.2f") + "," + y + " L" +
              FormatNum(f.X((i + 1) * width), "%.2f") + "," + y;
    }
    return path + " L" + FormatNum(f.X(span), "%.2f") + "," + FormatNum(f.Y(0), "%.2f") +
           " Z\"/>\n";
  };
  s += area(held, "#9cc0ea");
  s += area(running, kRunning);
  if (total > 0) {
    const std::string y = FormatNum(f.Y(static_cast<double>(total)), "%.2f");
    s += "<line x1=\"" + FormatNum(f.X(0), "%.2f") + "\" y1=\"" + y + "\" x2=\"" +
         FormatNum(f.X(span), "%.2f") + "\" y2=\"" + y +
         "\" stroke=\"black\" stroke-dasharray=\"4,3\"/>\n<text x=\"" +
         FormatNum(f.X(span) - 4, "%.2f") + "\" y=\"" +
         FormatNum(f.Y(static_cast<double>(total)) - 4, "%.2f") +
         "\" text-anchor=\"end\">the pilot's " + std::to_string(total) + " " + unit + "</text>\n";
  }
  s += f.Axes("seconds since the pilot started", unit, true);
  return s + "</svg>\n";
}

Result<std::vector<std::string>> WriteProfileReport(const RunLog& log, const RunProfile& profile,
                                                    const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create ", dir, ": ", ec.message());
  const std::string timeline = TimelineSvg(log);
  const std::string utilization = UtilizationSvg(log);
  const std::string gpu_utilization = log.gpus > 0 ? UtilizationSvg(log, 400, true) : "";

  std::string csv =
      "uid,attempt,task_state,ranks,cores,gpus,nodes,scheduling,placed,executing,launched,"
      "exited,ended,exit_ok\n";
  for (const auto& task : log.tasks) {
    for (const auto& a : task.attempts) {
      csv += CsvField(task.uid) + "," + std::to_string(a.attempt) + "," + task.state + "," +
             std::to_string(a.ranks) + "," + std::to_string(a.cores) + "," +
             std::to_string(a.gpus) + "," + CsvField(a.nodes) + "," +
             FormatNum(a.scheduling, "%.6f") + "," + FormatNum(a.placed, "%.6f") + "," +
             FormatNum(a.executing, "%.6f") + "," + FormatNum(a.launched, "%.6f") + "," +
             FormatNum(a.exited, "%.6f") + "," + FormatNum(a.ended, "%.6f") + "," +
             (std::isnan(a.exited) ? ""
              : a.exit_ok          ? "true"
                                   : "false") +
             "\n";
    }
  }

  std::string h =
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>drc profile: " +
      HtmlEscape(log.path) +
      "</title>\n<style>body{font-family:sans-serif;margin:24px;max-width:1140px}"
      "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px "
      "8px;text-align:right}th:first-child,td:first-child{text-align:left}.note{color:#a04000}"
      "</style></head><body>\n<h1>Run profile</h1>\n<p>" +
      HtmlEscape(log.path) + ": " + std::to_string(profile.tasks) + " tasks on " +
      HtmlEscape(log.pilot) + ", " + FormatNum(log.duration) + " s from the pilot's start to its " +
      (log.stopped ? "stop" : "last event") + ".</p>\n";
  if (!log.stopped) {
    h += "<p class=\"note\">The log has no pilot stop: the run was cut short or is still "
         "running; tasks not yet final are counted in their last state.</p>\n";
  }
  if (log.cut_lines > 0) {
    h += "<p class=\"note\">" + std::to_string(log.cut_lines) +
         " line(s) of the log were cut off by a crash and were skipped.</p>\n";
  }
  if (log.earlier_runs > 0) {
    h += "<p class=\"note\">The log holds " + std::to_string(log.earlier_runs) +
         " earlier run(s) in the same work directory; this is the last one.</p>\n";
  }
  h += "<h2>Summary</h2>\n<table>\n";
  auto row = [&h](const std::string& what, const std::string& value) {
    h += "<tr><td>" + HtmlEscape(what) + "</td><td>" + HtmlEscape(value) + "</td></tr>\n";
  };
  std::string states;
  for (const auto& [state, n] : profile.states) {
    states += (states.empty() ? "" : ", ") + state + " " + std::to_string(n);
  }
  row("tasks", std::to_string(profile.tasks) + " (" + states + ")");
  row("attempts", std::to_string(profile.attempts));
  row("final tasks per second", FormatNum(profile.tasks_per_s, "%.1f"));
  row("core utilization (running)", Percent(profile.core_utilization));
  row("cores held (staging in, launch, running)", Percent(profile.core_held_fraction));
  row("core-seconds running / held",
      FormatNum(profile.core_seconds_running) + " / " + FormatNum(profile.core_seconds_held));
  if (log.gpus > 0) {
    row("GPU utilization (running)", Percent(profile.gpu_utilization));
    row("GPUs held", Percent(profile.gpu_seconds_held /
                             (static_cast<double>(log.gpus) * std::max(log.duration, 1e-9))));
  }
  row("first process start (s after the pilot's start)", FormatNum(profile.first_launch));
  row("last process end (s after the pilot's start)", FormatNum(profile.last_exit));
  h += "</table>\n<h2>Phases per attempt (seconds)</h2>\n<table>\n<tr><th>phase</th><th>"
       "attempts</th><th>median</th><th>95th percentile</th><th>max</th><th>total</th></tr>\n";
  for (const auto& p : profile.phases) {
    h += "<tr><td>" + HtmlEscape(p.name) + "</td><td>" + std::to_string(p.count) + "</td><td>" +
         FormatNum(p.median, "%.6f") + "</td><td>" + FormatNum(p.p95, "%.6f") + "</td><td>" +
         FormatNum(p.max, "%.6f") + "</td><td>" + FormatNum(p.total) + "</td></tr>\n";
  }
  h += "</table>\n<h2>Utilization</h2>\n" + utilization + gpu_utilization + "<h2>Timeline</h2>\n" +
       timeline;
  std::vector<const TaskProfile*> failed;
  for (const auto& task : log.tasks) {
    if (task.state != "DONE") failed.push_back(&task);
  }
  if (!failed.empty()) {
    constexpr size_t kShown = 200;
    h += "<h2>Tasks not DONE (" + std::to_string(failed.size()) +
         ")</h2>\n<table>\n<tr><th>task</th><th>state</th><th>attempts</th><th>reason</th></tr>\n";
    for (size_t i = 0; i < std::min(failed.size(), kShown); ++i) {
      const TaskProfile& t = *failed[i];
      h += "<tr><td>" + HtmlEscape(t.uid) + "</td><td>" + HtmlEscape(t.state) + "</td><td>" +
           std::to_string(t.attempts.size()) + "</td><td style=\"text-align:left\">" +
           HtmlEscape(t.reason) + "</td></tr>\n";
    }
    h += "</table>\n";
    if (failed.size() > kShown) {
      h += "<p>... and " + std::to_string(failed.size() - kShown) +
           " more (attempts.csv has them all).</p>\n";
    }
  }
  h += "<p>Every attempt's times: <a href=\"attempts.csv\">attempts.csv</a>.</p>\n</body></html>\n";

  std::vector<std::string> written;
  const std::filesystem::path base(dir);
  // The page last: it links the others.
  for (const auto& [name, text] : {std::pair<std::string, const std::string*>{"attempts.csv", &csv},
                                   {"timeline.svg", &timeline},
                                   {"utilization.svg", &utilization},
                                   {"gpu_utilization.svg", &gpu_utilization},
                                   {"report.html", &h}}) {
    if (text->empty()) continue;  // no GPUs
    const std::string path = (base / name).string();
    DRC_RETURN_NOT_OK(WriteFileAtomically(path, *text));
    written.push_back(path);
  }
  return written;
}

}  // namespace drc::runtime
