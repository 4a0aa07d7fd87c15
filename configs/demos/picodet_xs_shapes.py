# PicoDet-XS (PP-LCNet x0.35, LCPAN 96, PicoHeadV2 with 2 tower convs) on the embedded synthetic set: the
# PicoDet-S demo (configs/demos/picodet_shapes.py) with PaddleDetection's XS backbone. The student of the detection
# distillation demo (configs/distillation/README.md), trained here without a teacher.
#
#   python tools/train.py configs/demos/picodet_xs_shapes.py
_base_ = './picodet_shapes.py'

model = dict(
    backbone=dict(scale=0.35),
    neck=dict(in_channels=[48, 88, 176]),  # make_divisible(c * 0.35, 8) for the stride-8/16/32 stages
)
