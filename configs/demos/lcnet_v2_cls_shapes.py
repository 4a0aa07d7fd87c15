# The embedded classification demo (configs/demos/lcnet_cls_shapes.py: five shape classes at 64x64 px, generated
# once under data/synthetic_shapes_cls/) with a PP-LCNetV2 small classifier trained from scratch.
#
#   python tools/train.py configs/demos/lcnet_v2_cls_shapes.py
_base_ = './lcnet_cls_shapes.py'

model = dict(
    backbone=dict(_delete_=True, type='PPLCNetV2', arch='small'),
    head=dict(in_channels=768, act_cfg=dict(type='ReLU')),  # make_divisible(1024 * 0.75); V2's head uses ReLU
)

# 2 epochs (626 iterations): a V2 small step takes about 0.6 s on an AVX2-only 2-core CPU (2.3x x0.5's), so that
# 10 minutes hold with iterations 1.3x slower than there (docs/training_speed.md).
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.01,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
