"""One versioned folder per trained model, and the loaded `Suggester` that serves it.

Layout of a model folder:

    manifest.json     version, model type, code-set releases, training config and data hashes,
                      thresholds, calibration summary, training statistics, library versions
    labels.tsv        the fixed label order: system<TAB>code, one per line
    model.joblib      the fitted estimator (trusted local file: joblib uses pickle)
    evaluation.json   evaluation report on held-out data (when training had any)
    report.md         the same, for people

Serving reads everything from here; nothing is rebuilt at load time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import platform
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib

from model.suggestion import Suggestion
from model.text.note import Note

log = logging.getLogger(__name__)

ARTIFACT_FORMAT = "chartcoder-artifact/1"
MANIFEST = "manifest.json"
KNOWN_TYPES = ("chartcoder-v1", "chartcoder-v2")


#: Libraries whose versions decide what a fitted model computes and whether its pickle loads.
#: The same config on the same data, retrained after a fresh install (newer releases of the
#: libraries pyproject.toml leaves unpinned), gave another CodiEsp dev model: MAP 0.503
#: against 0.508, accepted precision 0.971 against 0.943.
RECORDED_LIBRARIES = (
    "chartcoder", "numpy", "scipy", "scikit-learn", "joblib", "torch", "transformers", "spacy",
    "simple_icd_10_cm",
)  # fmt: skip
#: Of those, the ones whose pickled objects are only promised to work under the same release.
PICKLED_LIBRARIES = ("numpy", "scikit-learn", "torch")


def library_versions() -> dict[str, str]:
    """The running Python's version and each installed `RECORDED_LIBRARIES` release."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def library_mismatches(manifest: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """`{library: (release the model was trained with, release running now)}` for each
    `PICKLED_LIBRARIES` entry that differs; empty for a manifest that records none."""
    trained = manifest.get("libraries") or {}
    now = library_versions()
    return {
        name: (str(trained[name]), now.get(name, "not installed"))
        for name in PICKLED_LIBRARIES
        if name in trained and str(trained[name]) != now.get(name)
    }


class ArtifactError(RuntimeError):
    """A model folder is missing, incomplete or of an unknown format."""


class StaleArtifactError(ArtifactError):
    """A model folder written by another chartcoder version whose model this code cannot run."""


class ArtifactSuggester:
    """A loaded model version. Thread-safe for concurrent `suggest` calls."""

    def __init__(self, estimator: Any, manifest: dict[str, Any], path: Path) -> None:
        self._estimator = estimator
        self.manifest = manifest
        self.path = path
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        return str(self.manifest["version"])

    def suggest(
        self, note: Note, *, systems: Sequence[str] | None = None, top_k: int = 30
    ) -> Suggestion:
        result: Suggestion = self._estimator.suggest_note(
            note, model_version=self.model_version, systems=systems, top_k=top_k
        )
        return result

    def suggest_batch(
        self, notes: Sequence[Note], *, systems: Sequence[str] | None = None, top_k: int = 30
    ) -> list[Suggestion]:
        return [self.suggest(n, systems=systems, top_k=top_k) for n in notes]


def save_artifact(
    estimator: Any,
    out_dir: str | Path,
    *,
    version: str,
    config: dict[str, Any],
    code_sets: dict[str, str],
    data: dict[str, Any],
    evaluation: dict[str, Any] | None = None,
    report_md: str | None = None,
) -> Path:
    """Write the folder atomically: a crash midway leaves no half-written model behind."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        labels = getattr(estimator, "code_space_", [])
        (tmp / "labels.tsv").write_text("".join(f"{s}\t{c}\n" for s, c in labels), encoding="utf-8")
        joblib.dump(estimator, tmp / "model.joblib", compress=3)
        ranker = estimator.ranker_
        manifest = {
            "format": ARTIFACT_FORMAT,
            "version": version,
            "model_type": estimator.model_type,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "code_sets": code_sets,
            "labels": {"file": "labels.tsv", "count": len(labels)},
            "thresholds": ranker.thresholds_,
            "accept_thresholds": ranker.accept_thresholds_,
            "calibration": {"method": "isotonic", "validation": ranker.validation_},
            "training": {"config": config, "data": data, "stats": estimator.training_stats_},
            "libraries": library_versions(),
        }
        if hasattr(ranker, "contested_"):
            # accepted_codes: an ICD-10-CM code with a sibling scoring this much is not accepted
            manifest["contested_sibling"] = {
                "level": float(ranker.contested_),
                "validation": getattr(ranker, "contested_validation_", {}),
                "neighbour_level": float(getattr(ranker, "contested_near_", 1.01)),
                "neighbour_validation": getattr(ranker, "contested_near_validation_", {}),
            }
        count = getattr(estimator, "ranker_features", None)
        if count is not None:
            # lets a caller see a model from another feature set without loading it
            manifest["ranker_features"] = count()
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if evaluation is not None:
            (tmp / "evaluation.json").write_text(json.dumps(evaluation, indent=2), encoding="utf-8")
        if report_md is not None:
            (tmp / "report.md").write_text(report_md, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    path = Path(model_dir)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{path} is not a chartcoder model folder: {MANIFEST} is missing")
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{manifest_path} is unreadable: {exc}") from None
    if manifest.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(
            f"{manifest_path}: format {manifest.get('format')!r} is not {ARTIFACT_FORMAT!r}"
        )
    if manifest.get("model_type") not in KNOWN_TYPES:
        raise ArtifactError(
            f"{manifest_path}: model_type {manifest.get('model_type')!r} is not one of "
            f"{', '.join(KNOWN_TYPES)}"
        )
    if not manifest.get("version"):
        raise ArtifactError(f"{manifest_path}: no version")
    return manifest


def load_suggester(model_dir: str | Path) -> ArtifactSuggester:
    """Load a model folder. Raises `ArtifactError` with a clear message when it is unusable."""
    path = Path(model_dir)
    manifest = read_manifest(path)
    weights = path / "model.joblib"
    if not weights.is_file():
        raise ArtifactError(f"{path}: model.joblib is missing")
    try:
        estimator = joblib.load(weights)
    except Exception as exc:  # corrupt or truncated file
        raise ArtifactError(f"{weights} could not be loaded: {exc}") from None
    if getattr(estimator, "model_type", None) != manifest["model_type"]:
        raise ArtifactError(f"{weights} does not hold a {manifest['model_type']} model")
    check = getattr(estimator, "check_compatible", None)
    if check is not None:
        try:
            check()
        except ValueError as exc:
            raise StaleArtifactError(f"{path}: model {manifest['version']}: {exc}") from None
    for name, (trained, now) in library_mismatches(manifest).items():
        # it loaded, but scikit-learn and torch promise a pickle nothing across releases, and
        # the measured scores (evaluation.json) are those of the training environment's
        log.warning(
            "model %s was trained with %s %s; this process runs %s %s: its scores may differ "
            "from the ones measured at training (retrain, or install %s==%s)",
            manifest["version"], name, trained, name, now, name, trained,
        )  # fmt: skip
    log.info("loaded model %s from %s", manifest["version"], path)
    return ArtifactSuggester(estimator, manifest, path)
