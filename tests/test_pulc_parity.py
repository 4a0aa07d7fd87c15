"""PaddleOCR / PULC PP-LCNet ``.pdparams``, whose networks set their own strides and may drop the 1280-channel
conv: converted by tools/convert_weights.py and built with the config's ``strides``, they give PaddleClas's own
logits. The references were computed once with paddlepaddle 3.3.1 and paddleclas 2.6.0
(tests/fixtures/paddle_pulc/make_reference.py, run in a throw-away environment), random weights and BN
statistics."""

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import load_tool, unpack_fixture

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'paddle_pulc'
TOLERANCE = 1e-4  # relative to the largest reference logit
MODELS = {
    # name: (PPLCNet arguments the file cannot carry, with_head_conv)
    'textline_x0_25': (dict(scale=0.25, strides=(2, 1, (2, 1), (2, 1), (2, 1), (2, 1))), True),
    'no_last_conv_x0_5': (dict(scale=0.5), False),
}


@pytest.mark.parametrize('name', sorted(MODELS))
def test_pulc_weights_give_paddleclas_logits(name, tmp_path, mmpretrain_scope):
    from mmpretrain.registry import MODELS as REGISTRY

    path = unpack_fixture(FIXTURES / f'{name}.pdparams.gz', tmp_path / f'{name}.pdparams')
    out = tmp_path / 'converted.pth'
    assert load_tool('convert_weights').main([str(path), str(out)]) == 0
    state = torch.load(out, weights_only=True)['state_dict']
    backbone, with_head_conv = MODELS[name]
    assert ('head.head_conv.conv.weight' in state) == with_head_conv
    model = REGISTRY.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='PPLCNet', **backbone),
            head=dict(
                type='LCNetClsHead',
                num_classes=state['head.fc.weight'].shape[0],
                in_channels=int(512 * backbone['scale']),
                with_head_conv=with_head_conv,
            ),
        )
    ).eval()
    model.load_state_dict(state)
    reference = np.load(FIXTURES / f'{name}.npz')
    with torch.no_grad():
        logits = model(torch.from_numpy(reference['images']), mode='tensor').numpy()
    expected = reference['logits']
    assert logits.shape == expected.shape
    assert np.abs(logits - expected).max() <= TOLERANCE * np.abs(expected).max()
