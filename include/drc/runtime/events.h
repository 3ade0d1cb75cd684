// Events: every task state transition and every process start and stop, time-stamped, emitted
// through one interface so that a journal, a profiler or a progress display can subscribe
// without touching the scheduler or the executor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "drc/common/result.h"

namespace drc::runtime {

struct Event {
  double time = 0;     // wall-clock seconds since the Unix epoch
  std::string task;    // task uid; empty for pilot-level events
  std::string kind;    // "state", "launch", "exit", "pilot"
  std::string value;   // the new state ("EXECUTING"), or what happened ("start", "stop")
  int attempt = 0;     // 0 for the first try, 1.. for retries
  std::string detail;  // reason of FAILED/CANCELED, exit description, placement, ...
};
// Details that the profiler (profile.h) reads back:
// - state STAGING_IN: the placement, "ranks=2 cores=4 gpus=0 mem_mb=0 nodes=node0000,node0001";
// - pilot "start": the resources in words; pilot "resources", right after it, the totals,
//   "nodes=1 cores=2 gpus=0 mem_mb=0"; pilot "stop" when the task manager shuts down;
// - pilot "workers": the worker pool of function tasks came up ("4 workers up (mpirun pid ...")
//   or failed to; launch "start" of a function task: "function NAME on workers 0,1".

// Whether a state's name ("DONE", "FAILED", "CANCELED") is final.
bool IsFinalStateName(std::string_view state);

// Receives events. Emit may be called from several threads; implementations synchronize.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(const Event& event) = 0;
  virtual Status Flush() { return Status::OK(); }
};

// Appends one JSON object per line: {"t":..,"task":..,"kind":..,"value":..,"attempt":..,
// "detail":..}. Buffered; flushed at every final state (DONE, FAILED, CANCELED) and process start
// (the journal that `drc run --resume` reads: a run killed at any point keeps the end of every
// task that ended and the pid of every process it started), by Flush() and on destruction. A
// background thread syncs those lines to disk (fdatasync) at most `sync_period` after them, one
// sync for all that came in that time, so a crash of the machine itself loses at most that much
// of the journal; Flush() and the destructor sync too. A log that a crashed run left without its
// last newline gets one before the next run's first event. The first write or sync error is
// kept and returned by Flush() (events after it may be lost).
class JsonlEventSink final : public EventSink {
 public:
  static Result<std::unique_ptr<JsonlEventSink>> Open(
      const std::string& path, std::chrono::milliseconds sync_period = std::chrono::seconds(1));
  ~JsonlEventSink() override;
  void Emit(const Event& event) override;
  Status Flush() override;
  int64_t syncs() const;  // fdatasync calls so far

 private:
  JsonlEventSink() = default;
  void SyncLoop();
  Status SyncLocked();     // fflush + fdatasync; mu_ held
  void Failed(int error);  // keeps the first error; mu_ held

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::FILE* file_ = nullptr;  // guarded by mu_, as the rest
  std::string path_;
  std::chrono::milliseconds sync_period_{1000};
  bool dirty_ = false;  // journal lines not yet synced
  bool stop_ = false;
  int64_t syncs_ = 0;
  Status error_;
  std::thread syncer_;
};

// Reads an events.jsonl back, calling `fn` with each event and its line number, in file order.
// A line cut off by a crash (the last line, or one followed by a later run's pilot start) is
// skipped and counted in `*cut_lines`. Any other malformed line or field is InvalidArgument
// naming `path:line` and what was expected; IOError when the file cannot be read. An error from
// `fn` stops the reading and is returned.
Status ReadEvents(const std::string& path,
                  const std::function<Status(const Event& event, int64_t line)>& fn,
                  int64_t* cut_lines = nullptr);

// Fans events out to several sinks. Thread-safe once configured.
class EventBus final : public EventSink {
 public:
  void Add(std::shared_ptr<EventSink> sink) { sinks_.push_back(std::move(sink)); }
  void Emit(const Event& event) override {
    for (auto& s : sinks_) s->Emit(event);
  }
  Status Flush() override;

 private:
  std::vector<std::shared_ptr<EventSink>> sinks_;
};

}  // namespace drc::runtime
