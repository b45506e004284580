"""Seeded generator of synthetic physician notes with gold codes and evidence spans.

    from data.synthetic import generate_corpus, generate_note
    stats = generate_corpus(n=20000, seed=7, out_dir="corpus/")  # -> stats dict
    note = generate_note(index=0, seed=7)                          # -> one JSON-ready record

See `data/synthetic/README.md` (the dataset card) for what is generated and how.
"""

from data.synthetic.generator import GENERATOR_VERSION, generate_corpus, generate_note

__all__ = ["GENERATOR_VERSION", "generate_corpus", "generate_note"]
