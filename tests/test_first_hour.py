"""A new user's first hour, run as they would run it: converted weights that do not fit are refused with the option
that makes them fit, an export that fails its check writes nothing, a data set or an input that is wrong is one
``error:`` line before the config dump, an inferencer reads metainfo without generating data, ``import lcnet_mm``
imports no toolbox, and the tools' output has no native-library noise."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import timm
import torch

from test_timm_parity import randomize_batch_norm
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]
IMAGENET_X05 = ROOT / 'configs' / 'pplcnet' / 'pplcnet-x0.5_8xb256_in1k.py'
COCO_FCOS = ROOT / 'configs' / 'fcos' / 'fcos_pplcnet-x1.0_fpn96-gn-head_1xb32-24e_coco.py'
CLASSIFIER = ROOT / 'configs' / 'demos' / 'lcnet_cls_shapes.py'
DETECTOR = ROOT / 'configs' / 'demos' / 'picodet_shapes.py'


def run(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def tool(name, *args, cwd=None):
    return run_tool(name, *args, cwd=cwd, timeout=300)


def one_error_line(proc) -> str:
    """The tool stopped with exit status 2 and one ``error:`` line, no traceback and no config dump before it."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert 'Config:' not in proc.stdout + proc.stderr  # mmengine's config dump: the error came before the runner
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, proc.stderr[-3000:]
    return proc.stderr[proc.stderr.index('error:') :]


@pytest.fixture(scope='module')
def timm_lcnet_050(tmp_path_factory):
    """timm's lcnet_050 with trained-looking statistics and a non-zero bias on its head conv (PaddleClas's has none)."""
    model = timm.create_model('lcnet_050', pretrained=False).eval()
    with torch.no_grad():
        randomize_batch_norm(model, torch.Generator().manual_seed(0))
        model.conv_head.bias.normal_(0, 0.5)
    path = tmp_path_factory.mktemp('timm') / 'lcnet_050.pth'
    torch.save(model.state_dict(), path)
    return model, path


def test_convert_with_config_checks_the_whole_classifier_and_names_the_option(tmp_path, timm_lcnet_050):
    _, source = timm_lcnet_050
    out = tmp_path / 'pp.pth'
    proc = tool('convert_weights', source, out, '--config', IMAGENET_X05)
    message = one_error_line(proc)
    assert 'unexpected keys' in message and 'head.head_conv.conv.bias' in message
    assert 'model.head.head_conv_bias=True' in message and not out.exists()
    proc = tool(
        'convert_weights', source, out, '--config', IMAGENET_X05, '--cfg-options', 'model.head.head_conv_bias=True'
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'fits the model of {IMAGENET_X05}' in proc.stdout and out.is_file()


def test_the_runners_loading_refuses_a_head_that_does_not_fit_and_fine_tunes_another_class_count(
    tmp_path, timm_lcnet_050, mmpretrain_scope
):
    from mmengine.runner import load_checkpoint

    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.io import CheckpointKeysError

    reference, source = timm_lcnet_050
    converted = tmp_path / 'pp.pth'
    assert tool('convert_weights', source, converted).returncode == 0  # no --config: nothing to check it against
    # The config's head has no bias: mmengine's non-strict loading (load_from, init_cfg) would warn and run on.
    model, _ = build_model_from_config(str(IMAGENET_X05))
    with pytest.raises(CheckpointKeysError, match=r'unexpected \[.head.head_conv.conv.bias.\].*head_conv_bias=True'):
        load_checkpoint(model, str(converted), strict=False)
    # The option it names makes it fit: the logits are timm's.
    model, _ = build_model_from_config(str(IMAGENET_X05), cfg_options={'model.head.head_conv_bias': True})
    load_checkpoint(model, str(converted), strict=False)
    images = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(model(images, mode='tensor'), reference(images), rtol=1e-4, atol=1e-4)
    # Another class count: the classifier is skipped (fine-tuning), everything else loads.
    options = {'model.head.head_conv_bias': True, 'model.head.num_classes': 10}
    model, _ = build_model_from_config(str(IMAGENET_X05), cfg_options=options)
    before = model.head.fc.weight.clone()
    load_checkpoint(model, str(converted), strict=False)
    assert torch.equal(model.head.fc.weight, before)
    torch.testing.assert_close(model.head.head_conv.conv.bias, reference.conv_head.bias)


def test_a_data_set_that_is_not_there_is_one_line(tmp_path, timm_lcnet_050):
    _, source = timm_lcnet_050
    checkpoint = tmp_path / 'pp.pth'
    assert tool('convert_weights', source, checkpoint).returncode == 0
    message = one_error_line(tool('test', IMAGENET_X05, checkpoint, cwd=tmp_path))
    assert "test_dataloader.dataset.data_root 'data/imagenet'" in message and 'no such folder' in message
    for name, args in (('test', [COCO_FCOS, checkpoint]), ('train', [COCO_FCOS])):
        message = one_error_line(tool(name, *args, cwd=tmp_path))
        assert "data_root 'data/coco/'" in message, message


@pytest.mark.parametrize(
    'name, args, expected',
    [
        (
            'train',
            ['configs/lcnet_fcos.py', '--cfg-options', 'model.neck.in_channels=[64,128,256]'],
            'in_channels=[128, 256, 512]',
        ),
        ('train', ['configs/lcnet_fcos.py', '--cfg-options', 'model.backbone.out_indices=(7,)'], 'out_indices'),
        ('train', ['configs/lcnet_fcoss.py'], "config file 'configs/lcnet_fcoss.py' does not exist"),
        ('test', [str(CLASSIFIER), 'notes.txt'], 'notes.txt'),
        ('export_onnx', [str(CLASSIFIER), 'notes.txt', 'x.onnx'], 'notes.txt'),
        ('switch_to_deploy', [str(CLASSIFIER), 'notes.txt', 'x.pth'], 'notes.txt'),
    ],
)
def test_a_bad_input_is_one_error_line_before_the_config_dump(tmp_path, name, args, expected):
    (tmp_path / 'notes.txt').write_text('not a checkpoint\n')
    (tmp_path / 'configs').symlink_to(ROOT / 'configs')
    message = one_error_line(tool(name, *args, cwd=tmp_path))
    assert expected in message, message
    debug = tool(name, *args, '--debug', cwd=tmp_path)
    assert debug.returncode != 0 and 'Traceback' in debug.stderr  # --debug: where it came from


def test_an_inferencer_reads_the_classes_without_generating_the_data_set(tmp_path):
    """mmdet's DetInferencer builds the config's test set (lazy) for its classes and palette only."""
    from lcnet_mm.apis import build_model_from_config

    weights = {}
    for config in (DETECTOR, CLASSIFIER):
        model, _ = build_model_from_config(str(config))
        weights[config.stem] = tmp_path / f'{config.stem}.pth'
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, weights[config.stem])
    image = tmp_path / 'image.png'
    import cv2
    import numpy as np

    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    script = textwrap.dedent(f"""
        from mmdet.apis import DetInferencer
        from mmpretrain import ImageClassificationInferencer
        import lcnet_mm
        classifier = ImageClassificationInferencer({str(CLASSIFIER)!r}, pretrained={str(weights[CLASSIFIER.stem])!r})
        detector = DetInferencer(model={str(DETECTOR)!r}, weights={str(weights[DETECTOR.stem])!r}, device='cpu')
        result = detector({str(image)!r}, return_vis=False)
        print(len(result['predictions']))
        print('class', classifier({str(image)!r})[0]['pred_class'])
    """)
    proc = run('-c', script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r'^1$', proc.stdout, flags=re.MULTILINE), proc.stdout[-2000:]
    assert re.search(r'class (circle|cross|square|star|triangle)$', proc.stdout.strip()), proc.stdout[-2000:]
    assert not (tmp_path / 'data').exists()  # nothing generated where the user happened to be


def test_import_lcnet_mm_imports_no_toolbox_and_an_mmdet_user_pays_for_mmdet_only():
    script = textwrap.dedent("""
        import json, sys
        import lcnet_mm
        heavy = ('mmdet', 'mmpretrain', 'mmseg', 'mmcv.cnn', 'mmengine.runner')
        after_import = sorted(m for m in heavy if m in sys.modules)
        from mmdet.apis import init_detector
        model = init_detector('configs/lcnet_fcos.py', device='cpu')
        ours = sorted(m for m in sys.modules if m.startswith('lcnet_mm.toolboxes.'))
        print(json.dumps(dict(after_import=after_import, backbone=type(model.backbone).__name__, ours=ours,
                              mmseg='mmseg' in sys.modules)))
    """)
    proc = run('-c', script, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['after_import'] == []
    # mmdet's own models import mmpretrain (its ReID data preprocessor); nothing of ours for it, nor mmseg
    assert report == dict(after_import=[], backbone='PPLCNet', ours=['lcnet_mm.toolboxes.mmdet'], mmseg=False)


def test_no_native_noise_and_no_scope_warnings_in_normal_use():
    script = textwrap.dedent("""
        import torch
        from lcnet_mm.apis import build_model_from_config
        from lcnet_mm.benchmark.measures import peak_activation_bytes
        for config in ('demos/lcnet_cls_shapes.py', 'lcnet_fcos.py', 'demos/lcnet_cls_shapes.py'):
            model, _ = build_model_from_config(f'configs/{config}')
        print(peak_activation_bytes(model.backbone, torch.rand(1, 3, 64, 64)) > 0)
    """)
    proc = run('-c', script, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.strip().endswith('True'), proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert 'USDT' not in output and 'profiler_start' not in output and 'gpuGetDeviceCount' not in output
    assert 'default scope' not in output  # mmengine's "current default scope is not ..." when switching toolboxes


def test_readme_opens_with_the_quick_start_and_its_python_runs(tmp_path):
    """The README's Python blocks, run in order in a folder where the trained checkpoints they name exist (random
    weights here) and the image they read is there."""
    text = (ROOT / 'README.md').read_text()
    sections = re.findall(r'^## (.+)$', text, flags=re.MULTILINE)
    assert sections[0] == 'Quick start'
    blocks = re.findall(r'```python\n(.*?)```', text.split('\n## ', 2)[1], flags=re.DOTALL)
    code = '\n'.join(blocks)
    assert 'build_model_from_config' in code and 'DetInferencer' in code and 'ImageClassificationInferencer' in code
    from lcnet_mm.apis import build_model_from_config

    pairs = re.findall(r"'(configs/[\w/]+\.py)'[^)]*?'(work_dirs/[\w/.]+\.pth)'", code)
    assert len(pairs) == 2
    for config, path in pairs:
        model, _ = build_model_from_config(str(ROOT / config))
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / path)
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / 'image.jpg'), np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8))
    (tmp_path / 'configs').symlink_to(ROOT / 'configs')
    proc = run('-c', code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '(1, 512, 10, 10)' in proc.stdout
    assert any((tmp_path / 'vis').rglob('image.jpg'))


def test_the_runners_config_text_is_formatted_once_per_content(monkeypatch):
    """mmengine's Runner writes the config's text into every checkpoint; formatting it took half a second each time."""
    import copy

    from mmengine.config import Config

    from lcnet_mm.apis.runner import RunConfig

    cfg = Config(dict(a=1, b=dict(c=[1, 2])))
    expected = cfg.pretty_text
    formatted = []
    original = Config.pretty_text.fget
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: formatted.append(1) or original(self)))
    run_cfg = RunConfig.of(cfg)
    assert run_cfg.pretty_text == expected and run_cfg.pretty_text == expected and len(formatted) == 1
    run_cfg.a = 2  # a changed config is formatted again
    assert 'a = 2' in run_cfg.pretty_text and len(formatted) == 2
    copied = copy.deepcopy(run_cfg)  # what Runner.from_cfg keeps
    assert isinstance(copied, RunConfig) and copied.pretty_text == run_cfg.pretty_text and len(formatted) == 2
    assert cfg.a == 1  # the config it was made from is not changed
