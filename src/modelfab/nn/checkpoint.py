"""Checkpoints as one safetensors file: every tensor of the training state (weights, optimizer
moments, RNG states, the best weights so far) as tensors, everything else as JSON in the file's
metadata. No pickle, so a swapped file cannot run code; written to a temporary file and renamed,
so a kill leaves the previous checkpoint or the new one, never half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from modelfab.errors import CheckpointError

FORMAT = 1


def flatten(state: Any, tensors: dict[str, torch.Tensor], path: str = "") -> Any:
    """Replace tensors by {"__tensor__": key} (collecting them) and keep key types of dicts."""
    if isinstance(state, torch.Tensor):
        tensors[path] = state.detach().to("cpu").contiguous().clone()
        return {"__tensor__": path}
    if isinstance(state, dict):
        return {"__dict__": [[k, flatten(v, tensors, f"{path}/{k}")] for k, v in state.items()]}
    if isinstance(state, list | tuple):
        items = [flatten(v, tensors, f"{path}/{i}") for i, v in enumerate(state)]
        return {"__tuple__": items} if isinstance(state, tuple) else items
    return state


def unflatten(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, dict):
        if "__tensor__" in node:
            return tensors[node["__tensor__"]]
        if "__tuple__" in node:
            return tuple(unflatten(v, tensors) for v in node["__tuple__"])
        return {k: unflatten(v, tensors) for k, v in node["__dict__"]}
    if isinstance(node, list):
        return [unflatten(v, tensors) for v in node]
    return node


def save_checkpoint(path: Path, state: dict, fingerprint: str) -> None:
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    tree = flatten(state, tensors)
    meta = {"format": str(FORMAT), "fingerprint": fingerprint, "state": json.dumps(tree)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(tmp), metadata=meta)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, fingerprint: str) -> dict:
    """The saved state; refuses a damaged file or one written for another spec."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error type for damaged headers and data
        raise CheckpointError(
            f"{path}: the checkpoint is damaged or truncated ({exc}); delete it to train from the start"
        ) from None
    if meta.get("format") != str(FORMAT) or "state" not in meta:
        raise CheckpointError(f"{path}: not a modelfab checkpoint (format {meta.get('format')!r}); delete it")
    if meta.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"{path}: this checkpoint was written for another spec or other data (fingerprint "
            f"{meta.get('fingerprint', '?')[:12]}, this run {fingerprint[:12]}); refusing to resume from it. "
            "Delete it, or point train.checkpoint_dir elsewhere"
        )
    return unflatten(json.loads(meta["state"]), tensors)
