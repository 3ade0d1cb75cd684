import torch
from neuralforecast.losses.pytorch import MASE
torch.manual_seed(0)
B,L,h=4,6,3
y=torch.randn(B,h,1); yh=torch.randn(B,h,1); ins=torch.randn(B,L,1)*torch.tensor([1.,2.,4.,8.]).view(B,1,1)
m=torch.ones(B,h,1)
nf=MASE(seasonality=2)(y,yh,y_insample=ins,mask=m).item()
s=(ins[:,2:]-ins[:,:-2]).abs().mean(1)  # [B,1]
per_window=((y-yh).abs()/s[:,None,:]).mean().item()
pairs=((y-yh).abs().mean()*(1/s).mean()).item()
print('nf',nf,'per-window',per_window,'all pairs',pairs)
# the 2-D form NF's docstring describes
nf2=MASE(seasonality=2)(y,yh,y_insample=ins.squeeze(-1),mask=m).item()
print('nf with [B, L] input', nf2)
