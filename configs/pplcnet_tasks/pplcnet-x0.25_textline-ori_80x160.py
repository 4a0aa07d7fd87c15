# PP-LCNet_x0_25_textline_ori (PaddleOCR 3.x): is a cropped text line upright or upside down.
# Published top-1: 98.85% (PaddleOCR's own test set). Weights: the Transformers checkpoint
# PaddlePaddle/PP-LCNet_x0_25_textline_ori_safetensors, or PaddleX's PP-LCNet_x0_25_textline_ori_pretrained.pdparams.
#
# A text line is resized to 80 x 160 (h x w) and stages 1-4 halve only its height (PaddleClas's PULC
# stride_list [2, [2, 1], [2, 1], [2, 1], [2, 1]]), so the line keeps its horizontal resolution.
_base_ = '../_base_/pplcnet_ocr_task.py'

classes = ['0_degree', '180_degree']
data_root = 'data/textline_ori/'
data_preprocessor = dict(num_classes=len(classes))
model = dict(
    backbone=dict(scale=0.25, strides=(2, 1, (2, 1), (2, 1), (2, 1), (2, 1))),
    head=dict(num_classes=len(classes), in_channels=128),  # make_divisible(512 * 0.25)
)
pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(160, 80)), dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(data_root=data_root, classes=classes, pipeline=pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, classes=classes, pipeline=pipeline))
test_dataloader = val_dataloader
