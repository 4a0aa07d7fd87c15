# timm's PP-LCNet port (lcnet_100) through mmpretrain's TIMMBackbone, with the PP-LCNet head as timm
# builds it (1x1 conv with bias), PP-LCNet x1.0 setting: the same network as lcnet-mm x1.0, timm's code.
# features_only: TIMMBackbone otherwise keeps timm's head conv and runs it on the 7x7 map (49x its cost).
_base_ = '../pplcnet/pplcnet-x1.0_8xb256_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='lcnet_100',
        pretrained=False,
        features_only=True,
        out_indices=(4,),
    ),
    head=dict(in_channels=512, head_conv_bias=True),
)
