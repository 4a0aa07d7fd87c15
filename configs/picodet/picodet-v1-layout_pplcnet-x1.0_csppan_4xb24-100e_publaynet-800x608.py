# PP-Structure's layout analysis detector (PaddleDetection's picodet_lcnet_x1_0_layout, the layout of the
# picodet_lcnet_x1_0_fgd_layout weights): PicoDet v1 with PP-LCNet x1.0, CSPPAN 128, 4 head convs, on
# PubLayNet's five classes at 800x608 (height x width).
#
# PubLayNet in COCO format under data/publaynet/ (train.json, val.json, train/, val/); nothing is
# downloaded. Trained PaddleDetection weights load as load_from='paddle://PATH/model.pdparams', or
# convert them once with tools/convert_weights.py.
_base_ = './picodet-v1_pplcnet-x1.5_csppan_4xb80-300e_coco-416.py'

model = dict(
    data_preprocessor=dict(batch_augments=None),  # the sizes below come from the pipeline
    backbone=dict(scale=1.0),
    neck=dict(in_channels=[128, 256, 512]),
    bbox_head=dict(num_classes=5),
)

data_root = 'data/publaynet/'
metainfo = dict(classes=('text', 'title', 'list', 'table', 'figure'))
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PhotoMetricDistortion'),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='RandomFlip', prob=0.5),
    # one of PaddleDetection's three training sizes per image (height x width)
    dict(type='RandomChoiceResize', scales=[(576, 768), (608, 800), (640, 832)], keep_ratio=False),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(608, 800), keep_ratio=False, interpolation='bicubic'),  # mmcv scales are (w, h)
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
batch_size = 24
train_dataloader = dict(
    batch_size=batch_size,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline,
    )
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'val.json')
test_evaluator = val_evaluator

max_epochs = 100
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
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
optim_wrapper = dict(optimizer=dict(lr=0.00125 * batch_size * 4))
auto_scale_lr = dict(base_batch_size=batch_size * 4)
