"""The label-wise attention head: shapes, padding mask, zero-shot scoring from descriptions."""

from __future__ import annotations

import pytest
import torch

from model.v2.chunking import pad_notes
from model.v2.head import LabelWiseAttention

H, K = 16, 5


@pytest.fixture()
def head() -> LabelWiseAttention:
    torch.manual_seed(0)
    h = LabelWiseAttention(H, n_trained=3)
    with torch.no_grad():  # non-zero residuals, as after training
        for p in h.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return h.eval()


def _labels() -> tuple[torch.Tensor, torch.Tensor]:
    emb = torch.nn.functional.normalize(torch.randn(K, H), dim=-1)
    return emb, torch.tensor([0, 1, 2, -1, -1])


def test_head_shapes(head: LabelWiseAttention) -> None:
    emb, idx = _labels()
    states, mask = pad_notes([torch.randn(7, H), torch.randn(4, H)])
    scores, attention = head(states, mask, emb, idx)
    assert scores.shape == (2, K)
    assert attention.shape == (2, K, 7)
    assert torch.allclose(attention.sum(-1), torch.ones(2, K))
    assert attention[1, :, 4:].eq(0).all()  # padding gets no attention


def test_head_padding_does_not_change_scores(head: LabelWiseAttention) -> None:
    emb, idx = _labels()
    note = torch.randn(6, H)
    alone, _ = head(*pad_notes([note]), emb, idx)
    states, mask = pad_notes([note, torch.randn(40, H)])  # padded to 40 tokens
    padded, _ = head(states, mask, emb, idx)
    states[0, 6:] = 123.0  # garbage under the mask changes nothing
    garbage, _ = head(states, mask, emb, idx)
    assert torch.allclose(alone[0], padded[0], atol=1e-5)
    assert torch.allclose(alone[0], garbage[0], atol=1e-5)


def test_head_empty_note_scores_are_the_biases(head: LabelWiseAttention) -> None:
    emb, idx = _labels()
    scores, attention = head(*pad_notes([torch.zeros(0, H)]), emb, idx)
    assert torch.isfinite(scores).all()
    assert attention.eq(0).all()
    expected = head.bias + head.bias_delta(torch.tensor([0, 1, 2, 3, 3])).squeeze(-1)
    assert torch.allclose(scores[0], expected)


def test_head_scores_untrained_codes_from_their_description(head: LabelWiseAttention) -> None:
    """A code without residuals (index -1) is scored zero-shot: its score follows its description
    embedding, and a note that repeats the description scores it higher than an unrelated one."""
    torch.manual_seed(1)
    fresh = LabelWiseAttention(H, n_trained=0).eval()  # shared part only, as initialised
    desc = torch.nn.functional.normalize(torch.randn(2, H), dim=-1)
    idx = torch.tensor([-1, -1])
    note = desc[0].repeat(5, 1) * 3 + 0.01 * torch.randn(5, H)  # tokens that look like code 0
    scores, _ = fresh(*pad_notes([note]), desc, idx)
    assert scores[0, 0] > scores[0, 1]
    # Residuals of trained codes never leak into untrained ones.
    a, _ = head(*pad_notes([note]), desc, torch.tensor([-1, -1]))
    b, _ = head(*pad_notes([note]), desc, torch.tensor([0, -1]))
    assert torch.allclose(a[0, 1], b[0, 1]) and not torch.allclose(a[0, 0], b[0, 0])


def test_head_rejects_mismatched_inputs(head: LabelWiseAttention) -> None:
    emb, _ = _labels()
    states, mask = pad_notes([torch.randn(3, H)])
    with pytest.raises(ValueError, match="label_emb"):
        head(states, mask, emb, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="states"):
        head(states[0], mask, emb, torch.tensor([0, 1, 2, -1, -1]))


def test_fit_network_fine_tunes_top_layers(tiny_encoder_dir) -> None:  # type: ignore[no-untyped-def]
    """With train_layers=1 the top encoder layer changes and the bottom one does not."""
    from model.v2.fit_network import fit_network
    from model.v2.network import CodeNetwork

    net = CodeNetwork.from_pretrained(str(tiny_encoder_dir), 3, chunk_size=16, train_layers=1)
    before = [p.detach().clone() for p in net.encoder.parameters()]
    texts = ["essential hypertension on lisinopril " * 3, "type 2 diabetes, a1c 7.2", ""]
    emb = torch.from_numpy(net.embed_texts(["hypertension", "diabetes", "asthma"]))
    stats = fit_network(net, texts, [[0], [1], []], emb, epochs=2, batch_notes=2, lr_encoder=1e-2)
    assert stats["epoch_loss"][-1] < stats["epoch_loss"][0]
    bottom, top = net.layers[0], net.layers[1]
    changed = {
        id(p) for p, b in zip(net.encoder.parameters(), before, strict=True) if not p.equal(b)
    }
    assert all(id(p) in changed for p in top.parameters())
    assert not any(id(p) in changed for p in bottom.parameters())


def test_head_attributions_match_autograd(head: LabelWiseAttention) -> None:
    emb, idx = _labels()
    states = torch.randn(9, H)
    x = states.clone().unsqueeze(0).requires_grad_(True)
    scores, attention = head(x, torch.ones(1, 9, dtype=torch.bool), emb, idx)
    expected = []
    for k in range(K):
        (grad,) = torch.autograd.grad(scores[0, k], x, retain_graph=True)
        expected.append(attention[0, k].detach() * (grad[0] * states).sum(-1))
    got = head.attributions(states, emb, idx)
    assert got.shape == (K, 9)
    assert torch.allclose(got, torch.stack(expected), atol=1e-5)
