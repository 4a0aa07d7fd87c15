# PP-LCNetV2 small (x0.75, depths 2/2/4/2) on ImageNet-1k; PaddleClas's recipe as for base, with weight decay
# 2e-5 (PPLCNetV2_small.yaml). Published top-1: 73.97%.
_base_ = './pplcnetv2-base_8xb256_in1k.py'

model = dict(backbone=dict(arch='small'), head=dict(in_channels=768))  # make_divisible(1024 * 0.75)
optim_wrapper = dict(optimizer=dict(weight_decay=2e-5))
