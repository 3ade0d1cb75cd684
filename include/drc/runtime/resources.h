// Resources of a pilot: the nodes it holds and what each offers.
//
// A ResourceSpec is plain data: detected from the local machine, read from a Slurm allocation's
// environment, or described explicitly (tests, and simulating large machines).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "drc/common/result.h"

namespace drc::runtime {

struct NodeSpec {
  std::string name;    // host name used by launch methods ("localhost" for the local pilot)
  int cores = 0;       // schedulable cores
  int gpus = 0;        // schedulable GPUs; ids are 0..gpus-1 unless gpu_ids is set
  int64_t mem_mb = 0;  // schedulable memory in MiB; 0 = not tracked
  // Physical GPU ids to put in CUDA_VISIBLE_DEVICES (e.g. from the parent's
  // CUDA_VISIBLE_DEVICES); empty = 0..gpus-1.
  std::vector<std::string> gpu_ids;
};

struct ResourceSpec {
  std::vector<NodeSpec> nodes;

  int64_t total_cores() const;
  int64_t total_gpus() const;
  // "3 nodes x 128 cores, 8 GPUs, 512000 MiB" (uniform) or a per-node summary.
  std::string ToString() const;
};

// `nodes` identical nodes named "<prefix>0000", "<prefix>0001", ...
ResourceSpec UniformResources(int nodes, int cores, int gpus, int64_t mem_mb,
                              std::string_view prefix = "node");

// This machine: cores from the CPU affinity mask, memory from /proc/meminfo, GPUs from
// CUDA_VISIBLE_DEVICES when set, else from `nvidia-smi -L` when present, else none.
Result<ResourceSpec> DetectLocalResources();

// A Slurm allocation from its environment (pass the process environment or a test map):
// SLURM_JOB_NODELIST (or SLURM_NODELIST), SLURM_CPUS_ON_NODE / SLURM_JOB_CPUS_PER_NODE,
// SLURM_GPUS_ON_NODE, SLURM_MEM_PER_NODE. Errors name the variable.
Result<ResourceSpec> ResourcesFromSlurm(const std::map<std::string, std::string>& env);

// Expands a Slurm host list: "node[01-03,07],gpu5" -> node01 node02 node03 node07 gpu5.
Result<std::vector<std::string>> ExpandHostList(std::string_view list);

}  // namespace drc::runtime
