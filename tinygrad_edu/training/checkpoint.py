"""Save and load a trained 784-hidden-10 network: one ``.npz`` file, written atomically.

The file holds the arrays ``W1, b1, W2, b2`` (the manual engine's names; the autodiff ``MLP`` maps
``fc1.weight`` to ``W1`` and so on) and ``meta``, a JSON string with how the network was trained.
It is written to a temporary file in the same folder and renamed into place, so a crash or Ctrl-C
during the save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_edu.support.atomic import atomic_write
from tinygrad_edu.errors import TinygradEduError
from tinygrad_edu.manual import PARAM_NAMES


class CheckpointError(TinygradEduError, ValueError):
    """A checkpoint file that is missing, unreadable or not made by ``tinygrad-edu train``."""


def save_checkpoint(path: str | os.PathLike, params: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``params`` (``W1, b1, W2, b2``) and ``meta`` (JSON-serialisable) to ``path`` atomically."""
    path = Path(path)
    with atomic_write(path) as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **{name: params[name] for name in PARAM_NAMES})
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns:
        ``(params, meta)``: ``{W1, b1, W2, b2}`` arrays and the training metadata.

    Raises:
        CheckpointError: the file is missing, not an ``.npz`` archive, or lacks the expected arrays.
    """
    path = Path(path)
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError as exc:  # "File name too long": Path.is_dir raises it
        shown = str(path) if len(str(path)) <= 60 else f"{str(path)[:40]}... ({len(str(path))} characters)"
        raise CheckpointError(f"cannot use {shown} as a checkpoint: {exc.strerror or exc}") from None
    if is_dir:
        raise CheckpointError(f"{path} is a folder; give the model.npz file inside it (for example {path / 'model.npz'}).")
    if not is_file:
        raise CheckpointError(f"{path}: no such checkpoint. Train one with `tinygrad-edu train --out DIR` (writes DIR/model.npz).")
    not_ours = f"{path} is not a tinygrad_edu checkpoint (a model.npz written by `tinygrad-edu train`)"
    try:
        loaded = np.load(path, allow_pickle=False)
    except PermissionError as exc:
        raise CheckpointError(f"{path}: cannot read it ({exc.strerror}).") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):  # text, pickles, truncated zips...
        raise CheckpointError(f"{not_ours}: it is not an .npz archive.") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # a lone .npy array renamed
        raise CheckpointError(f"{not_ours}: it holds a single array of shape {np.shape(loaded)}, not the "
                              f"arrays {', '.join(PARAM_NAMES)} and their metadata.")
    try:
        with loaded as archive:
            contents = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f"{not_ours}: its arrays cannot be read ({exc}).") from None
    missing = [name for name in (*PARAM_NAMES, "meta") if name not in contents]
    if missing:
        raise CheckpointError(
            f"{not_ours}; missing {', '.join(missing)} (found {', '.join(sorted(contents)) or 'nothing'})"
        )
    try:
        meta = json.loads(str(contents.pop("meta")))
    except (json.JSONDecodeError, ValueError):
        meta = None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{not_ours}: its metadata is not a JSON object.")
    for key, kind in (("config", dict), ("epochs", list)):  # what train writes, and evaluate reads
        if key in meta and not isinstance(meta[key], kind):
            raise CheckpointError(f"{not_ours}: its metadata's {key!r} is {type(meta[key]).__name__} "
                                  f"{json.dumps(meta[key])[:40]}, not a JSON {'object' if kind is dict else 'list'}.")
    params = {name: contents[name] for name in PARAM_NAMES}
    check_params(params, path)
    return params, meta


def check_params(params: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """Check the shapes of a 784-H-10 network's ``W1, b1, W2, b2`` and that every weight is a finite number.

    Raises:
        CheckpointError: shapes that do not chain, non-numeric arrays, or NaN/infinite weights (a run that diverged).
    """
    shapes = {name: np.shape(array) for name, array in params.items()}
    W1, b1, W2, b2 = (shapes[name] for name in PARAM_NAMES)
    numeric = all(np.issubdtype(np.asarray(a).dtype, np.floating) for a in params.values())
    if not (numeric and len(W1) == 2 and len(W2) == 2 and b1 == (W1[1],) and W2[0] == W1[1] and b2 == (W2[1],)):
        described = ", ".join(f"{name} {shape} {np.asarray(params[name]).dtype}" for name, shape in shapes.items())
        raise CheckpointError(f"{path} is not a tinygrad_edu checkpoint: its arrays ({described}) do not form a "
                              "784-H-10 network (W1 (784, H), b1 (H,), W2 (H, 10), b2 (10,), floating point).")
    broken = [name for name, array in params.items() if not np.isfinite(array).all()]
    if broken:
        raise CheckpointError(f"{path}: the model is broken: {', '.join(broken)} hold NaN or infinite weights "
                              "(its training diverged). Train it again with a smaller --lr.")
