#include "drc/runtime/events.h"

#include "drc/common/strings.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace drc::runtime {

Result<std::unique_ptr<JsonlEventSink>> JsonlEventSink::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    return Status::IOError("cannot open event log ", path, ": ", std::strerror(errno));
  }
  std::unique_ptr<JsonlEventSink> sink(new JsonlEventSink());
  sink->file_ = f;
  sink->path_ = path;
  return sink;
}

JsonlEventSink::~JsonlEventSink() {
  if (file_ != nullptr) std::fclose(file_);
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
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
}

Status JsonlEventSink::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fflush(file_) != 0) {
    return Status::IOError("cannot write event log ", path_, ": ", std::strerror(errno));
  }
  return Status::OK();
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
