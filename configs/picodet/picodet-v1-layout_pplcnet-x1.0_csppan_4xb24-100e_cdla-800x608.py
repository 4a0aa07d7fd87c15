# PP-Structure's layout detector on CDLA (Chinese document layout analysis: 10 classes), the layout of the
# picodet_lcnet_x1_0_fgd_layout_cdla weights.
# The same network as the PubLayNet config; only the classes differ (PaddleOCR's layout dictionaries).
#
# COCO-format annotations under data/cdla/ (train.json, val.json, train/, val/); nothing is downloaded.
# The trained PaddleDetection weights load as load_from='paddle://PATH/model.pdparams'.
_base_ = './picodet-v1-layout_pplcnet-x1.0_csppan_4xb24-100e_publaynet-800x608.py'

data_root = 'data/cdla/'
metainfo = dict(
    classes=(
        'text',
        'title',
        'figure',
        'figure_caption',
        'table',
        'table_caption',
        'header',
        'footer',
        'reference',
        'equation',
    )
)
model = dict(bbox_head=dict(num_classes=len(metainfo['classes'])))
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'val.json')
test_evaluator = val_evaluator
