"""The v2 network: a BERT-family encoder over note chunks plus the label-wise attention head.

The encoder's layers split in two: the bottom `n_layers - train_layers` stay frozen (their output
can be computed once per training note and reused every epoch), the top `train_layers` are
fine-tuned with the head. At inference every layer runs once per chunk, chunks batched together.

Tokenisation uses the fast (Rust) tokenizer directly, so every token keeps its character offsets
into the exact note text. The fitted network pickles as plain data (encoder config, tensors,
tokenizer JSON): loading it never reads the encoder package or a hub.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from tokenizers import Tokenizer
from torch import nn

from model.v2.chunking import Chunks, chunk_token_ids, pad_notes, rejoin_chunks
from model.v2.head import LabelWiseAttention


def _layer_out(out: Any) -> torch.Tensor:
    states: torch.Tensor = out[0] if isinstance(out, tuple) else out  # 4.x returns tuples
    return states


class CodeNetwork:
    """Encoder + tokenizer + head. Not an `nn.Module` itself: it owns two modules and pickles as
    data (`__getstate__`)."""

    def __init__(
        self,
        encoder: nn.Module,
        tokenizer: Tokenizer,
        head: LabelWiseAttention,
        *,
        chunk_size: int = 256,
        max_chunks: int = 32,
        train_layers: int = 1,
    ) -> None:
        layers = getattr(getattr(encoder, "encoder", None), "layer", None)
        if layers is None or not hasattr(encoder, "embeddings"):
            raise ValueError("the encoder must be a BERT-family model (embeddings + encoder.layer)")
        if not 0 <= train_layers <= len(layers):
            raise ValueError(f"train_layers must be in [0, {len(layers)}], got {train_layers}")
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.head = head
        self.chunk_size = chunk_size
        self.max_chunks = max_chunks
        self.train_layers = train_layers
        self._ids = {name: _token_id(tokenizer, name) for name in ("[CLS]", "[SEP]", "[PAD]")}

    # ------------------------------------------------------------------ building / pickling
    @classmethod
    def from_pretrained(cls, path: str, n_trained: int, **kwargs: Any) -> CodeNetwork:
        """Load an encoder folder (config, weights, `tokenizer.json`) from local disk only."""
        from pathlib import Path

        from transformers import AutoModel

        encoder = AutoModel.from_pretrained(path, local_files_only=True)
        tok_file = Path(path) / "tokenizer.json"
        if not tok_file.is_file():
            raise ValueError(f"{path}: tokenizer.json (a fast tokenizer) is missing")
        tokenizer = Tokenizer.from_file(str(tok_file))
        head = LabelWiseAttention(int(encoder.config.hidden_size), n_trained)
        return cls(encoder.eval(), tokenizer, head, **kwargs)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "encoder_config": self.encoder.config.to_dict(),  # type: ignore[union-attr,operator]
            "encoder_state": {k: v.detach().clone() for k, v in self.encoder.state_dict().items()},
            "tokenizer": self.tokenizer.to_str(),
            "hidden": self.head.hidden,
            "n_trained": self.head.n_trained,
            "head_state": self.head.state_dict(),
            "chunk_size": self.chunk_size,
            "max_chunks": self.max_chunks,
            "train_layers": self.train_layers,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        from transformers import AutoModel
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING

        cfg = dict(state["encoder_config"])
        config = CONFIG_MAPPING[cfg["model_type"]].from_dict(cfg)
        encoder = AutoModel.from_config(config)  # type: ignore[no-untyped-call]
        encoder.load_state_dict(state["encoder_state"])
        head = LabelWiseAttention(state["hidden"], state["n_trained"])
        head.load_state_dict(state["head_state"])
        self.__init__(  # type: ignore[misc]
            encoder.eval(),
            Tokenizer.from_str(state["tokenizer"]),
            head.eval(),
            chunk_size=state["chunk_size"],
            max_chunks=state["max_chunks"],
            train_layers=state["train_layers"],
        )

    # ------------------------------------------------------------------ tokens and chunks
    @property
    def hidden(self) -> int:
        return self.head.hidden

    @property
    def layers(self) -> nn.ModuleList:
        return self.encoder.encoder.layer  # type: ignore[union-attr,return-value]

    def tokenize(self, text: str) -> tuple[list[int], npt.NDArray[np.int64]]:
        """Word-piece ids (no special tokens) and their [T, 2] character offsets into `text`,
        cut to what `max_chunks` chunks hold."""
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        keep = self.max_chunks * (self.chunk_size - 2)
        ids = list(enc.ids[:keep])
        offsets = np.asarray(enc.offsets[:keep], dtype=np.int64).reshape(-1, 2)
        return ids, offsets

    def chunk(self, ids: Sequence[int]) -> Chunks:
        return chunk_token_ids(
            ids,
            chunk_size=self.chunk_size,
            cls_id=self._ids["[CLS]"],
            sep_id=self._ids["[SEP]"],
            pad_id=self._ids["[PAD]"],
            max_chunks=self.max_chunks,
        )

    # ------------------------------------------------------------------ encoder passes
    def _mask(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        try:
            from transformers.masking_utils import create_bidirectional_mask
        except ImportError:  # transformers 4.x: additive float mask
            ext: torch.Tensor = self.encoder.get_extended_attention_mask(  # type: ignore[operator]
                attention_mask, attention_mask.shape
            )
            return ext
        mask: torch.Tensor = create_bidirectional_mask(
            config=self.encoder.config, inputs_embeds=states, attention_mask=attention_mask
        )
        return mask

    def bottom(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Embeddings and the frozen layers. input_ids, attention_mask [C, L] -> [C, L, H]."""
        states: torch.Tensor = self.encoder.embeddings(input_ids=input_ids)  # type: ignore[operator]
        mask = self._mask(states, attention_mask)
        for layer in self.layers[: len(self.layers) - self.train_layers]:
            states = _layer_out(layer(states, attention_mask=mask))
        return states

    def top(self, states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The fine-tuned layers. states [C, L, H], attention_mask [C, L] -> [C, L, H]."""
        if self.train_layers == 0:
            return states
        mask = self._mask(states, attention_mask)
        for layer in self.layers[len(self.layers) - self.train_layers :]:
            states = _layer_out(layer(states, attention_mask=mask))
        return states

    def encode(self, chunks: Chunks, *, batch: int = 16) -> torch.Tensor:
        """Final token states of one note: [T, H] (no gradient)."""
        n = int(chunks.input_ids.shape[0])
        # Only the last chunk can be short: it runs alone, without its padding columns.
        bounds = [(s, min(s + batch, n - 1)) for s in range(0, n - 1, batch)] + [(n - 1, n)]
        parts = []
        with torch.inference_mode():
            for lo, hi in bounds:
                att = chunks.attention_mask[lo:hi]
                width = int(att.sum(1).max())
                ids, att = chunks.input_ids[lo:hi, :width], att[:, :width]
                out = self.top(self.bottom(ids, att), att)
                parts.append(nn.functional.pad(out, (0, 0, 0, self.chunk_size - width)))
        return rejoin_chunks(torch.cat(parts), chunks.content_mask)

    def embed_texts(self, texts: Sequence[str], *, batch: int = 256) -> npt.NDArray[np.float32]:
        """Mean-pooled, L2-normalised encoder embeddings of short texts: [N, H]."""
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return out
        limit = self.chunk_size
        all_ids = [e.ids[:limit] for e in self.tokenizer.encode_batch(list(texts))]
        # Batches of similar length: little padding to compute.
        order = sorted(range(len(all_ids)), key=lambda i: len(all_ids[i]))
        with torch.inference_mode():
            for s in range(0, len(order), batch):
                rows = order[s : s + batch]
                width = max(len(all_ids[i]) for i in rows)
                ids = torch.full((len(rows), width), self._ids["[PAD]"], dtype=torch.long)
                att = torch.zeros((len(rows), width), dtype=torch.long)
                for j, i in enumerate(rows):
                    ids[j, : len(all_ids[i])] = torch.tensor(all_ids[i], dtype=torch.long)
                    att[j, : len(all_ids[i])] = 1
                states = self.top(self.bottom(ids, att), att)
                weights = att.unsqueeze(-1).to(states.dtype)
                pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                out[rows] = nn.functional.normalize(pooled, dim=-1).numpy()
        return out

    # ------------------------------------------------------------------ scoring
    def score(
        self, states: torch.Tensor, label_emb: torch.Tensor, label_idx: torch.Tensor
    ) -> torch.Tensor:
        """Logits [K] of K codes for one note's states [T, H] (no gradient)."""
        with torch.inference_mode():
            padded, mask = pad_notes([states])
            scores, _ = self.head(padded, mask, label_emb, label_idx)
        first: torch.Tensor = scores[0]
        return first

    def attributions(
        self, states: torch.Tensor, label_emb: torch.Tensor, label_idx: torch.Tensor
    ) -> npt.NDArray[np.float32]:
        """Attention x gradient-times-input of each token to each code: [K, T] (closed form, see
        `LabelWiseAttention.attributions`)."""
        n_codes, n_tokens = int(label_emb.shape[0]), int(states.shape[0])
        if n_codes == 0 or n_tokens == 0:
            return np.zeros((n_codes, n_tokens), dtype=np.float32)
        out: npt.NDArray[np.float32] = (
            self.head.attributions(states, label_emb, label_idx).numpy().astype(np.float32)
        )
        return out


def _token_id(tokenizer: Tokenizer, name: str) -> int:
    tid = tokenizer.token_to_id(name)
    if tid is None:
        raise ValueError(f"the tokenizer has no {name} token")
    return int(tid)
