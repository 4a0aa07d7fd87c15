# mmseg's FCN (R-50-D8, 80k Cityscapes 512x1024) with PP-LCNet x1.0: the FCN head on the last stage
# (stride 8, dilated), the auxiliary head on stage 3.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='PPLCNet',
        scale=1.0,
        out_indices=(3, 4),
        output_stride=8,
        norm_cfg=dict(
            type='SyncBN', requires_grad=True
        ),  # as the base's heads (written out: a base's own dict carries mmseg's scope)
    ),
    decode_head=dict(in_channels=512, in_index=1),
    auxiliary_head=dict(in_channels=256, in_index=0),
)
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
