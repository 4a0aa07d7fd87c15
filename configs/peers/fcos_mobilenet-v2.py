# The flagship FCOS with mmdet's MobileNetV2 (x1.0): stages 2 / 4 / 6 give strides 8 / 16 / 32
# (32 / 96 / 320 channels). Same schedule as the flagship; ../mobilenetv2_fcos.py is this model on a
# schedule fitted to the flagship's training time instead.
_base_ = '../lcnet_fcos.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 6),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
    ),
    neck=dict(in_channels=[32, 96, 320]),
)
