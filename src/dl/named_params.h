// Hyper-parameters whose NeuralForecast values are names (internal to the dl layer, no libtorch).
//
// Params (model.h) holds numbers, so such a value travels as its name's index in the key's list;
// the first name is the model's default (decoder_activation's default is the model's own). `--param
// TFT.rnn_type=gru` and a config's `rnn_type: gru` are read through here (model_params.cc), and the
// model reads the code. A list key (NBEATS's stack_types) takes up to 9 names, comma-separated
// (`--param NBEATSx.stack_types=trend,exogenous`) or a YAML list, and travels as one decimal digit
// per name, its index + 1, in order: trend,exogenous is 24 (NamedListIndexes decodes it).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace drc::dl {

struct NamedParam {
  const char* key;
  std::vector<std::string> names;  // the code of names[i] is i
  bool ignore_case;                // NF lower-cases the value itself (rnn_type)
  bool list = false;               // a list of names (see above)
};

// NF 3.3's ACTIVATIONS (common/_modules.py), in its order (models/mlp_decoder.h's NfActivation).
inline const std::vector<std::string>& NfActivationNames() {
  static const std::vector<std::string> kNames = {
      "ReLU",       "Softplus",   "Tanh",       "SELU",      "LeakyReLU", "PReLU",
      "Sigmoid",    "GELU",       "ELU",        "SiLU",      "Mish",      "GLU",
      "Softsign",   "Hardshrink", "Softshrink", "Threshold", "RReLU",     "CELU",
      "LogSigmoid", "Hardtanh",   "Hardswish",  "Identity"};
  return kNames;
}

inline const std::vector<NamedParam>& NamedParams() {
  static const std::vector<NamedParam> kParams = {
      {"distribution", {"StudentT", "Normal"}, false},  // DeepAR's likelihood
      {"rnn_type", {"lstm", "gru"}, true},              // TFT's encoders
      // TFT's GRNs (NF's get_activation_fn; its GLU would halve the width and fail there).
      {"grn_activation",
       {"ELU", "ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "Sigmoid", "GELU"},
       false},
      // NBEATS's and NBEATSx's stacks, in order (exogenous: NBEATSx only).
      {"stack_types", {"identity", "trend", "seasonality", "exogenous"}, false, true},
      // TimeMixer's decomposition and its pooling between scales.
      {"decomp_method", {"moving_avg", "dft_decomp"}, false},
      {"down_sampling_method", {"avg", "max", "conv"}, false},
      // RMoK's wavelet expert.
      {"wavelet_function", {"mexican_hat", "morlet", "dog", "meyer", "shannon"}, false},
      // xLSTM's blocks.
      {"backbone", {"mLSTM", "sLSTM"}, false},
      // NF's ACTIVATIONS (models/mlp_decoder.h): the MLP decoder's (ReLU is the default of RNN,
      // LSTM, GRU, DilatedRNN, TCN and DeepAR, GELU xLSTM's) and TCN's encoder's (ReLU). GLU and
      // Threshold are refused, as NF's models cannot use them.
      // DilatedRNN's cells (AttentiveLSTM refused: NF's fails in its forward).
      {"cell_type", {"LSTM", "GRU", "RNN", "ResLSTM", "AttentiveLSTM"}, false},
      {"decoder_activation", NfActivationNames(), false},
      {"encoder_activation", NfActivationNames(), false},
  };
  return kParams;
}

inline const NamedParam* FindNamedParam(const std::string& key) {
  for (const auto& p : NamedParams()) {
    if (key == p.key) return &p;
  }
  return nullptr;
}

// The code of `value` for `key`, or nullopt when the key takes no names or the name is not one.
// A list key reads `value` as names separated by commas, within optional brackets.
inline std::optional<int> NamedParamCode(const std::string& key, const std::string& value) {
  const NamedParam* p = FindNamedParam(key);
  if (p == nullptr) return std::nullopt;
  auto lower = [](std::string s) {
    for (char& ch : s) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    return s;
  };
  auto index = [&](const std::string& name) -> std::optional<int> {
    for (size_t i = 0; i < p->names.size(); ++i) {
      if (p->ignore_case ? lower(name) == lower(p->names[i]) : name == p->names[i]) {
        return static_cast<int>(i);
      }
    }
    return std::nullopt;
  };
  if (!p->list) return index(value);
  std::string text = value;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  int code = 0, count = 0;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    std::string name = text.substr(begin, end - begin);
    const size_t first = name.find_first_not_of(" \t'\"");
    const size_t last = name.find_last_not_of(" \t'\"");
    name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
    const std::optional<int> i = index(name);
    if (!i || ++count > 9) return std::nullopt;
    code = code * 10 + *i + 1;
    begin = end + 1;
  }
  return code;
}

// A list key's code (NamedParamCode) as the names' indexes, in order; empty when `code` is not
// one (not a whole number of 1 to 9 digits, each from 1 to the number of names).
inline std::vector<int> NamedListIndexes(const std::string& key, double code) {
  const NamedParam* p = FindNamedParam(key);
  std::vector<int> out;
  if (p == nullptr || !(code >= 1 && code < 1e9) || code != static_cast<int>(code)) return {};
  for (int rest = static_cast<int>(code); rest > 0; rest /= 10) {
    const int digit = rest % 10;
    if (digit < 1 || digit > static_cast<int>(p->names.size())) return {};
    out.insert(out.begin(), digit - 1);
  }
  return out;
}

// The name (or a list key's names, comma-separated) whose code is `code`; empty when it is none.
inline std::string NamedParamText(const std::string& key, double code) {
  const NamedParam* p = FindNamedParam(key);
  if (p == nullptr) return "";
  if (!p->list) {
    const bool named =
        code >= 0 && code < static_cast<double>(p->names.size()) && code == static_cast<int>(code);
    return named ? p->names[static_cast<size_t>(code)] : "";
  }
  std::string out;
  for (const int i : NamedListIndexes(key, code)) out += (out.empty() ? "" : ",") + p->names[i];
  return out;
}

// "lstm or gru" style list of a key's names, for error messages ("" when it takes none); "a list
// of ..." for a list key.
inline std::string NamedParamChoices(const std::string& key) {
  const NamedParam* p = FindNamedParam(key);
  if (p == nullptr) return "";
  std::string out = p->list ? "a list of " : "";
  for (size_t i = 0; i < p->names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == p->names.size() ? " or " : ", ") + p->names[i];
  }
  return out;
}

}  // namespace drc::dl
