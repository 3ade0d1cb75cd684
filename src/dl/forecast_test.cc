#include "drc/dl/forecast.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "drc/data/io.h"

namespace drc::dl {
namespace {

std::string CarrierCsv() {
  const char* dir = std::getenv("DRC_SHARED_DATA");
  return std::string(dir ? dir : "../shared/data") + "/us_carrier/us_carrier_passenger.csv";
}

// val_size holds out validation windows; with a checkpoint directory a run interrupted after
// 10 steps and resumed to 20 forecasts exactly what an uninterrupted 20-step run forecasts.
TEST(Forecast, ValidationAndResumeThroughTheEntryPoint) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config;
  config.models = {"MLP"};
  config.max_steps = 20;
  config.threads = 1;
  config.val_size = 24;
  config.val_check_steps = 5;
  config.params["MLP"] = {{"hidden_size", 64}};
  auto whole = Forecast(*table, {}, config);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->front().steps, 20);

  const auto dir = std::filesystem::temp_directory_path() /
                   ("drc_forecast_resume_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  config.checkpoint_dir = dir.string();
  config.checkpoint_every = 10;
  auto first = Forecast(*table, {}, config);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(std::filesystem::exists(dir / "MLP.ckpt"));
  EXPECT_DOUBLE_EQ(first->front().mae, whole->front().mae);
  // Resumed under another seed: the trained model comes from the checkpoint (step 20, nothing
  // left to train), so the forecast is the seed-1 one; without --resume it would differ.
  config.seed = 5;
  auto fresh = Forecast(*table, {}, config);
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(fresh->front().mae, whole->front().mae);
  ASSERT_TRUE(Forecast(*table, {},
                       [&] {
                         auto c = config;
                         c.seed = 1;
                         return c;
                       }())
                  .ok());  // rewrite the seed-1 checkpoint
  config.resume = true;
  auto resumed = Forecast(*table, {}, config);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->front().steps, 20);
  EXPECT_DOUBLE_EQ(resumed->front().mae, whole->front().mae);
  std::filesystem::remove_all(dir);
}

TEST(Forecast, MlpOnTheCarrierData) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  auto freq = InferFreq(*table, {});
  ASSERT_TRUE(freq.ok()) << freq.status();
  EXPECT_EQ(*freq, "ME");
  ForecastConfig config;
  config.models = {"MLP"};
  config.max_steps = 20;
  config.params["MLP"] = {{"hidden_size", 256}};  // keeps the test quick on a reference BLAS
  auto result = Forecast(*table, {}, config);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 1u);
  const ModelForecast& f = result->front();
  EXPECT_EQ(f.model, "MLP");
  EXPECT_TRUE(std::isfinite(f.mae)) << f.mae;
  EXPECT_GT(f.mae, 0);
  EXPECT_GE(f.rmse, f.mae);
  EXPECT_TRUE(std::isfinite(f.mape) && std::isfinite(f.smape));
  EXPECT_GT(f.seconds, 0);
  ASSERT_NE(f.predictions, nullptr);
  EXPECT_EQ(f.predictions->num_rows(), 24);
  EXPECT_EQ(f.predictions->schema()->field_names(),
            (std::vector<std::string>{"unique_id", "ds", "y", "y_hat"}));
  // The forecast covers the last 24 months: 2022-11 .. 2024-10.
  auto first = f.predictions->GetColumnByName("ds")->GetScalar(0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->ToString(), "2022-11-30");
}

TEST(Forecast, ConfigErrorsAreClear) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config;
  config.models = {"NoSuchModel"};
  auto r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("NBEATS"), std::string::npos) << r.status();
  config.models = {"MLP"};
  config.freq = "fortnight";
  r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fortnight"), std::string::npos) << r.status();
  config.freq = "";
  config.val_size = -1;
  r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("val_size"), std::string::npos) << r.status();
  config.val_size = 0;
  r = Forecast(*table, {.id = "unique_id", .time = "ds", .value = "passengers"}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("passengers"), std::string::npos) << r.status();
}

// --future trains on every point and forecasts past the end. Given the table without its last
// 24 months, that is the training data and the stamps of the usual held-out forecast on the
// whole table: the same forecasts, to the bit.
TEST(Forecast, FutureIsTheHeldOutForecastOfTheLongerSeries) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config;
  config.models = {"MLP"};
  config.max_steps = 10;
  config.threads = 1;
  auto held_out = Forecast(*table, {}, config);
  ASSERT_TRUE(held_out.ok()) << held_out.status();
  config.future = true;
  auto future = Forecast((*table)->Slice(0, (*table)->num_rows() - 24), {}, config);
  ASSERT_TRUE(future.ok()) << future.status();
  const auto& want = *(*held_out)[0].predictions;
  const auto& got = *(*future)[0].predictions;
  ASSERT_EQ(got.num_rows(), 24);
  EXPECT_TRUE(got.GetColumnByName("ds")->Equals(want.GetColumnByName("ds")));
  EXPECT_TRUE(got.GetColumnByName("y_hat")->Equals(want.GetColumnByName("y_hat")));
  EXPECT_EQ(got.GetColumnByName("y")->null_count(), 24);
  EXPECT_TRUE(std::isnan((*future)[0].mae));
  // On the whole table: the 24 months after October 2024.
  auto next = Forecast(*table, {}, config);
  ASSERT_TRUE(next.ok()) << next.status();
  const auto ds = (*next)[0].predictions->GetColumnByName("ds");
  EXPECT_EQ(ds->GetScalar(0).ValueOrDie()->ToString(), "2024-11-30");
  EXPECT_EQ(ds->GetScalar(23).ValueOrDie()->ToString(), "2026-10-31");
}

// Bad data, rather than bad settings: values that are not numbers, and repeated time stamps
// (which fail every frequency, so InferFreq names them instead of giving up on the frequency).
TEST(Forecast, DataErrorsAreClear) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config;
  config.models = {"MLP"};
  config.max_steps = 1;
  auto text = arrow::compute::Cast((*table)->GetColumnByName("y"), arrow::utf8());
  ASSERT_TRUE(text.ok()) << text.status();
  auto as_text = (*table)->SetColumn(0, arrow::field("y", arrow::utf8()), text->chunked_array());
  ASSERT_TRUE(as_text.ok()) << as_text.status();
  auto r = Forecast(*as_text, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "Forecast: value column 'y' has type string; expected numbers");

  auto doubled = arrow::ConcatenateTables({*table, (*table)->Slice(5, 1)});
  ASSERT_TRUE(doubled.ok()) << doubled.status();
  auto freq = InferFreq(*doubled, {});
  ASSERT_FALSE(freq.ok());
  EXPECT_EQ(freq.status().message(), "series '1' has duplicate time stamp 2000-06-30");
}

}  // namespace
}  // namespace drc::dl
