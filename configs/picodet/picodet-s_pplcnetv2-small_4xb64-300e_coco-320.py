# PicoDet-S at 320x320 with PP-LCNetV2 small (x0.75) in place of PP-LCNet x0.75: PaddleDetection's PicoDet-S
# recipe (picodet-s_pplcnet-x0.75_4xb64-300e_coco-320.py) with the second-generation backbone. PaddleDetection
# publishes no such model; this config is the drop-in. ImageNet weights: PaddleClas's
# PPLCNetV2_small_pretrained.pdparams, read with
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint='paddle://PATH/PPLCNetV2_small_pretrained.pdparams',
#                                prefix='backbone.')
_base_ = './picodet-s_pplcnet-x0.75_4xb64-300e_coco-320.py'

model = dict(
    backbone=dict(_delete_=True, type='PPLCNetV2', arch='small', out_indices=(2, 3, 4)),
    neck=dict(in_channels=[192, 384, 768]),  # make_divisible(c * 0.75) of the stride-8/16/32 stages
)
