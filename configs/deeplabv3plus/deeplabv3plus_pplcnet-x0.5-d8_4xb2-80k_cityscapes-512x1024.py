# The x0.5 width of deeplabv3plus_pplcnet-x1.0-d8_4xb2-80k_cityscapes-512x1024.py (the paper's smallest
# segmentation model).
_base_ = './deeplabv3plus_pplcnet-x1.0-d8_4xb2-80k_cityscapes-512x1024.py'

scale = 0.5
stage_channels = dict(low_level=32, auxiliary=128, last=256)
model = dict(
    backbone=dict(scale=scale),
    decode_head=dict(in_channels=stage_channels['last'], c1_in_channels=stage_channels['low_level']),
    auxiliary_head=dict(in_channels=stage_channels['auxiliary']),
)
