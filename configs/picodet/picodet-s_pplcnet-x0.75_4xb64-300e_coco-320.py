# PicoDet-S (v2) with PP-LCNet x0.75 at 320x320, PaddleDetection's COCO recipe
# (PaddleDetection's picodet_s_320_coco_lcnet.yml). The other sizes of this folder inherit from it.
#
# COCO 2017 under data/coco/ as mmdet lays it out; nothing is downloaded. PaddleDetection starts from
# ImageNet weights: convert PaddleClas's PPLCNet_x0_75_pretrained.pdparams (README of this folder) and set
#   model.backbone.init_cfg=dict(type='Pretrained', checkpoint=PATH, prefix='backbone.')
# or read it directly with checkpoint='paddle://PATH/PPLCNet_x0_75_pretrained.pdparams'.
_base_ = ['mmdet::_base_/default_runtime.py', 'mmdet::_base_/datasets/coco_detection.py']
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

scale = 0.75
backbone_channels = [96, 192, 384]  # make_divisible(c * scale, 8) of the stride-8/16/32 stages
neck_channels = 96
stacked_convs = 2
input_size = 320
train_size_range = (256, 384)  # multi-scale training: multiples of 32 in this range, one per batch
batch_size, num_gpus = 64, 4
max_epochs = 300

model = dict(
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
        batch_augments=[
            dict(type='BatchSyncRandomResize', random_size_range=train_size_range, size_divisor=32, interval=1)
        ],
    ),
    backbone=dict(type='PPLCNet', scale=scale, out_indices=(2, 3, 4)),
    neck=dict(type='LCPAN', in_channels=backbone_channels, out_channels=neck_channels, num_outs=4),
    bbox_head=dict(type='PicoHeadV2', num_classes=80, in_channels=neck_channels, stacked_convs=stacked_convs),
    # ATSS for the first third of the schedule, then task-aligned assignment.
    train_cfg=dict(
        initial_epoch=100,
        initial_assigner=dict(type='ATSSAssigner', topk=9),
        assigner=dict(type='TaskAlignedAssigner', topk=13),
        alpha=1,
        beta=6,
    ),
    test_cfg=dict(nms_pre=1000, score_thr=0.025, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100),
)

# PaddleDetection's augmentation: IoU-constrained random crop, flip, photometric distortion, then a random
# square size per batch (BatchSyncRandomResize above); images are resized without keeping the aspect ratio.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PhotoMetricDistortion'),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False, interpolation='bicubic'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(batch_size=batch_size, num_workers=6, batch_sampler=None, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=6, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# SGD, lr 0.32 at 4 GPUs x 64 images (0.00125 per image, scaled to the real batch by auto_scale_lr),
# 300-iteration linear warm-up from 0.1x, cosine to 0 over 300 epochs; L2 4e-5 on every parameter.
base_lr_per_image = 0.00125
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr_per_image * batch_size * num_gpus, momentum=0.9, weight_decay=4e-5),
)
auto_scale_lr = dict(enable=True, base_batch_size=batch_size * num_gpus)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=300),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=10, max_keep_ckpts=3, save_best='coco/bbox_mAP', rule='greater'
    ),
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
# EMA of the weights, decay 0.9998 (PaddleDetection's), with mmdet's warm-up of the decay.
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0002, update_buffers=True, priority=49),
]
