# MobileNetV2 (x1.0, last conv 1280) with a linear head, PP-LCNet x1.0 setting. mmpretrain's MobileNetV2
# is the same network as mmdet's (used by the FCOS peer), built in the classification toolbox.
_base_ = '../pplcnet/pplcnet-x1.0_8xb256_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', widen_factor=1.0),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1280,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5),
    ),
)
