# Decoupled KD (DKD, as PP-OCRv4 distils its recognisers: alpha 1, beta 2) plus the label loss, on the embedded
# shapes set: PP-LCNet x0.25 from the PP-LCNet x1.0 teacher of configs/demos/lcnet_cls_shapes_x1.0.py.
#
#   python tools/train.py configs/demos/lcnet_cls_shapes_x1.0.py
#   python tools/train.py configs/distillation/pplcnet-x0.25_dkd-x1.0_shapes.py
_base_ = './pplcnet-x0.25_ssld-x1.0_shapes.py'

model = dict(
    distill_loss=dict(_delete_=True, type='DKDLoss', temperature=1.0, alpha=1.0, beta=2.0),
    label_loss_weight=1.0,
)
