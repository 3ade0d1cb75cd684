// The three lists of exogenous columns of a forecast (NeuralForecast's futr_exog_list,
// hist_exog_list and stat_exog_list), walked alike by the forecasting layer, the CLI and the
// pipeline's forecast stages.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace drc {

// One list: its key ("futr_exog", ...), its kind in prose ("future", ...) and its columns.
struct ExogList {
  const char* key;
  const char* kind;
  const std::vector<std::string>* columns;
};

// The three lists in NF's order: future, historic, static.
inline std::array<ExogList, 3> ExogLists(const std::vector<std::string>& futr,
                                         const std::vector<std::string>& hist,
                                         const std::vector<std::string>& stat) {
  return {{{"futr_exog", "future", &futr},
           {"hist_exog", "historic", &hist},
           {"stat_exog", "static", &stat}}};
}

}  // namespace drc
