// Training and evaluation on the real CAMELS-US sample, kept to seconds: short sequences, a
// small hidden size, few epochs, one thread.
#include "drc/dl/hydrology.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>
#include <cstdlib>
#include "src/dl/camels_sample.h"

namespace drc::dl {
namespace {

using test_data::CamelsSampleDir;

HydroConfig Small(const std::string& model) {
  HydroConfig c;
  c.data_dir = CamelsSampleDir();
  c.model = model;
  c.basins = {"01022500"};
  c.seq_length = 30;
  c.hidden_size = 16;
  c.epochs = 6;
  c.learning_rate = {{0, 1e-2}};
  c.batch_size = 128;
  c.threads = 1;
  c.seed = 7;
  return c;
}

TEST(Hydrology, ShortLstmRunLowersTheTrainingLoss) {
  auto r = TrainAndEvaluateHydro(Small("LSTM"));
  ASSERT_TRUE(r.ok()) << r.status();
  // Samples: every training day from the 30th on (the window may not reach before 2000-01-01):
  // 731 - 29 days, all observed.
  EXPECT_EQ(r->train_samples, 731 - 29);
  ASSERT_EQ(r->epoch_losses.size(), 6u);
  EXPECT_LT(r->epoch_losses.back(), r->epoch_losses.front());
  ASSERT_EQ(r->basins.size(), 1u);
  const BasinEvaluation& e = r->basins.front();
  EXPECT_EQ(e.basin, "01022500");
  ASSERT_EQ(e.days.size(), 365u);
  EXPECT_EQ(FormatDay(e.days.front()), "2002-01-01");
  // Test windows reach back into 2001, so every test day has a prediction.
  for (double v : e.simulated) ASSERT_FALSE(std::isnan(v));
  EXPECT_TRUE(std::isfinite(e.nse) && std::isfinite(e.kge));
  EXPECT_LE(e.nse, 1.0);
  EXPECT_DOUBLE_EQ(r->median_nse, e.nse);
  EXPECT_GT(r->seconds, 0);
}

TEST(Hydrology, EaLstmOnTwoBasins) {
  HydroConfig c = Small("EA-LSTM");
  c.basins = {"01547700", "03015500"};
  c.epochs = 1;
  c.seq_length = 20;
  c.batch_size = 256;
  c.predict_last_n = 3;
  auto r = TrainAndEvaluateHydro(c);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->basins.size(), 2u);
  EXPECT_EQ(r->train_samples, 2 * (731 - 19));
  for (const auto& e : r->basins) EXPECT_TRUE(std::isfinite(e.nse)) << e.basin;
  EXPECT_DOUBLE_EQ(r->median_nse, 0.5 * (r->basins[0].nse + r->basins[1].nse));
}

// NH's configuration on the four sample basins: the sample count and the normalisation must be
// NeuralHydrology's. The expected numbers are NH 1.13's (CamelsUS training dataset of
// bench/peers/nh_camels.py's config: len(ds), scaler["xarray_feature_center"/"_scale"],
// _per_basin_target_stds), computed in float32.
TEST(Hydrology, SamplesAndNormalisationAreNeuralHydrologys) {
  HydroConfig c;
  c.data_dir = CamelsSampleDir();
  c.basins = {"01022500", "01547700", "02064000", "03015500"};
  c.hidden_size = 4;  // the scaler does not depend on the model; keep the test-period pass cheap
  c.epochs = 0;
  c.threads = 1;
  auto r = TrainAndEvaluateHydro(c);
  ASSERT_TRUE(r.ok()) << r.status();
  // seq_length 365 with data from 2000-01-01: training targets 2000-12-30 .. 2001-12-31.
  EXPECT_EQ(r->train_samples, 4 * 367);
  auto near = [](double ours, double nh) { EXPECT_NEAR(ours, nh, 1e-5 * std::abs(nh)) << nh; };
  const HydroScaler& s = r->scaler;
  near(s.target_mean, 0.9705085158348083);
  near(s.target_std, 1.4437105655670166);
  // prcp, srad, tmax, tmin, vp, dayl (DefaultCamelsDynamicInputs' order).
  const double mean[] = {2.766740560531616, 322.03887939453125, 15.147067070007324,
                         3.023984670639038, 906.10791015625,    43185.6875};
  const double std[] = {5.772027492523193, 123.07526397705078, 10.48847484588623,
                        9.450948715209961, 547.2501220703125,  7506.86328125};
  ASSERT_EQ(s.dynamic_mean.size(), 6u);
  for (int f = 0; f < 6; ++f) {
    near(s.dynamic_mean[f], mean[f]);
    near(s.dynamic_std[f], std[f]);
  }
  const double basin_std[] = {1.7412116527557373, 1.2346869707107544, 0.6853384971618652,
                              1.6518442630767822};
  ASSERT_EQ(s.basin_target_std.size(), 4u);
  for (int b = 0; b < 4; ++b) near(s.basin_target_std[b], basin_std[b]);
  // Attributes in DefaultCamelsStaticAttributes' order: NH's attribute_means / attribute_stds.
  const double attribute_mean[] = {282.755,
                                   23.20534,
                                   474.93999999999994,
                                   0.93015,
                                   4.646511838234385,
                                   3.8276960869243926,
                                   0.8546236144140527,
                                   0.4190385599287775,
                                   6.6657179392796895,
                                   1.3825177238540876,
                                   0.44442061775313124,
                                   1.358519604898624,
                                   0.609946766172891,
                                   36.94042878511635,
                                   41.15323130982388,
                                   21.566824467615827,
                                   0.0007438175712486025,
                                   -14.90285,
                                   3.359430869267625,
                                   2.413598097193705,
                                   0.7274521339233755,
                                   0.1635179239803228,
                                   19.9375,
                                   1.1863892319289824,
                                   231.43750000000003,
                                   3.7058336664368925};
  const double attribute_std[] = {
      176.40843224366193,   14.13095216367248,   282.02421444502477,   0.03656469152976225,
      0.2989477160534342,   0.417633377474589,   0.029591727239629204, 0.09345406883665593,
      7.673886627230952,    0.1769019649830787,  0.019069463868753217, 0.7248958294936168,
      0.07935242892172553,  15.197962705402128,  14.055307848030107,   14.854588325903304,
      0.001487635142497205, 0.542526082322315,   0.2824357092814555,   0.3545986628972035,
      0.16063207339719168,  0.07776210667897096, 3.3249999999999997,   0.04882509159502845,
      27.279246537737567,   0.849124486226834};
  ASSERT_EQ(s.attribute_mean.size(), 26u);
  for (int a = 0; a < 26; ++a) {
    near(s.attribute_mean[a], attribute_mean[a]);
    near(s.attribute_std[a], attribute_std[a]);
  }
}

TEST(Hydrology, SameSeedSameResult) {
  HydroConfig c = Small("LSTM");
  c.epochs = 1;
  auto a = TrainAndEvaluateHydro(c);
  auto b = TrainAndEvaluateHydro(c);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->epoch_losses, b->epoch_losses);
  EXPECT_EQ(a->basins[0].simulated, b->basins[0].simulated);
}

TEST(Hydrology, ConfigErrorsNameTheField) {
  HydroConfig c = Small("LSTM");
  c.train_start = "2000-13-01";
  auto r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("train_start"), std::string::npos) << r.status();

  c = Small("TCN");
  r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("TCN"), std::string::npos) << r.status();

  c = Small("LSTM");
  c.seq_length = 800;  // longer than 2000-01-01 .. 2001-12-31
  r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no training sample"), std::string::npos) << r.status();

  c = Small("LSTM");
  c.basins = {"12345678"};
  r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("12345678"), std::string::npos) << r.status();

  c = Small("LSTM");
  c.static_attributes = {"elev_mean", "no_such_attribute"};
  r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no_such_attribute"), std::string::npos) << r.status();

  c = Small("LSTM");
  c.loss = "MAE";
  r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("loss"), std::string::npos) << r.status();
}

// --device as drc forecast's: a bad name is an error naming the field, "auto" trains wherever
// libtorch sees a GPU or else on the CPU, and "cuda" without one says why before reading any data.
TEST(Hydrology, DeviceIsResolvedAsForForecasting) {
  HydroConfig c = Small("LSTM");
  c.epochs = 1;
  c.device = "tpu";
  auto r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("hydrology: device must be cpu, cuda"), std::string::npos)
      << r.status();

  c.device = "auto";
  r = TrainAndEvaluateHydro(c);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->device, torch::cuda::is_available() ? "cuda:0" : "cpu");
  EXPECT_TRUE(std::isfinite(r->median_nse));

  if (torch::cuda::is_available()) return;  // cuda_test.cc trains there
  c.device = "cuda";
  c.data_dir = "/nonexistent";  // the device is checked first
  r = TrainAndEvaluateHydro(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(r.status().message().find("hydrology: device cuda:"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace drc::dl
