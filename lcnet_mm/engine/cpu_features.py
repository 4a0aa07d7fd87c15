"""What the CPU computes natively, read from the kernel's CPU flags (Linux ``/proc/cpuinfo``)."""

import functools
from pathlib import Path
from typing import FrozenSet

# Instruction sets that compute BF16 in hardware: AVX-512 BF16 (dot products, conversions) and AMX-BF16
# (tile matrix multiply). Without them oneDNN emulates BF16 through fp32, which is slower than fp32.
BF16_FLAGS = ('avx512_bf16', 'amx_bf16')
# Instruction sets that multiply int8 in hardware (u8 x s8 dot products: AVX-512 / AVX VNNI, AMX tiles);
# without them int8 convolutions take a slower multi-instruction path.
INT8_FLAGS = ('avx512_vnni', 'avx_vnni', 'amx_int8')


@functools.lru_cache(maxsize=None)
def cpu_flags(cpuinfo: str = '/proc/cpuinfo') -> FrozenSet[str]:
    """The CPU flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    path = Path(cpuinfo)
    if not path.is_file():
        return frozenset()
    for line in path.read_text(errors='replace').splitlines():
        if line.startswith('flags'):
            return frozenset(line.split(':', 1)[1].split())
    return frozenset()


def native_bf16_features(flags=None) -> tuple:
    """The BF16 instruction sets among ``flags`` (default: this CPU's), in ``BF16_FLAGS`` order."""
    flags = cpu_flags() if flags is None else flags
    return tuple(flag for flag in BF16_FLAGS if flag in flags)
