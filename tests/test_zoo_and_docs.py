"""The configs are a model zoo that tells the truth, and the docs name only what exists.

- every algorithm folder of configs/ has a README.md and an OpenMMLab metafile.yml that lists exactly its
  configs, with parameter counts that match the models the configs build;
- every shipped config writes checkpoints that torch.load(weights_only=True) reads, whatever tool runs it;
- README, docs/, the zoo READMEs and the tools' and package's text name only files that exist, and no
  issue numbers.
"""

import re
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / 'configs'
NOT_ZOO = {'_base_', 'peers'}  # the shared base and the benchmark peers
ZOO = sorted(p for p in CONFIGS.iterdir() if p.is_dir() and p.name not in NOT_ZOO)
ALL_CONFIGS = sorted(p for p in CONFIGS.rglob('*.py') if '_base_' not in p.parts)


def test_the_zoo_has_its_folders():
    assert {p.name for p in ZOO} >= {
        'pplcnet',
        'pplcnet_v2',
        'fcos',
        'retinanet',
        'atss',
        'gfl',
        'faster_rcnn',
        'ssd',
        'picodet',
        'rtmdet',
        'mask_rcnn',
        'deeplabv3plus',
        'lraspp',
        'fcn',
        'demos',
        'pruning',
        'text_detection',
    }
    assert sorted(p.name for p in CONFIGS.glob('*.py')) == ['lcnet_fcos.py']  # the main job, where users type it
    assert sorted(p.name for p in (CONFIGS / 'demos').glob('*.py')) == [
        'lcnet_cls_shapes.py',
        'lcnet_cls_shapes_x1.0.py',
        'lcnet_deeplabv3plus_shapes.py',
        'lcnet_v2_cls_shapes.py',
        'mobilenetv2_fcos.py',
        'picodet_shapes.py',
        'picodet_shapes_6e.py',
        'picodet_xs_shapes.py',
        'rtmdet_shapes.py',
    ]  # the demos on the embedded data


@pytest.mark.parametrize('folder', ZOO, ids=lambda p: p.name)
def test_metafile_lists_every_config_of_its_folder(folder):
    assert (folder / 'README.md').is_file()
    meta = yaml.safe_load((folder / 'metafile.yml').read_text())
    collections = {c['Name']: c for c in meta['Collections']}
    for collection in collections.values():
        assert collection['Paper']['URL'].startswith('https://') and collection['Paper']['Title']
        assert (ROOT / collection['README']).is_file()
    listed = []
    for model in meta['Models']:
        assert model['In Collection'] in collections, model['Name']
        assert (ROOT / model['Config']).is_file(), model['Config']
        assert Path(model['Config']).stem == model['Name']
        listed.append(ROOT / model['Config'])
        for result in model.get('Results', []):
            assert result['Task'] and result['Dataset'] and result['Metrics']
    assert sorted(listed) == sorted(folder.glob('*.py'))


@pytest.mark.slow
@pytest.mark.parametrize('folder', ZOO, ids=lambda p: p.name)
def test_metafile_parameter_counts_match_the_models(folder):
    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.benchmark.measures import count_parameters

    for model in yaml.safe_load((folder / 'metafile.yml').read_text())['Models']:
        built, _ = build_model_from_config(str(ROOT / model['Config']))
        assert count_parameters(built) == pytest.approx(model['Metadata']['Parameters'], rel=1e-3), model['Name']


@pytest.mark.parametrize('config', ALL_CONFIGS, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_every_config_writes_weights_only_checkpoints_atomically(config):
    cfg = Config.fromfile(str(config))
    hooks = [h.get('type') for h in [*cfg.get('default_hooks', {}).values(), *cfg.get('custom_hooks', [])] if h]
    assert any(str(h).split('.')[-1] == 'WeightsOnlyCheckpointHook' for h in hooks), hooks
    assert str(cfg.default_hooks.checkpoint.type).split('.')[-1] == 'AtomicCheckpointHook'


# ---- docs -------------------------------------------------------------------------------------------
DOCS = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md')), *sorted(CONFIGS.rglob('README.md'))]
# (not the tests: they name missing files on purpose)
SOURCES = [*sorted((ROOT / 'tools').rglob('*.py')), *sorted((ROOT / 'lcnet_mm').rglob('*.py')), *ALL_CONFIGS]
REPO_PATH = re.compile(r'(?<![\w/.-])((?:configs|tools|docs|tests|lcnet_mm|requirements)/[\w./-]*\w)')
PLACEHOLDER = re.compile(r'[*{}<>]|\.\.\.|/N\b|x0\.\d+_|work_dirs')


def mentioned_paths(path: Path):
    """Repository paths a file names, less patterns and placeholders (``pplcnet-x*``, ``epoch_N``)."""
    content = path.read_text()
    for match in REPO_PATH.finditer(content):
        if not PLACEHOLDER.search(match.group(1)) and content[match.end() : match.end() + 1] not in '*{<':
            yield match.group(1)


@pytest.mark.parametrize('path', DOCS + SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_files_exist(path):
    missing = sorted({p for p in mentioned_paths(path) if not (ROOT / p).exists()})
    assert not missing, f'{path.relative_to(ROOT)} names files that do not exist: {missing}'


@pytest.mark.parametrize('path', DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_links_resolve_and_no_issue_numbers(path):
    text = path.read_text()
    for target in re.findall(r'\]\(([^)#\s]+)[^)]*\)', text):
        if not target.startswith(('http://', 'https://')):
            assert (path.parent / target).exists(), f'{path.relative_to(ROOT)}: broken link {target}'
    assert not re.search(r'\bissue\s+#?\d+', text, re.IGNORECASE), f'{path.relative_to(ROOT)} cites an issue number'
