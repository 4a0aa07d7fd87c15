"""Catch channel mismatches between a PPLCNet backbone and its neck or heads when the model is built,
instead of as a shape error deep inside the first forward pass."""


def _as_list(channels):
    return list(channels) if isinstance(channels, (list, tuple)) else [channels]


def check_backbone_channels(model) -> None:
    """Raise ValueError if the neck's (or, without a neck, the head's) ``in_channels`` do not match what
    a PPLCNet backbone returns; the message lists the right channels."""
    backbone = getattr(model, 'backbone', None)
    outputs = getattr(backbone, 'out_channels', None)
    if type(backbone).__name__ != 'PPLCNet' or outputs is None:
        return
    described = f'PPLCNet(scale={backbone.scale}, out_indices={backbone.out_indices})'
    neck = getattr(model, 'neck', None)
    if neck is None and hasattr(model, 'decode_head'):  # an mmseg segmentor: its heads pick outputs by index
        _check_segmentation_heads(model, outputs, described)
        return
    if neck is not None and hasattr(neck, 'in_channels'):
        if _as_list(neck.in_channels) != list(outputs):
            raise ValueError(
                f'{type(neck).__name__} in_channels={_as_list(neck.in_channels)} do not match the '
                f'outputs of {described}: set model.neck.in_channels={list(outputs)}'
            )
        return
    head = getattr(model, 'head', None)
    pooled = neck is not None and type(neck).__name__ == 'GlobalAveragePooling'
    if head is not None and hasattr(head, 'in_channels') and (neck is None or pooled):
        if head.in_channels != outputs[-1]:
            raise ValueError(
                f'{type(head).__name__} in_channels={head.in_channels} does not match the last '
                f'output of {described}: set model.head.in_channels={outputs[-1]}'
            )


def _check_segmentation_heads(model, outputs, described: str) -> None:
    """mmseg decode heads take ``outputs[in_index]`` (one index, or several with 'multiple_select'); a
    DeepLabV3+ head also takes ``outputs[0]`` as its low-level input (``c1_in_channels``)."""
    auxiliary = getattr(model, 'auxiliary_head', None)
    heads = [('decode_head', model.decode_head)]
    if auxiliary is not None:
        heads += [('auxiliary_head', h) for h in (auxiliary if hasattr(auxiliary, '__iter__') else [auxiliary])]
    for name, head in heads:
        if getattr(head, 'input_transform', None) == 'resize_concat':  # in_channels is their sum: not checkable
            continue
        index, channels = head.in_index, head.in_channels
        expected = [outputs[i] for i in index] if isinstance(index, (list, tuple)) else outputs[index]
        if _as_list(channels) != _as_list(expected):
            raise ValueError(
                f'{type(head).__name__} in_channels={channels} (in_index={index}) do not match the '
                f'outputs of {described}: set model.{name}.in_channels={expected}'
            )
        c1_bottleneck = getattr(head, 'c1_bottleneck', None)  # DeepLabV3+ keeps c1_in_channels only here
        low_level = c1_bottleneck.conv.in_channels if c1_bottleneck is not None else None
        if low_level is not None and low_level != outputs[0]:
            raise ValueError(
                f'{type(head).__name__} c1_in_channels={low_level} (its low-level input is the first output) '
                f'does not match the outputs of {described}: set model.{name}.c1_in_channels={outputs[0]}'
            )
