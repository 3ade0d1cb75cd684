#include "drc/runtime/resources.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace drc::runtime {

// Parsers private to resources.cc, declared here to be tested without a GPU machine.
namespace internal {
std::vector<std::string> ParseCudaVisibleDevices(std::string_view value);
std::vector<std::string> ParseNvidiaSmiList(std::string_view text);
}  // namespace internal

namespace {

using Hosts = std::vector<std::string>;

Hosts Expand(std::string_view list) {
  auto r = ExpandHostList(list);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : Hosts{};
}

std::string ExpandError(std::string_view list) {
  auto r = ExpandHostList(list);
  EXPECT_FALSE(r.ok()) << "\"" << list << "\" expanded";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.ok() ? "" : r.status().message();
}

TEST(ExpandHostListTest, PlainNames) {
  EXPECT_EQ(Expand("node1"), Hosts({"node1"}));
  EXPECT_EQ(Expand("a,b,c"), Hosts({"a", "b", "c"}));
}

TEST(ExpandHostListTest, RangesKeepZeroPadding) {
  EXPECT_EQ(Expand("n[008-011]"), Hosts({"n008", "n009", "n010", "n011"}));
  EXPECT_EQ(Expand("n[8-11]"), Hosts({"n8", "n9", "n10", "n11"}));
  EXPECT_EQ(Expand("node[01-03,07],gpu5"), Hosts({"node01", "node02", "node03", "node07", "gpu5"}));
  EXPECT_EQ(Expand("a[1-2,5]"), Hosts({"a1", "a2", "a5"}));
  EXPECT_EQ(Expand("x[3]"), Hosts({"x3"}));
}

TEST(ExpandHostListTest, SeveralGroupsAndSuffixes) {
  EXPECT_EQ(Expand("r[1-2]n[1-2]"), Hosts({"r1n1", "r1n2", "r2n1", "r2n2"}));
  EXPECT_EQ(Expand("c[1-2]-ib,d"), Hosts({"c1-ib", "c2-ib", "d"}));
}

TEST(ExpandHostListTest, ErrorsNameThePosition) {
  EXPECT_NE(ExpandError("n[1-3").find("unbalanced '[' at position 1"), std::string::npos);
  EXPECT_NE(ExpandError("n1-3]").find("unbalanced ']' at position 4"), std::string::npos);
  EXPECT_NE(ExpandError("n[5-3]").find("reversed range \"5-3\" at position 2"), std::string::npos);
  EXPECT_NE(ExpandError("a,,b").find("empty host name at position 2"), std::string::npos);
  EXPECT_NE(ExpandError("a,").find("empty host name at position 2"), std::string::npos);
  EXPECT_NE(ExpandError("n[1,,2]").find("empty range at position 4"), std::string::npos);
  EXPECT_NE(ExpandError("n[a-b]").find("bad range \"a-b\""), std::string::npos);
  EXPECT_NE(ExpandError("n[1-]").find("bad range"), std::string::npos);
  EXPECT_NE(ExpandError("").find("empty host list"), std::string::npos);
  EXPECT_NE(ExpandError("n[0-99999999]").find("more than"), std::string::npos);
}

TEST(ResourcesFromSlurmTest, UniformAllocation) {
  auto r = ResourcesFromSlurm({{"SLURM_JOB_NODELIST", "c[01-03]"},
                               {"SLURM_CPUS_ON_NODE", "48"},
                               {"SLURM_GPUS_ON_NODE", "4"},
                               {"SLURM_MEM_PER_NODE", "192000"}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->nodes.size(), 3u);
  EXPECT_EQ(r->nodes[0].name, "c01");
  EXPECT_EQ(r->nodes[2].name, "c03");
  for (const auto& n : r->nodes) {
    EXPECT_EQ(n.cores, 48);
    EXPECT_EQ(n.gpus, 4);
    EXPECT_EQ(n.mem_mb, 192000);
  }
  EXPECT_EQ(r->total_cores(), 144);
  EXPECT_EQ(r->total_gpus(), 12);
  EXPECT_EQ(r->ToString(), "3 nodes x 48 cores, 4 GPUs, 192000 MiB");
}

TEST(ResourcesFromSlurmTest, CpusPerNodeRepeatForm) {
  auto r =
      ResourcesFromSlurm({{"SLURM_NODELIST", "a[1-3]"}, {"SLURM_JOB_CPUS_PER_NODE", "4(x2),2"}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->nodes.size(), 3u);
  EXPECT_EQ(r->nodes[0].cores, 4);
  EXPECT_EQ(r->nodes[1].cores, 4);
  EXPECT_EQ(r->nodes[2].cores, 2);
  EXPECT_EQ(r->nodes[2].gpus, 0);
  EXPECT_EQ(r->nodes[2].mem_mb, 0);
  EXPECT_EQ(r->total_cores(), 10);
  EXPECT_NE(r->ToString().find("3 nodes, 10 cores"), std::string::npos) << r->ToString();
}

TEST(ResourcesFromSlurmTest, ErrorsNameTheVariableAndValue) {
  auto missing = ResourcesFromSlurm({{"SLURM_CPUS_ON_NODE", "4"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("SLURM_JOB_NODELIST"), std::string::npos);

  auto bad_cpus = ResourcesFromSlurm({{"SLURM_JOB_NODELIST", "a1"}, {"SLURM_CPUS_ON_NODE", "x"}});
  ASSERT_FALSE(bad_cpus.ok());
  EXPECT_NE(bad_cpus.status().message().find("SLURM_CPUS_ON_NODE=\"x\""), std::string::npos);

  auto bad_rep =
      ResourcesFromSlurm({{"SLURM_JOB_NODELIST", "a[1-2]"}, {"SLURM_JOB_CPUS_PER_NODE", "4(2)"}});
  ASSERT_FALSE(bad_rep.ok());
  EXPECT_NE(bad_rep.status().message().find("SLURM_JOB_CPUS_PER_NODE=\"4(2)\""), std::string::npos)
      << bad_rep.status();

  auto count =
      ResourcesFromSlurm({{"SLURM_JOB_NODELIST", "a[1-2]"}, {"SLURM_JOB_CPUS_PER_NODE", "4(x3)"}});
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.status().message().find("describes 3 nodes"), std::string::npos);

  auto bad_gpus = ResourcesFromSlurm(
      {{"SLURM_JOB_NODELIST", "a1"}, {"SLURM_CPUS_ON_NODE", "4"}, {"SLURM_GPUS_ON_NODE", "-2"}});
  ASSERT_FALSE(bad_gpus.ok());
  EXPECT_NE(bad_gpus.status().message().find("SLURM_GPUS_ON_NODE=\"-2\""), std::string::npos);

  auto bad_mem = ResourcesFromSlurm(
      {{"SLURM_JOB_NODELIST", "a1"}, {"SLURM_CPUS_ON_NODE", "4"}, {"SLURM_MEM_PER_NODE", "10G"}});
  ASSERT_FALSE(bad_mem.ok());
  EXPECT_NE(bad_mem.status().message().find("SLURM_MEM_PER_NODE=\"10G\""), std::string::npos);

  auto bad_list = ResourcesFromSlurm({{"SLURM_JOB_NODELIST", "a[1-"}, {"SLURM_CPUS_ON_NODE", "4"}});
  ASSERT_FALSE(bad_list.ok());
  EXPECT_NE(bad_list.status().message().find("SLURM_JOB_NODELIST: unbalanced"), std::string::npos)
      << bad_list.status();

  auto no_cpus = ResourcesFromSlurm({{"SLURM_JOB_NODELIST", "a1"}});
  ASSERT_FALSE(no_cpus.ok());
  EXPECT_NE(no_cpus.status().message().find("SLURM_CPUS_ON_NODE"), std::string::npos);
}

TEST(UniformResourcesTest, NamesAndTotals) {
  ResourceSpec spec = UniformResources(3, 8, 2, 1000, "n");
  ASSERT_EQ(spec.nodes.size(), 3u);
  EXPECT_EQ(spec.nodes[0].name, "n0000");
  EXPECT_EQ(spec.nodes[2].name, "n0002");
  EXPECT_EQ(spec.total_cores(), 24);
  EXPECT_EQ(spec.total_gpus(), 6);
  EXPECT_EQ(spec.ToString(), "3 nodes x 8 cores, 2 GPUs, 1000 MiB");
  EXPECT_EQ(UniformResources(1, 1, 0, 0).ToString(), "1 node x 1 core, 0 GPUs");
}

TEST(GpuDetectionTest, CudaVisibleDevices) {
  using internal::ParseCudaVisibleDevices;
  EXPECT_EQ(ParseCudaVisibleDevices("0,1,3"), Hosts({"0", "1", "3"}));
  EXPECT_EQ(ParseCudaVisibleDevices("GPU-abc, GPU-def"), Hosts({"GPU-abc", "GPU-def"}));
  EXPECT_TRUE(ParseCudaVisibleDevices("").empty());
  EXPECT_TRUE(ParseCudaVisibleDevices("-1").empty());
  EXPECT_TRUE(ParseCudaVisibleDevices("NoDevFiles").empty());
  EXPECT_EQ(ParseCudaVisibleDevices("2,-1,3"), Hosts({"2"}));  // CUDA stops at -1
}

TEST(GpuDetectionTest, NvidiaSmiList) {
  const char* text =
      "GPU 0: NVIDIA H200 (UUID: GPU-11111111-2222-3333-4444-555555555555)\n"
      "GPU 1: NVIDIA H200 (UUID: GPU-66666666-2222-3333-4444-555555555555)\n"
      "  MIG 1g.18gb     Device  0: (UUID: MIG-77777777-2222-3333-4444-555555555555)\n";
  EXPECT_EQ(internal::ParseNvidiaSmiList(text), Hosts({"0", "1"}));
  EXPECT_TRUE(internal::ParseNvidiaSmiList("").empty());
  EXPECT_TRUE(internal::ParseNvidiaSmiList("No devices were found\n").empty());
}

TEST(DetectLocalResourcesTest, ThisMachine) {
  const char* old = std::getenv("CUDA_VISIBLE_DEVICES");
  std::string saved = old ? old : "";
  setenv("CUDA_VISIBLE_DEVICES", "0,1", 1);
  auto two = DetectLocalResources();
  setenv("CUDA_VISIBLE_DEVICES", "", 1);
  auto none = DetectLocalResources();
  if (old) {
    setenv("CUDA_VISIBLE_DEVICES", saved.c_str(), 1);
  } else {
    unsetenv("CUDA_VISIBLE_DEVICES");
  }
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->nodes.size(), 1u);
  EXPECT_EQ(two->nodes[0].name, "localhost");
  EXPECT_GE(two->nodes[0].cores, 1);
  EXPECT_GT(two->nodes[0].mem_mb, 0);
  EXPECT_EQ(two->nodes[0].gpus, 2);
  EXPECT_EQ(two->nodes[0].gpu_ids, Hosts({"0", "1"}));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->nodes[0].gpus, 0);
}

}  // namespace
}  // namespace drc::runtime
