# mmpretrain's MobileNetV3-large and its head (960 -> 1280 H-Swish -> classes), in the PP-LCNet x1.0
# ImageNet setting (data pipeline, recipe, schedule) so that only the network differs.
_base_ = '../pplcnet/pplcnet-x1.0_8xb256_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='MobileNetV3', arch='large'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='StackedLinearClsHead',
        num_classes=1000,
        in_channels=960,
        mid_channels=[1280],
        dropout_rate=0.2,
        act_cfg=dict(type='HSwish'),
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5),
    ),
)
