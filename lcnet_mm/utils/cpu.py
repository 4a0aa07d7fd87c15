"""What the CPU is and computes natively, read from the kernel (Linux ``/proc/cpuinfo``)."""

import functools
import platform
from pathlib import Path
from typing import Dict, FrozenSet

# Instruction sets that compute BF16 in hardware: AVX-512 BF16 (dot products, conversions) and AMX-BF16
# (tile matrix multiply). Without them oneDNN emulates BF16 through fp32, which is slower than fp32.
BF16_FLAGS = ('avx512_bf16', 'amx_bf16')
# Instruction sets that multiply int8 in hardware (u8 x s8 dot products: AVX-512 / AVX VNNI, AMX tiles);
# without them int8 convolutions take a slower multi-instruction path.
INT8_FLAGS = ('avx512_vnni', 'avx_vnni', 'amx_int8')
CPUINFO = '/proc/cpuinfo'


@functools.lru_cache(maxsize=None)
def _first_processor(cpuinfo: str) -> Dict[str, str]:
    """The ``key: value`` lines of the first processor in ``cpuinfo`` (empty where the file is missing)."""
    path = Path(cpuinfo)
    fields = {}
    if not path.is_file():
        return fields
    for line in path.read_text(errors='replace').splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(':')
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_flags(cpuinfo: str = CPUINFO) -> FrozenSet[str]:
    """The CPU flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    return frozenset(_first_processor(cpuinfo).get('flags', '').split())


def cpu_model_name(cpuinfo: str = CPUINFO) -> str:
    """The CPU's model name (``AMD EPYC 9454 48-Core Processor``), else what ``platform`` knows."""
    return _first_processor(cpuinfo).get('model name') or platform.processor()


def native_bf16_features(flags=None) -> tuple:
    """The BF16 instruction sets among ``flags`` (default: this CPU's), in ``BF16_FLAGS`` order."""
    flags = cpu_flags() if flags is None else flags
    return tuple(flag for flag in BF16_FLAGS if flag in flags)
