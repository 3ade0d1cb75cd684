// Tests of the launch methods: command lines and environments, and real runs of what they
// build (fork, the pre/post wrapper, the per-rank launch script, mpirun with 2 ranks).
#include "drc/runtime/launch.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace drc::runtime {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(line);
  return lines;
}

// "K=V" entries as a map (the last one wins, as for getenv).
std::map<std::string, std::string> EnvMap(const std::vector<std::string>& env) {
  std::map<std::string, std::string> m;
  for (const std::string& kv : env) {
    size_t eq = kv.find('=');
    m[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return m;
}

size_t CountKey(const std::vector<std::string>& env, const std::string& key) {
  return std::count_if(env.begin(), env.end(),
                       [&](const std::string& kv) { return kv.rfind(key + "=", 0) == 0; });
}

NodeSpec Node(std::string name, int cores, int gpus, std::vector<std::string> gpu_ids = {}) {
  NodeSpec node;
  node.name = std::move(name);
  node.cores = cores;
  node.gpus = gpus;
  node.gpu_ids = std::move(gpu_ids);
  return node;
}

RankPlacement Rank(int node, std::vector<int32_t> cores, std::vector<int32_t> gpus = {}) {
  RankPlacement rp;
  rp.node = node;
  rp.cores = std::move(cores);
  rp.gpus = std::move(gpus);
  return rp;
}

// Runs a ProcessSpec to completion with a ProcessManager.
ProcessExit RunToEnd(const ProcessSpec& spec) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  ProcessExit result;
  auto pm = ProcessManager::Make([&](uint64_t, const ProcessExit& exit) {
    std::lock_guard<std::mutex> lock(mu);
    result = exit;
    done = true;
    cv.notify_all();
  });
  EXPECT_TRUE(pm.ok());
  auto spawned = (*pm)->Spawn(1, spec);
  EXPECT_TRUE(spawned.ok()) << spawned.status();
  if (!spawned.ok()) return result;
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; }));
  return result;
}

class LaunchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "drc_launch_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    const char* path = getenv("PATH");
    context_.base_env = {std::string("PATH=") + (path != nullptr ? path : "/usr/bin:/bin"),
                         "HOME=/root", "FROM_BASE=base"};
    context_.resources = &resources_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  TaskDescription Task(std::string uid) {
    TaskDescription task;
    task.uid = std::move(uid);
    task.workdir = dir_;
    task.stdout_path = dir_ + "/" + task.uid + ".out";
    task.stderr_path = dir_ + "/" + task.uid + ".err";
    return task;
  }

  std::string dir_;
  ResourceSpec resources_;
  LaunchContext context_;
};

TEST_F(LaunchTest, ResolveLaunchMethod) {
  TaskDescription task;
  EXPECT_EQ(ResolveLaunchMethod(task), LaunchMethod::kFork);
  task.ranks = 2;
  EXPECT_EQ(ResolveLaunchMethod(task), LaunchMethod::kMpirun);
  task.launch = LaunchMethod::kSrun;
  EXPECT_EQ(ResolveLaunchMethod(task), LaunchMethod::kSrun);
  task.ranks = 1;
  task.launch = LaunchMethod::kMpirun;
  EXPECT_EQ(ResolveLaunchMethod(task), LaunchMethod::kMpirun);
}

TEST_F(LaunchTest, ForkArgvAndEnvironment) {
  resources_.nodes = {Node("localhost", 4, 0)};
  TaskDescription task = Task("t1");
  task.executable = "/bin/echo";
  task.arguments = {"a b", "$HOME", "'q'"};
  task.environment = {{"FROM_BASE", "task"}, {"MINE", "x=y"}};
  task.cores_per_rank = 3;
  task.timeout_s = 5;
  Placement placement{{Rank(0, {0, 1, 2})}};
  auto spec = BuildLaunch(task, placement, context_, dir_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/echo", "a b", "$HOME", "'q'"}));
  EXPECT_EQ(spec->cwd, dir_);
  EXPECT_EQ(spec->stdout_path, dir_ + "/t1.out");
  EXPECT_EQ(spec->stderr_path, dir_ + "/t1.err");
  EXPECT_EQ(spec->timeout_s, 5);
  auto env = EnvMap(spec->env);
  EXPECT_EQ(env["FROM_BASE"], "task");
  EXPECT_EQ(CountKey(spec->env, "FROM_BASE"), 1u);
  EXPECT_EQ(env["MINE"], "x=y");
  EXPECT_EQ(env["HOME"], "/root");
  EXPECT_EQ(env["DRC_TASK_ID"], "t1");
  EXPECT_EQ(env["DRC_RANK"], "0");
  EXPECT_EQ(env["DRC_RANKS"], "1");
  EXPECT_EQ(env["DRC_NODE"], "localhost");
  EXPECT_EQ(env["OMP_NUM_THREADS"], "3");
  EXPECT_EQ(env.count("CUDA_VISIBLE_DEVICES"), 0u);  // the pilot has no GPUs
  EXPECT_EQ(env.count("MASTER_ADDR"), 0u);
  EXPECT_EQ(env.count("TF_CONFIG"), 0u);
  EXPECT_FALSE(fs::exists(dir_ + "/t1.launch.sh"));

  // For real: the arguments arrive unchanged.
  ProcessExit exit = RunToEnd(*spec);
  EXPECT_TRUE(exit.ok()) << exit.Describe();
  EXPECT_EQ(ReadFile(dir_ + "/t1.out"), "a b $HOME 'q'\n");

  task.threads_per_rank = 7;
  spec = BuildLaunch(task, placement, context_, dir_);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(EnvMap(spec->env)["OMP_NUM_THREADS"], "7");
}

TEST_F(LaunchTest, ForkShellCommand) {
  resources_.nodes = {Node("localhost", 4, 0)};
  TaskDescription task = Task("sh1");
  task.shell = true;
  task.executable = "echo \"$DRC_TASK_ID\" | tr a-z A-Z";
  auto spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->argv, (std::vector<std::string>{"/bin/sh", "-c", task.executable}));
  ProcessExit exit = RunToEnd(*spec);
  EXPECT_TRUE(exit.ok());
  EXPECT_EQ(ReadFile(dir_ + "/sh1.out"), "SH1\n");
}

TEST_F(LaunchTest, BadInputs) {
  resources_.nodes = {Node("localhost", 4, 0)};
  TaskDescription task = Task("bad");
  task.executable = "/bin/true";
  task.ranks = 2;
  task.launch = LaunchMethod::kFork;
  Placement two{{Rank(0, {0}), Rank(0, {1})}};
  auto spec = BuildLaunch(task, two, context_, dir_);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find("launch method fork runs one rank; use mpirun or srun"),
            std::string::npos)
      << spec.status();

  task.launch = LaunchMethod::kMpirun;
  spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("placement has 1 ranks but the task asks for 2"),
            std::string::npos)
      << spec.status();

  spec = BuildLaunch(task, Placement{{Rank(0, {0}), Rank(3, {0})}}, context_, dir_);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("node 3"), std::string::npos) << spec.status();

  resources_.nodes.push_back(Node("n1", 4, 0));
  task.ranks = 3;
  spec = BuildLaunch(task, Placement{{Rank(0, {0}), Rank(1, {0}), Rank(0, {1})}}, context_, dir_);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("not adjacent"), std::string::npos) << spec.status();

  LaunchContext no_resources;
  task.ranks = 1;
  spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, no_resources, dir_);
  EXPECT_FALSE(spec.ok());
}

TEST_F(LaunchTest, PrePostWrapperKeepsArguments) {
  resources_.nodes = {Node("localhost", 4, 0)};
  TaskDescription task = Task("wrap");
  task.executable = "/bin/sh";
  task.arguments = {"-c",         "for a in \"$@\"; do echo \"[$a]\"; done",
                    "argv0",      "two words",
                    "  spaced  ", "*",
                    "$(echo no)", "it's"};
  task.pre_exec = {"echo pre > pre.txt", "export FROM_PRE=yes"};
  task.post_exec = {"echo \"post $FROM_PRE\" > post.txt"};
  auto spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_GE(spec->argv.size(), 4u);
  EXPECT_EQ(spec->argv[0], "/bin/sh");
  EXPECT_EQ(spec->argv[1], "-c");
  ProcessExit exit = RunToEnd(*spec);
  EXPECT_TRUE(exit.ok()) << exit.Describe() << " " << ReadFile(dir_ + "/wrap.err");
  EXPECT_EQ(ReadFile(dir_ + "/wrap.out"), "[two words]\n[  spaced  ]\n[*]\n[$(echo no)]\n[it's]\n");
  EXPECT_EQ(ReadFile(dir_ + "/pre.txt"), "pre\n");
  EXPECT_EQ(ReadFile(dir_ + "/post.txt"), "post yes\n");

  // A failing task keeps its exit code and skips post_exec.
  fs::remove(dir_ + "/post.txt");
  task.arguments = {"-c", "exit 4"};
  spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  exit = RunToEnd(*spec);
  EXPECT_EQ(exit.exit_code, 4);
  EXPECT_FALSE(fs::exists(dir_ + "/post.txt"));

  // A failing pre_exec line stops before the task.
  task.pre_exec = {"false", "echo should-not-run > pre2.txt"};
  task.arguments = {"-c", "echo ran > ran.txt"};
  spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  exit = RunToEnd(*spec);
  EXPECT_EQ(exit.exit_code, 1);
  EXPECT_FALSE(fs::exists(dir_ + "/pre2.txt"));
  EXPECT_FALSE(fs::exists(dir_ + "/ran.txt"));

  // A failing post_exec line fails the task.
  task.pre_exec.clear();
  task.post_exec = {"exit 9"};
  spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  exit = RunToEnd(*spec);
  EXPECT_EQ(exit.exit_code, 9);
}

TEST_F(LaunchTest, GpuBindingPerRank) {
  resources_.nodes = {Node("gpu0", 8, 3, {"3", "5", "7"}), Node("gpu1", 8, 2)};
  TaskDescription task = Task("g");
  task.executable = "/bin/true";
  task.gpus_per_rank = 2;
  auto spec = BuildLaunch(task, Placement{{Rank(0, {0}, {1, 2})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(EnvMap(spec->env)["CUDA_VISIBLE_DEVICES"], "5,7");
  spec = BuildLaunch(task, Placement{{Rank(1, {0}, {0, 1})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(EnvMap(spec->env)["CUDA_VISIBLE_DEVICES"], "0,1");
  EXPECT_EQ(EnvMap(spec->env)["DRC_NODE"], "gpu1");

  // A CPU task on a GPU pilot sees no GPU.
  task.gpus_per_rank = 0;
  spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  auto env = EnvMap(spec->env);
  ASSERT_EQ(env.count("CUDA_VISIBLE_DEVICES"), 1u);
  EXPECT_EQ(env["CUDA_VISIBLE_DEVICES"], "");

  // Three ranks over two nodes: each rank gets its own GPU through the launch script.
  task.ranks = 3;
  task.gpus_per_rank = 1;
  Placement three{{Rank(0, {0}, {0}), Rank(0, {1}, {2}), Rank(1, {0}, {1})}};
  spec = BuildLaunch(task, three, context_, dir_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::string script = dir_ + "/g.launch.sh";
  for (int r = 0; r < 3; ++r) {
    ProcessSpec probe;
    probe.argv = {script, "/bin/sh", "-c", "echo \"$DRC_RANK $DRC_NODE $CUDA_VISIBLE_DEVICES\""};
    probe.env = spec->env;
    probe.env.push_back("OMPI_COMM_WORLD_RANK=" + std::to_string(r));
    probe.cwd = dir_;
    probe.stdout_path = dir_ + "/probe.out";
    ProcessExit exit = RunToEnd(probe);
    EXPECT_TRUE(exit.ok()) << exit.Describe();
    const char* expected[] = {"0 gpu0 3\n", "1 gpu0 7\n", "2 gpu1 1\n"};
    EXPECT_EQ(ReadFile(probe.stdout_path), expected[r]);
  }
}

TEST_F(LaunchTest, FrameworkEnvironmentAndTfConfig) {
  resources_.nodes = {Node("localhost", 4, 0)};
  TaskDescription task = Task("fw1");
  task.executable = "/bin/true";
  task.framework_env = true;
  task.tf_config = true;
  context_.master_port = 29600;
  auto spec = BuildLaunch(task, Placement{{Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  auto env = EnvMap(spec->env);
  EXPECT_EQ(env["MASTER_ADDR"], "127.0.0.1");
  EXPECT_EQ(env["MASTER_PORT"], "29600");
  EXPECT_EQ(env["RANK"], "0");
  EXPECT_EQ(env["WORLD_SIZE"], "1");
  EXPECT_EQ(env["LOCAL_RANK"], "0");
  EXPECT_EQ(env["LOCAL_WORLD_SIZE"], "1");
  EXPECT_EQ(env["TF_CONFIG"],
            R"({"cluster":{"worker":["127.0.0.1:29601"]},"task":{"type":"worker","index":0}})");

  // Two ranks on two nodes, through the launch script.
  resources_.nodes = {Node("nodeA", 4, 0), Node("nodeB", 4, 0)};
  task.uid = "fw2";
  task.ranks = 2;
  spec = BuildLaunch(task, Placement{{Rank(0, {0}), Rank(1, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  env = EnvMap(spec->env);
  EXPECT_EQ(env["MASTER_ADDR"], "nodeA");
  EXPECT_EQ(env["WORLD_SIZE"], "2");
  for (int r = 0; r < 2; ++r) {
    ProcessSpec probe;
    probe.argv = {dir_ + "/fw2.launch.sh", "/bin/sh", "-c",
                  "echo \"$RANK $LOCAL_RANK $LOCAL_WORLD_SIZE $WORLD_SIZE $MASTER_ADDR:"
                  "$MASTER_PORT\"; echo \"$TF_CONFIG\""};
    probe.env = spec->env;
    probe.env.push_back("OMPI_COMM_WORLD_RANK=" + std::to_string(r));
    probe.cwd = dir_;
    probe.stdout_path = dir_ + "/probe.out";
    ProcessExit exit = RunToEnd(probe);
    EXPECT_TRUE(exit.ok()) << exit.Describe();
    EXPECT_EQ(
        ReadFile(probe.stdout_path),
        std::to_string(r) + " 0 1 2 nodeA:29600\n" +
            R"({"cluster":{"worker":["nodeA:29601","nodeB:29602"]},"task":{"type":"worker","index":)" +
            std::to_string(r) + "}}\n");
  }
}

TEST_F(LaunchTest, MpirunArgvAndScript) {
  resources_.nodes = {Node("localhost", 2, 0)};
  TaskDescription task = Task("mpi");
  task.executable = "/bin/echo";
  task.arguments = {"x y"};
  task.ranks = 2;
  task.environment = {{"MINE", "1"}};
  context_.as_root = true;
  context_.mpirun = "/usr/bin/mpirun";
  auto spec = BuildLaunch(task, Placement{{Rank(0, {0}), Rank(0, {1})}}, context_, dir_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::string script = dir_ + "/mpi.launch.sh";
  std::vector<std::string> expected = {"/usr/bin/mpirun",
                                       "-np",
                                       "2",
                                       "--host",
                                       "localhost:2",
                                       "--map-by",
                                       "slot",
                                       "--bind-to",
                                       "none",
                                       "--allow-run-as-root",
                                       "-x",
                                       "DRC_TASK_ID",
                                       "-x",
                                       "DRC_RANKS",
                                       "-x",
                                       "OMP_NUM_THREADS",
                                       "-x",
                                       "MINE",
                                       script,
                                       "/bin/echo",
                                       "x y"};
  EXPECT_EQ(spec->argv, expected);
  EXPECT_EQ(fs::status(script).permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                fs::perms::others_read | fs::perms::others_exec);
  std::string text = ReadFile(script);
  EXPECT_EQ(text.rfind("#!/bin/sh\n", 0), 0u);
  EXPECT_NE(text.find("r=${OMPI_COMM_WORLD_RANK:?"), std::string::npos) << text;
  EXPECT_NE(text.find("  0) export DRC_NODE='localhost' ;;\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  1) export DRC_NODE='localhost' ;;\n"), std::string::npos) << text;
  EXPECT_NE(text.find("exec \"$@\"\n"), std::string::npos) << text;
  auto env = EnvMap(spec->env);
  EXPECT_EQ(env["DRC_RANKS"], "2");
  EXPECT_EQ(env["MINE"], "1");
  EXPECT_EQ(env.count("DRC_RANK"), 0u);  // per rank: set by the script

  // Hosts in placement order with their rank counts.
  resources_.nodes = {Node("n0", 4, 0), Node("n1", 4, 0)};
  task.ranks = 3;
  spec = BuildLaunch(task, Placement{{Rank(1, {0}), Rank(1, {1}), Rank(0, {0})}}, context_, dir_);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->argv[4], "n1:2,n0:1");
}

TEST_F(LaunchTest, MpirunTwoRanksForReal) {
  if (system("command -v mpirun > /dev/null 2>&1") != 0) GTEST_SKIP() << "no mpirun";
  resources_.nodes = {Node("localhost", 2, 0)};
  context_.base_env.push_back("OMPI_ALLOW_RUN_AS_ROOT=1");
  context_.base_env.push_back("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1");
  context_.base_env.push_back("OMPI_MCA_btl=self,vader");
  context_.as_root = getuid() == 0;
  TaskDescription task = Task("mpi2");
  task.executable = "/bin/sh";
  task.arguments = {"-c",
                    "echo \"rank=$DRC_RANK/$DRC_RANKS RANK=$RANK local=$LOCAL_RANK "
                    "node=$DRC_NODE task=$DRC_TASK_ID mine=$MINE arg=[$1]\"",
                    "sh", "two words"};
  task.ranks = 2;
  task.framework_env = true;
  task.environment = {{"MINE", "m v"}};
  task.pre_exec = {"echo \"pre $DRC_RANK\" >&2"};
  auto spec = BuildLaunch(task, Placement{{Rank(0, {0}), Rank(0, {1})}}, context_, dir_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ProcessExit exit = RunToEnd(*spec);
  std::string out = ReadFile(task.stdout_path);
  std::string err = ReadFile(task.stderr_path);
  ASSERT_TRUE(exit.ok()) << exit.Describe() << "\nstdout:\n" << out << "\nstderr:\n" << err;
  std::vector<std::string> lines = Lines(out);
  std::set<std::string> got(lines.begin(), lines.end());
  std::set<std::string> want = {
      "rank=0/2 RANK=0 local=0 node=localhost task=mpi2 mine=m v arg=[two words]",
      "rank=1/2 RANK=1 local=1 node=localhost task=mpi2 mine=m v arg=[two words]"};
  EXPECT_EQ(got, want) << out;
  EXPECT_NE(err.find("pre 0"), std::string::npos) << err;
  EXPECT_NE(err.find("pre 1"), std::string::npos) << err;
}

TEST_F(LaunchTest, SrunArgvAndScript) {
  resources_.nodes = {Node("c001", 8, 4), Node("c002", 8, 4)};
  TaskDescription task = Task("s");
  task.executable = "./train";
  task.arguments = {"--epochs", "3"};
  task.ranks = 3;
  task.cores_per_rank = 2;
  task.gpus_per_rank = 1;
  task.launch = LaunchMethod::kSrun;
  Placement placement{{Rank(0, {0, 1}, {0}), Rank(0, {2, 3}, {1}), Rank(1, {0, 1}, {3})}};
  auto spec = BuildLaunch(task, placement, context_, dir_);
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::string script = dir_ + "/s.launch.sh";
  std::vector<std::string> expected = {"srun",
                                       "--nodes=2",
                                       "--ntasks=3",
                                       "--nodelist=c001,c002",
                                       "--cpus-per-task=2",
                                       "--gpus-per-task=1",
                                       "--mem=0",
                                       "--kill-on-bad-exit=1",
                                       "--export=ALL",
                                       script,
                                       "./train",
                                       "--epochs",
                                       "3"};
  EXPECT_EQ(spec->argv, expected);
  std::string text = ReadFile(script);
  EXPECT_NE(text.find("r=${SLURM_PROCID:?"), std::string::npos) << text;
  EXPECT_NE(text.find("  0) export DRC_NODE='c001' CUDA_VISIBLE_DEVICES='0' ;;"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  1) export DRC_NODE='c001' CUDA_VISIBLE_DEVICES='1' ;;"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  2) export DRC_NODE='c002' CUDA_VISIBLE_DEVICES='3' ;;"), std::string::npos)
      << text;
  // The script rejects a rank the placement does not know.
  ProcessSpec probe;
  probe.argv = {script, "/bin/true"};
  probe.env = {"SLURM_PROCID=5"};
  probe.cwd = dir_;
  probe.stderr_path = dir_ + "/probe.err";
  ProcessExit exit = RunToEnd(probe);
  EXPECT_EQ(exit.exit_code, 127);
  EXPECT_NE(ReadFile(probe.stderr_path).find("unexpected rank 5"), std::string::npos);
}

}  // namespace
}  // namespace drc::runtime
