# The classification demo (configs/demos/lcnet_cls_shapes.py: 12 epochs on the embedded shapes set, fitted to a
# 540 s training budget) at width x1.0: the model the pruning study prunes.
#
#   python tools/train.py configs/pruning/pplcnet-x1.0_shapes.py
#   python tools/prune.py configs/pruning/pplcnet-x1.0_shapes.py work_dirs/pplcnet-x1.0_shapes/epoch_12.pth \
#       --target-latency-of configs/pruning/pplcnet-x0.75_shapes.py --input-size 224 224
_base_ = '../demos/lcnet_cls_shapes.py'

model = dict(backbone=dict(scale=1.0), head=dict(in_channels=512))  # make_divisible(512 * 1.0)
