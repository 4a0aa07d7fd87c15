def make_divisible(value: float, divisor: int = 8, min_value: int = None, round_limit: float = 0.9) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never dropping below
    ``round_limit`` of the original (PaddleClas's rule, which the published parameter counts follow).

    >>> [make_divisible(c * 0.35) for c in (16, 32, 64, 128, 256, 512)]
    [8, 16, 24, 48, 88, 176]
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < round_limit * value:
        rounded += divisor
    return rounded
