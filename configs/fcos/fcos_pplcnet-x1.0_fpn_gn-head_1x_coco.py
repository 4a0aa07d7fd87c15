# mmdet's FCOS (R-50 caffe, GN head, 1x COCO) with PP-LCNet x1.0 in place of ResNet-50.
# Only the backbone, the neck's inputs and the input normalisation change.
# For ImageNet weights add to the backbone:
#   init_cfg=dict(type='Pretrained', checkpoint='PATH/TO/converted.pth', prefix='backbone.')
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    # PP-LCNet is trained on RGB with ImageNet mean/std, not caffe-style BGR.
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(_delete_=True, type='PPLCNet', scale=1.0, out_indices=(2, 3, 4)),
    # Strides 8/16/32 with 128/256/512 channels; P6/P7 come from extra convs as before.
    neck=dict(in_channels=[128, 256, 512], start_level=0),
)

# Checkpoints that torch.load(weights_only=True) reads, whichever tool (ours, mmdet's, mmpretrain's) runs
# this config; a dict key, so it merges with the base's default hooks.
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
