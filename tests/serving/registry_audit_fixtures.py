"""Fixtures and builders shared by the registry (`test_models_*`, `test_registry_*`) and audit
(`test_audit_*`) tests. Imported by those modules (not a conftest, so it stays out of the other
serving tests' way).

- `ra_db_url`: a fresh database per test, SQLite always and PostgreSQL (its own schema, dropped
  afterwards) when 127.0.0.1:5432 answers; skipped with a visible reason otherwise.
- `make_app(db_url, data_dir, model_dir)`: a real app (migrations, registry) in a TestClient.
- `add_user(client, name, role)`: a real API key.
- `second_version(model_dir, tmp_path, suffix)`: a copy of a trained artifact under a new version.
- `add_reviewed_case(...)`: a note, suggestion set and review written through the ORM, for audit
  tests that need exact scores (the round-trip test uses the real API instead).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.db.models import NoteRow, ReviewRow, SuggestionSetRow
from serving.services.users import create_user
from serving.settings import Settings
from tests.serving.conftest import BACKENDS, _pg_schema_url


@pytest.fixture(params=BACKENDS)
def ra_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test (the serving conftest's are per module)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chartcoder.sqlite'}"
    else:
        yield from _pg_schema_url()


def make_settings(db_url: str, data_dir: Path, model_dir: Path | None) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=db_url,
        model_dir=model_dir if model_dir is not None else data_dir / "no-model",
        train_default_model=False,
    )


def add_user(client: TestClient, name: str, role: str) -> dict[str, str]:
    """Create a user with the real key service; return the Authorization header."""
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        user = create_user(session, name=name, role=role, created_by="test")
        session.commit()
    return {"Authorization": f"Bearer {user.key}"}


def second_version(model_dir: Path, where: Path, suffix: str) -> tuple[Path, str]:
    """Copy a trained artifact and give the copy a new manifest version."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    version = f"{manifest['version']}-{suffix}"
    target = where / version
    shutil.copytree(model_dir, target)
    manifest["version"] = version
    (target / "manifest.json").write_text(json.dumps(manifest))
    if (target / "report.md").is_file():
        (target / "report.md").write_text(f"# Evaluation of {version}\n")
    return target, version


def break_artifact(model_dir: Path) -> None:
    """Truncate the weights so loading fails the way a bad disk or a bad copy would."""
    weights = model_dir / "model.joblib"
    weights.write_bytes(weights.read_bytes()[:100])


def add_reviewed_case(
    session: Any,
    *,
    suggested: list[tuple[str, str, float]],
    final: list[tuple[str, str, str]],
    reviewer: str = "coder-a",
    revision: int = 1,
    suggestion_set_id: str | None = None,
    model_version: str = "test-version",
) -> tuple[str, int]:
    """Write (or re-review) a case: suggested (system, code, score), final (system, code, source).

    Returns `(suggestion_set_id, review_id)`. The caller commits.
    """
    if suggestion_set_id is None:
        body = f"note {uuid.uuid4()}"
        note = NoteRow(
            text=body,
            text_sha256=hashlib.sha256(body.encode()).hexdigest(),
            meta_json={},
            created_by=reviewer,
        )
        session.add(note)
        session.flush()
        codes = [
            {
                "system": s,
                "code": c,
                "description": c,
                "score": score,
                "rank": i + 1,
                "accepted": score >= 0.5,
                "evidence": [],
            }
            for i, (s, c, score) in enumerate(suggested)
        ]
        sset = SuggestionSetRow(
            note_id=note.id,
            model_version=model_version,
            systems_json=sorted({s for s, _, _ in suggested}) or ["ICD-10-CM"],
            top_k=30,
            codes_json=codes,
            latency_ms=1.0,
            created_by=reviewer,
        )
        session.add(sset)
        session.flush()
        suggestion_set_id = sset.id
    review = ReviewRow(
        suggestion_set_id=suggestion_set_id,
        revision=revision,
        final_codes_json=[
            {"system": s, "code": c, "description": c, "source": src, "evidence": []}
            for s, c, src in final
        ],
        created_by=reviewer,
    )
    session.add(review)
    session.flush()
    return suggestion_set_id, review.id


def make_app(db_url: str, data_dir: Path, model_dir: Path | None = None) -> TestClient:
    """A TestClient around a real app; use as a context manager (runs the lifespan)."""
    return TestClient(create_app(make_settings(db_url, data_dir, model_dir)))
