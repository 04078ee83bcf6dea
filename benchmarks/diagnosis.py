"""How well the exercises' checks name the mistake a student made: the corpus of tests/diagnosis_corpus scored.

For each exercise (and ``compare --backward``): of the wrong submissions, how many were named right (the cause
a teacher would name), vague (they fail, but the sentence names no cause, only where the numbers differ),
given a wrong cause, or not caught (they pass); the same for the ones outside every hand-written catalogue;
how many correct submissions written another way were rejected; and the slowest check (wall-clock seconds;
``taskset -c 0`` runs it on one core).

    .venv/bin/python benchmarks/diagnosis.py [--exercise NAME] [--show]

``--show`` prints each submission that was not named right, with the sentence it got.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "diagnosis_corpus"


def load_corpus():
    """tests/diagnosis_corpus, loaded from its path (the tests folder is not a package)."""
    spec = importlib.util.spec_from_file_location("diagnosis_corpus", CORPUS / "__init__.py",
                                                  submodule_search_locations=[str(CORPUS)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", help="score one exercise only (or compare)")
    parser.add_argument("--show", action="store_true", help="print the submissions not named right")
    args = parser.parse_args()
    corpus = load_corpus()
    submissions = [s for s in corpus.SUBMISSIONS if args.exercise in (None, s.exercise)]
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    slowest: dict[str, float] = collections.defaultdict(float)
    missed = []
    with tempfile.TemporaryDirectory() as folder:
        for submission in submissions:
            started = time.perf_counter()
            rows = corpus.run(submission, Path(folder))
            slowest[submission.exercise] = max(slowest[submission.exercise], time.perf_counter() - started)
            result = corpus.outcome(submission, rows)
            tally = counts[submission.exercise]
            tally[result] += 1
            if not submission.correct and not submission.catalogued:
                tally[f"outside: {result}"] += 1
            if result not in ("named right", "passed"):
                missed.append((submission, result, corpus.first_failure(rows)))
    header = (f"{'exercise':<22} {'wrong':>5} {'named':>5} {'vague':>5} {'wrong cause':>11} {'not caught':>10}   "
              f"{'outside catalogues: named / all':>31}   {'correct rejected':>16}   {'slowest check':>13}")
    print(header)
    print("-" * len(header))
    total: collections.Counter = collections.Counter()
    for exercise, tally in counts.items():
        total.update(tally)
        wrong = sum(tally[o] for o in corpus.OUTCOMES)
        outside = sum(tally[f"outside: {o}"] for o in corpus.OUTCOMES)
        correct = tally["passed"] + tally["rejected"]
        print(f"{exercise:<22} {wrong:>5} {tally['named right']:>5} {tally['vague']:>5} {tally['wrong cause']:>11} "
              f"{tally['not caught']:>10}   {tally['outside: named right']:>15} / {outside:<13}   "
              f"{tally['rejected']:>6} of {correct:<6}   {slowest[exercise]:>11.2f} s")
    wrong = sum(total[o] for o in corpus.OUTCOMES)
    outside = sum(total[f"outside: {o}"] for o in corpus.OUTCOMES)
    print("-" * len(header))
    print(f"{'all':<22} {wrong:>5} {total['named right']:>5} {total['vague']:>5} {total['wrong cause']:>11} "
          f"{total['not caught']:>10}   {total['outside: named right']:>15} / {outside:<13}   "
          f"{total['rejected']:>6} of {total['passed'] + total['rejected']:<6}")
    if outside:
        print(f"\nnamed right outside the catalogues: {100 * total['outside: named right'] / outside:.0f}% "
              f"({total['outside: named right']} of {outside}); wrong ones passing: {total['not caught']}; correct "
              f"ones rejected: {total['rejected']}")
    if args.show:
        for submission, result, shown in missed:
            print(f"\n[{result}] {submission.exercise} {submission.item} expected {submission.cause}: "
                  f"{submission.what or submission.code}\n    {shown}")


if __name__ == "__main__":
    main()
