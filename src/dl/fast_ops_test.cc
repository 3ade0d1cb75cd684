#include "src/dl/fast_ops.h"
#include "src/dl/fused_rnn.h"

#include <c10/util/C++17.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "src/dl/torch_status.h"

namespace drc::dl {
namespace {

// Values and gradients equal at::bmm's, for small products (our loop), a large one (at::bmm),
// non-contiguous inputs, float and double.
TEST(FastOps, BatchedMatmulMatchesBmm) {
  torch::manual_seed(2);
  struct Shape {
    int64_t batch, m, k, n;
  };
  for (const Shape& s : {Shape{37, 3, 8, 3}, Shape{5, 24, 32, 36}, Shape{2, 70, 80, 90}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      auto a = torch::randn({s.batch, s.m, s.k}, torch::dtype(dtype)).requires_grad_();
      // b as the transpose of a contiguous tensor: not contiguous.
      auto bt = torch::randn({s.batch, s.n, s.k}, torch::dtype(dtype)).requires_grad_();
      auto b = bt.transpose(1, 2);
      auto weight = torch::randn({s.batch, s.m, s.n}, torch::dtype(dtype));
      auto ours = BatchedMatmul(a, b);
      auto ref = torch::bmm(a, b);
      const double tol = dtype == torch::kFloat ? 1e-4 : 1e-10;
      ASSERT_EQ(ours.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(ours, ref, tol, tol));
      auto ga = torch::autograd::grad({(ours * weight).sum()}, {a, bt});
      auto gr = torch::autograd::grad({(ref * weight).sum()}, {a, bt});
      EXPECT_TRUE(torch::allclose(ga[0], gr[0], tol, tol)) << s.m << "x" << s.k << "x" << s.n;
      EXPECT_TRUE(torch::allclose(ga[1], gr[1], tol, tol)) << s.m << "x" << s.k << "x" << s.n;
    }
  }
  auto bad = Guard("bmm", [] { BatchedMatmul(torch::ones({2, 3, 4}), torch::ones({2, 5, 6})); });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 3, 4]"), std::string::npos) << bad.message();
}

// BlockDiagonalLinear equals the einsum it replaces, in value and in the gradients of x and w:
// blocks of 4 x 4 (xLSTM's), of other shapes, float and double, a non-contiguous input with
// leading dimensions; and names the shapes when they do not fit.
TEST(FastOps, BlockDiagonalLinearMatchesEinsum) {
  torch::manual_seed(4);
  struct Shape {
    int64_t rows, blocks, out, in;
  };
  for (const Shape& s : {Shape{96, 64, 4, 4}, Shape{7, 3, 5, 2}, Shape{1, 1, 1, 1}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      auto xt = torch::randn({s.blocks * s.in, 2, s.rows}, torch::dtype(dtype)).requires_grad_();
      auto x = xt.permute({1, 2, 0});  // [2, rows, blocks * in], not contiguous
      auto w = torch::randn({s.blocks, s.out, s.in}, torch::dtype(dtype)).requires_grad_();
      auto bias = torch::randn({s.blocks * s.out}, torch::dtype(dtype)).requires_grad_();
      auto ours = BlockDiagonalLinear(x, w, bias);
      auto ref = torch::einsum("nhd,hod->nho", {x.reshape({-1, s.blocks, s.in}), w})
                     .reshape({2, s.rows, s.blocks * s.out}) +
                 bias;
      const double tol = dtype == torch::kFloat ? 1e-5 : 1e-12;
      ASSERT_EQ(ours.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(ours, ref, tol, tol));
      auto weight = torch::randn(ref.sizes(), torch::dtype(dtype));
      auto go = torch::autograd::grad({(ours * weight).sum()}, {xt, w, bias});
      auto gr = torch::autograd::grad({(ref * weight).sum()}, {xt, w, bias});
      EXPECT_TRUE(torch::allclose(go[2], gr[2], 10 * tol, 10 * tol));
      EXPECT_TRUE(torch::allclose(BlockDiagonalLinear(x, w), ref - bias, tol, tol));
      EXPECT_TRUE(torch::allclose(go[0], gr[0], tol, tol))
          << s.blocks << "x" << s.out << "x" << s.in;
      EXPECT_TRUE(torch::allclose(go[1], gr[1], 10 * tol, 10 * tol))
          << s.blocks << "x" << s.out << "x" << s.in;
    }
  }
  auto bad = Guard("blocks", [] {
    BlockDiagonalLinear(torch::ones({2, 12}), torch::ones({4, 4, 4}));
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 12] and [4, 4, 4]"), std::string::npos) << bad.message();
}

// CausalDepthwiseConv1d equals libtorch's Conv1d (groups = C, padded by K - 1, its first L
// steps) in value and in the gradients of x, weight and bias: xLSTM's kernel of 4, a kernel
// longer than the window, one step, a non-contiguous input, and double (libtorch's ops).
TEST(FastOps, CausalDepthwiseConvMatchesConv1d) {
  torch::manual_seed(6);
  struct Shape {
    int64_t batch, l, c, k;
  };
  for (const Shape& s : {Shape{5, 24, 40, 4}, Shape{3, 2, 17, 4}, Shape{2, 1, 3, 1}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      auto xt = torch::randn({s.c, s.batch, s.l}, torch::dtype(dtype)).requires_grad_();
      auto x = xt.permute({1, 2, 0});  // [B, L, C], not contiguous
      auto w = torch::randn({s.c, 1, s.k}, torch::dtype(dtype)).requires_grad_();
      auto bias = torch::randn({s.c}, torch::dtype(dtype)).requires_grad_();
      auto ours = CausalDepthwiseConv1d(x, w, bias);
      auto ref = torch::conv1d(x.transpose(1, 2), w, bias, 1, s.k - 1, 1, s.c)
                     .narrow(2, 0, s.l)
                     .transpose(1, 2);
      const double tol = dtype == torch::kFloat ? 1e-5 : 1e-12;
      ASSERT_EQ(ours.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(ours, ref, tol, tol)) << s.l << " steps, kernel " << s.k;
      auto weight = torch::randn(ref.sizes(), torch::dtype(dtype));
      auto go = torch::autograd::grad({(ours * weight).sum()}, {xt, w, bias});
      auto gr = torch::autograd::grad({(ref * weight).sum()}, {xt, w, bias});
      for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(torch::allclose(go[i], gr[i], 10 * tol, 10 * tol))
            << "gradient " << i << ", " << s.l << " steps, kernel " << s.k;
      }
    }
  }
  auto bad = Guard("conv", [] {
    CausalDepthwiseConv1d(torch::ones({2, 5, 3}), torch::ones({4, 1, 4}), torch::ones({4}));
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 5, 3], [4, 1, 4] and [4]"), std::string::npos) << bad.message();
}

// The xlstm package's parallel_stabilized_simple in libtorch ops, on q, k, v [B, L, NH * DH]
// and gates [B, L, NH], giving [B, L, NH * DH].
torch::Tensor ComposedMLstmCell(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, const torch::Tensor& ig,
                                const torch::Tensor& fg) {
  const int64_t b = q.size(0), l = q.size(1), nh = ig.size(2), dh = q.size(2) / nh;
  auto heads = [&](const torch::Tensor& t) { return t.view({b, l, nh, dh}).transpose(1, 2); };
  auto log_fgates = torch::log_sigmoid(fg.transpose(1, 2).unsqueeze(-1));  // [B, NH, L, 1]
  auto cumsum = torch::cat({torch::zeros({b, nh, 1, 1}, q.options()), log_fgates.cumsum(-2)}, -2);
  auto rep = cumsum.repeat({1, 1, 1, l + 1});
  auto ltr = torch::ones({l, l}, torch::TensorOptions().dtype(torch::kBool)).tril();
  auto log_fg =
      torch::where(ltr, (rep - rep.transpose(-2, -1)).slice(2, 1).slice(3, 1),
                   torch::full({}, -std::numeric_limits<double>::infinity(), q.options()));
  auto log_d = log_fg + ig.transpose(1, 2).unsqueeze(-1).transpose(-2, -1);
  auto max_log_d = std::get<0>(log_d.max(-1, true));
  auto d = torch::exp(log_d - max_log_d);
  auto c =
      torch::matmul(heads(q), (heads(k) / std::sqrt(static_cast<double>(dh))).transpose(-2, -1)) *
      d;
  auto n = torch::maximum(c.sum(-1, true).abs(), torch::exp(-max_log_d));
  return torch::matmul(c / (n + 1e-6), heads(v)).transpose(1, 2).reshape({b, l, nh * dh});
}

// MLstmCell equals the xlstm package's cell in libtorch ops, in value and in the gradients of
// q, k, v and both gates: NF's shape (4 heads of 64) on a short window, other head counts and
// widths, one step, gates wide enough that the stabiliser and the normaliser's floor both act,
// non-contiguous gates, and double (the composition itself).
TEST(FastOps, MLstmCellMatchesTheComposition) {
  torch::manual_seed(8);
  struct Shape {
    int64_t b, l, nh, dh;
  };
  for (const Shape& s : {Shape{3, 7, 4, 64}, Shape{2, 24, 2, 5}, Shape{2, 1, 3, 4}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      const auto o = torch::dtype(dtype);
      auto q = torch::randn({s.b, s.l, s.nh * s.dh}, o).requires_grad_();
      auto k = torch::randn({s.b, s.l, s.nh * s.dh}, o).requires_grad_();
      auto v = torch::randn({s.b, s.l, s.nh * s.dh}, o).requires_grad_();
      auto gates = (3 * torch::randn({s.b, s.l, 2 * s.nh}, o)).requires_grad_();
      auto ig = gates.narrow(2, 0, s.nh), fg = gates.narrow(2, s.nh, s.nh);
      auto ours = MLstmCell(q, k, v, ig, fg);
      auto ref = ComposedMLstmCell(q, k, v, ig, fg);
      const double tol = dtype == torch::kFloat ? 2e-5 : 1e-12;
      ASSERT_EQ(ours.sizes(), ref.sizes());
      EXPECT_TRUE(torch::allclose(ours, ref, tol, tol)) << (ours - ref).abs().max();
      auto weight = torch::randn(ref.sizes(), o);
      auto go = torch::autograd::grad({(ours * weight).sum()}, {q, k, v, gates});
      auto gr = torch::autograd::grad({(ref * weight).sum()}, {q, k, v, gates});
      for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(torch::allclose(go[i], gr[i], 10 * tol, 10 * tol))
            << "gradient " << i << ", " << s.l << " steps, " << s.nh
            << " heads: " << (go[i] - gr[i]).abs().max();
      }
    }
  }
  auto bad = Guard("cell", [] {
    MLstmCell(torch::ones({2, 5, 8}), torch::ones({2, 5, 8}), torch::ones({2, 5, 8}),
              torch::ones({2, 5, 3}), torch::ones({2, 5, 3}));
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 5, 3]"), std::string::npos) << bad.message();
}

// The sLSTM cell's kernel (float) against its composition in libtorch ops (the path of other
// dtypes, here double), values and gradients, over several shapes; the composition itself is
// checked against the xlstm package through xLSTM's model tests.
TEST(FastOps, SLstmCellMatchesTheComposition) {
  torch::manual_seed(9);
  struct Shape {
    int64_t l, b, nh, dh;
  };
  for (const Shape& s : {Shape{24, 5, 4, 8}, Shape{7, 3, 2, 5}, Shape{1, 2, 4, 3}}) {
    const auto d = s.nh * s.dh;
    auto wx = (2 * torch::randn({s.l, s.b, 4, d}, torch::kDouble)).requires_grad_();
    auto r = (0.3 * torch::randn({s.nh, s.dh, 4 * s.dh}, torch::kDouble)).requires_grad_();
    auto bias = torch::randn({4, d}, torch::kDouble).requires_grad_();
    auto ref = SLstmCell(wx, r, bias);  // double: the composition
    auto wx32 = wx.detach().to(torch::kFloat).requires_grad_();
    auto r32 = r.detach().to(torch::kFloat).requires_grad_();
    auto bias32 = bias.detach().to(torch::kFloat).requires_grad_();
    auto ours = SLstmCell(wx32, r32, bias32);
    ASSERT_EQ(ours.sizes(), (std::vector<int64_t>{s.l, s.b, d}));
    EXPECT_TRUE(torch::allclose(ours.to(torch::kDouble), ref, 1e-5, 1e-5))
        << (ours.to(torch::kDouble) - ref).abs().max();
    auto weight = torch::randn(ref.sizes(), torch::kDouble);
    auto gr = torch::autograd::grad({(ref * weight).sum()}, {wx, r, bias});
    auto go = torch::autograd::grad({(ours * weight.to(torch::kFloat)).sum()}, {wx32, r32, bias32});
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(torch::allclose(go[i].to(torch::kDouble), gr[i], 1e-4, 1e-4))
          << "gradient " << i << ", " << s.l << " steps, " << s.nh
          << " heads: " << (go[i].to(torch::kDouble) - gr[i]).abs().max();
    }
  }
  auto bad = Guard("cell", [] {
    SLstmCell(torch::ones({3, 2, 4, 8}), torch::ones({2, 4, 12}), torch::ones({4, 8}));
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 4, 12]"), std::string::npos) << bad.message();
}

// The projected LSTM layer's kernel (float) against its composition in libtorch ops (double),
// values and the gradients of all eight inputs, through both outputs, from non-zero states; and
// a two-layer torch::nn::LSTM with proj_size through FusedLstm against the module's own forward.
TEST(FastOps, ProjectedLstmLayerMatchesTheComposition) {
  torch::manual_seed(11);
  struct Shape {
    int64_t t, b, c, h, p;
  };
  for (const Shape& s : {Shape{25, 6, 1, 16, 1}, Shape{7, 3, 4, 8, 3}, Shape{1, 2, 2, 5, 2}}) {
    auto make = [](std::vector<int64_t> shape, double scale) {
      return (scale * torch::randn(shape, torch::kDouble)).requires_grad_();
    };
    std::vector<torch::Tensor> in = {make({s.t, s.b, s.c}, 1.0), make({4 * s.h, s.c}, 0.5),
                                     make({4 * s.h, s.p}, 0.5),  make({4 * s.h}, 0.3),
                                     make({4 * s.h}, 0.3),       make({s.p, s.h}, 0.5),
                                     make({s.b, s.p}, 0.5),      make({s.b, s.h}, 0.5)};
    auto [ref_h, ref_c] =
        ProjectedLstmLayer(in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]);  // composition
    std::vector<torch::Tensor> in32;
    for (const auto& t : in) in32.push_back(t.detach().to(torch::kFloat).requires_grad_());
    auto [h, c] =
        ProjectedLstmLayer(in32[0], in32[1], in32[2], in32[3], in32[4], in32[5], in32[6], in32[7]);
    ASSERT_EQ(h.sizes(), (std::vector<int64_t>{s.t, s.b, s.p}));
    ASSERT_EQ(c.sizes(), (std::vector<int64_t>{s.b, s.h}));
    EXPECT_TRUE(torch::allclose(h.to(torch::kDouble), ref_h, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(c.to(torch::kDouble), ref_c, 1e-5, 1e-5));
    auto wh = torch::randn(ref_h.sizes(), torch::kDouble);
    auto wc = torch::randn(ref_c.sizes(), torch::kDouble);
    auto gr = torch::autograd::grad({(ref_h * wh).sum() + (ref_c * wc).sum()}, in);
    auto go = torch::autograd::grad(
        {(h * wh.to(torch::kFloat)).sum() + (c * wc.to(torch::kFloat)).sum()}, in32);
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_TRUE(torch::allclose(go[i].to(torch::kDouble), gr[i], 1e-4, 1e-4))
          << "gradient " << i << ", " << s.t
          << " steps: " << (go[i].to(torch::kDouble) - gr[i]).abs().max();
    }
  }
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(3, 12).num_layers(2).proj_size(2).batch_first(true));
  auto x = torch::randn({4, 9, 3});
  auto [ours, state] = FusedLstm(lstm, x);
  auto [theirs, their_state] = lstm->forward(x);
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(std::get<0>(state), std::get<0>(their_state), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(std::get<1>(state), std::get<1>(their_state), 1e-5, 1e-6));
  auto bad = Guard("layer", [] {
    ProjectedLstmLayer(torch::ones({3, 2, 1}), torch::ones({8, 1}), torch::ones({8, 1}),
                       torch::ones({8}), torch::ones({8}), torch::ones({1, 3}), torch::ones({2, 1}),
                       torch::ones({2, 2}));
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[1, 3]"), std::string::npos) << bad.message();
}

// The reference: the same attention as libtorch ops (split heads, scaled products, softmax).
std::pair<torch::Tensor, torch::Tensor> ComposedAttention(const torch::Tensor& qkv,
                                                          const torch::Tensor& prev, int64_t heads,
                                                          double scale) {
  const int64_t n = qkv.size(0), p = qkv.size(1), d = qkv.size(2) / 3;
  auto split = [&](int64_t part) {
    return qkv.narrow(2, part * d, d).reshape({n, p, heads, d / heads}).transpose(1, 2);
  };
  torch::Tensor q = split(0), k = split(1), v = split(2);
  torch::Tensor scores = torch::matmul(q, k.transpose(2, 3)) * scale;
  if (prev.defined()) scores = scores + prev;
  torch::Tensor out = torch::matmul(torch::softmax(scores, -1), v);
  return {out.transpose(1, 2).reshape({n, p, d}), scores};
}

// ShortSelfAttention's outputs and the gradients of its projections and previous scores equal
// libtorch's ops: 1 to 9 tokens, 1 to 16 heads, with and without residual scores, float and
// double, a non-contiguous input, and a loss that reads the scores (as the next layer does)
// or only the output (the last layer).
TEST(FastOps, ShortSelfAttentionMatchesComposedOps) {
  torch::manual_seed(5);
  struct Shape {
    int64_t windows, tokens, heads, head_dim;
  };
  for (const Shape& s :
       {Shape{37, 3, 16, 8}, Shape{5, 1, 2, 4}, Shape{4, 9, 3, 5}, Shape{2, 7, 1, 16}}) {
    for (auto dtype : {torch::kFloat, torch::kDouble}) {
      for (bool with_prev : {false, true}) {
        for (bool read_scores : {false, true}) {
          const int64_t d = s.heads * s.head_dim;
          // [N, 3D, P] transposed: not contiguous.
          auto raw =
              torch::randn({s.windows, 3 * d, s.tokens}, torch::dtype(dtype)).requires_grad_();
          auto qkv = raw.transpose(1, 2);
          torch::Tensor prev;
          if (with_prev) {
            prev = torch::randn({s.windows, s.heads, s.tokens, s.tokens}, torch::dtype(dtype))
                       .requires_grad_();
          }
          const double scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim));
          auto [out, scores] = ShortSelfAttention(qkv, prev, s.heads, scale);
          auto [ref_out, ref_scores] = ComposedAttention(qkv, prev, s.heads, scale);
          const double tol = dtype == torch::kFloat ? 1e-5 : 1e-12;
          ASSERT_EQ(out.sizes(), ref_out.sizes());
          ASSERT_EQ(scores.sizes(), ref_scores.sizes());
          EXPECT_TRUE(torch::allclose(out, ref_out, tol, tol));
          EXPECT_TRUE(torch::allclose(scores, ref_scores, tol, tol));
          auto w_out = torch::randn_like(out);
          auto w_scores = torch::randn_like(scores);
          auto loss = [&](const torch::Tensor& o, const torch::Tensor& sc) {
            auto l = (o * w_out).sum();
            return read_scores ? l + (sc * w_scores).sum() : l;
          };
          std::vector<torch::Tensor> inputs{raw};
          if (with_prev) inputs.push_back(prev);
          auto g = torch::autograd::grad({loss(out, scores)}, inputs);
          auto g_ref = torch::autograd::grad({loss(ref_out, ref_scores)}, inputs);
          for (size_t i = 0; i < g.size(); ++i) {
            EXPECT_TRUE(torch::allclose(g[i], g_ref[i], 10 * tol, 10 * tol))
                << "input " << i << " of " << s.windows << "x" << s.tokens << "x" << s.heads << "x"
                << s.head_dim << " prev " << with_prev << " scores " << read_scores << " max diff "
                << (g[i] - g_ref[i]).abs().max().item<double>();
          }
        }
      }
    }
  }
  auto bad = Guard("attention", [] { ShortSelfAttention(torch::ones({2, 3, 10}), {}, 2, 1.0); });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 3, 10]"), std::string::npos) << bad.message();
  auto bad_prev = Guard("attention", [] {
    ShortSelfAttention(torch::ones({2, 3, 12}), torch::ones({2, 2, 3, 2}), 2, 1.0);
  });
  ASSERT_FALSE(bad_prev.ok());
  EXPECT_NE(bad_prev.message().find("[2, 2, 3, 2]"), std::string::npos) << bad_prev.message();
}

// Linear2d (oneDNN's sgemm for float) equals at::linear in values and in the gradients of the
// input, weight and bias; with and without bias, a transposed (non-contiguous) input, a double
// input (at::linear's path), and an input whose gradient is not needed.
TEST(FastOps, Linear2dMatchesLinear) {
  torch::manual_seed(6);
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (bool bias : {true, false}) {
      for (bool transposed : {false, true}) {
        const int64_t rows = 300, in = 37, out = 19;
        auto raw = transposed ? torch::randn({in, rows}, torch::dtype(dtype)).requires_grad_()
                              : torch::randn({rows, in}, torch::dtype(dtype)).requires_grad_();
        auto x = transposed ? raw.t() : raw;
        auto w = torch::randn({out, in}, torch::dtype(dtype)).requires_grad_();
        auto b = bias ? torch::randn({out}, torch::dtype(dtype)).requires_grad_() : torch::Tensor();
        auto y = Linear2d(x, w, b);
        auto ref = torch::linear(x, w, b);
        const double tol = dtype == torch::kFloat ? 1e-4 : 1e-10;
        ASSERT_EQ(y.sizes(), ref.sizes());
        EXPECT_TRUE(torch::allclose(y, ref, tol, tol));
        auto weight = torch::randn_like(y);
        std::vector<torch::Tensor> inputs{raw, w};
        if (bias) inputs.push_back(b);
        auto g = torch::autograd::grad({(y * weight).sum()}, inputs);
        auto g_ref = torch::autograd::grad({(ref * weight).sum()}, inputs);
        for (size_t i = 0; i < g.size(); ++i) {
          EXPECT_TRUE(torch::allclose(g[i], g_ref[i], tol, tol))
              << "input " << i << " bias " << bias << " transposed " << transposed;
        }
      }
    }
  }
  // Only the weight needs a gradient (a first layer's input).
  auto x = torch::randn({8, 5});
  auto w = torch::randn({3, 5}, torch::requires_grad());
  auto gw = torch::autograd::grad({Linear2d(x, w, {}).sum()}, {w});
  EXPECT_TRUE(torch::allclose(gw[0], torch::ones({8, 3}).t().mm(x), 1e-5, 1e-5));
  auto bad = Guard("linear", [] { Linear2d(torch::ones({4, 3}), torch::ones({2, 5}), {}); });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[2, 5]"), std::string::npos) << bad.message();
}

// One row (a forecast of one series): the output is its own memory, and the bias stays as it
// was (the output once was the bias itself, and each call added x w^T to the parameter).
TEST(FastOps, Linear2dOfOneRowLeavesTheBiasAlone) {
  torch::manual_seed(8);
  torch::nn::Linear linear(6, 4);
  const torch::Tensor bias = linear->bias.detach().clone();
  const torch::Tensor x = torch::randn({1, 6});
  torch::NoGradGuard no_grad;
  for (int call = 0; call < 3; ++call) {
    const torch::Tensor y = Dense(linear, x);
    EXPECT_TRUE(torch::allclose(y, torch::linear(x, linear->weight, bias), 1e-5, 1e-6)) << call;
    EXPECT_FALSE(y.is_alias_of(linear->bias)) << call;
    EXPECT_TRUE(torch::equal(linear->bias, bias)) << call;
  }
}

// Dense equals Linear on contiguous and permuted inputs of 2 to 4 dimensions.
TEST(FastOps, DenseFoldsLeadingDimensions) {
  torch::manual_seed(3);
  torch::nn::Linear linear(8, 5);
  for (auto x :
       {torch::randn({6, 8}), torch::randn({4, 6, 8}), torch::randn({4, 8, 6}).transpose(1, 2),
        torch::randn({2, 3, 8, 4}).permute({0, 1, 3, 2})}) {
    auto y = Dense(linear, x);
    auto ref = linear->forward(x.contiguous());
    ASSERT_EQ(y.sizes(), ref.sizes());
    EXPECT_TRUE(torch::allclose(y, ref, 1e-5, 1e-6));
  }
}

// A Linear over embedded scalars, folded, against the Linear over the embeddings themselves:
// values and the gradients of the values, the embedding's vectors and bias and the Linear's
// weight and bias, for one and for several variables, with and without a bias, float and double.
TEST(FastOps, EmbeddedDenseMatchesTheLinearOfTheEmbeddings) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (const auto& [n, bias] :
         std::vector<std::pair<int64_t, bool>>{{1, true}, {5, true}, {3, false}}) {
      SCOPED_TRACE(std::to_string(n) + " variables, " +
                   (dtype == torch::kFloat ? "float" : "double"));
      torch::manual_seed(11);
      const int64_t width = 8;
      torch::nn::Linear linear(torch::nn::LinearOptions(n * width, 6).bias(bias));
      linear->to(dtype);
      const auto opts = torch::dtype(dtype);
      auto values = torch::randn({4, 7, n}, opts).requires_grad_();
      auto vectors = torch::randn({n, width}, opts).requires_grad_();
      auto embedding_bias = torch::randn({n, width}, opts).requires_grad_();
      auto y = EmbeddedDense(linear, values, vectors, embedding_bias);
      auto ref = linear->forward((values.unsqueeze(-1) * vectors + embedding_bias).flatten(-2));
      ASSERT_EQ(y.sizes(), ref.sizes());
      const double tol = dtype == torch::kFloat ? 1e-4 : 1e-10;
      EXPECT_TRUE(torch::allclose(y, ref, tol, tol));
      std::vector<torch::Tensor> inputs{values, vectors, embedding_bias};
      for (const auto& p : linear->parameters()) inputs.push_back(p);
      auto probe = torch::randn_like(ref);
      auto ours = torch::autograd::grad({(y * probe).sum()}, inputs);
      auto theirs = torch::autograd::grad({(ref * probe).sum()}, inputs);
      for (size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_TRUE(torch::allclose(ours[i], theirs[i], tol, tol))
            << "gradient " << i << ": max difference "
            << (ours[i] - theirs[i]).abs().max().item<double>();
      }
    }
  }
  torch::nn::Linear wrong(10, 2);
  EXPECT_THROW(
      EmbeddedDense(wrong, torch::randn({3, 2}), torch::randn({2, 4}), torch::randn({2, 4})),
      c10::Error);
}

// The mean of same-padded convolutions with kernels 1, 3, ..., 11 (TimesNet's Inception block)
// equals one cropped convolution with the mean kernel: values and the gradients of the input,
// every kernel and bias, on grids from one row to one column.
TEST(FastOps, MergedCenteredKernelsMatchTheMeanOfConvolutions) {
  torch::manual_seed(4);
  const int64_t in = 3, out = 5;
  std::vector<torch::Tensor> weights, biases;
  for (int64_t k = 1; k <= 11; k += 2) {
    weights.push_back(torch::randn({out, in, k, k}, torch::kDouble).requires_grad_());
    biases.push_back(torch::randn({out}, torch::kDouble).requires_grad_());
  }
  struct Grid {
    int64_t rows, cols;
  };
  for (const Grid& g :
       {Grid{1, 48}, Grid{2, 24}, Grid{3, 16}, Grid{4, 12}, Grid{8, 6}, Grid{12, 4}, Grid{48, 1}}) {
    auto x = torch::randn({2, in, g.rows, g.cols}, torch::kDouble).requires_grad_();
    auto ours = SameConv2d(x, MeanOfCenteredKernels(weights), torch::stack(biases).mean(0));
    std::vector<torch::Tensor> convs;
    for (size_t i = 0; i < weights.size(); ++i) {
      const int64_t pad = static_cast<int64_t>(i);
      convs.push_back(torch::conv2d(x, weights[i], biases[i], 1, {pad, pad}));
    }
    auto ref = torch::stack(convs, -1).mean(-1);
    ASSERT_EQ(ours.sizes(), ref.sizes()) << g.rows << "x" << g.cols;
    EXPECT_TRUE(torch::allclose(ours, ref, 1e-10, 1e-10)) << g.rows << "x" << g.cols;
    auto probe = torch::randn_like(ref);
    std::vector<torch::Tensor> inputs{x};
    inputs.insert(inputs.end(), weights.begin(), weights.end());
    inputs.insert(inputs.end(), biases.begin(), biases.end());
    auto go = torch::autograd::grad({(ours * probe).sum()}, inputs);
    auto gr = torch::autograd::grad({(ref * probe).sum()}, inputs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_TRUE(torch::allclose(go[i], gr[i], 1e-10, 1e-10))
          << "gradient " << i << " on " << g.rows << "x" << g.cols;
    }
  }
  auto bad = Guard("conv", [] {
    SameConv2d(torch::ones({1, 2, 3, 3}), torch::ones({4, 2, 2, 2}), {});
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("[4, 2, 2, 2]"), std::string::npos) << bad.message();
  auto uneven = Guard("merge", [] {
    MeanOfCenteredKernels({torch::ones({4, 2, 3, 3}), torch::ones({4, 3, 1, 1})});
  });
  ASSERT_FALSE(uneven.ok());
  EXPECT_NE(uneven.message().find("[4, 3, 1, 1]"), std::string::npos) << uneven.message();
}

}  // namespace
}  // namespace drc::dl

namespace drc::dl {
namespace {

// AdamStep against libtorch's Adam::step from the same start: 30 steps with gradients of a
// quadratic, a learning rate changed midway (as the trainer's StepLR does), a parameter large
// enough to be split over threads, and one without a gradient, which neither touches.
// Values and gradients (of x, t, s and w) equal those of NF's composition of elementwise ops, on
// more windows than one thread's share, with scales on both sides of 1 and of either sign.
TEST(FastOps, MexicanHatWaveletsMatchTheComposition) {
  torch::manual_seed(9);
  const int64_t B = 300, H = 12, L = 24;
  auto x = torch::randn({B, L}).requires_grad_();
  auto t = (0.3 * torch::randn({H, L})).requires_grad_();
  auto s = (torch::rand({H, L}) + 0.5).mul(torch::where(torch::rand({H, L}) < 0.2, -1.0, 1.0));
  s.requires_grad_();
  auto w = torch::randn({H, L}).requires_grad_();
  const auto g = torch::randn({B, H});
  auto composed = [&] {
    const auto u = (x.unsqueeze(1) - t) / s;
    const double c = 2 / (std::sqrt(3.0) * std::pow(M_PI, 0.25));
    return (c * (torch::pow(u, 2) - 1) * torch::exp(-0.5 * torch::pow(u, 2)) * w).sum(2);
  };
  const auto want = composed();
  const auto want_grads = torch::autograd::grad({want}, {x, t, s, w}, {g});
  const auto got = MexicanHatWavelets(x, t, s, w);
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{B, H}));
  EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5));
  const auto got_grads = torch::autograd::grad({got}, {x, t, s, w}, {g});
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(torch::allclose(got_grads[i], want_grads[i], 1e-4, 1e-4))
        << i << ": " << (got_grads[i] - want_grads[i]).abs().max();
  }
  EXPECT_THROW(MexicanHatWavelets(x.detach().to(torch::kDouble), t, s, w), c10::Error);
}

TEST(FastOps, AdamStepMatchesLibtorchsAdam) {
  torch::manual_seed(3);
  const std::vector<torch::Tensor> start = {torch::randn({70000}), torch::randn({5, 3}),
                                            torch::randn({4})};
  auto make = [&](std::vector<torch::Tensor>& params) {
    for (const auto& s : start) params.push_back(s.clone().requires_grad_(true));
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(0.01));
  };
  std::vector<torch::Tensor> ours, theirs;
  auto our_adam = make(ours);
  auto their_adam = make(theirs);
  auto step = [](std::vector<torch::Tensor>& params, torch::optim::Adam& adam, int t, bool fused) {
    adam.zero_grad();
    // The last parameter gets no gradient.
    auto loss = (params[0] - 0.5).pow(2).sum() + (params[1] * (t + 1)).pow(3).sum();
    loss.backward();
    if (t == 15) {
      for (auto& group : adam.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(0.005);
      }
    }
    if (fused) {
      AdamStep(adam);
    } else {
      adam.step();
    }
  };
  for (int t = 0; t < 30; ++t) {
    step(ours, *our_adam, t, true);
    step(theirs, *their_adam, t, false);
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-5, 1e-6))
        << "parameter " << i << ": max difference "
        << (ours[i] - theirs[i]).abs().max().item<double>();
    if (i < 2) {
      EXPECT_FALSE(torch::equal(ours[i], start[i])) << "parameter " << i;
    }
  }
  EXPECT_TRUE(torch::equal(ours[2], start[2]));  // no gradient, no update
  // The state is the optimizer's: same steps and moments as libtorch's own.
  ASSERT_EQ(our_adam->state().size(), their_adam->state().size());
  for (size_t i = 0; i < 2; ++i) {
    auto key = [](const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); };
    const auto& a = static_cast<torch::optim::AdamParamState&>(*our_adam->state().at(key(ours[i])));
    const auto& b =
        static_cast<torch::optim::AdamParamState&>(*their_adam->state().at(key(theirs[i])));
    EXPECT_EQ(a.step(), 30);
    EXPECT_EQ(a.step(), b.step());
    EXPECT_TRUE(torch::allclose(a.exp_avg_sq(), b.exp_avg_sq(), 1e-5, 1e-8)) << i;
  }
  // Options it does not fuse (amsgrad) fall back to libtorch's step.
  std::vector<torch::Tensor> other = {start[1].clone().requires_grad_(true)};
  torch::optim::Adam amsgrad(other, torch::optim::AdamOptions(0.01).amsgrad(true));
  other[0].pow(2).sum().backward();
  AdamStep(amsgrad);
  const auto& s = static_cast<torch::optim::AdamParamState&>(
      *amsgrad.state().at(c10::guts::to_string(other[0].unsafeGetTensorImpl())));
  EXPECT_TRUE(s.max_exp_avg_sq().defined());
}

}  // namespace
}  // namespace drc::dl
