#include "src/data/testing/dist_harness.h"

#include <arrow/table.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "drc/comm/communicator.h"
#include "drc/comm/local.h"

namespace drc::data::testing {
namespace {

namespace fs = std::filesystem;

// Set once by main() before any test runs; read-only afterwards.
struct HarnessState {
  std::string backend = "local";
  std::unique_ptr<comm::Communicator> world;  // mpi/gloo: the job's world
};

HarnessState& State() {
  static HarnessState state;
  return state;
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  return fallback;
}

Result<std::unique_ptr<comm::Communicator>> MakeWorld(const std::string& backend,
                                                      const std::string& rendezvous_dir) {
  DRC_ASSIGN_OR_RETURN(comm::CommOptions options, comm::ResolveOptions(comm::CommOptions{}));
  if (backend == "gloo") {
    const char* job = std::getenv("OMPI_MCA_ess_base_jobid");
    const std::string id = job != nullptr ? job : std::to_string(::getppid());
    const fs::path dir = fs::path(rendezvous_dir) / ("job-" + id);
    std::error_code ec;
    fs::create_directories(dir, ec);
    options.rendezvous = "file:" + dir.string();
    auto world = comm::DefaultCommRegistry().Make("gloo", options);
    if (world.ok()) {
      // Everyone has read the store once all ranks are connected.
      Status st = (*world)->Barrier();
      if (st.ok() && options.rank == 0) fs::remove_all(dir, ec);
    }
    return world;
  }
  return comm::DefaultCommRegistry().Make(backend, options);
}

}  // namespace

const std::string& HarnessBackend() { return State().backend; }

void ForEachWorld(const std::function<void(const Context&)>& body) {
  HarnessState& state = State();
  if (state.world != nullptr) {
    body(Context(state.world.get()));
    // Keep the ranks in step between tests (a failed ASSERT may have skipped collectives).
    Status st = state.world->Barrier();
    EXPECT_TRUE(st.ok()) << st;
    return;
  }
  for (int size : {1, 2, 4}) {
    SCOPED_TRACE("local world of " + std::to_string(size) + " ranks");
    Status st = comm::RunLocal(size, [&](comm::Communicator& c) -> Status {
      body(Context(&c));
      return Status::OK();
    });
    EXPECT_TRUE(st.ok()) << st;
  }
}

std::pair<int64_t, int64_t> PartitionRange(int64_t rows, int rank, int size, Spread spread) {
  switch (spread) {
    case Spread::kEven: {
      const int64_t base = rows / size, extra = rows % size;
      const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
      return {begin, begin + base + (rank < extra ? 1 : 0)};
    }
    case Spread::kSkewed: {
      // Rank 0 holds 70% (all if no other even rank); the even ranks > 0 share the rest evenly;
      // odd ranks hold none.
      const int holders = (size - 1) / 2;  // even ranks among 1..size-1
      const int64_t head = holders == 0 ? rows : rows * 7 / 10;
      if (rank == 0) return {0, head};
      // Holders (even ranks > 0) that come before this rank.
      const int64_t before = rank % 2 == 0 ? rank / 2 - 1 : (rank - 1) / 2;
      const int64_t rest = rows - head, base = holders ? rest / holders : 0;
      const int64_t extra = holders ? rest % holders : 0;
      auto start = [&](int64_t k) { return head + k * base + std::min<int64_t>(k, extra); };
      if (rank % 2 == 1) return {start(before), start(before)};
      return {start(before), start(before + 1)};
    }
    case Spread::kOneRank:
      return rank == size - 1 ? std::pair<int64_t, int64_t>{0, rows}
                              : std::pair<int64_t, int64_t>{0, 0};
    case Spread::kNoRows: return {0, 0};
  }
  return {0, 0};
}

TablePtr Partition(const TablePtr& whole, const Context& ctx, Spread spread) {
  auto [begin, end] = PartitionRange(whole->num_rows(), ctx.rank(), ctx.world_size(), spread);
  return whole->Slice(begin, end - begin);
}

}  // namespace drc::data::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto& state = drc::data::testing::State();
  state.backend = drc::data::testing::Flag(argc, argv, "backend", "local");
  if (state.backend != "local") {
    if (state.backend != "mpi" && state.backend != "gloo") {
      std::fprintf(stderr, "unknown --backend=%s (local, mpi or gloo)\n", state.backend.c_str());
      return 2;
    }
    const std::string dir = drc::data::testing::Flag(
        argc, argv, "rendezvous-dir",
        (std::filesystem::temp_directory_path() / "drc_data_gloo").string());
    auto world = drc::data::testing::MakeWorld(state.backend, dir);
    if (!world.ok()) {
      std::fprintf(stderr, "cannot create the %s world: %s\n", state.backend.c_str(),
                   world.status().ToString().c_str());
      return 2;
    }
    state.world = std::move(world).ValueOrDie();
    // Only rank 0 prints the test progress.
    if (state.world->rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
  }
  const int rc = RUN_ALL_TESTS();
  int all_rc = rc;
  if (state.world != nullptr) {
    // Any rank failing fails the job's exit status on every rank.
    int64_t failed = rc != 0 ? 1 : 0;
    if (state.world
            ->AllReduce(&failed, &failed, 1, drc::comm::DataType::kInt64, drc::comm::ReduceOp::kMax)
            .ok()) {
      all_rc = failed != 0 ? 1 : 0;
    }
    state.world.reset();
  }
  return all_rc;
}
