"""PP-OCRv5's mobile text detector as Baidu publishes it for Hugging Face Transformers converts to lcnet-mm's
PPLCNetV3 + RSEFPN + DBHead, whose probability map is Transformers' own. The reference was computed once with
transformers 5.25.0 (tests/fixtures/hf_ppocr_det/make_reference.py, run in a throw-away environment): the
published configuration with random weights and BN statistics."""

import copy
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from conftest import hf_model_folder, load_tool, unpack_fixture
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
    return hf_model_folder(FIXTURES, tmp_path_factory.mktemp('PP-OCRv5_mobile_det_safetensors'))


def reference():
    data = np.load(FIXTURES / 'reference.npz')
    return torch.from_numpy(data['images_x16']).float() / 16, torch.from_numpy(data['probability'])


def converted_network(checkpoint: dict) -> TextDetectorNetwork:
    info = checkpoint['meta']['lcnet_mm_conversion']
    network = TextDetectorNetwork(info['backbone'], info['neck']).eval()
    missing, unexpected = network.load_state_dict(checkpoint['state_dict'], strict=False)
    assert not unexpected and missing and all(k.startswith('bbox_head.threshold.') for k in missing)
    return network


def test_a_strict_load_of_transformers_weights_leaves_only_the_named_threshold_branch_untrained(hf_folder):
    """Transformers' folder has no threshold branch and its conversion record says so: a strict load (benchmarks,
    exports) accepts exactly that gap and names any other."""
    from lcnet_mm.builder import build_model_from_config
    from lcnet_mm.io import WeightFileError, load_checkpoint

    config = ROOT / 'configs' / 'text_detection' / 'dbnet_pplcnetv3-x0.75_rsefpn_ppocrv5-mobile-det.py'
    model, _ = build_model_from_config(config, f'hf://{hf_folder}')
    checkpoint, _ = convert_weights(hf_folder)
    loaded = checkpoint['state_dict']
    assert torch.equal(model.state_dict()['backbone.stem.conv.weight'], loaded['backbone.stem.conv.weight'])
    gap = next(key for key in loaded if key.startswith('bbox_head.probability.') and key.endswith('.weight'))
    del loaded[gap]
    with pytest.raises(WeightFileError, match=rf"does not fit the model .*missing keys \['{re.escape(gap)}'\]"):
        load_checkpoint(model, 'x.pth', content=checkpoint)


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


# ---- PaddleOCR's own code (tests/fixtures/paddle_ppocr_det/make_reference.py, paddlepaddle 3.3.1) ----------------
PADDLE_FIXTURES = ROOT / 'tests' / 'fixtures' / 'paddle_ppocr_det'


def paddle_file(name: str, tmp_path) -> Path:
    return unpack_fixture(PADDLE_FIXTURES / f'{name}.xz', tmp_path / name)


def paddle_reference(key: str):
    data = np.load(PADDLE_FIXTURES / 'reference.npz')
    return torch.from_numpy(data['images_x16']).float() / 16, torch.from_numpy(data[key])


def assert_close(actual, expected):
    assert actual.shape == expected.shape
    assert float((actual - expected).abs().max()) <= TOLERANCE * float(expected.abs().max())


def test_paddleocr_training_checkpoint_converts_to_its_own_probability_maps(tmp_path):
    checkpoint, info = convert_weights(paddle_file('ppocr_det.pdparams', tmp_path))
    assert info['layout'] == 'paddle_ppocr_det' and info['file_kind'] == 'pickle'
    assert info['backbone'] == dict(arch='det', scale=0.75, projection_channels=[12, 18, 42, 360], conv_kxk_num=4)
    assert info['neck'] == dict(in_channels=[12, 18, 42, 360], out_channels=96)
    network = TextDetectorNetwork(info['backbone'], info['neck']).eval()
    network.load_state_dict(checkpoint['state_dict'])  # strictly: Paddle's file has the threshold branch too
    images, expected = paddle_reference('probability')
    with torch.no_grad():
        assert_close(network(images), expected)
        # switch_to_deploy computes what PaddleOCR's rep() computes
        network.backbone.switch_to_deploy()
        assert_close(network(images), paddle_reference('probability_rep')[1])
    # in training mode the head gives all three maps
    network = TextDetectorNetwork(info['backbone'], info['neck']).train()
    maps = network(images)
    assert len(maps) == 3 and all(m.shape == expected.shape for m in maps)


def _paddle_rep_layout(state: dict, merged: dict) -> dict:
    """Paddle's training-form state dict with every re-parameterisable conv as rep() leaves it: its branches
    replaced by ``reparam_conv`` (weights from ``merged``, an lcnet-mm deploy-form backbone state dict)."""
    rep = {k: np.asarray(v) for k, v in state.items() if not re.search(r'\.(conv_kxk|conv_1x1|identity)\.', k)}
    for key, value in merged.items():
        found = re.fullmatch(r'stages\.(\d)\.(\d+)\.(depthwise|pointwise)_conv\.conv\.(weight|bias)', key)
        if found:
            part = 'dw_conv' if found[3] == 'depthwise' else 'pw_conv'
            rep[f'backbone.blocks{int(found[1]) + 2}.{found[2]}.{part}.reparam_conv.{found[4]}'] = value.numpy()
    return rep


def test_paddleocr_reparameterised_layout_converts_to_the_deploy_form(tmp_path):
    """The layout of a checkpoint saved after PaddleOCR's rep() (reparam_conv, the stem's BN kept) converts to
    deploy=True; the merged weights are lcnet-mm's (shown equal to rep()'s above), PaddleOCR's map the reference."""
    from lcnet_mm.io import load_weight_file

    path = paddle_file('ppocr_det.pdparams', tmp_path)
    checkpoint, info = convert_weights(path)
    backbone = PPLCNetV3(**info['backbone'])
    backbone.load_state_dict(
        {k[len('backbone.') :]: v for k, v in checkpoint['state_dict'].items() if k.startswith('backbone.')}
    )
    merged = backbone.eval().switch_to_deploy().state_dict()
    rep_path = tmp_path / 'ppocr_det_rep.pdparams'
    with open(rep_path, 'wb') as f:
        pickle.dump(_paddle_rep_layout(load_weight_file(path)[0], merged), f, protocol=4)
    checkpoint, info = convert_weights(rep_path)
    assert info['backbone']['deploy'] is True and 'conv_kxk_num' not in info['backbone']
    assert '(re-parameterised)' in info['network']
    network = TextDetectorNetwork(info['backbone'], info['neck']).eval()
    network.load_state_dict(checkpoint['state_dict'])
    images, expected = paddle_reference('probability_rep')
    with torch.no_grad():
        assert_close(network(images), expected)


def test_paddleocr_det_backbone_alone_converts(tmp_path):
    # PaddleOCR's PPLCNetV3_x0_75_ocr_det.pdparams: the backbone's own keys (conv1.*, blocks2..6.*, layer_list.*)
    from lcnet_mm.io import load_weight_file

    state, _ = load_weight_file(paddle_file('ppocr_det.pdparams', tmp_path))
    backbone = {k[len('backbone.') :]: v for k, v in state.items() if k.startswith('backbone.')}
    path = tmp_path / 'PPLCNetV3_x0_75_ocr_det.pdparams'
    with open(path, 'wb') as f:
        pickle.dump({k: np.asarray(v) for k, v in backbone.items()}, f, protocol=4)
    checkpoint, info = convert_weights(path)
    assert info['layout'] == 'paddle_ppocr_det' and info['neck'] is None
    assert {k.partition('.')[0] for k in checkpoint['state_dict']} == {'backbone'}
    model = PPLCNetV3(**info['backbone']).eval()
    model.load_state_dict({k[len('backbone.') :]: v for k, v in checkpoint['state_dict'].items()})


def test_a_recogniser_checkpoint_given_for_the_detector_is_named(tmp_path):
    from lcnet_mm.io import load_weight_file

    state, _ = load_weight_file(paddle_file('ppocr_det.pdparams', tmp_path))
    recogniser = {k: np.asarray(v) for k, v in state.items() if k.startswith('backbone.')}
    recogniser['head.ctc_head.fc.weight'] = np.zeros((120, 6625), dtype=np.float32)
    path = tmp_path / 'PP-OCRv5_mobile_rec.pdparams'
    with open(path, 'wb') as f:
        pickle.dump(recogniser, f, protocol=4)
    with pytest.raises(
        ValueError, match="a PaddleOCR text recogniser checkpoint \\(it has 'head.ctc_head.fc.weight'\\)"
    ):
        convert_weights(path)
