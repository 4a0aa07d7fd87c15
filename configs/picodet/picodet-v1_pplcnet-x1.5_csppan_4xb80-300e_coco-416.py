# PicoDet v1 with PP-LCNet x1.5 at 416x416 (PaddleDetection's legacy picodet_lcnet_1_5x_416_coco, 36.3 box AP):
# CSPPAN neck and PicoHead (no SE gate, no align branch), SimOTA assignment, DFL 0.25, GIoU 2.0; kept so
# that v1 PicoDet-LCNet weights load and fine-tune. New models: the v2 configs of this folder.
_base_ = './picodet-s_pplcnet-x0.75_4xb48-300e_coco-416.py'

model = dict(
    backbone=dict(scale=1.5),
    neck=dict(_delete_=True, type='CSPPAN', in_channels=[192, 384, 768], out_channels=128, num_outs=4),
    bbox_head=dict(_delete_=True, type='PicoHead', num_classes=80, in_channels=128, stacked_convs=4),
    train_cfg=dict(
        _delete_=True,
        assigner=dict(type='SimOTAAssigner', center_radius=2.5, candidate_topk=10, iou_weight=6.0, cls_weight=1.0),
    ),
)

# PaddleDetection: 4 GPUs x 80 images, lr 0.4 (0.00125 per image; auto_scale_lr rescales it)
batch_size = 80
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=0.00125 * batch_size * 4))
auto_scale_lr = dict(base_batch_size=batch_size * 4)
