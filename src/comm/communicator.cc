#include "drc/comm/communicator.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

namespace drc::comm {

int64_t SizeOf(DataType type) {
  switch (type) {
    case DataType::kInt8:
    case DataType::kUInt8: return 1;
    case DataType::kInt32:
    case DataType::kFloat32: return 4;
    case DataType::kInt64:
    case DataType::kFloat64: return 8;
  }
  return 0;
}

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kInt8: return "int8";
    case DataType::kUInt8: return "uint8";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kFloat32: return "float32";
    case DataType::kFloat64: return "float64";
  }
  return "unknown";
}

std::string_view ReduceOpName(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kProd: return "prod";
    case ReduceOp::kMin: return "min";
    case ReduceOp::kMax: return "max";
  }
  return "unknown";
}

namespace {

// Parses an integer environment variable; nullopt when unset.
Result<std::optional<int64_t>> EnvInt(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::optional<int64_t>();
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0') {
    return Status::InvalidArgument("environment variable ", name, "='", value,
                                   "' is not an integer");
  }
  return std::optional<int64_t>(parsed);
}

}  // namespace

Result<CommOptions> ResolveOptions(CommOptions options) {
  if (options.timeout.count() <= 0) {
    DRC_ASSIGN_OR_RETURN(auto seconds, EnvInt("DRC_COMM_TIMEOUT_S"));
    if (seconds && *seconds <= 0) {
      return Status::InvalidArgument("DRC_COMM_TIMEOUT_S must be > 0, got ", *seconds);
    }
    options.timeout = std::chrono::seconds(seconds.value_or(300));
  }
  static constexpr std::pair<const char*, const char*> kRankSizeVars[] = {
      {"DRC_RANK", "DRC_WORLD_SIZE"},
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
      {"PMI_RANK", "PMI_SIZE"},
      {"SLURM_PROCID", "SLURM_NTASKS"},
  };
  if (options.rank < 0 || options.size < 0) {
    for (const auto& [rank_var, size_var] : kRankSizeVars) {
      DRC_ASSIGN_OR_RETURN(auto rank, EnvInt(rank_var));
      DRC_ASSIGN_OR_RETURN(auto size, EnvInt(size_var));
      if (rank && size) {
        if (options.rank < 0) options.rank = static_cast<int>(*rank);
        if (options.size < 0) options.size = static_cast<int>(*size);
        break;
      }
    }
  }
  if (options.size >= 0 && options.size < 1) {
    return Status::InvalidArgument("communicator size must be >= 1, got ", options.size);
  }
  if (options.rank >= 0 && options.size >= 1 && options.rank >= options.size) {
    return Status::InvalidArgument("rank ", options.rank, " out of range for size ", options.size);
  }
  return options;
}

Status CommRegistry::Register(std::string name, CommFactory factory) {
  if (factory == nullptr) return Status::InvalidArgument("null factory for backend '", name, "'");
  for (const auto& entry : factories_) {
    if (entry.first == name) {
      return Status::AlreadyExists("communicator backend '", name, "' is already registered");
    }
  }
  factories_.emplace_back(std::move(name), factory);
  return Status::OK();
}

Result<std::unique_ptr<Communicator>> CommRegistry::Make(std::string_view name,
                                                         const CommOptions& options) const {
  for (const auto& entry : factories_) {
    if (entry.first == name) return entry.second(options);
  }
  std::string known;
  for (const auto& entry : factories_) known += (known.empty() ? "" : ", ") + entry.first;
  return Status::NotFound("unknown communicator backend '", name, "' (this build has: ", known,
                          ")");
}

std::vector<std::string> CommRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& entry : factories_) names.push_back(entry.first);
  return names;
}

Result<std::vector<int64_t>> ExchangeCounts(Communicator& comm,
                                            std::span<const int64_t> send_counts) {
  if (static_cast<int>(send_counts.size()) != comm.size()) {
    return Status::InvalidArgument("ExchangeCounts: send_counts has ", send_counts.size(),
                                   " entries, expected communicator size ", comm.size());
  }
  std::vector<int64_t> recv(send_counts.size());
  DRC_RETURN_NOT_OK(comm.AllToAll(send_counts.data(), sizeof(int64_t), recv.data()));
  return recv;
}

Result<std::vector<std::string>> AllGatherStrings(Communicator& comm, const std::string& mine) {
  DRC_ASSIGN_OR_RETURN(std::vector<int64_t> sizes,
                       AllGatherValue<int64_t>(comm, static_cast<int64_t>(mine.size())));
  const std::vector<int64_t> displs = Displacements(sizes);
  std::string all(static_cast<size_t>(displs.back() + sizes.back()), '\0');
  DRC_RETURN_NOT_OK(
      comm.AllGatherV(mine.data(), static_cast<int64_t>(mine.size()), all.data(), sizes));
  std::vector<std::string> out(sizes.size());
  for (size_t r = 0; r < sizes.size(); ++r) out[r] = all.substr(displs[r], sizes[r]);
  return out;
}

std::vector<int64_t> Displacements(std::span<const int64_t> counts) {
  std::vector<int64_t> displs(counts.size());
  int64_t offset = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    displs[i] = offset;
    offset += counts[i];
  }
  return displs;
}

}  // namespace drc::comm
