"""Imports inside lcnet_mm run one way: the registries, I/O, argument checks and the one model builder on the
ground floor, models above them, converters / datasets / deploy / evaluation above those, engine hooks next, and
what the tools use (apis, benchmark) on top. No module imports another module's private name."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'lcnet_mm'
LAYERS = {
    'registry': 0, 'io': 0, 'utils': 0, 'builder': 0, 'import_hooks': 0,
    'models': 1,
    'converters': 2, 'datasets': 2, 'deploy': 2, 'evaluation': 2,
    'engine': 3,
    'benchmark': 4, 'apis': 4, 'toolboxes': 4,
}  # fmt: skip
ALLOWED_UPWARD = set()


def imported_subpackages(path: Path):
    """The lcnet_mm subpackages a module imports, absolute or relative."""
    part = path.relative_to(PACKAGE).parts
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level >= len(part):
            names = [f'lcnet_mm.{node.module}']  # relative import that climbs to the package root
        for name in names:
            pieces = name.split('.')
            if pieces[0] == 'lcnet_mm' and len(pieces) > 1:
                yield pieces[1]


def test_every_subpackage_has_a_layer():
    subpackages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / '__init__.py').exists()}
    modules = {p.stem for p in PACKAGE.glob('*.py') if p.stem != '__init__'}
    assert subpackages | modules == set(LAYERS)


def test_imports_never_go_up_a_layer():
    upward = []
    for path in sorted(PACKAGE.rglob('*.py')):
        source = path.relative_to(PACKAGE).parts[0].removesuffix('.py')
        if source == '__init__':  # the package itself imports what it registers
            continue
        for target in imported_subpackages(path):
            if target != source and LAYERS[target] > LAYERS[source] and (source, target) not in ALLOWED_UPWARD:
                upward.append(f'{path.relative_to(PACKAGE)} imports lcnet_mm.{target}')
    assert not upward, upward


def imported_private_names(path: Path):
    """``name`` of every ``from <lcnet_mm module> import _name`` in a module (a private name of another module)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or '').startswith('lcnet_mm')):
            for alias in node.names:
                if alias.name.startswith('_') and not alias.name.startswith('__'):
                    yield f'{node.module}.{alias.name}'


def test_no_module_imports_a_private_name_of_another():
    private = [
        f'{path.relative_to(PACKAGE)} imports {name}'
        for path in sorted(PACKAGE.rglob('*.py'))
        for name in imported_private_names(path)
    ]
    assert not private, private
