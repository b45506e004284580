"""Fixtures for the retraining tests: the real service (SQLite, the small `trained_model_dir`
model) with a few dozen synthetic notes suggested and reviewed through the API, like a site's
coders would, plus one suggestion left unreviewed, one replacement and one re-review."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evaluation.datasets import LabeledNote, load_synthetic
from evaluation.site_habits import is_trigger, review_like_site
from serving.app import create_app
from serving.db import session_scope
from serving.services.users import create_user
from serving.settings import Settings

N_REVIEWED = 30
META = ("setting", "specialty", "age", "sex", "date_of_service")


@dataclass
class RetrainEnv:
    client: TestClient
    data_dir: Path
    corpus_dir: Path
    base_version: str
    coder: dict[str, str]
    admin: dict[str, str]
    reviewed_sets: list[str] = field(default_factory=list)
    unreviewed_set: str = ""
    unreviewed_text: str = ""
    replaced: tuple[str, tuple[str, str], tuple[str, str]] | None = None
    rereviewed_set: str = ""
    notes_by_set: dict[str, LabeledNote] = field(default_factory=dict)


def _headers(app: Any, role: str) -> dict[str, str]:
    with session_scope(app.state.session_factory) as session:
        user = create_user(session, name=f"t-{role}", role=role, created_by="test")
    return {"Authorization": f"Bearer {user.key}"}


def _suggest(client: TestClient, note: LabeledNote, headers: dict[str, str]) -> dict[str, Any]:
    meta = {k: note.meta[k] for k in META if k in note.meta}
    r = client.post("/v1/suggestions", json={"text": note.text, "meta": meta}, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


@pytest.fixture(scope="module")
def retrain_env(
    tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path, synthetic_corpus_dir: Path
) -> Iterator[RetrainEnv]:
    import json

    data_dir = tmp_path_factory.mktemp("retrain-data")
    settings = Settings(data_dir=data_dir, model_dir=trained_model_dir, train_default_model=False)
    app = create_app(settings)
    unseen = load_synthetic(synthetic_corpus_dir, split="train")[300:]
    # Some type 2 diabetes notes (the site habit of `evaluation.site_habits` applies to them).
    triggers = [n for n in unseen if is_trigger(n)][:8]
    notes = triggers + [n for n in unseen if not is_trigger(n)][: N_REVIEWED + 2 - len(triggers)]
    base_version = json.loads((trained_model_dir / "manifest.json").read_text())["version"]
    with TestClient(app, raise_server_exceptions=False) as client:
        env = RetrainEnv(
            client=client,
            data_dir=data_dir,
            corpus_dir=synthetic_corpus_dir,
            base_version=base_version,
            coder=_headers(app, "coder"),
            admin=_headers(app, "admin"),
        )
        for note in notes[:N_REVIEWED]:
            body = _suggest(client, note, env.coder)
            review = review_like_site(note, body["codes"])
            if env.replaced is None and body["codes"]:
                # One explicit replacement: the top suggestion replaced by another code.
                top = body["codes"][0]
                new = ("ICD-10-CM", "R53.83") if top["system"] == "ICD-10-CM" else None
                if new is not None and (new[0], new[1]) not in {
                    (c["system"], c["code"]) for c in body["codes"]
                }:
                    review["decisions"] = [
                        d for d in review["decisions"] if d["code"] != top["code"]
                    ] + [
                        {
                            "system": top["system"],
                            "code": top["code"],
                            "action": "replace",
                            "reason": "wrong_code",
                            "replacement": {"system": new[0], "code": new[1]},
                        }
                    ]
                    review["added"] = [a for a in review["added"] if a["code"] != top["code"]]
                    env.replaced = (body["id"], (top["system"], top["code"]), new)
            r = client.post(f"/v1/suggestions/{body['id']}/review", json=review, headers=env.coder)
            assert r.status_code < 300, r.text
            env.reviewed_sets.append(body["id"])
            env.notes_by_set[body["id"]] = note
        # A re-review of the second set: the coder rejects everything the model accepted.
        second = env.reviewed_sets[1]
        first_body = client.get(f"/v1/suggestions/{second}", headers=env.coder).json()
        rereview = {
            "decisions": [
                {
                    "system": c["system"],
                    "code": c["code"],
                    "action": "reject",
                    "reason": "other",
                    "comment": "re-review",
                }
                for c in first_body["codes"]
                if c.get("accepted")
            ],
            "added": [{"system": "ICD-10-CM", "code": "R53.83", "evidence": []}],
        }
        r = client.post(f"/v1/suggestions/{second}/review", json=rereview, headers=env.coder)
        assert r.status_code < 300, r.text
        env.rereviewed_set = second
        # Suggested but never reviewed: must never be read by retraining.
        body = _suggest(client, notes[N_REVIEWED], env.coder)
        env.unreviewed_set = body["id"]
        env.unreviewed_text = notes[N_REVIEWED].text
        yield env


@pytest.fixture(scope="module")
def db_records(retrain_env: RetrainEnv) -> list[dict[str, Any]]:
    from training.corrections import read_db

    factory = retrain_env.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        return read_db(session)
