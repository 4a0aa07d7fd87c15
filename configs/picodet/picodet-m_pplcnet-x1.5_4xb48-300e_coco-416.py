# PicoDet-M (v2) at 416x416, PaddleDetection's picodet_m_416_coco_lcnet: the PicoDet-S
# 320 recipe with PP-LCNet x1.5, neck and head width 128, 4 head convs;
# 416 px input, multi-scale 352-480; batch 48 per GPU.
_base_ = './picodet-s_pplcnet-x0.75_4xb64-300e_coco-320.py'

model = dict(
    data_preprocessor=dict(
        batch_augments=[dict(type='BatchSyncRandomResize', random_size_range=(352, 480), size_divisor=32, interval=1)]
    ),
    backbone=dict(scale=1.5),
    neck=dict(in_channels=[192, 384, 768], out_channels=128),
    bbox_head=dict(in_channels=128, stacked_convs=4),
)

input_size = 416
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
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# PaddleDetection: 4 GPUs x 48 images, lr 0.24 (0.00125 per image; auto_scale_lr rescales it)
batch_size = 48
train_dataloader = dict(batch_size=batch_size, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.00125 * batch_size * 4))
auto_scale_lr = dict(base_batch_size=batch_size * 4)
