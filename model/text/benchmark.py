"""Speed of the text pipeline the model runs per request: sections + sentences + context.

    python -m model.text.benchmark [--codiesp DIR] [--notes 100] [--mentions 30] [--out F.json]

Times `detect_sections`, `split_sentences` and `ContextAnalyzer.analyze` (with the sections and
sentences passed in, as the model does) on a 400-word bullet-style note written for this
benchmark, and on the first `--notes` English CodiEsp train texts when `--codiesp` is given.
Mentions are `--mentions` two-word spans spread evenly over each note (the cost depends on how
many there are, not on what they say). Prints a table (medians; for CodiEsp, the mean over notes of
the per-note medians) and optionally writes JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from model.text.context import ContextAnalyzer
from model.text.sections import detect_sections
from model.text.sentences import split_sentences

_NOTE_BLOCK = """\
CC: chest pain and shortness of breath for two days.
HPI: 67 yo woman with HTN, type 2 diabetes and CKD stage 3 presents with substernal chest \
pressure radiating to the left arm, worse with exertion. Denies fever, chills, cough, \
nausea or diaphoresis. No history of MI or stroke. Possible viral illness last week.
PMH:
- Hypertension
- Type 2 diabetes mellitus with neuropathy
- Chronic kidney disease stage 3
PSH: s/p cholecystectomy 2012, status post right knee replacement.
FHx: mother with breast cancer; father had MI at 60. No family history of colon cancer.
Social History: former smoker, quit 2010. Drinks socially. Denies drug use.
Meds: lisinopril 20 mg daily, metformin 1000 mg b.i.d., atorvastatin 40 mg nightly.
Allergies: penicillin (rash).
ROS: Negative for fever, weight loss, headache, abdominal pain. Positive for fatigue and \
exertional dyspnea.
Physical Exam: BP 162/94. HR 96. T 37.1 C. SpO2 95% on room air. Lungs with bibasilar \
crackles. No JVD. Trace bilateral edema. Abdomen soft, non-tender.
ASSESSMENT AND PLAN:
1. Chest pain - concern for unstable angina; rule out MI with serial troponins and ECG.
2. Dyspnea - likely heart failure exacerbation, cannot exclude pneumonia; chest x-ray.
3. HTN - not well controlled, increase lisinopril. If symptoms worsen, return to the ED.
4. DM2 - continue metformin, check HbA1c. Scheduled for stress test next week.
"""


def sample_note(words: int = 400) -> str:
    """A bullet-style note of about `words` words (the block repeated and cut at a line)."""
    text = ""
    while len(text.split()) < words:
        text += _NOTE_BLOCK
    lines, count = [], 0
    for line in text.splitlines(keepends=True):
        if count >= words:
            break
        lines.append(line)
        count += len(line.split())
    return "".join(lines)


def spread_mentions(text: str, count: int) -> list[tuple[int, int]]:
    """`count` two-word spans spread evenly over the words of `text`."""
    words = [m.span() for m in re.finditer(r"\w+", text)]
    if not words:
        return []
    step = max(1, len(words) // max(count, 1))
    out = []
    for i in range(0, len(words), step)[:count]:
        j = min(i + 1, len(words) - 1)
        out.append((words[i][0], words[j][1]))
    return out


def time_pipeline(
    analyzer: ContextAnalyzer, text: str, mentions: Sequence[tuple[int, int]], repeat: int
) -> dict[str, float]:
    """Median milliseconds of each step and of the whole pipeline over `repeat` runs.

    Steps are wall-clock times; `total_cpu` is the process CPU time of the whole pipeline,
    which is steadier than wall time on a shared machine.
    """
    steps: dict[str, list[float]] = {
        "sections": [],
        "sentences": [],
        "context": [],
        "total": [],
        "total_cpu": [],
    }
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        sections = detect_sections(text, analyzer.section_rules)
        t1 = time.perf_counter()
        sentences = split_sentences(text)
        t2 = time.perf_counter()
        analyzer.analyze(text, mentions, sentences=sentences, sections=sections)
        t3 = time.perf_counter()
        steps["total_cpu"].append(time.process_time() - c0)
        steps["sections"].append(t1 - t0)
        steps["sentences"].append(t2 - t1)
        steps["context"].append(t3 - t2)
        steps["total"].append(t3 - t0)
    return {k: round(statistics.median(v) * 1000, 4) for k, v in steps.items()}


def run(
    codiesp: Path | None, notes: int, mentions: int, repeat: int
) -> dict[str, dict[str, float]]:
    analyzer = ContextAnalyzer()
    note = sample_note()
    results: dict[str, dict[str, float]] = {}
    row = time_pipeline(analyzer, note, spread_mentions(note, mentions), repeat)
    row.update(words=len(note.split()), chars=len(note), mentions=mentions, notes=1)
    results["bullet_note_400w"] = row
    if codiesp is not None:
        files = sorted((codiesp / "train" / "text_files_en").glob("*.txt"))[:notes]
        texts = [f.read_text("utf-8") for f in files]
        rows = [
            time_pipeline(analyzer, t, spread_mentions(t, mentions), max(1, repeat // 10))
            for t in texts
        ]
        agg = {k: round(statistics.mean(r[k] for r in rows), 4) for k in rows[0]}
        agg["p95_total"] = round(sorted(r["total"] for r in rows)[int(0.95 * (len(rows) - 1))], 4)
        agg.update(
            words=round(statistics.mean(len(t.split()) for t in texts), 1),
            chars=round(statistics.mean(len(t) for t in texts), 1),
            mentions=mentions,
            notes=len(texts),
        )
        results["codiesp_train_en"] = agg
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codiesp", type=Path, help="CodiEsp root (holding train/text_files_en)")
    parser.add_argument("--notes", type=int, default=100)
    parser.add_argument("--mentions", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    results = run(args.codiesp, args.notes, args.mentions, args.repeat)
    out = sys.stdout
    out.write(
        f"{'corpus':<20} {'notes':>5} {'words':>7} {'mentions':>8} {'sections':>9} "
        f"{'sentences':>9} {'context':>8} {'total ms':>9} {'cpu ms':>7}\n"
    )
    for name, r in results.items():
        out.write(
            f"{name:<20} {r['notes']:>5} {r['words']:>7} {r['mentions']:>8} "
            f"{r['sections']:>9.3f} {r['sentences']:>9.3f} {r['context']:>8.3f} "
            f"{r['total']:>9.3f} {r['total_cpu']:>7.3f}\n"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
