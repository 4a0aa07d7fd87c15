# mmpretrain's MobileNetV3-small and its head (576 -> 1024 H-Swish -> classes), PP-LCNet x1.0 setting.
_base_ = './mobilenet-v3-large_8xb256_in1k.py'

model = dict(backbone=dict(arch='small'), head=dict(in_channels=576, mid_channels=[1024]))
