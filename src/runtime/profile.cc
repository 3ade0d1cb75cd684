// Reading a run back from its events.jsonl, and the numbers of its profile. The report's
// charts and files are in profile_report.cc.
#include "drc/runtime/profile.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace drc::runtime {
namespace {

using nlohmann::json;

bool IsFinalState(const std::string& s) { return s == "DONE" || s == "FAILED" || s == "CANCELED"; }

// The value of `key` in "a=1 b=2 c=x,y"; empty when absent.
std::string Field(const std::string& text, const std::string& key) {
  const std::string needle = key + "=";
  size_t pos = 0;
  while ((pos = text.find(needle, pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == ' ') {
      const size_t begin = pos + needle.size();
      const size_t end = text.find(' ', begin);
      return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    }
    pos += needle.size();
  }
  return "";
}

Result<int64_t> CountField(const std::string& text, const std::string& key,
                           const std::string& where) {
  const std::string value = Field(text, key);
  int64_t n = 0;
  size_t used = 0;
  try {
    n = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size() || n < 0) {
    return Status::InvalidArgument(where, ": expected '", key, "=N' (N >= 0) in \"", text, "\"");
  }
  return n;
}

class Reader {
 public:
  explicit Reader(std::string path) { log_.path = std::move(path); }

  Status Line(const std::string& text, int64_t line, bool last) {
    json e = json::parse(text, nullptr, /*allow_exceptions=*/false);
    const std::string where = log_.path + ":" + std::to_string(line);
    if (e.is_discarded() || !e.is_object()) {
      if (last) {  // a crashed run's cut-off line
        log_.truncated = true;
        return Status::OK();
      }
      return Status::InvalidArgument(where, ": expected one JSON object per line ({\"t\":..,",
                                     "\"task\":..,\"kind\":..,\"value\":..}), got \"",
                                     text.substr(0, 80), text.size() > 80 ? "..." : "", "\"");
    }
    DRC_ASSIGN_OR_RETURN(const double t, Number(e, "t", where));
    DRC_ASSIGN_OR_RETURN(const std::string kind, Text(e, "kind", where));
    DRC_ASSIGN_OR_RETURN(const std::string value, Text(e, "value", where));
    if (kind == "pilot") return Pilot(e, t, value, where);
    if (!have_run_) return Status::OK();  // events before the first pilot start: nothing to place
    last_time_ = std::max(last_time_, t);
    if (kind != "state" && kind != "launch" && kind != "exit") return Status::OK();
    DRC_ASSIGN_OR_RETURN(const std::string uid, Text(e, "task", where));
    if (uid.empty()) return Status::InvalidArgument(where, ": a '", kind, "' event without a task");
    int attempt = 0;
    if (e.contains("attempt")) {
      if (!e["attempt"].is_number_integer() || e["attempt"].get<int64_t>() < 0) {
        return Status::InvalidArgument(where, ": field 'attempt' expects an integer >= 0");
      }
      attempt = e["attempt"].get<int>();
    }
    std::string detail;
    if (e.contains("detail") && e["detail"].is_string()) detail = e["detail"].get<std::string>();
    return TaskEvent(uid, t - log_.start_time, kind, value, attempt, detail, where);
  }

  Result<RunLog> Finish() {
    if (!have_run_) {
      return Status::InvalidArgument(log_.path,
                                     ": no run in this log (no 'pilot' 'start' event); is it "
                                     "the events.jsonl of a drc run work directory?");
    }
    if (!log_.stopped) log_.duration = std::max(0.0, last_time_ - log_.start_time);
    return std::move(log_);
  }

 private:
  static Result<double> Number(const json& e, const char* key, const std::string& where) {
    auto it = e.find(key);
    if (it == e.end() || !it->is_number() || !std::isfinite(it->get<double>())) {
      return Status::InvalidArgument(where, ": field '", key, "' expects a number");
    }
    return it->get<double>();
  }
  static Result<std::string> Text(const json& e, const char* key, const std::string& where) {
    auto it = e.find(key);
    if (it == e.end() || !it->is_string()) {
      return Status::InvalidArgument(where, ": field '", key, "' expects a string");
    }
    return it->get<std::string>();
  }

  Status Pilot(const json& e, double t, const std::string& value, const std::string& where) {
    if (value == "start") {
      if (have_run_) ++earlier_runs_;
      std::string path = std::move(log_.path);
      log_ = RunLog{};
      log_.path = std::move(path);
      log_.earlier_runs = earlier_runs_;
      log_.start_time = t;
      if (e.contains("detail") && e["detail"].is_string()) log_.pilot = e["detail"];
      index_.clear();
      have_run_ = true;
      last_time_ = t;
    } else if (value == "resources" && have_run_) {
      DRC_ASSIGN_OR_RETURN(const std::string detail, Text(e, "detail", where));
      DRC_ASSIGN_OR_RETURN(log_.nodes, CountField(detail, "nodes", where));
      DRC_ASSIGN_OR_RETURN(log_.cores, CountField(detail, "cores", where));
      DRC_ASSIGN_OR_RETURN(log_.gpus, CountField(detail, "gpus", where));
    } else if (value == "stop" && have_run_) {
      log_.stopped = true;
      log_.duration = std::max(0.0, t - log_.start_time);
      last_time_ = std::max(last_time_, t);
    }
    return Status::OK();
  }

  Status TaskEvent(const std::string& uid, double t, const std::string& kind,
                   const std::string& value, int attempt, const std::string& detail,
                   const std::string& where) {
    auto [it, added] = index_.try_emplace(uid, log_.tasks.size());
    if (added) {
      log_.tasks.emplace_back();
      log_.tasks.back().uid = uid;
    }
    TaskProfile& task = log_.tasks[it->second];
    if (kind == "state" && value == "NEW") {
      task.created = t;
      task.state = value;
      return Status::OK();
    }
    const bool final = kind == "state" && IsFinalState(value);
    if (final) {
      task.state = value;
      task.final = true;
      task.finished = t;
      task.reason = detail;
      // Canceled before it was ever ready: no attempt to close.
      if (task.attempts.empty()) return Status::OK();
    }
    // A new try begins with SCHEDULING; other events belong to the try they name.
    AttemptProfile* a = task.attempts.empty() ? nullptr : &task.attempts.back();
    if (a == nullptr || a->attempt != attempt) {
      if (a != nullptr && std::isnan(a->ended)) a->ended = t;
      task.attempts.emplace_back();
      a = &task.attempts.back();
      a->attempt = attempt;
    }
    if (kind == "launch") {
      if (value == "start") a->launched = t;
    } else if (kind == "exit") {
      a->exited = t;
      a->exit_ok = value == "ok";
    } else {  // state
      task.state = value;
      if (value == "SCHEDULING") {
        a->scheduling = t;
      } else if (value == "STAGING_IN") {
        a->placed = t;
        DRC_ASSIGN_OR_RETURN(a->ranks, CountField(detail, "ranks", where));
        DRC_ASSIGN_OR_RETURN(a->cores, CountField(detail, "cores", where));
        DRC_ASSIGN_OR_RETURN(a->gpus, CountField(detail, "gpus", where));
        a->nodes = Field(detail, "nodes");
      } else if (value == "EXECUTING") {
        a->executing = t;
      } else if (final) {
        a->ended = t;
      }
    }
    return Status::OK();
  }

  RunLog log_;
  std::unordered_map<std::string, size_t> index_;
  bool have_run_ = false;
  int earlier_runs_ = 0;
  double last_time_ = 0;
};

// Median, 95th percentile (nearest rank) and maximum of `v` (reordered).
void Describe(std::vector<double>& v, PhaseStats& out) {
  out.count = static_cast<int64_t>(v.size());
  if (v.empty()) return;
  out.total = 0;
  for (double x : v) out.total += x;
  auto rank = [&v](double q) {
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(std::ceil(q * v.size())) - 1);
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
    return v[k];
  };
  out.median = rank(0.5);
  out.p95 = rank(0.95);
  out.max = *std::max_element(v.begin(), v.end());
}

}  // namespace

double AttemptProfile::released() const { return std::isnan(exited) ? ended : exited; }

Result<RunLog> ReadRunLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read the event log ", path);
  Reader reader(path);
  std::string line;
  std::string next;
  int64_t number = 0;
  bool have = static_cast<bool>(std::getline(in, line));
  while (have) {
    ++number;
    const bool more = static_cast<bool>(std::getline(in, next));
    // The last line without its newline is how a crashed writer leaves the file.
    const bool cut = !more && in.eof() && !line.empty();
    if (!line.empty()) DRC_RETURN_NOT_OK(reader.Line(line, number, cut));
    line.swap(next);
    have = more;
  }
  if (in.bad()) return Status::IOError("cannot read the event log ", path);
  return reader.Finish();
}

RunProfile Summarize(const RunLog& log) {
  RunProfile p;
  p.tasks = static_cast<int64_t>(log.tasks.size());
  const char* names[] = {"waiting for dependencies",
                         "waiting for resources",
                         "staging in",
                         "launch",
                         "running",
                         "staging out"};
  std::vector<std::vector<double>> spans(std::size(names));
  auto add = [&spans](size_t phase, double from, double to) {
    if (!std::isnan(from) && !std::isnan(to)) spans[phase].push_back(std::max(0.0, to - from));
  };
  int64_t finals = 0;
  for (const auto& task : log.tasks) {
    ++p.states[task.state.empty() ? "NEW" : task.state];
    if (task.final) ++finals;
    if (!task.attempts.empty()) add(0, task.created, task.attempts.front().scheduling);
    for (const auto& a : task.attempts) {
      ++p.attempts;
      add(1, a.scheduling, a.placed);
      add(2, a.placed, a.executing);
      add(3, a.executing, a.launched);
      add(4, a.launched, a.exited);
      if (task.final && task.state == "DONE" && &a == &task.attempts.back()) {
        add(5, a.exited, a.ended);
      }
      const double held_to = std::isnan(a.released()) ? log.duration : a.released();
      if (!std::isnan(a.placed)) {
        const double held = std::max(0.0, held_to - a.placed);
        p.core_seconds_held += static_cast<double>(a.cores) * held;
        p.gpu_seconds_held += static_cast<double>(a.gpus) * held;
      }
      if (!std::isnan(a.launched)) {
        const double run_to = std::isnan(a.exited) ? log.duration : a.exited;
        const double running = std::max(0.0, run_to - a.launched);
        p.core_seconds_running += static_cast<double>(a.cores) * running;
        p.gpu_seconds_running += static_cast<double>(a.gpus) * running;
        if (std::isnan(p.first_launch) || a.launched < p.first_launch) p.first_launch = a.launched;
      }
      if (!std::isnan(a.exited) && (std::isnan(p.last_exit) || a.exited > p.last_exit)) {
        p.last_exit = a.exited;
      }
    }
  }
  for (size_t i = 0; i < spans.size(); ++i) {
    PhaseStats s;
    s.name = names[i];
    Describe(spans[i], s);
    p.phases.push_back(std::move(s));
  }
  if (log.duration > 0) {
    if (log.cores > 0) {
      const double capacity = static_cast<double>(log.cores) * log.duration;
      p.core_utilization = p.core_seconds_running / capacity;
      p.core_held_fraction = p.core_seconds_held / capacity;
    }
    if (log.gpus > 0) {
      p.gpu_utilization = p.gpu_seconds_running / (static_cast<double>(log.gpus) * log.duration);
    }
    p.tasks_per_s = static_cast<double>(finals) / log.duration;
  }
  return p;
}

}  // namespace drc::runtime
