#include "drc/runtime/worker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <streambuf>
#include <thread>
#include <zmq.hpp>

#include "drc/common/clock.h"
#include "worker_protocol.h"

namespace drc::runtime {
namespace {

using nlohmann::json;

// The task's stdout or stderr, opened for appending at the first write: most calls write
// nothing, and opening two files per rank and call would cost more than a short call.
class LazyFile : public std::streambuf {
 public:
  explicit LazyFile(std::string path) : path_(std::move(path)) {}

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    return Open() ? file_.sputc(traits_type::to_char_type(c)) : traits_type::eof();
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    return Open() ? file_.sputn(s, n) : 0;
  }
  int sync() override { return file_.is_open() ? file_.pubsync() : 0; }

 private:
  bool Open() {
    if (!tried_) {
      tried_ = true;
      file_.open(path_, std::ios::out | std::ios::app);
    }
    return file_.is_open();
  }
  std::string path_;
  std::filebuf file_;
  bool tried_ = false;
};

std::string Who(const FunctionCall& call) {
  return "task '" + call.task_uid + "' (function '" + call.function + "')";
}

json Done(uint64_t key, int rank, const Status& status, double start, double end) {
  return {{"type", "done"},
          {"key", key},
          {"rank", rank},
          {"ok", status.ok()},
          {"start", start},
          {"end", end},
          {"error", status.ok() ? std::string() : status.message()}};
}

void Send(zmq::socket_t& socket, const json& message) {
  const std::string text = message.dump();
  socket.send(zmq::buffer(text), zmq::send_flags::none);
}

// Runs one call on this rank: the task's private communicator, the function, the outcome.
// A one-rank task gets `self`, this worker's communicator of itself alone, made at its first
// one-rank call and kept: no other process can reach it, and creating one per call (Open MPI
// selects the collective components of every new communicator) costs more than a short call.
Status RunCall(const FunctionRegistry& registry, comm::Communicator& world,
               std::unique_ptr<comm::Communicator>& self, const json& m, int* task_rank) {
  const auto members = m.at("members").get<std::vector<int>>();
  const auto me = std::find(members.begin(), members.end(), world.rank());
  if (me == members.end()) {
    return Status::Internal("worker ", world.rank(), " got a call for ranks it is not among");
  }
  *task_rank = static_cast<int>(me - members.begin());
  const auto args = m.at("args").get<std::map<std::string, std::string>>();
  FunctionCall call;
  call.task_uid = m.at("uid").get<std::string>();
  call.function = m.at("function").get<std::string>();
  call.args = &args;
  call.threads = m.at("threads").get<int>();
  call.gpus = m.at("gpus").get<std::vector<int>>();
  call.workdir = m.at("workdir").get<std::string>();
  const Function* function = registry.Find(call.function);
  if (function == nullptr) {
    std::string known;
    for (const auto& name : registry.Names()) known += (known.empty() ? "" : ", ") + name;
    return Status::NotFound("no function '", call.function, "' is registered in the worker (",
                            known.empty() ? "none is" : "registered: " + known, ")");
  }
  LazyFile out_file(m.at("stdout").get<std::string>());
  LazyFile err_file(m.at("stderr").get<std::string>());
  std::ostream out(&out_file);
  std::ostream err(&err_file);
  call.out = &out;
  call.err = &err;
  std::unique_ptr<comm::Communicator> sub;
  if (members.size() > 1 || self == nullptr) {
    auto made = world.CreateSubCommunicator(members, m.at("tag").get<int>());
    if (!made.ok()) {
      return Status(made.status().code(),
                    "private communicator for " + Who(call) + ": " + made.status().message());
    }
    sub = std::move(made).ValueOrDie();
    if (members.size() == 1) self = std::move(sub);
  }
  call.comm = members.size() == 1 ? self.get() : sub.get();
  Status status;
  try {
    status = (*function)(call);
  } catch (const std::exception& e) {
    status = Status::Internal("threw ", e.what());
  } catch (...) {
    status = Status::Internal("threw a non-standard exception");
  }
  out.flush();
  err.flush();
  return status;
}

// While a call runs on the worker's thread, a watch thread reads the socket in its place: the
// task manager's pings (anything else is held for after the call) and the silence that says it
// is gone. After WorkerOptions::silence_s without a word the process ends, which takes the pool
// down (mpirun ends the job), so a pool whose drc died does not go on computing a call for
// hours. The watch takes the socket only from calls that last over kTakeAfter, so short calls
// cost two uncontended mutex locks; the mutex hand-offs are the memory barriers a ZeroMQ socket
// needs to change threads.
class CallWatch {
 public:
  CallWatch(zmq::socket_t& socket, const WorkerOptions& options, int rank,
            std::deque<zmq::message_t>& held)
      : socket_(socket), options_(options), rank_(rank), held_(held) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (wake_fd_ >= 0) thread_ = std::thread([this] { Run(); });
  }
  ~CallWatch() {
    End();  // a call that threw
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  CallWatch(const CallWatch&) = delete;
  CallWatch& operator=(const CallWatch&) = delete;

  // A call starts on the caller's thread: the socket is the watch's to take until End.
  void Begin() {
    std::lock_guard<std::mutex> lock(mu_);
    watching_ = true;
    began_ = Steady::now();
  }

  // The call ended; returns once the socket is the caller's again.
  void End() {
    std::unique_lock<std::mutex> lock(mu_);
    watching_ = false;
    if (!taken_) return;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    cv_.wait(lock, [&] { return !taken_; });
  }

 private:
  using Steady = std::chrono::steady_clock;
  static constexpr auto kTakeAfter = std::chrono::milliseconds(500);

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(250));
      if (stop_ || !watching_ || Steady::now() - began_ < kTakeAfter) continue;
      taken_ = true;
      const Steady::time_point began = began_;
      lock.unlock();
      Watch(began);
      lock.lock();
      taken_ = false;
      cv_.notify_all();
    }
  }

  // Reads the socket until End wakes it; ends the process after the silence.
  void Watch(Steady::time_point heard) {
    const auto silence = std::chrono::duration<double>(options_.silence_s);
    while (true) {
      zmq::pollitem_t items[2] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                  {nullptr, wake_fd_, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(200));
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof(count));
        return;
      }
      zmq::message_t message;
      while (socket_.recv(message, zmq::recv_flags::dontwait)) {
        heard = Steady::now();
        const json m = json::parse(message.to_string_view(), nullptr, false);
        if (!m.is_object() || m.value("type", "") != "ping") held_.push_back(std::move(message));
      }
      if (Steady::now() - heard > silence) {
        std::fprintf(stderr,
                     "worker %d: no word from the task manager at %s for %g s while a call ran; "
                     "ending the worker pool\n",
                     rank_, options_.connect.c_str(), options_.silence_s);
        std::fflush(stderr);
        std::_Exit(3);
      }
    }
  }

  zmq::socket_t& socket_;
  const WorkerOptions& options_;
  const int rank_;
  std::deque<zmq::message_t>& held_;
  int wake_fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, watching_ = false, taken_ = false;
  Steady::time_point began_;
  std::thread thread_;
};

}  // namespace

Result<std::string> FunctionCall::Arg(std::string_view name) const {
  if (args != nullptr) {
    auto it = args->find(std::string(name));
    if (it != args->end()) return it->second;
  }
  return Status::InvalidArgument(Who(*this), ": argument '", name, "' is required");
}

std::string FunctionCall::Arg(std::string_view name, std::string_view fallback) const {
  auto value = Arg(name);
  return value.ok() ? *value : std::string(fallback);
}

Result<int64_t> FunctionCall::IntArg(std::string_view name, int64_t fallback) const {
  auto text = Arg(name);
  if (!text.ok()) return fallback;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return Status::InvalidArgument(Who(*this), ": argument '", name, "' must be an integer, got '",
                                   *text, "'");
  }
  return value;
}

Result<double> FunctionCall::DoubleArg(std::string_view name, double fallback) const {
  auto text = Arg(name);
  if (!text.ok()) return fallback;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size()) {
    return Status::InvalidArgument(Who(*this), ": argument '", name, "' must be a number, got '",
                                   *text, "'");
  }
  return value;
}

Result<bool> FunctionCall::BoolArg(std::string_view name, bool fallback) const {
  auto text = Arg(name);
  if (!text.ok()) return fallback;
  if (*text != "true" && *text != "false") {
    return Status::InvalidArgument(Who(*this), ": argument '", name,
                                   "' must be true or false, got '", *text, "'");
  }
  return *text == "true";
}

Status FunctionRegistry::Register(std::string name, Function function, std::string help) {
  if (name.empty()) return Status::InvalidArgument("a function needs a name");
  if (functions_.count(name)) {
    return Status::AlreadyExists("function '", name, "' is registered twice");
  }
  functions_.emplace(std::move(name), Entry{std::move(function), std::move(help)});
  return Status::OK();
}

const Function* FunctionRegistry::Find(std::string_view name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second.function;
}

std::vector<std::string> FunctionRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : functions_) names.push_back(name);
  return names;
}

std::string FunctionRegistry::Help(std::string_view name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? std::string() : it->second.help;
}

Status RunWorker(const FunctionRegistry& registry, const WorkerOptions& given) {
  if (given.connect.empty()) return Status::InvalidArgument("worker: --connect is required");
  WorkerOptions options = given;
  if (const char* silence = std::getenv("DRC_WORKER_SILENCE_S")) {
    char* end = nullptr;
    options.silence_s = std::strtod(silence, &end);
    if (end == silence || *end != '\0' || !(options.silence_s > 0)) {
      return Status::InvalidArgument("worker: DRC_WORKER_SILENCE_S=", silence,
                                     ": expected a number of seconds > 0");
    }
  }
  DRC_ASSIGN_OR_RETURN(comm::CommOptions comm_options, comm::ResolveOptions({}));
  DRC_ASSIGN_OR_RETURN(auto world, comm::DefaultCommRegistry().Make(options.backend, comm_options));
  const int rank = world->rank();
  std::unique_ptr<comm::Communicator> self;  // for one-rank calls (RunCall)
  const Clock& clock = RealClock();
  try {
    zmq::context_t context(1);
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::routing_id, worker_protocol::WorkerId(rank));
    socket.set(zmq::sockopt::linger, 2000);
    socket.connect(options.connect);
    Send(socket, {{"type", "hello"}, {"rank", rank}, {"size", world->size()}});
    const auto silence = std::chrono::milliseconds(static_cast<int64_t>(options.silence_s * 1e3));
    std::deque<zmq::message_t> held;  // what came while a call ran
    CallWatch watch(socket, options, rank, held);
    while (true) {
      zmq::message_t message;
      if (!held.empty()) {
        message = std::move(held.front());
        held.pop_front();
      } else {
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, silence) == 0) {
          return Status::Unavailable("worker ", rank, ": no word from the task manager at ",
                                     options.connect, " for ", options.silence_s, " s; stopping");
        }
        if (!socket.recv(message)) continue;
      }
      const json m = json::parse(message.to_string_view(), nullptr, /*allow_exceptions=*/false);
      const std::string type = m.is_object() ? m.value("type", "") : "";
      if (type == "ping") continue;
      if (type == "stop") return Status::OK();
      if (type != "call") {
        return Status::Internal("worker ", rank, ": unexpected message ", message.to_string());
      }
      const uint64_t key = m.value("key", uint64_t{0});
      const double start = clock.WallSeconds();
      int task_rank = -1;
      Status status;
      watch.Begin();
      try {
        status = RunCall(registry, *world, self, m, &task_rank);
      } catch (const json::exception& e) {
        status = Status::Internal("worker ", rank, ": malformed call: ", e.what());
      }
      watch.End();
      Send(socket, Done(key, task_rank, status, start, clock.WallSeconds()));
    }
  } catch (const zmq::error_t& e) {
    return Status::IOError("worker ", rank, ": ", options.connect, ": ", e.what());
  }
}

int WorkerMain(const FunctionRegistry& registry, int argc, char** argv) {
  WorkerOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--connect" && i + 1 < argc) {
      options.connect = argv[++i];
    } else if (arg.rfind("--connect=", 0) == 0) {
      options.connect = arg.substr(10);
    }
  }
  const Status st = RunWorker(registry, options);
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", argc > 0 ? argv[0] : "worker", st.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace drc::runtime
