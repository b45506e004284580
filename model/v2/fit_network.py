"""Fine-tuning the v2 network: the top encoder layers and the label-wise attention head.

The frozen bottom of the encoder runs once per training note (its chunk states are kept in
float16); every epoch then runs only the fine-tuned top layers and the head. Loss: binary
cross-entropy over every trained code, summed over codes and averaged over notes. "Residual
dropout" hides the per-code residuals of a random share of codes in each batch, so the shared
description-to-query mapping alone must score them: that is what scores unseen codes at inference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from model.v2.chunking import pad_notes, rejoin_chunks
from model.v2.network import CodeNetwork

log = logging.getLogger(__name__)

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]


def _no_progress(it: Iterable[Any], desc: str, total: int) -> Iterable[Any]:
    return it


def fit_network(
    net: CodeNetwork,
    texts: Sequence[str],
    targets: Sequence[Sequence[int]],
    label_emb: torch.Tensor,
    *,
    epochs: int,
    batch_notes: int = 8,
    lr_head: float = 1e-3,
    lr_encoder: float = 3e-5,
    weight_decay: float = 0.01,
    residual_dropout: float = 0.3,
    seed: int = 0,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Train `net` in place. `targets[i]` lists the trained-label rows of note i; `label_emb` is
    [K, H] with row k the description embedding of trained label k. Returns training statistics.
    """
    n_labels = int(label_emb.shape[0])
    if n_labels != net.head.n_trained:
        raise ValueError(f"{n_labels} label embeddings for a head of {net.head.n_trained} codes")
    if len(texts) != len(targets) or not texts:
        raise ValueError("fit_network needs one target list per note and at least one note")
    if epochs < 1 or batch_notes < 1:
        raise ValueError(f"epochs and batch_notes must be >= 1, got {epochs}, {batch_notes}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    clock = time.perf_counter()
    net.encoder.eval()
    cache: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    # no_grad, not inference_mode: the cached tensors take part in autograd in the epochs.
    with torch.no_grad():
        for text in progress(texts, "encoding (frozen layers)", len(texts)):
            chunks = net.chunk(net.tokenize(text)[0])
            states = net.bottom(chunks.input_ids, chunks.attention_mask)
            cache.append((states.half(), chunks.attention_mask, chunks.content_mask))
    cache_s = time.perf_counter() - clock

    for p in net.encoder.parameters():
        p.requires_grad_(False)
    top = list(net.layers[len(net.layers) - net.train_layers :])
    enc_params = [p for layer in top for p in layer.parameters()]
    for p in enc_params:
        p.requires_grad_(True)
    groups: list[dict[str, Any]] = [{"params": list(net.head.parameters()), "lr": lr_head}]
    if enc_params:
        groups.append({"params": enc_params, "lr": lr_encoder})
    optimiser = torch.optim.AdamW(groups, weight_decay=weight_decay)
    steps = epochs * -(-len(texts) // batch_notes)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / max(1, steps // 10)) * (1 - step / steps)
    )
    y_all = torch.zeros((len(texts), n_labels))
    for i, rows in enumerate(targets):
        if len(rows):
            y_all[i, list(rows)] = 1.0
    all_idx = torch.arange(n_labels)
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    losses: list[float] = []
    for layer in top:
        layer.train()
    net.head.train()
    for _ in progress(range(epochs), "fine-tuning", epochs):
        order = rng.permutation(len(texts))
        total = 0.0
        for s in range(0, len(order), batch_notes):
            batch = order[s : s + batch_notes]
            notes: list[torch.Tensor] = []
            for i in batch:
                cached, att, content = cache[int(i)]
                notes.append(rejoin_chunks(net.top(cached.float(), att), content))
            padded, mask = pad_notes(notes)
            hide = torch.from_numpy(rng.random(n_labels) < residual_dropout)
            idx = torch.where(hide, torch.full_like(all_idx, -1), all_idx)
            scores, _ = net.head(padded, mask, label_emb, idx)
            loss = loss_fn(scores, y_all[torch.from_numpy(batch)]) / len(batch)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        losses.append(round(total / len(texts), 4))
        log.info("epoch %d: mean loss %.4f", len(losses), losses[-1])
    for p in enc_params:
        p.requires_grad_(False)
    net.encoder.eval()
    net.head.eval()
    return {
        "notes": len(texts),
        "labels": n_labels,
        "epochs": epochs,
        "epoch_loss": losses,
        "cache_s": round(cache_s, 1),
        "train_s": round(time.perf_counter() - clock - cache_s, 1),
    }
