"""Calibration of predicted scores: expected calibration error and a reliability diagram.

Every returned code of a note (the whole ranked list, e.g. the top 30 per system) is one binary
forecast: its `score` is the predicted probability that the code is a gold code of the note.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evaluation.datasets import LabeledNote
from evaluation.metrics import PredCodes, check_aligned, ranked_codes


class CalibrationMetrics:
    """Expected calibration error over `n_bins` equal-width score bins, and the Brier score.

    ECE = sum over bins b of (n_b / N) * |accuracy_b - mean score_b|, where accuracy_b is the
    share of codes in bin b that are gold codes. Scores of exactly 1.0 fall in the last bin.
    """

    def __init__(self, system: str | None = None, n_bins: int = 10) -> None:
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1; got {n_bins}")
        self.system = system
        self.n_bins = n_bins
        self.reset()

    def reset(self) -> None:
        self._count = [0] * self.n_bins
        self._conf = [0.0] * self.n_bins
        self._correct = [0] * self.n_bins
        self._brier = 0.0

    def update(self, predictions: Sequence[PredCodes], gold: Sequence[LabeledNote]) -> None:
        check_aligned(predictions, gold)
        for codes, note in zip(predictions, gold, strict=True):
            relevant = note.gold_set(self.system)
            for c in ranked_codes(codes, self.system):
                score = float(c["score"])
                y = (str(c["system"]), str(c["code"])) in relevant
                b = min(int(score * self.n_bins), self.n_bins - 1)
                self._count[b] += 1
                self._conf[b] += score
                self._correct[b] += y
                self._brier += (score - y) ** 2

    def bins(self) -> list[dict[str, float]]:
        """Per bin: lower/upper edge, count, mean score and accuracy (0 where empty)."""
        out = []
        for b in range(self.n_bins):
            n = self._count[b]
            out.append(
                {
                    "lower": b / self.n_bins,
                    "upper": (b + 1) / self.n_bins,
                    "count": n,
                    "mean_score": self._conf[b] / n if n else 0.0,
                    "accuracy": self._correct[b] / n if n else 0.0,
                }
            )
        return out

    def compute(self) -> dict[str, float]:
        total = sum(self._count)
        ece = sum(
            abs(self._correct[b] - self._conf[b]) for b in range(self.n_bins) if self._count[b]
        )
        return {
            "ece": ece / total if total else 0.0,
            "brier": self._brier / total if total else 0.0,
            "n_codes": total,
        }

    def plot(self, path: str | Path, title: str = "") -> Path:
        """Write the reliability diagram (accuracy vs mean score per bin, with counts) as PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        bins = self.bins()
        fig, (ax, ax_n) = plt.subplots(
            2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
        try:
            width = 1.0 / self.n_bins
            lefts = [b["lower"] for b in bins]
            ax.bar(
                lefts,
                [b["accuracy"] for b in bins],
                width=width,
                align="edge",
                edgecolor="black",
                label="accuracy",
            )
            ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
            filled = [b for b in bins if b["count"]]
            ax.plot(
                [b["mean_score"] for b in filled],
                [b["accuracy"] for b in filled],
                "o-",
                color="tab:red",
                label="mean score vs accuracy",
            )
            ax.set_ylabel("share of codes that are gold")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            ece = self.compute()["ece"]
            ax.set_title(f"{title} reliability (ECE {ece:.3f})".strip())
            ax.legend(loc="upper left", fontsize=8)
            ax_n.bar(lefts, [b["count"] for b in bins], width=width, align="edge", color="grey")
            ax_n.set_yscale("symlog")
            ax_n.set_xlabel("predicted score")
            ax_n.set_ylabel("codes")
            fig.tight_layout()
            out = Path(path)
            out.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(out, dpi=100)
        finally:
            plt.close(fig)
        return out
