"""Run a function when a module has been imported: now, if it already is; otherwise right after the module's
own code has run, wherever the import came from.

lcnet-mm registers into a toolbox's registries when that toolbox is imported, instead of importing every
toolbox itself: importing mmdet, mmpretrain and mmseg costs seconds, and a user of one of them should not pay
for the other two. Python has no public post-import hook; this adds a finder in front of ``sys.meta_path`` that
answers only for the modules waited for, with the spec the other finders give and a loader that runs the
module and then the waiting functions. It leaves every other import, and those modules' specs and loaders once
they ran, as they are.
"""

import importlib
import importlib.abc
import sys
import threading
from typing import Callable, Dict, List, Sequence

_waiting: Dict[str, List[Callable]] = {}
_lock = threading.RLock()


def when_imported(name: str, callback: Callable) -> None:
    """Call ``callback(module)`` once the module ``name`` is imported (at once if it already is)."""
    with _lock:
        module = sys.modules.get(name)
        spec = getattr(module, '__spec__', None)
        if module is not None and not getattr(spec, '_initializing', False):
            ready = True
        else:
            ready = False
            _waiting.setdefault(name, []).append(callback)
            if not any(isinstance(finder, _WaitingFinder) for finder in sys.meta_path):
                sys.meta_path.insert(0, _WaitingFinder())
    if ready:
        callback(module)


def _run_waiting(name: str, module) -> None:
    with _lock:
        callbacks = _waiting.pop(name, [])
    for callback in callbacks:
        callback(module)  # an error (a name another package took) stops that import, as it would lcnet_mm's


class _WaitingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in _waiting:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
            spec.loader = _ThenRun(spec.loader)
        return spec


class _ThenRun(importlib.abc.Loader):
    """The module's own loader, then the functions waiting for it; afterwards the module names its own loader."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self.loader
        _run_waiting(module.__name__, module)

    def __getattr__(self, name):  # get_resource_reader, is_package, get_code... are the module loader's
        return getattr(self.loader, name)


def lazy_exports(package: str, table: Dict[str, Sequence[str]]):
    """``(__getattr__, __dir__, __all__)`` for a package whose names live in its submodules (``table``: submodule
    -> names) and are imported on first access (PEP 562): ``from lcnet_mm.models import PPLCNet`` imports the
    backbones, not the detectors with mmdet or the classifiers with mmpretrain."""
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(f'{package}.{where[name]}'), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, sorted(where)
