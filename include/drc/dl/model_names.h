#pragma once

// The built-in models' names, for the layers that check a name without loading libtorch: the
// pipeline file's checks and the CLI's. The dl layer's tests keep these lists equal to what
// its registries accept (models_test.cc, hydro_models_test.cc).

#include <array>
#include <string_view>

namespace drc::dl {

// The forecasting zoo (DefaultModelRegistry's names, sorted).
inline constexpr std::array<std::string_view, 35> kForecastModelNames = {"Autoformer",
                                                                         "BiTCN",
                                                                         "DLinear",
                                                                         "DeepAR",
                                                                         "DeepNPTS",
                                                                         "DilatedRNN",
                                                                         "FEDformer",
                                                                         "GRU",
                                                                         "Informer",
                                                                         "KAN",
                                                                         "LSTM",
                                                                         "MLP",
                                                                         "MLPMultivariate",
                                                                         "NBEATS",
                                                                         "NBEATSx",
                                                                         "NHITS",
                                                                         "NLinear",
                                                                         "PatchTST",
                                                                         "RMoK",
                                                                         "RNN",
                                                                         "SOFTS",
                                                                         "SOFTSSharp",
                                                                         "StemGNN",
                                                                         "TCN",
                                                                         "TFT",
                                                                         "TSMixer",
                                                                         "TSMixerx",
                                                                         "TiDE",
                                                                         "TimeMixer",
                                                                         "TimeXer",
                                                                         "TimesNet",
                                                                         "VanillaTransformer",
                                                                         "XLinear",
                                                                         "iTransformer",
                                                                         "xLSTM"};

// The hydrology models (MakeHydroModel), then the aliases it also takes (NeuralHydrology's
// class names).
inline constexpr std::array<std::string_view, 2> kHydroModelNames = {"EA-LSTM", "LSTM"};
inline constexpr std::array<std::string_view, 2> kHydroModelAliases = {"EALSTM", "CudaLSTM"};

}  // namespace drc::dl
