# The embedded PicoDet-S demo (configs/demos/picodet_shapes.py) trained its whole 6 epochs whatever the machine
# (no time budget): the PicoDet teacher of the detection distillation demo (configs/distillation/README.md).
#
#   python tools/train.py configs/demos/picodet_shapes_6e.py
_base_ = './picodet_shapes.py'

train_cfg = dict(time_budget_s=None)
