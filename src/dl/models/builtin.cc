// The built-in model zoo: one Register*Models function per models/*.cc file.
#include <cstdio>
#include <cstdlib>

#include "src/dl/model.h"

namespace drc::dl {

Status RegisterAutoformerModels(ModelRegistry& registry);  // models/autoformer.cc: Autoformer
Status RegisterBiTcnModels(ModelRegistry& registry);       // models/bitcn.cc: BiTCN
Status RegisterDeepArModels(ModelRegistry& registry);      // models/deepar.cc: DeepAR
Status RegisterDeepNptsModels(ModelRegistry& registry);    // models/deepnpts.cc: DeepNPTS
Status RegisterFedFormerModels(ModelRegistry& registry);   // models/fedformer.cc: FEDformer
Status RegisterInformerModels(ModelRegistry& registry);    // models/informer.cc: Informer
// models/itransformer.cc: iTransformer, SOFTS, SOFTSSharp
Status RegisterITransformerModels(ModelRegistry& registry);
Status RegisterKanModels(ModelRegistry& registry);     // models/kan.cc: KAN
Status RegisterLinearModels(ModelRegistry& registry);  // models/linear.cc: DLinear, NLinear
Status RegisterMlpModels(ModelRegistry& registry);     // models/mlp.cc: MLP
// models/mlp_multivariate.cc: MLPMultivariate
Status RegisterMlpMultivariateModels(ModelRegistry& registry);
Status RegisterNBeatsModels(ModelRegistry& registry);     // models/nbeats.cc: NBEATS
Status RegisterNHitsModels(ModelRegistry& registry);      // models/nhits.cc: NHITS
Status RegisterPatchTstModels(ModelRegistry& registry);   // models/patchtst.cc: PatchTST
Status RegisterRmokModels(ModelRegistry& registry);       // models/rmok.cc: RMoK
Status RegisterRecurrentModels(ModelRegistry& registry);  // models/recurrent.cc: RNN, LSTM,
                                                          // GRU, DilatedRNN
Status RegisterStemGnnModels(ModelRegistry& registry);    // models/stemgnn.cc: StemGNN
Status RegisterTcnModels(ModelRegistry& registry);        // models/tcn.cc: TCN
Status RegisterTftModels(ModelRegistry& registry);        // models/tft.cc: TFT
Status RegisterTideModels(ModelRegistry& registry);       // models/tide.cc: TiDE
Status RegisterTimeMixerModels(ModelRegistry& registry);  // models/timemixer.cc: TimeMixer
Status RegisterTimesNetModels(ModelRegistry& registry);   // models/timesnet.cc: TimesNet
Status RegisterTimeXerModels(ModelRegistry& registry);    // models/timexer.cc: TimeXer
Status RegisterTsMixerModels(ModelRegistry& registry);    // models/tsmixer.cc: TSMixer,
                                                          // TSMixerx
// models/vanilla_transformer.cc: VanillaTransformer
Status RegisterVanillaTransformerModels(ModelRegistry& registry);
Status RegisterXLinearModels(ModelRegistry& registry);  // models/xlinear.cc: XLinear
Status RegisterXLstmModels(ModelRegistry& registry);    // models/xlstm.cc: xLSTM

const ModelRegistry& DefaultModelRegistry() {
  static const ModelRegistry kRegistry = [] {
    ModelRegistry registry;
    for (auto* add : {RegisterAutoformerModels,
                      RegisterBiTcnModels,
                      RegisterDeepArModels,
                      RegisterDeepNptsModels,
                      RegisterFedFormerModels,
                      RegisterInformerModels,
                      RegisterITransformerModels,
                      RegisterKanModels,
                      RegisterLinearModels,
                      RegisterMlpModels,
                      RegisterMlpMultivariateModels,
                      RegisterNBeatsModels,
                      RegisterNHitsModels,
                      RegisterPatchTstModels,
                      RegisterRecurrentModels,
                      RegisterRmokModels,
                      RegisterStemGnnModels,
                      RegisterTcnModels,
                      RegisterTftModels,
                      RegisterTideModels,
                      RegisterTimeMixerModels,
                      RegisterTimesNetModels,
                      RegisterTimeXerModels,
                      RegisterTsMixerModels,
                      RegisterVanillaTransformerModels,
                      RegisterXLinearModels,
                      RegisterXLstmModels}) {
      Status st = add(registry);
      if (!st.ok()) {
        std::fprintf(stderr, "drc: model registry: %s\n", st.ToString().c_str());
        std::abort();
      }
    }
    return registry;
  }();
  return kRegistry;
}

}  // namespace drc::dl
