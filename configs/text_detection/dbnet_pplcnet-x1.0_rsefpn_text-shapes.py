# The text detector of dbnet_pplcnetv3-x0.75_rsefpn_text-shapes.py with the first generation's PP-LCNet x1.0 in
# place of PP-LCNetV3 x0.75: the same RSEFPN, DB head, data, recipe and 540 s budget, so the two compare at equal time.
#
#   python tools/train.py configs/text_detection/dbnet_pplcnet-x1.0_rsefpn_text-shapes.py
_base_ = './dbnet_pplcnetv3-x0.75_rsefpn_text-shapes.py'

model = dict(
    # PP-LCNet's stages 1-4 (strides 4/8/16/32) at x1.0; PaddleClas trains it on RGB, the demo trains from scratch.
    data_preprocessor=dict(bgr_to_rgb=True),
    backbone=dict(_delete_=True, type='PPLCNet', scale=1.0, out_indices=(1, 2, 3, 4), norm_eval=False),
    neck=dict(in_channels=[64, 128, 256, 512]),
)
