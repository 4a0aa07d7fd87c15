# The embedded classification demo (configs/demos/lcnet_cls_shapes.py) at width x1.0, the ImageNet model's
# width: the classifier the INT8/BF16 benchmark measures (docs/benchmarks.md "Low precision").
#
#   python tools/train.py configs/demos/lcnet_cls_shapes_x1.0.py
_base_ = './lcnet_cls_shapes.py'

model = dict(backbone=dict(scale=1.0), head=dict(in_channels=512))  # make_divisible(512 * 1.0)
# A teacher and a benchmark subject: 5 epochs, whatever the machine (no time budget).
max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, time_budget_s=None)
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
