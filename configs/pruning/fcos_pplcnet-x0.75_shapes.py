# The main job (configs/lcnet_fcos.py: FCOS on PP-LCNet x1.0, 6 epochs on the embedded shapes scenes, fitted to a
# 540 s training budget) at width x0.75: the narrower width the pruned x1.0 FCOS is measured against.
#
#   python tools/train.py configs/pruning/fcos_pplcnet-x0.75_shapes.py
_base_ = '../lcnet_fcos.py'

scale = 0.75
backbone_channels = [96, 192, 384]  # make_divisible(c * 0.75, 8) of the stride-8/16/32 stages
model = dict(backbone=dict(scale=scale), neck=dict(in_channels=backbone_channels))
