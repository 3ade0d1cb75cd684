// Data-parallel training over a drc communicator (run under mpirun with --backend=mpi or gloo;
// the harness's thread ranks would share libtorch's process-wide seed, so they are skipped).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "src/data/testing/dist_harness.h"
#include "src/dl/data_parallel.h"
#include "src/dl/model.h"
#include "src/dl/trainer.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

using data::testing::ForEachWorld;
using data::testing::HarnessBackend;

constexpr int kInput = 12;
constexpr int kHorizon = 6;

#define SKIP_ON_THREAD_RANKS()                                                        \
  if (HarnessBackend() == "local") {                                                  \
    GTEST_SKIP() << "one trainer per process: run under mpirun (--backend=mpi|gloo)"; \
  }

// Every rank's flattened parameters, gathered; true when all ranks hold the same bits.
bool SameOnEveryRank(comm::Communicator& comm, ForecastModel& model) {
  std::vector<torch::Tensor> flat;
  for (const auto& p : model.parameters()) flat.push_back(p.detach().reshape({-1}));
  auto mine = torch::cat(flat).contiguous();
  const int64_t bytes = mine.numel() * static_cast<int64_t>(sizeof(float));
  std::vector<float> all(static_cast<size_t>(mine.numel()) * comm.size());
  EXPECT_TRUE(comm.AllGather(mine.data_ptr<float>(), bytes, all.data()).ok());
  for (int r = 1; r < comm.size(); ++r) {
    if (std::memcmp(all.data(), all.data() + r * mine.numel(), bytes) != 0) return false;
  }
  return true;
}

TEST(DataParallel, AllReduceAveragesGradientsInBuckets) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    auto& comm = *ctx.comm();
    const int r = comm.rank(), n = comm.size();
    // Tensors of 3, 5, 1000 and 7 floats; bucket of 16 floats: the big one goes alone.
    std::vector<torch::Tensor> params;
    for (int64_t size : {3, 5, 1000, 7}) {
      auto p = torch::zeros({size}, torch::requires_grad());
      p.mutable_grad() = torch::full({size}, static_cast<float>(r + 1));
      params.push_back(p);
    }
    auto unused = torch::zeros({4}, torch::requires_grad());  // no grad on any rank
    params.push_back(unused);
    GradientAllReducer reducer(&comm, /*bucket_bytes=*/16 * sizeof(float));
    double loss = 10.0 * (r + 1);
    auto collectives = reducer.AllReduceGradients(params, &loss);
    ASSERT_TRUE(collectives.ok()) << collectives.status();
    EXPECT_EQ(*collectives, 3);  // {3, 5}, {1000}, {7, 4 + the loss}, also on one rank
    const float mean = (n + 1) / 2.0f;
    for (size_t i = 0; i + 1 < params.size(); ++i) {
      EXPECT_TRUE(torch::allclose(params[i].grad(), torch::full_like(params[i], mean)));
    }
    ASSERT_TRUE(unused.grad().defined());
    EXPECT_EQ(unused.grad().abs().sum().item<float>(), 0.0f);
    EXPECT_DOUBLE_EQ(loss, 10.0 * mean);
  });
}

// Two or more ranks, different seeds, different shards: after data-parallel steps every rank
// holds bit-identical parameters, and they moved from the start.
TEST(DataParallel, ReplicasStayIdentical) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    auto& comm = *ctx.comm();
    std::vector<float> v(300);
    for (int t = 0; t < 300; ++t) v[t] = 3.0f + std::sin(2.0f * static_cast<float>(M_PI) * t / 12);
    for (const std::string name : {"MLP", "NHITS"}) {
      WindowOptions wo;
      wo.input_size = kInput;
      wo.horizon = kHorizon;
      wo.windows_batch_size = 32;
      wo.shard_rank = comm.rank();
      wo.shard_count = comm.size();
      auto data = WindowedDataset::Make(SeriesData{torch::tensor(v), {0, 300}}, wo);
      ASSERT_TRUE(data.ok()) << data.status();
      ModelConfig mc;
      mc.input_size = kInput;
      mc.horizon = kHorizon;
      mc.params = name == "MLP" ? std::map<std::string, double>{{"hidden_size", 32}}
                                : std::map<std::string, double>{{"mlp_units", 16}};
      TrainOptions options;
      options.max_steps = 15;
      options.threads = 1;
      options.grad_clip_norm = 1.0;
      options.seed = 1 + comm.rank();  // replicas start apart; the broadcast aligns them
      options.comm = &comm;
      auto trainer = Trainer::Make(name, mc, options, DefaultModelRegistry());
      ASSERT_TRUE(trainer.ok()) << trainer.status();
      EXPECT_TRUE(SameOnEveryRank(comm, (*trainer)->model())) << name << " after broadcast";
      std::vector<torch::Tensor> before;
      for (const auto& p : (*trainer)->model().parameters()) before.push_back(p.detach().clone());
      auto loss = (*trainer)->Fit(*data);
      ASSERT_TRUE(loss.ok()) << loss.status();
      EXPECT_TRUE(SameOnEveryRank(comm, (*trainer)->model())) << name << " after training";
      auto after = (*trainer)->model().parameters();
      bool moved = false;
      for (size_t i = 0; i < after.size(); ++i) moved |= !torch::equal(before[i], after[i]);
      EXPECT_TRUE(moved) << name;
      // The reported losses are the mean over ranks: the same everywhere.
      double last = (*trainer)->losses().back(), lo = 0, hi = 0;
      ASSERT_TRUE(
          comm.AllReduce(&last, &lo, 1, comm::DataType::kFloat64, comm::ReduceOp::kMin).ok());
      ASSERT_TRUE(
          comm.AllReduce(&last, &hi, 1, comm::DataType::kFloat64, comm::ReduceOp::kMax).ok());
      EXPECT_EQ(lo, hi);
    }
  });
}

// Replicas of different shapes are an error on every rank, not a hang or a corrupt copy.
TEST(DataParallel, MismatchedReplicasAreAnError) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    auto& comm = *ctx.comm();
    if (comm.size() == 1) return;
    // Wider layers on rank 1 (same tensor count), then one more layer on the last rank (more
    // tensors): every rank fails, and each says whether it is the one that differs.
    const std::vector<std::pair<std::map<std::string, double>, int>> cases = {
        {{{"hidden_size", comm.rank() == 1 ? 16.0 : 8.0}}, 1},
        {{{"hidden_size", 8.0}, {"num_layers", comm.rank() == comm.size() - 1 ? 3.0 : 2.0}},
         comm.size() - 1}};
    for (const auto& [params, odd_rank] : cases) {
      ModelConfig mc;
      mc.input_size = kInput;
      mc.horizon = kHorizon;
      mc.params = params;
      TrainOptions options;
      options.threads = 1;
      options.comm = &comm;
      auto trainer = Trainer::Make("MLP", mc, options, DefaultModelRegistry());
      ASSERT_FALSE(trainer.ok());
      const std::string& message = trainer.status().message();
      EXPECT_NE(message.find("MLP"), std::string::npos) << trainer.status();
      EXPECT_NE(message.find(comm.rank() == odd_rank ? "differs from rank 0"
                                                     : "matches rank 0; another rank differs"),
                std::string::npos)
          << trainer.status();
    }
  });
}

// More ranks than windows: the ranks without a shard fail, and so does every other rank (no
// rank goes on into a collective alone).
TEST(DataParallel, ARankWithoutWindowsFailsEveryRank) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    auto& comm = *ctx.comm();
    if (comm.size() == 1) return;
    WindowOptions wo;
    wo.input_size = kInput;
    wo.horizon = kHorizon;
    wo.shard_rank = comm.rank();
    wo.shard_count = comm.size();
    std::vector<float> v(kInput + 1, 1.0f);  // one window in all
    auto made = WindowedDataset::Make(SeriesData{torch::tensor(v), {0, kInput + 1}}, wo);
    EXPECT_EQ(made.ok(), comm.rank() == 0);
    Status agreed = AgreeOnStatus(&comm, made.status());
    ASSERT_FALSE(agreed.ok());
    if (comm.rank() == 0) {
      EXPECT_EQ(agreed.code(), StatusCode::kAborted) << agreed;
    } else {
      EXPECT_NE(agreed.message().find("no training window"), std::string::npos) << agreed;
    }
  });
}

// Rank r contributes r pairs (rank 0 none); every rank gets them all, in rank order. Shares that
// are all empty give an empty list.
TEST(DataParallel, AllGatherVectorConcatenatesUnevenShares) {
  ForEachWorld([](const data::Context& ctx) {
    auto& comm = *ctx.comm();
    struct Pair {
      int32_t rank, index;
    };
    std::vector<Pair> mine;
    for (int i = 0; i < comm.rank(); ++i) mine.push_back({comm.rank(), i});
    auto all = AllGatherVector(&comm, mine);
    ASSERT_TRUE(all.ok()) << all.status();
    std::vector<std::pair<int, int>> got, want;
    for (const Pair& p : *all) got.emplace_back(p.rank, p.index);
    for (int r = 0; r < comm.size(); ++r) {
      for (int i = 0; i < r; ++i) want.emplace_back(r, i);
    }
    EXPECT_EQ(got, want);
    auto none = AllGatherVector(&comm, std::vector<double>{});
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty());
    auto alone = AllGatherVector(nullptr, std::vector<double>{1.5, 2.5});
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ(*alone, (std::vector<double>{1.5, 2.5}));
  });
}

}  // namespace
}  // namespace drc::dl
