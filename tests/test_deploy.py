"""BN folding (switch_to_deploy), the deploy flag in configs, and loading folded checkpoints."""

import copy
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm

from conftest import load_tool
from lcnet_mm.apis import build_model_from_config
from lcnet_mm.deploy import model_outputs, switch_to_deploy
from lcnet_mm.models import LCNetClsHead, PPLCNet
from lcnet_mm.models.layers import fold_norm_into_conv

ROOT = Path(__file__).resolve().parents[1]


def trained_like(backbone: nn.Module) -> nn.Module:
    """Real BN statistics (accumulated over training-mode forwards) and non-trivial affine parameters,
    as a trained checkpoint has them; a fresh BN (mean 0, var 1, weight 1, bias 0) would fold trivially."""
    backbone.init_weights()
    for module in backbone.modules():
        if isinstance(module, _BatchNorm):
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.3)
            module.momentum = None  # running statistics: the average over the batches below
    backbone.train()
    with torch.no_grad():
        for _ in range(3):
            backbone(torch.randn(4, 3, 96, 96) * 1.5 + 0.3)
    return backbone.eval()


@pytest.mark.parametrize('scale, out_indices', [(1.0, (2, 3, 4)), (0.5, (4,)), (2.5, (0, 1, 2, 3, 4))])
def test_switch_to_deploy_keeps_outputs_and_matches_deploy_build(scale, out_indices):
    model = trained_like(PPLCNet(scale=scale, out_indices=out_indices))
    folded = copy.deepcopy(model).switch_to_deploy()
    assert folded.deploy
    assert not any(isinstance(m, _BatchNorm) for m in folded.modules())
    x = torch.randn(2, 3, 224, 192)
    with torch.no_grad():
        expected, actual = model(x), folded(x)
    assert len(actual) == len(out_indices)
    for e, a in zip(expected, actual):
        magnitude = e.abs().max().item()
        assert magnitude > 1  # non-trivial activations, so the comparison means something
        # Folding changes the rounding of every conv (27 in a row): agreement to 1e-5 of the output's scale.
        assert (a - e).abs().max().item() <= 1e-5 * magnitude

    # The deploy flag builds the same module tree: the folded state dict loads strictly.
    built = PPLCNet(scale=scale, out_indices=out_indices, deploy=True).eval()
    assert set(built.state_dict()) == set(folded.state_dict())
    built.load_state_dict(folded.state_dict(), strict=True)
    with torch.no_grad():
        for e, a in zip(folded(x), built(x)):
            torch.testing.assert_close(a, e, rtol=0, atol=0)


def test_switch_to_deploy_is_idempotent():
    model = trained_like(PPLCNet())
    once = copy.deepcopy(model).switch_to_deploy()
    twice = copy.deepcopy(once).switch_to_deploy()
    for key, value in once.state_dict().items():
        torch.testing.assert_close(twice.state_dict()[key], value, rtol=0, atol=0)


def test_loading_the_wrong_form_is_refused_with_the_fix():
    trained = trained_like(PPLCNet())
    folded = copy.deepcopy(trained).switch_to_deploy()
    with pytest.raises(ValueError, match=r'BN-folded.*deploy=True'):
        PPLCNet().load_state_dict(folded.state_dict())
    with pytest.raises(ValueError, match=r'batch norms.*deploy=True.*switch_to_deploy'):
        PPLCNet(deploy=True).load_state_dict(trained.state_dict())


def test_only_batch_norm_is_folded():
    model = PPLCNet(norm_cfg=dict(type='GN', num_groups=8))
    with pytest.raises(TypeError, match='only batch norm.*GroupNorm'):
        model.switch_to_deploy()
    plain = ConvModule(4, 4, 3, norm_cfg=None)  # nothing to fold: unchanged
    assert fold_norm_into_conv(plain) is plain and plain.conv.bias is not None


def test_head_switch_removes_dropout_and_keeps_logits():
    head = LCNetClsHead(num_classes=7, in_channels=64, dropout_ratio=0.5)
    head.init_weights()
    head.eval()
    feats = (torch.randn(3, 64, 7, 7),)
    with torch.no_grad():
        expected = head(feats)
        head.switch_to_deploy()
        actual = head(feats)
    assert isinstance(head.dropout, nn.Identity)
    torch.testing.assert_close(actual, expected, rtol=0, atol=0)


@pytest.mark.parametrize('config', ['pplcnet/pplcnet-x1.0_8xb256_in1k.py', 'pplcnet_v2/pplcnetv2-small_8xb256_in1k.py'])
def test_whole_classifier_switch_and_deploy_config(config, tmp_path, mmpretrain_scope, capsys):
    """tools/switch_to_deploy.py writes a folded checkpoint (PP-LCNetV2: branches merged too) that the same config
    with model.backbone.deploy=True, the option the tool prints, loads strictly and runs to the same logits."""
    config = str(ROOT / 'configs' / config)
    model, _ = build_model_from_config(config)
    trained_like(model.backbone)
    model.head.init_weights()
    model.eval()
    checkpoint = tmp_path / 'trained.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)

    out = tmp_path / 'folded.pth'
    assert load_tool('switch_to_deploy').main([config, str(checkpoint), str(out)]) == 0
    assert capsys.readouterr().out.rstrip().endswith('load it with --cfg-options model.backbone.deploy=True')

    folded_model, _ = build_model_from_config(config, str(out), {'model.backbone.deploy': True})
    assert folded_model.backbone.deploy and isinstance(folded_model.head.dropout, nn.Dropout)
    x = torch.randn(2, 3, 224, 224)
    torch.testing.assert_close(model_outputs(folded_model, x)[0], model_outputs(model, x)[0], rtol=1e-5, atol=1e-5)
    # and the same switch on the whole model in Python names both parts
    assert switch_to_deploy(copy.deepcopy(model)) == ['backbone', 'head']
    # the training config refuses the folded checkpoint, naming the flag
    with pytest.raises(ValueError, match='deploy=True'):
        build_model_from_config(config, str(out))


def test_detector_deploy_flag_loads_folded_backbone(tmp_path):
    config = str(ROOT / 'configs' / 'lcnet_fcos.py')
    model, _ = build_model_from_config(config)
    trained_like(model.backbone)
    model.eval()
    folded = copy.deepcopy(model)
    assert switch_to_deploy(folded) == ['backbone']
    path = tmp_path / 'folded.pth'
    torch.save({'state_dict': folded.state_dict()}, path)
    deployed, _ = build_model_from_config(config, str(path), {'model.backbone.deploy': True})
    x = torch.randn(1, 3, 256, 224)
    for a, e in zip(model_outputs(deployed, x), model_outputs(model, x)):
        # float32 rounding of the folded convs, amplified by the head's group norms: 1.4e-4 at most measured;
        # a folding error would be of the order of the outputs themselves
        torch.testing.assert_close(a, e, rtol=1e-4, atol=5e-4)


@pytest.mark.slow
def test_test_py_runs_the_folded_checkpoint_with_the_deploy_flag(tmp_path, mmpretrain_scope):
    """The runner path: tools/test.py on the folded checkpoint with model.backbone.deploy=True predicts what
    it predicts on the training checkpoint."""
    import pickle

    config = str(ROOT / 'configs' / 'demos' / 'lcnet_cls_shapes.py')
    data = [
        'test_dataloader.dataset.num_images=20',
        f'test_dataloader.dataset.data_root={tmp_path / "data"}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
    ]
    model, _ = build_model_from_config(config)
    trained_like(model.backbone)
    trained = tmp_path / 'trained.pth'
    torch.save({'state_dict': model.state_dict()}, trained)
    folded = tmp_path / 'folded.pth'
    assert load_tool('switch_to_deploy').main([config, str(trained), str(folded), '--input-size', '64', '64']) == 0

    test = load_tool('test')
    runs = {}
    for name, checkpoint, extra in (('trained', trained, []), ('folded', folded, ['model.backbone.deploy=True'])):
        out = tmp_path / f'{name}.pkl'
        metrics = test.main(
            [
                config,
                str(checkpoint),
                '--work-dir',
                str(tmp_path / name),
                '--out',
                str(out),
                '--cfg-options',
                *data,
                *extra,
            ]
        )
        with open(out, 'rb') as f:
            runs[name] = (metrics, torch.stack([torch.as_tensor(p['pred_score']) for p in pickle.load(f)]))
    assert runs['folded'][0]['accuracy/top1'] == runs['trained'][0]['accuracy/top1']
    assert runs['trained'][1].shape == (20, 5)
    torch.testing.assert_close(runs['folded'][1], runs['trained'][1], rtol=1e-4, atol=1e-5)
