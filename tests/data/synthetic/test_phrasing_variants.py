from __future__ import annotations

import random

import pytest

from data.synthetic.phrasing import description_variants, maybe_typo, strip_description


@pytest.mark.parametrize(
    ("desc", "expected"),
    [
        ("Essential (primary) hypertension", {"essential hypertension"}),
        (
            "Nonrheumatic aortic (valve) stenosis",
            {"nonrheumatic aortic stenosis", "nonrheumatic aortic valve stenosis"},
        ),
        (
            "Unilateral primary osteoarthritis, right knee",
            {"unilateral primary osteoarthritis of right knee"},
        ),
        ("Otitis media, unspecified, right ear", {"otitis media, right ear"}),
        ("Cellulitis of right lower limb", {"right lower limb cellulitis"}),
    ],
)
def test_description_variants(desc: str, expected: set[str]) -> None:
    assert expected <= set(description_variants(desc))


def test_strip_drops_encounter_and_unspecified() -> None:
    assert (
        strip_description(
            "Fracture of unspecified part of neck of right femur, "
            "initial encounter for closed fracture"
        )
        == "fracture of neck of right femur"
    )
    assert strip_description("Type 2 diabetes mellitus without complications") == (
        "type 2 diabetes mellitus"
    )


def test_typo_changes_at_most_one_word() -> None:
    rng = random.Random(1)
    phrase = "chronic obstructive pulmonary disease"
    out = maybe_typo(phrase, rng, rate=1.0)
    assert out != phrase
    assert sum(a != b for a, b in zip(out.split(), phrase.split(), strict=True)) == 1
    assert maybe_typo(phrase, rng, rate=0.0) == phrase


def test_malformed_frame_is_rejected() -> None:
    from data.synthetic.lexicon import ResourceError, _parse_frame

    with pytest.raises(ResourceError, match="unbalanced"):
        _parse_frame("family", 0, "«{Rel} with {dx}")
