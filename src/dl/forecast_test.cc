#include "drc/dl/forecast.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "drc/data/io.h"

namespace drc::dl {
namespace {

std::string CarrierCsv() {
  const char* dir = std::getenv("DRC_SHARED_DATA");
  return std::string(dir ? dir : "../shared/data") + "/us_carrier/us_carrier_passenger.csv";
}

// `models` trained for `steps` steps on one thread.
ForecastConfig Quick(std::vector<std::string> models, int steps) {
  ForecastConfig config;
  config.models = std::move(models);
  config.max_steps = steps;
  config.threads = 1;
  return config;
}

// val_size holds out validation windows; with a checkpoint directory a run interrupted after
// 10 steps and resumed to 20 forecasts exactly what an uninterrupted 20-step run forecasts.
TEST(Forecast, ValidationAndResumeThroughTheEntryPoint) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config = Quick({"MLP"}, 20);
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

// Per-model overrides by NF's names: the model's own keys, the training keys (max_steps,
// learning_rate, random_seed, ...) for that model only, and scaler_type.
TEST(Forecast, HyperParameterOverridesPerModel) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig base = Quick({"MLP", "NHITS"}, 4);
  base.params["MLP"] = {{"hidden_size", 32}};
  base.params["NHITS"] = {{"mlp_units", 32}};
  auto plain = Forecast(*table, {}, base);
  ASSERT_TRUE(plain.ok()) << plain.status();

  ForecastConfig config = base;
  config.params["MLP"]["max_steps"] = 2;
  config.params["MLP"]["learning_rate"] = 1e-2;
  config.model_scalers["NHITS"] = "standard";
  config.params["TCN"] = {{"kernel_size", 3}};  // a registered model that does not run
  auto r = Forecast(*table, {}, config);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].steps, 2);
  EXPECT_EQ((*r)[1].steps, 4);
  EXPECT_NE((*r)[0].mae, (*plain)[0].mae);
  EXPECT_NE((*r)[1].mae, (*plain)[1].mae);
  // The same as setting them for the whole run.
  ForecastConfig whole = base;
  whole.models = {"NHITS"};
  whole.scaler = "standard";
  auto nhits = Forecast(*table, {}, whole);
  ASSERT_TRUE(nhits.ok()) << nhits.status();
  EXPECT_DOUBLE_EQ((*r)[1].mae, nhits->front().mae);
  whole = base;
  whole.models = {"MLP"};
  whole.seed = 7;
  auto seven = Forecast(*table, {}, whole);
  ASSERT_TRUE(seven.ok()) << seven.status();
  config = base;
  config.models = {"MLP"};
  config.params["MLP"]["random_seed"] = 7;
  auto seeded = Forecast(*table, {}, config);
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  EXPECT_DOUBLE_EQ(seeded->front().mae, seven->front().mae);
  EXPECT_NE(seeded->front().mae, (*plain)[0].mae);
}

// Bad overrides fail before any model trains: MLP would take minutes at a million steps.
TEST(Forecast, BadHyperParametersFailBeforeTraining) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  auto fails = [&](std::map<std::string, double> nhits, const std::string& expected) {
    ForecastConfig config = Quick({"MLP", "NHITS"}, 1000000);
    config.params["MLP"] = {{"hidden_size", 8}};
    config.params["NHITS"] = std::move(nhits);
    auto r = Forecast(*table, {}, config);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find(expected), std::string::npos) << r.status();
  };
  fails({{"mlp_unit", 8}},
        "NHITS: unknown hyper-parameter 'mlp_unit' (NHITS takes mlp_layers, "
        "mlp_units, n_blocks) or a training key (batch_size, learning_rate, max_steps, "
        "num_lr_decays, random_seed, windows_batch_size)");
  fails({{"mlp_units", 8.5}}, "NHITS: mlp_units must be a whole number, got 8.5");
  fails({{"learning_rate", 0}}, "NHITS: learning_rate must be > 0, got 0");
  fails({{"windows_batch_size", 0}},
        "NHITS: windows_batch_size must be a whole number in [1, 2147483647], got 0");
  fails({{"max_steps", -1}}, "NHITS: max_steps must be a whole number in [0, 2147483647], got -1");
  fails({{"random_seed", 1.5}},
        "NHITS: random_seed must be a whole number in [0, 9007199254740992], got 1.5");
  fails({{"num_lr_decays", 0}}, "NHITS: num_lr_decays (-1: no decay) must be a whole number");
  ForecastConfig config = Quick({"MLP"}, 1000000);
  config.params["MPL"] = {{"hidden_size", 8}};
  auto r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("hyper-parameters given: unknown model 'MPL'"),
            std::string::npos)
      << r.status();
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / ("drc_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(ModelParams, ReadFromYamlOrJson) {
  const std::string yaml = WriteTemp("params.yaml",
                                     "# overrides\n"
                                     "MLP:\n"
                                     "  hidden_size: 256\n"
                                     "  learning_rate: 1.0e-4\n"
                                     "  loss: MQLoss(level=[80, 95])\n"
                                     "DeepAR: {distribution: Normal, scaler_type: standard,\n"
                                     "         sample_trajectories: true}\n"
                                     "NBEATSx: {stack_types: [identity, trend, exogenous]}\n"
                                     "NHITS:\n");
  ForecastConfig config;
  ASSERT_TRUE(ReadModelParams(yaml, config).ok());
  EXPECT_EQ(config.params["MLP"]["hidden_size"], 256);
  EXPECT_EQ(config.params["MLP"]["learning_rate"], 1e-4);
  EXPECT_EQ(config.model_losses["MLP"], "MQLoss(level=[80, 95])");  // a plain YAML scalar
  EXPECT_EQ(config.params["DeepAR"]["distribution"], 1);
  EXPECT_EQ(config.params["DeepAR"]["sample_trajectories"], 1);
  EXPECT_EQ(config.params["DeepAR"].count("scaler_type"), 0u);
  EXPECT_EQ(config.model_scalers["DeepAR"], "standard");
  EXPECT_EQ(config.params.count("NHITS"), 0u);
  EXPECT_EQ(config.params["NBEATSx"]["stack_types"], 124);  // a list key: a digit per name
  const std::string json =
      WriteTemp("params.json", R"({"DeepAR": {"distribution": "StudentT", "h_train": 2}})");
  ASSERT_TRUE(ReadModelParams(json, config).ok());
  EXPECT_EQ(config.params["DeepAR"]["distribution"], 0);  // later values override
  EXPECT_EQ(config.params["DeepAR"]["h_train"], 2);
  EXPECT_EQ(config.params["MLP"]["hidden_size"], 256);
  ASSERT_TRUE(ParseModelParam("MLP.hidden_size=64", config).ok());
  EXPECT_EQ(config.params["MLP"]["hidden_size"], 64);
  ASSERT_TRUE(ParseModelParam("NHITS.scaler_type=robust", config).ok());
  EXPECT_EQ(config.model_scalers["NHITS"], "robust");
  // Flags as YAML and as Python (NF's signatures) spell them.
  for (const auto& [text, value] : {std::pair{"True", 1}, {"False", 0}, {"true", 1}}) {
    ASSERT_TRUE(ParseModelParam(std::string("LSTM.recurrent=") + text, config).ok()) << text;
    EXPECT_EQ(config.params["LSTM"]["recurrent"], value) << text;
  }
  // Names for the hyper-parameters whose NF values are names (named_params.h); NF lower-cases
  // rnn_type.
  ASSERT_TRUE(ParseModelParam("TFT.rnn_type=GRU", config).ok());
  EXPECT_EQ(config.params["TFT"]["rnn_type"], 1);
  ASSERT_TRUE(ParseModelParam("TFT.grn_activation=GELU", config).ok());
  EXPECT_EQ(config.params["TFT"]["grn_activation"], 7);
  ASSERT_TRUE(ParseModelParam("NBEATSx.stack_types=trend, exogenous", config).ok());
  EXPECT_EQ(config.params["NBEATSx"]["stack_types"], 24);
  ASSERT_TRUE(ParseModelParam("NBEATS.stack_types=[seasonality,trend]", config).ok());
  EXPECT_EQ(config.params["NBEATS"]["stack_types"], 32);
  // And back to the names, as the JSON lines show them.
  EXPECT_EQ(ParamText("stack_types", 32), "seasonality,trend");
  EXPECT_EQ(ParamText("stack_types", 1234), "identity,trend,seasonality,exogenous");
  EXPECT_EQ(ParamText("rnn_type", 1), "gru");
  EXPECT_EQ(ParamText("grn_activation", 7), "GELU");
  EXPECT_EQ(ParamText("stack_types", 15), "");  // no stack 5
  EXPECT_EQ(ParamText("rnn_type", 2), "");
  EXPECT_EQ(ParamText("hidden_size", 1), "");
  std::filesystem::remove(yaml);
  std::filesystem::remove(json);
}

TEST(ModelParams, ErrorsNameTheFileLineAndColumn) {
  auto error = [](const std::string& text) {
    const std::string path = WriteTemp("bad.yaml", text);
    ForecastConfig config;
    Status st = ReadModelParams(path, config);
    std::filesystem::remove(path);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
    std::string message = st.message();
    const auto at = message.find(path);
    EXPECT_EQ(at, 0u) << message;
    return at == 0 ? message.substr(path.size()) : message;
  };
  EXPECT_EQ(error("MLP:\n  hidden_size: big\n"),
            ":2:16: MLP.hidden_size: expected a number, got 'big'");
  EXPECT_EQ(
      error("DeepAR: {distribution: Gamma}"),
      ":1:24: DeepAR.distribution: expected a number or one of StudentT or Normal, got 'Gamma'");
  EXPECT_EQ(error("MLP: {scaler_type: log}"),
            ":1:20: MLP.scaler_type: unknown scaler 'log' (identity, standard, robust, minmax or "
            "revin)");
  EXPECT_EQ(error("MLP: {hidden_size: [1, 2]}"), ":1:20: MLP.hidden_size: expected one value");
  EXPECT_EQ(error("NBEATSx: {stack_types: [trend, fourier]}"),
            ":1:24: NBEATSx.stack_types: expected a number or a list of identity, trend, "
            "seasonality or exogenous, got 'trend,fourier'");
  EXPECT_EQ(error("NBEATSx: {stack_types: [trend, [identity]]}"),
            ":1:32: NBEATSx.stack_types: expected a list of identity, trend, seasonality or "
            "exogenous");
  EXPECT_EQ(error("MLP: 3\n"),
            ":1:6: MLP: expected a mapping from hyper-parameter names to values");
  EXPECT_EQ(error("- MLP\n").rfind(":1:1: expected a mapping from model names", 0), 0u);
  EXPECT_EQ(error("MLP: {hidden_size: 3\n").rfind(":2:1: ", 0), 0u);  // YAML's own message
  ForecastConfig config;
  EXPECT_EQ(ReadModelParams("/no/such/params.yaml", config).code(), StatusCode::kIOError);
  for (const std::string text : {"MLP.hidden_size", "hidden_size=3", "MLP.=3", ".x=1"}) {
    Status st = ParseModelParam(text, config);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(st.message().find("MODEL.KEY"), std::string::npos) << st;
  }
  Status st = ParseModelParam("MLP.hidden_size=1e", config);
  EXPECT_NE(st.message().find("MLP.hidden_size: expected a number, got '1e'"), std::string::npos)
      << st;
  st = ParseModelParam("TFT.grn_activation=gelu", config);  // NF's names are case-sensitive
  EXPECT_NE(st.message().find("TFT.grn_activation: expected a number or one of ELU, ReLU, "
                              "Softplus, Tanh, SELU, LeakyReLU, Sigmoid or GELU, got 'gelu'"),
            std::string::npos)
      << st;
  EXPECT_TRUE(config.params.empty());
}

std::vector<std::string> ColumnNames(const arrow::Table& t) {
  std::vector<std::string> names;
  for (const auto& f : t.schema()->fields()) names.push_back(f->name());
  return names;
}

std::vector<double> Doubles(const arrow::Table& t, const std::string& name) {
  std::vector<double> v;
  for (const auto& chunk : t.GetColumnByName(name)->chunks()) {
    const auto& a = static_cast<const arrow::DoubleArray&>(*chunk);
    v.insert(v.end(), a.raw_values(), a.raw_values() + a.length());
  }
  return v;
}

// Cross-validation as NF's cross_validation(refit=False): one model trained without the last
// h + step * (windows - 1) points forecasts h from each cutoff; window 0 is the held-out forecast
// of the series cut at its end, and the later windows see the series up to their cutoffs.
TEST(Forecast, CrossValidationWindows) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ((*table)->num_rows(), 298);
  ForecastConfig config = Quick({"MLP"}, 5);
  config.params["MLP"] = {{"hidden_size", 32}};
  config.cv_windows = 3;
  config.cv_step = 12;
  auto cv = Forecast(*table, {}, config);
  ASSERT_TRUE(cv.ok()) << cv.status();
  const auto& p = *cv->front().predictions;
  EXPECT_EQ(ColumnNames(p), (std::vector<std::string>{"unique_id", "ds", "cutoff", "y", "y_hat"}));
  ASSERT_EQ(p.num_rows(), 3 * 24);
  // The rows of window w are the CSV's rows 250 + 12 w + j; its cutoff is row 249 + 12 w.
  auto ds = (*table)->GetColumnByName("ds");
  const std::vector<double> y = Doubles(p, "y"), y_hat = Doubles(p, "y_hat");
  auto y_csv = arrow::compute::Cast((*table)->GetColumnByName("y"), arrow::float64());
  ASSERT_TRUE(y_csv.ok());
  double abs_error = 0;
  for (int w = 0; w < 3; ++w) {
    for (int j = 0; j < 24; ++j) {
      const int64_t row = w * 24 + j, csv = 250 + 12 * w + j;
      EXPECT_TRUE(p.GetColumnByName("ds")->GetScalar(row).ValueOrDie()->Equals(
          *ds->GetScalar(csv).ValueOrDie()))
          << row;
      EXPECT_TRUE(p.GetColumnByName("cutoff")->GetScalar(row).ValueOrDie()->Equals(
          *ds->GetScalar(249 + 12 * w).ValueOrDie()))
          << row;
      auto actual = y_csv->chunked_array()->GetScalar(csv).ValueOrDie();
      EXPECT_EQ(y[row], std::static_pointer_cast<arrow::DoubleScalar>(actual)->value) << row;
      abs_error += std::abs(y[row] - y_hat[row]);
    }
  }
  EXPECT_NEAR(cv->front().mae, abs_error / 72, 1e-9 * abs_error);
  // Window 0 is the plain forecast of the first 274 rows (trained on the first 250).
  ForecastConfig plain = config;
  plain.cv_windows = 0;
  auto first = Forecast((*table)->Slice(0, 274), {}, plain);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::vector<double> y_hat0 = Doubles(*first->front().predictions, "y_hat");
  ASSERT_EQ(y_hat0.size(), 24u);
  for (int j = 0; j < 24; ++j) EXPECT_DOUBLE_EQ(y_hat[j], y_hat0[j]) << j;
  // The later windows are forecasts from later inputs, not copies of window 0.
  EXPECT_NE(y_hat[24], y_hat[0]);
  // Untrained (no steps), a model's forecast depends only on its input: the last window's is
  // the plain forecast from the same cutoff, for each model (NBEATS and NHITS once altered a
  // bias on every one-series forecast, so their later windows differed).
  ForecastConfig untrained = Quick({"MLP", "NBEATS", "NHITS"}, 0);
  untrained.cv_windows = 3;
  untrained.cv_step = 12;
  auto windows = Forecast(*table, {}, untrained);
  ASSERT_TRUE(windows.ok()) << windows.status();
  untrained.cv_windows = 0;
  auto last = Forecast(*table, {}, untrained);
  ASSERT_TRUE(last.ok()) << last.status();
  for (size_t m = 0; m < 3; ++m) {
    const std::vector<double> all = Doubles(*(*windows)[m].predictions, "y_hat");
    const std::vector<double> plain_last = Doubles(*(*last)[m].predictions, "y_hat");
    ASSERT_EQ(all.size(), 72u);
    for (int j = 0; j < 24; ++j) {
      EXPECT_DOUBLE_EQ(all[48 + j], plain_last[j]) << untrained.models[m] << " step " << j;
    }
  }

  // What it does not go with, and series too short for it.
  config.future = true;
  auto r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not go with future"), std::string::npos) << r.status();
  config.future = false;
  config.level = {80};
  config.conformal_windows = 2;
  r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("conformal intervals within cross-validation need "
                                      "cv_refit >= 1"),
            std::string::npos)
      << r.status();
  config.level.clear();
  config.conformal_windows = 0;
  config.cv_step = 0;
  r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cv_step >= 1"), std::string::npos) << r.status();
  config.cv_step = 1 << 20;
  config.cv_windows = 1 << 20;  // h + step * (windows - 1) would overflow an int
  r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("at most 2^30"), std::string::npos) << r.status();
  config.cv_step = 12;
  config.cv_windows = 30;
  r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("h + cv_step * (cv_windows - 1) = 372"), std::string::npos)
      << r.status();
}

// A finished checkpoint is a trained model (NF's save, then load and predict(df=...)): resumed
// on the series with 12 more months it trains no more and forecasts from the new months, as the
// second window of a cross-validation that trained once on the same 250 months does.
TEST(Forecast, FinishedCheckpointForecastsNewData) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config = Quick({"MLP"}, 5);
  config.params["MLP"] = {{"hidden_size", 32}};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("drc_forecast_new_data_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  config.checkpoint_dir = dir.string();
  ASSERT_TRUE(Forecast((*table)->Slice(0, 274), {}, config).ok());  // trained on 250 months
  config.resume = true;
  auto later = Forecast((*table)->Slice(0, 286), {}, config);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->front().steps, 5);
  std::filesystem::remove_all(dir);
  ForecastConfig cv = Quick({"MLP"}, 5);
  cv.params = config.params;
  cv.cv_windows = 2;
  cv.cv_step = 12;
  auto windows = Forecast((*table)->Slice(0, 286), {}, cv);
  ASSERT_TRUE(windows.ok()) << windows.status();
  const std::vector<double> y_hat = Doubles(*later->front().predictions, "y_hat"),
                            y_cv = Doubles(*windows->front().predictions, "y_hat");
  ASSERT_EQ(y_hat.size(), 24u);
  ASSERT_EQ(y_cv.size(), 48u);
  for (int j = 0; j < 24; ++j) EXPECT_DOUBLE_EQ(y_hat[j], y_cv[24 + j]) << j;
  // Without the checkpoint the run trains on the 262 months instead.
  config.checkpoint_dir.clear();
  config.resume = false;
  auto retrained = Forecast((*table)->Slice(0, 286), {}, config);
  ASSERT_TRUE(retrained.ok()) << retrained.status();
  EXPECT_NE(Doubles(*retrained->front().predictions, "y_hat")[0], y_hat[0]);
}

// Cross-validation with refit (NF's refit=True or an int): each window whose index is a
// multiple of cv_refit trains a model afresh on each series up to its cutoff, so its forecast
// (and its conformal intervals, calibrated on that data) is exactly a plain run's on the series
// cut at that cutoff + h; the windows between are forecast by the last fit. With a checkpoint
// directory each fit has its own file and a resumed run forecasts the same.
TEST(Forecast, CrossValidationRefit) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config = Quick({"MLP"}, 5);
  config.params["MLP"] = {{"hidden_size", 32}};
  config.cv_windows = 3;
  config.cv_step = 12;
  config.cv_refit = 1;
  config.level = {80};
  config.conformal_windows = 2;
  auto cv = Forecast(*table, {}, config);
  ASSERT_TRUE(cv.ok()) << cv.status();
  const auto& p = *cv->front().predictions;
  EXPECT_EQ(ColumnNames(p), (std::vector<std::string>{"unique_id", "ds", "cutoff", "y", "y_hat",
                                                      "y_hat-lo-80", "y_hat-hi-80"}));
  ASSERT_EQ(p.num_rows(), 3 * 24);
  const std::vector<double> y_hat = Doubles(p, "y_hat"), lo = Doubles(p, "y_hat-lo-80"),
                            hi = Doubles(p, "y_hat-hi-80");
  ForecastConfig plain = config;
  plain.cv_windows = 0;
  plain.cv_refit = 0;
  for (int w = 0; w < 3; ++w) {
    auto cut = Forecast((*table)->Slice(0, 274 + 12 * w), {}, plain);
    ASSERT_TRUE(cut.ok()) << cut.status();
    const auto& q = *cut->front().predictions;
    const std::vector<double> y_hat_w = Doubles(q, "y_hat"), lo_w = Doubles(q, "y_hat-lo-80"),
                              hi_w = Doubles(q, "y_hat-hi-80");
    ASSERT_EQ(y_hat_w.size(), 24u);
    for (int j = 0; j < 24; ++j) {
      EXPECT_DOUBLE_EQ(y_hat[24 * w + j], y_hat_w[j]) << "window " << w << " step " << j;
      EXPECT_DOUBLE_EQ(lo[24 * w + j], lo_w[j]) << "window " << w << " step " << j;
      EXPECT_DOUBLE_EQ(hi[24 * w + j], hi_w[j]) << "window " << w << " step " << j;
    }
  }
  // Every second window: window 1 is forecast by window 0's fit (as without refit), window 2
  // by its own.
  config.level.clear();
  config.conformal_windows = 0;
  config.cv_refit = 0;
  auto once = Forecast(*table, {}, config);
  ASSERT_TRUE(once.ok()) << once.status();
  config.cv_refit = 2;
  auto every2 = Forecast(*table, {}, config);
  ASSERT_TRUE(every2.ok()) << every2.status();
  const std::vector<double> y_once = Doubles(*once->front().predictions, "y_hat"),
                            y_every2 = Doubles(*every2->front().predictions, "y_hat");
  for (int j = 0; j < 48; ++j) EXPECT_DOUBLE_EQ(y_every2[j], y_once[j]) << j;
  for (int j = 48; j < 72; ++j) EXPECT_DOUBLE_EQ(y_every2[j], y_hat[j]) << j;
  EXPECT_NE(y_once[48], y_hat[48]);
  // One checkpoint per fit; a resumed run trains no more and forecasts the same.
  const auto dir =
      std::filesystem::temp_directory_path() / ("drc_cv_refit_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  config.checkpoint_dir = dir.string();
  auto saved = Forecast(*table, {}, config);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(std::filesystem::exists(dir / "MLP.ckpt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "MLP.cv1.ckpt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "MLP.cv2.ckpt"));
  config.resume = true;
  auto resumed = Forecast(*table, {}, config);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->front().steps, 5);
  EXPECT_TRUE(resumed->front().predictions->GetColumnByName("y_hat")->Equals(
      every2->front().predictions->GetColumnByName("y_hat")));
  std::filesystem::remove_all(dir);
  // What it needs.
  config.checkpoint_dir.clear();
  config.resume = false;
  config.cv_refit = -1;
  auto r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cv_refit must be >= 0"), std::string::npos) << r.status();
  config.cv_refit = 1;
  config.cv_windows = 0;
  r = Forecast(*table, {}, config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("needs cv_windows >= 1"), std::string::npos) << r.status();
}

// warm_start chains a model's fits in NF's order. A refit window's fit goes on from the fit
// before it, and a fit with conformal intervals goes on from its calibration model. So two
// chains of the same data agree: cross-validation over 2 windows 36 apart (fit on all but the
// last 60 points, then on all but the last 24) forecasts its last window as the plain forecast
// whose calibration (2 windows 12 apart: all but 24 + 36) comes before its fit. Without warm
// starts the forecast differs; the first fit is the same either way.
TEST(Forecast, WarmStartChainsTheFits) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config = Quick({"MLP"}, 5);
  config.params["MLP"] = {{"hidden_size", 32}};
  config.warm_start = true;
  config.cv_windows = 2;
  config.cv_step = 36;
  config.cv_refit = 1;
  auto cv = Forecast(*table, {}, config);
  ASSERT_TRUE(cv.ok()) << cv.status();
  ForecastConfig plain = config;
  plain.cv_windows = 0;
  plain.cv_refit = 0;
  plain.level = {80};
  plain.conformal_windows = 2;
  plain.conformal_step = 12;
  auto calibrated = Forecast(*table, {}, plain);
  ASSERT_TRUE(calibrated.ok()) << calibrated.status();
  config.warm_start = false;
  auto cold = Forecast(*table, {}, config);
  ASSERT_TRUE(cold.ok()) << cold.status();
  const std::vector<double> warm = Doubles(*cv->front().predictions, "y_hat"),
                            chained = Doubles(*calibrated->front().predictions, "y_hat"),
                            from_init = Doubles(*cold->front().predictions, "y_hat");
  ASSERT_EQ(warm.size(), 48u);
  ASSERT_EQ(chained.size(), 24u);
  for (int j = 0; j < 24; ++j) {
    EXPECT_DOUBLE_EQ(warm[j], from_init[j]) << j;
    EXPECT_DOUBLE_EQ(warm[24 + j], chained[j]) << j;
  }
  EXPECT_NE(warm[24], from_init[24]);
  // Across windows with intervals: each window's calibration copy goes on from the previous
  // window's fit. Windows 50 apart, calibrated 25 points before their cutoffs, chain the same
  // fits as a chain without intervals over windows 25 apart (cutoffs 99, 74, 49 and 24 points
  // before the end): its second and fourth windows are the first's and second's.
  ForecastConfig calibrated_cv = plain;
  calibrated_cv.cv_windows = 2;
  calibrated_cv.cv_step = 50;
  calibrated_cv.cv_refit = 1;
  calibrated_cv.conformal_step = 1;
  auto chain = Forecast(*table, {}, calibrated_cv);
  ASSERT_TRUE(chain.ok()) << chain.status();
  config.warm_start = true;
  config.cv_windows = 4;
  config.cv_step = 25;
  auto fits = Forecast(*table, {}, config);
  ASSERT_TRUE(fits.ok()) << fits.status();
  const std::vector<double> y_chain = Doubles(*chain->front().predictions, "y_hat"),
                            y_fits = Doubles(*fits->front().predictions, "y_hat");
  ASSERT_EQ(y_chain.size(), 48u);
  ASSERT_EQ(y_fits.size(), 96u);
  for (int j = 0; j < 24; ++j) {
    EXPECT_DOUBLE_EQ(y_chain[j], y_fits[24 + j]) << j;
    EXPECT_DOUBLE_EQ(y_chain[24 + j], y_fits[72 + j]) << j;
  }
  // With a single fit there is nothing to chain.
  plain.level.clear();
  plain.conformal_windows = 0;
  auto r = Forecast(*table, {}, plain);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("warm_start chains"), std::string::npos) << r.status();
}

// init_from: a run that starts from an earlier run's checkpoint goes on from its weights. A
// refit cross-validation's first window, checkpointed, then trained on from its checkpoint over
// the data up to the second cutoff, forecasts as the warm-started cross-validation's second
// window does. A missing checkpoint, the run's own checkpoint folder, and a model of other
// hyper-parameters are refused.
TEST(Forecast, InitFromGoesOnFromACheckpoint) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("drc_forecast_init_from_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ForecastConfig config = Quick({"MLP"}, 5);
  config.params["MLP"] = {{"hidden_size", 32}};
  config.cv_windows = 2;
  config.cv_step = 36;
  config.cv_refit = 1;
  config.warm_start = true;
  auto warm = Forecast(*table, {}, config);
  ASSERT_TRUE(warm.ok()) << warm.status();
  config.warm_start = false;
  config.checkpoint_dir = (dir / "first").string();  // window 0's fit: first/MLP.ckpt
  ASSERT_TRUE(Forecast(*table, {}, config).ok());
  ForecastConfig on = Quick({"MLP"}, 5);
  on.params = config.params;
  on.init_from = config.checkpoint_dir;
  auto loaded = Forecast(*table, {}, on);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const std::vector<double> chained = Doubles(*warm->front().predictions, "y_hat"),
                            from_file = Doubles(*loaded->front().predictions, "y_hat");
  ASSERT_EQ(chained.size(), 48u);
  ASSERT_EQ(from_file.size(), 24u);
  for (int j = 0; j < 24; ++j) EXPECT_DOUBLE_EQ(from_file[j], chained[24 + j]) << j;
  on.init_from.clear();
  auto cold = Forecast(*table, {}, on);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_NE(Doubles(*cold->front().predictions, "y_hat")[0], from_file[0]);

  on.init_from = (dir / "empty").string();
  auto r = Forecast(*table, {}, on);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find("has no MLP.ckpt"), std::string::npos) << r.status();
  on.init_from = config.checkpoint_dir;
  on.checkpoint_dir = config.checkpoint_dir;
  r = Forecast(*table, {}, on);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("the same folder"), std::string::npos) << r.status();
  on.checkpoint_dir.clear();
  on.params["MLP"] = {{"hidden_size", 16}};
  r = Forecast(*table, {}, on);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("MLP.ckpt: param '"), std::string::npos) << r.status();
  std::filesystem::remove_all(dir);
}

// Prediction intervals as NeuralForecast's predict() names them: DeepAR's default output is
// the mean, the median and the 80 and 90 intervals; given levels give only their intervals,
// ascending by quantile. Coverage is the share of held-out values inside. The point forecast
// does not depend on the draws behind the quantiles. Point models have none, and asking them
// for levels is an error before any training.
TEST(Forecast, PredictionIntervalsAsNeuralForecastNamesThem) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config = Quick({"MLP", "DeepAR"}, 5);
  config.scaler = "standard";
  config.params["DeepAR"] = {{"lstm_hidden_size", 16}};
  auto r = Forecast(*table, {}, config);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ColumnNames(*(*r)[0].predictions),
            (std::vector<std::string>{"unique_id", "ds", "y", "y_hat"}));
  EXPECT_TRUE((*r)[0].intervals.empty());
  const auto& deepar = (*r)[1];
  EXPECT_EQ(ColumnNames(*deepar.predictions),
            (std::vector<std::string>{"unique_id", "ds", "y", "y_hat", "y_hat-median",
                                      "y_hat-lo-90", "y_hat-lo-80", "y_hat-hi-80", "y_hat-hi-90"}));
  const auto y = Doubles(*deepar.predictions, "y");
  const auto lo90 = Doubles(*deepar.predictions, "y_hat-lo-90");
  const auto lo80 = Doubles(*deepar.predictions, "y_hat-lo-80");
  const auto median = Doubles(*deepar.predictions, "y_hat-median");
  const auto hi80 = Doubles(*deepar.predictions, "y_hat-hi-80");
  const auto hi90 = Doubles(*deepar.predictions, "y_hat-hi-90");
  int inside80 = 0, inside90 = 0;
  double width80 = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_LE(lo90[i], lo80[i]);
    EXPECT_LE(lo80[i], median[i]);
    EXPECT_LE(median[i], hi80[i]);
    EXPECT_LE(hi80[i], hi90[i]);
    EXPECT_LT(lo90[i], hi90[i]);
    inside80 += lo80[i] <= y[i] && y[i] <= hi80[i];
    inside90 += lo90[i] <= y[i] && y[i] <= hi90[i];
    width80 += hi80[i] - lo80[i];
  }
  ASSERT_EQ(deepar.intervals.size(), 2u);
  EXPECT_DOUBLE_EQ(deepar.intervals.at(80).coverage, inside80 / 24.0);
  EXPECT_DOUBLE_EQ(deepar.intervals.at(90).coverage, inside90 / 24.0);
  EXPECT_NEAR(deepar.intervals.at(80).width, width80 / 24.0, 1e-9 * width80);

  config.models = {"DeepAR"};
  config.level = {97.5, 50, 50};
  auto given = Forecast(*table, {}, config);
  ASSERT_TRUE(given.ok()) << given.status();
  const auto& p = *(*given)[0].predictions;
  EXPECT_EQ(ColumnNames(p),
            (std::vector<std::string>{"unique_id", "ds", "y", "y_hat", "y_hat-lo-97.5",
                                      "y_hat-lo-50", "y_hat-hi-50", "y_hat-hi-97.5"}));
  EXPECT_TRUE(p.GetColumnByName("y_hat")->Equals(deepar.predictions->GetColumnByName("y_hat")));
  EXPECT_EQ((*given)[0].intervals.size(), 2u);

  config.future = true;
  auto future = Forecast(*table, {}, config);
  ASSERT_TRUE(future.ok()) << future.status();
  EXPECT_EQ(ColumnNames(*(*future)[0].predictions), ColumnNames(p));
  ASSERT_EQ((*future)[0].intervals.size(), 2u);
  EXPECT_TRUE(std::isnan((*future)[0].intervals.at(50).coverage));
  EXPECT_GT((*future)[0].intervals.at(50).width, 0);
  config.future = false;

  config.models = {"DeepAR", "MLP"};
  auto point = Forecast(*table, {}, config);
  ASSERT_FALSE(point.ok());
  EXPECT_EQ(point.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(point.status().message().find("MLP gives point forecasts only (loss MAE)"),
            std::string::npos)
      << point.status();
  config.models = {"DeepAR"};
  config.level = {80, 100};
  auto bad = Forecast(*table, {}, config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("level 100 is not in (0, 100)"), std::string::npos)
      << bad.status();
}

// Conformal intervals for a point model (NF's PredictionIntervals): NF's names without a
// median; symmetric about the forecast (both methods take forecast -+ scores); the 90 %
// interval holds the 80 % one; the forecast is that of the run without intervals (the
// calibration copy trains first, on its own); coverage is read off the columns. Settings that
// cannot work are errors before or at the calibration, naming it.
TEST(Forecast, ConformalIntervalsForPointModels) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config = Quick({"MLP"}, 10);
  config.params["MLP"] = {{"hidden_size", 64}};
  auto plain = Forecast(*table, {}, config);
  ASSERT_TRUE(plain.ok()) << plain.status();
  config.level = {90, 80};
  config.conformal_windows = 2;
  for (const std::string method : {"conformal_distribution", "conformal_error"}) {
    config.conformal_method = method;
    config.conformal_step = method == "conformal_error" ? 3 : 1;
    auto r = Forecast(*table, {}, config);
    ASSERT_TRUE(r.ok()) << r.status();
    const auto& p = *(*r)[0].predictions;
    EXPECT_EQ(ColumnNames(p),
              (std::vector<std::string>{"unique_id", "ds", "y", "y_hat", "y_hat-lo-90",
                                        "y_hat-lo-80", "y_hat-hi-80", "y_hat-hi-90"}));
    EXPECT_TRUE(
        p.GetColumnByName("y_hat")->Equals((*plain)[0].predictions->GetColumnByName("y_hat")));
    const auto y = Doubles(p, "y"), y_hat = Doubles(p, "y_hat");
    const auto lo90 = Doubles(p, "y_hat-lo-90"), lo80 = Doubles(p, "y_hat-lo-80");
    const auto hi80 = Doubles(p, "y_hat-hi-80"), hi90 = Doubles(p, "y_hat-hi-90");
    int inside80 = 0;
    double width = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      EXPECT_NEAR(lo80[i] + hi80[i], 2 * y_hat[i], 1e-6 * std::abs(y_hat[i])) << method;
      EXPECT_NEAR(lo90[i] + hi90[i], 2 * y_hat[i], 1e-6 * std::abs(y_hat[i])) << method;
      EXPECT_LE(lo90[i], lo80[i]);
      EXPECT_LE(hi80[i], hi90[i]);
      inside80 += lo80[i] <= y[i] && y[i] <= hi80[i];
      width += hi90[i] - lo90[i];
    }
    EXPECT_GT(width, 0) << method;
    EXPECT_DOUBLE_EQ((*r)[0].intervals.at(80).coverage, inside80 / 24.0);
    EXPECT_NEAR((*r)[0].intervals.at(90).width, width / 24.0, 1e-9 * width);
  }

  config.conformal_windows = 1;
  auto one = Forecast(*table, {}, config);
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.status().message().find("conformal_windows must be 0 (none) or >= 2, got 1"),
            std::string::npos)
      << one.status();
  // 60 months: 36 to train on, all of which the calibration holds out (24 + 12 * (2 - 1)).
  config.conformal_windows = 2;
  config.conformal_step = 12;
  auto short_series = Forecast((*table)->Slice(0, 60), {}, config);
  ASSERT_FALSE(short_series.ok());
  EXPECT_EQ(short_series.status().message(),
            "Forecast: series '1' has 36 points to train on; conformal intervals with 2 windows "
            "need at least 37 (h + step * (windows - 1) + 1)")
      << short_series.status();
}

// --future trains on every point and forecasts past the end. Given the table without its last
// 24 months, that is the training data and the stamps of the usual held-out forecast on the
// whole table: the same forecasts, to the bit.
TEST(Forecast, FutureIsTheHeldOutForecastOfTheLongerSeries) {
  auto table = data::ReadCsv(CarrierCsv());
  ASSERT_TRUE(table.ok()) << table.status();
  ForecastConfig config = Quick({"MLP"}, 10);
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

// Three daily series y = 5 x + 10 k of 120 points, where x is noise known in advance (a future
// exogenous variable) and k the series' number (a static one).
data::TablePtr ExogenousPanel() {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise;
  std::string csv = "unique_id,ds,y,x,k,label\n";
  for (int k = 0; k < 3; ++k) {
    for (int day = 0; day < 120; ++day) {
      const double x = noise(rng);
      const std::chrono::year_month_day date{
          std::chrono::sys_days{std::chrono::year{2020} / 1 / 1} + std::chrono::days{day}};
      char row[128];
      std::snprintf(row, sizeof(row), "s%d,2020-%02u-%02u,%.6f,%.6f,%d,a\n", k,
                    static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                    5 * x + 10 * k, x, k);
      csv += row;
    }
  }
  auto table = data::ReadCsv(WriteTemp("exog.csv", csv));
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : nullptr;
}

class ExogenousForecast : public testing::TestWithParam<std::string> {};

TEST_P(ExogenousForecast, FutureExogenousVariablesReachTheForecast) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = Quick({GetParam()}, 200);
  config.horizon = 5;
  config.input_size = 10;
  config.freq = "D";
  if (GetParam() == "MLP") config.params["MLP"] = {{"hidden_size", 64}};
  if (GetParam() == "KAN") config.params["KAN"] = {{"hidden_size", 64}};
  if (GetParam() == "NHITS" || GetParam() == "NBEATSx") {
    config.params[GetParam()] = {{"mlp_units", 64}};
  }
  const bool transformer = GetParam() == "VanillaTransformer" || GetParam() == "Autoformer" ||
                           GetParam() == "FEDformer" || GetParam() == "Informer";
  if (GetParam() == "DeepAR") {
    config.params["DeepAR"] = {{"lstm_hidden_size", 32}, {"lstm_dropout", 0.0}};
  } else if (transformer) {  // NF's lr 1e-4 is slow for 100 steps
    // Informer's sparse attention learns x more slowly: 1.63 against 5.19 without in 100 steps.
    // From their seed-1 initial weights (NF's), FEDformer's cross-validation reaches 1.50 against
    // 4.97 without in 100 steps, and Autoformer's 1.54 against 5.48 (1.26 and 1.32 in 150).
    const bool decomposition = GetParam() == "Autoformer" || GetParam() == "FEDformer";
    config.max_steps = GetParam() == "Informer" ? 200 : decomposition ? 150 : 100;
    config.params[GetParam()] = {{"hidden_size", 16},
                                 {"conv_hidden_size", 16},
                                 {"learning_rate", 1e-3},
                                 {"windows_batch_size", 128}};
  } else if (GetParam() == "TFT") {
    config.params["TFT"] = {{"hidden_size", 16}, {"n_head", 2}, {"dropout", 0.0}};
  } else if (GetParam() == "BiTCN") {
    config.params["BiTCN"] = {{"dropout", 0.0}};
  } else if (GetParam() == "TiDE") {
    config.params["TiDE"] = {{"hidden_size", 64},
                             {"temporal_decoder_dim", 32},
                             {"dropout", 0.0},
                             {"temporal_decoder_layernorm", 0}};
  } else if (GetParam() != "MLP" && GetParam() != "NHITS" && GetParam() != "NBEATSx" &&
             GetParam() != "KAN") {  // the encoder-decoder models
    config.params[GetParam()] = {{"encoder_hidden_size", 16}, {"decoder_hidden_size", 32}};
  }
  config.scaler = "standard";
  auto without = Forecast(table, {}, config);
  ASSERT_TRUE(without.ok()) << without.status();
  config.futr_exog = {"x"};
  auto with = Forecast(table, {}, config);
  ASSERT_TRUE(with.ok()) << with.status();
  // y is noise without x (MAE about 5 * 0.8); with the held-out x it is a linear function.
  // KAN's splines learn it more slowly, as NF's: 1.71 against 5.11 without in 200 steps here;
  // NF's KAN 0.95 against 3.46 on a panel like this one (MLP: 0.22 against 3.17).
  const double gain = GetParam() == "KAN" ? 0.4 : 0.3;
  EXPECT_GT((*without)[0].mae, 2.5);
  EXPECT_LT((*with)[0].mae, gain * (*without)[0].mae);
  // Cross-validation forecasts from each cutoff with the x that follows it.
  config.cv_windows = 2;
  auto cv = Forecast(table, {}, config);
  ASSERT_TRUE(cv.ok()) << cv.status();
  EXPECT_LT((*cv)[0].mae, gain * (*without)[0].mae);
  // Historic and static variables reach the model too (its forecasts change); NF's transformers
  // read neither.
  if (transformer) return;
  config.cv_windows = 0;
  config.futr_exog.clear();
  config.hist_exog = {"x"};
  config.stat_exog = {"k"};
  auto other = Forecast(table, {}, config);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE((*other)[0].predictions->GetColumnByName("y_hat")->Equals(
      (*without)[0].predictions->GetColumnByName("y_hat")));
}

INSTANTIATE_TEST_SUITE_P(Models, ExogenousForecast,
                         testing::Values("MLP", "NHITS", "TCN", "RNN", "LSTM", "GRU", "DilatedRNN",
                                         "DeepAR", "TFT", "TiDE", "BiTCN", "NBEATSx",
                                         "VanillaTransformer", "Autoformer", "FEDformer",
                                         "Informer", "KAN"));

// `rows` of `table`, in that order.
data::TablePtr TakeRows(const data::TablePtr& table, const std::vector<int64_t>& rows) {
  arrow::Int64Builder b;
  EXPECT_TRUE(b.AppendValues(rows).ok());
  auto taken = arrow::compute::Take(table, *b.Finish());
  EXPECT_TRUE(taken.ok()) << taken.status();
  return taken.ok() ? taken->table() : nullptr;
}

// The forecast after the series' ends with the future values given (NF's futr_df) is the held-out
// forecast of the series that go on to those values.
TEST(Forecast, FutureExogenousValuesAfterTheEnd) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = Quick({"MLP"}, 20);
  config.horizon = 5;
  config.input_size = 10;
  config.freq = "D";
  config.futr_exog = {"x"};
  config.params["MLP"] = {{"hidden_size", 64}};
  auto held_out = Forecast(table, {}, config);
  ASSERT_TRUE(held_out.ok()) << held_out.status();
  // Each series' last 5 rows become the future values (in reverse order: rows are found by
  // series and stamp), the rest the table.
  std::vector<int64_t> kept, future;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    (row % 120 < 115 ? kept : future).push_back(row);
  }
  std::reverse(future.begin(), future.end());
  auto take = [&](const std::vector<int64_t>& rows) { return TakeRows(table, rows); };
  config.future = true;
  config.futr_data = take(future);
  auto after = Forecast(take(kept), {}, config);
  ASSERT_TRUE(after.ok()) << after.status();
  const auto& want = *(*held_out)[0].predictions;
  const auto& got = *(*after)[0].predictions;
  EXPECT_TRUE(got.GetColumnByName("ds")->Equals(want.GetColumnByName("ds")));
  EXPECT_TRUE(got.GetColumnByName("y_hat")->Equals(want.GetColumnByName("y_hat")));
  // A stamp of the horizon without its row is named.
  config.futr_data = take(std::vector<int64_t>(future.begin() + 1, future.end()));
  auto missing = Forecast(take(kept), {}, config);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(
      missing.status().message(),
      "Forecast: the future values (futr_data) have no row for series 's2' at 2020-04-29; the "
      "forecast needs one per series and stamp of its horizon");
}

// The error of a daily forecast (h = 5 from 10) of `table` under `config`, or "ok".
std::string DailyError(const data::TablePtr& table, ForecastConfig config) {
  config.horizon = 5;
  config.input_size = 10;
  config.freq = "D";
  if (config.models.empty()) config.models = {"MLP"};
  auto r = Forecast(table, {}, config);
  return r.ok() ? std::string("ok") : r.status().message();
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// TFT's variable importances: per kind and step the mean selection weights of the windows
// forecast from, in NF's order and names, each step's adding up to 1; over cross-validation
// windows too. Models that select no variables, and categorical variables, are refused before
// any training.
TEST(Forecast, TftVariableImportances) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = Quick({"TFT"}, 5);
  config.horizon = 5;
  config.input_size = 10;
  config.freq = "D";
  config.params["TFT"] = {{"hidden_size", 8}, {"n_head", 2}};
  config.futr_exog = {"x"};
  config.stat_exog = {"k"};
  config.importances = true;
  struct Row {
    std::string kind, variable;
    std::optional<int64_t> step;
    double importance;
  };
  auto rows_of = [](const data::TablePtr& t) {
    std::vector<Row> rows;
    auto kind = std::static_pointer_cast<arrow::StringArray>(t->GetColumnByName("kind")->chunk(0));
    auto variable =
        std::static_pointer_cast<arrow::StringArray>(t->GetColumnByName("variable")->chunk(0));
    auto step = std::static_pointer_cast<arrow::Int64Array>(t->GetColumnByName("step")->chunk(0));
    auto importance =
        std::static_pointer_cast<arrow::DoubleArray>(t->GetColumnByName("importance")->chunk(0));
    for (int64_t i = 0; i < t->num_rows(); ++i) {
      rows.push_back({kind->GetString(i), variable->GetString(i),
                      step->IsNull(i) ? std::nullopt : std::optional<int64_t>(step->Value(i)),
                      importance->Value(i)});
    }
    return rows;
  };
  for (int cv_windows : {0, 2}) {
    SCOPED_TRACE("cv_windows " + std::to_string(cv_windows));
    config.cv_windows = cv_windows;
    auto r = Forecast(table, {}, config);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*r)[0].importances);
    const std::vector<Row> rows = rows_of((*r)[0].importances);
    // History: 10 steps x (x, observed_target); future: 5 steps x x; static: k; attention: 5
    // horizon steps x 15 steps attended to.
    ASSERT_EQ(rows.size(), 10u * 2 + 5 + 1 + 5 * 15);
    std::map<std::pair<std::string, int64_t>, double> per_step;
    for (size_t i = 26; i < rows.size(); ++i) {
      const Row& row = rows[i];
      const int64_t key = static_cast<int64_t>(i - 26) % 15;  // 0 .. 9: t-10 .. t-1
      EXPECT_EQ(row.kind, "attention");
      EXPECT_EQ(row.step, 1 + static_cast<int64_t>(i - 26) / 15);
      EXPECT_EQ(row.variable,
                key < 10 ? "t" + std::to_string(key - 10) : "t+" + std::to_string(key - 9));
      // Causal: horizon step s attends to the input and the horizon steps up to itself.
      if (key >= 10 + *row.step) {
        EXPECT_EQ(row.importance, 0) << row.variable << " from step " << *row.step;
      } else {
        EXPECT_GT(row.importance, 0);
      }
      per_step[{row.kind, *row.step}] += row.importance;
    }
    for (size_t i = 0; i < 26; ++i) {
      const Row& row = rows[i];
      EXPECT_GT(row.importance, 0);
      EXPECT_LE(row.importance, 1);
      if (i < 20) {
        EXPECT_EQ(row.kind, "history");
        EXPECT_EQ(row.variable, (std::vector<std::string>{"x", "observed_target"}[i % 2]));
        EXPECT_EQ(row.step, -10 + static_cast<int64_t>(i / 2));
      } else if (i < 25) {
        EXPECT_EQ(row.kind, "future");
        EXPECT_EQ(row.variable, "x");
        EXPECT_EQ(row.step, static_cast<int64_t>(i) - 19);
      } else {
        EXPECT_EQ(row.kind, "static");
        EXPECT_EQ(row.variable, "k");
        EXPECT_FALSE(row.step.has_value());
      }
      per_step[{row.kind, row.step.value_or(0)}] += row.importance;
    }
    for (const auto& [key, total] : per_step) {
      EXPECT_NEAR(total, 1, 1e-6) << key.first << " step " << key.second;
    }
  }
  // Without future variables, the window's last value stands in (NF's repeated_target).
  config.cv_windows = 0;
  config.futr_exog.clear();
  config.stat_exog.clear();
  auto plain = Forecast(table, {}, config);
  ASSERT_TRUE(plain.ok()) << plain.status();
  const std::vector<Row> rows = rows_of((*plain)[0].importances);
  ASSERT_EQ(rows.size(), 20u + 5 * 15);  // history, then attention
  EXPECT_EQ(rows[0].variable, "repeated_target");
  EXPECT_EQ(rows[1].variable, "observed_target");
  // Refused before any training.
  EXPECT_EQ(DailyError(table,
                       [&] {
                         ForecastConfig c = config;
                         c.models = {"TFT", "MLP"};
                         return c;
                       }()),
            "Forecast: MLP selects no variables, so it gives no importances (TFT does)");
  ForecastConfig categorical = config;
  categorical.futr_exog = {"label"};
  categorical.cat_exog = {"label"};
  EXPECT_TRUE(Has(DailyError(table, categorical),
                  "Forecast: importances with categorical variables are not built"));
  // Without importances asked, none are computed.
  config.importances = false;
  auto without = Forecast(table, {}, config);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_FALSE((*without)[0].importances);
}

TEST(Forecast, ExogenousErrorsAreClear) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  auto error = [&](const ForecastConfig& config) { return DailyError(table, config); };
  ForecastConfig c = Quick({"NBEATS"}, 1);
  c.futr_exog = {"x"};
  EXPECT_TRUE(
      Has(error(c),
          "NBEATS does not read future exogenous variables (futr_exog), as NF's does not; "
          "Autoformer, BiTCN, DeepAR, DeepNPTS, DilatedRNN, FEDformer, GRU, Informer, KAN, LSTM, "
          "MLP, MLPMultivariate, NBEATSx, NHITS, RNN, TCN, TFT, TSMixerx, TiDE, TimesNet, "
          "VanillaTransformer, XLinear, iTransformer, xLSTM do"))
      << error(c);
  c.models = {"VanillaTransformer"};
  c.futr_exog.clear();
  c.stat_exog = {"k"};
  EXPECT_TRUE(Has(
      error(c),
      "VanillaTransformer does not read static exogenous variables (stat_exog), as "
      "NF's does not; BiTCN, DeepAR, DeepNPTS, DilatedRNN, GRU, KAN, LSTM, MLP, "
      "MLPMultivariate, NBEATSx, NHITS, RNN, TCN, TFT, TSMixerx, TiDE, TimeXer, XLinear, xLSTM do"))
      << error(c);
  c.stat_exog.clear();
  c.models = {"MLP"};
  c.futr_exog = {"nope"};
  EXPECT_TRUE(Has(error(c), "no exogenous column 'nope' (table has unique_id, ds, y, x, k"))
      << error(c);
  c.futr_exog = {"y"};
  EXPECT_TRUE(Has(error(c), "'y' is named twice or is the id, time or value column")) << error(c);
  c.futr_exog = {"x"};
  c.hist_exog = {"x"};
  EXPECT_TRUE(Has(error(c), "'x' is named twice")) << error(c);
  c.hist_exog = {"label"};
  EXPECT_TRUE(Has(error(c), "'label' has type string; expected numbers")) << error(c);
  c.hist_exog.clear();
  c.futr_exog.clear();
  c.stat_exog = {"x"};
  EXPECT_TRUE(Has(error(c), "static exogenous column 'x' takes two values in series 's0'"))
      << error(c);
  c.stat_exog.clear();
  c.futr_exog = {"x"};
  c.scaler = "revin";
  EXPECT_TRUE(Has(error(c), "revin scaler with exogenous variables is not built yet")) << error(c);
  c.scaler.clear();
  c.future = true;
  EXPECT_TRUE(Has(error(c),
                  "future exogenous variables (x) need their values over the horizon "
                  "after each series' end: pass them as futr_data"))
      << error(c);
  c.future = false;
  // A missing value, in the training part or over a forecast's horizon, names its row.
  for (int64_t row : {int64_t{20}, int64_t{118}}) {
    auto x = table->GetColumnByName("x")->chunk(0);
    arrow::DoubleBuilder b;
    for (int64_t i = 0; i < x->length(); ++i) {
      const double v = std::static_pointer_cast<arrow::DoubleArray>(x)->Value(i);
      ASSERT_TRUE((i == row ? b.AppendNull() : b.Append(v)).ok());
    }
    std::shared_ptr<arrow::Array> with_null;
    ASSERT_TRUE(b.Finish(&with_null).ok());
    auto holed = table->SetColumn(3, arrow::field("x", arrow::float64()),
                                  std::make_shared<arrow::ChunkedArray>(with_null));
    ASSERT_TRUE(holed.ok());
    auto run = [&](ForecastConfig k) {
      k.horizon = 5;
      k.input_size = 10;
      k.freq = "D";
      return Forecast(*holed, {}, k);
    };
    auto r = run(c);
    ASSERT_FALSE(r.ok());
    const std::string want =
        row == 20 ? "in series 's0' at 2020-01-21" : "in series 's0' at 2020-04-28";
    EXPECT_TRUE(Has(r.status().message(), "exogenous column 'x' has no value " + want))
        << r.status();
    // A historic variable is read over input windows only: its values in the last h rows are
    // never read, in the hold-out and in cross-validation, and may be missing there.
    ForecastConfig hist = c;
    hist.futr_exog.clear();
    hist.hist_exog = {"x"};
    for (int cv_windows : {0, 2}) {
      hist.cv_windows = cv_windows;
      auto h = run(hist);
      EXPECT_EQ(h.ok(), row == 118) << row << " " << cv_windows << " " << h.status();
    }
  }
}

// Three daily series y = effect(c) + 10 k + noise / 4 of 120 points, where c is one of four
// categories, drawn each day and known in advance (text, its effect not monotone in the text's
// order), k the series' number and `region` a text label per series. With `unseen`, each
// series' last 5 days have a category never seen before them ("e", effect 0).
data::TablePtr CategoricalPanel(bool unseen = false) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise;
  std::uniform_int_distribution<int> pick(0, 3);
  const char* names[] = {"b", "d", "a", "c"};
  const double effects[] = {-4, 8, 4, 0};
  const char* regions[] = {"north", "south", "north"};
  std::string csv = "unique_id,ds,y,c,region\n";
  for (int k = 0; k < 3; ++k) {
    for (int day = 0; day < 120; ++day) {
      int c = pick(rng);
      const bool fresh = unseen && day >= 115;
      const std::chrono::year_month_day date{
          std::chrono::sys_days{std::chrono::year{2020} / 1 / 1} + std::chrono::days{day}};
      char row[128];
      std::snprintf(row, sizeof(row), "s%d,2020-%02u-%02u,%.6f,%s,%s\n", k,
                    static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                    (fresh ? 0 : effects[c]) + 10 * k + noise(rng) / 4, fresh ? "e" : names[c],
                    regions[k]);
      csv += row;
    }
  }
  auto table = data::ReadCsv(WriteTemp("categorical.csv", csv));
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : nullptr;
}

ForecastConfig CategoricalConfig(const std::string& model) {
  ForecastConfig config = Quick({model}, 200);
  config.horizon = 5;
  config.input_size = 10;
  config.freq = "D";
  config.scaler = "standard";
  if (model == "DeepAR") {
    config.params[model] = {{"lstm_hidden_size", 32}, {"lstm_dropout", 0.0}};
  } else if (model == "VanillaTransformer") {
    config.params[model] = {{"hidden_size", 16},
                            {"conv_hidden_size", 16},
                            {"learning_rate", 1e-3},
                            {"windows_batch_size", 128}};
  } else if (model == "LSTM") {
    config.params[model] = {{"encoder_hidden_size", 16}, {"decoder_hidden_size", 32}};
  } else if (model == "xLSTM") {
    config.params[model] = {{"encoder_hidden_size", 32}, {"decoder_hidden_size", 32}};
  } else if (model == "MLP") {
    config.params[model] = {{"hidden_size", 64}};
  }
  return config;
}

class CategoricalForecast : public testing::TestWithParam<std::string> {};

// A text column of categories known in advance, embedded, explains y; a static text label per
// series reaches the forecast too.
TEST_P(CategoricalForecast, EmbeddedCategoriesReachTheForecast) {
  auto table = CategoricalPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = CategoricalConfig(GetParam());
  auto without = Forecast(table, {}, config);
  ASSERT_TRUE(without.ok()) << without.status();
  config.futr_exog = {"c"};
  config.cat_exog = {"c"};
  auto with = Forecast(table, {}, config);
  ASSERT_TRUE(with.ok()) << with.status();
  // Without c, y is noise of mean absolute deviation 4; with it, nearly a function of c.
  EXPECT_GT((*without)[0].mae, 2.5);
  EXPECT_LT((*with)[0].mae, 0.3 * (*without)[0].mae);
  if (GetParam() == "VanillaTransformer") return;  // NF's reads no static variables
  config.stat_exog = {"region"};
  config.cat_exog = {"c", "region"};
  auto both = Forecast(table, {}, config);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_FALSE((*both)[0].predictions->GetColumnByName("y_hat")->Equals(
      (*with)[0].predictions->GetColumnByName("y_hat")));
  EXPECT_LT((*both)[0].mae, 0.3 * (*without)[0].mae);
}

INSTANTIATE_TEST_SUITE_P(Models, CategoricalForecast,
                         testing::Values("MLP", "LSTM", "DeepAR", "VanillaTransformer", "XLinear",
                                         "xLSTM"));

// The multivariate models that NF 3.3 gives categorical variables (MLPMultivariate, TSMixerx,
// XLinear; TimeXer's historic ones) embed them as NF's do, each series' row by itself: on the
// three series of CategoricalPanel, with c a future and region a static categorical variable, 50
// steps at seed 1 end on NF's MAE (`nf_exog.py CSV --models MODEL --seed 1 --h 5 --input-size 10
// --max-steps 50 --freq D --futr-exog c --stat-exog region --cat-exog c,region`, CSV being the
// panel as CategoricalPanel writes it).
TEST(Forecast, MultivariateCategoricalsAreNfs) {
  auto table = CategoricalPanel();
  ASSERT_TRUE(table);
  const std::map<std::string, double> nf = {
      {"MLPMultivariate", 4.0632137}, {"TSMixerx", 1.9148225}, {"XLinear", 1.9867519}};
  for (const auto& [model, mae] : nf) {
    ForecastConfig config = Quick({model}, 50);
    config.horizon = 5;
    config.input_size = 10;
    config.freq = "D";
    config.seed = 1;
    config.threads = 2;
    config.futr_exog = {"c"};
    config.stat_exog = {"region"};
    config.cat_exog = {"c", "region"};
    auto result = Forecast(table, {}, config);
    ASSERT_TRUE(result.ok()) << model << ": " << result.status();
    EXPECT_NEAR((*result)[0].mae, mae, 2e-6) << model;
  }
}

// A category first seen after the training rows reads the unseen category (no error); the
// forecast after the series' ends with the categories given as future values (futr_df) is the
// held-out forecast of the series that go on to them (the same codes through either path).
TEST(Forecast, UnseenCategoriesAndFutureValues) {
  auto table = CategoricalPanel(/*unseen=*/true);
  ASSERT_TRUE(table);
  ForecastConfig config = CategoricalConfig("MLP");
  config.max_steps = 20;
  config.futr_exog = {"c"};
  config.cat_exog = {"c"};
  auto held_out = Forecast(table, {}, config);
  ASSERT_TRUE(held_out.ok()) << held_out.status();
  std::vector<int64_t> kept, future;
  for (int64_t row = 0; row < table->num_rows(); ++row) {
    (row % 120 < 115 ? kept : future).push_back(row);
  }
  auto take = [&](const std::vector<int64_t>& rows) { return TakeRows(table, rows); };
  config.future = true;
  config.futr_data = take(future);
  auto after = Forecast(take(kept), {}, config);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE((*after)[0].predictions->GetColumnByName("y_hat")->Equals(
      (*held_out)[0].predictions->GetColumnByName("y_hat")));
}

TEST(Forecast, CategoricalErrorsAreClear) {
  auto table = CategoricalPanel();
  ASSERT_TRUE(table);
  auto error = [&](const ForecastConfig& config) { return DailyError(table, config); };
  ForecastConfig c = Quick({"MLP"}, 1);
  c.futr_exog = {"c"};
  EXPECT_TRUE(Has(error(c),
                  "exogenous column 'c' has type string; expected numbers (a column of "
                  "categories goes in cat_exog too: drc forecast --cat-exog)"))
      << error(c);
  c.cat_exog = {"region"};
  EXPECT_TRUE(Has(error(c),
                  "categorical column 'region' (cat_exog) is in none of futr_exog, "
                  "hist_exog and stat_exog"))
      << error(c);
  c.futr_exog.clear();
  EXPECT_TRUE(Has(error(c), "categorical columns (cat_exog: region) are in none of futr_exog"))
      << error(c);
  c.futr_exog = {"c"};
  c.cat_exog = {"c", "c"};
  EXPECT_TRUE(Has(error(c), "categorical column 'c' (cat_exog) is named twice")) << error(c);
  c.cat_exog = {"c"};
  c.cat_emb_dim = "wide";
  EXPECT_TRUE(Has(error(c), "cat_emb_dim 'wide': expected fastai, sqrt, half or a whole number"))
      << error(c);
  c.cat_emb_dim = "fastai";
  c.futr_exog.clear();
  c.cat_exog = {"region"};
  c.stat_exog = {"region"};
  c.models = {"VanillaTransformer"};
  EXPECT_TRUE(Has(error(c), "VanillaTransformer does not read static exogenous variables"))
      << error(c);
  // A static category takes one value per series, named as the table has it.
  c.models = {"MLP"};
  c.stat_exog = {"c"};
  c.cat_exog = {"c"};
  EXPECT_TRUE(Has(error(c), "static exogenous column 'c' takes two values in series 's0' ("))
      << error(c);
}

// A small MLP on ExogenousPanel's y alone (h 5 from 10 days, standard scaler), for the losses.
ForecastConfig NoiseLossConfig() {
  ForecastConfig config = Quick({"MLP"}, 100);
  config.horizon = 5;
  config.input_size = 10;
  config.freq = "D";
  config.scaler = "standard";
  config.params["MLP"] = {{"hidden_size", 64}};
  return config;
}

// NF's point losses (ForecastConfig::loss). On y = 5x + 10k without x (noise of sd 5 around
// each series' level), QuantileLoss(0.9) learns forecasts above QuantileLoss(0.1)'s; MSE trains
// another model than MAE; a model's own loss overrides the config's.
TEST(Forecast, PointLosses) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = NoiseLossConfig();
  auto run = [&](const ForecastConfig& c) {
    auto r = Forecast(table, {}, c);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? Doubles(*(*r)[0].predictions, "y_hat") : std::vector<double>{};
  };
  config.loss = "QuantileLoss(0.9)";
  const auto high = run(config);
  config.loss = "QuantileLoss(0.1)";
  const auto low = run(config);
  ASSERT_EQ(high.size(), low.size());
  ASSERT_FALSE(high.empty());
  double gap = 0;
  int above = 0;
  for (size_t i = 0; i < high.size(); ++i) {
    gap += (high[i] - low[i]) / high.size();
    above += high[i] > low[i] ? 1 : 0;
  }
  EXPECT_GT(gap, 4.0);  // 2 * 1.28 * 5 = 12.8 for the noise's true quantiles
  EXPECT_GE(above, static_cast<int>(0.9 * high.size()));
  config.loss = "MSE";
  const auto mse = run(config);
  config.loss.clear();
  const auto mae = run(config);
  EXPECT_NE(mse, mae);
  config.loss = "MSE";
  config.model_losses["MLP"] = "MAE";
  EXPECT_EQ(run(config), mae);
  ASSERT_TRUE(ParseModelParam("MLP.loss=HuberLoss(0.5)", config).ok());
  EXPECT_EQ(config.model_losses["MLP"], "HuberLoss(0.5)");
  auto bad = ParseModelParam("MLP.loss=Huber", config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("MLP.loss: loss 'Huber': expected MAE, MSE"), std::string::npos)
      << bad;
  // RMSE is no mean over the points: its steps stay whole.
  config.model_losses.clear();
  config.loss = "RMSE";
  config.threads = 2;
  EXPECT_FALSE(run(config).empty());
  config.window_parts = 2;
  auto parts = Forecast(table, {}, config);
  ASSERT_FALSE(parts.ok());
  EXPECT_NE(parts.status().message().find("cannot be trained in parts"), std::string::npos)
      << parts.status();
  config.window_parts = 0;
  config.models = {"DeepAR"};
  auto deepar = Forecast(table, {}, config);
  ASSERT_FALSE(deepar.ok());
  EXPECT_NE(deepar.status().message().find(
                "DeepAR trains on its likelihood (NF's DistributionLoss(StudentT)); loss 'RMSE' "
                "is for point models"),
            std::string::npos)
      << deepar.status();
  config.models = {"MLP"};
  config.loss = "TukyLoss";
  auto unknown = Forecast(table, {}, config);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("Forecast: MLP: loss 'TukyLoss': expected MAE"),
            std::string::npos)
      << unknown.status();
}

// The y_hat, y_hat-median and 80 % interval columns of NoiseLossConfig's MLP trained on `loss`
// (which must be the predictions' last four, in NF's order), the interval's mean width, and its
// scored coverage (the width scored must be that width). Empty columns after a failure.
struct EightyPercentRun {
  std::vector<double> point, median, lo, hi;
  double width = 0;
  double coverage = -1;
};

EightyPercentRun RunEightyPercent(const data::TablePtr& table, const std::string& loss) {
  ForecastConfig config = NoiseLossConfig();
  config.loss = loss;
  auto r = Forecast(table, {}, config);
  EightyPercentRun run;
  if (!r.ok()) {
    ADD_FAILURE() << loss << ": " << r.status();
    return run;
  }
  const ModelForecast& f = (*r)[0];
  const auto names = f.predictions->schema()->field_names();
  EXPECT_EQ(std::vector<std::string>(names.end() - 4, names.end()),
            (std::vector<std::string>{"y_hat", "y_hat-median", "y_hat-lo-80", "y_hat-hi-80"}))
      << loss;
  run.point = Doubles(*f.predictions, "y_hat");
  run.median = Doubles(*f.predictions, "y_hat-median");
  run.lo = Doubles(*f.predictions, "y_hat-lo-80");
  run.hi = Doubles(*f.predictions, "y_hat-hi-80");
  for (size_t i = 0; i < run.lo.size(); ++i) run.width += (run.hi[i] - run.lo[i]) / run.lo.size();
  if (f.intervals.count(80) != 1) {
    ADD_FAILURE() << loss << ": no 80 % interval scored";
    return run;
  }
  EXPECT_NEAR(f.intervals.at(80).width, run.width, 1e-9) << loss;
  run.coverage = f.intervals.at(80).coverage;
  return run;
}

// NF's MQLoss: a point model forecasts one value per quantile. On noise of standard deviation
// 5 around each series' level, the 80 % interval must be wide (its true width is 12.8) and hold
// the median, the point forecast; its held-out coverage is scored. Levels asked must be among
// the loss's quantiles.
TEST(Forecast, MultiQuantileLoss) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = NoiseLossConfig();
  config.loss = "MQLoss(level=[80])";
  const EightyPercentRun run = RunEightyPercent(table, config.loss);
  const auto& point = run.point;
  const auto& hi = run.hi;
  EXPECT_EQ(point, run.median);
  ASSERT_EQ(run.lo.size(), 15u);
  int ordered = 0;
  for (size_t i = 0; i < run.lo.size(); ++i) {
    ordered += run.lo[i] < run.median[i] && run.median[i] < hi[i] ? 1 : 0;
  }
  EXPECT_GT(run.width, 6.0);
  EXPECT_GE(ordered, 13);
  EXPECT_GE(run.coverage, 0.4);
  // Asked levels: the loss's columns without the median; one it was not trained for fails
  // before any training.
  config.level = {80};
  auto asked = Forecast(table, {}, config);
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_EQ(Doubles(*(*asked)[0].predictions, "y_hat-hi-80"), hi);
  EXPECT_FALSE((*asked)[0].predictions->GetColumnByName("y_hat-median"));
  config.level = {95};
  auto other = Forecast(table, {}, config);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("MLP trains on MQLoss(level=[80]), whose outputs are "
                                          "the quantiles 0.5, 0.1, 0.9; level 95 asks for 0.025"),
            std::string::npos)
      << other.status();
  config.level.clear();
  // The median alone: one output, the y_hat-median column, no interval.
  config.loss = "MQLoss(quantiles=[0.5])";
  auto median_only = Forecast(table, {}, config);
  ASSERT_TRUE(median_only.ok()) << median_only.status();
  EXPECT_EQ(Doubles(*(*median_only)[0].predictions, "y_hat-median"),
            Doubles(*(*median_only)[0].predictions, "y_hat"));
  EXPECT_TRUE((*median_only)[0].intervals.empty());
  // NF's HuberMQLoss: the same outputs, another loss.
  const EightyPercentRun huber = RunEightyPercent(table, "HuberMQLoss(level=[80], delta=0.5)");
  EXPECT_NE(huber.point, point);
  EXPECT_GT(huber.width, 6.0);
  config.models = {"DeepAR"};
  auto deepar = Forecast(table, {}, config);
  ASSERT_FALSE(deepar.ok());
  EXPECT_NE(deepar.status().message().find("DeepAR trains on its likelihood"), std::string::npos)
      << deepar.status();
}

// NF's MASE(seasonality) as a training loss: each window's errors over its input's mean seasonal
// difference. It trains another model than MAE, validates (early stopping's loss, in the series'
// units with the input scaled back), and a seasonality the input cannot hold is refused before
// any training.
TEST(Forecast, MaseLoss) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = NoiseLossConfig();
  auto mae = Forecast(table, {}, config);
  ASSERT_TRUE(mae.ok()) << mae.status();
  config.loss = "MASE(7)";
  config.val_size = 5;
  config.val_check_steps = 20;
  auto mase = Forecast(table, {}, config);
  ASSERT_TRUE(mase.ok()) << mase.status();
  EXPECT_NE(Doubles(*(*mase)[0].predictions, "y_hat"), Doubles(*(*mae)[0].predictions, "y_hat"));
  EXPECT_LT((*mase)[0].mae, 8.0);  // noise of sd 5: MAE ~4 for a forecast of the level
  config.loss = "MASE(10)";
  auto refused = Forecast(table, {}, config);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "MLP: MASE(10) scales by each window's differences at lag 10, so input_size must "
                "be > 10, got 10"),
            std::string::npos)
      << refused.status();
}

// NF's IQLoss: the MLP learns to forecast the quantile its head is given, drawn per point in
// training. On noise of standard deviation 5 around each series' level the 80 % interval (NF's:
// the 10 % and 90 % quantiles of the head's forecasts at 11 quantiles) must be wide (its true
// width is 12.8) and hold the point forecast, the head at the median. Without levels there are no
// quantile columns, as NF's predict() without level gives, and the point forecast is the same.
TEST(Forecast, ImplicitQuantileLoss) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = NoiseLossConfig();
  config.loss = "IQLoss";
  config.level = {80};
  auto r = Forecast(table, {}, config);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& predictions = *(*r)[0].predictions;
  const auto names = predictions.schema()->field_names();
  EXPECT_EQ(std::vector<std::string>(names.end() - 3, names.end()),
            (std::vector<std::string>{"y_hat", "y_hat-lo-80", "y_hat-hi-80"}));
  const auto point = Doubles(predictions, "y_hat");
  const auto lo = Doubles(predictions, "y_hat-lo-80"), hi = Doubles(predictions, "y_hat-hi-80");
  ASSERT_EQ(lo.size(), 15u);
  double width = 0;
  int ordered = 0;
  for (size_t i = 0; i < lo.size(); ++i) {
    width += (hi[i] - lo[i]) / lo.size();
    ordered += lo[i] < point[i] && point[i] < hi[i] ? 1 : 0;
  }
  EXPECT_GT(width, 6.0);
  EXPECT_GE(ordered, 13);
  ASSERT_EQ((*r)[0].intervals.count(80), 1u);
  EXPECT_GE((*r)[0].intervals.at(80).coverage, 0.4);
  config.level.clear();
  auto plain = Forecast(table, {}, config);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(Doubles(*(*plain)[0].predictions, "y_hat"), point);
  EXPECT_FALSE((*plain)[0].predictions->GetColumnByName("y_hat-lo-80"));
  EXPECT_TRUE((*plain)[0].intervals.empty());
  // NF's HuberIQLoss: another loss of the same model.
  config.loss = "HuberIQLoss(delta=0.5)";
  auto huber = Forecast(table, {}, config);
  ASSERT_TRUE(huber.ok()) << huber.status();
  EXPECT_NE(Doubles(*(*huber)[0].predictions, "y_hat"), point);
}

// NF's DistributionLoss on a point model: it forecasts a Normal's parameters. On noise of
// standard deviation 5 the 80 % interval must be wide (its true width is 12.8) and hold the
// mean, the point forecast; the median is drawn, near the mean. Any level may be asked, the
// draws repeat from run to run, the revin scaler maps it, and DeepAR takes it as its own.
TEST(Forecast, DistributionLoss) {
  auto table = ExogenousPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = NoiseLossConfig();
  config.loss = "DistributionLoss(Normal, level=[80])";
  const EightyPercentRun run = RunEightyPercent(table, config.loss);
  const auto& mean = run.point;
  const auto& lo = run.lo;
  ASSERT_EQ(lo.size(), 15u);
  for (size_t i = 0; i < lo.size(); ++i) {
    EXPECT_LT(lo[i], mean[i]);
    EXPECT_GT(run.hi[i], mean[i]);
    // 1000 draws: the median's standard error is ~0.04 of the interval's width.
    EXPECT_NEAR(run.median[i], mean[i], 0.15 * (run.hi[i] - lo[i]));
  }
  EXPECT_GT(run.width, 6.0);
  EXPECT_GE(run.coverage, 0.4);
  // A mixture of two weighted Normals (GMM, fitted on the scaled windows as Normal is) forecasts
  // its mean inside its interval, and covers as well.
  const EightyPercentRun gmm =
      RunEightyPercent(table, "GMM(n_components=2, weighted=True, level=[80])");
  ASSERT_EQ(gmm.lo.size(), 15u);
  for (size_t i = 0; i < gmm.lo.size(); ++i) {
    EXPECT_LT(gmm.lo[i], gmm.point[i]);
    EXPECT_GT(gmm.hi[i], gmm.point[i]);
  }
  EXPECT_GT(gmm.width, 6.0);
  EXPECT_GE(gmm.coverage, 0.4);
  // NF's ISQF (a spline quantile function fitted on its CRPS) learns the noise's spread: its mean
  // and median inside its 80 % interval, which is about as wide as the noise's (12.8).
  const EightyPercentRun isqf = RunEightyPercent(table, "DistributionLoss(ISQF, level=[80])");
  ASSERT_EQ(isqf.lo.size(), 15u);
  for (size_t i = 0; i < isqf.lo.size(); ++i) {
    EXPECT_LT(isqf.lo[i], isqf.point[i]);
    EXPECT_GT(isqf.hi[i], isqf.point[i]);
    EXPECT_LT(isqf.lo[i], isqf.median[i]);
    EXPECT_GT(isqf.hi[i], isqf.median[i]);
  }
  EXPECT_GT(isqf.width, 6.0) << isqf.width;
  EXPECT_LT(isqf.width, 26.0) << isqf.width;
  EXPECT_GE(isqf.coverage, 0.4);
  // Levels that the loss does not name are drawn too; the same run draws the same numbers.
  config.level = {50, 80};
  auto asked = Forecast(table, {}, config);
  ASSERT_TRUE(asked.ok()) << asked.status();
  const auto& p = *(*asked)[0].predictions;
  EXPECT_EQ(Doubles(p, "y_hat"), mean);
  EXPECT_FALSE(p.GetColumnByName("y_hat-median"));
  const auto lo50 = Doubles(p, "y_hat-lo-50");
  const auto hi80 = Doubles(p, "y_hat-hi-80");
  for (size_t i = 0; i < lo50.size(); ++i) {
    EXPECT_GT(lo50[i], lo[i]);
    EXPECT_LT(lo50[i], mean[i]);
  }
  auto again = Forecast(table, {}, config);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Doubles(*(*again)[0].predictions, "y_hat-hi-80"), hi80);
  config.level.clear();
  // With the revin scaler, RevIN's inverse maps the distribution.
  config.scaler = "revin";
  auto revin = Forecast(table, {}, config);
  ASSERT_TRUE(revin.ok()) << revin.status();
  const auto& rp = *(*revin)[0].predictions;
  const auto revin_lo = Doubles(rp, "y_hat-lo-80"), revin_hi = Doubles(rp, "y_hat-hi-80");
  const auto revin_mean = Doubles(rp, "y_hat");
  double revin_width = 0;
  for (size_t i = 0; i < revin_lo.size(); ++i) {
    revin_width += (revin_hi[i] - revin_lo[i]) / revin_lo.size();
    EXPECT_LT(revin_lo[i], revin_mean[i]);
    EXPECT_GT(revin_hi[i], revin_mean[i]);
  }
  EXPECT_GT(revin_width, 6.0);
  config.scaler = "standard";
  // DeepAR takes it as its own likelihood, as NF's DeepAR(loss=DistributionLoss(...)): the
  // same run as its distribution parameter gives, with the loss's quantile columns.
  config.models = {"DeepAR"};
  config.max_steps = 20;
  auto deepar = Forecast(table, {}, config);
  ASSERT_TRUE(deepar.ok()) << deepar.status();
  const auto& dp = *(*deepar)[0].predictions;
  const auto deepar_names = dp.schema()->field_names();
  EXPECT_EQ(std::vector<std::string>(deepar_names.end() - 4, deepar_names.end()),
            (std::vector<std::string>{"y_hat", "y_hat-median", "y_hat-lo-80", "y_hat-hi-80"}));
  config.loss.clear();
  config.level = {80};
  config.params["DeepAR"] = {{"distribution", 1}};
  auto by_param = Forecast(table, {}, config);
  ASSERT_TRUE(by_param.ok()) << by_param.status();
  EXPECT_EQ(Doubles(*(*by_param)[0].predictions, "y_hat"), Doubles(dp, "y_hat"));
  EXPECT_EQ(Doubles(*(*by_param)[0].predictions, "y_hat-hi-80"), Doubles(dp, "y_hat-hi-80"));
  config.params["DeepAR"] = {{"distribution", 0}};
  config.loss = "DistributionLoss(Normal)";
  auto disagree = Forecast(table, {}, config);
  ASSERT_FALSE(disagree.ok());
  EXPECT_NE(disagree.status().message().find("Forecast: DeepAR: distribution=0 (StudentT) and "
                                             "loss DistributionLoss(Normal, level=[80, 90]) "
                                             "disagree"),
            std::string::npos)
      << disagree.status();
  config.loss = "MQLoss";
  auto point_loss = Forecast(table, {}, config);
  ASSERT_FALSE(point_loss.ok());
  EXPECT_NE(point_loss.status().message().find("DeepAR trains on its likelihood"),
            std::string::npos)
      << point_loss.status();
}

// Three daily series of Poisson counts with rates 20, 30 and 40, 120 points each; `negative`
// puts a -1 in the second series at 2020-03-01.
data::TablePtr CountPanel(bool negative = false) {
  std::mt19937_64 rng(11);
  std::string csv = "unique_id,ds,y\n";
  for (int k = 0; k < 3; ++k) {
    std::poisson_distribution<int> counts(20 + 10 * k);
    for (int day = 0; day < 120; ++day) {
      const std::chrono::year_month_day date{
          std::chrono::sys_days{std::chrono::year{2020} / 1 / 1} + std::chrono::days{day}};
      const int y = negative && k == 1 && day == 60 ? -1 : counts(rng);
      char row[64];
      std::snprintf(row, sizeof(row), "c%d,2020-%02u-%02u,%d\n", k,
                    static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), y);
      csv += row;
    }
  }
  auto table = data::ReadCsv(WriteTemp(negative ? "negative_counts.csv" : "counts.csv", csv));
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : nullptr;
}

// NF's count distributions on a point model, fitted in the series' units: on Poisson counts the
// mean forecast lies near each series' rate, the 80 % interval near the true one (Poisson(30):
// 23 to 37), and every quantile is a whole number, since the draws are counts (1001 draws, so
// that the 10 % and 90 % quantiles fall on draws rather than between two). Negative values,
// the revin scaler and DeepAR are refused before any training, each with its reason.
TEST(Forecast, CountDistributionLoss) {
  auto table = CountPanel();
  ASSERT_TRUE(table);
  for (const std::string loss : {"DistributionLoss(Poisson, level=[80], num_samples=1001)",
                                 "DistributionLoss(NegativeBinomial, level=[80], num_samples=1001)",
                                 "PMM(n_components=2, weighted=True, level=[80], num_samples=1001)",
                                 "NBMM(level=[80], num_samples=1001)"}) {
    SCOPED_TRACE(loss);
    const EightyPercentRun run = RunEightyPercent(table, loss);
    ASSERT_EQ(run.point.size(), 15u);
    for (size_t i = 0; i < run.point.size(); ++i) {
      const double rate = 20 + 10 * static_cast<double>(i / 5);
      EXPECT_NEAR(run.point[i], rate, 0.25 * rate) << i;
      EXPECT_LT(run.lo[i], run.point[i]);
      EXPECT_GT(run.hi[i], run.point[i]);
      for (double q : {run.lo[i], run.median[i], run.hi[i]}) {
        EXPECT_NEAR(q, std::round(q), 1e-3) << i;
      }
    }
    // The true widths are 11.5, 14 and 16.2 (Poisson); a NegativeBinomial may be wider.
    EXPECT_GT(run.width, 8.0);
    EXPECT_LT(run.width, loss.starts_with("DistributionLoss(Poisson") ? 25.0 : 60.0);
    EXPECT_GE(run.coverage, 0.5);
  }
  ForecastConfig config = NoiseLossConfig();
  config.loss = "DistributionLoss(Poisson)";
  auto negative = Forecast(CountPanel(/*negative=*/true), {}, config);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.status().message(),
            "Forecast: MLP trains on DistributionLoss(Poisson, level=[80, 90]), a distribution of "
            "values >= 0; y is -1 in series 'c1' at 2020-03-01");
  config.loss = "DistributionLoss(Tweedie, rho=1.5)";
  negative = Forecast(CountPanel(/*negative=*/true), {}, config);
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("DistributionLoss(Tweedie, rho=1.5, level=[80, 90]), "
                                             "a distribution of values >= 0; y is -1"),
            std::string::npos)
      << negative.status();
  config.loss = "DistributionLoss(Poisson)";
  config.scaler = "revin";
  auto revin = Forecast(table, {}, config);
  ASSERT_FALSE(revin.ok());
  EXPECT_EQ(revin.status().code(), StatusCode::kNotImplemented);
  EXPECT_NE(revin.status().message().find("MLP: the revin scaler with DistributionLoss(Poisson, "
                                          "level=[80, 90]) (a distribution fitted in the series' "
                                          "units) is not built"),
            std::string::npos)
      << revin.status();
}

// DeepAR takes any of NF's distribution losses as its likelihood, as NF's DeepAR(loss=...): on
// Poisson counts, with the standard scaler, a Poisson, NegativeBinomial or PMM DeepAR (fitted in
// the series' units: its means and draws scaled back before the LSTM reads them) forecasts each
// series' rate, its 80 % interval around it, and its quantiles are whole numbers (of counts);
// a GMM DeepAR (fitted on the scaled windows) forecasts the rate too. Its `distribution`
// parameter with another likelihood is refused.
TEST(Forecast, DeepArTakesAnyDistributionLoss) {
  auto table = CountPanel();
  ASSERT_TRUE(table);
  ForecastConfig config = NoiseLossConfig();
  config.models = {"DeepAR"};
  // 101 draws per step: the 10 % and 90 % quantiles fall on draws, not between two.
  config.params = {
      {"DeepAR",
       {{"trajectory_samples", 101}, {"lstm_hidden_size", 32}, {"windows_batch_size", 256}}}};
  config.level = {80};
  for (const std::string loss : {"DistributionLoss(Poisson)", "DistributionLoss(NegativeBinomial)",
                                 "PMM(n_components=2)", "GMM(n_components=2, weighted=True)"}) {
    SCOPED_TRACE(loss);
    config.loss = loss;
    auto r = Forecast(table, {}, config);
    ASSERT_TRUE(r.ok()) << r.status();
    const auto& p = *(*r)[0].predictions;
    const auto point = Doubles(p, "y_hat");
    const auto lo = Doubles(p, "y_hat-lo-80"), hi = Doubles(p, "y_hat-hi-80");
    ASSERT_EQ(point.size(), 15u);
    for (size_t i = 0; i < point.size(); ++i) {
      const double rate = 20 + 10 * static_cast<double>(i / 5);
      EXPECT_NEAR(point[i], rate, 0.3 * rate) << i;
      EXPECT_LE(lo[i], point[i]) << i;
      EXPECT_GE(hi[i], point[i]) << i;
      if (!loss.starts_with("GMM")) {
        EXPECT_NEAR(lo[i], std::round(lo[i]), 1e-3) << i;
        EXPECT_NEAR(hi[i], std::round(hi[i]), 1e-3) << i;
      }
    }
  }
  config.params["DeepAR"] = {{"distribution", 1}};
  config.loss = "DistributionLoss(Poisson)";
  auto disagree = Forecast(table, {}, config);
  ASSERT_FALSE(disagree.ok());
  EXPECT_NE(disagree.status().message().find("Forecast: DeepAR: distribution=1 and loss "
                                             "DistributionLoss(Poisson, level=[80, 90]) disagree"),
            std::string::npos)
      << disagree.status();
}

}  // namespace
}  // namespace drc::dl
