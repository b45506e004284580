"""The `chartcoder` console script.

Each command group lives in its own module under `chartcoder.commands` and exposes
`register(app)`. Command modules must stay cheap to import: heavy imports (torch,
scikit-learn, the catalog) happen inside the command functions.
"""

from __future__ import annotations

import logging

import typer

from chartcoder.commands import bench, claim, codes, models, retrain, serve, synth, train

app = typer.Typer(
    name="chartcoder",
    help="Suggest ICD-10-CM and CPT/HCPCS codes for physician notes, with evidence.",
    no_args_is_help=True,
    add_completion=False,
)

for _module in (codes, synth, train, bench, serve, models, claim, retrain):
    _module.register(app)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
