"""The registration of every toolbox that is imported: what a look-up by scoped name (``lcnet_mm.PPLCNet``) imports
first. A toolbox imported later registers our modules itself, on the first look-up in its own registries."""

import importlib
import sys

from lcnet_mm.registry import TOOLBOXES

for _toolbox in TOOLBOXES:
    if f'{_toolbox}.registry' in sys.modules:
        importlib.import_module(f'lcnet_mm.toolboxes.{_toolbox}')
