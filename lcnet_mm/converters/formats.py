"""The record each weight layout gives of itself: how to recognise its state dicts, how to convert one, and
the checkpoint scheme that loads it. Each layout's module holds its record (``FORMAT``);
:mod:`.convert` only goes through them."""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Tuple


@dataclass(frozen=True)
class WeightFormat:
    """One source layout of PP-LCNet weights.

    Attributes:
        name: The layout's name (``info['layout']``, error messages), e.g. ``'paddle'``.
        origin: Where such files come from, for messages, e.g. ``'PaddleClas PP-LCNet (conv1.conv.*)'``.
        scheme: The checkpoint scheme that converts it on load (``'paddle://'``), or ``''`` for none.
        matches: Whether a state dict (its keys) is of this layout.
        convert: ``(state_dict, source, path) -> (converted state dict, scale, details)``; checks what it
            converts against the model it describes.
    """

    name: str
    origin: str
    scheme: str
    matches: Callable[[Dict], bool]
    convert: Callable[[Dict, str, Path], Tuple[Dict, float, Dict]]
