# PicoDet-XS (v2) at 416x416, PaddleDetection's picodet_xs_416_coco_lcnet: the PicoDet-S 416 recipe with
# PP-LCNet x0.35, neck and head width 96, 2 head convs; batch 56 per GPU.
_base_ = './picodet-s_pplcnet-x0.75_4xb48-300e_coco-416.py'

model = dict(
    backbone=dict(scale=0.35),
    neck=dict(in_channels=[48, 88, 176], out_channels=96),
    bbox_head=dict(in_channels=96, stacked_convs=2),
)

# PaddleDetection: 4 GPUs x 56 images, lr 0.28 (0.00125 per image; auto_scale_lr rescales it)
batch_size = 56
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=0.00125 * batch_size * 4))
auto_scale_lr = dict(base_batch_size=batch_size * 4)
