# mmdet's FCOS (R-50 caffe, GN head, 1x COCO) with PP-LCNetV2 base in place of ResNet-50: the PP-LCNet x1.0
# config of this folder with the second-generation backbone. Only the backbone and the neck's inputs change.
# For ImageNet weights (PaddleClas's PPLCNetV2_base_pretrained.pdparams) add to the backbone:
#   init_cfg=dict(type='Pretrained', checkpoint='paddle://PATH/PPLCNetV2_base_pretrained.pdparams', prefix='backbone.')
_base_ = './fcos_pplcnet-x1.0_fpn_gn-head_1x_coco.py'

model = dict(
    backbone=dict(_delete_=True, type='PPLCNetV2', arch='base', out_indices=(2, 3, 4)),
    neck=dict(in_channels=[256, 512, 1024]),  # strides 8/16/32
)
