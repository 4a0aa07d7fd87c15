# The flagship detector (lcnet_fcos.py) on real COCO 2017, laid out as mmdet expects:
#   data/coco/annotations/instances_{train,val}2017.json, data/coco/{train,val}2017/*.jpg
#
#   python tools/train.py configs/fcos/fcos_pplcnet-x1.0_fpn96-gn-head_1xb32-24e_coco.py
#
# COCO elsewhere: link it to data/coco (mmdet's convention). `--cfg-options data_root=...` would not do:
# the data set paths below are resolved when this file is read.
#
# From scratch this is slow to converge; start from ImageNet weights converted with
# tools/convert_weights.py (PaddleClas or timm checkpoints) by adding to the command line:
#   --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.checkpoint=checkpoints/pplcnet_x1.0.pth model.backbone.init_cfg.prefix=backbone.
_base_ = '../lcnet_fcos.py'

data_root = 'data/coco/'
backend_args = None

model = dict(
    neck=dict(out_channels=96),  # PicoDet's width for COCO (the embedded demo trains a 64-channel neck and head)
    bbox_head=dict(
        in_channels=96,
        feat_channels=96,
        num_classes=80,
        # COCO objects are larger than the synthetic ones: mmdet's FCOS ranges for strides 8/16/32.
        regress_ranges=((-1, 64), (64, 128), (128, 1e8)),
    ),
)

# PicoDet-style input: 320-480 multi-scale training, 416 testing.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(320, 320), (480, 480)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(416, 416), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args,
    ),
)
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args,
    )
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=0.08))  # batch 32; --auto-scale-lr adapts it to yours
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1000),
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
auto_scale_lr = dict(base_batch_size=32)
