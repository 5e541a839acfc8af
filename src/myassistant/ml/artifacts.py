"""Model files under `<ARTIFACTS_DIR>/models`: saved in code-free formats, loaded only after checks.

A load refuses any path that resolves (symlinks followed) outside the models directory and any file
whose sha256 differs from the one recorded at training time.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import platform
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from myassistant.core.errors import InvalidInput, PreconditionFailed
from myassistant.ml.predictors import Predictor, predictor_from_bytes

MODELS_SUBDIR = "models"
MODEL_SUFFIX = ".model.json"
META_SUFFIX = ".meta.json"
META_FORMAT = "myassistant.model-meta/1"
VERSIONED = ("numpy", "pandas", "xgboost", "sklearn", "myassistant")


@dataclass(frozen=True)
class SavedModel:
    model_file: str  # relative to the models directory
    meta_file: str
    sha256: str
    metadata: dict[str, Any]


def models_dir(artifacts_dir: Path) -> Path:
    return artifacts_dir / MODELS_SUBDIR


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def artifact_stem(
    exchange: str, symbol: str, timeframe: str, horizon_steps: int, created_at: datetime
) -> str:
    """`{exchange}_{symbol}_{timeframe}_h{h}_{UTC timestamp}` with the symbol made file-safe."""
    safe_symbol = re.sub(r"[^A-Za-z0-9]+", "-", symbol).strip("-")
    safe_exchange = re.sub(r"[^A-Za-z0-9]+", "-", exchange).strip("-")
    return (
        f"{safe_exchange}_{safe_symbol}_{timeframe}_h{horizon_steps}_{created_at.strftime('%Y%m%dT%H%M%SZ')}"
    )


def library_versions() -> dict[str, str]:
    """Versions that decide whether a model file loads and predicts the same."""
    # Module versions, not distribution names: xgboost ships as `xgboost` or `xgboost-cpu`.
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = str(importlib.import_module(name).__version__)
        except (ImportError, AttributeError):
            versions[name] = "unknown"
    return versions


def save_model(
    predictor: Predictor,
    *,
    artifacts_dir: Path,
    exchange: str,
    symbol: str,
    timeframe: str,
    horizon_steps: int,
    created_at: datetime,
    details: dict[str, Any],
) -> SavedModel:
    """Write the model file and its metadata JSON (with the model's sha256); names never collide."""
    directory = models_dir(artifacts_dir)
    directory.mkdir(parents=True, exist_ok=True)
    raw = predictor.to_bytes()
    digest = sha256_of(raw)
    stem = artifact_stem(exchange, symbol, timeframe, horizon_steps, created_at)
    model_path = create_exclusive(directory, stem, raw, suffix=MODEL_SUFFIX)
    metadata = {
        "format": META_FORMAT,
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "horizon_steps": horizon_steps,
        "created_at": created_at.isoformat(),
        "model_kind": predictor.kind,
        "model_file": model_path.name,
        "model_sha256": digest,
        "features": list(predictor.features),
        "versions": library_versions(),
        **details,
    }
    meta_path = model_path.with_name(model_path.name.removesuffix(MODEL_SUFFIX) + META_SUFFIX)
    meta_path.write_text(json.dumps(metadata, indent=2, sort_keys=True, default=str), encoding="utf-8")
    return SavedModel(model_file=model_path.name, meta_file=meta_path.name, sha256=digest, metadata=metadata)


def create_exclusive(directory: Path, stem: str, raw: bytes, *, suffix: str) -> Path:
    """Write `raw` to a new file `stem{suffix}` (or `stem-N{suffix}`), never over an existing one."""
    for attempt in range(1, 1000):
        name = stem if attempt == 1 else f"{stem}-{attempt}"
        path = directory / f"{name}{suffix}"
        try:
            with path.open("xb") as handle:
                handle.write(raw)
        except FileExistsError:
            continue
        return path
    raise PreconditionFailed(f"could not find a free file name for {stem} in {directory}")


def resolve_inside_models(path: str | Path, *, artifacts_dir: Path) -> Path:
    """The real path of an existing file inside the models directory, or InvalidInput.

    The messages name the file as given, never the server's folders.
    """
    root = models_dir(artifacts_dir).resolve()
    candidate = Path(path)
    try:
        if not candidate.is_absolute() and (root / candidate).exists():
            candidate = root / candidate
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, a NUL byte, a name too long
        raise InvalidInput(f"model file {str(path)!r} does not exist") from None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise InvalidInput(
            f"model file {str(path)!r} is not a file inside the models folder; nothing else is ever loaded"
        )
    return resolved


def name_inside_models(path: str, *, artifacts_dir: Path) -> str | None:
    """`path` as a name relative to the models directory, or None when it points outside.

    Worked out from the text alone: looking at the disk would tell a caller which files exist.
    """
    root = models_dir(artifacts_dir)
    candidate = Path(os.path.normpath(path))
    if candidate.is_absolute():
        bases = {Path(os.path.normpath(root.absolute())), root.resolve()}
        inside = [candidate.relative_to(base) for base in bases if candidate.is_relative_to(base)]
        if not inside:
            return None
        candidate = inside[0]
    name = candidate.as_posix()
    return None if name in ("", ".") or name == ".." or name.startswith("../") else name


def load_predictor(
    model_file: str, *, artifacts_dir: Path, sha256: str, kind: str, features: tuple[str, ...]
) -> Predictor:
    """Read a registered model file after checking where it lives and that its bytes are unchanged."""
    path = resolve_inside_models(model_file, artifacts_dir=artifacts_dir)
    raw = path.read_bytes()
    actual = sha256_of(raw)
    if actual != sha256:
        raise PreconditionFailed(
            f"model file {path.name} fails its integrity check (sha256 {actual[:12]}… != recorded "
            f"{sha256[:12]}…): it was changed after training; retrain or pin another run"
        )
    return predictor_from_bytes(kind, raw, features)


def read_metadata(meta_file: str, *, artifacts_dir: Path) -> dict[str, Any]:
    path = resolve_inside_models(meta_file, artifacts_dir=artifacts_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InvalidInput(f"metadata file {path.name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"metadata file {path.name} is not a JSON object")
    return data
