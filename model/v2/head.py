"""Label-wise attention (LAAT / PLM-ICD) whose label vectors come from code descriptions.

Every code k has a description embedding e_k (the encoder's mean-pooled, L2-normalised embedding of
its catalog description). Its attention query and output vector are

    q_k = P_q e_k + dq_k        o_k = P_o e_k + do_k        b_k = b_0 + db_k

with P_q and P_o initialised to the identity (so each query starts as the description embedding)
and the per-code residuals dq_k, do_k, db_k (zero at start) existing only for codes seen in
training. A code never seen in training uses the shared part alone: the same head scores it
zero-shot from its description.

For note states h_t (t over every token of the note) with padding mask m_t:

    z_t    = tanh(W h_t + c)
    a_kt   = softmax_t(z_t . q_k  where m_t, -inf elsewhere)
    v_k    = sum_t a_kt h_t
    s_k    = alpha * cos(v_k, o_k) + b_k
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LabelWiseAttention(nn.Module):
    """The head. `n_trained` codes own residuals; index -1 means "no residual" (zero-shot)."""

    def __init__(self, hidden: int, n_trained: int, *, bias_init: float = -6.0) -> None:
        super().__init__()
        if hidden < 1 or n_trained < 0:
            raise ValueError(f"hidden must be >= 1 and n_trained >= 0, got {hidden}, {n_trained}")
        self.hidden = hidden
        self.n_trained = n_trained
        self.token_proj = nn.Linear(hidden, hidden)
        self.query_proj = nn.Linear(hidden, hidden, bias=False)
        self.output_proj = nn.Linear(hidden, hidden, bias=False)
        with torch.no_grad():
            self.token_proj.weight.copy_(torch.eye(hidden))
            self.token_proj.bias.zero_()
            self.query_proj.weight.copy_(torch.eye(hidden))
            self.output_proj.weight.copy_(torch.eye(hidden))
        # Row n_trained is the all-zero residual of codes without training examples.
        self.query_delta = nn.Embedding(n_trained + 1, hidden, padding_idx=n_trained)
        self.output_delta = nn.Embedding(n_trained + 1, hidden, padding_idx=n_trained)
        self.bias_delta = nn.Embedding(n_trained + 1, 1, padding_idx=n_trained)
        for emb in (self.query_delta, self.output_delta, self.bias_delta):
            nn.init.zeros_(emb.weight)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(10.0)))
        self.bias = nn.Parameter(torch.tensor(float(bias_init)))

    def _label_vectors(
        self, label_emb: torch.Tensor, label_idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.where(label_idx < 0, torch.full_like(label_idx, self.n_trained), label_idx)
        q = self.query_proj(label_emb) + self.query_delta(idx)  # [K, H]
        o = self.output_proj(label_emb) + self.output_delta(idx)  # [K, H]
        b = self.bias + self.bias_delta(idx).squeeze(-1)  # [K]
        return q, o, b

    def forward(
        self,
        states: torch.Tensor,
        mask: torch.Tensor,
        label_emb: torch.Tensor,
        label_idx: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Score K codes for B notes.

        states:    [B, T, H] token states of each whole note (rejoined chunks, zero padded)
        mask:      [B, T] bool, True for real tokens; padding never receives attention
        label_emb: [K, H] description embeddings of the codes to score
        label_idx: [K] long, the code's trained-label row, or -1 for a code with no residual
        returns:   scores [B, K] (logits) and attention [B, K, T] (zero on padding; all zero for
                   a note without tokens, whose scores are then the biases b_k)
        """
        if states.dim() != 3 or mask.shape != states.shape[:2]:
            raise ValueError(
                f"states must be [B, T, H] with mask [B, T]; got {tuple(states.shape)} and "
                f"{tuple(mask.shape)}"
            )
        if label_emb.dim() != 2 or label_emb.shape[0] != label_idx.shape[0]:
            raise ValueError(
                f"label_emb [K, H] and label_idx [K] disagree: {tuple(label_emb.shape)}, "
                f"{tuple(label_idx.shape)}"
            )
        q, o, b = self._label_vectors(label_emb, label_idx)
        z = torch.tanh(self.token_proj(states))  # [B, T, H]
        logits = torch.einsum("bth,kh->bkt", z, q)  # [B, K, T]
        keep = mask[:, None, :]
        logits = logits.masked_fill(~keep, torch.finfo(logits.dtype).min)
        attention = torch.softmax(logits, dim=-1) * keep  # [B, K, T]
        pooled = torch.einsum("bkt,bth->bkh", attention, states)  # [B, K, H]
        cos = nn.functional.cosine_similarity(pooled, o[None, :, :], dim=-1, eps=1e-6)  # [B, K]
        scores = self.log_alpha.exp() * cos + b[None, :]
        return scores, attention

    def attributions(
        self, states: torch.Tensor, label_emb: torch.Tensor, label_idx: torch.Tensor
    ) -> torch.Tensor:
        """Attention x gradient-times-input of every token to every code, in closed form.

        states:    [T, H] token states of one note (the head's input)
        label_emb: [K, H], label_idx: [K] as in `forward`
        returns:   [K, T] with entry (k, t) = a_kt * (dS_k/dh_t . h_t), the full gradient
                   (through the pooled vector and through the attention weights)

        With g_k = dS_k/dv_k, r_kt = g_k . h_t and e_kt = a_kt (r_kt - sum_u a_ku r_ku):
        dS_k/dh_t . h_t = a_kt r_kt + e_kt ((1 - z_t^2) * W h_t) . q_k.
        """
        with torch.no_grad():
            q, o, _ = self._label_vectors(label_emb, label_idx)  # [K, H]
            linear = states @ self.token_proj.weight.T  # [T, H], W h_t
            z = torch.tanh(linear + self.token_proj.bias)  # [T, H]
            attention = torch.softmax(z @ q.T, dim=0).T  # [K, T]
            pooled = attention @ states  # [K, H]
            v_norm = pooled.norm(dim=-1, keepdim=True).clamp(min=1e-6)
            o_norm = o.norm(dim=-1, keepdim=True).clamp(min=1e-6)
            cos = (pooled * o).sum(-1, keepdim=True) / (v_norm * o_norm)
            g = self.log_alpha.exp() * (o / (v_norm * o_norm) - cos * pooled / v_norm**2)
            r = g @ states.T  # [K, T]
            e = attention * (r - (attention * r).sum(-1, keepdim=True))
            through_attention = e * (q @ ((1 - z**2) * linear).T)  # [K, T]
            result: torch.Tensor = attention * (attention * r + through_attention)
        return result
