// The Temporal Fusion Transformer (Lim, Arik, Loeff and Pfister, "Temporal Fusion Transformers
// for interpretable multi-horizon time series forecasting", IJF 2021), as NeuralForecast 3.3's
// TFT, layer for layer:
//   - Each input variable (the target, and each historic, future and static one) is embedded as
//     value * vector + bias, hidden_size wide.
//   - Variable selection networks (VSN) weigh the embedded variables of each step with a softmax
//     from a joint gated residual network (GRN) and add their per-variable GRNs' outputs.
//   - With static variables, a static VSN and GRNs give four contexts: for the temporal VSNs,
//     for the enrichment, and the recurrent encoders' initial states.
//   - The historic VSN reads the historic variables, the future variables over the input and the
//     target; its steps run through an LSTM (or GRU); the future VSN's steps over the horizon run
//     through a second one started from the first's final state. A gated skip (GLU, add,
//     LayerNorm) joins the encoders' outputs to their inputs.
//   - The decoder enriches every step with a GRN and the static context, runs NF's
//     interpretable multi-head attention (per-head queries and keys, one value projection shared
//     by the heads, the heads' outputs averaged, causal mask), then gated skips, a position-wise
//     GRN and a Linear to the loss's outputs per horizon step.
// With no future variables NF feeds the window's last input value, repeated over input and
// horizon, as the one future variable; so does this.
//
// NF defaults: hidden_size 128, n_head 4, attn_dropout 0, dropout 0.1, grn_activation ELU,
// rnn_type lstm, n_rnn_layers 1, one_rnn_initial_state false; Adam lr 1e-3 without LR decay,
// 32 series and 1024 windows per step, robust scaler. grn_activation and rnn_type take NF's
// names (named_params.h).
//
// Computed differently, with the same result up to floating-point summation order:
//   - the attention's queries are taken only over the horizon steps, which are all NF keeps of
//     its output, and the heads' average is taken over their attention weights before the
//     product with the shared values (the product is linear);
//   - the VSNs never build the embeddings: a GRN's first Linear (and the joint GRN's skip
//     projection) over embedded variables is folded into a product with the variables' values
//     (EmbeddedDense, fast_ops.h), n inputs instead of n * hidden;
//   - a VSN over one variable skips its joint GRN: a softmax over one value is exactly 1, so that
//     GRN reaches neither the forecast nor a gradient (NF's gets zero gradients, and Adam leaves
//     it unchanged);
//   - without static variables the contexts are NF's zeros, so their projections (lin_c, no
//     bias) are left out and the encoders start from zero states. The parameters are NF's all
//     the same (the counts are tested), so checkpoints keep their layout whatever the data.
#include <torch/nn/init.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/dl/dropout.h"
#include "src/dl/fast_ops.h"
#include "src/dl/fused_rnn.h"
#include "src/dl/model.h"
#include "src/dl/named_params.h"

namespace drc::dl {
namespace {

// NF's get_activation_fn, in the order of named_params.h's grn_activation names.
enum class Activation { kElu, kRelu, kSoftplus, kTanh, kSelu, kLeakyRelu, kSigmoid, kGelu };

torch::Tensor Activate(Activation a, const torch::Tensor& x) {
  switch (a) {
    case Activation::kRelu: return torch::relu(x);
    case Activation::kSoftplus: return torch::softplus(x);
    case Activation::kTanh: return torch::tanh(x);
    case Activation::kSelu: return torch::selu(x);
    case Activation::kLeakyRelu: return torch::leaky_relu(x);
    case Activation::kSigmoid: return torch::sigmoid(x);
    case Activation::kGelu: return torch::gelu(x);
    case Activation::kElu: break;
  }
  return torch::elu(x);
}

torch::nn::LayerNorm MakeNorm(int64_t width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-3));
}

// NF's GLU: Linear to twice the width, then the first half times the sigmoid of the second.
class Glu : public torch::nn::Module {
 public:
  Glu(int64_t input, int64_t output)
      : lin_(register_module("lin", torch::nn::Linear(input, 2 * output))) {}
  torch::Tensor forward(const torch::Tensor& x) { return torch::glu(Dense(lin_, x), -1); }

 private:
  torch::nn::Linear lin_;
};

// NF's gated residual network: LayerNorm(skip(a) + GLU(Dropout(lin_i(act(lin_a(a) + lin_c(c)))))),
// where the skip is a itself or, with an output width, a Linear to it; no LayerNorm over a single
// output (NF's MaybeLayerNorm).
class Grn : public torch::nn::Module {
 public:
  // output 0: as wide as hidden, skip = a (then input must equal hidden).
  Grn(int64_t input, int64_t hidden, int64_t output, bool context, double dropout,
      Activation activation)
      : dropout_(dropout), activation_(activation) {
    const int64_t out = output > 0 ? output : hidden;
    lin_a_ = register_module("lin_a", torch::nn::Linear(input, hidden));
    if (context) {
      lin_c_ = register_module(
          "lin_c", torch::nn::Linear(torch::nn::LinearOptions(hidden, hidden).bias(false)));
    }
    lin_i_ = register_module("lin_i", torch::nn::Linear(hidden, hidden));
    glu_ = register_module("glu", std::make_shared<Glu>(hidden, out));
    if (output > 0) out_proj_ = register_module("out_proj", torch::nn::Linear(input, output));
    if (output != 1) norm_ = register_module("layer_norm", MakeNorm(out));
  }

  // a [..., input]; context [B, hidden] for a of [B, T, input], or undefined (NF's zeros).
  torch::Tensor forward(const torch::Tensor& a, const torch::Tensor& context = {}) {
    return Gated(Dense(lin_a_, a), out_proj_ ? Dense(out_proj_, a) : a, context);
  }

  // The same for a = the flattened embeddings of values [..., n] (Embedding's vectors and bias,
  // [n, hidden] each), with the Linears that read a folded (EmbeddedDense).
  torch::Tensor ForwardEmbedded(const torch::Tensor& values, const torch::Tensor& vectors,
                                const torch::Tensor& bias, const torch::Tensor& context = {}) {
    const torch::Tensor skip = out_proj_ ? EmbeddedDense(out_proj_, values, vectors, bias)
                                         : (values.unsqueeze(-1) * vectors + bias).flatten(-2);
    return Gated(EmbeddedDense(lin_a_, values, vectors, bias), skip, context);
  }

 private:
  // Everything after lin_a: x = lin_a(a), skip = a or out_proj(a).
  torch::Tensor Gated(torch::Tensor x, const torch::Tensor& skip, const torch::Tensor& context) {
    if (context.defined()) x = x + Linear2d(context, lin_c_->weight, {}).unsqueeze(1);
    x = Dropout(Dense(lin_i_, Activate(activation_, x)), dropout_, is_training());
    x = glu_->forward(x) + skip;
    return norm_ ? norm_->forward(x) : x;
  }

  double dropout_;
  Activation activation_;
  torch::nn::Linear lin_a_{nullptr}, lin_c_{nullptr}, lin_i_{nullptr}, out_proj_{nullptr};
  std::shared_ptr<Glu> glu_;
  torch::nn::LayerNorm norm_{nullptr};
};

// NF's VariableSelectionNetwork over `inputs` embedded variables.
class Vsn : public torch::nn::Module {
 public:
  Vsn(int64_t hidden, int64_t inputs, double dropout, Activation activation) {
    joint_ = register_module(
        "joint_grn", std::make_shared<Grn>(hidden * inputs, hidden, inputs, true, 0.0, activation));
    for (int64_t i = 0; i < inputs; ++i) {
      vars_.push_back(
          register_module("var_grns_" + std::to_string(i),
                          std::make_shared<Grn>(hidden, hidden, 0, false, dropout, activation)));
    }
  }

  // The variables' values [..., inputs] with their embeddings' vectors and bias [inputs,
  // hidden] (NF embeds them first; the GRNs' first Linears here read them folded: Grn's
  // ForwardEmbedded) -> [..., hidden]; context as Grn's. `selection`, if given, receives the
  // softmax weights [..., inputs].
  torch::Tensor forward(const torch::Tensor& values, const torch::Tensor& vectors,
                        const torch::Tensor& bias, const torch::Tensor& context = {},
                        torch::Tensor* selection = nullptr) {
    const int64_t inputs = static_cast<int64_t>(vars_.size());
    auto variable = [&](int64_t i) {
      return vars_[i]->ForwardEmbedded(values.narrow(-1, i, 1), vectors.narrow(0, i, 1),
                                       bias.narrow(0, i, 1));
    };
    if (inputs == 1) {  // the softmax's one weight is 1
      if (selection != nullptr) *selection = torch::ones_like(values);
      return variable(0);
    }
    const torch::Tensor weights =
        torch::softmax(joint_->ForwardEmbedded(values, vectors, bias, context), -1);
    if (selection != nullptr) *selection = weights;
    std::vector<torch::Tensor> each;
    each.reserve(inputs);
    for (int64_t i = 0; i < inputs; ++i) each.push_back(variable(i));
    return (torch::stack(each, -1) * weights.unsqueeze(-2)).sum(-1);
  }

 private:
  std::shared_ptr<Grn> joint_;
  std::vector<std::shared_ptr<Grn>> vars_;
};

// NF's TFTEmbedding for one kind of variable: value * vector + bias per variable, [variables,
// hidden] each, which the selection networks read folded into their first Linears.
class Embedding : public torch::nn::Module {
 public:
  Embedding(int64_t variables, int64_t hidden) {
    vectors_ = register_parameter("vectors", torch::empty({variables, hidden}));
    torch::nn::init::xavier_normal_(vectors_);
    bias_ = register_parameter("bias", torch::zeros({variables, hidden}));
  }
  const torch::Tensor& vectors() const { return vectors_; }
  const torch::Tensor& bias() const { return bias_; }

 private:
  torch::Tensor vectors_, bias_;
};

struct TftOptions {
  int hidden_size = 128;
  int n_head = 4;
  double attn_dropout = 0;
  double dropout = 0.1;
  Activation activation = Activation::kElu;
  bool lstm = true;  // rnn_type lstm, else gru
  int n_rnn_layers = 1;
  bool one_rnn_initial_state = false;
};

// The encoders' contexts from the static variables (NF's StaticCovariateEncoder): undefined
// tensors stand for NF's zeros when there are none.
struct Contexts {
  torch::Tensor selection, enrichment;  // [B, hidden]
  torch::Tensor h, c;                   // [layers, B, hidden]; c equals h for a GRU
};

class StaticEncoder : public torch::nn::Module {
 public:
  StaticEncoder(int64_t variables, const TftOptions& o)
      : layers_(o.n_rnn_layers),
        states_(o.one_rnn_initial_state ? 1 : o.n_rnn_layers),
        lstm_(o.lstm) {
    vsn_ = register_module(
        "vsn", std::make_shared<Vsn>(o.hidden_size, variables, o.dropout, o.activation));
    const int contexts = 2 + (o.lstm ? 2 : 1) * states_;
    for (int i = 0; i < contexts; ++i) {  // NF leaves these at its GRN's default ELU
      grns_.push_back(register_module("context_grns_" + std::to_string(i),
                                      std::make_shared<Grn>(o.hidden_size, o.hidden_size, 0, false,
                                                            o.dropout, Activation::kElu)));
    }
  }

  // The static variables [B, S] and their embedding; `selection` as Vsn's.
  Contexts forward(const torch::Tensor& values, const Embedding& embedding,
                   torch::Tensor* selection = nullptr) {
    const torch::Tensor v =
        vsn_->forward(values, embedding.vectors(), embedding.bias(), {}, selection);
    auto states = [&](int first) {
      std::vector<torch::Tensor> s;
      for (int i = 0; i < states_; ++i) s.push_back(grns_[first + i]->forward(v).unsqueeze(0));
      const torch::Tensor all = torch::cat(s, 0);
      return states_ == 1 && layers_ > 1 ? all.repeat({layers_, 1, 1}) : all;
    };
    Contexts c{grns_[0]->forward(v), grns_[1]->forward(v), states(2), {}};
    c.c = lstm_ ? states(2 + states_) : c.h;
    return c;
  }

 private:
  int layers_, states_;
  bool lstm_;
  std::shared_ptr<Vsn> vsn_;
  std::vector<std::shared_ptr<Grn>> grns_;
};

class Tft final : public ForecastModel {
 public:
  Tft(const ModelConfig& c, const TftOptions& o)
      : o_(o),
        horizon_(c.horizon),
        outputs_(c.outputs),
        hist_(c.hist_exog),
        futr_(c.futr_exog),
        stat_(c.stat_exog),
        head_dim_(o.hidden_size / o.n_head) {
    const int64_t H = o.hidden_size;
    const int64_t futr_vars = std::max(futr_, 1);  // NF's stand-in: the last input value
    if (stat_ > 0) {
      stat_embedding_ =
          register_module("stat_exog_embedding", std::make_shared<Embedding>(stat_, H));
    }
    futr_embedding_ =
        register_module("futr_exog_embedding", std::make_shared<Embedding>(futr_vars, H));
    if (hist_ > 0) {
      hist_embedding_ =
          register_module("hist_exog_embedding", std::make_shared<Embedding>(hist_, H));
    }
    tgt_embedding_ = register_module("tgt_embedding", std::make_shared<Embedding>(1, H));
    if (stat_ > 0)
      static_ = register_module("static_encoder", std::make_shared<StaticEncoder>(stat_, o));
    // Drawn in NF's order (the history VSN, the two encoders, the future VSN), registered in
    // this file's.
    auto history_vsn = std::make_shared<Vsn>(H, futr_vars + hist_ + 1, o.dropout, o.activation);
    torch::nn::LSTM history_lstm{nullptr}, future_lstm{nullptr};
    torch::nn::GRU history_gru{nullptr}, future_gru{nullptr};
    if (o.lstm) {
      auto options = torch::nn::LSTMOptions(H, H).num_layers(o.n_rnn_layers).batch_first(true);
      history_lstm = torch::nn::LSTM(options);
      future_lstm = torch::nn::LSTM(options);
    } else {
      auto options = torch::nn::GRUOptions(H, H).num_layers(o.n_rnn_layers).batch_first(true);
      history_gru = torch::nn::GRU(options);
      future_gru = torch::nn::GRU(options);
    }
    auto future_vsn = std::make_shared<Vsn>(H, futr_vars, o.dropout, o.activation);
    history_vsn_ = register_module("history_vsn", history_vsn);
    future_vsn_ = register_module("future_vsn", future_vsn);
    if (o.lstm) {
      history_lstm_ = register_module("history_encoder", history_lstm);
      future_lstm_ = register_module("future_encoder", future_lstm);
    } else {
      history_gru_ = register_module("history_encoder", history_gru);
      future_gru_ = register_module("future_encoder", future_gru);
    }
    input_gate_ = register_module("input_gate", std::make_shared<Glu>(H, H));
    input_gate_ln_ = register_module("input_gate_ln", MakeNorm(H));
    enrichment_ = register_module("enrichment_grn",
                                  std::make_shared<Grn>(H, H, 0, true, o.dropout, o.activation));
    qkv_ = register_module(
        "qkv_linears",
        torch::nn::Linear(torch::nn::LinearOptions(H, (2 * o.n_head + 1) * head_dim_).bias(false)));
    attention_out_ =
        register_module("attention_out_proj",
                        torch::nn::Linear(torch::nn::LinearOptions(head_dim_, H).bias(false)));
    attention_gate_ = register_module("attention_gate", std::make_shared<Glu>(H, H));
    attention_ln_ = register_module("attention_ln", MakeNorm(H));
    positionwise_ = register_module("positionwise_grn",
                                    std::make_shared<Grn>(H, H, 0, false, o.dropout, o.activation));
    decoder_gate_ = register_module("decoder_gate", std::make_shared<Glu>(H, H));
    decoder_ln_ = register_module("decoder_ln", MakeNorm(H));
    output_adapter_ = register_module("output_adapter", torch::nn::Linear(H, c.outputs));
  }

  // Windows meet only through dropout (LayerNorm is per step).
  RepeatedDraws Repeats() const override {
    return Stochastic() ? RepeatedDraws::kMergeSharingDropout : RepeatedDraws::kMerge;
  }
  WindowParallelism WindowParallel() const override {
    return Stochastic() ? WindowParallelism::kNone : WindowParallelism::kAllowed;
  }

  torch::Tensor Forward(const WindowBatch& batch) override { return Run(batch, nullptr); }

  bool SelectsVariables() const override { return true; }
  SelectionWeights VariableSelection(const WindowBatch& batch) override {
    SelectionWeights weights;
    Run(batch, &weights);
    if (futr_ == 0) weights.future = torch::Tensor();  // the stand-in is no variable of the data's
    return weights;
  }

 private:
  bool Stochastic() const { return o_.dropout > 0 || o_.attn_dropout > 0; }

  // The forecast; `selection`, if given, receives the selection networks' weights.
  torch::Tensor Run(const WindowBatch& batch, SelectionWeights* selection) {
    const torch::Tensor& y = batch.insample_y;  // [B, L]
    const int64_t b = y.size(0), L = y.size(1), T = L + horizon_;
    const torch::Tensor futr =
        futr_ > 0 ? batch.futr_exog : y.narrow(1, L - 1, 1).unsqueeze(-1).expand({b, T, 1});
    // The historic selection's variables in NF's order: historic, future, target.
    std::vector<torch::Tensor> values, vectors, bias;
    for (const auto& [x, e] : {std::pair{batch.hist_exog, hist_embedding_.get()},
                               std::pair{futr.narrow(1, 0, L), futr_embedding_.get()},
                               std::pair{y.unsqueeze(-1), tgt_embedding_.get()}}) {
      if (e == nullptr) continue;
      values.push_back(x);
      vectors.push_back(e->vectors());
      bias.push_back(e->bias());
    }
    const Contexts ctx =
        stat_ > 0 ? static_->forward(batch.stat_exog, *stat_embedding_,
                                     selection != nullptr ? &selection->statics : nullptr)
                  : Contexts{};

    // Temporal encoders and their gated skip.
    const torch::Tensor history_features = history_vsn_->forward(
        torch::cat(values, -1), torch::cat(vectors, 0), torch::cat(bias, 0), ctx.selection,
        selection != nullptr ? &selection->history : nullptr);  // [B, L, hidden]
    const torch::Tensor future_features = future_vsn_->forward(
        futr.narrow(1, L, horizon_), futr_embedding_->vectors(), futr_embedding_->bias(),
        ctx.selection, selection != nullptr ? &selection->future : nullptr);  // [B, h, hidden]
    torch::Tensor history, future;
    if (o_.lstm) {
      auto [out, state] = FusedLstm(history_lstm_, history_features, {ctx.h, ctx.c});
      history = out;
      future = std::get<0>(FusedLstm(future_lstm_, future_features, state));
    } else {
      auto [out, h_n] = FusedGru(history_gru_, history_features, ctx.h);
      history = out;
      future = std::get<0>(FusedGru(future_gru_, future_features, h_n));
    }
    const torch::Tensor temporal = input_gate_ln_->forward(
        input_gate_->forward(torch::cat({history, future}, 1)) +
        torch::cat({history_features, future_features}, 1));  // [B, T, hidden]

    // Static enrichment, then attention with the horizon steps as queries.
    const torch::Tensor enriched = enrichment_->forward(temporal, ctx.enrichment);
    const torch::Tensor attended =
        Attention(enriched, L, selection != nullptr ? &selection->attention : nullptr);
    torch::Tensor x = attention_ln_->forward(attention_gate_->forward(attended) +
                                             enriched.narrow(1, L, horizon_));
    x = positionwise_->forward(x);
    x = decoder_ln_->forward(decoder_gate_->forward(x) + temporal.narrow(1, L, horizon_));
    const torch::Tensor out = Dense(output_adapter_, x);  // [B, h, outputs]
    return outputs_ == 1 ? out.squeeze(-1) : out;
  }

  // NF's InterpretableMultiHeadAttention over x [B, T, hidden], causal, for the queries of
  // steps L.. only; returns [B, T - L, hidden] after out_proj and dropout. `weights_out`, if
  // given, receives the attention weights [B, T - L, T], averaged over the heads.
  torch::Tensor Attention(const torch::Tensor& x, int64_t L, torch::Tensor* weights_out) {
    const int64_t b = x.size(0), T = x.size(1), h = T - L, heads = o_.n_head, d = head_dim_;
    const torch::Tensor qkv = Dense(qkv_, x);  // [B, T, (2 heads + 1) d]
    const torch::Tensor q = qkv.narrow(1, L, h)
                                .narrow(2, 0, heads * d)
                                .reshape({b, h, heads, d})
                                .permute({0, 2, 1, 3})
                                .reshape({b * heads, h, d});
    const torch::Tensor k = qkv.narrow(2, heads * d, heads * d)
                                .reshape({b, T, heads, d})
                                .permute({0, 2, 3, 1})
                                .reshape({b * heads, d, T});
    const torch::Tensor v = qkv.narrow(2, 2 * heads * d, d).contiguous();  // [B, T, d]
    // Query step L + i sees keys 0 .. L + i.
    const torch::Tensor mask =
        torch::full({h, T}, -std::numeric_limits<float>::infinity(), x.options()).triu(L + 1);
    const torch::Tensor scores =
        BatchedMatmul(q, k).view({b, heads, h, T}) * (1.0 / std::sqrt(static_cast<double>(d))) +
        mask;
    // NF attends from every step; its dropouts draw over all T (PartDropout).
    const torch::Tensor weights = PartDropout(torch::softmax(scores, -1), {b, heads, T, T}, 2, L,
                                              o_.attn_dropout, is_training())
                                      .mean(1);  // [B, h, T]
    if (weights_out != nullptr) *weights_out = weights;
    const torch::Tensor mixed = BatchedMatmul(weights, v);  // [B, h, d]
    return PartDropout(Dense(attention_out_, mixed), {b, T, o_.hidden_size}, 1, L, o_.dropout,
                       is_training());
  }

  TftOptions o_;
  int64_t horizon_, outputs_;
  int hist_, futr_, stat_;
  int64_t head_dim_;
  std::shared_ptr<Embedding> stat_embedding_, futr_embedding_, hist_embedding_, tgt_embedding_;
  std::shared_ptr<StaticEncoder> static_;
  std::shared_ptr<Vsn> history_vsn_, future_vsn_;
  torch::nn::LSTM history_lstm_{nullptr}, future_lstm_{nullptr};
  torch::nn::GRU history_gru_{nullptr}, future_gru_{nullptr};
  std::shared_ptr<Glu> input_gate_, attention_gate_, decoder_gate_;
  torch::nn::LayerNorm input_gate_ln_{nullptr}, attention_ln_{nullptr}, decoder_ln_{nullptr};
  std::shared_ptr<Grn> enrichment_, positionwise_;
  torch::nn::Linear qkv_{nullptr}, attention_out_{nullptr}, output_adapter_{nullptr};
};

Result<std::shared_ptr<ForecastModel>> MakeTft(const ModelConfig& config) {
  const std::string name = "TFT";
  Params p(name, config.params);
  TftOptions o;
  o.hidden_size = p.TakeInt("hidden_size", o.hidden_size);
  o.n_head = p.TakeInt("n_head", o.n_head);
  o.attn_dropout = p.Take("attn_dropout", o.attn_dropout);
  o.dropout = p.Take("dropout", o.dropout);
  const int activation = p.TakeInt("grn_activation", 0);
  const int rnn_type = p.TakeInt("rnn_type", 0);
  o.n_rnn_layers = p.TakeInt("n_rnn_layers", o.n_rnn_layers);
  const int one_state = p.TakeInt("one_rnn_initial_state", 0);
  const int tgt_size = p.TakeInt("tgt_size", 1);
  DRC_RETURN_NOT_OK(p.Finish());
  DRC_RETURN_NOT_OK(CheckAtLeast(name, "hidden_size", o.hidden_size, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(name, "n_head", o.n_head, 1));
  DRC_RETURN_NOT_OK(CheckAtLeast(name, "n_rnn_layers", o.n_rnn_layers, 1));
  DRC_RETURN_NOT_OK(CheckRate(name, "dropout", o.dropout));
  DRC_RETURN_NOT_OK(CheckRate(name, "attn_dropout", o.attn_dropout));
  if (o.hidden_size % o.n_head != 0) {
    return Status::InvalidArgument(name, ": hidden_size must be a multiple of n_head, got ",
                                   o.hidden_size, " and ", o.n_head);
  }
  DRC_RETURN_NOT_OK(CheckNamedCode(name, "grn_activation", activation));
  DRC_RETURN_NOT_OK(CheckNamedCode(name, "rnn_type", rnn_type));
  DRC_RETURN_NOT_OK(CheckFlag(name, "one_rnn_initial_state", one_state));
  if (tgt_size != 1) {
    return Status::InvalidArgument(name, ": tgt_size must be 1 (one target series), got ",
                                   tgt_size);
  }
  o.activation = static_cast<Activation>(activation);
  o.lstm = rnn_type == 0;
  o.one_rnn_initial_state = one_state == 1;
  return std::shared_ptr<ForecastModel>(std::make_shared<Tft>(config, o));
}

}  // namespace

Status RegisterTftModels(ModelRegistry& registry) {
  TrainDefaults d{.num_lr_decays = -1, .scaler = "robust"};
  d.ReadAllExog();
  d.selects_variables = true;
  return registry.Register("TFT", MakeTft, d);
}

}  // namespace drc::dl
