#include "src/dl/dnnl_lstm.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <unordered_map>

namespace drc::dl {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The shape of one layer call; oneDNN primitives are built per shape and reused.
struct Shape {
  int64_t steps = 0, batch = 0, in = 0, hidden = 0;
  bool batch_major = false;  // sequences in memory as [B, T, C] (oneDNN's ntc), else [T, B, C]
  bool training = false;     // forward_training + backward, else forward_inference

  bool operator<(const Shape& o) const {
    return std::tie(steps, batch, in, hidden, batch_major, training) <
           std::tie(o.steps, o.batch, o.in, o.hidden, o.batch_major, o.training);
  }
  Tag Sequence() const { return batch_major ? Tag::ntc : Tag::tnc; }
};

struct Primitives {
  dnnl::lstm_forward::primitive_desc fwd_pd;
  dnnl::lstm_forward fwd;
  dnnl::lstm_backward::primitive_desc bwd_pd;  // training only
  dnnl::lstm_backward bwd;
};

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc Desc(const memory::dims& dims, Tag tag) {
  return memory::desc(dims, memory::data_type::f32, tag);
}

std::shared_ptr<const Primitives> Build(const Shape& s) {
  const auto seq_in = Desc({s.steps, s.batch, s.in}, s.Sequence());
  const auto seq_out = Desc({s.steps, s.batch, s.hidden}, s.Sequence());
  const auto state = Desc({1, 1, s.batch, s.hidden}, Tag::ldnc);
  // Weights in whatever blocked layout the implementation prefers (reordered per call).
  const auto w_layer = Desc({1, 1, s.in, 4, s.hidden}, Tag::any);
  const auto w_iter = Desc({1, 1, s.hidden, 4, s.hidden}, Tag::any);
  const auto bias = Desc({1, 1, 4, s.hidden}, Tag::ldgo);
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;
  auto p = std::make_shared<Primitives>();
  const dnnl::lstm_forward::desc fwd(
      s.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, dir,
      seq_in, state, state, w_layer, w_iter, bias, seq_out, state, state);
  p->fwd_pd = dnnl::lstm_forward::primitive_desc(fwd, Engine());
  p->fwd = dnnl::lstm_forward(p->fwd_pd);
  if (s.training) {
    const dnnl::lstm_backward::desc bwd(dnnl::prop_kind::backward, dir, seq_in, state, state,
                                        w_layer, w_iter, bias, seq_out, state, state, seq_in, state,
                                        state, w_layer, w_iter, bias, seq_out, state, state);
    p->bwd_pd = dnnl::lstm_backward::primitive_desc(bwd, Engine(), p->fwd_pd);
    p->bwd = dnnl::lstm_backward(p->bwd_pd);
  }
  return p;
}

// The primitives for `s`, built on first use. Training and prediction use a handful of shapes
// (the batch, a last partial batch, the prediction batch); should a caller cycle through many,
// the cache starts over rather than grow.
std::shared_ptr<const Primitives> Get(const Shape& s) {
  static std::mutex mu;
  static std::map<Shape, std::shared_ptr<const Primitives>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(s);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 64) cache.clear();
  return cache[s] = Build(s);
}

// Large buffers (a workspace is ~0.9 GB for NeuralHydrology's 256 x 365 x 128) come from the
// system as fresh pages (glibc maps blocks above 32 MB), which the kernel must fault in and zero
// at every training step: a third of the step's time. So this file's buffers from 4 MB up are
// kept when freed and handed out again for a request of the same size; the few that wait (at
// most kKept, oldest dropped first) are what the next training step asks for.
class BufferPool {
 public:
  at::Tensor Empty(at::IntArrayRef sizes, const at::TensorOptions& options) {
    const size_t bytes = static_cast<size_t>(c10::multiply_integers(sizes)) * options.dtype().itemsize();
    if (bytes < (size_t{4} << 20)) return at::empty(sizes, options);
    void* data = nullptr;
    {
      std::lock_guard lock(mu_);
      auto it =
          std::find_if(free_.begin(), free_.end(), [&](const auto& f) { return f.first == bytes; });
      if (it != free_.end()) {
        data = it->second;
        free_.erase(it);
      }
    }
    if (data == nullptr) {
      data = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (data == nullptr) throw std::bad_alloc();
    }
    return at::from_blob(
        data, sizes, [this, bytes](void* p) { Release(p, bytes); }, options);
  }

 private:
  static constexpr size_t kKept = 8;

  void Release(void* data, size_t bytes) {
    std::lock_guard lock(mu_);
    if (free_.size() == kKept) {
      std::free(free_.front().second);
      free_.pop_front();
    }
    free_.emplace_back(bytes, data);
  }

  std::mutex mu_;
  std::deque<std::pair<size_t, void*>> free_;  // oldest first
};

// Never destroyed: tensors may be released during static destruction.
BufferPool& Pool() {
  static auto* pool = new BufferPool;
  return *pool;
}

// A oneDNN view of a float tensor's memory (no copy).
memory View(const memory::desc& desc, const at::Tensor& t) {
  return memory(desc, Engine(), t.data_ptr<float>());
}

// `user` in layout `want`: itself when it already is, else a reordered copy.
memory InLayout(memory user, const memory::desc& want, dnnl::stream& stream) {
  if (user.get_desc() == want) return user;
  memory out(want, Engine());
  dnnl::reorder(user, out).execute(stream, user, out);
  return out;
}

// [T, B, n] float, laid out as the shape's sequences (the transpose of [B, T, n] when
// batch-major).
at::Tensor NewSequence(const Shape& s, int64_t n, const at::TensorOptions& options) {
  if (s.batch_major) return Pool().Empty({s.batch, s.steps, n}, options).transpose(0, 1);
  return Pool().Empty({s.steps, s.batch, n}, options);
}

// `t` ([T, B, n] or undefined: zeros) with the memory order of the shape's sequences.
at::Tensor AsSequence(const Shape& s, const at::Tensor& t, int64_t n,
                      const at::TensorOptions& options) {
  if (!t.defined()) return NewSequence(s, n, options).zero_();
  if (s.batch_major) return t.transpose(0, 1).contiguous().transpose(0, 1);
  return t.contiguous();
}

// The user-side descriptions of torch's weights: [4H, in] is oneDNN's ldgoi.
memory::desc WeightLayer(const Shape& s) { return Desc({1, 1, s.in, 4, s.hidden}, Tag::ldgoi); }
memory::desc WeightIter(const Shape& s) { return Desc({1, 1, s.hidden, 4, s.hidden}, Tag::ldgoi); }
memory::desc Bias(const Shape& s) { return Desc({1, 1, 4, s.hidden}, Tag::ldgo); }
memory::desc State(const Shape& s) { return Desc({1, 1, s.batch, s.hidden}, Tag::ldnc); }
memory::desc SeqIn(const Shape& s) { return Desc({s.steps, s.batch, s.in}, s.Sequence()); }
memory::desc SeqOut(const Shape& s) { return Desc({s.steps, s.batch, s.hidden}, s.Sequence()); }

struct Forwarded {
  at::Tensor out, h_n, c_n, workspace;
};

// x, weights, bias and states are float, CPU and (x aside) contiguous.
Forwarded RunForward(const Shape& s, const at::Tensor& x, const at::Tensor& w_ih,
                     const at::Tensor& w_hh, const at::Tensor& bias, const at::Tensor& h0,
                     const at::Tensor& c0) {
  const auto p = Get(s);
  dnnl::stream stream(Engine());
  const auto opts = x.options();
  Forwarded f;
  f.out = NewSequence(s, s.hidden, opts);
  f.h_n = at::empty({s.batch, s.hidden}, opts);
  f.c_n = at::empty({s.batch, s.hidden}, opts);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, View(SeqIn(s), x)},
      {DNNL_ARG_SRC_ITER, View(State(s), h0)},
      {DNNL_ARG_SRC_ITER_C, View(State(s), c0)},
      {DNNL_ARG_WEIGHTS_LAYER,
       InLayout(View(WeightLayer(s), w_ih), p->fwd_pd.weights_layer_desc(), stream)},
      {DNNL_ARG_WEIGHTS_ITER,
       InLayout(View(WeightIter(s), w_hh), p->fwd_pd.weights_iter_desc(), stream)},
      {DNNL_ARG_BIAS, View(Bias(s), bias)},
      {DNNL_ARG_DST_LAYER, View(SeqOut(s), f.out)},
      {DNNL_ARG_DST_ITER, View(State(s), f.h_n)},
      {DNNL_ARG_DST_ITER_C, View(State(s), f.c_n)},
  };
  if (s.training) {
    const auto ws = p->fwd_pd.workspace_desc();
    f.workspace = Pool().Empty({static_cast<int64_t>(ws.get_size())}, opts.dtype(at::kByte));
    args.emplace(DNNL_ARG_WORKSPACE, memory(ws, Engine(), f.workspace.data_ptr()));
  }
  p->fwd.execute(stream, args);
  stream.wait();
  return f;
}

struct LayerFunction : public torch::autograd::Function<LayerFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w_ih,
                               const at::Tensor& w_hh, const at::Tensor& bias, const at::Tensor& h0,
                               const at::Tensor& c0) {
    const bool batch_major = !x.is_contiguous();
    const Shape s{x.size(0), x.size(1), x.size(2), w_hh.size(1), batch_major, true};
    Forwarded f = RunForward(s, x, w_ih, w_hh, bias, h0, c0);
    ctx->save_for_backward({x, w_ih, w_hh, bias, h0, c0, f.out, f.h_n, f.c_n, f.workspace});
    ctx->saved_data["batch_major"] = batch_major;
    return {f.out, f.c_n};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto v = ctx->get_saved_variables();
    const at::Tensor &x = v[0], &w_ih = v[1], &w_hh = v[2], &bias = v[3], &h0 = v[4], &c0 = v[5];
    const at::Tensor &out = v[6], &h_n = v[7], &c_n = v[8], &workspace = v[9];
    const Shape s{
        x.size(0), x.size(1), x.size(2), w_hh.size(1), ctx->saved_data["batch_major"].toBool(),
        true};
    const auto p = Get(s);
    const auto opts = x.options();
    dnnl::stream stream(Engine());
    const at::Tensor d_out = AsSequence(s, grads[0], s.hidden, opts);
    const at::Tensor d_c_n =
        grads[1].defined() ? grads[1].contiguous() : at::zeros({s.batch, s.hidden}, opts);
    const at::Tensor d_h_n = at::zeros({s.batch, s.hidden}, opts);
    at::Tensor d_x = NewSequence(s, s.in, opts);
    at::Tensor d_h0 = at::empty({s.batch, s.hidden}, opts);
    at::Tensor d_c0 = at::empty({s.batch, s.hidden}, opts);
    at::Tensor d_bias = at::zeros({4 * s.hidden}, opts);  // oneDNN accumulates into these three
    memory d_w_layer(p->bwd_pd.diff_weights_layer_desc(), Engine());
    memory d_w_iter(p->bwd_pd.diff_weights_iter_desc(), Engine());
    std::memset(d_w_layer.get_data_handle(), 0, d_w_layer.get_desc().get_size());
    std::memset(d_w_iter.get_data_handle(), 0, d_w_iter.get_desc().get_size());
    p->bwd.execute(
        stream,
        {{DNNL_ARG_SRC_LAYER, View(SeqIn(s), x)},
         {DNNL_ARG_SRC_ITER, View(State(s), h0)},
         {DNNL_ARG_SRC_ITER_C, View(State(s), c0)},
         {DNNL_ARG_WEIGHTS_LAYER,
          InLayout(View(WeightLayer(s), w_ih), p->bwd_pd.weights_layer_desc(), stream)},
         {DNNL_ARG_WEIGHTS_ITER,
          InLayout(View(WeightIter(s), w_hh), p->bwd_pd.weights_iter_desc(), stream)},
         {DNNL_ARG_BIAS, View(Bias(s), bias)},
         {DNNL_ARG_DST_LAYER, View(SeqOut(s), out)},
         {DNNL_ARG_DST_ITER, View(State(s), h_n)},
         {DNNL_ARG_DST_ITER_C, View(State(s), c_n)},
         {DNNL_ARG_WORKSPACE, memory(p->fwd_pd.workspace_desc(), Engine(), workspace.data_ptr())},
         {DNNL_ARG_DIFF_DST_LAYER, View(SeqOut(s), d_out)},
         {DNNL_ARG_DIFF_DST_ITER, View(State(s), d_h_n)},
         {DNNL_ARG_DIFF_DST_ITER_C, View(State(s), d_c_n)},
         {DNNL_ARG_DIFF_SRC_LAYER, View(SeqIn(s), d_x)},
         {DNNL_ARG_DIFF_SRC_ITER, View(State(s), d_h0)},
         {DNNL_ARG_DIFF_SRC_ITER_C, View(State(s), d_c0)},
         {DNNL_ARG_DIFF_WEIGHTS_LAYER, d_w_layer},
         {DNNL_ARG_DIFF_WEIGHTS_ITER, d_w_iter},
         {DNNL_ARG_DIFF_BIAS, View(Bias(s), d_bias)}});
    at::Tensor d_w_ih = at::empty_like(w_ih), d_w_hh = at::empty_like(w_hh);
    memory user_w_ih = View(WeightLayer(s), d_w_ih), user_w_hh = View(WeightIter(s), d_w_hh);
    dnnl::reorder(d_w_layer, user_w_ih).execute(stream, d_w_layer, user_w_ih);
    dnnl::reorder(d_w_iter, user_w_hh).execute(stream, d_w_iter, user_w_hh);
    stream.wait();
    return {d_x, d_w_ih, d_w_hh, d_bias, d_h0, d_c0};
  }
};

}  // namespace

std::pair<at::Tensor, at::Tensor> DnnlLstmLayer(const at::Tensor& x_in, const at::Tensor& w_ih_in,
                                                const at::Tensor& w_hh_in,
                                                const at::Tensor& bias_in, const at::Tensor& h0_in,
                                                const at::Tensor& c0_in) {
  TORCH_CHECK(x_in.dim() == 3 && x_in.scalar_type() == at::kFloat && x_in.device().is_cpu(),
              "DnnlLstmLayer: x must be a float CPU tensor [T, B, C], got ", x_in.sizes(), " ",
              x_in.scalar_type());
  const int64_t steps = x_in.size(0), batch = x_in.size(1), in = x_in.size(2);
  const int64_t hidden = w_hh_in.size(1);
  TORCH_CHECK(steps > 0 && batch > 0 && in > 0, "DnnlLstmLayer: empty input ", x_in.sizes());
  TORCH_CHECK(w_ih_in.sizes() == at::IntArrayRef({4 * hidden, in}) &&
                  w_hh_in.sizes() == at::IntArrayRef({4 * hidden, hidden}) &&
                  bias_in.sizes() == at::IntArrayRef({4 * hidden}),
              "DnnlLstmLayer: weights ", w_ih_in.sizes(), ", ", w_hh_in.sizes(), " and bias ",
              bias_in.sizes(), " do not fit ", in, " inputs and ", hidden, " units");
  TORCH_CHECK(h0_in.sizes() == at::IntArrayRef({batch, hidden}) &&
                  c0_in.sizes() == at::IntArrayRef({batch, hidden}),
              "DnnlLstmLayer: states ", h0_in.sizes(), " and ", c0_in.sizes(), " for a batch of ",
              batch, " and ", hidden, " units");
  // oneDNN reads [T, B, C] (tnc) or the transpose of a contiguous [B, T, C] (ntc).
  at::Tensor x = x_in;
  if (!x.is_contiguous() && !x.transpose(0, 1).is_contiguous()) x = x.contiguous();
  const at::Tensor w_ih = w_ih_in.contiguous(), w_hh = w_hh_in.contiguous();
  const at::Tensor bias = bias_in.contiguous(), h0 = h0_in.contiguous(), c0 = c0_in.contiguous();
  const bool grad = at::GradMode::is_enabled() &&
                    (x.requires_grad() || w_ih.requires_grad() || w_hh.requires_grad() ||
                     bias.requires_grad() || h0.requires_grad() || c0.requires_grad());
  if (grad) {
    auto out = LayerFunction::apply(x, w_ih, w_hh, bias, h0, c0);
    return {out[0], out[1]};
  }
  const Shape s{steps, batch, in, hidden, !x.is_contiguous(), false};
  Forwarded f = RunForward(s, x, w_ih, w_hh, bias, h0, c0);
  return {f.out, f.c_n};
}

}  // namespace drc::dl
