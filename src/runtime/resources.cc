// Resource descriptions: explicit, detected on the local machine, or read from Slurm.
#include "drc/runtime/resources.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "drc/common/cpus.h"

namespace drc::runtime {

namespace {

// Hosts one host list may expand to; a typo like "n[0-999999999]" fails instead of
// allocating gigabytes.
constexpr size_t kMaxHosts = 1'000'000;

bool ParseInt64(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool ParseInt(std::string_view text, int* out) {
  int64_t v = 0;
  if (!ParseInt64(text, &v) || v < INT32_MIN || v > INT32_MAX) return false;
  *out = static_cast<int>(v);
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// One bracketed group "[01-03,07]" expanded to its strings ("01" "02" "03" "07").
// `offset` is the position of the '[' in the whole list, for messages.
Result<std::vector<std::string>> ExpandRanges(std::string_view body, size_t offset,
                                              std::string_view list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t comma = body.find(',', pos);
    std::string_view range =
        body.substr(pos, comma == std::string_view::npos ? body.npos : comma - pos);
    size_t at = offset + 1 + pos;
    if (range.empty()) {
      return Status::InvalidArgument("empty range at position ", at, " in host list \"", list,
                                     "\"");
    }
    size_t dash = range.find('-');
    std::string_view lo_text = range.substr(0, dash);
    std::string_view hi_text = dash == std::string_view::npos ? lo_text : range.substr(dash + 1);
    int64_t lo = 0;
    int64_t hi = 0;
    if (lo_text.empty() || hi_text.empty() || lo_text[0] == '+' || hi_text[0] == '+' ||
        !ParseInt64(lo_text, &lo) || !ParseInt64(hi_text, &hi) || lo < 0 || hi < 0) {
      return Status::InvalidArgument("bad range \"", range, "\" at position ", at,
                                     " in host list \"", list, "\" (expected N or N-M)");
    }
    if (hi < lo) {
      return Status::InvalidArgument("reversed range \"", range, "\" at position ", at,
                                     " in host list \"", list, "\"");
    }
    if (static_cast<uint64_t>(hi - lo) + out.size() >= kMaxHosts) {
      return Status::InvalidArgument("range \"", range, "\" at position ", at,
                                     " expands to more than ", kMaxHosts, " hosts");
    }
    // Zero padding is kept: the width of the lower bound as written ("008" -> 3 digits).
    const int width = static_cast<int>(lo_text.size());
    for (int64_t v = lo; v <= hi; ++v) {
      std::string digits = std::to_string(v);
      if (static_cast<int>(digits.size()) < width) {
        digits.insert(0, static_cast<size_t>(width) - digits.size(), '0');
      }
      out.push_back(std::move(digits));
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

// One top-level item: "prefix[..]mid[..]suffix" -> the cartesian product of its groups.
Status ExpandItem(std::string_view item, size_t offset, std::string_view list,
                  std::vector<std::string>* out) {
  std::vector<std::string> partial = {""};
  size_t pos = 0;
  while (pos < item.size()) {
    size_t open = item.find('[', pos);
    std::string_view literal =
        item.substr(pos, open == std::string_view::npos ? item.npos : open - pos);
    size_t stray = literal.find(']');
    if (stray != std::string_view::npos) {
      return Status::InvalidArgument("unbalanced ']' at position ", offset + pos + stray,
                                     " in host list \"", list, "\"");
    }
    for (auto& p : partial) p.append(literal);
    if (open == std::string_view::npos) break;
    size_t close = item.find(']', open);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("unbalanced '[' at position ", offset + open,
                                     " in host list \"", list, "\"");
    }
    std::string_view body = item.substr(open + 1, close - open - 1);
    size_t nested = body.find('[');
    if (nested != std::string_view::npos) {
      return Status::InvalidArgument("nested '[' at position ", offset + open + 1 + nested,
                                     " in host list \"", list, "\"");
    }
    DRC_ASSIGN_OR_RETURN(std::vector<std::string> values, ExpandRanges(body, offset + open, list));
    if (partial.size() * values.size() > kMaxHosts) {
      return Status::InvalidArgument("item at position ", offset, " expands to more than ",
                                     kMaxHosts, " hosts");
    }
    std::vector<std::string> next;
    next.reserve(partial.size() * values.size());
    for (const auto& p : partial) {
      for (const auto& v : values) next.push_back(p + v);
    }
    partial = std::move(next);
    pos = close + 1;
  }
  if (out->size() + partial.size() > kMaxHosts) {
    return Status::InvalidArgument("host list \"", list, "\" expands to more than ", kMaxHosts,
                                   " hosts");
  }
  for (auto& p : partial) out->push_back(std::move(p));
  return Status::OK();
}

// "4(x2),2" -> {4, 4, 2}.
Result<std::vector<int>> ParseCpusPerNode(std::string_view var, std::string_view text) {
  std::vector<int> out;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    int count = 0;
    int repeat = 1;
    size_t paren = item.find('(');
    std::string_view count_text = item.substr(0, paren);
    bool ok = ParseInt(count_text, &count) && count > 0;
    if (ok && paren != std::string_view::npos) {
      std::string_view rep = item.substr(paren);
      ok = rep.size() > 3 && rep.substr(0, 2) == "(x" && rep.back() == ')' &&
           ParseInt(rep.substr(2, rep.size() - 3), &repeat) && repeat > 0 &&
           static_cast<size_t>(repeat) <= kMaxHosts;
    }
    if (!ok) {
      return Status::InvalidArgument(var, "=\"", text, "\": bad item \"", item,
                                     "\" (expected N or N(xK), e.g. \"4(x2),2\")");
    }
    if (out.size() + static_cast<size_t>(repeat) > kMaxHosts) {
      return Status::InvalidArgument(var, "=\"", text, "\": too many nodes");
    }
    out.insert(out.end(), static_cast<size_t>(repeat), count);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

const std::string* Find(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? nullptr : &it->second;
}

bool HaveExecutable(const char* name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string_view rest(path);
  while (true) {
    size_t colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    std::string full = dir + "/" + name;
    if (access(full.c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

int64_t DetectMemMb() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemTotal:", 0) == 0) {
      std::istringstream fields(line.substr(9));
      int64_t kb = 0;
      if (fields >> kb) return kb / 1024;
    }
  }
  return 0;  // not tracked
}

}  // namespace

namespace internal {

// GPU ids from a CUDA_VISIBLE_DEVICES value: "" / "-1" / "NoDevFiles" mean none; like CUDA,
// the list ends at the first invalid entry.
std::vector<std::string> ParseCudaVisibleDevices(std::string_view value) {
  std::vector<std::string> ids;
  value = Trim(value);
  if (value.empty() || value == "NoDevFiles") return ids;
  size_t pos = 0;
  while (true) {
    size_t comma = value.find(',', pos);
    std::string_view id =
        Trim(value.substr(pos, comma == std::string_view::npos ? value.npos : comma - pos));
    if (id.empty() || id[0] == '-' || id == "NoDevFiles") break;
    ids.emplace_back(id);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return ids;
}

// GPU indices from `nvidia-smi -L` output ("GPU 0: NVIDIA H200 (UUID: GPU-...)"); MIG lines
// (indented "MIG ...") are not separate GPUs here.
std::vector<std::string> ParseNvidiaSmiList(std::string_view text) {
  std::vector<std::string> ids;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.rfind("GPU ", 0) != 0) continue;
    std::string_view rest = line.substr(4);
    size_t colon = rest.find(':');
    int index = 0;
    if (colon == std::string_view::npos || !ParseInt(rest.substr(0, colon), &index)) continue;
    ids.push_back(std::to_string(index));
  }
  return ids;
}

}  // namespace internal

int64_t ResourceSpec::total_cores() const {
  int64_t total = 0;
  for (const auto& n : nodes) total += n.cores;
  return total;
}

int64_t ResourceSpec::total_gpus() const {
  int64_t total = 0;
  for (const auto& n : nodes) total += n.gpus;
  return total;
}

std::string ResourceSpec::ToString() const {
  std::ostringstream out;
  if (nodes.empty()) return "0 nodes";
  bool uniform = true;
  for (const auto& n : nodes) {
    if (n.cores != nodes[0].cores || n.gpus != nodes[0].gpus || n.mem_mb != nodes[0].mem_mb) {
      uniform = false;
      break;
    }
  }
  auto describe = [&out](const NodeSpec& n) {
    out << n.cores << (n.cores == 1 ? " core" : " cores") << ", " << n.gpus
        << (n.gpus == 1 ? " GPU" : " GPUs");
    if (n.mem_mb > 0) out << ", " << n.mem_mb << " MiB";
  };
  if (uniform) {
    out << nodes.size() << (nodes.size() == 1 ? " node" : " nodes") << " x ";
    describe(nodes[0]);
    return out.str();
  }
  int64_t mem = 0;
  for (const auto& n : nodes) mem += n.mem_mb;
  out << nodes.size() << " nodes, " << total_cores() << " cores, " << total_gpus() << " GPUs";
  if (mem > 0) out << ", " << mem << " MiB";
  out << " (";
  constexpr size_t kShown = 4;
  for (size_t i = 0; i < nodes.size() && i < kShown; ++i) {
    if (i > 0) out << "; ";
    out << nodes[i].name << ": ";
    describe(nodes[i]);
  }
  if (nodes.size() > kShown) out << "; ...";
  out << ")";
  return out.str();
}

ResourceSpec UniformResources(int nodes, int cores, int gpus, int64_t mem_mb,
                              std::string_view prefix) {
  ResourceSpec spec;
  spec.nodes.reserve(nodes > 0 ? static_cast<size_t>(nodes) : 0);
  for (int i = 0; i < nodes; ++i) {
    char digits[16];
    std::snprintf(digits, sizeof(digits), "%04d", i);
    NodeSpec n;
    n.name = std::string(prefix) + digits;
    n.cores = cores;
    n.gpus = gpus;
    n.mem_mb = mem_mb;
    spec.nodes.push_back(std::move(n));
  }
  return spec;
}

Result<ResourceSpec> DetectLocalResources() {
  NodeSpec node;
  node.name = "localhost";
  node.cores = UsableCores();
  node.mem_mb = DetectMemMb();
  if (const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES"); cvd != nullptr) {
    node.gpu_ids = internal::ParseCudaVisibleDevices(cvd);
  } else if (HaveExecutable("nvidia-smi")) {
    std::string text;
    if (FILE* pipe = popen("nvidia-smi -L 2>/dev/null", "r"); pipe != nullptr) {
      char buf[4096];
      size_t n = 0;
      while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) text.append(buf, n);
      pclose(pipe);
    }
    // nvidia-smi indices are 0..n-1 already: no explicit gpu_ids needed.
    node.gpus = static_cast<int>(internal::ParseNvidiaSmiList(text).size());
  }
  if (!node.gpu_ids.empty()) node.gpus = static_cast<int>(node.gpu_ids.size());
  ResourceSpec spec;
  spec.nodes.push_back(std::move(node));
  return spec;
}

Result<ResourceSpec> ResourcesFromSlurm(const std::map<std::string, std::string>& env) {
  const char* list_var = "SLURM_JOB_NODELIST";
  const std::string* list = Find(env, list_var);
  if (list == nullptr) {
    list_var = "SLURM_NODELIST";
    list = Find(env, list_var);
  }
  if (list == nullptr) {
    return Status::InvalidArgument(
        "SLURM_JOB_NODELIST (or SLURM_NODELIST) is not set: not inside a Slurm allocation");
  }
  auto hosts = ExpandHostList(*list);
  if (!hosts.ok()) return hosts.status().WithContext(list_var);
  const size_t n = hosts->size();

  // SLURM_JOB_CPUS_PER_NODE describes every node of the allocation ("4(x2),2");
  // SLURM_CPUS_ON_NODE only the node this process runs on, so it is the fallback.
  std::vector<int> cpus;
  if (const std::string* w = Find(env, "SLURM_JOB_CPUS_PER_NODE"); w != nullptr) {
    DRC_ASSIGN_OR_RETURN(cpus, ParseCpusPerNode("SLURM_JOB_CPUS_PER_NODE", Trim(*w)));
    if (cpus.size() != n) {
      return Status::InvalidArgument("SLURM_JOB_CPUS_PER_NODE=\"", *w, "\" describes ", cpus.size(),
                                     " nodes but ", list_var, "=\"", *list, "\" has ", n);
    }
  } else if (const std::string* v = Find(env, "SLURM_CPUS_ON_NODE"); v != nullptr) {
    int c = 0;
    if (!ParseInt(Trim(*v), &c) || c <= 0) {
      return Status::InvalidArgument("SLURM_CPUS_ON_NODE=\"", *v, "\" is not a positive integer");
    }
    cpus.assign(n, c);
  } else {
    return Status::InvalidArgument(
        "neither SLURM_JOB_CPUS_PER_NODE nor SLURM_CPUS_ON_NODE is set: cannot tell the cores "
        "per node");
  }

  int gpus = 0;
  if (const std::string* v = Find(env, "SLURM_GPUS_ON_NODE"); v != nullptr) {
    if (!ParseInt(Trim(*v), &gpus) || gpus < 0) {
      return Status::InvalidArgument("SLURM_GPUS_ON_NODE=\"", *v,
                                     "\" is not a non-negative integer");
    }
  }
  int64_t mem_mb = 0;
  if (const std::string* v = Find(env, "SLURM_MEM_PER_NODE"); v != nullptr) {
    if (!ParseInt64(Trim(*v), &mem_mb) || mem_mb < 0) {
      return Status::InvalidArgument("SLURM_MEM_PER_NODE=\"", *v,
                                     "\" is not a non-negative integer (MB)");
    }
  }

  ResourceSpec spec;
  spec.nodes.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    NodeSpec node;
    node.name = std::move((*hosts)[i]);
    node.cores = cpus[i];
    node.gpus = gpus;
    node.mem_mb = mem_mb;
    spec.nodes.push_back(std::move(node));
  }
  return spec;
}

Result<std::vector<std::string>> ExpandHostList(std::string_view list) {
  if (list.empty()) return Status::InvalidArgument("empty host list");
  std::vector<std::string> out;
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    char ch = i < list.size() ? list[i] : ',';
    if (ch == '[') {
      ++depth;
    } else if (ch == ']') {
      if (depth == 0) {
        return Status::InvalidArgument("unbalanced ']' at position ", i, " in host list \"", list,
                                       "\"");
      }
      --depth;
    } else if (ch == ',' && (depth == 0 || i == list.size())) {
      if (depth != 0) {
        size_t open = list.rfind('[', i - 1);
        return Status::InvalidArgument("unbalanced '[' at position ", open, " in host list \"",
                                       list, "\"");
      }
      std::string_view item = list.substr(start, i - start);
      if (item.empty()) {
        return Status::InvalidArgument("empty host name at position ", start, " in host list \"",
                                       list, "\"");
      }
      DRC_RETURN_NOT_OK(ExpandItem(item, start, list, &out));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace drc::runtime
