# PP-LCNet_x1_0_doc_ori (PaddleOCR 3.x): the orientation of a document image, 0 / 90 / 180 / 270 degrees.
# Published top-1: 99.06% (PaddleOCR's own 1000-image test set). Weights: the Transformers checkpoint
# PaddlePaddle/PP-LCNet_x1_0_doc_ori_safetensors, or PaddleX's PP-LCNet_x1_0_doc_ori_pretrained.pdparams.
_base_ = '../_base_/pplcnet_ocr_task.py'

classes = ['0', '90', '180', '270']
data_root = 'data/doc_ori/'
data_preprocessor = dict(num_classes=len(classes))
model = dict(backbone=dict(scale=1.0), head=dict(num_classes=len(classes), in_channels=512))
train_dataloader = dict(dataset=dict(data_root=data_root, classes=classes))
val_dataloader = dict(dataset=dict(data_root=data_root, classes=classes))
test_dataloader = val_dataloader
