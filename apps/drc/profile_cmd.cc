#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "drc/runtime/profile.h"
#include "run_cmd.h"

namespace drc::app {
namespace {

// NaN as JSON null.
nlohmann::json Value(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

std::string Seconds(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 0.01 ? "%.2g" : "%.3f", v);
  return buf;
}

std::string Percent(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %%", 100 * v);
  return buf;
}

}  // namespace

int ProfileRun(const ProfileArgs& args) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool is_dir = fs::is_directory(args.workdir, ec);
  const fs::path log_path =
      is_dir ? fs::path(args.workdir) / "events.jsonl" : fs::path(args.workdir);
  if (!fs::exists(log_path, ec)) {
    std::fprintf(stderr,
                 "drc profile: %s: no such %s (expected the work directory of a drc run, which "
                 "holds events.jsonl, or the log itself)\n",
                 log_path.string().c_str(), is_dir ? "file" : "file or directory");
    return 2;
  }
  auto log = runtime::ReadRunLog(log_path.string());
  if (!log.ok()) {
    std::fprintf(stderr, "drc profile: %s\n", log.status().message().c_str());
    return 2;
  }
  const runtime::RunProfile p = runtime::Summarize(*log);
  const std::string out =
      !args.out.empty() ? args.out : (log_path.parent_path() / "profile").string();
  auto written = runtime::WriteProfileReport(*log, p, out);
  if (!written.ok()) {
    std::fprintf(stderr, "drc profile: %s\n", written.status().message().c_str());
    return 1;
  }
  if (args.json) {
    nlohmann::json phases = nlohmann::json::object();
    for (const auto& s : p.phases) {
      phases[s.name] = {{"count", s.count},
                        {"total", s.total},
                        {"median", Value(s.median)},
                        {"p95", Value(s.p95)},
                        {"max", Value(s.max)}};
    }
    nlohmann::json j = {{"log", log_path.string()},
                        {"pilot", log->pilot},
                        {"cores", log->cores},
                        {"gpus", log->gpus},
                        {"seconds", log->duration},
                        {"stopped", log->stopped},
                        {"tasks", p.tasks},
                        {"attempts", p.attempts},
                        {"states", p.states},
                        {"tasks_per_s", Value(p.tasks_per_s)},
                        {"core_utilization", Value(p.core_utilization)},
                        {"core_held_fraction", Value(p.core_held_fraction)},
                        {"gpu_utilization", Value(p.gpu_utilization)},
                        {"core_seconds_running", p.core_seconds_running},
                        {"core_seconds_held", p.core_seconds_held},
                        {"first_launch", Value(p.first_launch)},
                        {"last_exit", Value(p.last_exit)},
                        {"phases", phases},
                        {"report", (fs::path(out) / "report.html").string()}};
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::string states;
  for (const auto& [state, n] : p.states) {
    states += (states.empty() ? "" : ", ") + state + " " + std::to_string(n);
  }
  std::printf("%s: %lld tasks (%s) on %s in %s s%s\n", log_path.string().c_str(),
              static_cast<long long>(p.tasks), states.c_str(), log->pilot.c_str(),
              Seconds(log->duration).c_str(),
              log->stopped ? "" : " (no pilot stop: the run was cut short or is running)");
  std::printf("cores: %s running, %s held (staging in, launch, running)",
              Percent(p.core_utilization).c_str(), Percent(p.core_held_fraction).c_str());
  if (log->gpus > 0) std::printf("; GPUs: %s running", Percent(p.gpu_utilization).c_str());
  std::printf("\nfirst process start %s s, last process end %s s after the pilot's start\n",
              Seconds(p.first_launch).c_str(), Seconds(p.last_exit).c_str());
  std::printf("%-26s %9s %10s %10s %10s\n", "phase (s per attempt)", "attempts", "median", "p95",
              "max");
  for (const auto& s : p.phases) {
    std::printf("%-26s %9lld %10s %10s %10s\n", s.name.c_str(), static_cast<long long>(s.count),
                Seconds(s.median).c_str(), Seconds(s.p95).c_str(), Seconds(s.max).c_str());
  }
  if (log->earlier_runs > 0) {
    std::printf("(the log holds %d earlier run(s); this is the last one)\n", log->earlier_runs);
  }
  if (log->cut_lines > 0) {
    std::printf("(%lld line(s) of the log were cut off by a crash and were skipped)\n",
                static_cast<long long>(log->cut_lines));
  }
  std::printf("wrote");
  for (const auto& path : *written) std::printf(" %s", path.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace drc::app
