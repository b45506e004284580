"""In-process model registry: loaded suggesters by version and an atomically swapped active one.

The database is the source of truth for *which* version is active (`model_activations`, latest
row wins); this module only holds what this process has loaded and swaps the reference that
request handlers take. Rules:

- `current()` returns the active suggester. A request keeps the object it took, so a swap never
  disturbs a request in flight; the old object is freed once no request holds it.
- A swap is a reference assignment under a lock. Loading happens *before* the lock, so requests
  are never blocked by a load and a failed load changes nothing (the old model keeps serving and
  the error is kept in `last_error`).
- The previously active model stays loaded for an instant rollback; older ones are dropped.
- `sync(fetch_active)` lets every worker follow activations made elsewhere (another worker, the
  CLI) without a restart: it asks the database at most once per `poll_interval` seconds and loads
  a new version in a background thread while the current one keeps serving.

Artifacts live in `<models_dir>/<version>/` (a folder with `manifest.json` naming `version`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.suggestion import Suggester
from serving.errors import ServiceError

logger = logging.getLogger(__name__)

Loader = Callable[[Path], Suggester]
#: What the database says is active: `(version, artifact folder or None for the default place)`.
ActiveRef = tuple[str, Path | None]

#: Versions become folder names; keep them to a safe, readable alphabet.
_VERSION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+")


class RegistryError(ServiceError):
    """A registry failure; a `ServiceError`, so the app's one handler maps it to HTTP."""

    status = 409
    default_code = "registry_conflict"

    def __init__(self, message: str, *, version: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.version = version


class ModelNotFoundError(RegistryError):
    status = 404
    default_code = "model_not_found"


class ModelLoadError(RegistryError):
    """The artifact could not be loaded; whatever was serving keeps serving."""

    status = 422
    default_code = "model_load_failed"


class NoActiveModelError(RegistryError):
    status = 503
    default_code = "no_active_model"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "5"})
        super().__init__(message, **kwargs)


class InvalidArtifactError(RegistryError):
    status = 422
    default_code = "invalid_artifact"


def validate_version(version: str) -> str:
    """Return `version` if it is a safe folder name, else raise `InvalidArtifactError`."""
    if (
        not isinstance(version, str)
        or not version
        or len(version) > 128
        or version in {".", ".."}
        or not set(version) <= _VERSION_CHARS
    ):
        raise InvalidArtifactError(
            f"model version {version!r} must be 1-128 characters of letters, digits, '.', '_', "
            "'-' or '+'",
            version=str(version),
        )
    return version


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """Read and check `manifest.json` of an artifact folder (it must name a `version`)."""
    path = Path(model_dir) / "manifest.json"
    if not path.is_file():
        raise InvalidArtifactError(f"{model_dir} has no manifest.json; is it a model artifact?")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidArtifactError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or "version" not in manifest:
        raise InvalidArtifactError(f"{path} must be an object with a 'version' field")
    validate_version(str(manifest["version"]))
    manifest["version"] = str(manifest["version"])
    return manifest


def _default_loader(model_dir: Path) -> Suggester:
    from model.artifact import load_suggester  # heavy (torch); only when a model is loaded

    suggester: Suggester = load_suggester(model_dir)
    return suggester


@dataclass(frozen=True, slots=True)
class LoadedModel:
    version: str
    suggester: Suggester
    path: Path
    loaded_at: float
    load_seconds: float


@dataclass(frozen=True, slots=True)
class LoadFailure:
    version: str
    message: str
    at: float


class ModelRegistry:
    """Loaded suggesters by version, with one active reference swapped atomically.

    Thread-safe. `loader` defaults to `model.artifact.load_suggester`; tests may pass another
    real loader (never a fake model).
    """

    def __init__(
        self,
        models_dir: Path,
        *,
        loader: Loader | None = None,
        poll_interval: float = 1.0,
        retry_failed_after: float = 60.0,
    ) -> None:
        self.models_dir = Path(models_dir)
        self._loader: Loader = loader or _default_loader
        self.poll_interval = poll_interval
        self.retry_failed_after = retry_failed_after
        self._swap_lock = threading.Lock()  # guards _active/_previous/_loaded
        self._load_lock = threading.Lock()  # one load at a time per process
        self._sync_lock = threading.Lock()  # one database poll at a time
        self._active: LoadedModel | None = None
        self._previous: LoadedModel | None = None
        self._loaded: dict[str, LoadedModel] = {}
        self._last_poll = float("-inf")
        self._failures: dict[str, LoadFailure] = {}
        self._background: threading.Thread | None = None

    # ------------------------------------------------------------------ reading
    def current(self) -> Suggester:
        """The active suggester (take it once per request and keep using it)."""
        active = self._active  # one read of one reference: atomic
        if active is None:
            raise NoActiveModelError("no model is active; register and activate one")
        return active.suggester

    @property
    def active(self) -> LoadedModel | None:
        return self._active

    @property
    def active_version(self) -> str | None:
        active = self._active
        return active.version if active else None

    @property
    def previous_version(self) -> str | None:
        previous = self._previous
        return previous.version if previous else None

    def loaded_versions(self) -> list[str]:
        with self._swap_lock:
            return sorted(self._loaded)

    @property
    def last_error(self) -> LoadFailure | None:
        """The most recent load failure in this process, if any."""
        if not self._failures:
            return None
        return max(self._failures.values(), key=lambda f: f.at)

    def failure(self, version: str) -> LoadFailure | None:
        return self._failures.get(version)

    def artifact_dir(self, version: str) -> Path:
        return self.models_dir / validate_version(version)

    # ------------------------------------------------------------------ loading
    def load(self, version: str, path: Path | None = None) -> LoadedModel:
        """Load `version` from `path` (default `<models_dir>/<version>`), or return it if loaded.

        Raises `ModelNotFoundError` if the folder is missing and `ModelLoadError` if loading
        fails. Never changes the active model.
        """
        path = Path(path) if path is not None else self.artifact_dir(version)
        with self._swap_lock:
            cached = self._loaded.get(version)
        if cached is not None:
            return cached
        if not path.is_dir():
            raise ModelNotFoundError(
                f"model {version!r} has no artifact folder at {path}", version=version
            )
        with self._load_lock:
            with self._swap_lock:  # another thread may have finished the same load meanwhile
                cached = self._loaded.get(version)
            if cached is not None:
                return cached
            started = time.perf_counter()
            try:
                manifest = read_manifest(path)
                if manifest["version"] != version:
                    raise InvalidArtifactError(
                        f"manifest of {path} names version {manifest['version']!r}, "
                        f"expected {version!r}"
                    )
                suggester = self._loader(path)
                if suggester.model_version != version:
                    raise InvalidArtifactError(
                        f"artifact at {path} loaded as version {suggester.model_version!r}, "
                        f"expected {version!r}"
                    )
            except Exception as exc:  # any loader failure: report it, keep serving
                message = f"loading model {version!r} failed: {type(exc).__name__}: {exc}"
                self._failures[version] = LoadFailure(version, message, time.time())
                logger.error("%s", message)
                raise ModelLoadError(message, version=version) from exc
            elapsed = time.perf_counter() - started
            loaded = LoadedModel(version, suggester, path, time.time(), elapsed)
            with self._swap_lock:
                self._loaded[version] = loaded
            self._failures.pop(version, None)
            logger.info("loaded model %s in %.2f s", version, elapsed)
            return loaded

    def activate(self, version: str, path: Path | None = None) -> LoadedModel:
        """Load `version` if needed, then make it active. A failed load changes nothing."""
        loaded = self.load(version, path)
        self._swap(loaded)
        return loaded

    def _swap(self, loaded: LoadedModel) -> None:
        with self._swap_lock:
            current = self._active
            if current is not None and current.version == loaded.version:
                return
            self._previous = current
            self._active = loaded
            keep = {loaded.version} | ({current.version} if current else set())
            for version in [v for v in self._loaded if v not in keep]:
                del self._loaded[version]  # in-flight requests keep their own reference
            self._loaded[loaded.version] = loaded
        logger.info(
            "active model is now %s (previous: %s)",
            loaded.version,
            current.version if current else None,
        )

    def rollback(self) -> LoadedModel:
        """Swap back to the previously active model held in memory."""
        with self._swap_lock:
            previous = self._previous
        if previous is None:
            raise RegistryError("no previous model is loaded in this process")
        self._swap(previous)
        return previous

    # ------------------------------------------------------------------ following the database
    def sync(
        self,
        fetch_active: Callable[[], ActiveRef | None],
        *,
        force: bool = False,
        wait: bool = False,
    ) -> None:
        """Follow the database's active version, polling at most once per `poll_interval`.

        `fetch_active` returns the `(version, path)` the database says is active (or None; path
        None means `<models_dir>/<version>`). If it differs
        from ours, the new version is loaded in the background (or inline when `wait` or when
        nothing is active yet) and swapped in; until then the current model keeps serving. A
        version that failed to load is retried only after `retry_failed_after` seconds.
        """
        now = time.monotonic()
        if not force and now - self._last_poll < self.poll_interval:
            return
        if not self._sync_lock.acquire(blocking=force or wait):
            return  # another thread is polling; keep serving what we have
        try:
            if not force and time.monotonic() - self._last_poll < self.poll_interval:
                return
            self._last_poll = time.monotonic()
            ref = fetch_active()
        finally:
            self._sync_lock.release()
        if ref is None or ref[0] == self.active_version:
            return
        wanted, path = ref
        failure = self._failures.get(wanted)
        if failure is not None and not force and time.time() - failure.at < self.retry_failed_after:
            return
        if wait or self._active is None:
            self._follow(wanted, path)
            return
        background = self._background
        if background is not None and background.is_alive():
            return
        thread = threading.Thread(
            target=self._follow, args=(wanted, path), name=f"load-model-{wanted}", daemon=True
        )
        self._background = thread
        thread.start()

    def wait_for_background(self, timeout: float | None = None) -> None:
        """Block until a background load started by `sync` has finished (for tests, shutdown)."""
        background = self._background
        if background is not None:
            background.join(timeout)

    def _follow(self, version: str, path: Path | None) -> None:
        try:
            self.activate(version, path)
        except RegistryError as exc:
            logger.error("keeping model %s: %s", self.active_version, exc)
