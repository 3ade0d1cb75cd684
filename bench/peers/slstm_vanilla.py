"""NF's xLSTM with backbone="sLSTM" on a machine without CUDA.

NF 3.3 builds the xlstm package's sLSTM layers with their default backend, "cuda": the package
then compiles its CUDA kernel, which fails without CUDA (KeyError: 'CUDA_LIB'). The package also
has a "vanilla" backend, the same cell written in PyTorch ops (float32; the CUDA kernel keeps its
weights and states in bfloat16). `use_vanilla_slstm()` makes every sLSTM layer built after it use
that backend, so that NF's sLSTM model runs on the CPU as the reference for ours. It changes
nothing where CUDA is available.
"""
import torch


def use_vanilla_slstm():
    if torch.cuda.is_available():
        return
    try:
        from xlstm.blocks.slstm import layer
    except ImportError:  # no xlstm package: NF's xLSTM says so itself
        return
    original = layer.sLSTMLayerConfig.__post_init__
    if getattr(original, "vanilla", False):
        return

    def post_init(self):
        self.backend = "vanilla"
        original(self)

    post_init.vanilla = True
    layer.sLSTMLayerConfig.__post_init__ = post_init
