"""tools/convert_weights.py and lcnet_mm.converters: parity with timm and PaddleClas, safe loading, errors."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from safetensors.torch import save_file

from conftest import RunsACommand
from lcnet_mm.converters import convert_weights
from lcnet_mm.io import UnsafeWeightFileError
from lcnet_mm.models.backbones.pp_lcnet import PP_LCNET
from test_timm_parity import TIMM_SCALES, lcnet_mm_classifier, randomize_batch_norm
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]


def timm_model(name):
    generator = torch.Generator().manual_seed(2)
    model = timm.create_model(name, pretrained=False)
    with torch.no_grad():
        randomize_batch_norm(model, generator)
    return model.eval()


@pytest.mark.parametrize('name', sorted(TIMM_SCALES))
@pytest.mark.parametrize('suffix', ['.pth', '.safetensors'])
def test_timm_files_convert_with_logit_parity(tmp_path, name, suffix, mmpretrain_scope):
    reference = timm_model(name)
    path = tmp_path / f'{name}{suffix}'
    if suffix == '.pth':
        torch.save(reference.state_dict(), path)
    else:
        save_file(reference.state_dict(), str(path))
    checkpoint, info = convert_weights(path)
    assert info['layout'] == 'timm' and info['scale'] == TIMM_SCALES[name] and info['num_classes'] == 1000
    model = lcnet_mm_classifier(TIMM_SCALES[name]).eval()
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    images = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        diff = (reference(images) - model(images, mode='tensor')).abs().max().item()
    assert diff <= 1e-5


# ---- PaddleClas -------------------------------------------------------------------------------------
PADDLE_STAGES = ['blocks2', 'blocks3', 'blocks4', 'blocks5', 'blocks6']


def paddle_state_dict(scale=0.5, num_classes=10, seed=0):
    """Random tensors in PaddleClas's exact layout and naming, as a Paddle 3 .pdparams holds them."""
    from lcnet_mm.models.layers import make_divisible

    rng = np.random.default_rng(seed)

    def conv_bn(prefix, out_c, in_c, k):
        return {
            f'{prefix}.conv.weight': rng.normal(0, (2 / (in_c * k * k)) ** 0.5, (out_c, in_c, k, k)),
            f'{prefix}.bn.weight': rng.uniform(0.5, 1.5, out_c),
            f'{prefix}.bn.bias': rng.normal(0, 0.2, out_c),
            f'{prefix}.bn._mean': rng.normal(0, 0.5, out_c),
            f'{prefix}.bn._variance': rng.uniform(0.2, 2, out_c),
        }

    channels = make_divisible(16 * scale)
    state = conv_bn('conv1', channels, 3, 3)
    for stage, name in zip(PP_LCNET, PADDLE_STAGES):
        for i, row in enumerate(stage):
            k, se, out_c = row.kernel_size, row.use_se, make_divisible(row.out_channels * scale)
            state.update(conv_bn(f'{name}.{i}.dw_conv', channels, 1, k))
            if se:
                state[f'{name}.{i}.se.conv1.weight'] = rng.normal(0, 0.1, (channels // 4, channels, 1, 1))
                state[f'{name}.{i}.se.conv1.bias'] = rng.normal(0, 0.1, channels // 4)
                state[f'{name}.{i}.se.conv2.weight'] = rng.normal(0, 0.1, (channels, channels // 4, 1, 1))
                state[f'{name}.{i}.se.conv2.bias'] = rng.normal(0, 0.1, channels)
            state.update(conv_bn(f'{name}.{i}.pw_conv', out_c, channels, 1))
            channels = out_c
    state['last_conv.weight'] = rng.normal(0, (2 / channels) ** 0.5, (1280, channels, 1, 1))
    state['fc.weight'] = rng.normal(0, 0.05, (1280, num_classes))  # Paddle Linear: [in, out]
    state['fc.bias'] = rng.normal(0, 0.1, num_classes)
    state = {k: v.astype(np.float32) for k, v in state.items()}
    state['StructuredToParameterName@@'] = {k: f'param_{i}' for i, k in enumerate(state)}
    return state


def paddle_forward(state, images):
    """What PaddleClas's PPLCNet computes in eval mode, written from its definition, on Paddle's tensors."""
    p = {k: torch.from_numpy(v) for k, v in state.items() if isinstance(v, np.ndarray)}

    def conv_bn_hswish(x, prefix, stride, groups):
        w = p[f'{prefix}.conv.weight']
        x = F.conv2d(x, w, stride=stride, padding=w.shape[-1] // 2, groups=groups)
        x = F.batch_norm(
            x,
            p[f'{prefix}.bn._mean'],
            p[f'{prefix}.bn._variance'],
            p[f'{prefix}.bn.weight'],
            p[f'{prefix}.bn.bias'],
            training=False,
            eps=1e-5,
        )
        return F.hardswish(x)

    x = conv_bn_hswish(images, 'conv1', 2, 1)
    for stage, name in zip(PP_LCNET, PADDLE_STAGES):
        for i, row in enumerate(stage):
            x = conv_bn_hswish(x, f'{name}.{i}.dw_conv', row.stride, x.shape[1])
            if row.use_se:
                s = F.relu(
                    F.conv2d(
                        x.mean((2, 3), keepdim=True), p[f'{name}.{i}.se.conv1.weight'], p[f'{name}.{i}.se.conv1.bias']
                    )
                )
                x = x * F.hardsigmoid(F.conv2d(s, p[f'{name}.{i}.se.conv2.weight'], p[f'{name}.{i}.se.conv2.bias']))
            x = conv_bn_hswish(x, f'{name}.{i}.pw_conv', 1, 1)
    x = F.hardswish(F.conv2d(x.mean((2, 3), keepdim=True), p['last_conv.weight'])).flatten(1)
    x = x * 0.8  # Dropout(p=0.2, mode='downscale_in_infer') at inference
    return x @ p['fc.weight'] + p['fc.bias']


def test_paddle_file_converts_tensor_by_tensor_and_reproduces_paddle_logits(tmp_path, mmpretrain_scope):
    state = paddle_state_dict(scale=0.5, num_classes=10)
    path = tmp_path / 'PPLCNet_x0_5_pretrained.pdparams'
    with path.open('wb') as f:
        pickle.dump(state, f, protocol=4)
    checkpoint, info = convert_weights(path)
    assert (info['layout'], info['file_kind'], info['scale'], info['num_classes']) == ('paddle', 'pickle', 0.5, 10)
    converted = checkpoint['state_dict']
    # Every tensor, by its Paddle name.
    bn_names = {'weight': 'weight', 'bias': 'bias', '_mean': 'running_mean', '_variance': 'running_var'}
    for key, value in state.items():
        if key == 'StructuredToParameterName@@':
            continue
        new = key.replace('conv1.', 'backbone.stem.', 1) if key.startswith('conv1.') else key
        new = re.sub(r'^blocks(\d)\.', lambda m: f'backbone.stages.{int(m[1]) - 2}.', new)
        new = new.replace('dw_conv', 'depthwise_conv').replace('pw_conv', 'pointwise_conv')
        new = new.replace('se.conv1', 'se.squeeze.conv').replace('se.conv2', 'se.excite.conv')
        new = re.sub(r'\.bn\.(\w+)$', lambda m: f'.bn.{bn_names[m[1]]}', new)
        new = {
            'last_conv.weight': 'head.head_conv.conv.weight',
            'fc.weight': 'head.fc.weight',
            'fc.bias': 'head.fc.bias',
        }.get(new, new)
        expected = torch.from_numpy(value.T.copy() * np.float32(0.8) if key == 'fc.weight' else value)
        torch.testing.assert_close(converted[new], expected, msg=key)
    # The logits: lcnet-mm with the converted weights (ordinary dropout) = Paddle's eval forward.
    from mmpretrain.models import ImageClassifier

    # PaddleClas's head conv has no bias: the default LCNetClsHead.
    model = ImageClassifier(
        backbone=dict(type='PPLCNet', scale=0.5), head=dict(type='LCNetClsHead', num_classes=10, in_channels=256)
    ).eval()
    model.load_state_dict(converted, strict=True)
    images = torch.rand(2, 3, 96, 128, generator=torch.Generator().manual_seed(4)) * 2 - 1
    with torch.no_grad():
        diff = (model(images, mode='tensor') - paddle_forward(state, images)).abs().max().item()
    assert diff <= 1e-5


# ---- safety -----------------------------------------------------------------------------------------
def test_crafted_pdparams_is_refused_without_running_it(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pdparams'
    with path.open('wb') as f:
        pickle.dump({'conv1.conv.weight': RunsACommand(marker)}, f, protocol=4)
    with pytest.raises(UnsafeWeightFileError, match=r'evil.pdparams.*(posix|os)\.system'):
        convert_weights(path)
    assert not marker.exists()


def test_crafted_pth_is_refused_without_running_it(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'conv_stem.weight': RunsACommand(marker)}}, path)
    assert not marker.exists()
    with pytest.raises(UnsafeWeightFileError, match='evil.pth'):
        convert_weights(path)
    assert not marker.exists()


# ---- errors -----------------------------------------------------------------------------------------
def test_truncated_unknown_and_mismatched_files_are_named(tmp_path):
    state = timm_model('lcnet_050').state_dict()
    good = tmp_path / 'lcnet_050.pth'
    torch.save(state, good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ValueError, match='truncated.pth.*truncated or corrupt'):
        convert_weights(truncated)
    text = tmp_path / 'notes.txt'
    text.write_text('not weights')
    with pytest.raises(ValueError, match='notes.txt: unknown weight file format'):
        convert_weights(text)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        convert_weights(tmp_path / 'nope.pth')
    missing = dict(state)
    del missing['blocks.5.1.conv_pw.weight']
    torch.save(missing, tmp_path / 'missing.pth')
    with pytest.raises(
        ValueError,
        match=r'missing.pth does not fit PP-LCNet x0.5: missing keys '
        r"\['backbone.stages.4.1.pointwise_conv.conv.weight'\]",
    ):
        convert_weights(tmp_path / 'missing.pth')
    wrong = dict(state)
    wrong['classifier.weight'] = torch.zeros(1000, 7)
    torch.save(wrong, tmp_path / 'wrong_shape.pth')
    with pytest.raises(
        ValueError, match=r'wrong_shape.pth.*head.fc.weight: file \(1000, 7\) vs expected \(1000, 1280\)'
    ):
        convert_weights(tmp_path / 'wrong_shape.pth')
    foreign = {'layer1.weight': torch.zeros(1)}
    torch.save(foreign, tmp_path / 'resnet.pth')
    with pytest.raises(ValueError, match='resnet.pth: not a PP-LCNet state dict'):
        convert_weights(tmp_path / 'resnet.pth')


def run_converter(*args):
    return run_tool('convert_weights', *args, timeout=300)


def test_cli_reports_what_it_found_and_refuses_another_width(tmp_path):
    torch.save(timm_model('lcnet_050').state_dict(), tmp_path / 'lcnet_050.pth')
    proc = run_converter(tmp_path / 'lcnet_050.pth', tmp_path / 'out.pth', '--backbone-only')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'timm PP-LCNet x0.5 (torch file, 1000 classes)' in proc.stdout and 'backbone only' in proc.stdout
    saved = torch.load(tmp_path / 'out.pth', weights_only=True)['state_dict']
    assert saved and all(k.startswith('backbone.') for k in saved)
    proc = run_converter(tmp_path / 'lcnet_050.pth', tmp_path / 'x.pth', '--config', ROOT / 'configs/lcnet_fcos.py')
    assert proc.returncode != 0
    assert 'lcnet_050.pth (PP-LCNet x0.5) does not fit the backbone of' in proc.stderr
    assert '(PP-LCNet x1.0)' in proc.stderr and not (tmp_path / 'x.pth').exists()


def test_converted_timm_weights_train_as_detection_backbone(tmp_path):
    torch.save(timm_model('lcnet_100').state_dict(), tmp_path / 'lcnet_100.pth')
    proc = run_converter(
        tmp_path / 'lcnet_100.pth',
        tmp_path / 'backbone.pth',
        '--backbone-only',
        '--config',
        ROOT / 'configs/lcnet_fcos.py',
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    cfg = Config.fromfile(str(ROOT / 'configs/lcnet_fcos.py'))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(tmp_path / 'backbone.pth'), prefix='backbone.')
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS, MODELS
    from mmengine.dataset import pseudo_collate

    detector = MODELS.build(cfg.model)
    detector.init_weights()
    converted = torch.load(tmp_path / 'backbone.pth', weights_only=True)['state_dict']
    loaded = detector.backbone.state_dict()
    assert {f'backbone.{k}' for k in loaded} == set(converted)
    for key, value in loaded.items():
        torch.testing.assert_close(value, converted[f'backbone.{key}'], msg=key)
    dataset = DATASETS.build(
        dict(type='SyntheticShapesCoco', data_root=str(tmp_path / 'data'), num_images=2, pipeline=cfg.train_pipeline)
    )
    detector.train()
    losses = detector.train_step(
        pseudo_collate([dataset[0], dataset[1]]), OptimWrapper(torch.optim.SGD(detector.parameters(), lr=1e-3))
    )
    assert all(torch.isfinite(v) for v in losses.values())
