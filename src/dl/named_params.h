// Hyper-parameters whose NeuralForecast values are names (internal to the dl layer, no libtorch).
//
// Params (model.h) holds numbers, so such a value travels as its name's index in the key's list;
// the first name is the model's default. `--param TFT.rnn_type=gru` and a config's
// `rnn_type: gru` are read through here (model_params.cc), and the model reads the code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace drc::dl {

struct NamedParam {
  const char* key;
  std::vector<std::string> names;  // the code of names[i] is i
  bool ignore_case;                // NF lower-cases the value itself (rnn_type)
};

inline const std::vector<NamedParam>& NamedParams() {
  static const std::vector<NamedParam> kParams = {
      {"distribution", {"StudentT", "Normal"}, false},  // DeepAR's likelihood
      {"rnn_type", {"lstm", "gru"}, true},              // TFT's encoders
      // TFT's GRNs (NF's get_activation_fn; its GLU would halve the width and fail there).
      {"grn_activation",
       {"ELU", "ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "Sigmoid", "GELU"},
       false},
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
inline std::optional<int> NamedParamCode(const std::string& key, const std::string& value) {
  const NamedParam* p = FindNamedParam(key);
  if (p == nullptr) return std::nullopt;
  auto lower = [](std::string s) {
    for (char& ch : s) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    return s;
  };
  for (size_t i = 0; i < p->names.size(); ++i) {
    if (p->ignore_case ? lower(value) == lower(p->names[i]) : value == p->names[i]) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

// "lstm or gru" style list of a key's names, for error messages ("" when it takes none).
inline std::string NamedParamChoices(const std::string& key) {
  const NamedParam* p = FindNamedParam(key);
  if (p == nullptr) return "";
  std::string out;
  for (size_t i = 0; i < p->names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == p->names.size() ? " or " : ", ") + p->names[i];
  }
  return out;
}

}  // namespace drc::dl
