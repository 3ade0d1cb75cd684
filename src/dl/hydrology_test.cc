// Training and evaluation on the real CAMELS-US sample, kept to seconds: short sequences, a
// small hidden size, few epochs, one thread.
#include "drc/dl/hydrology.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

namespace drc::dl {
namespace {

std::string SampleDir() {
  const char* dir = std::getenv("DRC_SHARED_DATA");
  return std::string(dir ? dir : "../shared/data") + "/camels_us_sample";
}

HydroConfig Small(const std::string& model) {
  HydroConfig c;
  c.data_dir = SampleDir();
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

}  // namespace
}  // namespace drc::dl
