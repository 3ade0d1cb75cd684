// NeuralHydrology's CudaLSTM ("LSTM") and EA-LSTM: shapes, gradients, initialisation, the
// EA-LSTM input gate's dependence on statics only, and errors.
#include "src/dl/hydro_models.h"

#include <gtest/gtest.h>

#include <torch/csrc/autograd/autograd.h>

#include <vector>

#include "drc/dl/model_names.h"
#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

constexpr int kDyn = 3, kStat = 2, kHidden = 8, kLen = 10, kBatch = 4;

HydroModelOptions Options() {
  HydroModelOptions o;
  o.dynamic_inputs = kDyn;
  o.static_inputs = kStat;
  o.hidden_size = kHidden;
  o.output_dropout = 0.4;
  o.initial_forget_bias = 3;
  return o;
}

HydroBatch RandomBatch() {
  return {torch::randn({kBatch, kLen, kDyn}), torch::randn({kBatch, kStat})};
}

class HydroModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HydroModelTest, ShapeAndGradients) {
  torch::manual_seed(1);
  auto model = MakeHydroModel(GetParam(), Options());
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->train();
  auto y = (*model)->Forward(RandomBatch(), 2);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{kBatch, 2}));
  y.pow(2).mean().backward();
  int params = 0;
  for (const auto& p : (*model)->named_parameters()) {
    ++params;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
  EXPECT_GE(params, 4);
  // Eval mode (no dropout) is deterministic.
  (*model)->eval();
  torch::NoGradGuard no_grad;
  const HydroBatch batch = RandomBatch();
  EXPECT_TRUE(torch::equal((*model)->Forward(batch, 1), (*model)->Forward(batch, 1)));
}

TEST_P(HydroModelTest, ShapeErrorsNameTheModel) {
  auto model = MakeHydroModel(GetParam(), Options());
  ASSERT_TRUE(model.ok()) << model.status();
  HydroBatch wrong{torch::randn({kBatch, kLen, kDyn + 1}), torch::randn({kBatch, kStat})};
  Status st = Guard("forward", [&] { (*model)->Forward(wrong, 1); });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(GetParam()), std::string::npos) << st;
  EXPECT_NE(st.message().find("x_d must be"), std::string::npos) << st;
  st = Guard("forward", [&] { (*model)->Forward(RandomBatch(), kLen + 1); });
  EXPECT_NE(st.message().find("last_n"), std::string::npos) << st;
}

std::string TestName(const ::testing::TestParamInfo<std::string>& param) {
  return param.param == "LSTM" ? "LSTM" : "EALSTM";
}

INSTANTIATE_TEST_SUITE_P(Models, HydroModelTest, ::testing::Values("LSTM", "EA-LSTM"), TestName);

TEST(HydroModels, ForgetGateBiasInit) {
  torch::manual_seed(1);
  auto lstm = std::make_shared<CudaLstm>(Options());
  const auto params = lstm->lstm()->named_parameters();
  const auto bias_hh = params["bias_hh_l0"];
  ASSERT_EQ(bias_hh.size(0), 4 * kHidden);
  // torch's gate order (i, f, g, o): only the forget slice of bias_hh is set.
  EXPECT_TRUE(torch::all(bias_hh.narrow(0, kHidden, kHidden) == 3).item<bool>());
  EXPECT_FALSE(torch::all(bias_hh.narrow(0, 0, kHidden) == 3).item<bool>());
  EXPECT_FALSE(torch::all(params["bias_ih_l0"].narrow(0, kHidden, kHidden) == 3).item<bool>());
  // The LSTM reads the dynamic inputs and the statics at every step.
  EXPECT_EQ(params["weight_ih_l0"].size(1), kDyn + kStat);

  auto ea = std::make_shared<EaLstm>(Options());
  const auto& bias = ea->bias();
  ASSERT_EQ(bias.size(0), 3 * kHidden);
  EXPECT_TRUE(torch::all(bias.narrow(0, 0, kHidden) == 3).item<bool>());            // forget
  EXPECT_TRUE(torch::all(bias.narrow(0, kHidden, 2 * kHidden) == 0).item<bool>());  // o, g
  const auto ea_params = ea->named_parameters();
  EXPECT_TRUE(torch::equal(ea_params["weight_hh"], torch::eye(kHidden).repeat({1, 3})));
  // weight_ih is orthogonal: its columns' Gram matrix (3 x 24, rows orthonormal) is I.
  const auto w = ea_params["weight_ih"];
  EXPECT_TRUE(torch::allclose(torch::mm(w, w.t()), torch::eye(kDyn), 1e-4, 1e-5));

  HydroModelOptions none = Options();
  none.initial_forget_bias = std::nan("");
  auto plain = std::make_shared<EaLstm>(none);
  EXPECT_TRUE(torch::all(plain->bias() == 0).item<bool>());
}

TEST(HydroModels, EaLstmInputGateDependsOnlyOnStatics) {
  torch::manual_seed(2);
  auto ea = std::make_shared<EaLstm>(Options());
  HydroBatch batch = RandomBatch();
  batch.x_d.requires_grad_(true);
  batch.x_s.requires_grad_(true);
  const auto gate = ea->InputGate(batch);
  EXPECT_EQ(gate.sizes(), (std::vector<int64_t>{kBatch, kHidden}));
  gate.sum().backward();
  EXPECT_FALSE(batch.x_d.grad().defined());  // no path from the dynamic inputs
  ASSERT_TRUE(batch.x_s.grad().defined());
  EXPECT_GT(batch.x_s.grad().abs().sum().item<double>(), 0);

  torch::NoGradGuard no_grad;
  HydroBatch other_dynamics{torch::randn({kBatch, kLen, kDyn}), batch.x_s.detach()};
  EXPECT_TRUE(torch::equal(ea->InputGate(other_dynamics), gate.detach()));
  HydroBatch other_statics{batch.x_d.detach(), batch.x_s.detach() + 1};
  EXPECT_FALSE(torch::allclose(ea->InputGate(other_statics), gate.detach()));
  // Yet the output does depend on the dynamic inputs (through the other gates).
  ea->eval();
  HydroBatch same{batch.x_d.detach(), batch.x_s.detach()};
  EXPECT_FALSE(torch::allclose(ea->Forward(same, 1), ea->Forward(other_dynamics, 1)));
}

// Forward and gradients equal NeuralHydrology's EALSTM written step by step (its _cell and
// _DynamicGates: gates = h W_hh + x_t W_ih + b, split f, o, g; c = sigmoid(f) c + i tanh(g);
// h = sigmoid(o) tanh(c); i = sigmoid(input_gate(x_s))), in double, eval mode (no dropout).
TEST(HydroModels, EaLstmIsNeuralHydrologysCell) {
  torch::manual_seed(3);
  auto ea = std::make_shared<EaLstm>(Options());
  ea->to(torch::kDouble);
  ea->eval();
  const auto params = ea->named_parameters();
  HydroBatch batch{torch::randn({kBatch, kLen, kDyn}, torch::kDouble),
                   torch::randn({kBatch, kStat}, torch::kDouble)};
  auto reference = [&]() {
    const auto i = torch::sigmoid(torch::nn::functional::linear(
        batch.x_s, params["input_net.weight"], params["input_net.bias"]));
    auto h = torch::zeros({kBatch, kHidden}, torch::kDouble), c = h;
    std::vector<torch::Tensor> out;
    for (int64_t t = 0; t < kLen; ++t) {
      const auto gates = torch::mm(h, params["weight_hh"]) +
                         torch::mm(batch.x_d.select(1, t), params["weight_ih"]) + params["bias"];
      const auto fog = gates.chunk(3, 1);
      c = torch::sigmoid(fog[0]) * c + i * torch::tanh(fog[2]);
      h = torch::sigmoid(fog[1]) * torch::tanh(c);
      out.push_back(h);
    }
    const auto last = torch::stack(out, 1).narrow(1, kLen - 3, 3);  // last_n = 3
    return torch::nn::functional::linear(last, params["head.weight"], params["head.bias"])
        .squeeze(-1);
  };
  const auto ours = ea->Forward(batch, 3);
  const auto theirs = reference();
  ASSERT_EQ(ours.sizes(), theirs.sizes());
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-12, 1e-12));
  const auto probe = torch::randn_like(ours);
  std::vector<torch::Tensor> inputs;
  for (const auto& p : params) inputs.push_back(p.value());
  const auto g_ours = torch::autograd::grad({(ours * probe).sum()}, inputs);
  const auto g_theirs = torch::autograd::grad({(theirs * probe).sum()}, inputs);
  for (size_t k = 0; k < inputs.size(); ++k) {
    EXPECT_TRUE(torch::allclose(g_ours[k], g_theirs[k], 1e-10, 1e-12)) << "gradient " << k;
  }
}

// The names that the pipeline file and the CLI check without libtorch are the ones taken here.
TEST(HydroModels, BuiltInNamesAreTheOnesTaken) {
  for (const auto& names : {kHydroModelNames, kHydroModelAliases}) {
    for (const auto name : names) {
      EXPECT_TRUE(MakeHydroModel(std::string(name), Options()).ok()) << name;
    }
  }
  EXPECT_EQ(HydroModelNames(), std::vector<std::string>({"EA-LSTM", "LSTM"}));
}

TEST(HydroModels, ConfigErrors) {
  auto unknown = MakeHydroModel("GRU", Options());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("EA-LSTM"), std::string::npos) << unknown.status();
  HydroModelOptions no_statics = Options();
  no_statics.static_inputs = 0;
  EXPECT_TRUE(MakeHydroModel("LSTM", no_statics).ok());
  auto ea = MakeHydroModel("EA-LSTM", no_statics);
  ASSERT_FALSE(ea.ok());
  EXPECT_NE(ea.status().message().find("static"), std::string::npos) << ea.status();
  HydroModelOptions dropout = Options();
  dropout.output_dropout = 1.5;
  EXPECT_FALSE(MakeHydroModel("LSTM", dropout).ok());
}

}  // namespace
}  // namespace drc::dl
