# mmdet's RTMDet-Ins-tiny (single-stage instance segmentation, 300 epochs on COCO) with PP-LCNet x0.75 in
# place of CSPNeXt-tiny: the same 96/192/384 channels at strides 8/16/32 as the RTMDet-tiny swap, so only
# the backbone and the input normalisation change.
# For ImageNet weights add to the backbone:
#   init_cfg=dict(type='Pretrained', checkpoint='paddle://PATH/PPLCNet_x0_75_pretrained.pdparams', prefix='backbone.')
_base_ = 'mmdet::rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32
    ),
    backbone=dict(_delete_=True, type='PPLCNet', scale=0.75, out_indices=(2, 3, 4)),
)

default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
