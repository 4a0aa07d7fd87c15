# PicoDet-L (v2) at 416x416, PaddleDetection's picodet_l_416_coco_lcnet: the PicoDet-S 416 recipe with
# PP-LCNet x2.0, neck and head width 160, 4 head convs; batch 24 per GPU.
_base_ = './picodet-s_pplcnet-x0.75_4xb48-300e_coco-416.py'

model = dict(
    backbone=dict(scale=2.0),
    neck=dict(in_channels=[256, 512, 1024], out_channels=160),
    bbox_head=dict(in_channels=160, stacked_convs=4),
)

# PaddleDetection: 4 GPUs x 24 images, lr 0.12 (0.00125 per image; auto_scale_lr rescales it)
batch_size = 24
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=0.00125 * batch_size * 4))
auto_scale_lr = dict(base_batch_size=batch_size * 4)
