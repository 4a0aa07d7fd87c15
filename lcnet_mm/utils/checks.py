"""Argument checks shared by every module: each names the argument, the bad value and what is allowed.

The style is mmengine's ``is_seq_of``: a predicate (``is_int``) plus a ``check_*`` that returns the value or
raises. ``True`` is not an integer here: ``num_blocks=True`` is a mistake, not 1.
"""

import math
from typing import Optional, Sequence


def is_int(value) -> bool:
    """An ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def int_phrase(minimum: Optional[int]) -> str:
    """'an int', 'a positive int' or 'an int >= n'."""
    if minimum is None:
        return 'an int'
    return 'a positive int' if minimum == 1 else f'an int >= {minimum}'


def check_int(value, name: str, minimum: Optional[int] = None) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``; ``name`` says whose argument it is
    (``'PicoHeadV2 stacked_convs'``)."""
    if not is_int(value) or (minimum is not None and value < minimum):
        raise ValueError(f'{name} must be {int_phrase(minimum)}, got {value!r}')
    return value


def check_odd_int(value, name: str) -> int:
    """A kernel size: an odd int >= 1."""
    if not is_int(value) or value < 1 or value % 2 == 0:
        raise ValueError(f'{name} must be an odd int >= 1, got {value!r}')
    return value


def is_int_seq(values, minimum: Optional[int] = None, length: Optional[int] = None) -> bool:
    """A list or tuple of ints (each >= ``minimum``), of ``length`` items if given."""
    return (
        isinstance(values, (list, tuple))
        and (length is None or len(values) == length)
        and all(is_int(v) and (minimum is None or v >= minimum) for v in values)
    )


def check_int_seq(values, name: str, minimum: Optional[int] = None, length: Optional[int] = None) -> tuple:
    if not is_int_seq(values, minimum, length):
        count = f'{length} ' if length is not None else ''
        raise ValueError(f'{name} must be a list of {count}ints, each {int_phrase(minimum)}; got {values!r}')
    return tuple(values)


def is_stride(value, allow_pair: bool = False) -> bool:
    """1 or 2, or with ``allow_pair`` an (h, w) pair of them."""
    if is_int(value):
        return value in (1, 2)
    return allow_pair and isinstance(value, (list, tuple)) and len(value) == 2 and all(is_stride(v) for v in value)


def check_stride(value, name: str, allow_pair: bool = False):
    """A stride: 1 or 2, or with ``allow_pair`` an (h, w) pair of them, returned as an int where both halves
    agree, else as a tuple."""
    if not is_stride(value, allow_pair):
        allowed = '1, 2 or an (h, w) pair of them' if allow_pair else '1 or 2'
        raise ValueError(f'{name} must be {allowed}, got {value!r}')
    if is_int(value):
        return value
    return value[0] if value[0] == value[1] else tuple(value)


def check_positive_number(value, name: str, note: str = '') -> float:
    """A finite number > 0 (not a bool); ``note`` is added to the message (``published: (0.25, ...)``)."""
    extra = f' ({note})' if note else ''
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{name} must be a positive number{extra}, got {value!r} of type {type(value).__name__}')
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f'{name} must be a positive finite number{extra}, got {value!r}')
    return float(value)


def check_choice(value, name: str, choices: Sequence):
    if value not in choices:
        raise ValueError(f'{name} must be one of {list(choices)}, got {value!r}')
    return value
