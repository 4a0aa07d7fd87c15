# mmdet's GFL (R-50, FPN, 1x COCO) with PP-LCNet x1.0 in place of ResNet-50.
# For ImageNet weights add init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
_base_ = 'mmdet::gfl/gfl_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, type='PPLCNet', scale=1.0, out_indices=(2, 3, 4)),
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
