#include "src/dl/fused_rnn.h"

#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include <string>
#include <vector>

#include "src/dl/dnnl_rnn.h"
#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

// The oneDNN RNN path is there exactly when the headers it was compiled against are the linked
// library's major version (2 on Debian). A libtorch with oneDNN 3 headers of its own (PyPI's)
// turns it off, and so would a oneDNN 3 library (dnnl_rnn.cc would need porting first).
TEST(DnnlRnn, AvailableWithTheHeadersOfTheLinkedOneDnn) {
  const int headers = DnnlHeadersMajor();
  const bool same_major = dnnl_version()->major == headers;
  EXPECT_EQ(DnnlRnnAvailable(), same_major && headers < 3)
      << "headers " << headers << ", library " << dnnl_version()->major;
  if (DnnlRnnAvailable()) return;
  EXPECT_FALSE(
      Guard("dnnl", [] { DnnlRnnLayer(RnnCell::kTanh, {}, {}, {}, {}, {}, {}, {}); }).ok());
}

struct Case {
  int64_t layers, input, hidden, batch, steps;
  bool batch_first, with_state, bias = true;
};

// Outputs, final states and the gradients of the input, the initial state and every parameter
// equal torch::nn::LSTM's (oneDNN's primitive for float: one step, many steps, 1-3 layers,
// given state, no bias; double falls back to torch's LSTM).
TEST(FusedLstm, MatchesTorchLstmValuesAndGradients) {
  for (const Case& c : {Case{1, 1, 8, 5, 1, true, false}, Case{2, 1, 16, 7, 24, true, false},
                        Case{3, 4, 8, 3, 9, false, true}, Case{2, 3, 32, 33, 12, true, true},
                        Case{1, 6, 16, 4, 40, true, false, false}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      SCOPED_TRACE(std::to_string(c.layers) + " layers, " + std::to_string(c.steps) + " steps, " +
                   (dtype == torch::kFloat ? "float" : "double"));
      torch::manual_seed(5);
      torch::nn::LSTM lstm(torch::nn::LSTMOptions(c.input, c.hidden)
                               .num_layers(c.layers)
                               .bias(c.bias)
                               .batch_first(c.batch_first));
      lstm->to(dtype);
      const auto opts = torch::dtype(dtype);
      auto x = c.batch_first ? torch::randn({c.batch, c.steps, c.input}, opts)
                             : torch::randn({c.steps, c.batch, c.input}, opts);
      x.requires_grad_();
      LstmState state;
      if (c.with_state) {
        state = {torch::randn({c.layers, c.batch, c.hidden}, opts).requires_grad_(),
                 torch::randn({c.layers, c.batch, c.hidden}, opts).requires_grad_()};
      }
      auto [out, fin] = FusedLstm(lstm, x, state);
      auto [ref, ref_fin] = c.with_state ? lstm->forward(x, state) : lstm->forward(x);
      const double tol = dtype == torch::kFloat ? 1e-5 : 1e-11;
      ASSERT_EQ(out.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(out, ref, tol, tol));
      EXPECT_TRUE(torch::allclose(std::get<0>(fin), std::get<0>(ref_fin), tol, tol));
      EXPECT_TRUE(torch::allclose(std::get<1>(fin), std::get<1>(ref_fin), tol, tol));

      // A loss reading the outputs and both final states.
      auto probe = torch::randn_like(ref);
      auto probe_h = torch::randn_like(std::get<0>(ref_fin));
      auto probe_c = torch::randn_like(std::get<1>(ref_fin));
      auto loss = [&](const torch::Tensor& o, const LstmState& s) {
        return (o * probe).sum() + (std::get<0>(s) * probe_h).sum() +
               (std::get<1>(s) * probe_c).sum();
      };
      std::vector<torch::Tensor> inputs{x};
      if (c.with_state) {
        inputs.push_back(std::get<0>(state));
        inputs.push_back(std::get<1>(state));
      }
      for (const auto& p : lstm->parameters()) inputs.push_back(p);
      auto ours = torch::autograd::grad({loss(out, fin)}, inputs);
      auto theirs = torch::autograd::grad({loss(ref, ref_fin)}, inputs);
      const double gtol = dtype == torch::kFloat ? 1e-4 : 1e-10;
      for (size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_TRUE(torch::allclose(ours[i], theirs[i], gtol, gtol))
            << "gradient " << i << ": max difference "
            << (ours[i] - theirs[i]).abs().max().item<double>();
      }
    }
  }
}

// The GRU and tanh RNN against torch's modules: outputs, h_n and the gradients of the input, the
// initial state and every parameter (float on oneDNN: the GRU's gates reordered and its four
// biases; double falls back).
template <typename Module, typename Options, typename Fused>
void ExpectSameAsTorch(const char* name, Fused fused) {
  for (const Case& c :
       {Case{1, 1, 8, 5, 1, true, false}, Case{2, 1, 16, 7, 24, true, false},
        Case{3, 4, 8, 3, 9, false, true}, Case{2, 3, 20, 33, 12, true, true, false}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      SCOPED_TRACE(std::string(name) + ", " + std::to_string(c.layers) + " layers, " +
                   std::to_string(c.steps) + " steps, " +
                   (dtype == torch::kFloat ? "float" : "double"));
      torch::manual_seed(9);
      Module module(
          Options(c.input, c.hidden).num_layers(c.layers).bias(c.bias).batch_first(c.batch_first));
      module->to(dtype);
      const auto opts = torch::dtype(dtype);
      auto x = c.batch_first ? torch::randn({c.batch, c.steps, c.input}, opts)
                             : torch::randn({c.steps, c.batch, c.input}, opts);
      x.requires_grad_();
      torch::Tensor h0;
      if (c.with_state) h0 = torch::randn({c.layers, c.batch, c.hidden}, opts).requires_grad_();
      auto [out, h_n] = fused(module, x, h0);
      auto [ref, ref_h_n] = c.with_state ? module->forward(x, h0) : module->forward(x);
      ASSERT_EQ(out.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(out, ref, 1e-5, 1e-5));
      EXPECT_TRUE(torch::allclose(h_n, ref_h_n, 1e-5, 1e-5));
      auto probe = torch::randn_like(ref), probe_h = torch::randn_like(ref_h_n);
      std::vector<torch::Tensor> inputs{x};
      if (c.with_state) inputs.push_back(h0);
      for (const auto& p : module->parameters()) inputs.push_back(p);
      auto ours = torch::autograd::grad({(out * probe).sum() + (h_n * probe_h).sum()}, inputs);
      auto theirs =
          torch::autograd::grad({(ref * probe).sum() + (ref_h_n * probe_h).sum()}, inputs);
      for (size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-4, 1e-4))
            << "gradient " << i << ": max difference "
            << (ours[i] - theirs[i]).abs().max().template item<double>();
      }
    }
  }
}

TEST(FusedGru, MatchesTorchGruValuesAndGradients) {
  ExpectSameAsTorch<torch::nn::GRU, torch::nn::GRUOptions>(
      "GRU", [](torch::nn::GRU m, const torch::Tensor& x, const torch::Tensor& h0) {
        return FusedGru(m, x, h0);
      });
}

TEST(FusedRnn, MatchesTorchRnnValuesAndGradients) {
  ExpectSameAsTorch<torch::nn::RNN, torch::nn::RNNOptions>(
      "RNN", [](torch::nn::RNN m, const torch::Tensor& x, const torch::Tensor& h0) {
        return FusedRnn(m, x, h0);
      });
}

// RNN's relu nonlinearity (not covered) is torch's own.
TEST(FusedRnn, ReluFallsBackToTorch) {
  torch::manual_seed(10);
  torch::nn::RNN rnn(torch::nn::RNNOptions(2, 6).nonlinearity(torch::kReLU).batch_first(true));
  auto x = torch::randn({3, 7, 2});
  EXPECT_TRUE(torch::equal(std::get<0>(FusedRnn(rnn, x)), std::get<0>(rnn->forward(x))));
}

// Without gradients (prediction) oneDNN's inference kernel runs; it gives the training
// kernel's values, on batch-first, time-major and strided inputs alike.
TEST(FusedLstm, InferenceMatchesTrainingOnEveryLayout) {
  torch::manual_seed(8);
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(3, 16).num_layers(2).batch_first(true));
  auto wide = torch::randn({6, 11, 5});
  for (const auto& x : {wide.narrow(2, 0, 3).contiguous(), wide.narrow(2, 1, 3),
                        wide.narrow(2, 0, 3).transpose(0, 1).contiguous().transpose(0, 1)}) {
    auto [trained, trained_state] = FusedLstm(lstm, x);
    ASSERT_TRUE(trained.requires_grad());
    torch::NoGradGuard no_grad;
    auto [predicted, predicted_state] = FusedLstm(lstm, x);
    EXPECT_FALSE(predicted.requires_grad());
    EXPECT_TRUE(torch::allclose(predicted, trained, 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(predicted, std::get<0>(lstm->forward(x)), 1e-5, 1e-5));
    EXPECT_TRUE(
        torch::allclose(std::get<1>(predicted_state), std::get<1>(trained_state), 1e-6, 1e-6));
  }
}

// Buffers from 4 MB up (here the workspace and the 4 MB outputs) are pooled across calls:
// results that are still alive keep their memory while later calls run, and a reused buffer
// gives the same values and gradients as torch.
TEST(FusedLstm, PooledBuffersAreNotSharedWhileAlive) {
  torch::manual_seed(11);
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(3, 128).batch_first(true));
  std::vector<torch::Tensor> inputs, outputs, grads;
  for (int call = 0; call < 3; ++call) {
    inputs.push_back(torch::randn({64, 128, 3}).requires_grad_());
    outputs.push_back(std::get<0>(FusedLstm(lstm, inputs.back())));  // kept alive
    outputs.back().sum().backward();
    grads.push_back(inputs.back().grad().clone());
  }
  for (int call = 0; call < 3; ++call) {
    auto x = inputs[call].detach().requires_grad_();
    auto ref = std::get<0>(lstm->forward(x));
    EXPECT_TRUE(torch::allclose(outputs[call], ref, 1e-5, 1e-5)) << "call " << call;
    ref.sum().backward();
    EXPECT_TRUE(torch::allclose(grads[call], x.grad(), 1e-4, 1e-4)) << "call " << call;
  }
  EXPECT_NE(outputs[0].data_ptr(), outputs[1].data_ptr());
  EXPECT_NE(outputs[1].data_ptr(), outputs[2].data_ptr());
}

// When the batch grows step by step (a data-parallel hydrology rank's share does), the pool ends
// holding one set of buffers at the largest batch, as a single step at that batch leaves it, not
// one set per batch size it saw (which held 1.45 GB per rank in bench/hydro_ranks.sh).
TEST(FusedLstm, PoolKeepsOneSetOfBuffersAsTheBatchGrows) {
  if (!DnnlRnnAvailable()) GTEST_SKIP() << "no oneDNN RNN layers in this build";
  torch::manual_seed(12);
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(5, 96).batch_first(true));
  auto step = [&](int64_t batch) {
    auto x = torch::randn({batch, 200, 5}).requires_grad_();
    std::get<0>(FusedLstm(lstm, x)).sum().backward();
  };
  DnnlRnnReleasePooled();
  step(128);
  const size_t one_set = DnnlRnnPooledBytes();
  ASSERT_GT(one_set, 0u);  // the workspace, the outputs and their gradients (~200 MB here)
  DnnlRnnReleasePooled();
  for (int64_t batch = 64; batch <= 128; batch += 8) step(batch);
  EXPECT_LE(DnnlRnnPooledBytes(), one_set) << "one set at 128: " << one_set;
  DnnlRnnReleasePooled();
}

// In training mode with dropout between layers the outputs differ from the unmasked ones and
// the first layer still gets gradients; in eval mode dropout is off and the result is torch's.
TEST(FusedLstm, DropoutBetweenLayersOnlyInTraining) {
  torch::manual_seed(6);
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(1, 16).num_layers(2).dropout(0.5).batch_first(true));
  auto x = torch::randn({4, 10, 1});
  lstm->eval();
  auto [eval_out, eval_state] = FusedLstm(lstm, x);
  EXPECT_TRUE(torch::allclose(eval_out, std::get<0>(lstm->forward(x)), 1e-5, 1e-5));
  lstm->train();
  auto [train_out, train_state] = FusedLstm(lstm, x);
  EXPECT_FALSE(torch::allclose(train_out, eval_out, 1e-3, 1e-3));
  train_out.sum().backward();
  EXPECT_GT(lstm->named_parameters()["weight_ih_l0"].grad().abs().sum().item<double>(), 0);
}

// What it does not fuse goes to torch's LSTM; a wrong state shape names the shapes.
TEST(FusedLstm, FallsBackAndRejectsBadState) {
  torch::manual_seed(7);
  torch::nn::LSTM bi(torch::nn::LSTMOptions(2, 4).bidirectional(true).batch_first(true));
  auto x = torch::randn({3, 5, 2});
  auto [out, state] = FusedLstm(bi, x);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 5, 8}));
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(2, 4).batch_first(true));
  try {
    FusedLstm(lstm, x, {torch::zeros({1, 2, 4}), torch::zeros({1, 2, 4})});
    FAIL() << "a state for a batch of 2 was accepted for a batch of 3";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 2, 4]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace drc::dl
