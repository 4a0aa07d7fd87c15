# PP-LCNetV2 large (x1.25, depths 2/2/8/2) on ImageNet-1k; PaddleClas's recipe as for base, with half the
# images per step and half the lr (PPLCNetV2_large.yaml: MultiScaleSampler first_bs 250, lr 0.4): total batch
# 1024 (8 x 128) at lr 0.4. Published top-1: 78.51%.
_base_ = './pplcnetv2-base_8xb256_in1k.py'

model = dict(backbone=dict(arch='large'), head=dict(in_channels=1280))  # make_divisible(1024 * 1.25)
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(optimizer=dict(lr=0.4))
auto_scale_lr = dict(base_batch_size=1024)
