// Hyper-parameter overrides for Forecast() from a YAML/JSON file or MODEL.KEY=VALUE text
// (drc forecast --config / --param). The values are only read here; Forecast() checks them
// against each model before any training.
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "drc/dl/forecast.h"
#include "src/dl/losses.h"
#include "src/dl/named_params.h"
#include "src/dl/windows.h"

namespace drc::dl {
namespace {

// Sets config's override of `key` for `model` from its text; `where` prefixes errors.
Status SetParam(const std::string& where, const std::string& model, const std::string& key,
                const std::string& value, ForecastConfig& config) {
  if (model.empty() || key.empty()) {
    return Status::InvalidArgument(where, "expected MODEL.KEY, got '", model, ".", key, "'");
  }
  if (key == "scaler_type") {
    auto scaler = ParseScalerType(value);
    if (!scaler.ok()) return scaler.status().WithContext(where + model + ".scaler_type");
    config.model_scalers[model] = value;
    return Status::OK();
  }
  if (key == "loss") {
    auto loss = ParsePointLoss(value);
    if (!loss.ok()) return loss.status().WithContext(where + model + ".loss");
    config.model_losses[model] = value;
    return Status::OK();
  }
  if (key == "valid_loss") {
    auto loss = ParsePointLoss(value);
    if (!loss.ok()) return loss.status().WithContext(where + model + ".valid_loss");
    config.model_valid_losses[model] = value;
    return Status::OK();
  }
  double number = 0;
  if (const std::optional<int> code = NamedParamCode(key, value)) {
    number = *code;  // a name's code (named_params.h)
  } else if (value == "true" || value == "false" || value == "True" || value == "False") {
    number = value == "true" || value == "True" ? 1 : 0;  // YAML's and Python's (NF's) spelling
  } else {
    const char* begin = value.c_str();
    char* end = nullptr;
    errno = 0;
    number = std::strtod(begin, &end);
    if (value.empty() || end != begin + value.size() || errno == ERANGE || std::isnan(number)) {
      const std::string names = NamedParamChoices(key);
      const bool list = names.rfind("a list of ", 0) == 0;
      return Status::InvalidArgument(where, model, ".", key, ": expected a number",
                                     names.empty() ? ""
                                     : list        ? " or " + names
                                                   : " or one of " + names,
                                     ", got '", value, "'");
    }
  }
  config.params[model][key] = number;
  return Status::OK();
}

std::string At(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

}  // namespace

std::string ParamText(const std::string& key, double value) { return NamedParamText(key, value); }

Status ReadModelParams(const std::string& path, ForecastConfig& config) {
  if (!std::ifstream(path)) return Status::IOError("cannot read the model config ", path);
  try {
    const YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) return Status::OK();  // an empty file overrides nothing
    if (!root.IsMap()) {
      return Status::InvalidArgument(At(path, root.Mark()),
                                     "expected a mapping from model names to their "
                                     "hyper-parameters, e.g. 'MLP: {hidden_size: 256}'");
    }
    for (const auto& entry : root) {
      const std::string model = entry.first.as<std::string>();
      const YAML::Node& params = entry.second;
      if (params.IsNull()) continue;
      if (!params.IsMap()) {
        return Status::InvalidArgument(At(path, params.Mark()), model,
                                       ": expected a mapping from hyper-parameter names to values");
      }
      for (const auto& kv : params) {
        const std::string key = kv.first.as<std::string>();
        std::string value;
        const NamedParam* named = FindNamedParam(key);
        if (kv.second.IsSequence() && named != nullptr && named->list) {
          for (const auto& item : kv.second) {  // a list key's names (named_params.h)
            if (!item.IsScalar()) {
              return Status::InvalidArgument(At(path, item.Mark()), model, ".", key, ": expected ",
                                             NamedParamChoices(key));
            }
            value += (value.empty() ? "" : ",") + item.Scalar();
          }
        } else if (!kv.second.IsScalar()) {
          return Status::InvalidArgument(At(path, kv.second.Mark()), model, ".", key,
                                         ": expected one value");
        } else {
          value = kv.second.Scalar();
        }
        DRC_RETURN_NOT_OK(SetParam(At(path, kv.second.Mark()), model, key, value, config));
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(At(path, e.mark), e.msg);
  }
  return Status::OK();
}

Status ParseModelParam(const std::string& text, ForecastConfig& config) {
  const auto eq = text.find('=');
  const auto dot = text.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
    return Status::InvalidArgument("--param '", text,
                                   "': expected MODEL.KEY=VALUE, e.g. MLP.hidden_size=256");
  }
  return SetParam("--param '" + text + "': ", text.substr(0, dot),
                  text.substr(dot + 1, eq - dot - 1), text.substr(eq + 1), config);
}

}  // namespace drc::dl
