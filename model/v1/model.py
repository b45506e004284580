"""`V1Model`: code-set retrieval + sparse one-vs-rest classifier + calibrated ranker.

Training (`fit`) sees note texts only transiently: no note text is kept on the fitted object.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from model.parallel import fork_map
from model.selection import accepted_codes, prefix_ids, score_order, top_per_system
from model.suggestion import SuggestedCode, Suggestion
from model.text.context import ContextAnalyzer
from model.text.note import Note, Span
from model.v1.analysis import CONTEXT_FLAGS, NoteAnalysis, analyze
from model.v1.bmi import derived_bmi
from model.v1.classifier import SparseCodeClassifier
from model.v1.combination import apply_combinations, followed_rules, presumed_combinations
from model.v1.cooccurrence import anchors
from model.v1.em import (
    EMDocumentation,
    age_in_text,
    documentation,
    em_codes,
    family_match,
    implied_codes,
    level_match,
    preventive_codes,
)
from model.v1.features import (
    FEATURE_NAMES,
    SYSTEM_IDS,
    build_code_table,
    candidates,
    feature_rows,
    planned_mention,
)
from model.v1.history import derived_history
from model.v1.lexicon import (
    billable_labels,
    build_phrases,
    header_child,
    synonym_rows,
    synonym_system,
)
from model.v1.matcher import PhraseMatcher
from model.v1.ranker import CalibratedRanker
from model.v1.stats import TOP_RANK, CodeStats, code_stats
from model.v1.tokens import classifier_text, occurrences, snap_to_words

log = logging.getLogger(__name__)

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]
LabelSet = set[tuple[str, str]]


def _stack_pairs(
    pairs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each note's (feature rows, labels, candidate codes), in note order, stacked into one
    pair table: (X, y, each pair's note index, each pair's code index)."""
    return (
        np.vstack([X for X, _, _ in pairs]),
        np.concatenate([y for _, y, _ in pairs]),
        np.concatenate([np.full(len(y), i) for i, (_, y, _) in enumerate(pairs)]),
        np.concatenate([code for _, _, code in pairs]),
    )


def _no_progress(it: Iterable[Any], desc: str, total: int) -> Iterable[Any]:
    return it


def _stable_fold(key: str, k: int, seed: int) -> int:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % k


class V1Model:
    """Fitted state ends in `_`. `code_space_` is the fixed order of every code it can score."""

    model_type = "chartcoder-v1"
    #: Combination rules the training corpus's coders follow (see `followed_rules`); None, all
    #: (models fitted before the rules were read from the corpus).
    combination_rules_: frozenset[str] | None = None

    def __init__(
        self,
        *,
        folds: int = 3,
        lr_alpha: float = 1.0,
        lr_min_examples: int = 2,
        ranker_iter: int = 200,
        max_ranker_pairs: int = 80_000,
        calibration_share: float = 0.2,
        accept_precision: float = 0.95,
        ranker_folds: int = 0,
        seed: int = 0,
    ) -> None:
        self.folds = folds
        self.lr_alpha = lr_alpha
        self.lr_min_examples = lr_min_examples
        self.ranker_iter = ranker_iter
        self.max_ranker_pairs = max_ranker_pairs
        self.calibration_share = calibration_share
        self.accept_precision = accept_precision
        self.ranker_folds = ranker_folds
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def _build_dictionary(self, catalog: Any) -> None:
        entries = []
        header_targets: dict[str, str] = {}
        descriptions: dict[tuple[str, str], str] = {}
        for system in ("ICD-10-CM", "CPT", "HCPCS"):
            for e in catalog.entries(system, billable_only=False):
                if e.billable:
                    descriptions[(system, e.code)] = e.description
                    entries.append(
                        (system, e.code, True, e.description, tuple(e.inclusion_terms), ())
                    )
                elif system == "ICD-10-CM":
                    child = header_child(catalog, system, e.code)
                    if child:
                        # the header's wording and its inclusion terms ("Common migraine" at
                        # G43.0) name its default billable child
                        for name in (e.description, *e.inclusion_terms):
                            header_targets.setdefault(name, child)
        synonyms = []
        for code, phrase in synonym_rows():
            syn_system = synonym_system(catalog, code)
            entry = catalog.get(syn_system, code)
            if entry is None or not entry.billable:
                raise ValueError(f"synonyms.tsv names {code}, which is not a billable code")
            synonyms.append((syn_system, catalog.normalize(syn_system, code), phrase))
        phrases = build_phrases(entries, header_targets, synonyms)
        self.matcher_ = PhraseMatcher().fit(phrases)
        self.descriptions_ = descriptions

    def fit(
        self,
        texts: Sequence[str],
        settings: Sequence[str | None],
        label_sets: Sequence[LabelSet],
        *,
        catalog: Any,
        note_keys: Sequence[str] | None = None,
        ages: Sequence[int | None] | None = None,
        unlabeled: Sequence[LabelSet] | None = None,
        note_types: Sequence[str | None] | None = None,
        calibrate: Sequence[bool] | None = None,
        sources: Sequence[str | None] | None = None,
        calibrate_later: bool = False,
        progress: Progress = _no_progress,
    ) -> V1Model:
        """Fit on notes and their gold codes.

        `unlabeled[i]` names codes whose absence from note i's gold codes says nothing (the
        note's source never assigns them): their pairs are left out of the ranker's data
        instead of counting as negatives. `calibrate[i]` False: note i trains the ranker but
        takes no part in calibration, thresholds or the accepted band (a training excerpt, whose
        few codes are easier than a whole note's). `sources[i]`: the corpus note i came from;
        the accepted band must hold on each corpus's notes (`model.v1.ranker.fit_calibration`).
        `calibrate_later`: the caller calibrates on validation notes next (`calibrate_on`), which
        replaces all that the training notes would calibrate, so the served ranker learns from
        every note and nothing is calibrated here (the cross-fitted rankers that would score the
        training notes out of fold are not fitted: three of the default model's four ranker
        fits). Until `calibrate_on`, the model cannot suggest.
        """
        n = len(texts)
        note_ages = list(ages) if ages is not None else [None] * n
        kinds = list(note_types) if note_types is not None else [None] * n
        if n < 2 * self.folds:
            raise ValueError(f"need at least {2 * self.folds} training notes, got {n}")
        if calibrate is not None and len(calibrate) != n:
            raise ValueError(f"calibrate has {len(calibrate)} flags for {n} notes")
        if sources is not None and len(sources) != n:
            raise ValueError(f"sources has {len(sources)} entries for {n} notes")
        note_source = np.array(
            ["" if s is None else str(s) for s in sources] if sources is not None else [""] * n
        )
        keys = list(note_keys) if note_keys is not None else [str(i) for i in range(n)]
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round(now - clock, 2)
            clock = now

        self._build_dictionary(catalog)
        lap("dictionary")
        # Gold labels in billable form (header codes roll to their default billable child).
        gold: list[LabelSet] = []
        dropped = 0
        for labels in label_sets:
            billable, unknown = billable_labels(catalog, labels)
            gold.append(billable)
            dropped += unknown
        self.dropped_labels_ = dropped
        self.combination_rules_, combination_counts = followed_rules(gold)
        space: dict[tuple[str, str], int] = {c: i for i, c in enumerate(self.matcher_.codes_)}
        for labels in gold:
            for c in labels:
                space.setdefault(c, len(space))
        for code in sorted(em_codes()):
            if catalog.get("CPT", code) is not None:
                space.setdefault(("CPT", code), len(space))
        self.code_space_ = list(space)
        self.code_index_ = space
        for c in self.code_space_:
            if c not in self.descriptions_:
                entry = catalog.get(*c)
                self.descriptions_[c] = entry.description if entry else ""
        self.table_ = build_code_table(self.code_space_, self.descriptions_, set(em_codes()))
        self.context_ = ContextAnalyzer()

        matcher, context = self.matcher_, self.context_
        analyses = fork_map(
            lambda i: analyze(texts[i], matcher, context), n, desc="analysing notes",
            progress=progress,
        )  # fmt: skip
        lap("analysis")
        label_idx = [{space[c] for c in labels} for labels in gold]
        fold_of = np.array([_stable_fold(k, self.folds, self.seed) for k in keys])
        key_texts = [a.key_text for a in analyses]
        lr_rows: list[dict[int, tuple[float, float, int]]] = [dict() for _ in range(n)]
        clf = self._new_classifier()
        X_text = clf.fit_vectorizers(
            [classifier_text(t) for t in texts], [classifier_text(k) for k in key_texts]
        )
        self.classifier_input_ = "expanded"
        fold_models: list[tuple[list[Any], Any, np.ndarray]] = []
        gram = clf.gram(X_text)  # once for all notes; each fold solves on its block
        for f in progress(range(self.folds), "out-of-fold classifiers", self.folds):
            tr = np.nonzero(fold_of != f)[0]
            te = np.nonzero(fold_of == f)[0]
            clf.fit_matrix(
                X_text[tr],
                [{_label(self.code_space_[ci]) for ci in label_idx[i]} for i in tr],
                gram=gram[np.ix_(tr, tr)],
            )
            self._fill_lr(clf, clf.decision_matrix(X_text[te]), te, lr_rows)
            fold_models.append((list(clf.labels_), clf.coef_T_, clf.intercept_))
        del gram
        lap("classifiers")
        unknown_idx = [
            {space[c] for c in unlabeled[i] if c in space} - label_idx[i]
            if unlabeled is not None and unlabeled[i]
            else set()
            for i in range(n)
        ]
        matched = [set(a.matches) for a in analyses]
        full = [{c for c, m in a.matches.items() if m.coverage >= 0.99} for a in analyses]
        flagged = [
            {c for c in f if any(a.context.get(c, ()))} for a, f in zip(analyses, full, strict=True)
        ]
        lr_top = [{ci for ci, v in row.items() if v[2] < TOP_RANK} for row in lr_rows]

        def stats_over(rows: np.ndarray) -> CodeStats:
            return code_stats(
                rows.tolist(),
                label_idx,
                matched,
                lr_top,
                unknown_idx,
                full,
                flagged,
                self.table_.category,
                n_codes=len(space),
                scale=n / max(1, len(rows)),
            )

        # Out-of-fold code statistics: a note's features never see its own labels.
        fold_stats = [stats_over(np.nonzero(fold_of != f)[0]) for f in range(self.folds)]

        def note_pairs(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            X, cands = self._features(
                analyses[i],
                settings[i],
                lr_rows[i],
                fold_stats[fold_of[i]],
                documentation(texts[i], setting=settings[i], age=note_ages[i], note_type=kinds[i]),
            )
            y = np.array([c in label_idx[i] for c in cands], dtype=np.int8)
            code = np.asarray(cands, dtype=np.int64)
            if unknown_idx[i]:
                known = np.array([c not in unknown_idx[i] for c in cands], dtype=bool)
                X, y, code = X[known], y[known], code[known]
            return X, y, code

        X_all, y_all, notes_all, codes_all = _stack_pairs(
            fork_map(note_pairs, n, desc="candidate features", progress=progress)
        )
        lap("features")
        self.candidate_recall_ = float(int(y_all.sum()) / max(1, sum(len(s) for s in label_idx)))
        self.ranker_ = CalibratedRanker(
            max_iter=self.ranker_iter,
            accept_precision=self.accept_precision,
            random_state=self.seed,
        )
        rng = np.random.default_rng(self.seed)
        if calibrate_later:
            keep = _subsample(y_all, self.max_ranker_pairs, rng)
            for _ in progress(range(1), "ranker", 1):
                self.ranker_.fit(X_all[keep], y_all[keep])
            calib_note = np.zeros(n, dtype=bool)
            is_cal = np.zeros(len(y_all), dtype=bool)
        elif self.ranker_folds:
            # Cross-fitted: every note's pairs are scored by a ranker that did not learn from
            # them; calibration, thresholds and the accepted band use all of those scores, and
            # the served ranker learns from every note.
            raw = np.zeros(len(y_all))
            pair_fold = fold_of[notes_all] % self.ranker_folds
            for f in progress(range(self.ranker_folds), "cross-fitted ranker", self.ranker_folds):
                rest = pair_fold != f
                keep = _subsample(y_all[rest], self.max_ranker_pairs, rng)
                fold_ranker = CalibratedRanker(max_iter=self.ranker_iter, random_state=self.seed)
                fold_ranker.fit(X_all[rest][keep], y_all[rest][keep])
                raw[~rest] = fold_ranker.raw_scores(X_all[~rest])
            keep = _subsample(y_all, self.max_ranker_pairs, rng)
            self.ranker_.fit(X_all[keep], y_all[keep])
            calib_note = np.ones(n, dtype=bool) if calibrate is None else np.array(calibrate)
            is_cal = calib_note[notes_all]
            self.ranker_.calibrate_scores(
                raw[is_cal], y_all[is_cal], X_all[is_cal], note_source[notes_all[is_cal]]
            )
            self._fit_contested(raw[is_cal], y_all[is_cal], notes_all[is_cal], codes_all[is_cal])
        else:
            # The ranker learns on most notes; isotonic calibration, thresholds and the accepted
            # band are fitted on the held-out rest (all of their pairs, never subsampled).
            # (A held-out group's excerpts are neither learned from nor calibrated on.)
            held_out = _calibration_notes(keys, self.calibration_share, self.seed)
            calib_note = held_out if calibrate is None else held_out & np.array(calibrate)
            learn = ~held_out[notes_all]
            is_cal = calib_note[notes_all]
            keep = _subsample(y_all[learn], self.max_ranker_pairs, rng)
            for _ in progress(range(1), "ranker", 1):
                self.ranker_.fit(X_all[learn][keep], y_all[learn][keep])
                raw = self.ranker_.raw_scores(X_all[is_cal])
                self.ranker_.calibrate_scores(
                    raw, y_all[is_cal], X_all[is_cal], note_source[notes_all[is_cal]]
                )
                self._fit_contested(raw, y_all[is_cal], notes_all[is_cal], codes_all[is_cal])
        lap("ranker")
        self.training_stats_ = {
            "timings_s": timings,
            "notes": n,
            "ranker_pairs": int(keep.sum()),
            "calibration_notes": int(calib_note.sum()),
            "calibration_pairs": int(is_cal.sum()),
            "pairs": int(len(y_all)),
            "positive_pairs": int(y_all.sum()),
            "candidate_recall": self.candidate_recall_,
            "dropped_labels": dropped,
            "label_space": len(space),
            "combination_rules": combination_counts,
        }
        # Served statistics over every note.
        self.stats_ = stats_over(np.arange(n))
        # The served classifier averages the fold models (the same models that produced the
        # ranker's training features), so inference features match training features.
        self.classifier_ = clf.average_of(fold_models)
        self.lr_code_index_ = np.array(
            [space[_split(c)] for c in self.classifier_.labels_], dtype=np.int32
        )
        return self

    def _new_classifier(self) -> SparseCodeClassifier:
        return SparseCodeClassifier(alpha=self.lr_alpha, min_examples=self.lr_min_examples)

    def _fill_lr(
        self,
        clf: SparseCodeClassifier,
        logits: np.ndarray,
        rows: np.ndarray,
        out: list[dict[int, tuple[float, float, int]]],
    ) -> None:
        if not clf.labels_:
            return
        idx = np.array([self.code_index_[_split(c)] for c in clf.labels_], dtype=np.int32)
        for r, row in zip(rows, logits, strict=True):
            out[r] = _lr_dict(row, idx)

    def _features(
        self,
        analysis: NoteAnalysis,
        setting: str | None,
        lr: dict[int, tuple[float, float, int]],
        stats: CodeStats,
        em: EMDocumentation | None,
    ) -> tuple[np.ndarray, list[int]]:
        em_extra = [
            self.code_index_[("CPT", code)]
            for code in implied_codes(em)
            if ("CPT", code) in self.code_index_
        ]
        analysis.history = derived_history(analysis, self.code_space_, self.code_index_)
        # Z68 from a documented BMI value (kind BMI in the same table and feature).
        age = em.age if em is not None and em.age is not None else age_in_text(analysis.text)
        for c, found in derived_bmi(analysis.text, age, self.code_index_).items():
            analysis.history.setdefault(c, found)
        lr_codes = np.fromiter(lr.keys(), dtype=np.int64, count=len(lr))
        lr_probs = np.fromiter((v[0] for v in lr.values()), dtype=np.float32, count=len(lr))
        affirmed = anchors(analysis)
        analysis.combinations, analysis.replaced = presumed_combinations(
            analysis, affirmed, self.code_space_, self.code_index_, self.combination_rules_
        )
        cands = candidates(analysis, lr_codes, lr_probs, em_extra)
        cooc = stats.cooccurrence.feature(affirmed, cands)
        X = feature_rows(
            analysis, cands, lr, self.table_, stats, cooc, em, setting, self.matcher_.vocab_
        )
        return X, cands

    # ---------------------------------------------------------------- inference
    def __sklearn_is_fitted__(self) -> bool:
        # Fitted with calibrate_later, a model is not ready until calibrate_on.
        return hasattr(self, "classifier_") and hasattr(self.ranker_, "iso_")

    def ranker_features(self) -> int | None:
        """How many features the fitted ranker was trained on (None before fitting)."""
        gbm = getattr(getattr(self, "ranker_", None), "gbm_", None)
        n = getattr(gbm, "n_features_in_", None)
        return int(n) if n is not None else None

    def check_compatible(self) -> None:
        """Raise `ValueError` when this fitted model's ranker was trained on another feature set
        than this code computes (an artifact from an older chartcoder): it cannot score."""
        n = self.ranker_features()
        if n is not None and n != len(FEATURE_NAMES):
            raise ValueError(
                f"its ranker was trained on {n} features and this chartcoder computes "
                f"{len(FEATURE_NAMES)}: it was trained by another version; retrain it "
                "(chartcoder train ...)"
            )

    def suggest_note(
        self,
        note: Note,
        *,
        model_version: str,
        systems: Sequence[str] | None = None,
        top_k: int = 30,
    ) -> Suggestion:
        if not self.__sklearn_is_fitted__():
            raise RuntimeError(
                "V1Model is not fitted (or, fitted with calibrate_later, "
                "not calibrated: call calibrate_on)"
            )
        text = note.text
        analysis, X, cands, em, x_words = self._served_features(
            text, note.meta.setting, note.meta.age, note.meta.note_type
        )
        with threadpool_limits(1, user_api="openmp"):
            scores, raw = self.ranker_.predict_with_raw(X)
        replaced: set[int] = set()
        if analysis.replaced:
            by_cand, replaced = apply_combinations(
                dict(zip(cands, scores.tolist(), strict=True)), analysis.replaced
            )
            scores = np.array([by_cand[c] for c in cands])
        order = score_order(scores, raw)
        chosen = top_per_system(
            ((self.code_space_[cands[j]], float(scores[j])) for j in order), top_k, systems
        )
        accepted = accepted_codes(
            chosen,
            self.ranker_.accept_thresholds_,
            contested=self.contested_sibling,
            contested_near=self.contested_neighbour,
        )
        accepted -= _planned_procedures(accepted, analysis, self.code_index_)
        accepted -= {self.code_space_[c] for c in replaced}
        out = []
        for rank, ((system, code), score) in enumerate(chosen, start=1):
            evidence, named = self._evidence(
                self.code_index_[(system, code)], analysis, text, em, x_words
            )
            out.append(
                SuggestedCode(
                    system=system,
                    code=code,
                    description=self.descriptions_.get((system, code), ""),
                    score=score,
                    rank=rank,
                    accepted=(system, code) in accepted,
                    evidence=evidence,
                    named=named,
                )
            )
        return Suggestion(note.id, model_version, tuple(out))

    def _served_features(
        self, text: str, setting: str | None, age: int | None, note_type: str | None
    ) -> tuple[NoteAnalysis, np.ndarray, list[int], EMDocumentation | None, Any]:
        """A note's candidates and feature rows as the fitted model serves them (the averaged
        classifier, statistics over every training note), plus what evidence needs."""
        analysis = analyze(text, self.matcher_, self.context_)
        if getattr(self, "classifier_input_", "raw") == "expanded":
            x_text = self.classifier_.transform(
                [classifier_text(text)], [classifier_text(analysis.key_text)]
            )
        else:  # artifacts trained before classifier_text existed
            x_text = self.classifier_.transform([text], [analysis.key_text])
        logits = self.classifier_.decision_matrix(x_text)[0]
        lr = _lr_dict(logits, self.lr_code_index_)
        x_words = x_text[:, : self.classifier_.n_word_].tocsr()
        em = documentation(text, setting=setting, age=age, note_type=note_type)
        X, cands = self._features(analysis, setting, lr, self.stats_, em)
        return analysis, X, cands, em, x_words

    def calibrate_on(
        self,
        texts: Sequence[str],
        settings: Sequence[str | None],
        label_sets: Sequence[LabelSet],
        *,
        catalog: Any,
        ages: Sequence[int | None] | None = None,
        note_types: Sequence[str | None] | None = None,
        progress: Progress = _no_progress,
    ) -> V1Model:
        """Refit isotonic calibration, thresholds and the accepted band on validation notes the
        model did not learn from, scored exactly as served.

        Out-of-fold scores of the training notes are optimistic when new notes differ in more
        than their template (a synthetic corpus's dev and test notes also use phrasings that no
        training note uses). A validation split built like the notes the model will meet makes
        the band's precision a measurement of that shift instead of a hope.
        """
        n = len(texts)
        if n == 0:
            raise ValueError("calibrate_on needs at least one validation note")
        note_ages = list(ages) if ages is not None else [None] * n
        kinds = list(note_types) if note_types is not None else [None] * n

        def note_pairs(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            _, X, cands, _, _ = self._served_features(texts[i], settings[i], note_ages[i], kinds[i])
            billable, _ = billable_labels(catalog, label_sets[i])
            gold = {self.code_index_[c] for c in billable if c in self.code_index_}
            y = np.array([c in gold for c in cands], dtype=np.int8)
            return X, y, np.asarray(cands, dtype=np.int64)

        X_all, y_all, notes_all, codes_all = _stack_pairs(
            fork_map(note_pairs, n, desc="calibrating on validation notes", progress=progress)
        )
        raw = self.ranker_.raw_scores(X_all)
        self.ranker_.calibrate_scores(raw, y_all, X_all)
        self._fit_contested(raw, y_all, notes_all, codes_all)
        self.training_stats_["calibration"] = {
            "source": "validation notes",
            "notes": n,
            "pairs": int(len(y_all)),
            "positive_pairs": int(y_all.sum()),
        }
        return self

    def _fit_contested(
        self, raw: np.ndarray, y: np.ndarray, notes: np.ndarray, codes: np.ndarray
    ) -> None:
        """The contested-sibling level of the accepted band, on the calibration pairs."""
        is_icd = self.table_.system[codes] == SYSTEM_IDS["ICD-10-CM"]
        near = prefix_ids([self.code_space_[c][1] for c in codes], 2)
        categories = self.table_.category[codes]
        self.ranker_.fit_contested(raw, y, notes, categories, is_icd, near)

    @property
    def contested_sibling(self) -> float:
        """An ICD-10-CM code is not `accepted` while a sibling scores this much (1.01: never;
        a model fitted before the rule existed has none)."""
        return float(getattr(self.ranker_, "contested_", 1.01))

    @property
    def contested_neighbour(self) -> float:
        """Likewise for a code of a neighbouring category (same first two characters)."""
        return float(getattr(self.ranker_, "contested_near_", 1.01))

    def _evidence(
        self, c: int, analysis: NoteAnalysis, text: str, em: Any, x_words: Any
    ) -> tuple[tuple[Span, ...], bool]:
        """Code `c`'s evidence spans, and whether the note states the code (a full mention, a
        history or combination code derived from mentions, an E/M code whose visit statements
        are documented): then the spans are that statement (`SuggestedCode.named`)."""
        spans: list[tuple[int, int]] = []
        m = analysis.matches.get(c)
        if m is not None:
            spans.append(snap_to_words(text, m.start, m.end))
            if m.coverage >= 0.99:
                # A full mention names the code: its other occurrences are the evidence, and
                # the classifier's n-grams would only add noise.
                spans.extend(_repeats(text, *spans[0], limit=2))
                return _distinct_spans(text, spans), True
        named = c in analysis.history
        if named:
            # the disease mention or BMI value the code was derived from comes first
            spans.insert(0, snap_to_words(text, *analysis.history[c][1:]))
        if c in analysis.combinations:
            # a presumed combination ("T2DM" + "CKD stage 3a" = E11.22): its components
            spans.extend(snap_to_words(text, s, e) for s, e in analysis.combinations[c])
            return _distinct_spans(text, spans), True
        system, code = self.code_space_[c]
        if em is not None and system == "CPT":
            documented = _em_spans(code, em)
            if documented:
                # The statements that name the visit and its level are the evidence; a partial
                # match of the code's wording ("Day 4: ... to arrange discharge" for discharge
                # day management) and the classifier's n-grams would only add noise.
                if m is not None:
                    spans.remove(snap_to_words(text, m.start, m.end))
                spans.extend(snap_to_words(text, s, e) for s, e in documented)
                return _distinct_spans(text, spans), True
        if len(spans) < 2:
            spans.extend(self._lr_evidence(c, text, x_words, limit=3 - len(spans)))
        if not spans:
            # Last resort: the sentence sharing most words with the code's description.
            spans.append(self._best_sentence(c, analysis, text))
        return _distinct_spans(text, spans), named

    def _lr_evidence(self, c: int, text: str, x_words: Any, limit: int) -> list[tuple[int, int]]:
        hits = np.nonzero(self.lr_code_index_ == c)[0]
        if hits.size == 0 or limit <= 0:
            return []
        out: list[tuple[int, int]] = []
        lowered = text.lower()
        for ngram in self.classifier_.word_contributions(x_words, int(hits[0]), top=6):
            pattern = r"\b" + r"\W+".join(re.escape(w) for w in ngram.split()) + r"\b"
            m = re.search(pattern, lowered)
            if m:
                out.append(snap_to_words(text, m.start(), m.end()))
            if len(out) >= limit:
                break
        return out

    def _best_sentence(self, c: int, analysis: NoteAnalysis, text: str) -> tuple[int, int]:
        desc = set(
            re.findall(r"[a-z]{4,}", self.descriptions_.get(self.code_space_[c], "").lower())
        )
        best, best_score = analysis.sentences[0], -1
        for s, e in analysis.sentences:
            score = len(desc & set(re.findall(r"[a-z]{4,}", text[s:e].lower())))
            if score > best_score:
                best, best_score = (s, e), score
        return snap_to_words(text, *best)


def _em_spans(code: str, em: EMDocumentation) -> list[tuple[int, int]]:
    """The statements behind an E/M code of a documented family: the wording naming the visit
    (patient status or kind), a preventive visit's own wording, then the time/MDM statement
    when it gives this code's level (preventive codes take theirs from the age band)."""
    out: list[tuple[int, int]] = []
    preventive = code in preventive_codes()
    if family_match(code, em) < 0:  # the note documents another kind of visit
        return out
    if family_match(code, em) > 0:
        if em.cue_start >= 0:
            out.append((em.cue_start, em.cue_end))
        if em.preventive_start >= 0 and preventive:
            out.append((em.preventive_start, em.preventive_end))
    # a preventive code's level is the patient's age band, not the time/MDM statement
    if level_match(code, em) > 0 and em.end > em.start and not preventive:
        out.append((em.start, em.end))
    return out


def _distinct_spans(text: str, spans: Sequence[tuple[int, int]]) -> tuple[Span, ...]:
    """At most 3 non-empty, non-overlapping spans, in the given (strength) order."""
    uniq: list[Span] = []
    for s, e in spans:
        if e > s and all(not (s < u.end and u.start < e) for u in uniq):
            uniq.append(Span.of(text, s, e))
    return tuple(uniq[:3])


def _repeats(text: str, start: int, end: int, *, limit: int) -> list[tuple[int, int]]:
    """Other occurrences of `text[start:end]` (case-insensitive, whole words), in text order."""
    mention = text[start:end]
    if len(mention) < 2 or limit <= 0:
        return []
    return [(s, e) for s, e in occurrences(text, mention) if s != start][:limit]


def _calibration_notes(keys: Sequence[str], share: float, seed: int) -> np.ndarray:
    """Which notes hold out for calibration: a stable `share` of the keys (note groups). With
    too few groups for both sides to get notes, each note is its own group."""
    pick = np.array([_stable_fold("cal:" + k, 1000, seed) < 1000 * share for k in keys])
    if 0 < pick.sum() < len(keys):
        return pick
    return np.array(
        [_stable_fold(f"cal:{k}:{i}", 1000, seed) < 1000 * share for i, k in enumerate(keys)]
    )


def _subsample(y: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Keep every positive pair and a seeded random share of negatives, at most `cap` in all."""
    keep = np.ones(len(y), dtype=bool)
    neg = np.nonzero(y == 0)[0]
    room = max(cap - int(y.sum()), 0)
    if len(neg) > room:
        drop = rng.choice(neg, size=len(neg) - room, replace=False)
        keep[drop] = False
    return keep


def _label(code: tuple[str, str]) -> str:
    return f"{code[0]}|{code[1]}"


def _split(label: Any) -> tuple[str, str]:
    if isinstance(label, tuple):
        return (str(label[0]), str(label[1]))
    system, _, code = str(label).partition("|")
    return (system, code)


def _lr_dict(logits: np.ndarray, idx: np.ndarray) -> dict[int, tuple[float, float, int]]:
    order = np.argsort(-logits)
    out: dict[int, tuple[float, float, int]] = {}
    for rank, j in enumerate(order[:200]):
        out[int(idx[j])] = (float(logits[j]), float(logits[j]), rank)
    return out


def _planned_procedures(
    accepted: set[tuple[str, str]], analysis: NoteAnalysis, index: dict[tuple[str, str], int]
) -> set[tuple[str, str]]:
    """Accepted CPT/HCPCS codes, other than E/M visits, whose named mention sits in a sentence
    with planning words (`features.planned_mention`) or is flagged as past, negated or hypothetical
    ("status post TKR" is a knee replaced before, not a 27447 done at this encounter)."""
    out: set[tuple[str, str]] = set()
    visit_codes = em_codes()
    for system, code in accepted:
        if system == "ICD-10-CM" or code in visit_codes:
            continue
        c = index[(system, code)]
        m = analysis.matches.get(c)
        if m is None:
            continue
        flags = analysis.context.get(c, ())
        if planned_mention(analysis, m) or any(flags[i] for i in _NOT_RENDERED if i < len(flags)):
            out.add((system, code))
    return out


_NOT_RENDERED = tuple(CONTEXT_FLAGS.index(f) for f in ("negated", "historical", "hypothetical"))
