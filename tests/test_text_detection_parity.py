"""PP-OCRv5's mobile text detector as Baidu publishes it for Hugging Face Transformers converts to lcnet-mm's
PPLCNetV3 + RSEFPN + DBHead, whose probability map is Transformers' own. The reference was computed once with
transformers 5.25.0 (tests/fixtures/hf_ppocr_det/make_reference.py, run in a throw-away environment): the
published configuration with random weights and BN statistics."""

import copy
import lzma
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from conftest import load_tool
from lcnet_mm.converters import convert_weights
from lcnet_mm.models.backbones import PPLCNetV3
from lcnet_mm.models.dense_heads.db_head import DBHead
from lcnet_mm.models.necks.rse_fpn import RSEFPN

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'hf_ppocr_det'
TOLERANCE = 1e-4  # relative to the largest probability


class TextDetectorNetwork(nn.Module):
    """backbone -> neck -> bbox_head, the key layout of the converted checkpoint."""

    def __init__(self, backbone: dict, neck: dict):
        super().__init__()
        self.backbone, self.neck = PPLCNetV3(**backbone), RSEFPN(**neck)
        self.bbox_head = DBHead(neck['out_channels'])

    def forward(self, images):
        return self.bbox_head(self.neck(self.backbone(images)))


@pytest.fixture(scope='module')
def hf_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp('PP-OCRv5_mobile_det_safetensors')
    shutil.copy(FIXTURES / 'config.json', folder / 'config.json')
    with lzma.open(FIXTURES / 'model.safetensors.xz') as src, open(folder / 'model.safetensors', 'wb') as dst:
        shutil.copyfileobj(src, dst)
    return folder


def reference():
    data = np.load(FIXTURES / 'reference.npz')
    return torch.from_numpy(data['images_x16']).float() / 16, torch.from_numpy(data['probability'])


def converted_network(checkpoint: dict) -> TextDetectorNetwork:
    info = checkpoint['meta']['lcnet_mm_conversion']
    network = TextDetectorNetwork(info['backbone'], info['neck']).eval()
    missing, unexpected = network.load_state_dict(checkpoint['state_dict'], strict=False)
    assert not unexpected and missing and all(k.startswith('bbox_head.threshold.') for k in missing)
    return network


def test_transformers_folder_converts_to_its_own_probability_map(hf_folder, tmp_path):
    out = tmp_path / 'converted.pth'
    assert load_tool('convert_weights').main([str(hf_folder), str(out)]) == 0
    checkpoint = torch.load(out, weights_only=True)
    info = checkpoint['meta']['lcnet_mm_conversion']
    assert info['layout'] == 'hf_ppocr_det' and info['config_json']
    assert info['backbone'] == dict(arch='det', scale=0.75, conv_kxk_num=4, projection_channels=[12, 18, 42, 360])
    assert info['neck'] == dict(in_channels=[12, 18, 42, 360], out_channels=96)
    assert info['missing_for_training'] == ['bbox_head.threshold']
    network = converted_network(checkpoint)
    images, expected = reference()
    with torch.no_grad():
        probability = network(images)
    assert probability.shape == expected.shape == (2, 1, 96, 128)
    assert float((probability - expected).abs().max()) <= TOLERANCE * float(expected.abs().max())

    # the merged (deploy) form computes the same map
    deployed = copy.deepcopy(network)
    deployed.backbone.switch_to_deploy()
    with torch.no_grad():
        merged = deployed(images)
    assert float((merged - expected).abs().max()) <= TOLERANCE * float(expected.abs().max())
    assert not any('branches' in k for k in deployed.state_dict())


def test_a_config_the_modules_cannot_express_is_named(hf_folder, tmp_path):
    import json

    folder = tmp_path / 'changed'
    shutil.copytree(hf_folder, folder)
    config = json.loads((folder / 'config.json').read_text())
    config['interpolate_mode'] = 'bilinear'
    (folder / 'config.json').write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"interpolate_mode='bilinear' is not supported; lcnet-mm builds "):
        convert_weights(folder)


def test_an_lcnet_mm_v3_checkpoint_is_named_not_mistaken_for_pp_lcnet(tmp_path):
    state = {f'backbone.{k}': v for k, v in PPLCNetV3(scale=0.35).state_dict().items()}
    path = tmp_path / 'v3.pth'
    torch.save({'state_dict': state}, path)
    with pytest.raises(ValueError, match='an lcnet-mm PP-LCNetV3 checkpoint; it needs no conversion'):
        convert_weights(path)
