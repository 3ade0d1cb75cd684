#include "src/dl/dnnl_rnn.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <unordered_map>

namespace drc::dl {

int DnnlHeadersMajor() { return DNNL_VERSION_MAJOR; }

#if DNNL_VERSION_MAJOR < 3

bool DnnlRnnAvailable() { return true; }

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The shape of one layer call; oneDNN primitives are built per shape and reused.
struct Shape {
  RnnCell cell = RnnCell::kLstm;
  int64_t steps = 0, batch = 0, in = 0, hidden = 0;
  bool batch_major = false;  // sequences in memory as [B, T, C] (oneDNN's ntc), else [T, B, C]
  bool training = false;     // forward_training + backward, else forward_inference

  bool operator<(const Shape& o) const {
    return std::tie(cell, steps, batch, in, hidden, batch_major, training) <
           std::tie(o.cell, o.steps, o.batch, o.in, o.hidden, o.batch_major, o.training);
  }
  Tag Sequence() const { return batch_major ? Tag::ntc : Tag::tnc; }
  bool Lstm() const { return cell == RnnCell::kLstm; }
  // Gates in the weights, and in the bias (the linear-before-reset GRU has a fourth bias: the
  // recurrent product's in the candidate gate).
  int64_t Gates() const { return cell == RnnCell::kLstm ? 4 : cell == RnnCell::kGru ? 3 : 1; }
  int64_t BiasGates() const { return cell == RnnCell::kTanh ? 1 : 4; }
};

struct Primitives {
  dnnl::primitive_desc_base fwd_pd, bwd_pd;  // bwd: training only
  dnnl::primitive fwd, bwd;
};

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc Desc(const memory::dims& dims, Tag tag) {
  return memory::desc(dims, memory::data_type::f32, tag);
}

// torch's parameter layouts: [G·H, in] is oneDNN's ldgoi, [G·H] its ldgo.
memory::desc WeightLayer(const Shape& s, Tag tag = Tag::ldgoi) {
  return Desc({1, 1, s.in, s.Gates(), s.hidden}, tag);
}
memory::desc WeightIter(const Shape& s, Tag tag = Tag::ldgoi) {
  return Desc({1, 1, s.hidden, s.Gates(), s.hidden}, tag);
}
memory::desc Bias(const Shape& s) { return Desc({1, 1, s.BiasGates(), s.hidden}, Tag::ldgo); }
memory::desc State(const Shape& s) { return Desc({1, 1, s.batch, s.hidden}, Tag::ldnc); }
memory::desc SeqIn(const Shape& s) { return Desc({s.steps, s.batch, s.in}, s.Sequence()); }
memory::desc SeqOut(const Shape& s) { return Desc({s.steps, s.batch, s.hidden}, s.Sequence()); }

// The forward primitive of one cell kind (oneDNN's lstm_*, lbr_gru_* or vanilla_rnn_* pair) and
// for training its backward, whose op descriptor `bwd` makes.
template <typename Forward, typename Backward>
void BuildPair(const Shape& s, Primitives& p, const typename Forward::desc& fwd,
               const std::function<typename Backward::desc()>& bwd) {
  typename Forward::primitive_desc fwd_pd(fwd, Engine());
  p.fwd_pd = fwd_pd;
  p.fwd = Forward(fwd_pd);
  if (s.training) {
    typename Backward::primitive_desc bwd_pd(bwd(), Engine(), fwd_pd);
    p.bwd_pd = bwd_pd;
    p.bwd = Backward(bwd_pd);
  }
}

std::shared_ptr<const Primitives> Build(const Shape& s) {
  const auto in = SeqIn(s), out = SeqOut(s), state = State(s), bias = Bias(s);
  // Weights in whatever blocked layout the implementation prefers (reordered per call).
  const auto w_layer = WeightLayer(s, Tag::any), w_iter = WeightIter(s, Tag::any);
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;
  const auto prop =
      s.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto back = dnnl::prop_kind::backward;
  auto p = std::make_shared<Primitives>();
  switch (s.cell) {
    case RnnCell::kLstm:
      BuildPair<dnnl::lstm_forward, dnnl::lstm_backward>(
          s, *p, {prop, dir, in, state, state, w_layer, w_iter, bias, out, state, state}, [&] {
            return dnnl::lstm_backward::desc(back, dir, in, state, state, w_layer, w_iter, bias,
                                             out, state, state, in, state, state, w_layer, w_iter,
                                             bias, out, state, state);
          });
      break;
    case RnnCell::kGru:
      BuildPair<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(
          s, *p, {prop, dir, in, state, w_layer, w_iter, bias, out, state}, [&] {
            return dnnl::lbr_gru_backward::desc(back, dir, in, state, w_layer, w_iter, bias, out,
                                                state, in, state, w_layer, w_iter, bias, out,
                                                state);
          });
      break;
    case RnnCell::kTanh: {
      const auto tanh = dnnl::algorithm::eltwise_tanh;
      BuildPair<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(
          s, *p, {prop, tanh, dir, in, state, w_layer, w_iter, bias, out, state}, [&] {
            return dnnl::vanilla_rnn_backward::desc(back, tanh, dir, in, state, w_layer, w_iter,
                                                    bias, out, state, in, state, w_layer, w_iter,
                                                    bias, out, state);
          });
      break;
    }
  }
  return p;
}

// The primitives for `s`, built on first use. Training and prediction use a handful of shapes
// (the batch, a last partial batch, the prediction batch); should a caller cycle through many,
// the cache starts over rather than grow. One cache per thread: with oneDNN's default
// (library-managed) scratchpad a primitive must run on the thread that created it, and
// window-parallel steps (window_parallel.h) run layers on several threads at once.
std::shared_ptr<const Primitives> Get(const Shape& s) {
  thread_local std::map<Shape, std::shared_ptr<const Primitives>> cache;
  auto it = cache.find(s);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 64) cache.clear();
  return cache[s] = Build(s);
}

memory::desc ArgDesc(const dnnl::primitive_desc_base& pd, int arg) {
  return pd.query_md(dnnl::query::exec_arg_md, arg);
}

// Large buffers (a workspace is ~0.9 GB for NeuralHydrology's 256 x 365 x 128) come from the
// system as fresh pages (glibc maps blocks above 32 MB), which the kernel must fault in and zero
// at every training step: a third of the step's time. So this file's buffers from 4 MB up are
// kept when freed and handed out again for a request of the same size: what waits is what the
// next training step asks for, or for a somewhat smaller one (up to kSlack times smaller: batches
// whose size varies a little, as a data-parallel hydrology rank's share does, then reuse the
// largest buffers instead of each size keeping its own). A buffer allocated because none fits
// replaces the largest free one it could stand in for (at most kSlack times smaller), which is
// returned to the system: when the requests grow step by step, the pool keeps one buffer per
// buffer in use at once, at the largest size, not one per size seen. At most kMaxHeld bytes wait
// (the oldest buffers are returned to the system first; a larger buffer is never kept).
class BufferPool {
 public:
  at::Tensor Empty(at::IntArrayRef sizes, const at::TensorOptions& options) {
    const size_t bytes =
        static_cast<size_t>(c10::multiply_integers(sizes)) * options.dtype().itemsize();
    if (bytes < (size_t{4} << 20)) return at::empty(sizes, options);
    void* data = nullptr;
    size_t capacity = bytes;
    {
      std::lock_guard lock(mu_);
      // The smallest free buffer that holds `bytes` and is not kSlack times larger.
      auto best = free_.end();
      for (auto it = free_.begin(); it != free_.end(); ++it) {
        if (it->first >= bytes && it->first <= bytes * kSlack &&
            (best == free_.end() || it->first < best->first)) {
          best = it;
        }
      }
      if (best != free_.end()) {
        capacity = best->first;
        data = best->second;
        held_ -= capacity;
        free_.erase(best);
      } else {
        // The largest free buffer the new one supersedes.
        auto superseded = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it) {
          if (it->first < bytes && it->first * kSlack >= bytes &&
              (superseded == free_.end() || it->first > superseded->first)) {
            superseded = it;
          }
        }
        if (superseded != free_.end()) {
          std::free(superseded->second);
          held_ -= superseded->first;
          free_.erase(superseded);
        }
      }
    }
    if (data == nullptr) {
      data = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (data == nullptr) throw std::bad_alloc();
    }
    return at::from_blob(
        data, sizes, [this, capacity](void* p) { Release(p, capacity); }, options);
  }

  size_t Held() {
    std::lock_guard lock(mu_);
    return held_;
  }

  void ReleaseAll() {
    std::lock_guard lock(mu_);
    for (const auto& [bytes, data] : free_) std::free(data);
    free_.clear();
    held_ = 0;
  }

 private:
  static constexpr size_t kMaxHeld = size_t{3} << 30;
  static constexpr size_t kSlack = 2;

  void Release(void* data, size_t bytes) {
    if (bytes > kMaxHeld) {
      std::free(data);
      return;
    }
    std::lock_guard lock(mu_);
    while (held_ + bytes > kMaxHeld) {
      std::free(free_.front().second);
      held_ -= free_.front().first;
      free_.pop_front();
    }
    free_.emplace_back(bytes, data);
    held_ += bytes;
  }

  std::mutex mu_;
  std::deque<std::pair<size_t, void*>> free_;  // oldest first
  size_t held_ = 0;                            // bytes in free_
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

struct Forwarded {
  at::Tensor out, h_n, c_n, workspace;  // c_n: LSTM only; workspace: training only
};

// oneDNN's arguments for the inputs every pass reads. x, weights, bias and states are float,
// on the CPU and (x aside) contiguous; c0 is read for the LSTM only.
std::unordered_map<int, memory> InputArgs(const Shape& s, const dnnl::primitive_desc_base& pd,
                                          dnnl::stream& stream, const at::Tensor& x,
                                          const at::Tensor& w_ih, const at::Tensor& w_hh,
                                          const at::Tensor& bias, const at::Tensor& h0,
                                          const at::Tensor& c0) {
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, View(SeqIn(s), x)},
      {DNNL_ARG_SRC_ITER, View(State(s), h0)},
      {DNNL_ARG_WEIGHTS_LAYER,
       InLayout(View(WeightLayer(s), w_ih), ArgDesc(pd, DNNL_ARG_WEIGHTS_LAYER), stream)},
      {DNNL_ARG_WEIGHTS_ITER,
       InLayout(View(WeightIter(s), w_hh), ArgDesc(pd, DNNL_ARG_WEIGHTS_ITER), stream)},
      {DNNL_ARG_BIAS, View(Bias(s), bias)},
  };
  if (s.Lstm()) args.emplace(DNNL_ARG_SRC_ITER_C, View(State(s), c0));
  return args;
}

Forwarded RunForward(const Shape& s, const at::Tensor& x, const at::Tensor& w_ih,
                     const at::Tensor& w_hh, const at::Tensor& bias, const at::Tensor& h0,
                     const at::Tensor& c0) {
  const auto p = Get(s);
  dnnl::stream stream(Engine());
  const auto opts = x.options();
  Forwarded f;
  f.out = NewSequence(s, s.hidden, opts);
  f.h_n = at::empty({s.batch, s.hidden}, opts);
  auto args = InputArgs(s, p->fwd_pd, stream, x, w_ih, w_hh, bias, h0, c0);
  args.emplace(DNNL_ARG_DST_LAYER, View(SeqOut(s), f.out));
  args.emplace(DNNL_ARG_DST_ITER, View(State(s), f.h_n));
  if (s.Lstm()) {
    f.c_n = at::empty({s.batch, s.hidden}, opts);
    args.emplace(DNNL_ARG_DST_ITER_C, View(State(s), f.c_n));
  }
  if (s.training) {
    const auto ws = p->fwd_pd.workspace_desc();
    f.workspace = Pool().Empty({static_cast<int64_t>(ws.get_size())}, opts.dtype(at::kByte));
    args.emplace(DNNL_ARG_WORKSPACE, memory(ws, Engine(), f.workspace.data_ptr()));
  }
  p->fwd.execute(stream, args);
  stream.wait();
  return f;
}

// Inputs x, w_ih, w_hh, bias, h0, c0 in oneDNN's gate order (c0 empty but for the LSTM);
// outputs the hidden states and, for the LSTM, the last cell state.
struct LayerFunction : public torch::autograd::Function<LayerFunction> {
  static variable_list forward(AutogradContext* ctx, int64_t cell, const at::Tensor& x,
                               const at::Tensor& w_ih, const at::Tensor& w_hh,
                               const at::Tensor& bias, const at::Tensor& h0, const at::Tensor& c0) {
    const bool batch_major = !x.is_contiguous();
    const Shape s{static_cast<RnnCell>(cell),
                  x.size(0),
                  x.size(1),
                  x.size(2),
                  w_hh.size(1),
                  batch_major,
                  true};
    Forwarded f = RunForward(s, x, w_ih, w_hh, bias, h0, c0);
    ctx->save_for_backward({x, w_ih, w_hh, bias, h0, c0, f.out, f.h_n, f.c_n, f.workspace});
    ctx->saved_data["cell"] = cell;
    ctx->saved_data["batch_major"] = batch_major;
    if (s.Lstm()) return {f.out, f.c_n};
    return {f.out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto v = ctx->get_saved_variables();
    const at::Tensor &x = v[0], &w_ih = v[1], &w_hh = v[2], &bias = v[3], &h0 = v[4], &c0 = v[5];
    const at::Tensor &out = v[6], &h_n = v[7], &c_n = v[8], &workspace = v[9];
    const Shape s{static_cast<RnnCell>(ctx->saved_data["cell"].toInt()),
                  x.size(0),
                  x.size(1),
                  x.size(2),
                  w_hh.size(1),
                  ctx->saved_data["batch_major"].toBool(),
                  true};
    const auto p = Get(s);
    const auto opts = x.options();
    dnnl::stream stream(Engine());
    const at::Tensor d_out = AsSequence(s, grads[0], s.hidden, opts);
    const at::Tensor d_h_n = at::zeros({s.batch, s.hidden}, opts);
    at::Tensor d_x = NewSequence(s, s.in, opts);
    at::Tensor d_h0 = at::empty({s.batch, s.hidden}, opts);
    at::Tensor d_bias = at::zeros_like(bias);  // oneDNN accumulates into the three weight grads
    memory d_w_layer(ArgDesc(p->bwd_pd, DNNL_ARG_DIFF_WEIGHTS_LAYER), Engine());
    memory d_w_iter(ArgDesc(p->bwd_pd, DNNL_ARG_DIFF_WEIGHTS_ITER), Engine());
    std::memset(d_w_layer.get_data_handle(), 0, d_w_layer.get_desc().get_size());
    std::memset(d_w_iter.get_data_handle(), 0, d_w_iter.get_desc().get_size());
    auto args = InputArgs(s, p->bwd_pd, stream, x, w_ih, w_hh, bias, h0, c0);
    args.insert(
        {{DNNL_ARG_DST_LAYER, View(SeqOut(s), out)},
         {DNNL_ARG_DST_ITER, View(State(s), h_n)},
         {DNNL_ARG_WORKSPACE, memory(p->fwd_pd.workspace_desc(), Engine(), workspace.data_ptr())},
         {DNNL_ARG_DIFF_DST_LAYER, View(SeqOut(s), d_out)},
         {DNNL_ARG_DIFF_DST_ITER, View(State(s), d_h_n)},
         {DNNL_ARG_DIFF_SRC_LAYER, View(SeqIn(s), d_x)},
         {DNNL_ARG_DIFF_SRC_ITER, View(State(s), d_h0)},
         {DNNL_ARG_DIFF_WEIGHTS_LAYER, d_w_layer},
         {DNNL_ARG_DIFF_WEIGHTS_ITER, d_w_iter},
         {DNNL_ARG_DIFF_BIAS, View(Bias(s), d_bias)}});
    at::Tensor d_c0;
    at::Tensor d_c_n;
    if (s.Lstm()) {
      d_c_n = grads[1].defined() ? grads[1].contiguous() : at::zeros({s.batch, s.hidden}, opts);
      d_c0 = at::empty({s.batch, s.hidden}, opts);
      args.insert({{DNNL_ARG_DST_ITER_C, View(State(s), c_n)},
                   {DNNL_ARG_DIFF_DST_ITER_C, View(State(s), d_c_n)},
                   {DNNL_ARG_DIFF_SRC_ITER_C, View(State(s), d_c0)}});
    }
    p->bwd.execute(stream, args);
    at::Tensor d_w_ih = at::empty_like(w_ih), d_w_hh = at::empty_like(w_hh);
    memory user_w_ih = View(WeightLayer(s), d_w_ih), user_w_hh = View(WeightIter(s), d_w_hh);
    dnnl::reorder(d_w_layer, user_w_ih).execute(stream, d_w_layer, user_w_ih);
    dnnl::reorder(d_w_iter, user_w_hh).execute(stream, d_w_iter, user_w_hh);
    stream.wait();
    return {at::Tensor(), d_x, d_w_ih, d_w_hh, d_bias, d_h0, d_c0};
  }
};

// torch's GRU rows (r, z, n) in oneDNN's order (u = z, r, o = n).
at::Tensor GruRows(const at::Tensor& w, int64_t h) {
  return at::cat({w.narrow(0, h, h), w.narrow(0, 0, h), w.narrow(0, 2 * h, h)});
}

}  // namespace

std::pair<at::Tensor, at::Tensor> DnnlRnnLayer(RnnCell cell, const at::Tensor& x_in,
                                               const at::Tensor& w_ih_in, const at::Tensor& w_hh_in,
                                               const at::Tensor& b_ih, const at::Tensor& b_hh,
                                               const at::Tensor& h0_in, const at::Tensor& c0_in) {
  TORCH_CHECK(x_in.dim() == 3 && x_in.scalar_type() == at::kFloat && x_in.device().is_cpu(),
              "DnnlRnnLayer: x must be a float CPU tensor [T, B, C], got ", x_in.sizes(), " ",
              x_in.scalar_type());
  const int64_t steps = x_in.size(0), batch = x_in.size(1), in = x_in.size(2);
  const int64_t hidden = w_hh_in.size(1);
  Shape s{cell, steps, batch, in, hidden, false, false};
  const int64_t g = s.Gates();
  TORCH_CHECK(steps > 0 && batch > 0 && in > 0, "DnnlRnnLayer: empty input ", x_in.sizes());
  TORCH_CHECK(w_ih_in.sizes() == at::IntArrayRef({g * hidden, in}) &&
                  w_hh_in.sizes() == at::IntArrayRef({g * hidden, hidden}),
              "DnnlRnnLayer: weights ", w_ih_in.sizes(), " and ", w_hh_in.sizes(), " do not fit ",
              in, " inputs, ", g, " gates and ", hidden, " units");
  TORCH_CHECK(b_ih.defined() == b_hh.defined() &&
                  (!b_ih.defined() || (b_ih.sizes() == at::IntArrayRef({g * hidden}) &&
                                       b_hh.sizes() == at::IntArrayRef({g * hidden}))),
              "DnnlRnnLayer: biases must both be [", g * hidden, "] or both be absent");
  const bool lstm = cell == RnnCell::kLstm;
  TORCH_CHECK(h0_in.sizes() == at::IntArrayRef({batch, hidden}) &&
                  (!lstm || c0_in.sizes() == at::IntArrayRef({batch, hidden})),
              "DnnlRnnLayer: initial state ", h0_in.sizes(), " for a batch of ", batch, " and ",
              hidden, " units");
  // oneDNN reads [T, B, C] (tnc) or the transpose of a contiguous [B, T, C] (ntc).
  at::Tensor x = x_in;
  if (!x.is_contiguous() && !x.transpose(0, 1).is_contiguous()) x = x.contiguous();
  s.batch_major = !x.is_contiguous();
  // The parameters in oneDNN's gate order, through differentiable torch ops.
  at::Tensor w_ih = w_ih_in, w_hh = w_hh_in, bias;
  if (cell == RnnCell::kGru) {
    w_ih = GruRows(w_ih, hidden);
    w_hh = GruRows(w_hh, hidden);
    if (b_ih.defined()) {
      const at::Tensor r = b_ih.narrow(0, 0, hidden) + b_hh.narrow(0, 0, hidden);
      const at::Tensor z = b_ih.narrow(0, hidden, hidden) + b_hh.narrow(0, hidden, hidden);
      bias =
          at::cat({z, r, b_ih.narrow(0, 2 * hidden, hidden), b_hh.narrow(0, 2 * hidden, hidden)});
    }
  } else if (b_ih.defined()) {
    bias = b_ih + b_hh;
  }
  if (!bias.defined()) bias = at::zeros({s.BiasGates() * hidden}, x.options());
  w_ih = w_ih.contiguous();
  w_hh = w_hh.contiguous();
  bias = bias.contiguous();
  const at::Tensor h0 = h0_in.contiguous();
  // Autograd functions take defined tensors only: an empty placeholder when there is no c0.
  const at::Tensor c0 = lstm ? c0_in.contiguous() : at::empty({0}, x.options());
  const bool grad = at::GradMode::is_enabled() &&
                    (x.requires_grad() || w_ih.requires_grad() || w_hh.requires_grad() ||
                     bias.requires_grad() || h0.requires_grad() || (lstm && c0.requires_grad()));
  if (grad) {
    auto out = LayerFunction::apply(static_cast<int64_t>(cell), x, w_ih, w_hh, bias, h0, c0);
    return {out[0], lstm ? out[1] : at::Tensor()};
  }
  Forwarded f = RunForward(s, x, w_ih, w_hh, bias, h0, c0);
  return {f.out, f.c_n};
}

size_t DnnlRnnPooledBytes() { return Pool().Held(); }

void DnnlRnnReleasePooled() { Pool().ReleaseAll(); }

#else  // oneDNN 3 headers: see DnnlRnnAvailable()

bool DnnlRnnAvailable() { return false; }

size_t DnnlRnnPooledBytes() { return 0; }

void DnnlRnnReleasePooled() {}

std::pair<at::Tensor, at::Tensor> DnnlRnnLayer(RnnCell, const at::Tensor&, const at::Tensor&,
                                               const at::Tensor&, const at::Tensor&,
                                               const at::Tensor&, const at::Tensor&,
                                               const at::Tensor&) {
  TORCH_CHECK(false, "oneDNN RNN layers need oneDNN 2.x headers; this build has oneDNN ",
              DNNL_VERSION_MAJOR, ".", DNNL_VERSION_MINOR, " (libtorch's RNN layers run instead)");
}

#endif  // DNNL_VERSION_MAJOR < 3

}  // namespace drc::dl
