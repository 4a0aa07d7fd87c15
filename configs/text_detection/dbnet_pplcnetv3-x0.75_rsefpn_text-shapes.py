# The PP-OCR mobile text detector (PP-LCNetV3 x0.75 det, RSEFPN 96, DB head: PaddleOCR's PP-OCRv4/v5 mobile det),
# trained from scratch on the embedded synthetic text set within 540 s of training on any CPU.
#
#   python tools/train.py configs/text_detection/dbnet_pplcnetv3-x0.75_rsefpn_text-shapes.py
#
# Words in nine fonts, level and rotated, on cluttered backgrounds (lcnet_mm.datasets.SyntheticTextCoco, generated
# once under data/synthetic_text/); the labels are quadrilaterals, tiny words are "don't care". Scored by
# TextDetMetric: precision / recall / Hmean at IoU 0.5, the ICDAR 2015 protocol (icdar/hmean).
_base_ = '../lcnet_fcos.py'

# The backbone's four returned stages (strides 4/8/16/32) through its 1x1 projections: int([16, 24, 56, 480] * 0.75).
backbone_channels = [12, 18, 42, 360]
neck_channels = 96

model = dict(
    _delete_=True,
    type='SingleStageDetector',
    # PaddleOCR normalises the BGR image with ImageNet's RGB statistics in that order; so do its weights.
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=False,
        pad_size_divisor=32,
    ),
    # conv_kxk_num: PaddleOCR trains four kxk conv + BN branches per conv; switch_to_deploy() merges any number into
    # one conv, so the deployed network is the same. One branch here: an iteration takes 0.55x the time of four on
    # 2 cores (1.36 s against 2.45 s, batch 8 at 320 px), so the 540 s budget holds 1.8x the iterations.
    backbone=dict(type='PPLCNetV3', arch='det', scale=0.75, conv_kxk_num=1, norm_eval=False),
    neck=dict(type='RSEFPN', in_channels=backbone_channels, out_channels=neck_channels),
    bbox_head=dict(type='DBHead', in_channels=neck_channels),
    # PaddleOCR's targets (MakeShrinkMap, MakeBorderMap) and post-processing (DBPostProcess); as in every mmdet
    # detector, these go to the head from here.
    train_cfg=dict(shrink_ratio=0.4, min_text_size=8, thresh_min=0.3, thresh_max=0.7),
    test_cfg=dict(thresh=0.3, box_thresh=0.6, unclip_ratio=1.5, max_candidates=1000),
)

# ---- data -------------------------------------------------------------------------------------------
dataset_type = 'SyntheticTextCoco'
data_root = 'data/synthetic_text/'
train_images, val_images = 1200, 100
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    # Images are 256-352 px; text 11-40 px high, scaled by up to 1.25 either way.
    dict(type='RandomResize', scale=(320, 320), ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),  # native size; records scale_factor
    # The polygons at the original size, after the resize: the metric compares them with rescaled predictions.
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        num_images=train_images,
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    dataset=dict(type=dataset_type, data_root=data_root, num_images=val_images, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='TextDetMetric')
test_evaluator = val_evaluator

# ---- schedule: the flagship's loop, 540 s budget and cosine, Adam as PaddleOCR ------------------------------------
max_epochs = 8
train_cfg = dict(max_epochs=max_epochs, val_interval=2, time_budget_s=540)
optim_wrapper = dict(
    optimizer=dict(lr=0.004, weight_decay=0.01),
    # PaddleOCR trains the learnable affine blocks (affine, act_affine) at 0.1x the learning rate.
    paramwise_cfg=dict(custom_keys={'affine': dict(lr_mult=0.1)}),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.05,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
default_hooks = dict(checkpoint=dict(save_best='icdar/hmean', rule='greater'))
visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')], name='visualizer')
