// Launch methods: fork, mpirun (OpenMPI) and srun (Slurm).
//
// The environment of a launch is built in three layers: the context's base environment, the
// task's own variables, then the runtime's per-task and per-rank variables (which win).
// For fork the per-rank variables go straight into the process environment. For mpirun and
// srun the process environment carries what is the same for every rank (forwarded to remote
// ranks with -x / --export=ALL), and a generated launch script <workdir>/<uid>.launch.sh sets
// what differs per rank from the launcher's rank variable, runs the pre_exec lines, and then
// runs the task's argv unchanged ("$@": the arguments are never re-split by a shell).
// pre_exec and post_exec run in every rank's process (for fork: the one process).
#include "drc/runtime/launch.h"

#include "drc/common/strings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string_view>
#include <system_error>
#include <unordered_map>

namespace drc::runtime {

namespace {

// An environment in "K=V" form that keeps the first-seen order and lets later layers override.
class EnvBuilder {
 public:
  // Copies the base environment as it is; Set replaces or appends. A task sets about a dozen
  // variables over a base of a few dozen, so a linear scan beats building an index per task.
  explicit EnvBuilder(const std::vector<std::string>& base) : entries_(base) {
    entries_.reserve(base.size() + 16);
  }
  void Set(std::string_view key, std::string_view value) {
    for (std::string& kv : entries_) {
      if (kv.size() > key.size() && kv[key.size()] == '=' && kv.compare(0, key.size(), key) == 0) {
        kv.replace(key.size() + 1, std::string::npos, value);
        return;
      }
    }
    std::string kv;
    kv.reserve(key.size() + 1 + value.size());
    kv.append(key).append(1, '=').append(value);
    entries_.push_back(std::move(kv));
  }
  std::vector<std::string> Take() { return std::move(entries_); }

 private:
  std::vector<std::string> entries_;
};

// Quotes `s` for a POSIX shell: 'it'\''s'.
std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

// The address other ranks use to reach `node`.
std::string NodeAddress(const std::string& node) {
  return node == "localhost" ? "127.0.0.1" : node;
}

// The facts about one rank that the per-rank variables are made of.
struct RankInfo {
  int rank = 0;
  std::string node;
  int local_rank = 0;
  int local_size = 1;
  std::string gpus;  // CUDA_VISIBLE_DEVICES value
};

// A run of adjacent ranks on one node.
struct HostSlots {
  std::string node;
  int count = 0;
};

struct LaunchPlan {
  std::vector<RankInfo> ranks;
  std::vector<HostSlots> hosts;  // in placement order
  bool pilot_has_gpus = false;
};

Result<LaunchPlan> MakePlan(const TaskDescription& task, const Placement& placement,
                            const ResourceSpec& resources) {
  if (static_cast<int>(placement.ranks.size()) != task.ranks) {
    return Status::InvalidArgument("task '", task.uid, "': placement has ", placement.ranks.size(),
                                   " ranks but the task asks for ", task.ranks);
  }
  LaunchPlan plan;
  for (const NodeSpec& node : resources.nodes) plan.pilot_has_gpus |= node.gpus > 0;
  plan.ranks.resize(placement.ranks.size());
  std::vector<int32_t> host_node;  // node index of each entry of plan.hosts
  for (size_t r = 0; r < placement.ranks.size(); ++r) {
    const RankPlacement& rp = placement.ranks[r];
    if (rp.node < 0 || static_cast<size_t>(rp.node) >= resources.nodes.size()) {
      return Status::InvalidArgument("task '", task.uid, "': rank ", r, " is placed on node ",
                                     rp.node, " but the pilot has ", resources.nodes.size(),
                                     " nodes");
    }
    const NodeSpec& node = resources.nodes[rp.node];
    RankInfo& info = plan.ranks[r];
    info.rank = static_cast<int>(r);
    info.node = node.name;
    if (host_node.empty() || host_node.back() != rp.node) {
      for (int32_t seen : host_node) {
        if (seen == rp.node) {
          return Status::InvalidArgument("task '", task.uid, "': the ranks on node '", node.name,
                                         "' are not adjacent in the placement");
        }
      }
      host_node.push_back(rp.node);
      plan.hosts.push_back({node.name, 0});
    }
    info.local_rank = plan.hosts.back().count++;
    std::string gpus;
    for (int32_t g : rp.gpus) {
      if (!gpus.empty()) gpus += ',';
      if (g >= 0 && static_cast<size_t>(g) < node.gpu_ids.size()) {
        gpus += node.gpu_ids[g];
      } else {
        gpus += std::to_string(g);
      }
    }
    info.gpus = std::move(gpus);
  }
  // LOCAL_WORLD_SIZE: the size of the run each rank belongs to.
  size_t r = 0;
  for (const HostSlots& host : plan.hosts) {
    for (int i = 0; i < host.count; ++i) plan.ranks[r++].local_size = host.count;
  }
  return plan;
}

int ThreadsPerRank(const TaskDescription& task) {
  return task.threads_per_rank > 0 ? task.threads_per_rank : task.cores_per_rank;
}

// TF_CONFIG for worker `index` (worker r listens on master_port + 1 + r).
std::string TfConfig(const LaunchPlan& plan, int master_port, const std::string& index) {
  std::string json = "{\"cluster\":{\"worker\":[";
  for (size_t r = 0; r < plan.ranks.size(); ++r) {
    if (r > 0) json += ',';
    json += '"';
    json += JsonEscape(NodeAddress(plan.ranks[r].node));
    json += ':';
    json += std::to_string(master_port + 1 + static_cast<int>(r));
    json += '"';
  }
  json += "]},\"task\":{\"type\":\"worker\",\"index\":";
  json += index;
  json += "}}";
  return json;
}

// Variables that are the same for every rank.
void SetTaskVariables(const TaskDescription& task, const LaunchPlan& plan,
                      const LaunchContext& context, EnvBuilder* env) {
  env->Set("DRC_TASK_ID", task.uid);
  env->Set("DRC_RANKS", std::to_string(task.ranks));
  env->Set("OMP_NUM_THREADS", std::to_string(ThreadsPerRank(task)));
  if (task.framework_env) {
    env->Set("MASTER_ADDR", NodeAddress(plan.ranks[0].node));
    env->Set("MASTER_PORT", std::to_string(context.master_port));
    env->Set("WORLD_SIZE", std::to_string(task.ranks));
  }
}

std::vector<std::string> TaskVariableNames(const TaskDescription& task) {
  std::vector<std::string> names = {"DRC_TASK_ID", "DRC_RANKS", "OMP_NUM_THREADS"};
  if (task.framework_env) {
    names.insert(names.end(), {"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE"});
  }
  for (const auto& [key, value] : task.environment) names.push_back(key);
  return names;
}

// The argv of the task itself: the executable and its arguments, or a shell command line.
std::vector<std::string> TaskArgv(const TaskDescription& task) {
  std::vector<std::string> argv;
  if (task.shell) {
    argv = {"/bin/sh", "-c", task.executable};
    if (!task.arguments.empty()) {
      argv.push_back("sh");  // $0; the arguments become $1, $2, ...
      argv.insert(argv.end(), task.arguments.begin(), task.arguments.end());
    }
  } else {
    argv.push_back(task.executable);
    argv.insert(argv.end(), task.arguments.begin(), task.arguments.end());
  }
  return argv;
}

// Shell text that runs pre_exec, then "$@", then post_exec when "$@" succeeded; exits with the
// task's code (or the first failing pre/post line's). Without post_exec the task is exec'd.
std::string WrapperBody(const TaskDescription& task) {
  std::string s;
  if (!task.pre_exec.empty()) {
    s += "set -e\n";
    for (const std::string& line : task.pre_exec) s += line + "\n";
    s += "set +e\n";
  }
  if (task.post_exec.empty()) {
    s += "exec \"$@\"\n";
    return s;
  }
  s += "\"$@\"\nrc=$?\nif [ \"$rc\" -eq 0 ]; then\nset -e\n";
  for (const std::string& line : task.post_exec) s += line + "\n";
  s += "fi\nexit \"$rc\"\n";
  return s;
}

bool HasWrapper(const TaskDescription& task) {
  return !task.pre_exec.empty() || !task.post_exec.empty();
}

// Writes `text` to `path` with mode 0755, atomically (a retry never truncates a script that a
// previous attempt's shell may still be reading).
Status WriteScript(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) {
    return Status::IOError("cannot write launch script '", path,
                           "': ", std::error_code(errno, std::generic_category()).message());
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return Status::IOError("cannot write launch script '", path,
                             "': ", std::error_code(e, std::generic_category()).message());
    }
    done += static_cast<size_t>(n);
  }
  fchmod(fd, 0755);  // independent of the umask
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return Status::IOError("cannot write launch script '", path,
                           "': ", std::error_code(e, std::generic_category()).message());
  }
  return Status::OK();
}

// The per-rank launch script: rank from `rank_var`, per-rank constants from a case statement
// built from the placement, then the wrapper body.
std::string LaunchScript(const TaskDescription& task, const LaunchPlan& plan,
                         const LaunchContext& context, std::string_view method,
                         std::string_view rank_var) {
  std::string s = "#!/bin/sh\n";
  s += "# Deep RC launch script of task " + task.uid + " (" + std::string(method) + ", " +
       std::to_string(task.ranks) + " ranks). Generated: sets the per-rank environment from\n";
  s += "# $" + std::string(rank_var) + ", then runs the task's argv (\"$@\") unchanged.\n";
  s +=
      "r=${" + std::string(rank_var) + ":?this script is started by " + std::string(method) + "}\n";
  s += "export DRC_RANK=\"$r\"\n";
  if (task.framework_env) s += "export RANK=\"$r\"\n";
  s += "case \"$r\" in\n";
  for (const RankInfo& info : plan.ranks) {
    s += "  " + std::to_string(info.rank) + ") export DRC_NODE=" + ShellQuote(info.node);
    if (plan.pilot_has_gpus) s += " CUDA_VISIBLE_DEVICES=" + ShellQuote(info.gpus);
    if (task.framework_env) {
      s += " LOCAL_RANK=" + std::to_string(info.local_rank) +
           " LOCAL_WORLD_SIZE=" + std::to_string(info.local_size);
    }
    s += " ;;\n";
  }
  s += "  *) echo \"drc: unexpected rank $r for task " + task.uid + "\" >&2; exit 127 ;;\nesac\n";
  if (task.tf_config) {
    // Split so that the rank is substituted: '...index":'"$r"'}}'
    std::string json = TfConfig(plan, context.master_port, "@@R@@");
    size_t at = json.find("@@R@@");
    s += "export TF_CONFIG=" + ShellQuote(json.substr(0, at)) + "\"$r\"" +
         ShellQuote(json.substr(at + 5)) + "\n";
  }
  s += WrapperBody(task);
  return s;
}

Result<ProcessSpec> BuildFork(const TaskDescription& task, const LaunchPlan& plan,
                              const LaunchContext& context, ProcessSpec spec) {
  if (task.ranks != 1) {
    return Status::InvalidArgument("task '", task.uid,
                                   "': launch method fork runs one rank; use mpirun or srun");
  }
  EnvBuilder env(context.base_env);
  for (const auto& [key, value] : task.environment) env.Set(key, value);
  SetTaskVariables(task, plan, context, &env);
  const RankInfo& info = plan.ranks[0];
  env.Set("DRC_RANK", "0");
  env.Set("DRC_NODE", info.node);
  if (plan.pilot_has_gpus) env.Set("CUDA_VISIBLE_DEVICES", info.gpus);
  if (task.framework_env) {
    env.Set("RANK", "0");
    env.Set("LOCAL_RANK", "0");
    env.Set("LOCAL_WORLD_SIZE", "1");
  }
  if (task.tf_config) env.Set("TF_CONFIG", TfConfig(plan, context.master_port, "0"));
  spec.env = env.Take();

  std::vector<std::string> argv = TaskArgv(task);
  if (HasWrapper(task)) {
    spec.argv = {"/bin/sh", "-c", WrapperBody(task), "sh"};
    spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  } else {
    spec.argv = std::move(argv);
  }
  return spec;
}

Result<ProcessSpec> BuildMpirun(const TaskDescription& task, const LaunchPlan& plan,
                                const LaunchContext& context, const std::string& workdir,
                                ProcessSpec spec) {
  EnvBuilder env(context.base_env);
  for (const auto& [key, value] : task.environment) env.Set(key, value);
  SetTaskVariables(task, plan, context, &env);
  spec.env = env.Take();

  std::string script = workdir + "/" + task.uid + ".launch.sh";
  DRC_RETURN_NOT_OK(
      WriteScript(script, LaunchScript(task, plan, context, "mpirun", "OMPI_COMM_WORLD_RANK")));

  std::string hosts;
  for (const HostSlots& h : plan.hosts) {
    if (!hosts.empty()) hosts += ',';
    hosts += h.node + ":" + std::to_string(h.count);
  }
  spec.argv = {context.mpirun, "-np",       std::to_string(task.ranks),
               "--host",       hosts,       "--map-by",
               "slot",         "--bind-to", "none"};
  if (context.as_root) spec.argv.push_back("--allow-run-as-root");
  for (const std::string& name : TaskVariableNames(task)) {
    spec.argv.push_back("-x");
    spec.argv.push_back(name);
  }
  spec.argv.push_back(script);
  std::vector<std::string> argv = TaskArgv(task);
  spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  return spec;
}

Result<ProcessSpec> BuildSrun(const TaskDescription& task, const LaunchPlan& plan,
                              const LaunchContext& context, const std::string& workdir,
                              ProcessSpec spec) {
  EnvBuilder env(context.base_env);
  for (const auto& [key, value] : task.environment) env.Set(key, value);
  SetTaskVariables(task, plan, context, &env);
  spec.env = env.Take();

  std::string script = workdir + "/" + task.uid + ".launch.sh";
  DRC_RETURN_NOT_OK(WriteScript(script, LaunchScript(task, plan, context, "srun", "SLURM_PROCID")));

  std::string nodes;
  for (const HostSlots& h : plan.hosts) {
    if (!nodes.empty()) nodes += ',';
    nodes += h.node;
  }
  spec.argv = {context.srun, "--nodes=" + std::to_string(plan.hosts.size()),
               "--ntasks=" + std::to_string(task.ranks), "--nodelist=" + nodes,
               "--cpus-per-task=" + std::to_string(task.cores_per_rank)};
  if (task.gpus_per_rank > 0) {
    spec.argv.push_back("--gpus-per-task=" + std::to_string(task.gpus_per_rank));
  }
  // Memory of the step: what the task asked for, else --mem=0 (the job's memory, shared with
  // other steps); without it each step inherits the job's whole --mem and steps serialize.
  if (task.mem_per_rank_mb > 0) {
    const int64_t per_cpu = (task.mem_per_rank_mb + task.cores_per_rank - 1) / task.cores_per_rank;
    spec.argv.push_back("--mem-per-cpu=" + std::to_string(per_cpu));
  } else {
    spec.argv.push_back("--mem=0");
  }
  spec.argv.push_back("--kill-on-bad-exit=1");
  spec.argv.push_back("--export=ALL");
  spec.argv.push_back(script);
  std::vector<std::string> argv = TaskArgv(task);
  spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  return spec;
}

}  // namespace

LaunchMethod ResolveLaunchMethod(const TaskDescription& task) {
  if (task.launch != LaunchMethod::kAuto) return task.launch;
  return task.ranks > 1 ? LaunchMethod::kMpirun : LaunchMethod::kFork;
}

Result<ProcessSpec> BuildLaunch(const TaskDescription& task, const Placement& placement,
                                const LaunchContext& context, const std::string& workdir) {
  if (context.resources == nullptr) {
    return Status::InvalidArgument("task '", task.uid, "': launch context has no resources");
  }
  if (task.executable.empty()) {
    return Status::InvalidArgument("task '", task.uid, "': executable is empty");
  }
  if (task.ranks < 1) {
    return Status::InvalidArgument("task '", task.uid, "': ranks must be >= 1, got ", task.ranks);
  }
  DRC_ASSIGN_OR_RETURN(LaunchPlan plan, MakePlan(task, placement, *context.resources));

  ProcessSpec spec;
  spec.cwd = task.workdir.empty() ? workdir : task.workdir;
  spec.stdout_path = task.stdout_path;
  spec.stderr_path = task.stderr_path;
  spec.timeout_s = task.timeout_s;
  switch (ResolveLaunchMethod(task)) {
    case LaunchMethod::kFork: return BuildFork(task, plan, context, std::move(spec));
    case LaunchMethod::kMpirun: return BuildMpirun(task, plan, context, workdir, std::move(spec));
    case LaunchMethod::kSrun: return BuildSrun(task, plan, context, workdir, std::move(spec));
    case LaunchMethod::kAuto: break;
  }
  return Status::Internal("task '", task.uid, "': unresolved launch method");
}

}  // namespace drc::runtime
