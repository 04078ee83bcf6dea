"""What ``grade`` writes, each file atomically: grades.csv, Gradescope results.json, JUnit XML, the summary.

A student's result is the plain dict of :func:`tinygrad_edu.grading.marking.grade_student`: for each exercise
its items (``status`` "pass" / "FAIL" / "not written yet" / "not submitted", ``diagnosis``, ``mistake``).
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from tinygrad_edu.support.atomic import atomic_write

Result = dict[str, Any]


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path) as out:
        out.write(text.encode("utf-8"))


def one_line(text: str) -> str:
    return " ".join(text.split())


def first_failure(result: Result) -> tuple[str, str]:
    """``("exercise: item", diagnosis)`` of the first item that does not pass, or ("", "")."""
    for exercise in result["exercises"]:
        for item in exercise["items"]:
            if item["status"] != "pass":
                return f"{exercise['exercise']}: {item['item']}", one_line(item["diagnosis"] or item["status"])
    return "", ""


def score(result: Result) -> tuple[int, int]:
    return (sum(e["passed"] for e in result["exercises"]), sum(e["total"] for e in result["exercises"]))


def write_csv(path: Path, results: list[Result], exercises: list[str]) -> None:
    """One row per student: the score (items passed / total), each exercise's fraction, the first failure."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "items_passed", "items_total", *exercises, "first_failing", "diagnosis"])
    for result in sorted(results, key=lambda r: r["student"]):
        passed, total = score(result)
        by_name = {e["exercise"]: e for e in result["exercises"]}
        fractions = [f"{by_name[n]['passed']}/{by_name[n]['total']}" for n in exercises]
        writer.writerow([result["student"], f"{passed / total:.4f}" if total else "0", passed, total, *fractions,
                         *first_failure(result)])
    _write_text(path, buffer.getvalue())


def gradescope(result: Result) -> dict[str, Any]:
    """Gradescope's results.json: one test per item, worth 1 point; its output is our diagnosis."""
    tests = []
    for exercise in result["exercises"]:
        for item in exercise["items"]:
            passed = item["status"] == "pass"
            tests.append({"name": f"{exercise['exercise']}: {item['item']}", "score": 1.0 if passed else 0.0,
                          "max_score": 1.0, "status": "passed" if passed else "failed",
                          "output": "" if passed else (item["diagnosis"] or item["status"]), "visibility": "visible"})
    passed, total = score(result)
    return {"score": float(passed), "output": f"{passed} of {total} items pass", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def write_gradescope(path: Path, result: Result) -> None:
    _write_text(path, json.dumps(gradescope(result), indent=2) + "\n")


def write_junit(path: Path, results: list[Result]) -> None:
    """A JUnit XML report: a test suite per student and exercise, a test case per item."""
    suites = ET.Element("testsuites", name="tinygrad-edu grade")
    for result in sorted(results, key=lambda r: r["student"]):
        for exercise in result["exercises"]:
            failures = sum(i["status"] != "pass" for i in exercise["items"])
            suite = ET.SubElement(suites, "testsuite", name=f"{result['student']}.{exercise['exercise']}",
                                  tests=str(exercise["total"]), failures=str(failures), errors="0")
            for item in exercise["items"]:
                case = ET.SubElement(suite, "testcase", classname=f"{result['student']}.{exercise['exercise']}",
                                     name=item["item"])
                if item["status"] != "pass":
                    failure = ET.SubElement(case, "failure", message=one_line(item["diagnosis"] or item["status"])[:500],
                                            type=item["mistake"] or item["status"])
                    failure.text = item["diagnosis"] or item["status"]
    ET.indent(suites)
    _write_text(path, ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")


def mistakes(results: list[Result]) -> dict[str, Counter]:
    """For each exercise, how many students made each diagnosed mistake (a catalogued one by name; an item
    that fails without one counts as "wrong <item>")."""
    counts: dict[str, Counter] = {}
    for result in results:
        for exercise in result["exercises"]:
            seen = set()
            for item in exercise["items"]:
                if item["status"] == "pass":
                    continue
                label = item["mistake"] or (item["status"] if item["status"] != "FAIL" else f"wrong {item['item']}")
                seen.add(label)
            counts.setdefault(exercise["exercise"], Counter()).update(seen)
    return counts


def summary(results: list[Result], exercises: list[str], top: int = 3) -> str:
    """The class at a glance: students, the distribution of scores, each exercise's most frequent mistakes."""
    lines = [f"{len(results)} students, {len(exercises)} exercises", "", "score (items passed)   students"]
    bins = Counter(min(int(10 * p / t), 9) if t else 0 for p, t in map(score, results))
    for b in range(10):
        lines.append(f"{10 * b:>3}-{10 * b + 10:<3}%             {bins.get(b, 0):>5}  {'#' * bins.get(b, 0)}"[:100])
    lines += ["", "most frequent mistakes per exercise (students)"]
    counts = mistakes(results)
    width = max(len(n) for n in exercises)
    for name in exercises:
        done = sum(1 for r in results for e in r["exercises"] if e["exercise"] == name and e["passed"] == e["total"])
        common = ", ".join(f"{label} ({n})" for label, n in counts.get(name, Counter()).most_common(top)) or "-"
        lines.append(f"{name.ljust(width)}  all pass: {done:>4}  {common}")
    return "\n".join(lines) + "\n"


def plot_summary(path: Path, results: list[Result], exercises: list[str], top: int = 12) -> Path | None:
    """A PNG: the distribution of scores, and the most frequent mistakes across the class (None without
    matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    flat = Counter()
    for name, counter in mistakes(results).items():
        flat.update({f"{name}: {label}": n for label, n in counter.items()})
    common = flat.most_common(top)[::-1]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1, 2]})
    scores = [100 * p / t if t else 0 for p, t in map(score, results)]
    left.hist(scores, bins=range(0, 101, 10), color="#3f51b5", edgecolor="white")
    left.set(xlabel="score (% of items passed)", ylabel="students", title=f"{len(results)} students")
    right.barh([label for label, _ in common], [n for _, n in common], color="#ff7043")
    right.set(xlabel="students", title="most frequent mistakes")
    right.tick_params(axis="y", labelsize=8)
    from matplotlib.ticker import MaxNLocator

    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    with atomic_write(path) as out:
        out.write(buffer.getvalue())
    return path
