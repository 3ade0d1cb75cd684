// Forecast on a partitioned table (ForecastConfig::partitioned): each rank passes its own
// series. Run under mpirun (--backend=mpi or gloo), as data_parallel_test.cc.
#include <arrow/api.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "drc/dl/forecast.h"
#include "src/data/testing/dist_harness.h"

namespace drc::dl {
namespace {

using data::testing::ForEachWorld;
using data::testing::HarnessBackend;

#define SKIP_ON_THREAD_RANKS()                                                        \
  if (HarnessBackend() == "local") {                                                  \
    GTEST_SKIP() << "one trainer per process: run under mpirun (--backend=mpi|gloo)"; \
  }

struct Series {
  std::string id;
  int64_t length;
  int64_t step = 1;   // between time stamps
  double phase = 0;   // of the seasonal pattern
  double level = 10;  // mean
};

// unique_id, ds (integers from 0, `step` apart), y: a seasonal pattern of period 12.
data::TablePtr TableOf(const std::vector<Series>& all) {
  arrow::StringBuilder ids;
  arrow::Int64Builder ds;
  arrow::DoubleBuilder y;
  for (const auto& s : all) {
    for (int64_t t = 0; t < s.length; ++t) {
      EXPECT_TRUE(ids.Append(s.id).ok());
      EXPECT_TRUE(ds.Append(t * s.step).ok());
      EXPECT_TRUE(y.Append(s.level + 3 * std::sin(2 * M_PI * t / 12 + s.phase) + 0.01 * t).ok());
    }
  }
  std::shared_ptr<arrow::Array> a, b, c;
  EXPECT_TRUE(ids.Finish(&a).ok());
  EXPECT_TRUE(ds.Finish(&b).ok());
  EXPECT_TRUE(y.Finish(&c).ok());
  auto schema =
      arrow::schema({arrow::field("unique_id", arrow::utf8()), arrow::field("ds", arrow::int64()),
                     arrow::field("y", arrow::float64())});
  return arrow::Table::Make(schema, {a, b, c});
}

ForecastConfig SmallMlp(comm::Communicator* comm, int steps) {
  ForecastConfig config;
  config.models = {"MLP"};
  config.horizon = 6;
  config.input_size = 12;
  config.max_steps = steps;
  config.threads = 1;
  config.params["MLP"] = {{"hidden_size", 16}, {"num_layers", 2}};
  config.comm = comm;
  config.partitioned = comm != nullptr;
  return config;
}

// Five series of different lengths; rank r holds those whose index is r modulo the ranks (not
// a contiguous block: the gathered rows must come back in id order).
std::vector<Series> Panel() {
  std::vector<Series> all;
  for (int k = 0; k < 5; ++k) {
    all.push_back({"s" + std::to_string(k), 60 + 7 * k, 1, 0.7 * k, 10.0 + 5 * k});
  }
  return all;
}

// This rank's series of `all`: those whose index is the rank modulo the ranks.
std::vector<Series> RanksShare(const std::vector<Series>& all, const data::Context& ctx) {
  std::vector<Series> mine;
  for (size_t k = 0; k < all.size(); ++k) {
    if (static_cast<int>(k) % ctx.world_size() == ctx.rank()) mine.push_back(all[k]);
  }
  return mine;
}

// Forecasts of a batch of 2 or 3 series and of one of 5 round differently in float32 GEMMs.
constexpr double kClose = 1e-6;

// The same schema and rows; the forecast columns (y_hat...) equal to float32 rounding: the
// values are about 10, the model is untrained, so its forecasts can be near 0.
void ExpectSameRows(const arrow::Table& got, const arrow::Table& expected, const char* what) {
  ASSERT_TRUE(got.schema()->Equals(*expected.schema())) << what << ": " << got.schema()->ToString();
  ASSERT_EQ(got.num_rows(), expected.num_rows()) << what;
  for (int c = 0; c < expected.num_columns(); ++c) {
    const std::string& name = expected.schema()->field(c)->name();
    if (name.rfind("y_hat", 0) != 0) {
      EXPECT_TRUE(got.column(c)->Equals(*expected.column(c))) << what << ": column " << name;
      continue;
    }
    auto g = std::static_pointer_cast<arrow::DoubleArray>(got.column(c)->chunk(0));
    auto e = std::static_pointer_cast<arrow::DoubleArray>(expected.column(c)->chunk(0));
    ASSERT_EQ(got.column(c)->num_chunks(), 1) << what;
    ASSERT_EQ(expected.column(c)->num_chunks(), 1) << what;
    for (int64_t i = 0; i < e->length(); ++i) {
      EXPECT_NEAR(g->Value(i), e->Value(i), 1e-5 * (1 + std::abs(e->Value(i))))
          << what << ": " << name << " row " << i;
    }
  }
}

// Before any training step every rank's replica is rank 0's initial model, which is the one
// a single process builds from the same seed: the forecasts, intervals and metrics of a
// partitioned run must be those of one process on the whole table, row for row (up to the
// rounding of batches of other sizes).
TEST(PartitionedForecast, EqualsOneProcessBeforeTraining) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    const auto all = Panel();
    const auto mine = RanksShare(all, ctx);
    struct Case {
      const char* name;
      void (*set)(ForecastConfig&);
    };
    const Case cases[] = {
        {"held-out with conformal intervals",
         [](ForecastConfig& c) {
           c.level = {80};
           c.conformal_windows = 2;
         }},
        {"cross-validation", [](ForecastConfig& c) { c.cv_windows = 3; }},
        {"future", [](ForecastConfig& c) { c.future = true; }},
    };
    for (const auto& test : cases) {
      ForecastConfig one = SmallMlp(nullptr, 0);
      ForecastConfig parts = SmallMlp(ctx.comm(), 0);
      test.set(one);
      test.set(parts);
      auto expected = Forecast(TableOf(all), {}, one);
      ASSERT_TRUE(expected.ok()) << test.name << ": " << expected.status();
      auto got = Forecast(TableOf(mine), {}, parts);
      ASSERT_TRUE(got.ok()) << test.name << ": " << got.status();
      ASSERT_EQ(got->size(), 1u);
      const ModelForecast& e = expected->front();
      const ModelForecast& g = got->front();
      ExpectSameRows(*g.predictions, *e.predictions, test.name);
      if (std::isnan(e.mae)) {
        EXPECT_TRUE(std::isnan(g.mae)) << test.name;
      } else {
        EXPECT_NEAR(g.mae, e.mae, kClose * e.mae) << test.name;
        EXPECT_NEAR(g.rmse, e.rmse, kClose * e.rmse) << test.name;
        EXPECT_NEAR(g.smape, e.smape, kClose * e.smape) << test.name;
      }
      ASSERT_EQ(g.intervals.size(), e.intervals.size()) << test.name;
      for (const auto& [level, score] : e.intervals) {
        EXPECT_DOUBLE_EQ(g.intervals.at(level).coverage, score.coverage) << test.name;
        EXPECT_NEAR(g.intervals.at(level).width, score.width, kClose * score.width) << test.name;
      }
    }
  });
}

// `table` with a future categorical column c (each series' own three categories, "s<k>-0" to
// "s<k>-2", so that each rank sees only its series') and a static one, region.
data::TablePtr WithCategories(const data::TablePtr& table) {
  arrow::StringBuilder c, region;
  auto ids =
      std::static_pointer_cast<arrow::StringArray>(table->GetColumnByName("unique_id")->chunk(0));
  auto ds = std::static_pointer_cast<arrow::Int64Array>(table->GetColumnByName("ds")->chunk(0));
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    const std::string id(ids->GetView(row));
    EXPECT_TRUE(c.Append(id + "-" + std::to_string(ds->Value(row) % 3)).ok());
    EXPECT_TRUE(region.Append(id.back() % 2 == 0 ? "even" : "odd").ok());
  }
  std::shared_ptr<arrow::Array> a, b;
  EXPECT_TRUE(c.Finish(&a).ok());
  EXPECT_TRUE(region.Finish(&b).ok());
  auto out = table->AddColumn(3, arrow::field("c", arrow::utf8()),
                              std::make_shared<arrow::ChunkedArray>(a));
  EXPECT_TRUE(out.ok());
  out = (*out)->AddColumn(4, arrow::field("region", arrow::utf8()),
                          std::make_shared<arrow::ChunkedArray>(b));
  EXPECT_TRUE(out.ok());
  return *out;
}

// Categorical variables of a partitioned table: the ranks unite their categories, so that a
// category has one code and one embedding everywhere, and before training the forecasts are
// those of one process on the whole table (with each rank's own categories they would differ).
TEST(PartitionedForecast, CategoriesAreTheWholeTables) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    const auto all = Panel();
    const auto mine = RanksShare(all, ctx);
    ForecastConfig one = SmallMlp(nullptr, 0);
    ForecastConfig parts = SmallMlp(ctx.comm(), 0);
    for (ForecastConfig* c : {&one, &parts}) {
      c->futr_exog = {"c"};
      c->stat_exog = {"region"};
      c->cat_exog = {"c", "region"};
    }
    auto expected = Forecast(WithCategories(TableOf(all)), {}, one);
    ASSERT_TRUE(expected.ok()) << expected.status();
    auto got = Forecast(WithCategories(TableOf(mine)), {}, parts);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameRows(*got->front().predictions, *expected->front().predictions, "categorical");
    EXPECT_NEAR(got->front().mae, expected->front().mae, kClose * expected->front().mae);
  });
}

// Training on different series keeps the replicas identical: every rank holds a copy of the
// same series under its own id, which then gets the same forecast bit for bit, and every rank
// stops early at the same step although each rank's validation windows differ.
TEST(PartitionedForecast, ReplicasStayInStep) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    const int rank = ctx.rank();
    const std::vector<Series> mine = {
        {"same" + std::to_string(rank), 80, 1, 0.3, 20},
        {"own" + std::to_string(rank), 70 + 9 * rank, 1, 1.1 * rank, 12.0 + 40 * rank}};
    ForecastConfig config = SmallMlp(ctx.comm(), 40);
    config.val_size = 6;
    config.val_check_steps = 2;
    config.early_stop_patience_steps = 3;
    auto got = Forecast(TableOf(mine), {}, config);
    ASSERT_TRUE(got.ok()) << got.status();
    const ModelForecast& f = got->front();
    const int ranks = ctx.world_size();
    ASSERT_EQ(f.predictions->num_rows(), 2 * ranks * config.horizon);
    // Rows by id: own0, own1, ..., same0, same1, ...
    auto y_hat = std::static_pointer_cast<arrow::DoubleArray>(
        f.predictions->GetColumnByName("y_hat")->chunk(0));
    const int64_t first_same = static_cast<int64_t>(ranks) * config.horizon;
    for (int r = 1; r < ranks; ++r) {
      for (int j = 0; j < config.horizon; ++j) {
        EXPECT_EQ(y_hat->Value(first_same + r * config.horizon + j), y_hat->Value(first_same + j))
            << "same" << r << " step " << j;
      }
    }
    // The same steps, loss and metrics everywhere.
    auto& comm = *ctx.comm();
    const double mine_values[3] = {static_cast<double>(f.steps), f.final_loss, f.mae};
    std::vector<double> every(3 * static_cast<size_t>(ranks));
    ASSERT_TRUE(comm.AllGather(mine_values, sizeof(mine_values), every.data()).ok());
    for (int r = 1; r < ranks; ++r) {
      for (int i = 0; i < 3; ++i) EXPECT_EQ(every[3 * r + i], every[i]) << "value " << i;
    }
    EXPECT_GT(f.steps, 0);
    EXPECT_TRUE(std::isfinite(f.mae));
  });
}

// NF's HINT on a partitioned table: the ranks reconcile every rank's samples together, so that
// before training the forecasts are one process's on the whole table up to the resampling's
// noise (a series reconciled with another's samples would be tens off), and the aggregates'
// forecasts are the sums of their series' on every rank (to float32 rounding).
TEST(PartitionedForecast, HierarchyReconcilesEveryRanksSeries) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    // Sorted ids agg01, b0, b1, b2, total; rank r holds every world_size-th from the r-th.
    const std::vector<Series> all = {{"agg01", 60, 1, 0.0, 40.0},
                                     {"b0", 60, 1, 0.5, 10.0},
                                     {"b1", 60, 1, 1.0, 30.0},
                                     {"b2", 60, 1, 1.5, 60.0},
                                     {"total", 60, 1, 2.0, 100.0}};
    const std::filesystem::path s_csv =
        std::filesystem::temp_directory_path() /
        ("drc_hint_" + std::to_string(getpid()) + "_" + std::to_string(ctx.rank()) + ".csv");
    {
      std::ofstream out(s_csv);
      out << "unique_id,b0,b1,b2\nagg01,1,1,0\ntotal,1,1,1\nb0,1,0,0\nb1,0,1,0\nb2,0,0,1\n";
    }
    auto configure = [&](comm::Communicator* comm) {
      ForecastConfig c = SmallMlp(comm, 0);
      c.loss = "DistributionLoss(Normal)";
      c.scaler = "standard";
      c.level = {80};
      c.hierarchy = s_csv.string();
      c.reconciliation = "MinTraceOLS";
      return c;
    };
    auto expected = Forecast(TableOf(all), {}, configure(nullptr));
    ASSERT_TRUE(expected.ok()) << expected.status();
    auto got = Forecast(TableOf(RanksShare(all, ctx)), {}, configure(ctx.comm()));
    std::filesystem::remove(s_csv);
    ASSERT_TRUE(got.ok()) << got.status();
    const arrow::Table& e = *expected->front().predictions;
    const arrow::Table& g = *got->front().predictions;
    ASSERT_TRUE(g.schema()->Equals(*e.schema())) << g.schema()->ToString();
    ASSERT_EQ(g.num_rows(), 5 * 6);
    EXPECT_TRUE(g.GetColumnByName("unique_id")->Equals(*e.GetColumnByName("unique_id")));
    auto column = [](const arrow::Table& t, const char* name) {
      return std::static_pointer_cast<arrow::DoubleArray>(t.GetColumnByName(name)->chunk(0));
    };
    const auto y_hat = column(g, "y_hat");
    for (const char* name : {"y_hat", "y_hat-lo-80", "y_hat-hi-80"}) {
      const auto a = column(g, name), b = column(e, name);
      for (int64_t i = 0; i < a->length(); ++i) {
        EXPECT_NEAR(a->Value(i), b->Value(i), 1.0) << name << " row " << i;
      }
    }
    // Rows by id, 6 months each: agg01 = b0 + b1, total = b0 + b1 + b2.
    for (int j = 0; j < 6; ++j) {
      const double b0 = y_hat->Value(6 + j), b1 = y_hat->Value(12 + j), b2 = y_hat->Value(18 + j);
      EXPECT_NEAR(y_hat->Value(j), b0 + b1, 1e-6 * std::abs(b0 + b1)) << "agg01 month " << j;
      EXPECT_NEAR(y_hat->Value(24 + j), b0 + b1 + b2, 1e-6 * std::abs(b0 + b1 + b2))
          << "total month " << j;
    }
  });
}

// What only some ranks see fails every rank, each with its own reason or an Aborted one.
TEST(PartitionedForecast, ErrorsOnOneRankFailEveryRank) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    if (ctx.world_size() == 1) return;
    const int rank = ctx.rank();
    const int last = ctx.world_size() - 1;
    const auto message = [](const Result<std::vector<ModelForecast>>& r) {
      return r.ok() ? std::string("OK") : r.status().ToString();
    };
    {
      // A series on every rank.
      auto got = Forecast(TableOf({{"dup", 60}, {"own" + std::to_string(rank), 60}}), {},
                          SmallMlp(ctx.comm(), 1));
      ASSERT_FALSE(got.ok());
      EXPECT_NE(message(got).find("series 'dup' is on ranks 0 and 1"), std::string::npos)
          << message(got);
    }
    {
      // Too short a series on the last rank only.
      const int64_t length = rank == last ? 5 : 60;
      auto got =
          Forecast(TableOf({{"s" + std::to_string(rank), length}}), {}, SmallMlp(ctx.comm(), 1));
      ASSERT_FALSE(got.ok());
      if (rank == last) {
        EXPECT_NE(message(got).find("at most horizon 6 points"), std::string::npos) << message(got);
      } else {
        EXPECT_EQ(got.status().code(), StatusCode::kAborted) << message(got);
      }
    }
    {
      // Stamps 2 apart on the last rank: the frequencies inferred differ.
      auto got = Forecast(TableOf({{"s" + std::to_string(rank), 60, rank == last ? 2 : 1}}), {},
                          SmallMlp(ctx.comm(), 1));
      ASSERT_FALSE(got.ok());
      EXPECT_NE(message(got).find("different frequencies"), std::string::npos) << message(got);
    }
  });
}

// A folder that every rank sees, its name agreed (rank 0's pid) and apart from the other
// backend's run of this test.
std::filesystem::path SharedDir(comm::Communicator& comm, const std::string& name) {
  int64_t pid = ::getpid();
  EXPECT_TRUE(comm.Broadcast(&pid, sizeof(pid), 0).ok());
  return std::filesystem::temp_directory_path() /
         ("drc_" + name + "_" + HarnessBackend() + "_" + std::to_string(pid));
}

// Each rank checkpoints its own sampler: a partitioned run stopped after 8 steps and resumed to
// 20 (under another seed: everything comes from the checkpoints) forecasts what an
// uninterrupted 20-step run forecasts, bit for bit. Checkpoints of some ranks only, or at
// different steps, are errors on every rank.
TEST(PartitionedForecast, ResumesFromEveryRanksCheckpoint) {
  SKIP_ON_THREAD_RANKS();
  ForEachWorld([](const data::Context& ctx) {
    comm::Communicator& comm = *ctx.comm();
    const int rank = ctx.rank();
    const auto all = Panel();
    std::vector<Series> mine;
    for (size_t k = 0; k < all.size(); ++k) {
      if (static_cast<int>(k) % ctx.world_size() == rank) mine.push_back(all[k]);
    }
    const auto dir = SharedDir(comm, "partitioned_resume");
    const auto table = TableOf(mine);
    auto whole = Forecast(table, {}, SmallMlp(ctx.comm(), 20));  // no decays: MLP's default
    ASSERT_TRUE(whole.ok()) << whole.status();

    ForecastConfig first = SmallMlp(ctx.comm(), 8);
    first.checkpoint_dir = dir.string();
    ASSERT_TRUE(Forecast(table, {}, first).ok());
    const std::string own = rank == 0 ? "MLP.ckpt" : "MLP.rank" + std::to_string(rank) + ".ckpt";
    ASSERT_TRUE(std::filesystem::exists(dir / own));
    std::filesystem::copy_file(dir / own, dir / (own + ".step8"));

    ForecastConfig resumed = SmallMlp(ctx.comm(), 20);
    resumed.checkpoint_dir = dir.string();
    resumed.resume = true;
    resumed.seed = 5;
    auto got = Forecast(table, {}, resumed);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->front().steps, 20);
    EXPECT_EQ(got->front().final_loss, whole->front().final_loss);
    EXPECT_TRUE(got->front().predictions->Equals(*whole->front().predictions));
    EXPECT_EQ(got->front().mae, whole->front().mae);

    if (ctx.world_size() > 1) {
      // The last rank's checkpoint back at step 8, the others' at 20.
      const int last = ctx.world_size() - 1;
      ASSERT_TRUE(comm.Barrier().ok());
      if (rank == last) {
        std::filesystem::copy_file(dir / (own + ".step8"), dir / own,
                                   std::filesystem::copy_options::overwrite_existing);
      }
      ASSERT_TRUE(comm.Barrier().ok());
      auto mixed = Forecast(table, {}, resumed);
      ASSERT_FALSE(mixed.ok());
      EXPECT_NE(mixed.status().message().find("are at steps 8 to 20"), std::string::npos)
          << mixed.status();
      // The last rank's checkpoint gone.
      ASSERT_TRUE(comm.Barrier().ok());
      if (rank == last) std::filesystem::remove(dir / own);
      ASSERT_TRUE(comm.Barrier().ok());
      auto missing = Forecast(table, {}, resumed);
      ASSERT_FALSE(missing.ok());
      EXPECT_NE(missing.status().message().find(std::to_string(last) + " of " +
                                                std::to_string(ctx.world_size()) +
                                                " ranks have a checkpoint"),
                std::string::npos)
          << missing.status();
    }
    ASSERT_TRUE(comm.Barrier().ok());
    if (rank == 0) std::filesystem::remove_all(dir);
  });
}

}  // namespace
}  // namespace drc::dl
