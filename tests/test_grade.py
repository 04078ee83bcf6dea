"""``tinygrad-edu grade`` on a small generated class, its resume after ``kill -9``, and the two exports (a
Gradescope autograder run against a fake /autograder tree, a GitHub Classroom workflow's structure)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from tinygrad_edu.exercises import get
from tinygrad_edu.grading.export import github_classroom_workflow

EXERCISES = ["optimizers", "local-derivatives"]


def make_class(folder: Path, copies: int = 1) -> dict[str, tuple[int, int]]:
    """Correct, wrong, hostile, empty and stub submissions; returns each student's expected items passed."""
    optimizers, local = get("optimizers").solution(), get("local-derivatives").solution()
    kinds = {
        "correct": ({"optimizers.py": optimizers, "local_derivatives.py": local}, 10),
        "wrong": ({"optimizers.py": optimizers.replace("velocity += grad", "velocity += 2 * grad"),
                   "local_derivatives.py": local}, 9),
        "hostile": ({"optimizers.py": "import os\nos._exit(0)\n", "local_derivatives.py":
                     "from tinygrad_edu.exercises.solutions.local_derivatives import *\n"}, 0),
        "cheat": ({"optimizers.py": optimizers, "local_derivatives.py":
                   "try:\n    import tinygrad_edu.exercises.solutions.local_derivatives as s\nexcept ImportError:\n"
                   "    pass\n" + local}, 2),
        "empty": ({}, 0),
        "stub": ({"optimizers.py": get("optimizers").stub()}, 0),
    }
    expected = {}
    for copy in range(copies):
        for kind, (files, passed) in kinds.items():
            student = folder / f"{kind}{copy}"
            student.mkdir(parents=True)
            for name, text in files.items():
                (student / name).write_text(text)
            expected[student.name] = (passed, 10)
    return expected


def grade(submissions: Path, out: Path, *extra: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tinygrad_edu", "grade", str(submissions), "--out", str(out),
                             "--exercises", ",".join(EXERCISES), "--time-limit", "5", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def read_grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_grade_a_class(tmp_path):
    submissions = tmp_path / "submissions"
    expected = make_class(submissions)
    before = {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()}
    done = grade(submissions, tmp_path / "out", "-j", "2")
    stdout, stderr = done.communicate(timeout=600)
    assert done.returncode == 0, stderr
    grades = read_grades(tmp_path / "out")
    for student, (passed, total) in expected.items():
        assert (int(grades[student]["items_passed"]), int(grades[student]["items_total"])) == (passed, total), student
    assert "imports the solution" in grades["cheat0"]["diagnosis"]
    assert "exited early" in grades["hostile0"]["diagnosis"]
    assert grades["wrong0"]["first_failing"] == "optimizers: momentum_step"
    assert {p: p.read_bytes() for p in submissions.rglob("*") if p.is_file()} == before  # never modified
    results = json.loads((tmp_path / "out" / "gradescope" / "wrong0" / "results.json").read_text())
    assert results["score"] == 9.0 and len(results["tests"]) == 10
    assert all({"name", "score", "max_score", "output", "visibility"} <= set(t) for t in results["tests"])
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert sum(int(s.get("failures")) for s in junit) == sum(t - p for p, t in expected.values())
    assert "most frequent mistakes" in stdout and "6 students graded" in stdout
    assert (tmp_path / "out" / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_after_kill_gives_the_same_grades(tmp_path):
    submissions = tmp_path / "submissions"
    make_class(submissions)
    whole = grade(submissions, tmp_path / "whole", "-j", "2")
    assert whole.wait(timeout=600) == 0
    stopped = grade(submissions, tmp_path / "resumed", "-j", "1", start_new_session=True)
    cache = tmp_path / "resumed" / ".results"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(cache.glob("*.json"))) < 2:
        time.sleep(0.1)
    os.killpg(stopped.pid, signal.SIGKILL)  # the grader and everything it started, mid-class
    stopped.wait()
    assert not (tmp_path / "resumed" / "grades.csv").exists()
    resumed = grade(submissions, tmp_path / "resumed", "-j", "2")
    stdout, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0
    assert "unchanged since the last run" in stdout and " 0 unchanged" not in stdout
    assert (tmp_path / "resumed" / "grades.csv").read_text() == (tmp_path / "whole" / "grades.csv").read_text()


def test_bad_usage_exits_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "grade", str(tmp_path / "nothing"), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2 and "no such folder" in done.stderr
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "grade", str(tmp_path), "--out", str(tmp_path / "o"),
                           "--exercises", "nope"], capture_output=True, text=True)
    assert done.returncode == 2 and "no exercise called 'nope'" in done.stderr


def test_gradescope_autograder_against_a_fake_tree(tmp_path):
    archive = tmp_path / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", "grade", "--gradescope-autograder", str(archive),
                           "--exercises", "optimizers", "--time-limit", "5"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder", "tinygrad_edu_src/pyproject.toml"} <= set(names)
        assert (z.getinfo("run_autograder").external_attr >> 16) & 0o111
        z.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "optimizers.py").write_text(
        get("optimizers").solution().replace("velocity += grad", "velocity += 2 * grad"))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    ran = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True, env=env)
    assert ran.returncode == 0, ran.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 1.0
    failed = [t for t in results["tests"] if t["score"] == 0]
    assert [t["name"] for t in failed] == ["optimizers: momentum_step"] and "differs" in failed[0]["output"]


def test_github_classroom_workflow_structure():
    workflow = yaml.safe_load(github_classroom_workflow(EXERCISES, 10))
    job = workflow["jobs"]["run-autograding-tests"]
    graders = [s for s in job["steps"] if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    assert [s["with"]["test-name"] for s in graders] == EXERCISES
    assert all(s["with"]["command"].startswith(f"tinygrad-edu exercise check {s['with']['test-name']} ")
               for s in graders)
    reporter = job["steps"][-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter")
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    assert set(reporter["env"]) == {f"{s['id'].upper()}_RESULTS" for s in graders}
    assert workflow["permissions"]["checks"] == "write"


def test_each_student_gets_their_own_numbers(tmp_path):
    """A file that hard-codes the answer of the fixed problem passes `exercise check`, not `grade`."""
    import numpy as np

    from tinygrad_edu.exercises.checks import softmax_cross_entropy as check
    from tinygrad_edu.grading.marking import grade_exercise
    from tinygrad_edu.sandbox import Limits

    v = check.problem()
    answer = np.array2string(v["dLP"] / v["P"], precision=17, separator=",", threshold=10**6)
    (tmp_path / "softmax_cross_entropy.py").write_text(
        f"import numpy as np\n\ndef grad_of_log(dLP, P):\n    return np.array({answer})\n")
    fixed = grade_exercise("softmax-cross-entropy", tmp_path, Limits(seconds=5))
    assert {i["item"]: i["status"] for i in fixed["items"]}["grad_of_log"] == "pass"
    for student in ("alice", "bob"):
        theirs = grade_exercise("softmax-cross-entropy", tmp_path, Limits(seconds=5), student=student)
        assert {i["item"]: i["status"] for i in theirs["items"]}["grad_of_log"] == "FAIL", theirs
