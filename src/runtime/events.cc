#include "drc/runtime/events.h"

#include "drc/common/strings.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

namespace drc::runtime {

bool IsFinalStateName(std::string_view s) {
  return s == "DONE" || s == "FAILED" || s == "CANCELED";
}

namespace {

// The event on line `line` of `path`, or nullopt when the line is not a JSON object (a cut-off
// line); InvalidArgument naming path:line and the field for an object with a missing or
// mistyped field. The location is only formatted for an error.
Result<std::optional<Event>> ParseEvent(const std::string& text, const std::string& path,
                                        int64_t line) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::optional<Event>();
  Event e;
  auto t = j.find("t");
  if (t == j.end() || !t->is_number() || !std::isfinite(t->get<double>())) {
    return Status::InvalidArgument(path, ":", line, ": field 't' expects a number");
  }
  e.time = t->get<double>();
  for (auto [key, out, required] :
       {std::tuple<const char*, std::string*, bool>{"kind", &e.kind, true},
        {"value", &e.value, true},
        {"task", &e.task, false},
        {"detail", &e.detail, false}}) {
    auto it = j.find(key);
    if (it == j.end() && !required) continue;
    if (it == j.end() || !it->is_string()) {
      return Status::InvalidArgument(path, ":", line, ": field '", key, "' expects a string");
    }
    *out = it->get<std::string>();
  }
  if (auto a = j.find("attempt"); a != j.end()) {
    if (!a->is_number_integer() || a->get<int64_t>() < 0 || a->get<int64_t>() > 1 << 30) {
      return Status::InvalidArgument(path, ":", line, ": field 'attempt' expects an integer >= 0");
    }
    e.attempt = a->get<int>();
  }
  return std::optional<Event>(std::move(e));
}

}  // namespace

Status ReadEvents(const std::string& path,
                  const std::function<Status(const Event& event, int64_t line)>& fn,
                  int64_t* cut_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read the event log ", path, ": ", std::strerror(errno));
  int64_t cut = 0;
  int64_t number = 0;
  // A line that is not JSON waits here until the next line says whether a crash cut it off.
  std::optional<std::pair<int64_t, std::string>> bad;
  auto reject = [&path](int64_t line, const std::string& text) {
    return Status::InvalidArgument(
        path, ":", line,
        ": expected one JSON object per line ({\"t\":..,\"task\":..,\"kind\":..,\"value\":..}), "
        "got \"",
        text.substr(0, 80), text.size() > 80 ? "..." : "", "\"");
  };
  std::string text;
  while (std::getline(in, text)) {
    ++number;
    if (text.empty()) continue;
    DRC_ASSIGN_OR_RETURN(std::optional<Event> event, ParseEvent(text, path, number));
    if (!event) {
      if (bad) return reject(bad->first, bad->second);
      bad.emplace(number, text);
      continue;
    }
    if (bad) {
      if (event->kind != "pilot" || event->value != "start") return reject(bad->first, bad->second);
      ++cut;  // the previous run crashed mid-line; this one started after it
      bad.reset();
    }
    DRC_RETURN_NOT_OK(fn(*event, number));
  }
  if (in.bad()) return Status::IOError("cannot read the event log ", path);
  if (bad) ++cut;  // the last line
  if (cut_lines != nullptr) *cut_lines = cut;
  return Status::OK();
}

Result<std::unique_ptr<JsonlEventSink>> JsonlEventSink::Open(
    const std::string& path, std::chrono::milliseconds sync_period) {
  std::FILE* f = std::fopen(path.c_str(), "a+");
  if (f == nullptr) {
    return Status::IOError("cannot open event log ", path, ": ", std::strerror(errno));
  }
  // A run that crashed mid-line left no newline: end that line before this run's events.
  if (std::fseek(f, -1, SEEK_END) == 0) {
    const int last = std::fgetc(f);
    std::fseek(f, 0, SEEK_END);  // between a read and a write on one stream
    if (last != '\n') std::fputc('\n', f);
  }
  std::unique_ptr<JsonlEventSink> sink(new JsonlEventSink());
  sink->file_ = f;
  sink->path_ = path;
  sink->sync_period_ = sync_period;
  sink->syncer_ = std::thread([s = sink.get()] { s->SyncLoop(); });
  return sink;
}

JsonlEventSink::~JsonlEventSink() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (syncer_.joinable()) syncer_.join();
  if (file_ != nullptr) {
    (void)SyncLocked();  // the thread has ended: nothing else uses the file
    std::fclose(file_);
  }
}

void JsonlEventSink::Failed(int error) {
  if (error_.ok()) {
    error_ = Status::IOError("cannot write event log ", path_, ": ", std::strerror(error));
  }
}

namespace {

// fdatasync, where the file can be synced: EINVAL and EROFS say that it cannot (a special file),
// and the lines written are all there is to do.
bool DataSync(int fd, int& error) {
  if (::fdatasync(fd) == 0) return true;
  error = errno;
  return error == EINVAL || error == EROFS;
}

}  // namespace

Status JsonlEventSink::SyncLocked() {
  dirty_ = false;
  int error = 0;
  if (std::fflush(file_) != 0) {
    Failed(errno);
  } else if (!DataSync(fileno(file_), error)) {
    Failed(error);
  } else {
    ++syncs_;
  }
  return error_;
}

// Waits for journal lines, syncs them, then lets sync_period_ pass before the next sync: one
// fdatasync per period however many tasks ended in it. The sync itself runs unlocked, so
// events go on being written while the disk catches up.
void JsonlEventSink::SyncLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return dirty_ || stop_; });
    if (stop_) return;
    dirty_ = false;
    if (std::fflush(file_) != 0) {
      Failed(errno);
    } else {
      const int fd = fileno(file_);
      int error = 0;
      lock.unlock();
      const bool synced = DataSync(fd, error);
      lock.lock();
      if (!synced) {
        Failed(error);
      } else {
        ++syncs_;
      }
    }
    cv_.wait_for(lock, sync_period_, [this] { return stop_; });
  }
}

int64_t JsonlEventSink::syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

void JsonlEventSink::Emit(const Event& event) {
  // Hand-formatted: several events per task on the hot path of short tasks.
  char time[32];
  std::snprintf(time, sizeof(time), "%.6f", event.time);
  std::string line;
  line.reserve(96 + event.task.size() + event.detail.size());
  line.append("{\"t\":").append(time).append(",\"task\":\"");
  AppendJsonEscaped(line, event.task);
  line.append("\",\"kind\":\"");
  AppendJsonEscaped(line, event.kind);
  line.append("\",\"value\":\"");
  AppendJsonEscaped(line, event.value);
  line.append("\",\"attempt\":").append(std::to_string(event.attempt)).append(",\"detail\":\"");
  AppendJsonEscaped(line, event.detail);
  line.append("\"}\n");
  // What `drc run --resume` needs from a killed run: every end, and every process started.
  const bool journal = (event.kind == "state" && IsFinalStateName(event.value)) ||
                       (event.kind == "launch" && event.value == "start");
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) Failed(errno);
  if (!journal) return;
  if (std::fflush(file_) != 0) Failed(errno);
  if (!dirty_) {
    dirty_ = true;
    cv_.notify_one();
  }
}

Status JsonlEventSink::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  return SyncLocked();
}

Status EventBus::Flush() {
  Status first;
  for (auto& s : sinks_) {
    Status st = s->Flush();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

}  // namespace drc::runtime
