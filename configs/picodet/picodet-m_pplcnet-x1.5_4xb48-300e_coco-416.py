# PicoDet-M (v2) at 416x416, PaddleDetection's picodet_m_416_coco_lcnet: the PicoDet-S 416 recipe with
# PP-LCNet x1.5, neck and head width 128, 4 head convs; batch 48 per GPU.
_base_ = './picodet-s_pplcnet-x0.75_4xb48-300e_coco-416.py'

model = dict(
    backbone=dict(scale=1.5),
    neck=dict(in_channels=[192, 384, 768], out_channels=128),
    bbox_head=dict(in_channels=128, stacked_convs=4),
)

# PaddleDetection: 4 GPUs x 48 images, lr 0.24 (0.00125 per image; auto_scale_lr rescales it)
batch_size = 48
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=0.00125 * batch_size * 4))
auto_scale_lr = dict(base_batch_size=batch_size * 4)
