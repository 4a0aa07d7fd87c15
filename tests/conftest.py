import gzip
import importlib.util
import lzma
import shutil
from pathlib import Path

import pytest
import torch

import lcnet_mm  # noqa: F401  (registers PPLCNet / LCNetClsHead)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def mmpretrain_scope():
    """Build mmpretrain models (ImageClassifier, its data preprocessor) in mmpretrain's scope, whatever
    scope an earlier test left current."""
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def unpack_fixture(packed: Path, path: Path) -> Path:
    """A fixture stored compressed (``.gz`` or ``.xz``), decompressed to ``path``."""
    opener = {'.gz': gzip.open, '.xz': lzma.open}[packed.suffix]
    with opener(packed) as src, open(path, 'wb') as dst:
        shutil.copyfileobj(src, dst)
    return path


def hf_model_folder(fixture: Path, folder: Path) -> Path:
    """A Transformers fixture (``config.json``, ``model.safetensors.xz``) in ``folder`` as ``save_pretrained``
    leaves a model: ``config.json`` and ``model.safetensors``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(fixture / 'config.json', folder / 'config.json')
    unpack_fixture(fixture / 'model.safetensors.xz', folder / 'model.safetensors')
    return folder


class RunsACommand:
    """Unpickling this runs a shell command: the payload of the crafted weight files in the tests."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f'touch {self.marker}',))


def load_tool(name: str):
    """Import tools/<name>.py as a module, to call its main(argv) in-process."""
    path = Path(__file__).resolve().parents[1] / 'tools' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'tools_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_as_teacher(model, path) -> dict:
    """Give ``model`` random BN statistics (a trained-looking teacher: eval mode then differs from train mode),
    save it as an mmengine checkpoint at ``path`` and return its state dict."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model.state_dict()


def pytest_collection_modifyitems(config, items):
    """Files with end-to-end runs (tests marked ``slow``) first, most of them first. ``make test`` gives each worker
    a whole file at a time (``--dist loadfile``): a long file started last would leave the other worker idle at the
    end. The order of the tests inside a file is kept."""
    slow = {}
    for item in items:
        slow[item.path] = slow.get(item.path, 0) + (item.get_closest_marker('slow') is not None)
    items.sort(key=lambda item: -slow[item.path])  # a stable sort: a file's tests stay together, in order
