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

from tinygrad_edu.atomic import atomic_write
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
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint. Train one with `tinygrad-edu train --out DIR` (writes DIR/model.npz).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable .npz checkpoint ({exc})") from None
    missing = [name for name in (*PARAM_NAMES, "meta") if name not in contents]
    if missing:
        raise CheckpointError(
            f"{path}: not a tinygrad-edu checkpoint; missing {', '.join(missing)} "
            f"(found {', '.join(sorted(contents)) or 'nothing'})"
        )
    meta = json.loads(str(contents.pop("meta")))
    return {name: contents[name] for name in PARAM_NAMES}, meta
