// The one adapter between yaml-cpp (which throws) and Status: every yaml-cpp call happens
// inside ParseTaskFile's try block.
#include "drc/runtime/task_file.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "drc/common/files.h"
#include "drc/common/yaml_fields.h"

namespace drc::runtime {
namespace {

class Parser : public YamlFields {
 public:
  using YamlFields::YamlFields;

  Status GetStaging(const YAML::Node& map, const char* key,
                    std::vector<StagingDirective>& out) const {
    const YAML::Node n = map[key];
    if (!n) return Status::OK();
    if (!n.IsSequence()) return Error(n, std::string("field '") + key + "' expects a list");
    for (const auto& item : n) {
      StagingDirective d;
      if (item.IsScalar()) {  // "file" = copy file to the same relative name
        d.source = d.target = item.Scalar();
      } else {
        DRC_RETURN_NOT_OK(CheckKeys(item, {"source", "target", "action"}, key));
        DRC_RETURN_NOT_OK(Get(item, "source", d.source, "a path"));
        d.target = d.source;
        DRC_RETURN_NOT_OK(Get(item, "target", d.target, "a path"));
        std::string action = "copy";
        DRC_RETURN_NOT_OK(Get(item, "action", action, "copy, link or move"));
        if (action == "copy")
          d.action = StagingAction::kCopy;
        else if (action == "link")
          d.action = StagingAction::kLink;
        else if (action == "move")
          d.action = StagingAction::kMove;
        else
          return Error(item["action"],
                       "field 'action' expects copy, link or move, got '" + action + "'");
      }
      if (d.source.empty()) return Error(item, std::string(key) + " entry needs a source");
      out.push_back(std::move(d));
    }
    return Status::OK();
  }

  Status ParsePilot(const YAML::Node& n, TaskFile& out) const {
    DRC_RETURN_NOT_OK(CheckKeys(n, {"nodes", "cores", "gpus", "mem_mb"}, "pilot"));
    int nodes = 1, cores = 0, gpus = 0;
    int64_t mem = 0;
    DRC_RETURN_NOT_OK(Get(n, "nodes", nodes, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "cores", cores, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "gpus", gpus, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "mem_mb", mem, "an integer (MiB)"));
    if (nodes < 1) return Error(n["nodes"] ? n["nodes"] : n, "pilot nodes must be >= 1");
    if (cores < 1) return Error(n["cores"] ? n["cores"] : n, "pilot cores must be >= 1 per node");
    if (gpus < 0) return Error(n["gpus"], "pilot gpus must be >= 0");
    if (mem < 0) return Error(n["mem_mb"], "pilot mem_mb must be >= 0");
    out.resources = nodes == 1 ? UniformResources(1, cores, gpus, mem, "localhost")
                               : UniformResources(nodes, cores, gpus, mem);
    if (nodes == 1) out.resources->nodes[0].name = "localhost";
    return Status::OK();
  }

  Status ParseTask(const YAML::Node& n, std::vector<TaskDescription>& out,
                   std::map<std::string, std::vector<std::string>>& replicas) const {
    static const std::vector<std::string> kKnown = {"uid",
                                                    "name",
                                                    "executable",
                                                    "arguments",
                                                    "function",
                                                    "args",
                                                    "shell",
                                                    "environment",
                                                    "workdir",
                                                    "ranks",
                                                    "cores_per_rank",
                                                    "gpus_per_rank",
                                                    "mem_per_rank",
                                                    "threads_per_rank",
                                                    "pre_exec",
                                                    "post_exec",
                                                    "input_staging",
                                                    "output_staging",
                                                    "stdout",
                                                    "stderr",
                                                    "priority",
                                                    "timeout",
                                                    "retries",
                                                    "colocate",
                                                    "exclusive",
                                                    "depends_on",
                                                    "launch",
                                                    "framework_env",
                                                    "tf_config",
                                                    "count"};
    DRC_RETURN_NOT_OK(CheckKeys(n, kKnown, "task"));
    TaskDescription t;
    DRC_RETURN_NOT_OK(Get(n, "uid", t.uid, "a string"));
    DRC_RETURN_NOT_OK(Get(n, "name", t.name, "a string"));
    DRC_RETURN_NOT_OK(Get(n, "executable", t.executable, "a path or command"));
    DRC_RETURN_NOT_OK(GetList(n, "arguments", t.arguments));
    DRC_RETURN_NOT_OK(Get(n, "shell", t.shell, "true or false"));
    DRC_RETURN_NOT_OK(Get(n, "function", t.function, "a registered function's name"));
    if (const YAML::Node args = n["args"]) {
      if (!args.IsMap()) return Error(args, "field 'args' expects a mapping of names to values");
      if (t.function.empty()) return Error(args, "field 'args' is for function tasks");
      for (const auto& kv : args) {
        if (!kv.second.IsScalar()) return Error(kv.second, "args values must be scalars");
        t.function_args[kv.first.as<std::string>()] = kv.second.Scalar();
      }
    }
    if (const YAML::Node env = n["environment"]) {
      if (!env.IsMap()) return Error(env, "field 'environment' expects a mapping");
      for (const auto& kv : env) {
        if (!kv.second.IsScalar()) return Error(kv.second, "environment values must be scalars");
        t.environment[kv.first.as<std::string>()] = kv.second.Scalar();
      }
    }
    DRC_RETURN_NOT_OK(Get(n, "workdir", t.workdir, "a path"));
    DRC_RETURN_NOT_OK(Get(n, "ranks", t.ranks, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "cores_per_rank", t.cores_per_rank, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "gpus_per_rank", t.gpus_per_rank, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "mem_per_rank", t.mem_per_rank_mb, "an integer (MiB)"));
    DRC_RETURN_NOT_OK(Get(n, "threads_per_rank", t.threads_per_rank, "an integer"));
    DRC_RETURN_NOT_OK(GetList(n, "pre_exec", t.pre_exec));
    DRC_RETURN_NOT_OK(GetList(n, "post_exec", t.post_exec));
    DRC_RETURN_NOT_OK(GetStaging(n, "input_staging", t.input_staging));
    DRC_RETURN_NOT_OK(GetStaging(n, "output_staging", t.output_staging));
    DRC_RETURN_NOT_OK(Get(n, "stdout", t.stdout_path, "a path"));
    DRC_RETURN_NOT_OK(Get(n, "stderr", t.stderr_path, "a path"));
    DRC_RETURN_NOT_OK(Get(n, "priority", t.priority, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "timeout", t.timeout_s, "a number of seconds"));
    DRC_RETURN_NOT_OK(Get(n, "retries", t.retries, "an integer"));
    DRC_RETURN_NOT_OK(Get(n, "colocate", t.colocate, "a tag"));
    DRC_RETURN_NOT_OK(Get(n, "exclusive", t.exclusive, "true or false"));
    DRC_RETURN_NOT_OK(GetList(n, "depends_on", t.depends_on));
    std::string launch = "auto";
    DRC_RETURN_NOT_OK(Get(n, "launch", launch, "auto, fork, mpirun or srun"));
    auto method = ParseLaunchMethod(launch);
    if (!method.ok()) return Error(n["launch"], method.status().message());
    t.launch = *method;
    DRC_RETURN_NOT_OK(Get(n, "framework_env", t.framework_env, "true or false"));
    DRC_RETURN_NOT_OK(Get(n, "tf_config", t.tf_config, "true or false"));
    int count = 1;
    DRC_RETURN_NOT_OK(Get(n, "count", count, "an integer"));
    if (count < 1) return Error(n["count"], "field 'count' must be >= 1");
    if (count > 1 && t.uid.empty()) return Error(n, "a task with count > 1 needs a uid");

    // Field-level validation, reported at the task's position.
    Status valid = Validate(t);
    if (!valid.ok()) return Error(n, valid.message());
    if (count == 1) {
      out.push_back(std::move(t));
      return Status::OK();
    }
    auto& names = replicas[t.uid];
    for (int i = 0; i < count; ++i) {
      TaskDescription r = t;
      r.uid = t.uid + "." + std::to_string(i);
      names.push_back(r.uid);
      out.push_back(std::move(r));
    }
    return Status::OK();
  }
};

}  // namespace

Status ParseRunSettings(const YAML::Node& root, const std::string& file_name, TaskFile& out) {
  Parser p(file_name);
  try {
    if (const YAML::Node pilot = root["pilot"]) DRC_RETURN_NOT_OK(p.ParsePilot(pilot, out));
    DRC_RETURN_NOT_OK(p.Get(root, "workdir", out.workdir, "a path"));
    DRC_RETURN_NOT_OK(p.GetList(root, "worker", out.worker));
    if (root["worker"] && out.worker.empty()) {
      return p.Error(root["worker"], "'worker' names the worker program: [program, args...]");
    }
    if (!out.worker.empty() && out.worker[0].find('/') != std::string::npos &&
        out.worker[0].front() != '/') {
      out.worker[0] = (std::filesystem::path(file_name).parent_path() / out.worker[0]).string();
    }
  } catch (const YAML::Exception& e) {
    return YamlExceptionStatus(file_name, e);
  }
  return Status::OK();
}

Result<std::vector<TaskDescription>> ParseTaskList(const YAML::Node& tasks,
                                                   const std::string& file_name) {
  Parser p(file_name);
  std::vector<TaskDescription> out;
  try {
    if (!tasks.IsSequence()) return p.Error(tasks, "'tasks' must be a list");
    std::map<std::string, std::vector<std::string>> replicas;
    for (const auto& t : tasks) DRC_RETURN_NOT_OK(p.ParseTask(t, out, replicas));
    // A dependency on a replicated uid means all of its replicas.
    for (auto& t : out) {
      std::vector<std::string> deps;
      for (const auto& d : t.depends_on) {
        auto it = replicas.find(d);
        if (it == replicas.end()) {
          deps.push_back(d);
        } else {
          deps.insert(deps.end(), it->second.begin(), it->second.end());
        }
      }
      t.depends_on = std::move(deps);
    }
  } catch (const YAML::Exception& e) {
    return YamlExceptionStatus(file_name, e);
  }
  return out;
}

Result<TaskFile> ParseTaskFile(std::string_view yaml, const std::string& file_name) {
  Parser p(file_name);
  TaskFile out;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root || root.IsNull()) return Status::InvalidArgument(file_name, ": the file is empty");
    DRC_RETURN_NOT_OK(p.CheckKeys(root, {"pilot", "workdir", "worker", "tasks"}, "the task file"));
    DRC_RETURN_NOT_OK(ParseRunSettings(root, file_name, out));
    const YAML::Node tasks = root["tasks"];
    if (!tasks) return p.Error(root, "the task file has no 'tasks' list");
    DRC_ASSIGN_OR_RETURN(out.tasks, ParseTaskList(tasks, file_name));
  } catch (const YAML::Exception& e) {
    return YamlExceptionStatus(file_name, e);
  }
  return out;
}

Result<TaskFile> LoadTaskFile(const std::string& path) {
  DRC_ASSIGN_OR_RETURN(const std::string text, ReadTextFile(path, "task file"));
  return ParseTaskFile(text, path);
}

}  // namespace drc::runtime
