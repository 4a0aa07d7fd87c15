# The flagship recipe (lcnet_fcos.py) with mmdet's MobileNetV2 in place of PP-LCNet: the side-by-side
# baseline. Same data, neck, head, schedule and time budget; only the backbone (and the neck's input
# channels) change.
#
#   python tools/train.py configs/mobilenetv2_fcos.py
_base_ = './lcnet_fcos.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 6),  # strides 8/16/32
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False),
    neck=dict(in_channels=[32, 96, 320]))
