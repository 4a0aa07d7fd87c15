"""Configs name PPLCNet the way users will write them: through custom_imports, in a fresh process."""

import json
import subprocess
import sys
import textwrap

import pytest

BUILD_SCRIPT = textwrap.dedent("""
    import json, sys
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(sys.argv[1])  # runs custom_imports
    init_default_scope(cfg.default_scope)
    registry = __import__(cfg.default_scope + '.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model)
    backbone = getattr(model, 'backbone', model)
    print(json.dumps(dict(model=type(model).__name__, backbone=type(backbone).__name__,
                          module=type(backbone).__module__, out_channels=backbone.out_channels,
                          head=type(getattr(model, 'head', None)).__name__)))
""")


def build_in_fresh_process(tmp_path, config_text):
    config = tmp_path / 'config.py'
    config.write_text(textwrap.dedent(config_text))
    script = tmp_path / 'build.py'
    script.write_text(BUILD_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(config)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('scope', ['mmdet', 'mmpretrain'])
def test_bare_name_from_toolbox_scope(tmp_path, scope):
    result = build_in_fresh_process(
        tmp_path,
        f"""
        default_scope = '{scope}'
        custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)
        model = dict(type='PPLCNet', scale=0.5, out_indices=(2, 3, 4))
    """,
    )
    assert result['backbone'] == 'PPLCNet'
    assert result['module'] == 'lcnet_mm.models.backbones.pp_lcnet'
    assert result['out_channels'] == [64, 128, 256]


def test_bare_names_in_an_mmpretrain_classifier(tmp_path):
    result = build_in_fresh_process(
        tmp_path,
        """
        default_scope = 'mmpretrain'
        custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)
        model = dict(type='ImageClassifier',
                     backbone=dict(type='PPLCNet', scale=0.75),
                     neck=dict(type='GlobalAveragePooling'),
                     head=dict(type='LCNetClsHead', num_classes=10, in_channels=384))
    """,
    )
    assert (result['model'], result['backbone'], result['head']) == ('ImageClassifier', 'PPLCNet', 'LCNetClsHead')


@pytest.mark.parametrize('scope', ['mmdet', 'mmpretrain'])
def test_scoped_name_from_any_toolbox(tmp_path, scope):
    # The scoped name needs no custom_imports: mmengine imports lcnet_mm.registry by the scope name.
    result = build_in_fresh_process(
        tmp_path,
        f"""
        default_scope = '{scope}'
        model = dict(type='lcnet_mm.PPLCNet', scale=1.0, out_indices=(3, 4))
    """,
    )
    assert result['backbone'] == 'PPLCNet'
    assert result['out_channels'] == [256, 512]


def test_unknown_name_still_fails(tmp_path):
    config = tmp_path / 'config.py'
    config.write_text("default_scope = 'mmdet'\nmodel = dict(type='PPLCNetX')\n")
    script = tmp_path / 'build.py'
    script.write_text(BUILD_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(config)], capture_output=True, text=True)
    assert proc.returncode != 0 and 'PPLCNetX' in proc.stderr
