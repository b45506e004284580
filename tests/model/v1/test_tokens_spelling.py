"""British/Commonwealth spellings normalise to ICD-10-CM's US wording; offsets never move."""

from __future__ import annotations

import pytest

from model.v1.tokens import (
    abbreviations,
    normalize_phrase,
    normalize_word,
    parse_spelling,
    spelling_exceptions,
    tokenize,
    us_spelling,
)


@pytest.mark.parametrize(
    ("british", "us"),
    [
        # ae → e (word-initial and medial)
        ("anaemia", "anemia"),
        ("haemorrhage", "hemorrhage"),
        ("haematuria", "hematuria"),
        ("haemoglobin", "hemoglobin"),
        ("ischaemic", "ischemic"),
        ("leukaemia", "leukemia"),
        ("paediatric", "pediatric"),
        ("orthopaedic", "orthopedic"),
        ("gynaecomastia", "gynecomastia"),
        ("aetiology", "etiology"),
        ("caecum", "cecum"),
        ("faecal", "fecal"),
        ("anaesthesia", "anesthesia"),
        ("paraesthesia", "paresthesia"),
        ("septicaemia", "septicemia"),
        ("phaeochromocytoma", "pheochromocytoma"),
        ("caesarean", "cesarean"),
        # oe → e where British writes the Greek/Latin digraph
        ("oedema", "edema"),
        ("lymphoedema", "lymphedema"),
        ("papilloedema", "papilledema"),
        ("oesophagitis", "esophagitis"),
        ("oestrogen", "estrogen"),
        ("diarrhoea", "diarrhea"),
        ("diarrhoeal", "diarrheal"),
        ("dyspnoea", "dyspnea"),
        ("apnoea", "apnea"),
        ("gonorrhoea", "gonorrhea"),
        ("seborrhoeic", "seborrheic"),
        ("foetal", "fetal"),
        ("foetus", "fetus"),
        ("coeliac", "celiac"),
        ("amoebic", "amebic"),
        ("homoeopathy", "homeopathy"),
        # -our → -or, keeping the inflection
        ("tumour", "tumor"),
        ("tumours", "tumors"),
        ("colour", "color"),
        ("discoloured", "discolored"),
        ("behavioural", "behavioral"),
        ("favourable", "favorable"),
        ("odour", "odor"),
        ("labour", "labor"),
        # -tre/-bre → -ter/-ber
        ("centre", "center"),
        ("centres", "centers"),
        ("millilitre", "milliliter"),
        ("titre", "titer"),
        ("fibre", "fiber"),
        ("centred", "centered"),  # listed: the rule leaves -red alone ("hatred")
        # -ise/-yse → -ize/-yze
        ("generalised", "generalized"),
        ("localised", "localized"),
        ("immunisation", "immunization"),
        ("hospitalised", "hospitalized"),
        ("catheterisation", "catheterization"),
        ("analyse", "analyze"),
        ("paralysed", "paralyzed"),
        # leuc-, sulph- and listed irregulars
        ("leucopenia", "leukopenia"),
        ("leucocytosis", "leukocytosis"),
        ("sulphonamide", "sulfonamide"),
        ("aluminium", "aluminum"),
        ("manoeuvre", "maneuver"),
        ("manoeuvres", "maneuvers"),
        ("grey", "gray"),
        ("ageing", "aging"),
    ],
)
def test_us_spelling_maps_british_forms(british: str, us: str) -> None:
    assert us_spelling(british) == us
    assert normalize_word(british) == normalize_word(us)


@pytest.mark.parametrize(
    "word",
    [
        # aer- words and Latin -ae endings
        "aerobic",
        "anaerobic",
        "aerosol",
        "aerophagia",
        "vertebrae",
        "influenzae",
        "pneumoniae",
        # -our words that are too short or US too
        "hour",
        "hours",
        "four",
        "your",
        "pour",
        "tour",
        "flour",
        "contour",
        "contoured",
        "detour",
        # oe that is not the British digraph
        "toe",
        "toes",
        "does",
        "doesn't",
        "shoe",
        "poem",
        "poet",
        "coexist",
        "coerce",
        "whoever",
        "toenail",
        "gastroenterology",
        "thromboembolism",
        "hypoechoic",
        "angioedema",
        "electroencephalogram",
        # prefix + e- words
        "intraepithelial",
        "paraesophageal",
        # -ise words that are US spellings too, and -wise
        "exercise",
        "exercised",
        "advised",
        "bruised",
        "promise",
        "surprising",
        "immunocompromised",
        "malaise",
        "otherwise",
        "likewise",
        "raised",
        "noise",
        # -re and -red words that are not British -tre
        "hatred",
        "inbred",
        "acre",
        "macabre",
        # US spellings already
        "anemia",
        "edema",
        "tumor",
        "center",
        "generalized",
        "leucine",
        "analyses",
        "diagnosis",
    ],
)
def test_us_spelling_leaves_other_words_alone(word: str) -> None:
    assert us_spelling(word) == word


def test_spelling_keeps_offsets_into_the_original_text() -> None:
    text = "Paediatric pt with anaemia, oedema and haematuria; tumour in the caecum."
    toks = tokenize(text)
    by_norm = {t.norm: t for t in toks}
    for norm, original in [
        ("pediatric", "Paediatric"),
        ("anemia", "anaemia"),
        ("edema", "oedema"),
        ("hematuria", "haematuria"),
        ("cecum", "caecum"),
    ]:
        tok = by_norm[norm]
        assert text[tok.start : tok.end] == original
    # "tumour" is also an abbreviation row (→ neoplasm): it still points at the British word
    neoplasm = by_norm["neoplasm"]
    assert text[neoplasm.start : neoplasm.end] == "tumour"
    us = tokenize("Pediatric pt with anemia, edema and hematuria; tumor in the cecum.")
    assert [t.norm for t in toks] == [t.norm for t in us]


def test_spelling_applies_to_descriptions_and_notes_alike() -> None:
    assert normalize_phrase("Iron deficiency anaemia") == normalize_phrase("Iron deficiency anemia")
    assert normalize_phrase("Gastro-oesophageal reflux disease") == normalize_phrase(
        "Gastro-esophageal reflux disease"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour\tcolor\textra\n", "expected 'word<TAB>us_form'"),
        ("Colour\tcolor\n", "'Colour' is not a lower-case word"),
        ("colour\tcol-or\n", "'col-or' is not a lower-case word"),
        ("colour\tcolor\ncolour\tcolur\n", "maps to both"),
    ],
)
def test_spelling_rows_are_validated(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_spelling(text)


def test_spelling_file_loads() -> None:
    table = spelling_exceptions()
    assert table["aluminium"] == "aluminum"
    assert table["contour"] == "contour"


@pytest.mark.parametrize(
    ("text", "abbr", "expected"),
    [
        ("s/p CABG", "s/p", ("status", "post")),
        ("Pt c/o N&V since noon", "N&V", ("nausea", "vomit")),
        ("h/o AECOPD", "AECOPD", ("acute", "exacerbation", "chronic", "obstructive")),
        ("tender RUQ", "RUQ", ("right", "upper", "quadrant")),
        ("known ASHD", "ASHD", ("atherosclerotic", "heart", "disease")),
        ("HCAP last winter", "HCAP", ("healthcare", "pneumonia")),
        ("several AKs on the scalp", "AKs", ("actinic", "keratosis")),
        ("irritated SK on back", "SK", ("seborrheic", "keratosis")),
        ("new LBBB on EKG", "LBBB", ("left", "bundle", "branch", "block")),
        ("I&D performed", "I&D", ("incision", "drainage")),
        ("reactive attachment d/o", "d/o", ("disorder",)),
        ("bilateral AMD, wet", "AMD", ("macular", "degeneration")),
        ("pt is HOH", "HOH", ("hard", "hearing")),
        ("new T2D", "T2D", ("2", "diabetes", "mellitus")),
        ("severe AS on echo", "AS", ("aortic", "stenosis")),
        ("moderate MR", "MR", ("mitral", "regurgitation")),
        ("longstanding AF", "AF", ("atrial", "fibrillation")),
    ],
)
def test_new_abbreviations_expand_with_their_offsets(
    text: str, abbr: str, expected: tuple[str, ...]
) -> None:
    start = text.index(abbr)
    toks = [t for t in tokenize(text) if (t.start, t.end) == (start, start + len(abbr))]
    norms = tuple(t.norm for t in toks)
    assert all(normalize_word(e) in norms for e in expected), norms


def test_slash_and_ampersand_forms_fall_back_to_their_parts() -> None:
    text = "BP 120/80, HTN/DM, A&P"
    toks = tokenize(text)
    assert [t.norm for t in toks if text[t.start : t.end] in {"120", "80"}] == ["120", "80"]
    htn = [t for t in toks if t.norm == "hypertension"][0]
    assert text[htn.start : htn.end] == "HTN"
    assert any(t.norm == "mellitus" and text[t.start : t.end] == "DM" for t in toks)
    for tok in toks:
        assert 0 <= tok.start < tok.end <= len(text)


@pytest.mark.parametrize("word", ["cap", "cold", "pe", "ra", "pad", "doe", "ak", "ddd", "cmp"])
def test_ambiguous_abbreviations_are_not_expanded(word: str) -> None:
    assert word not in abbreviations()


@pytest.mark.parametrize("text", ["as needed", "mr smith", "af ter", "tr ace", "uc davis", "bv"])
def test_capitals_only_rows_leave_the_lower_case_word_alone(text: str) -> None:
    """AS, MR, AF, TR, UC and BV are read only in capitals: "as" is a word, "Mr" a title."""
    norms = {t.norm for t in tokenize(text)}
    assert not norms & {
        normalize_word(w)
        for w in ("stenosis", "regurgitation", "fibrillation", "colitis", "vaginosis")
    }


def test_abbreviation_keys_are_unique_and_expansions_nonempty() -> None:
    from importlib import resources

    keys: list[str] = []
    path = resources.files("model.v1").joinpath("data/abbreviations.tsv")
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, expansion = line.split("\t")
            keys.append(key.lower())
            assert expansion.strip() == expansion and expansion
    assert len(keys) == len(set(keys))
