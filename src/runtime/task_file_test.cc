#include "drc/runtime/task_file.h"

#include <gtest/gtest.h>

namespace drc::runtime {
namespace {

TEST(TaskFile, ParsesPilotTasksReplicasAndDependencies) {
  auto f = ParseTaskFile(R"(
pilot: {nodes: 2, cores: 4, gpus: 1}
workdir: out
tasks:
  - uid: prep
    executable: /bin/echo
    arguments: [hello, "two words"]
    count: 3
    environment: {A: "1"}
    input_staging: [in.txt, {source: a, target: b/c, action: link}]
  - uid: train
    executable: train.sh
    ranks: 2
    cores_per_rank: 2
    gpus_per_rank: 1
    depends_on: prep
    timeout: 2.5
    launch: mpirun
    framework_env: true
)",
                         "t.yaml");
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE(f->resources.has_value());
  EXPECT_EQ(f->resources->nodes.size(), 2u);
  EXPECT_EQ(f->resources->total_gpus(), 2);
  EXPECT_EQ(f->workdir, "out");
  ASSERT_EQ(f->tasks.size(), 4u);
  EXPECT_EQ(f->tasks[0].uid, "prep.0");
  EXPECT_EQ(f->tasks[2].uid, "prep.2");
  EXPECT_EQ(f->tasks[1].arguments, (std::vector<std::string>{"hello", "two words"}));
  EXPECT_EQ(f->tasks[0].environment.at("A"), "1");
  ASSERT_EQ(f->tasks[0].input_staging.size(), 2u);
  EXPECT_EQ(f->tasks[0].input_staging[1].action, StagingAction::kLink);
  const auto& train = f->tasks[3];
  EXPECT_EQ(train.depends_on, (std::vector<std::string>{"prep.0", "prep.1", "prep.2"}));
  EXPECT_EQ(train.launch, LaunchMethod::kMpirun);
  EXPECT_DOUBLE_EQ(train.timeout_s, 2.5);
  EXPECT_TRUE(train.framework_env);
}

void ExpectError(const char* yaml, const char* where, const char* what) {
  auto f = ParseTaskFile(yaml, "bad.yaml");
  ASSERT_FALSE(f.ok()) << yaml;
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find(where), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find(what), std::string::npos) << f.status().message();
}

TEST(TaskFile, MalformedYamlGivesLineAndColumn) {
  ExpectError("tasks:\n  - uid: a\n    executable: [unclosed\n", "bad.yaml:", "malformed YAML");
  ExpectError("tasks:\n  - uid: a\n   executable: x\n  bad", "bad.yaml:", "malformed YAML");
}

TEST(TaskFile, UnknownFieldSuggestsTheClosest) {
  ExpectError("tasks:\n  - uid: a\n    executable: x\n    rnaks: 2\n", "bad.yaml:4:5",
              "unknown field 'rnaks' in task (did you mean 'ranks'?)");
  ExpectError("pilot: {cores: 2, gpu: 1}\ntasks: []\n", "bad.yaml:1:19", "did you mean 'gpus'?");
}

TEST(TaskFile, BadValuesNameTheField) {
  ExpectError("tasks:\n  - uid: a\n    executable: x\n    ranks: many\n", "bad.yaml:4:12",
              "field 'ranks' expects an integer, got 'many'");
  ExpectError("tasks:\n  - uid: a\n    executable: x\n    ranks: 0\n", "bad.yaml:2:5",
              "ranks must be >= 1, got 0");
  ExpectError("tasks:\n  - uid: a\n    executable: x\n    ranks: -2\n", "bad.yaml:2:5",
              "ranks must be >= 1, got -2");
  ExpectError("tasks:\n  - uid: a\n    executable: x\n    launch: ssh\n", "bad.yaml:4:13",
              "unknown launch method 'ssh'");
  ExpectError("tasks:\n  - uid: a\n", "bad.yaml:2:5", "executable (or function) is required");
  ExpectError("pilot: {cores: 0}\ntasks: []\n", "bad.yaml:1:16", "pilot cores must be >= 1");
}

TEST(TaskFile, StructureErrors) {
  ExpectError("", "bad.yaml", "empty");
  ExpectError("pilot: {cores: 1}\n", "bad.yaml", "no 'tasks' list");
  ExpectError("tasks: {a: 1}\n", "bad.yaml:1:8", "'tasks' must be a list");
  ExpectError("task:\n  - uid: a\n", "bad.yaml:1:1", "did you mean 'tasks'?");
}

TEST(TaskFile, MissingFile) {
  auto f = LoadTaskFile("/nonexistent/tasks.yaml");
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("/nonexistent/tasks.yaml"), std::string::npos);
}

}  // namespace
}  // namespace drc::runtime
