// One I/O thread owns the ROUTER socket after Start: Call() queues messages and wakes it
// through an eventfd that it polls beside the socket. The pool's mpirun is a process of the
// pool's own ProcessManager, whose reaper reports its end.
#include "drc/runtime/worker_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <zmq.hpp>

#include "drc/common/clock.h"
#include "drc/common/logging.h"
#include "drc/runtime/process.h"
#include "worker_protocol.h"

namespace drc::runtime {
namespace {

using nlohmann::json;
constexpr uint64_t kPoolToken = 1;

std::string HostName() {
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return host;
}

bool AllNodesLocal(const ResourceSpec& resources) {
  const std::string host = HostName();
  for (const auto& n : resources.nodes) {
    if (n.name != "localhost" && n.name != host) return false;
  }
  return true;
}

// The last few lines of a log, on one line, for an error message.
std::string Tail(const std::string& path, int max_lines = 6) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of("- \t") == std::string::npos) continue;  // blank or a rule
    lines.push_back(line.size() > 300 ? line.substr(0, 300) + "..." : line);
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : " | ") + l;
  return out;
}

}  // namespace

struct WorkerPool::Impl {
  struct InFlight {
    std::string uid;
    int ranks = 0;
    int answered = 0;
    int failures = 0;
    double timeout_s = 0;
    double deadline = 0;       // wall-clock seconds; 0 = none
    bool rank_failed = false;  // the deadline is the failure grace, not the task's timeout
    CallResult result;
  };

  WorkerPoolOptions options;
  DoneCallback done;
  const Clock& clock = RealClock();
  int size = 0;
  std::vector<int> node_offset;  // first worker of each node
  std::string err_path;
  pid_t pid = -1;
  int event_fd = -1;
  zmq::context_t context{1};
  zmq::socket_t socket;  // ROUTER; owned by the I/O thread once it runs

  mutable std::mutex mu;
  std::condition_variable exited_cv;
  bool alive = false;                                // guarded by mu: takes calls
  bool exited = false;                               // guarded by mu: mpirun has ended
  bool stop_io = false;                              // guarded by mu
  std::deque<std::pair<int, std::string>> outgoing;  // guarded by mu: (worker, message)
  std::unordered_map<uint64_t, InFlight> inflight;   // guarded by mu
  uint64_t next_tag = 0;                             // guarded by mu
  std::thread io;
  std::unique_ptr<ProcessManager> processes;

  double FailureGraceSeconds() const {
    return std::chrono::duration<double>(options.failure_grace).count();
  }

  void Wake() const {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(event_fd, &one, sizeof(one));
  }

  // Ends every call in flight; the caller runs the callbacks once mu is released.
  std::vector<std::pair<uint64_t, CallResult>> TakeAllLocked(uint64_t own_key,
                                                             const std::string& own_reason,
                                                             const std::string& reason) {
    std::vector<std::pair<uint64_t, CallResult>> out;
    const double now = clock.WallSeconds();
    for (auto& [key, call] : inflight) {
      CallResult r = call.result;
      r.ok = false;
      r.error = key == own_key ? own_reason : reason;
      if (r.start_s == 0) r.start_s = now;
      r.end_s = now;
      out.emplace_back(key, std::move(r));
    }
    inflight.clear();
    return out;
  }

  void Finish(std::vector<std::pair<uint64_t, CallResult>> results) {
    for (auto& [key, r] : results) done(key, r);
  }

  void OnExit(const ProcessExit& e) {
    const std::string tail = Tail(err_path);
    std::vector<std::pair<uint64_t, CallResult>> failed;
    {
      std::lock_guard<std::mutex> lock(mu);
      const std::string why = "the worker pool exited (" + e.Describe() + ") while the task ran" +
                              (tail.empty() ? "" : "; its stderr ends: " + tail);
      failed = TakeAllLocked(0, why, why);
      alive = false;
      exited = true;
      exited_cv.notify_all();
    }
    Wake();
    Finish(std::move(failed));
  }

  void Kill(uint64_t key, const std::string& own_reason, const std::string& reason) {
    std::vector<std::pair<uint64_t, CallResult>> failed;
    {
      std::lock_guard<std::mutex> lock(mu);
      alive = false;
      failed = TakeAllLocked(key, own_reason, reason);
    }
    if (processes) {
      Status st = processes->Kill(kPoolToken);
      if (!st.ok() && st.code() != StatusCode::kNotFound)
        log::Warn("worker pool: {}", st.ToString());
    }
    Finish(std::move(failed));
  }

  void HandleReply(const zmq::message_t& body) {
    const json m = json::parse(body.to_string_view(), nullptr, /*allow_exceptions=*/false);
    if (!m.is_object() || m.value("type", "") != "done") return;
    const uint64_t key = m.value("key", uint64_t{0});
    CallResult finished;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = inflight.find(key);
      if (it == inflight.end()) return;  // ended already (the pool was stopped)
      InFlight& call = it->second;
      const double start = m.value("start", 0.0), end = m.value("end", 0.0);
      if (call.result.start_s == 0 || start < call.result.start_s) call.result.start_s = start;
      call.result.end_s = std::max(call.result.end_s, end);
      if (!m.value("ok", false)) {
        if (call.failures++ == 0) {
          call.result.error = "rank " + std::to_string(m.value("rank", -1)) + ": " +
                              m.value("error", std::string("failed"));
          // The other ranks may wait for this one in a collective that it never entered: they
          // get the grace period to end, and then the pool is stopped (Io), never a hang.
          const double grace = clock.WallSeconds() + FailureGraceSeconds();
          if (call.deadline == 0 || grace < call.deadline) {
            call.deadline = grace;
            call.rank_failed = true;
          }
        }
      }
      if (++call.answered < call.ranks) return;
      finished = std::move(call.result);
      finished.ok = call.failures == 0;
      if (call.failures > 1) {
        finished.error += " (and " + std::to_string(call.failures - 1) + " more ranks failed)";
      }
      inflight.erase(it);
    }
    done(key, finished);
  }

  void SendTo(int worker, const std::string& text) {
    const std::string id = worker_protocol::WorkerId(worker);
    socket.send(zmq::buffer(id), zmq::send_flags::sndmore);
    socket.send(zmq::buffer(text), zmq::send_flags::none);
  }

  void Io() {
    const std::string ping = json{{"type", "ping"}}.dump();
    double next_ping = clock.WallSeconds() + worker_protocol::kHeartbeatSeconds;
    while (true) {
      double wait_s = next_ping - clock.WallSeconds();
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop_io && outgoing.empty()) break;
        for (const auto& [key, call] : inflight) {
          if (call.deadline > 0) wait_s = std::min(wait_s, call.deadline - clock.WallSeconds());
        }
      }
      zmq::pollitem_t items[2] = {{socket.handle(), 0, ZMQ_POLLIN, 0},
                                  {nullptr, event_fd, ZMQ_POLLIN, 0}};
      const auto timeout = std::chrono::milliseconds(
          std::max<int64_t>(0, static_cast<int64_t>(std::ceil(std::max(0.0, wait_s) * 1e3))));
      zmq::poll(items, 2, timeout);
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t n = ::read(event_fd, &count, sizeof(count));
      }
      std::deque<std::pair<int, std::string>> out;
      bool is_alive = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        out.swap(outgoing);
        is_alive = alive;
      }
      for (const auto& [worker, text] : out) SendTo(worker, text);
      while (true) {
        zmq::message_t id, body;
        if (!socket.recv(id, zmq::recv_flags::dontwait)) break;
        if (!id.more() || !socket.recv(body, zmq::recv_flags::none)) continue;
        HandleReply(body);
      }
      const double now = clock.WallSeconds();
      if (now >= next_ping) {
        if (is_alive) {
          for (int w = 0; w < size; ++w) SendTo(w, ping);
        }
        next_ping = now + worker_protocol::kHeartbeatSeconds;
      }
      uint64_t expired = 0;
      std::string uid, own_reason, reason;
      {
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& [key, call] : inflight) {
          if (call.deadline <= 0 || call.deadline > now) continue;
          expired = key;
          uid = call.uid;
          std::ostringstream text;
          if (call.rank_failed) {
            text << call.result.error << "; its other ranks did not end within "
                 << FailureGraceSeconds()
                 << " s (waiting for it in a collective?), so the worker pool was stopped";
            reason = "the worker pool was stopped because task '" + uid + "' hung after a failure";
          } else {
            text << "timed out after " << call.timeout_s
                 << " s (a function cannot be interrupted, so its worker pool was stopped)";
            reason = "the worker pool was stopped because task '" + uid + "' timed out";
          }
          own_reason = text.str();
          break;
        }
      }
      if (!uid.empty()) Kill(expired, own_reason, reason);
    }
  }
};

Result<std::unique_ptr<WorkerPool>> WorkerPool::Start(WorkerPoolOptions options,
                                                      DoneCallback done) {
  if (options.command.empty()) {
    return Status::InvalidArgument("worker pool: no worker program is set");
  }
  if (options.resources == nullptr || options.resources->nodes.empty()) {
    return Status::InvalidArgument("worker pool: the pilot has no nodes");
  }
  std::unique_ptr<WorkerPool> pool(new WorkerPool());
  pool->impl_ = std::make_unique<Impl>();
  Impl& impl = *pool->impl_;
  impl.options = std::move(options);
  impl.done = std::move(done);
  const ResourceSpec& resources = *impl.options.resources;
  std::string hosts;
  for (const auto& node : resources.nodes) {
    impl.node_offset.push_back(impl.size);
    impl.size += node.cores;
    if (!hosts.empty()) hosts += ',';
    hosts += node.name + ":" + std::to_string(node.cores);
  }
  impl.err_path = impl.options.dir + "/pool.err";
  std::string endpoint;  // where the workers connect
  try {
    impl.socket = zmq::socket_t(impl.context, zmq::socket_type::router);
    impl.socket.set(zmq::sockopt::linger, 0);
    const bool local = AllNodesLocal(resources);
    impl.socket.bind(local ? "tcp://127.0.0.1:*" : "tcp://*:*");
    endpoint = impl.socket.get(zmq::sockopt::last_endpoint);
    if (!local) {
      const size_t colon = endpoint.rfind(':');
      endpoint = "tcp://" + HostName() + endpoint.substr(colon);
    }
  } catch (const zmq::error_t& e) {
    return Status::IOError("worker pool: cannot open its socket: ", e.what());
  }
  impl.event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl.event_fd < 0) return Status::IOError("worker pool: eventfd: ", std::strerror(errno));

  ProcessManager::Options popts;
  popts.kill_grace = impl.options.kill_grace;
  DRC_ASSIGN_OR_RETURN(
      impl.processes,
      ProcessManager::Make([&impl](uint64_t, const ProcessExit& e) { impl.OnExit(e); }, popts));
  ProcessSpec spec;
  spec.argv = {impl.options.launch.mpirun,
               "-np",
               std::to_string(impl.size),
               "--host",
               hosts,
               "--map-by",
               "slot",
               "--bind-to",
               "none"};
  if (impl.options.launch.as_root) spec.argv.push_back("--allow-run-as-root");
  spec.argv.insert(spec.argv.end(), impl.options.command.begin(), impl.options.command.end());
  spec.argv.push_back("--connect");
  spec.argv.push_back(endpoint);
  spec.env = impl.options.launch.base_env;
  spec.cwd = impl.options.dir;
  spec.stdout_path = impl.options.dir + "/pool.out";
  spec.stderr_path = impl.err_path;
  DRC_ASSIGN_OR_RETURN(impl.pid, impl.processes->Spawn(kPoolToken, spec));

  // Every worker says hello once its world communicator is up.
  std::vector<bool> seen(static_cast<size_t>(impl.size), false);
  int up = 0;
  Stopwatch watch;
  const double limit_s = std::chrono::duration<double>(impl.options.start_timeout).count();
  while (up < impl.size) {
    bool exited = false;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      exited = impl.exited;
    }
    if (exited) {
      const std::string tail = Tail(impl.err_path);
      return Status::Unavailable("the worker pool exited before its ", impl.size,
                                 " workers were up (", up, " were)",
                                 tail.empty() ? "" : "; its stderr ends: " + tail);
    }
    if (watch.Seconds() > limit_s) {
      impl.Kill(0, "", "");
      return Status::Timeout("the worker pool did not start: ", up, " of ", impl.size,
                             " workers said hello within ", limit_s, " s (see ", impl.err_path,
                             ")");
    }
    zmq::pollitem_t item{impl.socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    zmq::message_t id, body;
    while (impl.socket.recv(id, zmq::recv_flags::dontwait)) {
      if (!id.more() || !impl.socket.recv(body, zmq::recv_flags::none)) continue;
      const json m = json::parse(body.to_string_view(), nullptr, false);
      if (!m.is_object() || m.value("type", "") != "hello") continue;
      const int rank = m.value("rank", -1);
      if (m.value("size", -1) != impl.size || rank < 0 || rank >= impl.size) {
        impl.Kill(0, "", "");
        return Status::Internal("worker pool: a worker reports rank ", rank, " of ",
                                m.value("size", -1), " but the pool has ", impl.size);
      }
      if (!seen[static_cast<size_t>(rank)]) {
        seen[static_cast<size_t>(rank)] = true;
        ++up;
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    impl.alive = true;
  }
  impl.io = std::thread([&impl] { impl.Io(); });
  return pool;
}

WorkerPool::~WorkerPool() {
  if (!impl_) return;
  Impl& impl = *impl_;
  bool was_alive = false;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    was_alive = impl.alive && !impl.exited;
    if (was_alive) {
      const std::string stop = json{{"type", "stop"}}.dump();
      for (int w = 0; w < impl.size; ++w) impl.outgoing.emplace_back(w, stop);
    }
  }
  if (was_alive) {
    impl.Wake();
    std::unique_lock<std::mutex> lock(impl.mu);
    impl.exited_cv.wait_for(lock, impl.options.kill_grace + std::chrono::seconds(3),
                            [&] { return impl.exited; });
  }
  impl.Kill(0, "the worker pool was stopped", "the worker pool was stopped");
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    impl.stop_io = true;
  }
  impl.Wake();
  if (impl.io.joinable()) impl.io.join();
  impl.processes.reset();  // waits for mpirun (TERM, then KILL after the grace)
  impl.socket.close();
  if (impl.event_fd >= 0) ::close(impl.event_fd);
}

Result<std::vector<int>> WorkerPool::Call(uint64_t key, const CallSpec& spec) {
  Impl& impl = *impl_;
  const TaskDescription& task = *spec.task;
  const Placement& placement = *spec.placement;
  std::vector<int> members;
  for (const auto& r : placement.ranks) {
    if (r.node < 0 || static_cast<size_t>(r.node) >= impl.node_offset.size() || r.cores.empty()) {
      return Status::Internal("worker pool: task '", task.uid, "' has a rank without cores");
    }
    members.push_back(impl.node_offset[static_cast<size_t>(r.node)] + r.cores.front());
  }
  json call = {{"type", "call"},
               {"key", key},
               {"uid", task.uid},
               {"function", task.function},
               {"args", task.function_args},
               {"members", members},
               {"workdir", spec.workdir},
               {"stdout", spec.stdout_path},
               {"stderr", spec.stderr_path}};
  std::lock_guard<std::mutex> lock(impl.mu);
  if (!impl.alive) return Status::Unavailable("the worker pool has stopped");
  call["tag"] = static_cast<int>(impl.next_tag++ % worker_protocol::kMaxTag);
  for (size_t i = 0; i < members.size(); ++i) {
    const RankPlacement& r = placement.ranks[i];
    call["threads"] =
        task.threads_per_rank > 0 ? task.threads_per_rank : static_cast<int>(r.cores.size());
    call["gpus"] = r.gpus;
    impl.outgoing.emplace_back(members[i], call.dump());
  }
  Impl::InFlight& f = impl.inflight[key];
  f.uid = task.uid;
  f.ranks = static_cast<int>(members.size());
  f.timeout_s = task.timeout_s;
  f.deadline = task.timeout_s > 0 ? impl.clock.WallSeconds() + task.timeout_s : 0;
  impl.Wake();
  return members;
}

void WorkerPool::Kill(uint64_t key, const std::string& own_reason, const std::string& reason) {
  impl_->Kill(key, own_reason, reason);
}

bool WorkerPool::alive() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->alive;
}

int WorkerPool::size() const { return impl_->size; }
pid_t WorkerPool::pid() const { return impl_->pid; }

}  // namespace drc::runtime
