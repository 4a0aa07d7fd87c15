# RTMDet-tiny with PP-LCNet x0.75 (configs/rtmdet/, mmdet's model with the backbone swapped) on the embedded
# synthetic set: the same data, augmentation and optimiser (AdamW 8e-3) as configs/lcnet_fcos.py and
# configs/demos/picodet_shapes.py, for the side-by-side figures in docs/detection.md.
#
#   python tools/train.py configs/demos/rtmdet_shapes.py
_base_ = '../lcnet_fcos.py'

neck_channels = 96
model = dict(
    _delete_=True,
    type='RTMDet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
    ),
    backbone=dict(type='PPLCNet', scale=0.75, out_indices=(2, 3, 4)),
    # RTMDet-tiny's neck and head, as mmdet's rtmdet_tiny_8xb32-300e_coco.py builds them
    neck=dict(
        type='CSPNeXtPAFPN',
        in_channels=[96, 192, 384],
        out_channels=neck_channels,
        num_csp_blocks=1,
        expand_ratio=0.5,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU', inplace=True),
    ),
    bbox_head=dict(
        type='RTMDetSepBNHead',
        num_classes=5,
        in_channels=neck_channels,
        stacked_convs=2,
        feat_channels=neck_channels,
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        with_objectness=False,
        exp_on_reg=False,
        share_conv=True,
        pred_kernel_size=1,
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU', inplace=True),
    ),
    train_cfg=dict(
        assigner=dict(type='DynamicSoftLabelAssigner', topk=13), allowed_border=-1, pos_weight=-1, debug=False
    ),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100),
)
# RTMDetSepBNHead shares its convs between levels (share_conv): count each parameter once, as mmdet's RTMDet does.
optim_wrapper = dict(paramwise_cfg=dict(bypass_duplicate=True))
# The flagship's schedule (6 epochs) and 540 s training budget (docs/training_speed.md).
