"""Catch channel mismatches between a PPLCNet backbone and its neck or head when the model is built,
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
