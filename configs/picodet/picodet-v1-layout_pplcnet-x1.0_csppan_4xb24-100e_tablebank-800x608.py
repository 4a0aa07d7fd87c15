# PP-Structure's layout detector on TableBank (tables only: 1 class), the layout of the
# picodet_lcnet_x1_0_fgd_layout_table weights.
# The same network as the PubLayNet config; only the classes differ (PaddleOCR's layout dictionaries).
#
# COCO-format annotations under data/tablebank/ (train.json, val.json, train/, val/); nothing is downloaded.
# The trained PaddleDetection weights load as load_from='paddle://PATH/model.pdparams'.
_base_ = './picodet-v1-layout_pplcnet-x1.0_csppan_4xb24-100e_publaynet-800x608.py'

data_root = 'data/tablebank/'
metainfo = dict(classes=('table',))
model = dict(bbox_head=dict(num_classes=len(metainfo['classes'])))
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'val.json')
test_evaluator = val_evaluator
