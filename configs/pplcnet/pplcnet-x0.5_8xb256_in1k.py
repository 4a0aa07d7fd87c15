# PP-LCNet x0.5 on ImageNet-1k, PaddleClas recipe (see ../_base_/pplcnet_8xb256_in1k.py).
# Published top-1 (PaddleClas, 360 epochs): 63.14%.
_base_ = '../_base_/pplcnet_8xb256_in1k.py'

model = dict(backbone=dict(scale=0.5), head=dict(in_channels=256))
optim_wrapper = dict(optimizer=dict(weight_decay=3e-5))
