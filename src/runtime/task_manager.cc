// The control thread owns every task's state; other threads only read it under `mu` or post
// commands to the inbox. Process starts (a few ms each) happen on the control thread without
// holding `mu`, so queries never wait for a spawn.
#include "drc/runtime/task_manager.h"

#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "drc/common/logging.h"
#include "drc/runtime/process.h"
#include "drc/runtime/worker_pool.h"

extern char** environ;

namespace drc::runtime {
namespace fs = std::filesystem;

namespace {

struct TaskRecord {
  uint64_t key = 0;
  TaskDescription desc;
  TaskInfo info;
  ResourceRequest request;
  std::optional<Placement> placement;
  int pending_deps = 0;
  std::vector<uint64_t> dependents;
  bool cancel_requested = false;
  std::string cancel_reason;  // the final state's reason once the cancel takes effect
  bool accepted = false;      // the control thread has processed its submission
  bool in_scheduler = false;
  bool process_running = false;      // a process, or a call on the worker pool
  const WorkerPool* pool = nullptr;  // the pool that runs the call
};

struct Command {
  enum Kind { kSubmitted, kCancel, kExited } kind;
  uint64_t key = 0;
  ProcessExit exit;
  std::string error;  // a function call's failure (the exit alone says nothing then)
};

// What a placement holds, for the event log and the profiler (ReadRunLog parses it):
// "ranks=2 cores=4 gpus=0 mem_mb=0 nodes=node0000,node0001".
std::string DescribePlacement(const Placement& p, const ResourceSpec& resources) {
  size_t cores = 0;
  size_t gpus = 0;
  int64_t mem_mb = 0;
  std::string nodes;
  int32_t last = -1;
  for (const auto& r : p.ranks) {
    cores += r.cores.size();
    gpus += r.gpus.size();
    mem_mb += r.mem_mb;
    if (r.node == last) continue;
    if (!nodes.empty()) nodes += ',';
    nodes += resources.nodes[static_cast<size_t>(r.node)].name;
    last = r.node;
  }
  return "ranks=" + std::to_string(p.ranks.size()) + " cores=" + std::to_string(cores) +
         " gpus=" + std::to_string(gpus) + " mem_mb=" + std::to_string(mem_mb) + " nodes=" + nodes;
}

// The pilot's totals, machine-readable, beside its human description:
// "nodes=1 cores=2 gpus=0 mem_mb=0".
std::string DescribeTotals(const ResourceSpec& r) {
  int64_t mem_mb = 0;
  for (const auto& n : r.nodes) mem_mb += n.mem_mb;
  return "nodes=" + std::to_string(r.nodes.size()) + " cores=" + std::to_string(r.total_cores()) +
         " gpus=" + std::to_string(r.total_gpus()) + " mem_mb=" + std::to_string(mem_mb);
}

// "{uid}" in a staging path stands for the task's uid (so replicas stage to distinct names).
std::string ExpandUid(std::string path, const std::string& uid) {
  for (size_t pos; (pos = path.find("{uid}")) != std::string::npos;) path.replace(pos, 5, uid);
  return path;
}

Status Stage(const StagingDirective& d, const std::string& uid, const fs::path& source_base,
             const fs::path& target_base, const char* what) {
  const fs::path src = ExpandUid(d.source, uid), dst = ExpandUid(d.target, uid);
  const fs::path source = src.is_absolute() ? src : source_base / src;
  const fs::path target = dst.is_absolute() ? dst : target_base / dst;
  std::error_code ec;
  if (!fs::exists(source, ec)) {
    return Status::NotFound(what, ": '", source.string(), "' does not exist");
  }
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    return Status::IOError(what, ": cannot create ", target.parent_path().string(), ": ",
                           ec.message());
  switch (d.action) {
    case StagingAction::kCopy:
      fs::copy(source, target, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
               ec);
      break;
    case StagingAction::kLink:
      fs::remove(target, ec);
      fs::create_symlink(fs::absolute(source), target, ec);
      break;
    case StagingAction::kMove: fs::rename(source, target, ec); break;
  }
  if (ec) {
    return Status::IOError(what, ": ", source.string(), " -> ", target.string(), ": ",
                           ec.message());
  }
  return Status::OK();
}

}  // namespace

struct TaskManager::Impl {
  RuntimeOptions options;
  const Clock* clock = nullptr;
  EventBus events;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<ProcessManager> processes;
  // Function tasks' workers, started at the first one. A pool that stopped is kept until the
  // end (its own threads may be the ones that notice) and replaced by a fresh one.
  std::unique_ptr<WorkerPool> pool;
  std::vector<std::unique_ptr<WorkerPool>> stopped_pools;
  std::string pool_error;  // a failed start: later function tasks fail with it at once

  mutable std::mutex mu;
  std::condition_variable inbox_cv;                  // control thread waits here
  mutable std::condition_variable done_cv;           // Wait() waits here
  std::deque<Command> inbox;                         // guarded by mu
  std::vector<std::unique_ptr<TaskRecord>> tasks;    // guarded by mu (append-only)
  std::unordered_map<std::string, uint64_t> by_uid;  // guarded by mu
  StateCounts counts{};                              // guarded by mu
  int64_t final_count = 0;                           // guarded by mu
  uint64_t next_generated_uid = 0;                   // guarded by mu
  std::vector<StateCallback> callbacks;              // guarded by mu
  bool stopping = false;                             // guarded by mu
  bool draining = false;  // guarded by mu: a thread is handling the inbox
  std::thread control;

  // ---- control thread ------------------------------------------------------------------

  // Commands are handled by one thread at a time: the control thread (submissions, cancels)
  // or, for process exits, the reaper thread itself when nobody else is draining. Handling an
  // exit where it is reaped and starting the next task right there saves a thread hand-off per
  // task, which is most of the runtime's own cost for short tasks.
  void Run() {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      inbox_cv.wait(lock, [&] { return (!inbox.empty() && !draining) || stopping; });
      if (stopping) break;
      DrainLocked(lock);
    }
  }

  // Handles the inbox until it is empty; returns with `lock` held. Submissions are taken in
  // slices so that the first tasks start before a large batch is fully processed.
  void DrainLocked(std::unique_lock<std::mutex>& lock) {
    if (draining) return;
    draining = true;
    while (!inbox.empty()) {
      std::vector<Command> batch;
      const size_t n = std::min<size_t>(inbox.size(), 64);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(inbox.front()));
        inbox.pop_front();
      }
      lock.unlock();
      for (Command& c : batch) Handle(c);
      ScheduleAndLaunch();
      lock.lock();
    }
    draining = false;
  }

  TaskRecord& Rec(uint64_t key) {
    std::lock_guard<std::mutex> lock(mu);
    return *tasks[key];
  }

  void Handle(Command& c) {
    TaskRecord& t = Rec(c.key);
    switch (c.kind) {
      case Command::kSubmitted: {
        // A dependency of the same batch may have failed and canceled this task already.
        if (IsFinal(StateOf(t))) break;
        t.accepted = true;
        events.Emit({t.info.times[0], t.desc.uid, "state", "NEW", 0, ""});
        // Dependencies already final?
        for (const auto& dep : t.desc.depends_on) {
          TaskRecord& d = Rec(LookupKey(dep));
          TaskState ds = StateOf(d);
          if (ds == TaskState::kFailed || ds == TaskState::kCanceled) {
            Finish(t, TaskState::kCanceled,
                   "dependency '" + dep + "' is " + std::string(TaskStateName(ds)));
            return;
          }
        }
        if (t.pending_deps == 0) Enqueue(t);
        break;
      }
      case Command::kCancel: {
        const TaskState s = StateOf(t);
        if (IsFinal(s)) break;
        t.cancel_requested = true;
        t.cancel_reason = c.error;
        if (t.process_running && !t.desc.function.empty()) {
          // A call on a pool that has stopped already ends by itself.
          if (t.pool == pool.get() && pool->alive()) {
            pool->Kill(t.key, t.cancel_reason,
                       "the worker pool was stopped to cancel task '" + t.desc.uid + "'");
          }
        } else if (t.process_running) {
          Status st = processes->Kill(t.key);
          if (!st.ok()) log::Warn("cancel {}: {}", t.desc.uid, st.ToString());
        } else {
          if (t.in_scheduler) {
            scheduler->Remove(t.key);
            t.in_scheduler = false;
          }
          Finish(t, TaskState::kCanceled, t.cancel_reason);
        }
        break;
      }
      case Command::kExited: {
        t.process_running = false;
        if (t.placement) {
          scheduler->Release(t.key, *t.placement);
          t.placement.reset();
        }
        const bool ok = c.exit.ok() && c.error.empty();
        const std::string outcome = c.error.empty() ? c.exit.Describe() : c.error;
        {
          std::lock_guard<std::mutex> lock(mu);
          t.info.exit = outcome;
        }
        events.Emit(
            {c.exit.end_s, t.desc.uid, "exit", ok ? "ok" : "error", t.info.attempt, outcome});
        if (t.cancel_requested) {
          Finish(t, TaskState::kCanceled, t.cancel_reason);
        } else if (ok) {
          SetState(t, TaskState::kStagingOut, "");
          for (const auto& d : t.desc.output_staging) {
            Status st = Stage(d, t.desc.uid, t.info.workdir, options.workdir, "output staging");
            if (!st.ok()) {
              Finish(t, TaskState::kFailed, st.message());
              return;
            }
          }
          Finish(t, TaskState::kDone, "");
        } else if (t.info.attempt < t.desc.retries) {
          {
            std::lock_guard<std::mutex> lock(mu);
            ++t.info.attempt;
          }
          Enqueue(t);
        } else {
          Finish(t, TaskState::kFailed, outcome);
        }
        break;
      }
    }
  }

  void Enqueue(TaskRecord& t) {
    Status st = scheduler->Enqueue(t.key, t.request, t.desc.priority);
    if (!st.ok()) {
      Finish(t, TaskState::kFailed, st.message());
      return;
    }
    t.in_scheduler = true;
    SetState(t, TaskState::kScheduling, "");
  }

  void ScheduleAndLaunch() {
    while (true) {
      auto placed = scheduler->Schedule(256);
      if (placed.empty()) return;
      for (auto& [key, placement] : placed) Launch(Rec(key), std::move(placement));
    }
  }

  void Launch(TaskRecord& t, Placement placement) {
    t.in_scheduler = false;
    t.placement = std::move(placement);
    {
      std::lock_guard<std::mutex> lock(mu);
      t.info.nodes.clear();
      for (const auto& r : t.placement->ranks) {
        t.info.nodes.push_back(options.resources.nodes[static_cast<size_t>(r.node)].name);
      }
    }
    SetState(t, TaskState::kStagingIn, DescribePlacement(*t.placement, options.resources));
    Status st = PrepareAndSpawn(t);
    if (!st.ok()) {
      scheduler->Release(t.key, *t.placement);
      t.placement.reset();
      Finish(t, TaskState::kFailed, st.message());
    }
  }

  Status PrepareAndSpawn(TaskRecord& t) {
    std::error_code ec;
    fs::create_directories(t.info.workdir, ec);
    if (ec) return Status::IOError("cannot create ", t.info.workdir, ": ", ec.message());
    for (const auto& d : t.desc.input_staging) {
      DRC_RETURN_NOT_OK(Stage(d, t.desc.uid, options.workdir, t.info.workdir, "input staging"));
    }
    if (!t.desc.function.empty()) return CallFunction(t);
    TaskDescription desc = t.desc;
    desc.stdout_path = t.info.stdout_path;
    desc.stderr_path = t.info.stderr_path;
    DRC_ASSIGN_OR_RETURN(ProcessSpec spec,
                         BuildLaunch(desc, *t.placement, options.launch, t.info.workdir));
    spec.timeout_s = t.desc.timeout_s;
    // EXECUTING is entered before the spawn so that a process that ends at once never
    // reports its exit before its start.
    SetState(t, TaskState::kExecuting, "");
    t.process_running = true;
    auto pid = processes->Spawn(t.key, spec);
    if (!pid.ok()) {
      t.process_running = false;
      return pid.status();
    }
    events.Emit({clock->WallSeconds(), t.desc.uid, "launch", "start", t.info.attempt,
                 "pid " + std::to_string(*pid) + " " +
                     std::string(LaunchMethodName(ResolveLaunchMethod(t.desc)))});
    return Status::OK();
  }

  // A function task: its output files start empty (the ranks append), then the call goes to
  // the worker pool, started here when there is none yet or the last one stopped.
  Status CallFunction(TaskRecord& t) {
    for (const std::string* path : {&t.info.stdout_path, &t.info.stderr_path}) {
      std::ofstream file(*path, std::ios::trunc);
      if (!file) return Status::IOError("cannot create ", *path);
    }
    DRC_RETURN_NOT_OK(EnsurePool());
    SetState(t, TaskState::kExecuting, "");
    CallSpec spec;
    spec.task = &t.desc;
    spec.placement = &*t.placement;
    spec.workdir = t.info.workdir;
    spec.stdout_path = t.info.stdout_path;
    spec.stderr_path = t.info.stderr_path;
    t.process_running = true;
    t.pool = pool.get();
    auto members = pool->Call(t.key, spec);
    if (!members.ok()) {
      t.process_running = false;
      return members.status();
    }
    std::string workers;
    for (int w : *members) workers += (workers.empty() ? "" : ",") + std::to_string(w);
    events.Emit({clock->WallSeconds(), t.desc.uid, "launch", "start", t.info.attempt,
                 "function " + t.desc.function + " on workers " + workers});
    return Status::OK();
  }

  Status EnsurePool() {
    if (pool && pool->alive()) return Status::OK();
    if (!pool_error.empty()) return Status::Unavailable(pool_error);
    if (options.worker_command.empty()) {
      return Status::FailedPrecondition(
          "function tasks need a worker program, and this runtime has none "
          "(RuntimeOptions::worker_command)");
    }
    if (pool) stopped_pools.push_back(std::move(pool));
    const std::string dir =
        options.workdir + "/worker-pool." + std::to_string(stopped_pools.size());
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create ", dir, ": ", ec.message());
    WorkerPoolOptions popts;
    popts.command = options.worker_command;
    popts.resources = &options.resources;
    popts.launch = options.launch;
    popts.dir = dir;
    popts.start_timeout = options.worker_start_timeout;
    popts.failure_grace = options.worker_failure_grace;
    popts.kill_grace = options.kill_grace;
    auto started = WorkerPool::Start(
        std::move(popts), [this](uint64_t key, const CallResult& r) { OnFunctionDone(key, r); });
    if (!started.ok()) {
      pool_error = "the worker pool did not start: " + started.status().message();
      events.Emit({clock->WallSeconds(), "", "pilot", "workers", 0, pool_error});
      return Status::Unavailable(pool_error);
    }
    pool = std::move(*started);
    events.Emit({clock->WallSeconds(), "", "pilot", "workers", 0,
                 std::to_string(pool->size()) + " workers up (mpirun pid " +
                     std::to_string(pool->pid()) + ", " + dir + ")"});
    return Status::OK();
  }

  void OnFunctionDone(uint64_t key, const CallResult& r) {
    ProcessExit exit;
    exit.exit_code = r.ok ? 0 : 1;
    exit.start_s = r.start_s;
    exit.end_s = r.end_s > 0 ? r.end_s : clock->WallSeconds();
    std::unique_lock<std::mutex> lock(mu);
    inbox.push_back({Command::kExited, key, exit, r.ok ? std::string() : r.error});
    if (stopping) return;
    DrainLocked(lock);
  }

  // Final transition, then release or cancel the dependents.
  void Finish(TaskRecord& t, TaskState state, const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mu);
      t.info.reason = reason;
    }
    SetState(t, state, reason);
    std::vector<uint64_t> dependents = t.dependents;
    for (uint64_t k : dependents) {
      TaskRecord& d = Rec(k);
      if (IsFinal(StateOf(d))) continue;
      if (state == TaskState::kDone) {
        if (--d.pending_deps == 0 && d.accepted && StateOf(d) == TaskState::kNew &&
            !d.cancel_requested) {
          Enqueue(d);
        }
      } else {
        Finish(d, TaskState::kCanceled,
               "dependency '" + t.desc.uid + "' is " + std::string(TaskStateName(state)));
      }
    }
  }

  void SetState(TaskRecord& t, TaskState state, const std::string& detail) {
    TaskInfo snapshot;
    std::vector<StateCallback> cbs;
    const double now = clock->WallSeconds();
    {
      std::lock_guard<std::mutex> lock(mu);
      const TaskState old = t.info.state;
      if (IsFinal(old)) {
        log::Error("task {}: ignored transition {} -> {}", t.desc.uid, TaskStateName(old),
                   TaskStateName(state));
        return;
      }
      --counts[static_cast<size_t>(old)];
      ++counts[static_cast<size_t>(state)];
      t.info.state = state;
      auto& slot = t.info.times[static_cast<size_t>(state)];
      if (slot == 0) slot = now;
      if (IsFinal(state)) {
        ++final_count;
        done_cv.notify_all();
      }
      if (!callbacks.empty()) {
        snapshot = t.info;
        cbs = callbacks;
      }
    }
    events.Emit(
        {now, t.desc.uid, "state", std::string(TaskStateName(state)), t.info.attempt, detail});
    for (auto& cb : cbs) cb(snapshot);
  }

  TaskState StateOf(const TaskRecord& t) const {
    std::lock_guard<std::mutex> lock(mu);
    return t.info.state;
  }
  uint64_t LookupKey(const std::string& uid) const {
    std::lock_guard<std::mutex> lock(mu);
    return by_uid.at(uid);
  }

  void OnExit(uint64_t key, const ProcessExit& exit) {
    std::unique_lock<std::mutex> lock(mu);
    inbox.push_back({Command::kExited, key, exit, {}});
    if (stopping) return;  // shutting down: the processes are being torn down
    DrainLocked(lock);     // no-op when another thread is draining: it will see the command
  }
};

Result<std::unique_ptr<TaskManager>> TaskManager::Make(RuntimeOptions options) {
  if (options.resources.nodes.empty()) {
    return Status::InvalidArgument("the pilot has no nodes");
  }
  if (options.workdir.empty()) return Status::InvalidArgument("a work directory is required");
  std::error_code ec;
  fs::create_directories(options.workdir, ec);
  if (ec) {
    return Status::IOError("cannot create work directory ", options.workdir, ": ", ec.message());
  }
  options.workdir = fs::absolute(options.workdir).lexically_normal().string();
  std::unique_ptr<TaskManager> tm(new TaskManager());
  tm->impl_ = std::make_unique<Impl>();
  Impl& impl = *tm->impl_;
  impl.options = std::move(options);
  impl.clock = impl.options.clock ? impl.options.clock : &RealClock();
  impl.options.launch.resources = &impl.options.resources;
  if (impl.options.launch.base_env.empty()) {
    for (char** e = environ; *e != nullptr; ++e) impl.options.launch.base_env.emplace_back(*e);
  }
  if (::geteuid() == 0) impl.options.launch.as_root = true;
  DRC_ASSIGN_OR_RETURN(auto jsonl, JsonlEventSink::Open(impl.options.workdir + "/events.jsonl"));
  impl.events.Add(std::move(jsonl));
  for (auto& s : impl.options.sinks) impl.events.Add(s);
  impl.scheduler = std::make_unique<Scheduler>(impl.options.resources, impl.options.scheduler);
  ProcessManager::Options popts;
  popts.kill_grace = impl.options.kill_grace;
  popts.clock = impl.clock;
  DRC_ASSIGN_OR_RETURN(
      impl.processes,
      ProcessManager::Make(
          [&impl](uint64_t key, const ProcessExit& exit) { impl.OnExit(key, exit); }, popts));
  impl.counts.fill(0);
  impl.events.Emit(
      {impl.clock->WallSeconds(), "", "pilot", "start", 0, impl.options.resources.ToString()});
  impl.events.Emit({impl.clock->WallSeconds(), "", "pilot", "resources", 0,
                    DescribeTotals(impl.options.resources)});
  impl.control = std::thread([&impl] { impl.Run(); });
  return tm;
}

TaskManager::~TaskManager() {
  if (!impl_) return;
  // Cancel everything that is not final, then stop once the inbox has drained.
  for (const auto& info : QueryAll()) {
    if (!IsFinal(info.state)) (void)Cancel(info.uid);
  }
  (void)WaitAll(std::chrono::milliseconds(impl_->options.kill_grace * 3 + std::chrono::seconds(5)));
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    impl_->inbox_cv.notify_one();
  }
  impl_->control.join();
  impl_->processes.reset();
  impl_->pool.reset();
  impl_->stopped_pools.clear();
  impl_->events.Emit({impl_->clock->WallSeconds(), "", "pilot", "stop", 0, ""});
  (void)impl_->events.Flush();
}

ResourceRequest RequestOf(const TaskDescription& d) {
  ResourceRequest r;
  r.ranks = d.ranks;
  r.cores_per_rank = d.cores_per_rank;
  r.gpus_per_rank = d.gpus_per_rank;
  r.mem_per_rank_mb = d.mem_per_rank_mb;
  r.colocate = d.colocate;
  r.exclusive = d.exclusive;
  return r;
}

Status CheckBatch(const std::vector<TaskDescription>& batch,
                  const std::function<bool(const std::string&)>& submitted) {
  std::set<std::string> batch_uids;
  for (const auto& d : batch) {
    DRC_RETURN_NOT_OK(Validate(d));
    if (d.uid.empty()) continue;  // Submit names it; nothing can depend on it
    if (d.uid.find('/') != std::string::npos || d.uid == "." || d.uid == "..") {
      return Status::InvalidArgument("task uid '", d.uid, "' must not contain '/'");
    }
    if ((submitted && submitted(d.uid)) || !batch_uids.insert(d.uid).second) {
      return Status::AlreadyExists("task uid '", d.uid, "' is used twice");
    }
  }
  for (const auto& d : batch) {
    for (const auto& dep : d.depends_on) {
      if (!batch_uids.count(dep) && !(submitted && submitted(dep))) {
        return Status::InvalidArgument("task '", d.uid, "': depends_on names unknown task '", dep,
                                       "'");
      }
    }
  }
  // Cycles can only run through the batch (submitted tasks cannot depend on it).
  std::map<std::string, const TaskDescription*> in_batch;
  for (const auto& d : batch) {
    if (!d.uid.empty()) in_batch[d.uid] = &d;
  }
  std::map<std::string, int> color;  // 0 white, 1 grey, 2 black
  std::function<Status(const std::string&)> visit = [&](const std::string& u) -> Status {
    color[u] = 1;
    for (const auto& dep : in_batch[u]->depends_on) {
      if (!in_batch.count(dep)) continue;
      if (color[dep] == 1) {
        return Status::InvalidArgument("dependency cycle through tasks '", u, "' and '", dep, "'");
      }
      if (color[dep] == 0) DRC_RETURN_NOT_OK(visit(dep));
    }
    color[u] = 2;
    return Status::OK();
  };
  for (const auto& [uid, d] : in_batch) {
    if (color[uid] == 0) DRC_RETURN_NOT_OK(visit(uid));
  }
  return Status::OK();
}

Result<std::vector<std::string>> TaskManager::Submit(std::vector<TaskDescription> batch) {
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.mu);
  // Uids first (generated where empty), then validation against the existing and new tasks.
  std::set<std::string> batch_uids;
  for (auto& d : batch) {
    if (d.uid.empty()) {
      do {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "task.%06llu",
                      static_cast<unsigned long long>(impl.next_generated_uid++));
        d.uid = buf;
      } while (impl.by_uid.count(d.uid) || batch_uids.count(d.uid));
    }
    batch_uids.insert(d.uid);
  }
  DRC_RETURN_NOT_OK(
      CheckBatch(batch, [&](const std::string& uid) { return impl.by_uid.count(uid) > 0; }));
  std::vector<std::string> uids;
  uids.reserve(batch.size());
  const size_t first = impl.tasks.size();
  for (auto& d : batch) {
    auto t = std::make_unique<TaskRecord>();
    t->key = impl.tasks.size();
    t->request = RequestOf(d);
    t->info.uid = d.uid;
    t->info.times[static_cast<size_t>(TaskState::kNew)] = impl.clock->WallSeconds();
    t->info.workdir = d.workdir.empty() ? impl.options.workdir + "/" + d.uid : d.workdir;
    t->info.stdout_path =
        d.stdout_path.empty() ? t->info.workdir + "/" + d.uid + ".out" : d.stdout_path;
    t->info.stderr_path =
        d.stderr_path.empty() ? t->info.workdir + "/" + d.uid + ".err" : d.stderr_path;
    t->desc = std::move(d);
    impl.by_uid[t->desc.uid] = t->key;
    ++impl.counts[static_cast<size_t>(TaskState::kNew)];
    uids.push_back(t->desc.uid);
    impl.tasks.push_back(std::move(t));
  }
  // Dependency edges: count the dependencies that are not DONE yet.
  for (size_t i = first; i < impl.tasks.size(); ++i) {
    TaskRecord& t = *impl.tasks[i];
    for (const auto& dep : t.desc.depends_on) {
      TaskRecord& d = *impl.tasks[impl.by_uid[dep]];
      if (d.info.state != TaskState::kDone) {
        ++t.pending_deps;
        d.dependents.push_back(t.key);
      }
    }
    impl.inbox.push_back({Command::kSubmitted, t.key, {}, {}});
  }
  impl.inbox_cv.notify_one();
  return uids;
}

Result<std::string> TaskManager::Submit(TaskDescription task) {
  std::vector<TaskDescription> one;
  one.push_back(std::move(task));
  DRC_ASSIGN_OR_RETURN(auto uids, Submit(std::move(one)));
  return uids.front();
}

Status TaskManager::Cancel(const std::string& uid, std::string reason) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->by_uid.find(uid);
  if (it == impl_->by_uid.end()) return Status::NotFound("no task '", uid, "'");
  impl_->inbox.push_back({Command::kCancel, it->second, {}, std::move(reason)});
  impl_->inbox_cv.notify_one();
  return Status::OK();
}

Result<TaskInfo> TaskManager::Query(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->by_uid.find(uid);
  if (it == impl_->by_uid.end()) return Status::NotFound("no task '", uid, "'");
  return impl_->tasks[it->second]->info;
}

std::vector<TaskInfo> TaskManager::QueryAll() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<TaskInfo> out;
  out.reserve(impl_->tasks.size());
  for (const auto& t : impl_->tasks) out.push_back(t->info);
  return out;
}

StateCounts TaskManager::Counts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->counts;
}

Status TaskManager::WaitAll(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  auto done = [&] { return impl_->final_count >= static_cast<int64_t>(impl_->tasks.size()); };
  if (!timeout) {
    impl_->done_cv.wait(lock, done);
    return Status::OK();
  }
  if (!impl_->done_cv.wait_for(lock, *timeout, done)) {
    return Status::Timeout(impl_->tasks.size() - static_cast<size_t>(impl_->final_count),
                           " tasks still unfinished after ", timeout->count(), " ms");
  }
  return Status::OK();
}

Status TaskManager::Wait(const std::string& uid, std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  auto it = impl_->by_uid.find(uid);
  if (it == impl_->by_uid.end()) return Status::NotFound("no task '", uid, "'");
  const TaskRecord& t = *impl_->tasks[it->second];
  auto done = [&] { return IsFinal(t.info.state); };
  if (!timeout) {
    impl_->done_cv.wait(lock, done);
  } else if (!impl_->done_cv.wait_for(lock, *timeout, done)) {
    return Status::Timeout("task '", uid, "' still ", TaskStateName(t.info.state), " after ",
                           timeout->count(), " ms");
  }
  return Status::OK();
}

void TaskManager::OnStateChange(StateCallback callback) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->callbacks.push_back(std::move(callback));
}

const ResourceSpec& TaskManager::resources() const { return impl_->options.resources; }
const std::string& TaskManager::workdir() const { return impl_->options.workdir; }

Status TaskManager::FlushEvents() { return impl_->events.Flush(); }

}  // namespace drc::runtime
