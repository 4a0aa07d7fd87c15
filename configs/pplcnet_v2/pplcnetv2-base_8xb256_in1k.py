# PP-LCNetV2 base on ImageNet-1k, PaddleClas's recipe (ppcls/configs/ImageNet/PPLCNetV2/PPLCNetV2_base.yaml):
#   480 epochs, SGD momentum 0.9, cosine lr 0.8 after 5 linear warm-up epochs, weight decay 4e-5 (none on
#   norm layers), label smoothing 0.1, random-resized crop + flip; evaluation: resize short side 256, center
#   crop 224; top-1 and top-5. Published top-1: 77.04% (80.07% with SSLD distillation).
# PaddleClas trains with its MultiScaleSampler (crops of 160-320 px, the batch shrinking as the crop grows:
# about 256 per device at 224 on 8 devices); mmpretrain has no such sampler, so this config trains at 224
# with a total batch of 2048 (8 x 256). With another total batch, --auto-scale-lr scales the lr linearly.
# ImageNet as mmpretrain lays it out: data/imagenet/{train,val}/ (+ meta/ annotation files).
_base_ = '../_base_/pplcnet_8xb256_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='PPLCNetV2', arch='base'),
    # V2's head: PP-LCNet's with ReLU (1x1 conv to 1280 without BN, dropout 0.2, fc).
    head=dict(in_channels=1024, act_cfg=dict(type='ReLU')),  # make_divisible(1024 * scale)
)

max_epochs = 480
warmup_epochs = 5
optim_wrapper = dict(optimizer=dict(lr=0.8, weight_decay=4e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(max_epochs=max_epochs)
