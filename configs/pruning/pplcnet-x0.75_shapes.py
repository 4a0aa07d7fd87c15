# The classification demo at width x0.75: the narrower width the pruned x1.0 is measured against.
#
#   python tools/train.py configs/pruning/pplcnet-x0.75_shapes.py
_base_ = '../demos/lcnet_cls_shapes.py'

model = dict(backbone=dict(scale=0.75), head=dict(in_channels=384))  # make_divisible(512 * 0.75)
