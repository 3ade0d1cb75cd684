// Reading a run back from its events.jsonl, and the numbers of its profile. The report's
// charts and files are in profile_report.cc.
#include "drc/runtime/profile.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "drc/runtime/events.h"

namespace drc::runtime {
namespace {

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

// The count `key=N` in `text`, or -1 when it is missing or not a count.
int64_t CountField(const std::string& text, const std::string& key) {
  const std::string value = Field(text, key);
  int64_t n = 0;
  size_t used = 0;
  try {
    n = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  return value.empty() || used != value.size() || n < 0 ? -1 : n;
}

class Reader {
 public:
  explicit Reader(std::string path) { log_.path = std::move(path); }

  Status Add(const Event& e, int64_t line) {
    line_ = line;
    if (e.kind == "pilot") return Pilot(e);
    if (!have_run_) return Status::OK();  // events before the first pilot start: nothing to place
    last_time_ = std::max(last_time_, e.time);
    if (e.kind != "state" && e.kind != "launch" && e.kind != "exit") return Status::OK();
    if (e.task.empty()) {
      return Status::InvalidArgument(log_.path, ":", line_, ": a '", e.kind,
                                     "' event without a task");
    }
    return TaskEvent(e.task, e.time - log_.start_time, e.kind, e.value, e.attempt, e.detail);
  }

  Result<RunLog> Finish(int64_t cut_lines) {
    if (!have_run_) {
      return Status::InvalidArgument(log_.path,
                                     ": no run in this log (no 'pilot' 'start' event); is it "
                                     "the events.jsonl of a drc run work directory?");
    }
    if (!log_.stopped) log_.duration = std::max(0.0, last_time_ - log_.start_time);
    log_.cut_lines = cut_lines;
    return std::move(log_);
  }

 private:
  // `*out` = the count `key=N` in `text`; InvalidArgument naming path:line when it is not there.
  Status Count(const std::string& text, const std::string& key, int64_t* out) const {
    *out = CountField(text, key);
    if (*out >= 0) return Status::OK();
    return Status::InvalidArgument(log_.path, ":", line_, ": expected '", key, "=N' (N >= 0) in \"",
                                   text, "\"");
  }

  Status Pilot(const Event& e) {
    if (e.value == "start") {
      if (have_run_) ++earlier_runs_;
      std::string path = std::move(log_.path);
      log_ = RunLog{};
      log_.path = std::move(path);
      log_.earlier_runs = earlier_runs_;
      log_.start_time = e.time;
      log_.pilot = e.detail;
      index_.clear();
      have_run_ = true;
      last_time_ = e.time;
    } else if (e.value == "resources" && have_run_) {
      DRC_RETURN_NOT_OK(Count(e.detail, "nodes", &log_.nodes));
      DRC_RETURN_NOT_OK(Count(e.detail, "cores", &log_.cores));
      DRC_RETURN_NOT_OK(Count(e.detail, "gpus", &log_.gpus));
    } else if (e.value == "stop" && have_run_) {
      log_.stopped = true;
      log_.duration = std::max(0.0, e.time - log_.start_time);
      last_time_ = std::max(last_time_, e.time);
    }
    return Status::OK();
  }

  Status TaskEvent(const std::string& uid, double t, const std::string& kind,
                   const std::string& value, int attempt, const std::string& detail) {
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
    const bool final = kind == "state" && IsFinalStateName(value);
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
        // Logs written before placements were recorded (before this profiler) have none: their
        // attempts count no cores, and the report shows no utilization.
        if (detail.empty()) return Status::OK();
        DRC_RETURN_NOT_OK(Count(detail, "ranks", &a->ranks));
        DRC_RETURN_NOT_OK(Count(detail, "cores", &a->cores));
        DRC_RETURN_NOT_OK(Count(detail, "gpus", &a->gpus));
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
  int64_t line_ = 0;  // of the event being read, for errors
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
  Reader reader(path);
  int64_t cut_lines = 0;
  DRC_RETURN_NOT_OK(ReadEvents(
      path, [&reader](const Event& e, int64_t line) { return reader.Add(e, line); }, &cut_lines));
  return reader.Finish(cut_lines);
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
