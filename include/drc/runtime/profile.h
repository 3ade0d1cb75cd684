// The profile of a run, read back from the events.jsonl that the task manager writes: the
// phases of every task attempt (waiting, staging, launch, running), how much of the pilot's
// cores and GPUs the tasks held and used over time, and a report with charts (`drc profile`).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "drc/common/result.h"

namespace drc::runtime {

inline constexpr double kNoTime = std::numeric_limits<double>::quiet_NaN();

// One try of a task. Times are seconds since the pilot started; NaN where the attempt did not
// get that far (a task canceled while it waited has no placement).
struct AttemptProfile {
  int attempt = 0;
  double scheduling = kNoTime;  // entered SCHEDULING: ready, waiting for resources
  double placed = kNoTime;      // STAGING_IN: resources taken
  double executing = kNoTime;   // EXECUTING: about to start the process
  double launched = kNoTime;    // the process started
  double exited = kNoTime;      // the process ended; its resources were released
  double ended = kNoTime;       // the attempt's last event: a final state or the next try
  bool exit_ok = false;
  int64_t ranks = 0;
  int64_t cores = 0;  // over all ranks
  int64_t gpus = 0;
  std::string nodes;  // "node0000,node0001"

  // When the attempt gave its resources back: at the exit, else (a failed spawn or staging)
  // at its end.
  double released() const;
};

struct TaskProfile {
  std::string uid;
  double created = kNoTime;  // NEW
  std::string state;         // the final state, or the last one seen when the run stopped first
  bool final = false;
  double finished = kNoTime;  // the final state's time
  std::string reason;         // why it FAILED or was CANCELED
  std::vector<AttemptProfile> attempts;
};

struct RunLog {
  std::string path;
  std::string pilot;  // the resources in words ("1 node x 2 cores, 0 GPUs")
  int64_t nodes = 0;
  int64_t cores = 0;
  int64_t gpus = 0;
  double start_time = 0;  // the pilot's start, seconds since the Unix epoch
  double duration = 0;    // pilot start to stop, or to the last event when there is no stop
  bool stopped = false;   // the log has the pilot's stop: the run ended and was not cut short
  int earlier_runs = 0;   // runs before this one in the same log (a reused work directory)
  int64_t cut_lines = 0;  // lines cut off by a crashed run, skipped (see ReadEvents)
  std::vector<TaskProfile> tasks;  // in order of submission
};

// Reads the last run of an events.jsonl (through ReadEvents, events.h). IOError when it cannot be
// read; InvalidArgument naming `path:line` and what was expected for a malformed line or field,
// or when the log holds no pilot start. Lines cut off by a crash are skipped (`cut_lines`).
// Events of kinds it does not know are ignored.
Result<RunLog> ReadRunLog(const std::string& path);

// Durations of one phase over all attempts that went through it.
struct PhaseStats {
  std::string name;
  int64_t count = 0;
  double total = 0;
  double median = kNoTime;
  double p95 = kNoTime;
  double max = kNoTime;
};

struct RunProfile {
  int64_t tasks = 0;
  int64_t attempts = 0;
  std::map<std::string, int64_t> states;  // tasks by final (or last) state
  double core_seconds_running = 0;        // cores x seconds with the task's process running
  double core_seconds_held = 0;           // cores x seconds placed: staging in, launch and running
  double gpu_seconds_running = 0;
  double gpu_seconds_held = 0;
  double core_utilization = kNoTime;    // running / (cores x duration)
  double core_held_fraction = kNoTime;  // held / (cores x duration)
  double gpu_utilization = kNoTime;     // NaN on a pilot without GPUs
  double first_launch = kNoTime;        // pilot start to the first process start
  double last_exit = kNoTime;           // pilot start to the last process end
  double tasks_per_s = kNoTime;         // final tasks per second of the run
  // "waiting for dependencies" (NEW to the first SCHEDULING), "waiting for resources",
  // "staging in", "launch" (EXECUTING to the process start), "running", "staging out" (the
  // exit to DONE): per attempt, in this order.
  std::vector<PhaseStats> phases;
};

RunProfile Summarize(const RunLog& log);

// Charts as standalone SVG documents. The timeline draws each attempt as a bar from its
// placement to its release, coloured by phase (staging in, launch, running or failed): on a
// pilot of up to 1,024 cores a bar of c cores takes c adjacent lanes, one per core; on larger
// ones each attempt takes one lane. It draws the first `max_bars` attempts by placement time and
// says how many were left out. The utilization chart shows the cores held and running over
// time, averaged over `bins` intervals, against the pilot's cores (its GPUs with `gpus`).
std::string TimelineSvg(const RunLog& log, int64_t max_bars = 20000);
std::string UtilizationSvg(const RunLog& log, int bins = 400, bool gpus = false);

// Writes report.html (summary, phases, failures, the charts inline), timeline.svg,
// utilization.svg, gpu_utilization.svg on a pilot with GPUs, and attempts.csv (one row per
// attempt, every time) into `dir`, creating it.
// Returns the paths written; IOError naming the file that could not be written.
Result<std::vector<std::string>> WriteProfileReport(const RunLog& log, const RunProfile& profile,
                                                    const std::string& dir);

}  // namespace drc::runtime
