// ProcessManager: posix_spawn + one reaper thread that waits on pidfds with epoll.
//
// Design:
//  - Spawn resolves argv[0] against the PATH of the child's environment (spec.env; the
//    parent's PATH when spec.env has none), then calls posix_spawn with the child in a new
//    process group, an empty signal mask, default dispositions, stdin from /dev/null,
//    stdout/stderr opened by file actions, every other descriptor closed, and the working
//    directory changed last. Errors are diagnosed after a failed spawn (no extra system calls
//    on the happy path, except one stat of the working directory so that a missing one never
//    truncates the output files).
//  - Each child gets a pidfd (pidfd_open) registered with one epoll instance. The reaper
//    thread waits on epoll and reaps exactly the pids it was told about with waitid(P_PID),
//    so children spawned by other code in this process are never stolen.
//  - Timeouts and kill escalation are a deadline min-heap; the reaper's epoll_wait timeout is
//    the earliest deadline. An eventfd wakes the reaper when a new earliest deadline arrives.
//  - A leader that dies after we sent it SIGTERM (timeout, Kill, shutdown) is still a zombie
//    when its pidfd becomes readable; before reaping it the reaper sends SIGKILL to its whole
//    group, so no stragglers survive a killed task and the group id cannot have been reused.
//  - The exit callback runs on the reaper thread without any lock held, so it may call Spawn
//    or Kill. It must not destroy the ProcessManager.
#include "drc/runtime/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <queue>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>

extern char** environ;

namespace drc::runtime {

namespace {

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev == nullptr) return "signal " + std::to_string(sig);
  return std::string("SIG") + abbrev;
}

std::string FormatSeconds(double s) {
  char buf[32];
  if (s >= 10 || std::fabs(s - std::round(s)) < 0.05) {
    std::snprintf(buf, sizeof(buf), "%.0f", s);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f", s);
  }
  return buf;
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// The directory part of `path` ("." when it has none).
std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// PATH from a "K=V" environment, or nullptr.
const char* FindPath(const std::vector<std::string>& env) {
  for (const std::string& kv : env) {
    if (kv.size() >= 5 && kv.compare(0, 5, "PATH=") == 0) return kv.c_str() + 5;
  }
  return nullptr;
}

// Resolves a command name the way execvp does, against `path_list`. Returns false when no
// executable regular file is found.
bool ResolveInPath(const std::string& name, const char* path_list, std::string* out) {
  std::string_view list(path_list);
  size_t pos = 0;
  while (true) {
    size_t colon = list.find(':', pos);
    std::string_view dir =
        list.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos);
    std::string candidate = dir.empty() ? name : std::string(dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) {
      struct stat st;
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        *out = std::move(candidate);
        return true;
      }
    }
    if (colon == std::string_view::npos) return false;
    pos = colon + 1;
  }
}

// Explains why an output file cannot be opened for writing, or OK when it looks fine.
Status CheckOutputPath(const char* what, const std::string& path) {
  if (path.empty()) return Status::OK();
  std::string dir = DirName(path);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return Status::IOError("cannot create ", what, " file '", path, "': directory '", dir,
                           "' does not exist");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::IOError("cannot create ", what, " file '", path, "': '", dir,
                           "' is not a directory");
  }
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return Status::IOError("cannot write ", what, " file '", path, "': it is a directory");
    }
    if (access(path.c_str(), W_OK) != 0) {
      return Status::IOError("cannot write ", what, " file '", path, "': ", ErrnoText(errno));
    }
  } else if (access(dir.c_str(), W_OK) != 0) {
    return Status::IOError("cannot create ", what, " file '", path, "': directory '", dir,
                           "' is not writable");
  }
  return Status::OK();
}

Status CheckCwd(const std::string& cwd) {
  if (cwd.empty()) return Status::OK();
  struct stat st;
  if (stat(cwd.c_str(), &st) != 0) {
    return Status::NotFound("working directory '", cwd, "' does not exist");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("working directory '", cwd, "' is not a directory");
  }
  return Status::OK();
}

// Owns a posix_spawn_file_actions_t.
class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&fa_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &fa_; }

 private:
  posix_spawn_file_actions_t fa_;
};

// glibc 2.36's <sys/pidfd.h> lacks C++ linkage guards, so call the system call directly.
int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// The epoll tag of the wake-up eventfd; never a spawn token.
constexpr uint64_t kWakeToken = UINT64_MAX;

constexpr int kOutputFlags = O_WRONLY | O_CREAT | O_TRUNC;
constexpr mode_t kOutputMode = 0644;

}  // namespace

std::string ProcessExit::Describe() const {
  std::string how;
  if (signal != 0) {
    how = SignalName(signal);
  } else if (exit_code < 0) {
    how = "exit status unknown";  // reaped by someone else (SIGCHLD set to SIG_IGN?)
  } else {
    how = "exit code " + std::to_string(exit_code);
  }
  if (timed_out) {
    return "timed out after " + FormatSeconds(end_s - start_s) + " s (" + how + ")";
  }
  if (killed) return "killed on request (" + how + ")";
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + how + ")";
  return how;
}

struct ProcessManager::Impl {
  std::atomic<uint64_t> wakeups{0};
  struct Entry {
    uint64_t serial = 0;  // distinguishes incarnations of one token (stale deadlines)
    pid_t pid = -1;
    int pidfd = -1;
    double start_s = 0;
    bool term_sent = false;
    bool timed_out = false;
    bool killed = false;
  };
  enum class DeadlineKind : uint8_t { kTimeout, kKill };
  struct Deadline {
    Clock::TimePoint at;
    uint64_t token;
    uint64_t serial;
    DeadlineKind kind;
    bool operator>(const Deadline& o) const { return at > o.at; }
  };

  ExitCallback on_exit;
  Options options;
  const Clock* clock = nullptr;
  posix_spawnattr_t attr;
  bool attr_ready = false;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::thread reaper;

  mutable std::mutex mu;
  std::unordered_map<uint64_t, Entry> entries;  // GUARDED_BY(mu)
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<Deadline>>
      deadlines;               // GUARDED_BY(mu)
  uint64_t next_serial = 0;    // GUARDED_BY(mu)
  int spawns_in_progress = 0;  // GUARDED_BY(mu)
  bool stopping = false;       // GUARDED_BY(mu)
  // Real time at which shutdown sends SIGKILL to whatever is left, whatever the injected clock
  // says (a FakeClock that is never advanced must not hang the destructor).
  Clock::TimePoint shutdown_kill_at;  // GUARDED_BY(mu)
  bool shutdown_killed = false;       // GUARDED_BY(mu)

  ~Impl() {
    if (epoll_fd >= 0) close(epoll_fd);
    if (wake_fd >= 0) close(wake_fd);
    if (attr_ready) posix_spawnattr_destroy(&attr);
  }

  void Wake() const {
    uint64_t one = 1;
    ssize_t rc = write(wake_fd, &one, sizeof(one));
    (void)rc;  // EAGAIN: the counter is already non-zero, so the reaper wakes anyway
  }

  // Requires mu. Sends SIGTERM to the group and schedules SIGKILL after the grace period.
  void TerminateLocked(uint64_t token, Entry& e, bool* wake) {
    if (e.term_sent) return;
    e.term_sent = true;
    kill(-e.pid, SIGTERM);
    PushDeadlineLocked({clock->Now() + options.kill_grace, token, e.serial, DeadlineKind::kKill},
                       wake);
  }

  void PushDeadlineLocked(const Deadline& d, bool* wake) {
    if (deadlines.empty() || d.at < deadlines.top().at) *wake = true;
    deadlines.push(d);
  }

  // Requires mu. Acts on expired deadlines; returns the epoll timeout in ms (-1 = none).
  int ServiceDeadlinesLocked() {
    Clock::TimePoint now = clock->Now();
    bool unused_wake = false;
    while (!deadlines.empty() && deadlines.top().at <= now) {
      Deadline d = deadlines.top();
      deadlines.pop();
      auto it = entries.find(d.token);
      if (it == entries.end() || it->second.serial != d.serial) continue;
      Entry& e = it->second;
      if (d.kind == DeadlineKind::kTimeout) {
        if (!e.term_sent) {
          e.timed_out = true;
          TerminateLocked(d.token, e, &unused_wake);
        }
      } else {
        kill(-e.pid, SIGKILL);
      }
    }
    if (deadlines.empty()) return -1;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadlines.top().at - now);
    // Round up so that we never wake just before a deadline; cap so that an injected clock
    // that moves without real time passing is still noticed.
    int64_t ms = left.count() + 1;
    return static_cast<int>(std::clamp<int64_t>(ms, 1, 100));
  }

  void ReapOne(uint64_t token) {
    Entry e;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = entries.find(token);
      if (it == entries.end()) return;  // cannot happen: only this thread erases
      e = it->second;
      entries.erase(it);
    }
    // The leader is a zombie now, so its pid (and group id) is still ours: sweep what is left
    // of a group we asked to terminate.
    if (e.term_sent) kill(-e.pid, SIGKILL);
    ProcessExit exit;
    exit.pid = e.pid;
    exit.start_s = e.start_s;
    exit.timed_out = e.timed_out;
    exit.killed = e.killed;
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int rc;
    do {
      rc = waitid(P_PID, static_cast<id_t>(e.pid), &info, WEXITED);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      if (info.si_code == CLD_EXITED) {
        exit.exit_code = info.si_status;
      } else {
        exit.signal = info.si_status;
      }
    }  // else ECHILD: someone else reaped it (SIGCHLD ignored?); exit_code stays -1
    exit.end_s = clock->WallSeconds();
    // Deregister explicitly: close() alone leaves the registration alive while a child that
    // is being spawned still holds a copy of the descriptor, and the exited pidfd would then
    // wake epoll_wait in a busy loop until that child execs.
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, e.pidfd, nullptr);
    close(e.pidfd);
    if (on_exit) on_exit(token, exit);
  }

  void Run() {
    constexpr int kMaxEvents = 64;
    epoll_event events[kMaxEvents];
    while (true) {
      int timeout_ms;
      {
        std::lock_guard<std::mutex> lock(mu);
        timeout_ms = ServiceDeadlinesLocked();
        if (stopping) {
          if (entries.empty() && spawns_in_progress == 0) return;
          if (!shutdown_killed && RealClock().Now() >= shutdown_kill_at) {
            shutdown_killed = true;
            for (const auto& [token, e] : entries) kill(-e.pid, SIGKILL);
          }
          if (timeout_ms < 0 || timeout_ms > 100) timeout_ms = 100;
        }
      }
      int n = epoll_wait(epoll_fd, events, kMaxEvents, timeout_ms);
      wakeups.fetch_add(1, std::memory_order_relaxed);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::perror("drc ProcessManager: epoll_wait");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == kWakeToken) {
          uint64_t count;
          ssize_t rc = read(wake_fd, &count, sizeof(count));
          (void)rc;
          continue;
        }
        ReapOne(events[i].data.u64);
      }
    }
  }
};

Result<std::unique_ptr<ProcessManager>> ProcessManager::Make(ExitCallback on_exit,
                                                             Options options) {
  std::unique_ptr<ProcessManager> pm(new ProcessManager());
  pm->impl_ = std::make_unique<Impl>();
  Impl& impl = *pm->impl_;
  impl.on_exit = std::move(on_exit);
  impl.options = options;
  impl.clock = options.clock != nullptr ? options.clock : &RealClock();

  if (posix_spawnattr_init(&impl.attr) != 0) return Status::Internal("posix_spawnattr_init");
  impl.attr_ready = true;
  sigset_t empty_mask;
  sigset_t all_signals;
  sigemptyset(&empty_mask);
  sigfillset(&all_signals);
  posix_spawnattr_setflags(&impl.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&impl.attr, 0);
  posix_spawnattr_setsigmask(&impl.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&impl.attr, &all_signals);

  impl.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (impl.epoll_fd < 0) return Status::Internal("epoll_create1: ", ErrnoText(errno));
  impl.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl.wake_fd < 0) return Status::Internal("eventfd: ", ErrnoText(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (epoll_ctl(impl.epoll_fd, EPOLL_CTL_ADD, impl.wake_fd, &ev) != 0) {
    return Status::Internal("epoll_ctl: ", ErrnoText(errno));
  }
  try {
    impl.reaper = std::thread([&impl] { impl.Run(); });
  } catch (const std::system_error& e) {
    return Status::ResourceExhausted("cannot start the reaper thread: ", e.what());
  }
  return pm;
}

ProcessManager::~ProcessManager() {
  if (!impl_) return;
  if (impl_->reaper.joinable()) {
    bool wake = true;
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      impl_->stopping = true;
      impl_->shutdown_kill_at = RealClock().Now() + impl_->options.kill_grace;
      for (auto& [token, e] : impl_->entries) {
        e.killed = true;
        impl_->TerminateLocked(token, e, &wake);
      }
    }
    impl_->Wake();
    impl_->reaper.join();
  }
}

Result<pid_t> ProcessManager::Spawn(uint64_t token, const ProcessSpec& spec) {
  Impl& impl = *impl_;
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status::InvalidArgument("spawn: argv is empty");
  }
  if (token == kWakeToken) return Status::InvalidArgument("spawn: token ", token, " is reserved");
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    if (impl.stopping) return Status::Cancelled("spawn: the process manager is shutting down");
    if (impl.entries.count(token) != 0) {
      return Status::AlreadyExists("spawn: token ", token, " is still running");
    }
    ++impl.spawns_in_progress;
  }
  struct InProgressGuard {
    Impl& impl;
    ~InProgressGuard() {
      std::lock_guard<std::mutex> lock(impl.mu);
      --impl.spawns_in_progress;
      if (impl.stopping && impl.spawns_in_progress == 0) impl.Wake();
    }
  } guard{impl};

  DRC_RETURN_NOT_OK(CheckCwd(spec.cwd));

  // Resolve the executable against the child's PATH.
  const std::string& name = spec.argv[0];
  std::string resolved;
  if (name.find('/') != std::string::npos) {
    resolved = name;
  } else {
    const char* path_list = FindPath(spec.env);
    if (path_list == nullptr) path_list = getenv("PATH");
    if (path_list == nullptr) path_list = "/bin:/usr/bin";
    if (!ResolveInPath(name, path_list, &resolved)) {
      return Status::NotFound("executable '", name, "' not found in PATH (", path_list, ")");
    }
  }

  FileActions fa;
  posix_spawn_file_actions_addopen(fa.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const char* out = spec.stdout_path.empty() ? "/dev/null" : spec.stdout_path.c_str();
  const char* err = spec.stderr_path.empty() ? "/dev/null" : spec.stderr_path.c_str();
  // No O_CLOEXEC: when open() returns the target descriptor itself there is no dup2 to clear it.
  posix_spawn_file_actions_addopen(fa.get(), STDOUT_FILENO, out, kOutputFlags, kOutputMode);
  if (!spec.stderr_path.empty() && spec.stderr_path == spec.stdout_path) {
    posix_spawn_file_actions_adddup2(fa.get(), STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(fa.get(), STDERR_FILENO, err, kOutputFlags, kOutputMode);
  }
  posix_spawn_file_actions_addclosefrom_np(fa.get(), STDERR_FILENO + 1);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(fa.get(), spec.cwd.c_str());

  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec.env.size() + 1);
  for (const std::string& kv : spec.env) envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);

  double start_s = impl.clock->WallSeconds();
  pid_t pid = -1;
  int rc = posix_spawn(&pid, resolved.c_str(), fa.get(), &impl.attr, argv.data(), envp.data());
  if (rc != 0) {
    // Find the culprit: the output files, the working directory, or the executable.
    DRC_RETURN_NOT_OK(CheckOutputPath("stdout", spec.stdout_path));
    DRC_RETURN_NOT_OK(CheckOutputPath("stderr", spec.stderr_path));
    DRC_RETURN_NOT_OK(CheckCwd(spec.cwd));
    if (rc == ENOENT) return Status::NotFound("executable '", resolved, "' not found");
    if (rc == EACCES) {
      return Status::InvalidArgument("executable '", resolved,
                                     "' is not executable: ", ErrnoText(rc));
    }
    if (rc == EAGAIN || rc == ENOMEM) {
      return Status::ResourceExhausted("cannot start '", resolved, "': ", ErrnoText(rc));
    }
    return Status::IOError("cannot start '", resolved, "': ", ErrnoText(rc));
  }

  // The child exists (it may already be a zombie; that is fine: it is ours to reap).
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) {
    int e = errno;
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return Status::ResourceExhausted("pidfd_open: ", ErrnoText(e));
  }
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    Impl::Entry& e = impl.entries[token];
    e.serial = ++impl.next_serial;
    e.pid = pid;
    e.pidfd = pidfd;
    e.start_s = start_s;
    if (spec.timeout_s > 0) {
      auto timeout = std::chrono::duration_cast<Clock::Duration>(
          std::chrono::duration<double>(spec.timeout_s));
      impl.PushDeadlineLocked(
          {impl.clock->Now() + timeout, token, e.serial, Impl::DeadlineKind::kTimeout}, &wake);
    }
    if (impl.stopping) {
      e.killed = true;
      impl.TerminateLocked(token, e, &wake);
    }
    // Registered under the lock, so the reaper can only see the event once the entry exists.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = token;
    if (epoll_ctl(impl.epoll_fd, EPOLL_CTL_ADD, pidfd, &ev) != 0) {
      int err_no = errno;
      impl.entries.erase(token);
      kill(-pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(pidfd);
      return Status::Internal("epoll_ctl: ", ErrnoText(err_no));
    }
  }
  if (wake) impl.Wake();
  return pid;
}

Status ProcessManager::Kill(uint64_t token) {
  Impl& impl = *impl_;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    auto it = impl.entries.find(token);
    if (it == impl.entries.end()) return Status::NotFound("kill: token ", token, " not running");
    it->second.killed = true;
    impl.TerminateLocked(token, it->second, &wake);
  }
  if (wake) impl.Wake();
  return Status::OK();
}

uint64_t ProcessManager::reaper_wakeups() const {
  return impl_->wakeups.load(std::memory_order_relaxed);
}

size_t ProcessManager::running() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->entries.size();
}

}  // namespace drc::runtime
