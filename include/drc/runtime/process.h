// ProcessManager: starts processes and reports their end.
//
// Each process is started with posix_spawn in a process group of its own, with stdout and
// stderr redirected to files, an explicit environment and working directory. One reaper thread
// waits for children and calls the exit callback (on that thread) with the exit code or signal.
// Kill and timeouts signal the whole process group: SIGTERM, then SIGKILL after a grace period.
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "drc/common/clock.h"
#include "drc/common/result.h"

namespace drc::runtime {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::string> env;   // the complete environment, "KEY=VALUE"
  std::string cwd;                // must exist
  std::string stdout_path;        // created or truncated; empty = /dev/null
  std::string stderr_path;
  double timeout_s = 0;  // 0 = none
};

struct ProcessExit {
  pid_t pid = -1;
  int exit_code = -1;  // when exited normally
  int signal = 0;      // when killed by a signal
  bool timed_out = false;
  bool killed = false;  // Kill() was called
  double start_s = 0;   // wall-clock seconds (Clock::WallSeconds)
  double end_s = 0;
  bool ok() const { return signal == 0 && exit_code == 0; }
  // "exit code 3", "killed by signal 9 (SIGKILL)", "timed out after 2 s (SIGTERM)".
  std::string Describe() const;
};

class ProcessManager {
 public:
  using ExitCallback = std::function<void(uint64_t token, const ProcessExit&)>;

  struct Options {
    std::chrono::milliseconds kill_grace{2000};  // between SIGTERM and SIGKILL
    const Clock* clock = nullptr;                // default: RealClock()
  };

  static Result<std::unique_ptr<ProcessManager>> Make(ExitCallback on_exit, Options options);
  static Result<std::unique_ptr<ProcessManager>> Make(ExitCallback on_exit) {
    return Make(std::move(on_exit), Options{});
  }
  // Kills what is still running (TERM, grace, KILL) and joins the reaper.
  ~ProcessManager();

  // Starts a process; `token` comes back in the exit callback. Errors (missing executable,
  // missing cwd, unwritable output file) are returned here, and no callback follows.
  Result<pid_t> Spawn(uint64_t token, const ProcessSpec& spec);
  // Signals the process group of a running token (TERM, then KILL after the grace period).
  Status Kill(uint64_t token);
  size_t running() const;
  // How often the reaper thread has woken up (for tests and profiling: a reaper that spins
  // shows up here).
  uint64_t reaper_wakeups() const;

 private:
  ProcessManager() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace drc::runtime
