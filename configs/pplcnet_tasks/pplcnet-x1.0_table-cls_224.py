# PP-LCNet_x1_0_table_cls (PaddleOCR 3.x): is a table image wired (ruled) or wireless.
# Published top-1: 94.2% (PaddleX's internal test set). Weights: the Transformers checkpoint
# PaddlePaddle/PP-LCNet_x1_0_table_cls_safetensors, or PaddleX's PP-LCNet_x1_0_table_cls_pretrained.pdparams.
_base_ = '../_base_/pplcnet_ocr_task.py'

classes = ['wired_table', 'wireless_table']
data_root = 'data/table_cls/'
data_preprocessor = dict(num_classes=len(classes))
model = dict(backbone=dict(scale=1.0), head=dict(num_classes=len(classes), in_channels=512))
train_dataloader = dict(dataset=dict(data_root=data_root, classes=classes))
val_dataloader = dict(dataset=dict(data_root=data_root, classes=classes))
test_dataloader = val_dataloader
