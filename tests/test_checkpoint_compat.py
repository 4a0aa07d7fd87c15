"""Checkpoints written before the blocks and stage builders of both generations were merged still load, strictly,
into the models built today, and compute what they computed then (tests/fixtures/checkpoints_v0: checkpoints and
outputs made by tests/fixtures/checkpoints_v0/make_fixtures.py with the code of that time)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lcnet_mm.builder import build_module
from lcnet_mm.deploy import model_outputs
from lcnet_mm.io import load_checkpoint, load_weight_file

FIXTURES = Path(__file__).resolve().parent / 'fixtures' / 'checkpoints_v0'
MODELS = json.loads((FIXTURES / 'models.json').read_text())


@pytest.fixture(scope='module')
def outputs():
    return dict(np.load(FIXTURES / 'outputs.npz'))


@pytest.mark.parametrize('name', sorted(MODELS))
def test_old_checkpoints_load_strictly_and_compute_the_same(name, outputs):
    spec = MODELS[name]
    model = build_module(spec['model'], spec['toolbox'])
    if spec.get('weights_from'):  # a backbone at another stride setting: the backbone of that checkpoint
        state = load_weight_file(FIXTURES / f'{spec["weights_from"]}.pth')[0]['state_dict']
        model.load_state_dict({k[len('backbone.') :]: v for k, v in state.items() if k.startswith('backbone.')})
    else:
        load_checkpoint(model, FIXTURES / f'{name}.pth', strict=True)
    model.eval()
    images = torch.randn(1, 3, *spec['input_size'], generator=torch.Generator().manual_seed(1))
    ours = model_outputs(model, images)
    theirs = [outputs[f'{name}.{i}'] for i in range(len([k for k in outputs if k.startswith(f'{name}.')]))]
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        # the same network and weights: only the summation order of the convolutions may differ
        assert np.abs(a.numpy() - b).max() <= 1e-5 * max(1.0, np.abs(b).max()), name
