# The embedded PicoDet-S demo (configs/demos/picodet_shapes.py) trained 6 epochs instead of 2: the PicoDet teacher
# of the detection distillation demo (configs/distillation/README.md).
#
#   python tools/train.py configs/demos/picodet_shapes_6e.py
_base_ = './picodet_shapes.py'

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.05,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
