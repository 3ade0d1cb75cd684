// The report of a pipeline run: one self-contained HTML page with the per-model metrics of each
// forecast stage and charts of the forecasts against the actual values, the NSE and KGE of each
// hydro stage's models and charts of their simulated against the observed discharge, every
// stage's tasks and states, and the run's timeline and core utilization (`drc profile`'s charts).
#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/chunked_array.h>
#include <arrow/compute/api_scalar.h>
#include <arrow/compute/cast.h>
#include <arrow/table.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "drc/common/files.h"
#include "drc/common/strings.h"
#include "drc/common/svg.h"
#include "drc/data/dist_io.h"
#include "drc/data/io.h"
#include "drc/data/ops.h"
#include "drc/data/timeseries.h"
#include "drc/pipeline/pipeline.h"
#include "drc/runtime/events.h"
#include "drc/runtime/profile.h"

namespace drc::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

// x (seconds since the epoch for time stamps, else the integer stamp) and y per series.
struct Points {
  std::vector<std::string> order;  // series in order of first appearance
  std::map<std::string, std::vector<std::pair<double, double>>> by_series;
};

bool IsDateOrTime(const arrow::DataType& type) {
  return type.id() == arrow::Type::TIMESTAMP || type.id() == arrow::Type::DATE32 ||
         type.id() == arrow::Type::DATE64;
}

Result<std::shared_ptr<arrow::Array>> Column(const data::TablePtr& table, const std::string& name,
                                             const std::shared_ptr<arrow::DataType>& type) {
  auto column = table->GetColumnByName(name);
  if (column == nullptr) return Status::InvalidArgument("no column '", name, "'");
  arrow::Datum datum(column);
  if (IsDateOrTime(*column->type())) {
    // Seconds, whatever the unit (Parquet keeps milliseconds, a CSV reads as seconds or days).
    auto seconds = arrow::compute::Cast(datum, arrow::timestamp(arrow::TimeUnit::SECOND),
                                        arrow::compute::CastOptions::Unsafe());
    if (!seconds.ok()) {
      return Status::InvalidArgument("column '", name, "': ", seconds.status().message());
    }
    datum = *seconds;
  }
  auto cast = arrow::compute::Cast(datum, type);
  if (!cast.ok()) {
    return Status::InvalidArgument("column '", name, "': ", cast.status().message());
  }
  auto combined = arrow::Concatenate(cast->chunked_array()->chunks());
  if (!combined.ok()) return Status::Internal(combined.status().message());
  return *combined;
}

// Each series' points of column `value`, by stamp. With `group` (cross-validation's cutoff):
// by group, then stamp, with a NaN point between two groups, where lines and bands break. The
// order depends on the stamps and groups only, so two columns of a table give points that pair.
Result<Points> SeriesPoints(const data::TablePtr& table, const std::string& value,
                            const std::string& group = "") {
  const data::SeriesColumns cols;
  DRC_ASSIGN_OR_RETURN(auto ids, Column(table, cols.id, arrow::utf8()));
  DRC_ASSIGN_OR_RETURN(auto times, Column(table, cols.time, arrow::int64()));
  DRC_ASSIGN_OR_RETURN(auto values, Column(table, value, arrow::float64()));
  std::shared_ptr<arrow::Array> groups;
  if (!group.empty()) {
    DRC_ASSIGN_OR_RETURN(groups, Column(table, group, arrow::int64()));
  }
  const auto& id = static_cast<const arrow::StringArray&>(*ids);
  const auto& t = static_cast<const arrow::Int64Array&>(*times);
  const auto& v = static_cast<const arrow::DoubleArray&>(*values);
  const auto* g = static_cast<const arrow::Int64Array*>(groups.get());
  struct Row {
    int64_t group, time;
    double y;
  };
  std::map<std::string, std::vector<Row>> rows;
  Points p;
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    if (id.IsNull(i) || t.IsNull(i) || (g != nullptr && g->IsNull(i))) continue;
    const std::string series = id.GetString(i);
    auto [it, added] = rows.try_emplace(series);
    if (added) p.order.push_back(series);
    const double y = v.IsNull(i) ? std::numeric_limits<double>::quiet_NaN() : v.Value(i);
    it->second.push_back({g != nullptr ? g->Value(i) : 0, t.Value(i), y});
  }
  for (auto& [series, list] : rows) {
    std::stable_sort(list.begin(), list.end(), [](const Row& a, const Row& b) {
      return a.group != b.group ? a.group < b.group : a.time < b.time;
    });
    auto& points = p.by_series[series];
    for (size_t k = 0; k < list.size(); ++k) {
      if (k > 0 && list[k].group != list[k - 1].group) {
        points.emplace_back(static_cast<double>(list[k - 1].time),
                            std::numeric_limits<double>::quiet_NaN());
      }
      points.emplace_back(static_cast<double>(list[k].time), list[k].y);
    }
  }
  return p;
}

std::string DateLabel(double seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m", &tm);
  return buf;
}

// "x,y " of a point in an SVG points list.
std::string SvgPoint(const ChartFrame& f, double x, double y) {
  return FormatNum(f.X(x), "%.1f") + "," + FormatNum(f.Y(y), "%.1f") + " ";
}

// A polyline through the finite points (broken at NaN).
std::string Line(const ChartFrame& f, const std::vector<std::pair<double, double>>& points,
                 const std::string& colour, const char* extra = "") {
  std::string s, path;
  auto flush = [&] {
    if (!path.empty()) {
      s += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"1.6\" " + extra +
           " points=\"" + path + "\"/>\n";
    }
    path.clear();
  };
  for (const auto& [x, y] : points) {
    if (std::isnan(y)) {
      flush();
      continue;
    }
    path += SvgPoint(f, x, y);
  }
  flush();
  return s;
}

using Curve = std::vector<std::pair<double, double>>;

// The area between a lower and an upper curve of the same stamps (broken where either is NaN).
std::string Band(const ChartFrame& f, const Curve& lo, const Curve& hi, const std::string& colour) {
  if (lo.size() != hi.size()) return "";
  std::string s;
  size_t start = 0;
  const auto flush = [&](size_t end) {
    if (end <= start) return;
    std::string path;
    for (size_t i = start; i < end; ++i) path += SvgPoint(f, lo[i].first, lo[i].second);
    for (size_t i = end; i-- > start;) path += SvgPoint(f, hi[i].first, hi[i].second);
    s += "<polygon fill=\"" + colour + "\" fill-opacity=\"0.15\" stroke=\"none\" points=\"" + path +
         "\"/>\n";
  };
  for (size_t i = 0; i < lo.size(); ++i) {
    if (std::isnan(lo[i].second) || std::isnan(hi[i].second)) {
      flush(i);
      start = i + 1;
    }
  }
  flush(lo.size());
  return s;
}

// A model's line on a chart and its prediction intervals' bounds (lower, upper).
struct ChartLine {
  std::string name;
  Curve curve;
  std::vector<std::pair<Curve, Curve>> bands;
};

struct ChartLabels {
  std::string actual = "actual";  // the black line's name
  std::string y = "y";
};

// The actual series (the last `history` points before the forecast window and the window's
// actual values) and each model's forecast with its intervals as bands; the window shaded.
std::string ForecastChart(const std::string& title, const Curve& actual,
                          const std::vector<ChartLine>& models, double window_start, size_t history,
                          bool dates, const ChartLabels& labels = {}) {
  std::vector<std::pair<double, double>> shown;
  size_t before = 0;
  for (const auto& p : actual) before += p.first < window_start ? 1 : 0;
  const size_t skip = before > history ? before - history : 0;
  shown.assign(actual.begin() + static_cast<std::ptrdiff_t>(skip), actual.end());
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  auto extend = [&](const std::vector<std::pair<double, double>>& points) {
    for (const auto& [x, y] : points) {
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      if (std::isnan(y)) continue;
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  };
  extend(shown);
  for (const auto& m : models) {
    extend(m.curve);
    for (const auto& [lo, hi] : m.bands) {
      extend(lo);
      extend(hi);
    }
  }
  if (!(x_hi >= x_lo) || !(y_hi >= y_lo)) return "<p>(no values to chart)</p>\n";
  const double pad = (y_hi - y_lo) * 0.05 + (y_hi == y_lo ? 1 : 0);
  ChartFrame f{900, 320, 80, 30, 790, 240, x_hi, y_hi + pad, x_lo, y_lo - pad, {}};
  if (x_hi == x_lo) f.x_hi = x_lo + 1;
  if (dates) f.x_tick_label = DateLabel;
  std::string s = f.Open(title);
  std::vector<std::pair<std::string, std::string>> legend = {{"black", labels.actual}};
  for (size_t i = 0; i < models.size(); ++i) {
    legend.emplace_back(kColours[i % std::size(kColours)], models[i].name);
  }
  s += f.Legend(legend);
  // The forecast window, shaded (none when it is the whole chart).
  if (window_start > x_lo) {
    s += "<rect x=\"" + FormatNum(f.X(window_start), "%.1f") + "\" y=\"" +
         FormatNum(f.top, "%.1f") + "\" width=\"" +
         FormatNum(f.left + f.plot_w - f.X(window_start), "%.1f") + "\" height=\"" +
         FormatNum(f.plot_h, "%.1f") + "\" fill=\"#f0f0f0\"/>\n";
  }
  for (size_t i = 0; i < models.size(); ++i) {
    for (const auto& [lo, hi] : models[i].bands) {
      s += Band(f, lo, hi, kColours[i % std::size(kColours)]);
    }
  }
  s += Line(f, shown, "black");
  for (size_t i = 0; i < models.size(); ++i) {
    s += Line(f, models[i].curve, kColours[i % std::size(kColours)]);
  }
  s += f.Axes(dates ? "time" : "ds", labels.y, true);
  return s + "</svg>\n";
}

// The lines of a task's output that are JSON objects (the function's records).
std::vector<nlohmann::json> Records(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<nlohmann::json> found;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) found.push_back(std::move(j));
  }
  return found;
}

// The last of `records` with `key` (null when there is none).
nlohmann::json LastWith(const std::vector<nlohmann::json>& records, const char* key) {
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (it->contains(key)) return *it;
  }
  return nlohmann::json();
}

nlohmann::json LastRecord(const std::string& path, const char* key) {
  return LastWith(Records(path), key);
}

// The median of the finite values (NaN when there is none).
double Median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// `key` of each record that has it as a number.
std::vector<double> Values(const std::vector<nlohmann::json>& records, const char* key) {
  std::vector<double> v;
  for (const auto& r : records) {
    if (r.contains(key) && r[key].is_number()) v.push_back(r[key].get<double>());
  }
  return v;
}

std::string StdoutPath(const std::string& workdir, const std::string& uid) {
  return (fs::path(TaskFolder(workdir, uid)) / (uid + ".out")).string();
}

}  // namespace

std::string ForecastMetricsLine(const std::string& workdir, const std::string& task_uid) {
  const nlohmann::json j = LastRecord(StdoutPath(workdir, task_uid), "mae");
  return j.is_null() ? "" : j.dump();
}

Result<int64_t> WriteStagePredictions(const Stage& stage, const std::string& workdir,
                                      const std::string& path) {
  DRC_RETURN_NOT_OK(data::Initialize());
  DRC_RETURN_NOT_OK(data::TableFormatOf(path).status());
  // The key columns of the first file read (unique_id, ds, cutoff with cross-validation, y but
  // for future forecasts), then each run's columns: its model's and the model's quantiles'.
  data::TablePtr merged;
  const data::SeriesColumns cols;
  const std::vector<std::string> key_names = {cols.id, cols.time, "cutoff", cols.value};
  for (const auto& run : stage.runs) {
    const std::string file = PredictionsPath(stage, workdir, run.uid);
    std::error_code ec;
    if (!fs::exists(file, ec)) continue;
    DRC_ASSIGN_OR_RETURN(data::TablePtr table, data::ReadSeries(file));
    const auto same = [&](const std::string& key) {
      const auto a = merged->GetColumnByName(key), b = table->GetColumnByName(key);
      return a != nullptr && b != nullptr && a->Equals(*b);
    };
    if (merged == nullptr) {
      std::vector<std::string> keys;
      for (const auto& k : key_names) {
        if (table->GetColumnByName(k) != nullptr) keys.push_back(k);
      }
      auto selected = data::Select(table, keys);
      if (!selected.ok()) return Status::InvalidArgument(file, ": ", selected.status().message());
      merged = *selected;
    } else if (table->num_rows() != merged->num_rows() || !same(cols.id) || !same(cols.time) ||
               (merged->GetColumnByName("cutoff") != nullptr && !same("cutoff"))) {
      return Status::InvalidArgument(file, ": the predictions of ", run.model,
                                     " are not of the same series and stamps as the others'");
    }
    if (table->GetColumnByName(run.model) == nullptr) {
      return Status::InvalidArgument(file, ": no column '", run.model, "'");
    }
    const std::string label =
        stage.Seeds().size() > 1 ? run.model + "-seed" + std::to_string(run.seed) : run.model;
    // MODEL, then MODEL-median, MODEL-lo-80, ... (NF's names) under the run's label.
    for (int i = 0; i < table->num_columns(); ++i) {
      const std::string& name = table->field(i)->name();
      if (name != run.model && name.rfind(run.model + "-", 0) != 0) continue;
      const auto field =
          arrow::field(label + name.substr(run.model.size()), table->field(i)->type());
      auto added = merged->AddColumn(merged->num_columns(), field, table->column(i));
      if (!added.ok()) return Status::Internal(file, ": ", added.status().message());
      merged = *added;
    }
  }
  if (merged == nullptr) {
    return Status::NotFound("no model of stage '", stage.name, "' wrote its predictions");
  }
  DRC_RETURN_NOT_OK(data::WriteTable(*merged, path));
  return merged->num_rows();
}

namespace {

struct TaskState {
  std::string state = "not run";
  std::string reason;
};

class Report {
 public:
  Report(const Pipeline& p, std::string workdir, bool resumed, int max_series)
      : p_(p), workdir_(std::move(workdir)), resumed_(resumed), max_series_(max_series) {}

  std::string Html() {
    const std::string log_path = (fs::path(workdir_) / "events.jsonl").string();
    auto log = runtime::ReadRunLog(log_path);
    // After a resume every run of the work directory counts (a resumed run does not run again
    // what an earlier one ended DONE), so the states come from the whole log, a DONE one kept;
    // otherwise from the last run (a work directory reused for a new run).
    if (log.ok()) {
      (void)runtime::ReadEvents(log_path, [&](const runtime::Event& e, int64_t) {
        if (!resumed_ && e.kind == "pilot" && e.value == "start") states_.clear();
        if (e.kind != "state" || e.task.empty()) return Status::OK();
        TaskState& s = states_[e.task];
        if (s.state != "DONE") s = {e.value, e.value == "DONE" ? "" : e.detail};
        return Status::OK();
      });
    }
    std::string h =
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + HtmlEscape(p_.name) +
        " - Deep RC pipeline report</title>\n<style>body{font-family:sans-serif;margin:2em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px "
        "8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        ".bad{color:#b00}.best{font-weight:bold}</style></head><body>\n";
    h += "<h1>Pipeline " + HtmlEscape(p_.name) + "</h1>\n<p>" + HtmlEscape(p_.file) + ", run in " +
         HtmlEscape(workdir_) + "</p>\n";
    if (!log.ok()) {
      h += "<p class=\"bad\">The run's events could not be read: " +
           HtmlEscape(log.status().message()) + "</p>\n";
    } else {
      const runtime::RunProfile profile = runtime::Summarize(*log);
      h += "<p>" + std::to_string(profile.tasks) + " tasks on " + HtmlEscape(log->pilot) + " in " +
           FormatNum(log->duration, "%.1f") + " s; by state:";
      for (const auto& [state, n] : profile.states) {
        h += " " + HtmlEscape(state) + " " + std::to_string(n);
      }
      h += "; cores busy " +
           (std::isnan(profile.core_utilization)
                ? std::string("n/a")
                : FormatNum(100 * profile.core_utilization, "%.1f") + " %") +
           ".</p>\n";
      if (!log->stopped) {
        h += "<p class=\"bad\">The run did not stop cleanly (crashed or still running): what "
             "follows is what it had done.</p>\n";
      }
    }
    h += Failures();
    for (const auto& stage : p_.stages) h += StageSection(stage);
    if (log.ok()) {
      h += "<h2>Tasks over time</h2>\n";
      if (log->earlier_runs > 0 && resumed_) {
        h += "<p>The last of " + std::to_string(log->earlier_runs + 1) +
             " runs in this work directory (the states above are over all of them).</p>\n";
      }
      h += runtime::TimelineSvg(*log) + "\n" + runtime::UtilizationSvg(*log) +
           "\n<p>Phases and overheads: <code>drc profile " + HtmlEscape(workdir_) +
           "</code>.</p>\n";
    }
    return h + "</body></html>\n";
  }

 private:
  const TaskState& State(const std::string& uid) {
    return states_[uid];  // a task absent from the log did not run
  }

  std::string Failures() {
    std::string rows;
    for (const auto& t : p_.run.tasks) {
      const TaskState& s = State(t.uid);
      if (s.state == "DONE") continue;
      rows += "<tr><td>" + HtmlEscape(t.uid) + "</td><td class=\"bad\">" + HtmlEscape(s.state) +
              "</td><td>" + HtmlEscape(s.reason) + "</td></tr>\n";
    }
    if (rows.empty()) return "<p>Every task ended DONE.</p>\n";
    return "<h2>Tasks that did not end DONE</h2>\n<table><tr><th>task</th><th>state</th>"
           "<th>reason</th></tr>\n" +
           rows + "</table>\n";
  }

  std::string StageSection(const Stage& stage) {
    std::string h = "<h2>Stage " + HtmlEscape(stage.name) + " (" +
                    std::string(StageKindName(stage.kind)) + ")</h2>\n";
    if (!stage.after.empty()) h += "<p>after " + HtmlEscape(JoinList(stage.after)) + "</p>\n";
    if (stage.kind == StageKind::kForecast) return h + ForecastSection(stage);
    if (stage.kind == StageKind::kHydro) return h + HydroSection(stage);
    h += "<table><tr><th>task</th><th>state</th><th>record</th></tr>\n";
    for (const auto& uid : stage.task_uids) {
      const TaskState& s = State(uid);
      std::string record;
      if (stage.kind == StageKind::kPrepare) {
        const auto j = LastRecord(StdoutPath(workdir_, uid), "rows_out");
        if (!j.is_null()) {
          record = std::to_string(j["rows_in"].get<int64_t>()) + " rows in, " +
                   std::to_string(j["rows_out"].get<int64_t>()) + " out";
          const int64_t dropped = j.value("series_dropped", int64_t{0});
          if (dropped > 0) {
            record += " (" + std::to_string(dropped) + " series shorter than min_length left out)";
          }
          record += ": " + PreparedTablePath(stage, workdir_);
          if (stage.prepare.partitioned) record += " (a part per rank)";
        }
      }
      h += "<tr><td>" + HtmlEscape(uid) + "</td><td" + (s.state == "DONE" ? "" : " class=\"bad\"") +
           ">" + HtmlEscape(s.state) + "</td><td>" +
           HtmlEscape(record.empty() ? s.reason : record) + "</td></tr>\n";
    }
    return h + "</table>\n";
  }

  // A model of a forecast or hydro stage: the records of its runs that ended DONE.
  struct ModelRow {
    std::string model;
    std::vector<nlohmann::json> scored;  // each such run's record (its last line with the key)
    std::vector<std::vector<nlohmann::json>> outputs;  // and all of its JSON lines
    size_t runs = 0;
    std::string problem;  // the first run that did not
    double Median(const char* key) const { return pipeline::Median(Values(scored, key)); }
    // "DONE", "k/n DONE" with several seeds, or the first problem's state.
    std::string StateCell(bool seeds) const {
      const bool all = scored.size() == runs;
      const std::string state =
          seeds ? std::to_string(scored.size()) + "/" + std::to_string(runs) + " DONE"
          : all ? "DONE"
                : problem.substr(0, problem.find(':'));
      return std::string("<td") + (all ? "" : " class=\"bad\"") + ">" + HtmlEscape(state) + "</td>";
    }
  };

  // Per model of `stage`, in the file's order, its runs' records: the last line of each run's
  // output with `key`.
  std::vector<ModelRow> ModelRows(const Stage& stage, const char* key) {
    const bool seeds = stage.Seeds().size() > 1;
    std::vector<ModelRow> rows;
    for (const auto& model : stage.Models()) {
      ModelRow r;
      r.model = model;
      for (const auto& run : stage.runs) {
        if (run.model != model) continue;
        ++r.runs;
        const TaskState& s = State(run.uid);
        std::vector<nlohmann::json> lines;
        if (s.state == "DONE") lines = Records(StdoutPath(workdir_, run.uid));
        nlohmann::json m = LastWith(lines, key);
        if (!m.is_null()) {
          r.scored.push_back(std::move(m));
          r.outputs.push_back(std::move(lines));
        } else if (r.problem.empty()) {
          r.problem =
              (seeds ? "seed " + std::to_string(run.seed) + ": " : "") + s.state + ": " +
              (s.state == "DONE" ? "no metrics in " + StdoutPath(workdir_, run.uid) : s.reason);
        }
      }
      rows.push_back(std::move(r));
    }
    return rows;
  }

  // Per model its metrics, the median over its seeds' runs when there are several.
  std::string ForecastSection(const Stage& stage) {
    const ForecastSpec& f = stage.forecast;
    const bool seeds = f.seeds.size() > 1;
    // A future forecast has nothing to score: its record is the line with the seconds.
    std::vector<ModelRow> rows = ModelRows(stage, f.future ? "seconds" : "mae");
    if (!f.future) {
      // Best (median) MAE first; models without metrics last, in the file's order.
      std::stable_sort(rows.begin(), rows.end(), [](const ModelRow& a, const ModelRow& b) {
        const bool ha = !a.scored.empty(), hb = !b.scored.empty();
        if (ha != hb) return ha;
        return ha && a.Median("mae") < b.Median("mae");
      });
    }
    std::vector<std::string> seed_list;
    for (int64_t seed : f.seeds) seed_list.push_back(std::to_string(seed));
    std::string how =
        f.future ? "each model trained on every point of every series and forecast the h stamps "
                   "after its end (there are no actual values to score them against yet)"
        : f.cv_windows > 0
            ? "each model trained " + std::string(f.cv_refit > 0 ? "first" : "once") +
                  " on every series without its last h + " + std::to_string(f.cv_step) + " · " +
                  std::to_string(f.cv_windows - 1) + " points" +
                  (f.cv_refit == 1  ? ", then again up to each later cutoff"
                   : f.cv_refit > 1 ? ", then again up to the cutoff of every " +
                                          std::to_string(f.cv_refit) + " windows"
                                    : "") +
                  (f.cv_refit > 0 && f.warm_start ? " (each going on from the weights of the "
                                                    "fit before)"
                                                  : "") +
                  ", and scored on its forecasts from " + std::to_string(f.cv_windows) +
                  " cross-validation cutoffs " + std::to_string(f.cv_step) + " apart"
            : "each model trained on all but the last h points of every series and scored on them";
    std::string exog;  // the exogenous variables, by kind
    for (const auto& list : f.ExogLists()) {
      if (list.columns->empty()) continue;
      exog += std::string(exog.empty() ? "" : ", ") + list.kind + " " + JoinList(*list.columns);
    }
    if (!f.cat_exog.empty()) exog += " (categorical: " + JoinList(f.cat_exog) + ")";
    if (!exog.empty()) exog = ", exogenous variables: " + HtmlEscape(exog);
    // How a point model's intervals were calibrated (DeepAR's and a distribution loss's come
    // from the distribution).
    std::string conformal;
    if (!f.level.empty() && f.conformal_windows > 0) {
      const std::string step = std::to_string(f.conformal_step);
      conformal = "; a point model's intervals are conformal (" +
                  HtmlEscape(f.conformal_method.empty() ? std::string("conformal_distribution")
                                                        : f.conformal_method) +
                  "): " + (f.cv_windows > 0 ? "for each of its fits, " : "") +
                  "a copy of the model trained without each series' last h + " + step + " · " +
                  std::to_string(f.conformal_windows - 1) + " points forecast from " +
                  std::to_string(f.conformal_windows) + " cutoffs " + step +
                  " apart, and its errors there set the intervals' width" +
                  (!f.warm_start      ? ""
                   : f.cv_windows > 0 ? "; each fit went on from its copy's weights"
                                      : "; the model's fit went on from that copy's weights");
    }
    std::string h =
        "<p>h=" + std::to_string(f.horizon) + ", input_size=" + std::to_string(f.input_size) +
        ", steps=" + std::to_string(f.steps) +
        (f.loss.empty() ? "" : ", loss " + HtmlEscape(f.loss)) + (seeds ? ", seeds " : ", seed ") +
        JoinList(seed_list) + exog + "; " + how +
        (f.init_from.empty() ? ""
                             : "; each model started from its checkpoint in " +
                                   HtmlEscape(f.init_from) + " instead of its initial weights") +
        conformal + (seeds ? "; each value is the median over the seeds' runs" : "") + ".</p>\n";
    // Per interval level, its key in the records (drc forecast's "%g").
    std::vector<std::string> levels;
    for (double level : f.level) levels.push_back(FormatNum(level, "%g"));
    std::vector<std::pair<std::string, std::string>> columns;  // record key, heading
    if (!f.future) {
      columns = {{"mae", "MAE"}, {"rmse", "RMSE"}, {"mape", "MAPE %"}, {"smape", "sMAPE %"}};
    }
    for (const auto& level : levels) {
      if (!f.future) columns.emplace_back("coverage_" + level, level + " % interval coverage");
      columns.emplace_back("width_" + level, level + " % interval width");
    }
    columns.emplace_back("seconds", "fit + predict s");
    columns.emplace_back("threads", "threads");
    if (f.future) columns.emplace_back("final_loss", "final loss");
    h += "<table><tr><th>model</th><th>state</th>";
    for (const auto& [key, heading] : columns) h += "<th>" + HtmlEscape(heading) + "</th>";
    h += "</tr>\n";
    bool first = !f.future;
    for (const auto& r : rows) {
      h += std::string("<tr") + (!r.scored.empty() && first ? " class=\"best\"" : "") + "><td>" +
           HtmlEscape(r.model) + "</td>" + r.StateCell(seeds);
      if (!r.scored.empty()) {
        for (const auto& [key, heading] : columns) {
          const char* format = key == "threads"                 ? "%.0f"
                               : key == "final_loss"            ? "%.4f"
                               : key.rfind("coverage_", 0) == 0 ? "%.3f"
                                                                : "%.2f";
          h += "<td>" + FormatNum(r.Median(key.c_str()), format) + "</td>";
        }
      } else {
        h += "<td colspan=\"" + std::to_string(columns.size()) + "\">" + HtmlEscape(r.problem) +
             "</td>";
      }
      h += "</tr>\n";
      first = first && r.scored.empty();
    }
    h += "</table>\n";
    return h + Charts(stage);
  }

  // A model's predictions (the points of its column) and its intervals' bounds (MODEL-lo-L and
  // MODEL-hi-L, NF's names).
  struct Predicted {
    std::string label;
    Points points;
    std::vector<std::pair<Points, Points>> bands;
  };

  // Each model's predictions from its first run that ended DONE (its first seed's, with
  // several), the first table read, and a note per model whose file did not read. `group`
  // breaks the lines (cross-validation's cutoff).
  struct Predictions {
    std::vector<Predicted> models;
    data::TablePtr first;
    std::string notes;
  };
  Predictions ReadPredictions(const Stage& stage, const std::string& group = "") {
    Predictions out;
    const bool seeds = stage.Seeds().size() > 1;
    for (const auto& model : stage.Models()) {
      for (const auto& run : stage.runs) {
        if (run.model != model || State(run.uid).state != "DONE") continue;
        const std::string label =
            seeds ? model + " (seed " + std::to_string(run.seed) + ")" : model;
        auto table = data::ReadSeries(PredictionsPath(stage, workdir_, run.uid));
        auto predicted = table.ok() ? ReadPredicted(*table, model, label, group)
                                    : Result<Predicted>(table.status());
        if (!predicted.ok()) {
          out.notes += "<p class=\"bad\">" + HtmlEscape(label) + ": " +
                       HtmlEscape(predicted.status().message()) + "</p>\n";
        } else {
          if (out.first == nullptr) out.first = *table;
          out.models.push_back(std::move(predicted).ValueOrDie());
        }
        break;
      }
    }
    return out;
  }

  static Result<Predicted> ReadPredicted(const data::TablePtr& table, const std::string& model,
                                         const std::string& label, const std::string& group) {
    Predicted out{label, {}, {}};
    DRC_ASSIGN_OR_RETURN(out.points, SeriesPoints(table, model, group));
    const std::string lo_prefix = model + "-lo-";
    for (const auto& field : table->schema()->fields()) {
      if (field->name().rfind(lo_prefix, 0) != 0) continue;
      const std::string level = field->name().substr(lo_prefix.size());
      const std::string hi = model + "-hi-" + level;
      if (table->GetColumnByName(hi) == nullptr) continue;
      DRC_ASSIGN_OR_RETURN(Points lo_points, SeriesPoints(table, field->name(), group));
      DRC_ASSIGN_OR_RETURN(Points hi_points, SeriesPoints(table, hi, group));
      out.bands.emplace_back(std::move(lo_points), std::move(hi_points));
    }
    return out;
  }

  static bool HasDates(const data::TablePtr& table) {
    const auto time = table->schema()->GetFieldByName(data::SeriesColumns().time);
    return time != nullptr && IsDateOrTime(*time->type());
  }

  // A chart per series of `actual` (up to max_series_) with each model's predictions of it.
  std::string SeriesCharts(const Points& actual, const Predictions& predicted, bool dates,
                           size_t history, const ChartLabels& labels, const std::string& noun,
                           const std::string& nouns, const std::string& files) {
    std::string h;
    int shown = 0;
    for (const auto& series : actual.order) {
      if (shown == max_series_) break;
      std::vector<ChartLine> lines;
      double window_start = std::numeric_limits<double>::infinity();
      for (const auto& model : predicted.models) {
        auto it = model.points.by_series.find(series);
        if (it == model.points.by_series.end() || it->second.empty()) continue;
        window_start = std::min(window_start, it->second.front().first);
        ChartLine line{model.label, it->second, {}};
        for (const auto& [lo, hi] : model.bands) {
          const auto l = lo.by_series.find(series), u = hi.by_series.find(series);
          if (l != lo.by_series.end() && u != hi.by_series.end()) {
            line.bands.emplace_back(l->second, u->second);
          }
        }
        lines.push_back(std::move(line));
      }
      if (lines.empty()) continue;
      ++shown;
      h += ForecastChart(noun + " " + series, actual.by_series.at(series), lines, window_start,
                         history, dates, labels) +
           "\n";
    }
    const int total = static_cast<int>(actual.order.size());
    if (total > shown) {
      h += "<p>" + std::to_string(shown) + " of " + std::to_string(total) + " " + nouns +
           " charted; every prediction is in the tasks' " + files + " files.</p>\n";
    }
    return h;
  }

  // Forecast against actual, per series, for the models that wrote forecasts.
  std::string Charts(const Stage& stage) {
    const ForecastSpec& f = stage.forecast;
    const std::string data = !f.from_task_file.empty()
                                 ? (std::filesystem::path(workdir_) / f.from_task_file).string()
                             : f.from.empty() ? f.data
                                              : PreparedTablePath(*p_.FindStage(f.from), workdir_);
    const Predictions forecasts = ReadPredictions(stage, f.cv_windows > 0 ? "cutoff" : "");
    if (forecasts.models.empty()) return forecasts.notes;
    auto table = data::IsRankPattern(data) ? data::ReadSeriesParts(data) : data::ReadSeries(data);
    auto actual = table.ok() ? SeriesPoints(*table, data::SeriesColumns().value)
                             : Result<Points>(table.status());
    if (!actual.ok()) {
      return forecasts.notes + "<p class=\"bad\">The actual values could not be read from " +
             HtmlEscape(data) + ": " + HtmlEscape(actual.status().message()) + "</p>\n";
    }
    const bool bands = std::any_of(forecasts.models.begin(), forecasts.models.end(),
                                   [](const Predicted& m) { return !m.bands.empty(); });
    std::string about;
    if (f.cv_windows > 0) about += "a line per model and cutoff; ";
    if (bands) {
      std::vector<std::string> levels;
      for (double level : f.level) levels.push_back(FormatNum(level, "%g"));
      about += "shaded around each model's line: its " + JoinList(levels, " % and ") +
               " % prediction intervals; ";
    }
    if (!about.empty()) {
      about[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(about[0])));
      about = "<p>" + about.substr(0, about.size() - 2) + ".</p>\n";
    }
    return forecasts.notes +
           (f.future           ? "<h3>Forecasts after the series' end</h3>\n"
            : f.cv_windows > 0 ? "<h3>Cross-validation forecasts against the actual values</h3>\n"
                               : "<h3>Forecasts against the actual values</h3>\n") +
           about +
           SeriesCharts(*actual, forecasts, HasDates(*table), static_cast<size_t>(4 * f.horizon),
                        {}, "series", "series", "forecast.csv");
  }

  // Per basin, per model: its NSE and KGE lines (drc hydro's, before the summary), a line per run.
  class BasinScores {
   public:
    void Add(const std::string& model, const std::vector<nlohmann::json>& lines) {
      for (const auto& line : lines) {
        const auto it = line.find("basin");
        if (it == line.end() || !it->is_string()) continue;
        const std::string basin = it->get<std::string>();
        if (by_basin_.count(basin) == 0) basins_.push_back(basin);
        by_basin_[basin][model].push_back(line);
      }
    }

    // basin | NSE and KGE of each model that has runs (medians over them).
    std::string Table(const std::vector<ModelRow>& rows) {
      if (basins_.empty()) return "";
      std::string h = "<table><tr><th>basin</th>";
      for (const auto& r : rows) {
        if (r.scored.empty()) continue;
        h += "<th>" + HtmlEscape(r.model) + " NSE</th><th>" + HtmlEscape(r.model) + " KGE</th>";
      }
      h += "</tr>\n";
      for (const auto& basin : basins_) {
        h += "<tr><td>" + HtmlEscape(basin) + "</td>";
        for (const auto& r : rows) {
          if (r.scored.empty()) continue;
          const auto& lines = by_basin_[basin][r.model];
          h += "<td>" + FormatNum(pipeline::Median(Values(lines, "nse")), "%.3f") + "</td><td>" +
               FormatNum(pipeline::Median(Values(lines, "kge")), "%.3f") + "</td>";
        }
        h += "</tr>\n";
      }
      return h + "</table>\n";
    }

   private:
    std::vector<std::string> basins_;  // in order of first appearance
    std::map<std::string, std::map<std::string, std::vector<nlohmann::json>>> by_basin_;
  };

  // Per model its median NSE over the basins (the median over its seeds' runs with several),
  // each basin's NSE and KGE, and charts of the simulated against the observed discharge.
  std::string HydroSection(const Stage& stage) {
    const HydroSpec& hs = stage.hydro;
    const bool seeds = hs.seeds.size() > 1;
    std::vector<std::string> seed_list;
    for (int64_t seed : hs.seeds) seed_list.push_back(std::to_string(seed));
    const std::string source = !hs.from_task_file.empty() ? "the file " + hs.from_task_file
                               : !hs.from.empty()         ? "the table of stage " + hs.from
                               : !hs.table.empty()        ? hs.table
                                                          : hs.data;
    std::string h = "<p>" + HtmlEscape(source) + ", " +
                    (hs.basins.empty() ? std::string("every basin")
                                       : std::to_string(hs.basins.size()) + " basins") +
                    "; trained on " + HtmlEscape(hs.train) + ", tested on " + HtmlEscape(hs.test) +
                    "; epochs=" + std::to_string(hs.epochs) +
                    ", seq_length=" + std::to_string(hs.seq_length) +
                    ", hidden_size=" + std::to_string(hs.hidden_size) + ", loss " +
                    HtmlEscape(hs.loss) + (seeds ? ", seeds " : ", seed ") + JoinList(seed_list) +
                    (seeds ? "; each value is the median over the seeds' runs" : "") + ".</p>\n";
    const std::vector<ModelRow> rows = ModelRows(stage, "median_nse");
    h += "<table><tr><th>model</th><th>state</th><th>median NSE</th><th>mean NSE</th>"
         "<th>median KGE</th><th>train + test s</th><th>training samples</th></tr>\n";
    BasinScores scores;
    for (const auto& r : rows) {
      std::vector<double> mean_nse, median_kge;
      for (const auto& lines : r.outputs) {
        scores.Add(r.model, lines);
        const std::vector<double> nse = Values(lines, "nse");
        double sum = 0;
        for (double v : nse) sum += v;
        mean_nse.push_back(nse.empty() ? std::numeric_limits<double>::quiet_NaN()
                                       : sum / static_cast<double>(nse.size()));
        median_kge.push_back(pipeline::Median(Values(lines, "kge")));
      }
      h += "<tr><td>" + HtmlEscape(r.model) + "</td>" + r.StateCell(seeds);
      if (!r.scored.empty()) {
        h += "<td>" + FormatNum(r.Median("median_nse"), "%.3f") + "</td><td>" +
             FormatNum(pipeline::Median(mean_nse), "%.3f") + "</td><td>" +
             FormatNum(pipeline::Median(median_kge), "%.3f") + "</td><td>" +
             FormatNum(r.Median("seconds"), "%.1f") + "</td><td>" +
             FormatNum(r.Median("train_samples"), "%.0f") + "</td>";
      } else {
        h += "<td colspan=\"5\">" + HtmlEscape(r.problem) + "</td>";
      }
      h += "</tr>\n";
    }
    h += "</table>\n" + scores.Table(rows);
    const Predictions simulated = ReadPredictions(stage);
    if (simulated.models.empty()) return h + simulated.notes;
    auto observed = SeriesPoints(simulated.first, data::SeriesColumns().value);
    if (!observed.ok()) {
      return h + simulated.notes + "<p class=\"bad\">The observed discharge could not be read: " +
             HtmlEscape(observed.status().message()) + "</p>\n";
    }
    return h + simulated.notes + "<h3>Simulated against observed discharge (test period)</h3>\n" +
           SeriesCharts(*observed, simulated, HasDates(simulated.first), 0,
                        {"observed", "discharge, mm/day"}, "basin", "basins", "hydro.csv");
  }

  const Pipeline& p_;
  std::string workdir_;
  bool resumed_;
  int max_series_;
  std::map<std::string, TaskState> states_;
};

}  // namespace

Result<std::string> WriteReport(const Pipeline& pipeline, const std::string& workdir, bool resumed,
                                int max_series) {
  DRC_RETURN_NOT_OK(data::Initialize());
  const fs::path dir = fs::path(workdir) / "report";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create ", dir.string(), ": ", ec.message());
  const std::string path = (dir / "index.html").string();
  DRC_RETURN_NOT_OK(
      WriteFileAtomically(path, Report(pipeline, workdir, resumed, max_series).Html()));
  return path;
}

}  // namespace drc::pipeline
