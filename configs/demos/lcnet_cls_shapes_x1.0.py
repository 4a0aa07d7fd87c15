# The embedded classification demo (configs/demos/lcnet_cls_shapes.py) at width x1.0, the ImageNet model's
# width: the classifier the INT8/BF16 benchmark measures (docs/benchmarks.md "Low precision").
#
#   python tools/train.py configs/demos/lcnet_cls_shapes_x1.0.py
_base_ = './lcnet_cls_shapes.py'

model = dict(backbone=dict(scale=1.0), head=dict(in_channels=512))  # make_divisible(512 * 1.0)
# A teacher and a benchmark subject: its whole recipe, whatever the machine (no time budget).
train_cfg = dict(time_budget_s=None)
