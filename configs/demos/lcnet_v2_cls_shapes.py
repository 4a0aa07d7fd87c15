# The embedded classification demo (configs/demos/lcnet_cls_shapes.py: five shape classes at 64x64 px, generated
# once under data/synthetic_shapes_cls/) with a PP-LCNetV2 small classifier trained from scratch.
#
#   python tools/train.py configs/demos/lcnet_v2_cls_shapes.py
_base_ = './lcnet_cls_shapes.py'

model = dict(
    backbone=dict(_delete_=True, type='PPLCNetV2', arch='small'),
    head=dict(in_channels=768, act_cfg=dict(type='ReLU')),  # make_divisible(1024 * 0.75); V2's head uses ReLU
)

# The x0.5 demo's recipe (12 epochs) and 540 s training budget: a V2 small step takes about 1.8-2.3x x0.5's, so the
# loop compresses the schedule to what fits (docs/training_speed.md).
