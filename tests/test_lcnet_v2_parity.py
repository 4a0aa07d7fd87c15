"""PaddleClas PP-LCNetV2 weights: converted by tools/convert_weights.py, they reproduce PaddleClas's own forward,
in the training form and after switch_to_deploy. The references were computed once with paddlepaddle 3.3.1 and
paddleclas 2.6.0 (tests/fixtures/paddle_lcnet_v2/make_reference.py, run in a throw-away environment): a reduced
PPLCNetV2 with every kind of block, random weights and random BN statistics; plus the key layouts of the
published small / base / large files."""

import copy
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import load_tool, unpack_fixture
from lcnet_mm.deploy import switch_to_deploy

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'paddle_lcnet_v2'
TOLERANCE = 1e-4  # relative to the largest reference value of each output
CONFIGS = {
    'small': 'configs/pplcnet_v2/pplcnetv2-small_8xb256_in1k.py',
    'base': 'configs/pplcnet_v2/pplcnetv2-base_8xb256_in1k.py',
    'large': 'configs/pplcnet_v2/pplcnetv2-large_8xb128_in1k.py',
}


def unpack(tmp_path) -> Path:
    return unpack_fixture(FIXTURES / 'pplcnetv2_tiny.pdparams.gz', tmp_path / 'pplcnetv2_tiny.pdparams')


def convert(src: Path, tmp_path, *extra) -> dict:
    out = tmp_path / 'converted.pth'
    assert load_tool('convert_weights').main([str(src), str(out), *extra]) == 0
    return torch.load(out, weights_only=True)


def classifier(arch: dict, num_classes: int):
    from mmpretrain.registry import MODELS

    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='PPLCNetV2', arch=arch, out_indices=(0, 1, 2, 3, 4)),
            head=dict(
                type='LCNetClsHead',
                num_classes=num_classes,
                in_channels=int(round(1024 * arch['scale'])),
                act_cfg=dict(type='ReLU'),
            ),
        )
    )


def relative_error(ours, reference) -> float:
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def test_converted_weights_reproduce_paddleclas_in_both_forms(tmp_path, mmpretrain_scope):
    checkpoint = convert(unpack(tmp_path), tmp_path)
    info = checkpoint['meta']['lcnet_mm_conversion']
    assert (info['layout'], info['scale'], info['num_classes']) == ('paddle_v2', 0.25, 10)
    assert info['lcnet_v2'] == dict(scale=0.25, depths=[1, 1, 1, 2, 2], name=None)
    # PaddleClas's merged dw_conv tensors (stale in a training checkpoint) are not carried over
    assert not any(k.endswith(('depthwise_conv.weight', 'depthwise_conv.bias')) for k in checkpoint['state_dict'])

    model = classifier(dict(scale=0.25, depths=[1, 1, 1, 2, 2]), num_classes=10)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    model.eval()
    reference = np.load(FIXTURES / 'pplcnetv2_tiny.npz')
    images = torch.from_numpy(reference['images'])
    with torch.no_grad():
        features = model.backbone(images)
        for stage, feature in enumerate(features):
            assert relative_error(feature.numpy(), reference[f'stage_{stage}']) < TOLERANCE, stage
        assert relative_error(model.head(features).numpy(), reference['logits']) < TOLERANCE

        deployed = copy.deepcopy(model)
        assert switch_to_deploy(deployed) == ['backbone', 'head']
        logits = deployed(images, mode='tensor').numpy()
    assert relative_error(logits, reference['logits_reparameterized']) < TOLERANCE


@pytest.mark.parametrize('size', sorted(CONFIGS))
def test_every_tensor_of_the_published_files_converts_and_fits_its_config(size, tmp_path, capsys):
    """The key names and shapes of PaddleClas's PPLCNetV2_{small,base,large} (the SSLD files have the same
    layout): the converter names the size, and the result fits the ImageNet config of that size exactly."""
    layout = json.loads((FIXTURES / 'pplcnetv2_layouts.json').read_text())[f'PPLCNetV2_{size}']
    path = tmp_path / f'PPLCNetV2_{size}_pretrained.pdparams'
    with open(path, 'wb') as f:
        pickle.dump({k: np.zeros(shape, dtype=np.float32) for k, shape in layout.items()}, f, protocol=4)
    tool = load_tool('convert_weights')
    assert tool.main([str(path), str(tmp_path / 'out.pth'), '--config', CONFIGS[size]]) == 0
    out = capsys.readouterr().out
    assert f'paddle_v2 PP-LCNetV2 {size} x' in out and f'fits the model of {CONFIGS[size]}' in out
    from lcnet_mm.apis import build_model_from_config

    model, _ = build_model_from_config(CONFIGS[size])
    state = torch.load(tmp_path / 'out.pth', weights_only=True)['state_dict']
    model.load_state_dict(state, strict=True)  # backbone and head, every tensor


def test_the_older_paddleclas_layout_converts_the_same(tmp_path):
    """PaddleClas before 2.6 named the stages stage1..stage4 (now stages.0..3)."""
    path = unpack(tmp_path)
    state = pickle.load(open(path, 'rb'))
    older = {}
    for key, value in state.items():
        if key.startswith('stages.'):
            _, stage, rest = key.split('.', 2)
            key = f'stage{int(stage) + 1}.{rest}'
        older[key] = value
    older_path = tmp_path / 'older.pdparams'
    pickle.dump(older, open(older_path, 'wb'), protocol=4)
    new = convert(path, tmp_path)['state_dict']
    old = convert(older_path, tmp_path)['state_dict']
    assert set(new) == set(old) and all(torch.equal(new[k], old[k]) for k in new)


def test_paddle_scheme_loads_v2_weights_into_a_detection_backbone(tmp_path):
    """init_cfg=dict(type='Pretrained', checkpoint='paddle://...', prefix='backbone.') converts on load; weights of
    another size are refused with both shapes named."""
    from mmengine.registry import init_default_scope

    from lcnet_mm import PPLCNetV2
    from lcnet_mm.io import CheckpointMismatchError

    init_default_scope('mmdet')
    path = unpack(tmp_path)
    init_cfg = dict(type='Pretrained', checkpoint=f'paddle://{path}', prefix='backbone.')
    backbone = PPLCNetV2(arch=dict(scale=0.25, depths=[1, 1, 1, 2, 2]), out_indices=(2, 3, 4), init_cfg=init_cfg)
    backbone.init_weights()
    converted = convert(path, tmp_path)['state_dict']
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, converted[f'backbone.{key}']), key
    with pytest.raises(CheckpointMismatchError, match='PPLCNetV2\\(scale=0.75'):
        PPLCNetV2(arch='small', init_cfg=init_cfg).init_weights()


def test_broken_files_are_refused_with_the_key_named(tmp_path, capsys):
    path = unpack(tmp_path)
    state = pickle.load(open(path, 'rb'))
    tool = load_tool('convert_weights')

    broken = {k: v for k, v in state.items() if not k.startswith('stages.2.0.dw_conv_list.')}
    pickle.dump(broken, open(path, 'wb'), protocol=4)
    assert tool.main([str(path), str(tmp_path / 'out.pth')]) == 2
    assert "'stages.2.0.dw_conv.weight': a merged depthwise conv without its branches" in capsys.readouterr().err

    broken = dict(state, **{'stages.1.0.extra.weight': np.zeros(3, np.float32)})
    pickle.dump(broken, open(path, 'wb'), protocol=4)
    assert tool.main([str(path), str(tmp_path / 'out.pth')]) == 2
    assert "unexpected key 'stages.1.0.extra.weight' for a PaddleClas PP-LCNetV2" in capsys.readouterr().err

    broken = dict(state, **{'stages.3.1.pw_conv.conv.weight': state['stages.3.1.pw_conv.conv.weight'][:, :8]})
    pickle.dump(broken, open(path, 'wb'), protocol=4)
    assert tool.main([str(path), str(tmp_path / 'out.pth')]) == 2
    assert 'shape mismatches' in capsys.readouterr().err
