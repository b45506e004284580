"""Streaming metrics for ranked code suggestions (Edin et al.'s `update / compute / reset`).

Every metric is fed aligned batches: `update(predictions, gold)` where `predictions[i]` is the
list of predicted code dicts for note `gold[i]` (`{"system", "code", "score", "accepted",
"evidence": [{"start", "end"}]}`, as in `chartcoder predict` output) and `gold[i]` a
`LabeledNote`. State is made of sums, so two partial updates equal one full update.

`system` restricts a metric to one code system (predicted and gold codes of other systems are
ignored); `None` pools every system.

Which predicted codes count as "suggested" for set metrics is a `Selection`:
`Selection("accepted")` keeps codes with `accepted` true, `Selection("threshold", t)` keeps codes
with `score >= t` where `t` is a float or a `{system: float}` mapping.

Expected calibration error and the reliability diagram live in `evaluation.calibration`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evaluation.datasets import LabeledNote

PredCodes = Sequence[Mapping[str, Any]]
CodeKey = tuple[str, str]

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Selection:
    """Which predicted codes count as suggested: `accepted` ones, or those at a threshold."""

    mode: str = "threshold"
    threshold: float | Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("accepted", "threshold"):
            raise ValueError(f"Selection.mode must be 'accepted' or 'threshold'; got {self.mode!r}")

    def threshold_for(self, system: str) -> float:
        t = self.threshold
        if t is None:
            return DEFAULT_THRESHOLD
        if isinstance(t, Mapping):
            return float(t.get(system, DEFAULT_THRESHOLD))
        return float(t)

    def keeps(self, code: Mapping[str, Any]) -> bool:
        if self.mode == "accepted":
            return bool(code.get("accepted", False))
        return float(code["score"]) >= self.threshold_for(str(code["system"]))


ACCEPTED = Selection("accepted")


def ranked_codes(codes: PredCodes, system: str | None) -> list[Mapping[str, Any]]:
    """Codes of `system`, best first (stable for ties), without repeated (system, code)."""
    kept = [c for c in codes if system is None or c["system"] == system]
    kept = sorted(kept, key=lambda c: -float(c["score"]))
    seen: set[CodeKey] = set()
    out = []
    for c in kept:
        key = (str(c["system"]), str(c["code"]))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _gold(note: LabeledNote, system: str | None) -> set[CodeKey]:
    return note.gold_set(system)


def check_aligned(predictions: Sequence[PredCodes], gold: Sequence[LabeledNote]) -> None:
    if len(predictions) != len(gold):
        raise ValueError(
            f"predictions and gold must be aligned: {len(predictions)} vs {len(gold)} notes"
        )


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _average_precision(ranked: Sequence[CodeKey], relevant: set[CodeKey]) -> float:
    """trec_eval AP: precision at the rank of each gold code found, summed, over all gold."""
    hits = 0
    ap = 0.0
    for rank, key in enumerate(ranked, start=1):
        if key in relevant:
            hits += 1
            ap += hits / rank
    return ap / len(relevant)


def average_precisions(
    predictions: Sequence[PredCodes], gold: Sequence[LabeledNote], system: str | None = None
) -> list[float | None]:
    """Per note AP (None where the note has no gold code in `system`); their mean over the
    non-None entries is `RankingMetrics`'s MAP. For paired comparisons of two models."""
    check_aligned(predictions, gold)
    out: list[float | None] = []
    for codes, note in zip(predictions, gold, strict=True):
        relevant = _gold(note, system)
        ranked = [(str(c["system"]), str(c["code"])) for c in ranked_codes(codes, system)]
        out.append(_average_precision(ranked, relevant) if relevant else None)
    return out


class RankingMetrics:
    """MAP, precision at k and recall at k over the ranked list of each note.

    Per note with at least one gold code (notes without gold codes in `system` are skipped):
    - AP (trec_eval): sum over gold codes found at rank r of precision@r, divided by the number
      of gold codes (found or not);
    - P@k = gold codes among the top k / k (k fixed, even if fewer codes were returned);
    - R@k = gold codes among the top k / number of gold codes.
    `compute()` averages over notes: `map`, `p@5`, `p@8`, `r@15`, ..., and `n_notes`.
    """

    def __init__(
        self,
        system: str | None = None,
        precision_ks: Sequence[int] = (5, 8),
        recall_ks: Sequence[int] = (15,),
    ) -> None:
        self.system = system
        self.precision_ks = tuple(precision_ks)
        self.recall_ks = tuple(recall_ks)
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self._ap = 0.0
        self._p = dict.fromkeys(self.precision_ks, 0.0)
        self._r = dict.fromkeys(self.recall_ks, 0.0)

    def update(self, predictions: Sequence[PredCodes], gold: Sequence[LabeledNote]) -> None:
        check_aligned(predictions, gold)
        for codes, note in zip(predictions, gold, strict=True):
            relevant = _gold(note, self.system)
            if not relevant:
                continue
            ranked = [(str(c["system"]), str(c["code"])) for c in ranked_codes(codes, self.system)]
            self._ap += _average_precision(ranked, relevant)
            for k in self.precision_ks:
                self._p[k] += sum(1 for key in ranked[:k] if key in relevant) / k
            for k in self.recall_ks:
                self._r[k] += sum(1 for key in ranked[:k] if key in relevant) / len(relevant)
            self._n += 1

    def compute(self) -> dict[str, float]:
        n = self._n
        out: dict[str, float] = {"map": self._ap / n if n else 0.0}
        for k in self.precision_ks:
            out[f"p@{k}"] = self._p[k] / n if n else 0.0
        for k in self.recall_ks:
            out[f"r@{k}"] = self._r[k] / n if n else 0.0
        out["n_notes"] = n
        return out


class SetMetrics:
    """Micro and macro precision, recall and F1 of the selected codes against the gold codes.

    Micro pools true/false positives and false negatives over all notes. Macro averages the
    per-code precision, recall and F1 over every code seen in gold or among selected codes
    (a code never selected has precision 0, a code never in gold recall 0), which is what
    `sklearn.metrics.precision_recall_fscore_support(average="macro", zero_division=0)` returns
    on the binarised label matrix.
    """

    def __init__(self, system: str | None = None, selection: Selection = ACCEPTED) -> None:
        self.system = system
        self.selection = selection
        self.reset()

    def reset(self) -> None:
        self._tp: Counter[CodeKey] = Counter()
        self._fp: Counter[CodeKey] = Counter()
        self._fn: Counter[CodeKey] = Counter()
        self._n_pred = 0

    def update(self, predictions: Sequence[PredCodes], gold: Sequence[LabeledNote]) -> None:
        check_aligned(predictions, gold)
        for codes, note in zip(predictions, gold, strict=True):
            relevant = _gold(note, self.system)
            chosen = {
                (str(c["system"]), str(c["code"]))
                for c in ranked_codes(codes, self.system)
                if self.selection.keeps(c)
            }
            self._n_pred += len(chosen)
            for key in chosen & relevant:
                self._tp[key] += 1
            for key in chosen - relevant:
                self._fp[key] += 1
            for key in relevant - chosen:
                self._fn[key] += 1

    def compute(self) -> dict[str, float]:
        tp, fp, fn = (sum(c.values()) for c in (self._tp, self._fp, self._fn))
        p, r, f = _prf(tp, fp, fn)
        labels = set(self._tp) | set(self._fp) | set(self._fn)
        per = [_prf(self._tp[k], self._fp[k], self._fn[k]) for k in labels]
        n = len(per)
        return {
            "micro_p": p,
            "micro_r": r,
            "micro_f1": f,
            "macro_p": sum(x[0] for x in per) / n if n else 0.0,
            "macro_r": sum(x[1] for x in per) / n if n else 0.0,
            "macro_f1": sum(x[2] for x in per) / n if n else 0.0,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "n_labels": n,
        }


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class EvidenceMetrics:
    """Evidence span precision, recall and F1, on correctly predicted codes.

    For every selected predicted code that is also a gold code, and whose gold code has at least
    one evidence span, compare the predicted spans P with the gold spans G:
    - overlap: a predicted span is correct when it overlaps some gold span (shares a character);
      a gold span is found when some predicted span overlaps it;
    - exact: the same with equal `(start, end)`.
    Precision = correct predicted spans / predicted spans; recall = found gold spans / gold
    spans; both pooled over all such codes (micro). Empty spans never count as correct.
    """

    def __init__(self, system: str | None = None, selection: Selection = ACCEPTED) -> None:
        self.system = system
        self.selection = selection
        self.reset()

    def reset(self) -> None:
        self._c: Counter[str] = Counter()

    def update(self, predictions: Sequence[PredCodes], gold: Sequence[LabeledNote]) -> None:
        check_aligned(predictions, gold)
        for codes, note in zip(predictions, gold, strict=True):
            gold_spans = {
                (c.system, c.code): [s for s in c.evidence if s[1] > s[0]]
                for c in note.codes
                if self.system is None or c.system == self.system
            }
            for c in ranked_codes(codes, self.system):
                g = gold_spans.get((str(c["system"]), str(c["code"])))
                if not g or not self.selection.keeps(c):
                    continue
                p = [
                    (int(e["start"]), int(e["end"]))
                    for e in c.get("evidence") or ()
                    if int(e["end"]) > int(e["start"])
                ]
                self._c["codes"] += 1
                self._c["pred"] += len(p)
                self._c["gold"] += len(g)
                self._c["pred_overlap"] += sum(any(_overlaps(s, t) for t in g) for s in p)
                self._c["gold_overlap"] += sum(any(_overlaps(t, s) for s in p) for t in g)
                self._c["pred_exact"] += sum(s in g for s in p)
                self._c["gold_exact"] += sum(t in p for t in g)

    def compute(self) -> dict[str, float]:
        c = self._c
        out: dict[str, float] = {"n_codes": c["codes"]}
        for kind in ("overlap", "exact"):
            p = c[f"pred_{kind}"] / c["pred"] if c["pred"] else 0.0
            r = c[f"gold_{kind}"] / c["gold"] if c["gold"] else 0.0
            out[f"{kind}_p"] = p
            out[f"{kind}_r"] = r
            out[f"{kind}_f1"] = 2 * p * r / (p + r) if p + r else 0.0
        return out


class AutomationMetrics:
    """Automation rate: share of notes a coder would not need to touch.

    A note (with at least one gold code in `system`) is automated when its `accepted` codes are
    exactly its gold codes: every gold code is suggested and accepted, and no accepted code is
    wrong. Also reports `accepted_note_share`: share of notes with at least one accepted code.
    """

    def __init__(self, system: str | None = None) -> None:
        self.system = system
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self._auto = 0
        self._any = 0

    def update(self, predictions: Sequence[PredCodes], gold: Sequence[LabeledNote]) -> None:
        check_aligned(predictions, gold)
        for codes, note in zip(predictions, gold, strict=True):
            relevant = _gold(note, self.system)
            if not relevant:
                continue
            accepted = {
                (str(c["system"]), str(c["code"]))
                for c in ranked_codes(codes, self.system)
                if c.get("accepted")
            }
            self._n += 1
            self._auto += accepted == relevant
            self._any += bool(accepted)

    def compute(self) -> dict[str, float]:
        n = self._n
        return {
            "automation_rate": self._auto / n if n else 0.0,
            "accepted_note_share": self._any / n if n else 0.0,
            "n_notes": n,
        }


class DistractorMetrics:
    """Distractor false-positive rate.

    For each note, D = its distractor codes as a set of `(system, code)` (restricted to
    `system`), minus any code that is also a gold code of the note (a code can be both, e.g. a
    negated mention next to an affirmed one; it is then not a false positive). S = the selected
    predicted codes. Then
    - `rate` = sum over notes of |D ∩ S| / sum over notes of |D| (pooled over distractor codes);
    - `per_note_rate` = mean over notes with non-empty D of |D ∩ S| / |D|;
    - `notes_with_fp` = share of notes with non-empty D where D ∩ S is non-empty.
    """

    def __init__(self, system: str | None = None, selection: Selection = ACCEPTED) -> None:
        self.system = system
        self.selection = selection
        self.reset()

    def reset(self) -> None:
        self._hits = 0
        self._total = 0
        self._note_rates = 0.0
        self._notes = 0
        self._notes_fp = 0

    def update(self, predictions: Sequence[PredCodes], gold: Sequence[LabeledNote]) -> None:
        check_aligned(predictions, gold)
        for codes, note in zip(predictions, gold, strict=True):
            distractors = {
                (d.system, d.code)
                for d in note.distractors
                if self.system is None or d.system == self.system
            } - note.gold_set()
            if not distractors:
                continue
            chosen = {
                (str(c["system"]), str(c["code"]))
                for c in ranked_codes(codes, self.system)
                if self.selection.keeps(c)
            }
            hits = len(distractors & chosen)
            self._hits += hits
            self._total += len(distractors)
            self._note_rates += hits / len(distractors)
            self._notes += 1
            self._notes_fp += hits > 0

    def compute(self) -> dict[str, float]:
        return {
            "rate": self._hits / self._total if self._total else 0.0,
            "per_note_rate": self._note_rates / self._notes if self._notes else 0.0,
            "notes_with_fp": self._notes_fp / self._notes if self._notes else 0.0,
            "n_distractors": self._total,
            "n_notes": self._notes,
        }
