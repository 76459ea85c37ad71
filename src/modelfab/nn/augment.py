"""Image augmentation while training, from `train.augment`, with kornia (it runs on torch tensors;
torchvision does not install beside this torch)."""

from __future__ import annotations

from torch import nn

from modelfab.spec.sections.nets import AugmentConfig


def augmentation(c: AugmentConfig | None) -> nn.Module | None:
    if c is None:
        return None
    import kornia.augmentation as K

    steps: list[nn.Module] = []
    if c.flip:
        steps.append(K.RandomHorizontalFlip())
    if c.vertical_flip:
        steps.append(K.RandomVerticalFlip())
    if c.rotation:
        steps.append(K.RandomRotation(degrees=c.rotation))
    if c.crop:
        steps.append(_Crop(c.crop))
    if c.brightness or c.contrast:
        steps.append(K.ColorJitter(brightness=c.brightness, contrast=c.contrast, p=1.0))
    return nn.Sequential(*steps) if steps else None


class _Crop(nn.Module):
    """RandomResizedCrop back to the input's own size (known only when a batch arrives)."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x):  # noqa: ANN001, ANN201
        import kornia.augmentation as K

        return K.RandomResizedCrop(tuple(x.shape[-2:]), scale=(self.scale, 1.0))(x)
