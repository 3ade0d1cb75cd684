#include "run_cmd.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "drc/common/clock.h"
#include "drc/common/strings.h"
#include "drc/pipeline/pipeline.h"
#include "drc/runtime/resume.h"
#include "drc/runtime/task_file.h"
#include "drc/runtime/task_manager.h"

extern char** environ;

namespace drc::app {
namespace {

namespace fs = std::filesystem;
using runtime::TaskState;

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

// The signal that interrupted the run (0: none), set by OnInterrupt, read by the wait loop.
volatile std::sig_atomic_t g_interrupt = 0;

extern "C" void OnInterrupt(int signo) { g_interrupt = signo; }

// While a run waits for its tasks, the first SIGINT, SIGTERM or SIGHUP asks it to stop: it
// cancels what did not end and ends as usual (journal, report). The handler resets itself, so
// a second one ends drc at once (the tasks it leaves behind are stopped by --resume).
class InterruptHandlers {
 public:
  InterruptHandlers() {
    g_interrupt = 0;
    struct sigaction action {};
    action.sa_handler = OnInterrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &action, &saved_[i]);
  }
  ~InterruptHandlers() {
    for (size_t i = 0; i < std::size(kSignals); ++i) ::sigaction(kSignals[i], &saved_[i], nullptr);
  }
  InterruptHandlers(const InterruptHandlers&) = delete;
  InterruptHandlers& operator=(const InterruptHandlers&) = delete;

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction saved_[std::size(kSignals)]{};
};

// One progress line: counts per state, rate of finished tasks, ETA.
std::string ProgressLine(const runtime::StateCounts& c, int64_t total, double seconds) {
  auto at = [&](TaskState s) { return c[static_cast<size_t>(s)]; };
  const int64_t final = at(TaskState::kDone) + at(TaskState::kFailed) + at(TaskState::kCanceled);
  const double rate = seconds > 0 ? final / seconds : 0;
  char eta[32] = "-";
  if (rate > 0 && final < total) std::snprintf(eta, sizeof(eta), "%.0fs", (total - final) / rate);
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "[%7.1fs] %lld/%lld final | new %lld sched %lld stage %lld exec %lld | done %lld "
                "failed %lld canceled %lld | %.1f tasks/s | ETA %s",
                seconds, static_cast<long long>(final), static_cast<long long>(total),
                static_cast<long long>(at(TaskState::kNew)),
                static_cast<long long>(at(TaskState::kScheduling)),
                static_cast<long long>(at(TaskState::kStagingIn) + at(TaskState::kStagingOut)),
                static_cast<long long>(at(TaskState::kExecuting)),
                static_cast<long long>(at(TaskState::kDone)),
                static_cast<long long>(at(TaskState::kFailed)),
                static_cast<long long>(at(TaskState::kCanceled)), rate, eta);
  return buf;
}

// Per stage: its tasks DONE of all, and those running, failed or canceled ("forecast 3/11 (2
// running)").
std::string StageProgress(const pipeline::Pipeline& plan,
                          const std::vector<runtime::TaskInfo>& infos) {
  std::map<std::string, TaskState> state;
  for (const auto& info : infos) state[info.uid] = info.state;
  std::string line;
  for (const auto& stage : plan.stages) {
    int done = 0, running = 0, failed = 0, canceled = 0, listed = 0;
    for (const auto& uid : stage.task_uids) {
      auto it = state.find(uid);
      if (it == state.end()) continue;  // DONE in an earlier run (resumed)
      ++listed;
      done += it->second == TaskState::kDone;
      running += it->second == TaskState::kExecuting;
      failed += it->second == TaskState::kFailed;
      canceled += it->second == TaskState::kCanceled;
    }
    const int earlier = static_cast<int>(stage.task_uids.size()) - listed;
    line += (line.empty() ? "" : ", ") + stage.name + " " + std::to_string(done + earlier) + "/" +
            std::to_string(stage.task_uids.size());
    if (running > 0) line += " (" + std::to_string(running) + " running)";
    if (failed > 0) line += " (" + std::to_string(failed) + " failed)";
    if (canceled > 0) line += " (" + std::to_string(canceled) + " canceled)";
  }
  return line;
}

Result<runtime::ResourceSpec> PilotResources(const RunArgs& args,
                                             const std::optional<runtime::ResourceSpec>& file) {
  runtime::ResourceSpec spec;
  // auto: the job's allocation inside a Slurm job, but not inside a task of another drc run
  // (DRC_TASK_ID set), whose pilot holds the allocation already.
  const char* job = std::getenv("SLURM_JOB_ID");
  const bool in_task = std::getenv("DRC_TASK_ID") != nullptr;
  if (args.pilot == "slurm" || (args.pilot == "auto" && job != nullptr && !in_task)) {
    DRC_ASSIGN_OR_RETURN(spec, runtime::ResourcesFromSlurm(Environment()));
    if (args.pilot == "auto") {
      std::fprintf(stderr, "drc run: inside Slurm job %s: the pilot is its allocation%s\n", job,
                   file ? " (not the file's pilot:; --pilot local for that)" : "");
    }
  } else if (args.pilot != "local" && args.pilot != "auto") {
    return Status::InvalidArgument("--pilot must be auto, local or slurm, got '", args.pilot, "'");
  } else if (file) {
    spec = *file;
  } else {
    DRC_ASSIGN_OR_RETURN(spec, runtime::DetectLocalResources());
  }
  if (args.cores > 0 || args.gpus >= 0) {
    for (auto& node : spec.nodes) {
      if (args.cores > 0) node.cores = args.cores;
      if (args.gpus >= 0) {
        node.gpus = args.gpus;
        node.gpu_ids.clear();
      }
    }
  }
  return spec;
}

// The worker program of function tasks: this program's `drc worker`, or drc-dl's (beside it)
// when a task names a dl.* function, which only drc-dl, the one that loads libtorch, serves.
std::vector<std::string> WorkerCommand(const std::vector<runtime::TaskDescription>& tasks) {
  bool dl = false;
  for (const auto& t : tasks) dl = dl || t.function.rfind("dl.", 0) == 0;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {dl ? "drc-dl" : "drc", "worker"};
  return {dl ? (self.parent_path() / "drc-dl").string() : self.string(), "worker"};
}

// Writes the report of a pipeline run; the exit code of drc run.
int WritePipelineReport(const pipeline::Pipeline& plan, const std::string& workdir, bool resumed,
                        bool all_done) {
  auto report = pipeline::WriteReport(plan, workdir, resumed);
  if (!report.ok()) {
    std::fprintf(stderr, "drc run: the pipeline's report: %s\n",
                 report.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "drc run: pipeline report %s%s\n", report->c_str(),
               all_done ? "" : " (lists the tasks that did not end DONE)");
  return all_done ? 0 : 1;
}

std::string DefaultWorkdir(const char* prefix) {
  char buf[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::string(prefix) + buf + "-" + std::to_string(::getpid());
}

// Tasks can call this drc ("$DRC_BIN" forecast ...) and find the bundled data; they inherit
// this environment (no thread runs yet).
void SetTaskEnvironment(const RunArgs& args) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) ::setenv("DRC_BIN", self.c_str(), 1);
  if (!args.data_dir.empty()) ::setenv("DRC_DATA_DIR", args.data_dir.c_str(), 0);
}

// One line of drc run --check: what a task runs, on what, after what.
std::string PlannedTask(const runtime::TaskDescription& t) {
  std::string what = t.function.empty() ? "executable " + t.executable : "function " + t.function;
  what += ", " + std::to_string(t.ranks) + (t.ranks == 1 ? " rank" : " ranks") + " x " +
          std::to_string(t.cores_per_rank) + (t.cores_per_rank == 1 ? " core" : " cores");
  if (t.gpus_per_rank > 0) what += " + " + std::to_string(t.gpus_per_rank) + " GPU";
  if (!t.depends_on.empty()) {
    what += t.depends_on.size() <= 3 ? ", after " + JoinList(t.depends_on)
                                     : ", after " + std::to_string(t.depends_on.size()) + " tasks";
  }
  return "  " + (t.uid.empty() ? std::string("(unnamed)") : t.uid) + ": " + what;
}

// drc run --check: the tasks checked as the task manager and the scheduler check them, and
// listed (by stage for a pipeline), without running anything. 0 when every task could run, 2
// when one could not.
int CheckRun(const RunArgs& args, const runtime::TaskFile& file,
             const std::optional<pipeline::Pipeline>& plan,
             const runtime::ResourceSpec& resources) {
  if (Status st = runtime::CheckBatch(file.tasks); !st.ok()) {
    std::fprintf(stderr, "drc run --check: %s: %s\n", args.file.c_str(), st.message().c_str());
    return 2;
  }
  const runtime::Placer placer(resources);
  std::vector<std::string> never;
  auto list = [&](const runtime::TaskDescription& t) {
    std::printf("%s\n", PlannedTask(t).c_str());
    if (Status fit = placer.CheckFeasible(runtime::RequestOf(t)); !fit.ok()) {
      never.push_back(t.uid + ": " + fit.message());
    }
  };
  std::printf("%s: %zu tasks on %s\n", args.file.c_str(), file.tasks.size(),
              resources.ToString().c_str());
  if (plan) {
    std::map<std::string, const runtime::TaskDescription*> by_uid;
    for (const auto& t : file.tasks) by_uid[t.uid] = &t;
    for (const auto& stage : plan->stages) {
      const std::string after = stage.after.empty() ? "" : ", after " + JoinList(stage.after);
      std::printf("stage %s (%s)%s\n", stage.name.c_str(),
                  std::string(pipeline::StageKindName(stage.kind)).c_str(), after.c_str());
      for (const auto& uid : stage.task_uids) list(*by_uid.at(uid));
    }
  } else {
    for (const auto& t : file.tasks) list(t);
  }
  for (const auto& reason : never) std::fprintf(stderr, "drc run --check: %s\n", reason.c_str());
  // Inputs that are not there: an error when no stage runs before the one that reads them,
  // else a note (an earlier stage may make them).
  int missing = 0;
  for (size_t s = 0; plan && s < plan->stages.size(); ++s) {
    const pipeline::Stage& stage = plan->stages[s];
    for (const auto& input : stage.Inputs()) {
      std::error_code ec;
      if (fs::exists(input, ec)) continue;
      if (stage.after.empty()) {
        ++missing;
        std::fprintf(stderr, "drc run --check: stage %s reads %s, which does not exist\n",
                     stage.name.c_str(), input.c_str());
      } else {
        std::fprintf(stderr,
                     "drc run --check: note: stage %s reads %s, which does not exist yet (a "
                     "stage before it may make it)\n",
                     stage.name.c_str(), input.c_str());
      }
    }
  }
  if (!never.empty()) {
    std::fprintf(stderr, "drc run --check: %zu of %zu tasks can never run on this pilot\n",
                 never.size(), file.tasks.size());
  }
  if (missing > 0) {
    std::fprintf(stderr, "drc run --check: %d input(s) missing\n", missing);
  }
  if (!never.empty() || missing > 0) return 2;
  std::printf("every task could run; nothing was run\n");
  return 0;
}

// Runs a loaded task file, or a pipeline's planned tasks and then its report.
int RunLoaded(const RunArgs& args, Result<runtime::TaskFile> file,
              const std::optional<pipeline::Pipeline>& plan) {
  std::error_code ec;
  if (!file.ok()) {
    std::fprintf(stderr, "drc run: %s\n", file.status().message().c_str());
    return 2;
  }
  if (args.resume) {
    const std::string workdir = !args.workdir.empty() ? args.workdir : file->workdir;
    if (workdir.empty()) {
      std::fprintf(stderr,
                   "drc run --resume: name the work directory of the run to resume (--workdir "
                   "DIR, or workdir: in %s)\n",
                   args.file.c_str());
      return 2;
    }
    const std::string log = (fs::path(workdir) / "events.jsonl").string();
    if (!fs::exists(log, ec)) {
      std::fprintf(stderr, "drc run --resume: %s: no such file: nothing to resume in %s\n",
                   log.c_str(), workdir.c_str());
      return 2;
    }
    const size_t listed = file->tasks.size();
    auto resume_plan = runtime::PlanResume(log, std::move(file->tasks));
    if (!resume_plan.ok()) {
      std::fprintf(stderr, "drc run --resume: %s\n", resume_plan.status().message().c_str());
      return 2;
    }
    std::fprintf(stderr,
                 "drc run: resuming %s: %zu of %zu tasks ended DONE in its %d earlier run(s) and "
                 "are not run again\n",
                 workdir.c_str(), resume_plan->done.size(), listed, resume_plan->runs);
    if (resume_plan->remaining.empty()) {
      std::fprintf(stderr, "drc run: nothing left to run\n");
      return plan ? WritePipelineReport(*plan, workdir, true, true) : 0;
    }
    // Tasks run in process groups of their own, so a crash leaves the running ones behind;
    // they would share their folders with the tasks that run again.
    const auto stopped = runtime::StopLeftRunning(*resume_plan, workdir, std::chrono::seconds(5));
    if (!stopped.empty()) {
      std::fprintf(stderr,
                   "drc run: stopped %zu process(es) that the earlier run left running: %s\n",
                   stopped.size(), JoinList(stopped).c_str());
    }
    file->tasks = std::move(resume_plan->remaining);
    file->workdir = workdir;
  }
  auto resources = PilotResources(args, file->resources);
  if (!resources.ok()) {
    std::fprintf(stderr, "drc run: %s\n", resources.status().ToString().c_str());
    return 2;
  }
  runtime::RuntimeOptions options;
  options.resources = std::move(resources).ValueOrDie();
  options.workdir = !args.workdir.empty()    ? args.workdir
                    : !file->workdir.empty() ? file->workdir
                                             : DefaultWorkdir("drc-run-");
  if (!args.worker.empty()) file->worker = {fs::absolute(args.worker).string()};
  if (!file->worker.empty()) {
    const std::string& program = file->worker[0];
    const bool found = program.find('/') == std::string::npos
                           ? true  // looked up in PATH by mpirun
                           : ::access(program.c_str(), X_OK) == 0;
    if (!found) {
      std::fprintf(stderr, "drc run: worker program %s: no such executable file\n",
                   program.c_str());
      return 2;
    }
  }
  if (args.check) return CheckRun(args, *file, plan, options.resources);
  options.worker_command = file->worker.empty() ? WorkerCommand(file->tasks) : file->worker;
  auto tm = runtime::TaskManager::Make(std::move(options));
  if (!tm.ok()) {
    std::fprintf(stderr, "drc run: %s\n", tm.status().ToString().c_str());
    return 1;
  }
  const int64_t total = static_cast<int64_t>(file->tasks.size());
  if (plan) {
    std::fprintf(stderr, "drc run: pipeline %s: %zu stages\n", plan->name.c_str(),
                 plan->stages.size());
  }
  std::fprintf(stderr, "drc run: %lld tasks on %s; work directory %s\n",
               static_cast<long long>(total), (*tm)->resources().ToString().c_str(),
               (*tm)->workdir().c_str());
  Stopwatch watch;
  InterruptHandlers interrupts;
  auto submitted = (*tm)->Submit(std::move(file->tasks));
  if (!submitted.ok()) {
    std::fprintf(stderr, "drc run: %s: %s\n", args.file.c_str(),
                 submitted.status().message().c_str());
    return 2;
  }
  // On a terminal the progress line is redrawn 4 times a second. Elsewhere (a batch job's
  // output file) a line is printed when the counts changed, at most every 5 s, and otherwise
  // once a minute, so a long run's log stays short and still shows that it is alive.
  const bool tty = ::isatty(STDERR_FILENO);
  const double period = tty ? 0.25 : 5, heartbeat = 60;
  double shown_at = 0;
  std::string shown_state;  // the counts and stages of the last line printed
  int interrupted = 0;
  while (!(*tm)->WaitAll(std::chrono::milliseconds(250)).ok()) {
    if (g_interrupt != 0 && interrupted == 0) {
      interrupted = g_interrupt;
      std::fprintf(stderr,
                   "%sdrc run: SIG%s: canceling the tasks that did not end (once more to quit at "
                   "once)\n",
                   tty && !args.quiet ? "\r\033[K" : "", ::sigabbrev_np(interrupted));
      const std::string reason =
          std::string("canceled: drc run got SIG") + ::sigabbrev_np(interrupted);
      for (const auto& info : (*tm)->QueryAll()) {
        if (!runtime::IsFinal(info.state)) (void)(*tm)->Cancel(info.uid, reason);
      }
    }
    if (args.quiet || watch.Seconds() - shown_at < period) continue;
    const runtime::StateCounts counts = (*tm)->Counts();
    const std::string stages = plan ? StageProgress(*plan, (*tm)->QueryAll()) : "";
    std::string state = stages;
    for (int64_t n : counts) state += " " + std::to_string(n);
    if (!tty && state == shown_state && watch.Seconds() - shown_at < heartbeat) continue;
    shown_at = watch.Seconds();
    shown_state = std::move(state);
    std::string line = ProgressLine(counts, total, watch.Seconds());
    if (plan) line += " | " + stages;
    if (tty) {
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  // A signal that came as the last tasks ended still stops the run as one: at a Slurm job's
  // time limit the tasks get their SIGTERM with drc's, and may end first.
  if (interrupted == 0) interrupted = g_interrupt;
  const auto counts = (*tm)->Counts();
  std::string last = ProgressLine(counts, total, watch.Seconds());
  if (plan) last += " | " + StageProgress(*plan, (*tm)->QueryAll());
  std::fprintf(stderr, "%s%s\n", tty && !args.quiet ? "\r" : "", last.c_str());
  int shown = 0;
  for (const auto& info : (*tm)->QueryAll()) {
    if (info.state == TaskState::kDone) continue;
    if (shown++ < 20) {
      std::fprintf(stderr, "  %s %s: %s\n", std::string(TaskStateName(info.state)).c_str(),
                   info.uid.c_str(), info.reason.c_str());
    }
  }
  if (shown > 20) std::fprintf(stderr, "  ... and %d more (see events.jsonl)\n", shown - 20);
  std::fprintf(stderr, "drc run: events in %s/events.jsonl; report: drc profile %s\n",
               (*tm)->workdir().c_str(), (*tm)->workdir().c_str());
  const bool all_done = counts[static_cast<size_t>(TaskState::kDone)] == total;
  const std::string workdir = (*tm)->workdir();
  const Status journal = (*tm)->FlushEvents();
  if (!journal.ok()) {
    std::fprintf(stderr,
                 "drc run: warning: %s; the journal may lack task ends, and --resume may run "
                 "finished tasks again\n",
                 journal.message().c_str());
  }
  tm->reset();  // stops the pilot: the log has the run's end
  int rc = all_done ? 0 : 1;
  if (plan) rc = WritePipelineReport(*plan, workdir, args.resume, all_done);
  std::string again;
  if (!all_done && fs::is_regular_file(args.file, ec)) {
    again =
        "`drc run " + args.file + " --workdir " + workdir + " --resume` runs what did not end DONE";
  }
  if (interrupted != 0) {
    std::fprintf(stderr, "drc run: interrupted by SIG%s%s\n", ::sigabbrev_np(interrupted),
                 again.empty() ? "" : ("; " + again).c_str());
    rc = 128 + interrupted;
  } else if (!again.empty()) {
    std::fprintf(stderr, "drc run: %s\n", again.c_str());
  }
  return rc;
}

}  // namespace

int RunTaskFile(const RunArgs& args) {
  SetTaskEnvironment(args);
  // A pipeline file (stages) is planned into the tasks of a task file.
  std::optional<pipeline::Pipeline> plan;
  Result<runtime::TaskFile> file = Status::Internal("unread");
  if (pipeline::IsPipelineFile(args.file)) {
    auto loaded = pipeline::LoadPipeline(args.file);
    if (loaded.ok()) {
      plan = std::move(loaded).ValueOrDie();
      file = plan->run;
    } else {
      file = loaded.status();
    }
  } else {
    file = runtime::LoadTaskFile(args.file);
  }
  return RunLoaded(args, std::move(file), plan);
}

int RunPipeline(const RunArgs& args, const pipeline::Pipeline& plan) {
  SetTaskEnvironment(args);
  return RunLoaded(args, plan.run, plan);
}

namespace {

// The physical limit: a tight posix_spawnp loop of `argv` with `inflight` children, reaped
// with wait(). For one-rank tasks argv is /bin/true; for R ranks it is the same mpirun command
// typed by hand, so the difference is what the runtime adds.
double RawLaunchRate(const std::vector<std::string>& command, int64_t n, int inflight) {
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  Stopwatch watch;
  int64_t started = 0, running = 0;
  while (started < n || running > 0) {
    while (running < inflight && started < n) {
      pid_t pid;
      if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) return 0;
      ++started;
      ++running;
    }
    int status;
    if (::wait(&status) > 0) --running;
  }
  posix_spawn_file_actions_destroy(&actions);
  return n / watch.Seconds();
}

std::vector<std::string> BaselineCommand(int ranks) {
  if (ranks == 1) return {"/bin/true"};
  std::vector<std::string> cmd = {
      "mpirun",   "-np",  std::to_string(ranks), "--host", "localhost:" + std::to_string(ranks),
      "--map-by", "slot", "--bind-to",           "none"};
  if (::geteuid() == 0) cmd.push_back("--allow-run-as-root");
  cmd.push_back("/bin/true");
  return cmd;
}

}  // namespace

int BenchTasks(const BenchTasksArgs& args) {
  if (args.kind != "exec" && args.kind != "function") {
    std::fprintf(stderr, "drc bench tasks: --kind must be exec or function, got '%s'\n",
                 args.kind.c_str());
    return 2;
  }
  const bool functions = args.kind == "function";
  std::map<std::string, std::string> function_args;
  for (const auto& kv : args.function_args) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "drc bench tasks: --arg expects KEY=VALUE, got '%s'\n", kv.c_str());
      return 2;
    }
    function_args[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!functions && !args.function_args.empty()) {
    std::fprintf(stderr, "drc bench tasks: --arg is for --kind function\n");
    return 2;
  }
  const bool baseline = args.baseline && !functions;
  if (args.n < 1 || args.ranks < 1) {
    std::fprintf(stderr, "drc bench tasks: --n and --ranks must be >= 1\n");
    return 2;
  }
  auto detected = runtime::DetectLocalResources();
  if (!detected.ok()) {
    std::fprintf(stderr, "drc bench tasks: %s\n", detected.status().ToString().c_str());
    return 1;
  }
  runtime::RuntimeOptions options;
  options.resources = *detected;
  if (args.cores > 0) options.resources.nodes[0].cores = args.cores;
  // The run directory holds a folder and two output files per task. Node-local tmpfs (as on
  // HPC nodes' /dev/shm or /tmp) by default: on this VM's ext4 each create costs ~0.8 ms, which
  // would measure the disk, not the runtime. --workdir picks another place.
  const fs::path base = !args.workdir.empty()          ? fs::path(args.workdir)
                        : fs::is_directory("/dev/shm") ? fs::path("/dev/shm")
                                                       : fs::temp_directory_path();
  const fs::path dir = base / DefaultWorkdir("drc-bench-tasks-");
  options.workdir = dir.string();
  std::vector<runtime::TaskDescription> tasks(static_cast<size_t>(args.n));
  for (auto& t : tasks) {
    if (functions) {
      t.function = args.function;
      t.function_args = function_args;
    } else {
      t.executable = "/bin/true";
    }
    t.ranks = args.ranks;
  }
  if (functions) options.worker_command = WorkerCommand(tasks);
  // The baseline keeps as many launches in flight as the pilot runs tasks at once, and is
  // measured before and after the run and averaged, since the machine's speed drifts.
  const int inflight =
      static_cast<int>(std::max<int64_t>(1, options.resources.total_cores() / args.ranks));
  const std::vector<std::string> baseline_cmd = BaselineCommand(args.ranks);
  const int64_t baseline_n = std::min<int64_t>(args.n, args.ranks == 1 ? 2000 : 50);
  const double raw_before = baseline ? RawLaunchRate(baseline_cmd, baseline_n, inflight) : 0;
  double seconds = 0, first_exec = 0, pool_start = 0;
  runtime::StateCounts counts{};
  {
    auto tm = runtime::TaskManager::Make(std::move(options));
    if (!tm.ok()) {
      std::fprintf(stderr, "drc bench tasks: %s\n", tm.status().ToString().c_str());
      return 1;
    }
    if (functions) {
      // The pool starts with the first function task; the timed tasks run on warm workers,
      // which is what a function task costs in a run (the start is reported on its own).
      runtime::TaskDescription warm = tasks.front();
      warm.uid = "warm-up";
      Stopwatch start;
      auto uid = (*tm)->Submit(std::move(warm));
      if (uid.ok()) (void)(*tm)->Wait(*uid);
      auto info = uid.ok() ? (*tm)->Query(*uid) : Result<runtime::TaskInfo>(uid.status());
      if (!info.ok() || info->state != TaskState::kDone) {
        std::fprintf(stderr, "drc bench tasks: the first function task did not end DONE: %s\n",
                     info.ok() ? info->reason.c_str() : info.status().ToString().c_str());
        return 1;
      }
      pool_start = start.Seconds();
    }
    const double submit_wall = RealClock().WallSeconds();
    Stopwatch watch;
    if (auto st = (*tm)->Submit(std::move(tasks)); !st.ok()) {
      std::fprintf(stderr, "drc bench tasks: %s\n", st.status().ToString().c_str());
      return 1;
    }
    (void)(*tm)->WaitAll();
    seconds = watch.Seconds();
    counts = (*tm)->Counts();
    if (functions) --counts[static_cast<size_t>(TaskState::kDone)];  // the warm-up
    double first = 0;
    for (const auto& info : (*tm)->QueryAll()) {
      if (info.uid == "warm-up") continue;
      const double t = info.times[static_cast<size_t>(TaskState::kExecuting)];
      if (t > 0 && (first == 0 || t < first)) first = t;
    }
    first_exec = first > 0 ? first - submit_wall : 0;
  }
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  const double peak_mb = usage.ru_maxrss / 1024.0;
  const double raw =
      baseline ? (raw_before + RawLaunchRate(baseline_cmd, baseline_n, inflight)) / 2 : 0;
  std::error_code ec;
  fs::remove_all(dir, ec);
  const int64_t done = counts[static_cast<size_t>(TaskState::kDone)];
  const double rate = args.n / seconds;
  if (args.json) {
    nlohmann::json j = {{"kind", args.kind},
                        {"tasks", args.n},
                        {"ranks", args.ranks},
                        {"done", done},
                        {"seconds", seconds},
                        {"tasks_per_s", rate},
                        {"time_to_first_task_s", first_exec},
                        {"peak_rss_mb", peak_mb},
                        {"workdir", base.string()}};
    if (functions) {
      j["function"] = args.function;
      j["pool_start_s"] = pool_start;  // mpirun and the workers' hello, before the timed tasks
    }
    if (baseline) {
      j["raw_spawn_per_s"] = raw;  // the same launches without the runtime
      j["fraction_of_raw"] = raw > 0 ? rate / raw : 0;
      j["raw_command"] = baseline_cmd;
      // Per-task cost the runtime adds, with `inflight` tasks at a time.
      j["overhead_ms_per_task"] = raw > 0 ? (1.0 / rate - 1.0 / raw) * inflight * 1e3 : 0;
    }
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "%lld %s tasks (%d rank%s each) in %.3f s: %.1f tasks/s; first task after "
        "%.1f ms; peak RSS %.1f MB",
        static_cast<long long>(args.n),
        functions ? ("function '" + args.function + "'").c_str() : "exec", args.ranks,
        args.ranks == 1 ? "" : "s", seconds, rate, first_exec * 1e3, peak_mb);
    if (functions) std::printf("; the worker pool started in %.3f s", pool_start);
    if (baseline) {
      std::printf(
          "; the same launches without the runtime (%s): %.1f/s (ours %.0f %%, +%.2f ms "
          "per task)",
          args.ranks == 1 ? "posix_spawn" : "mpirun by hand", raw, 100 * rate / raw,
          (1.0 / rate - 1.0 / raw) * inflight * 1e3);
    }
    std::printf("\n");
  }
  return done == args.n ? 0 : 1;
}

}  // namespace drc::app
