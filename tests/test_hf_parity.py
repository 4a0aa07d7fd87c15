"""Hugging Face Transformers PP-LCNet checkpoints (PaddleOCR's task models as Baidu publishes them): a
``save_pretrained`` folder converts, through tools/convert_weights.py and the ``hf://`` scheme, to a PP-LCNet
classifier whose logits are Transformers' own. The references were computed once with transformers 5.24.0
(tests/fixtures/hf_pp_lcnet/make_reference.py, run in a throw-away environment): each task model's
configuration (width, strides, classes) with random weights and BN statistics."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import hf_model_folder, load_tool

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'hf_pp_lcnet'
TASKS = ('doc_ori', 'textline_ori', 'table_cls')
TOLERANCE = 1e-4  # relative to the largest reference logit


def hf_folder(task: str, tmp_path) -> Path:
    """The task's checkpoint folder as save_pretrained left it."""
    return hf_model_folder(FIXTURES / task, tmp_path / task)


def reference(task: str):
    data = np.load(FIXTURES / task / 'reference.npz')
    return torch.from_numpy(data['images_x16']).float() / 16, torch.from_numpy(data['logits'])


def classifier(info: dict):
    from mmpretrain.registry import MODELS

    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='PPLCNet', **info['backbone']),
            head=dict(type='LCNetClsHead', **info['head']),
        )
    ).eval()


@pytest.mark.parametrize('task', TASKS)
def test_transformers_folder_converts_to_its_own_logits(task, tmp_path, mmpretrain_scope):
    folder = hf_folder(task, tmp_path)
    out = tmp_path / 'converted.pth'
    assert load_tool('convert_weights').main([str(folder), str(out)]) == 0
    checkpoint = torch.load(out, weights_only=True)
    info = checkpoint['meta']['lcnet_mm_conversion']
    assert info['layout'] == 'hf' and info['config_json']
    labels = json.loads((folder / 'config.json').read_text())['id2label']
    assert info['class_names'] == [labels[str(i)] for i in range(len(labels))]
    model = classifier(info)
    model.load_state_dict(checkpoint['state_dict'])
    images, expected = reference(task)
    with torch.no_grad():
        logits = model(images, mode='tensor')
    assert logits.shape == expected.shape
    assert (logits - expected).abs().max() <= TOLERANCE * expected.abs().max()


def test_mmpretrain_inferencer_runs_the_task_config_on_hf_weights(tmp_path, mmpretrain_scope):
    """mmpretrain's ImageClassificationInferencer, as users call it, on the text-line config with the
    Transformers folder behind hf://: the task's class names, and the converted model's scores."""
    import mmcv
    from mmpretrain import ImageClassificationInferencer

    folder = hf_folder('textline_ori', tmp_path)
    config = str(ROOT / 'configs' / 'pplcnet_tasks' / 'pplcnet-x0.25_textline-ori_80x160.py')
    inferencer = ImageClassificationInferencer(model=config, pretrained=f'hf://{folder}', device='cpu')
    image = np.random.default_rng(0).integers(0, 256, (48, 300, 3), dtype=np.uint8)  # a BGR text line
    result = inferencer(image)[0]
    assert result['pred_class'] == ['0_degree', '180_degree'][result['pred_label']]

    # The same image by hand: resized to 80 x 160, BGR, normalised with ImageNet's RGB-order statistics.
    resized = mmcv.imresize(image, (160, 80)).astype(np.float32)
    normalised = (resized - [123.675, 116.28, 103.53]) / [58.395, 57.12, 57.375]
    batch = torch.from_numpy(normalised.transpose(2, 0, 1)).float()[None]
    with torch.no_grad():
        scores = inferencer.model(batch, mode='tensor').softmax(-1)[0]
    assert np.allclose(result['pred_scores'], scores.numpy(), atol=1e-5)


def test_every_tool_that_takes_a_checkpoint_takes_hf_paths(tmp_path, capsys):
    """switch_to_deploy.py (and, through the same model builder, export_onnx.py and benchmark.py) converts
    hf:// on load; test.py and quantize.py accept the folder behind it."""
    folder = hf_folder('textline_ori', tmp_path)
    config = str(ROOT / 'configs' / 'pplcnet_tasks' / 'pplcnet-x0.25_textline-ori_80x160.py')
    out = tmp_path / 'deploy.pth'
    assert load_tool('switch_to_deploy').main([config, f'hf://{folder}', str(out)]) == 0
    folded = torch.load(out, weights_only=True)['state_dict']
    assert 'backbone.stem.conv.bias' in folded  # BN folded into the conv
    for tool, extra in (('test', []), ('quantize', [str(tmp_path / 'int8'), '--backend', 'onnxruntime'])):
        args = load_tool(tool).parse_args([config, f'hf://{folder}', *extra])  # the folder behind the scheme
        assert args.checkpoint == f'hf://{folder}'
        with pytest.raises(SystemExit):
            load_tool(tool).parse_args([config, f'hf://{tmp_path}/nope', *extra])
        assert 'does not exist' in capsys.readouterr().err


@pytest.mark.parametrize(
    'change, message',
    [
        (dict(hidden_act='relu'), "hidden_act='relu' is not supported"),
        (dict(reduction=8), 'reduction=8 is not supported'),
        (dict(model_type='pp_lcnet_v3'), "model_type='pp_lcnet_v3' is not supported"),
        (dict(stem_stride=3), 'stem_stride = 3; PP-LCNet strides are 1, 2 or an'),
        ('kernel', r"block_configs\[3\]\[1\] = \[3, 256, 256, 1, False\] is not PP-LCNet's block"),
        ('stride', r'block_configs\[3\]\[2\] stride 2: only a first block may stride'),
        ('depth', r"block_configs\[4\] has 1 blocks; PP-LCNet's stage 4 has 2"),
    ],
)
def test_what_pplcnet_cannot_express_is_refused_naming_the_field(change, message):
    from lcnet_mm.converters.hf_lcnet import describe

    config = json.loads((FIXTURES / 'doc_ori' / 'config.json').read_text())
    if change == 'kernel':
        config['block_configs'][3][1][0] = 3
    elif change == 'stride':
        config['block_configs'][3][2][3] = 2
    elif change == 'depth':
        config['block_configs'][4] = config['block_configs'][4][:1]
    else:
        config.update(change)
    with pytest.raises(ValueError, match=message):
        describe(config, 'PP-LCNet_x1_0_doc_ori_safetensors')
    assert describe(json.loads((FIXTURES / 'doc_ori' / 'config.json').read_text()), 'ok')['backbone']['scale'] == 1.0
