# PaddleOCR's PP-OCRv5 mobile text detector (PP-OCRv4 mobile det has the same architecture) for its published
# weights: PP-LCNetV3 x0.75 det, RSEFPN 96, DB head, PaddleOCR's post-processing (thresh 0.3, box_thresh 0.6,
# unclip 1.5). Bring the weights; nothing is downloaded:
#
#   python tools/test.py configs/text_detection/dbnet_pplcnetv3-x0.75_rsefpn_ppocrv5-mobile-det.py \
#       hf://checkpoints/PP-OCRv5_mobile_det_safetensors        # or paddle://PP-OCRv5_mobile_det_train.pdparams
#
# The architecture and data settings are the demo's (same file family) with PaddleOCR's four kxk branches per conv
# (the demo trains with one); the test-time size differs: PaddleOCR resizes the long side to 960 px for inference,
# here mmdet's Resize does the same with the aspect ratio kept (the data preprocessor pads to a multiple of 32 where
# PaddleOCR rounds each side to one).
_base_ = './dbnet_pplcnetv3-x0.75_rsefpn_text-shapes.py'

model = dict(backbone=dict(conv_kxk_num=4))

test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(960, 960), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
