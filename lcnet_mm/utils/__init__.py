"""The ground floor's helpers: argument checks, the input errors and what the CPU is. Nothing here imports the
rest of lcnet_mm."""

from .checks import (
    check_choice,
    check_int,
    check_int_seq,
    check_odd_int,
    check_positive_number,
    check_stride,
    int_phrase,
    is_int,
    is_int_seq,
    is_stride,
)
from .cpu import BF16_FLAGS, INT8_FLAGS, cpu_flags, cpu_model_name, native_bf16_features
from .errors import ConfigError, InputError

__all__ = [
    'BF16_FLAGS',
    'INT8_FLAGS',
    'ConfigError',
    'InputError',
    'check_choice',
    'check_int',
    'check_int_seq',
    'check_odd_int',
    'check_positive_number',
    'check_stride',
    'cpu_flags',
    'cpu_model_name',
    'int_phrase',
    'is_int',
    'is_int_seq',
    'is_stride',
    'native_bf16_features',
]
