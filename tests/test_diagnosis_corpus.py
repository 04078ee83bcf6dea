"""The diagnosis on a corpus of students' submissions (tests/diagnosis_corpus/): every wrong one fails with
the cause a teacher would name, every correct one written another way passes."""

from __future__ import annotations

import pytest

from diagnosis_corpus import SUBMISSIONS, VAGUE, first_failure, outcome, run

WRONG = [s for s in SUBMISSIONS if not s.correct]
RIGHT = [s for s in SUBMISSIONS if s.correct]


def _id(submission) -> str:
    return f"{submission.exercise}:{submission.item or 'correct'}:{submission.cause or submission.what}"


@pytest.mark.parametrize("submission", WRONG, ids=[_id(s) for s in WRONG])
def test_wrong_submission_fails_with_its_cause(tmp_path, submission):
    rows = run(submission, tmp_path)
    assert outcome(submission, rows) == ("vague" if submission.vague else "named right"), (
        f"{submission.what or submission.code}: expected {submission.item} [{submission.cause}], got "
        f"{first_failure(rows)}")


@pytest.mark.parametrize("submission", RIGHT, ids=[_id(s) for s in RIGHT])
def test_correct_submission_written_another_way_passes(tmp_path, submission):
    rows = run(submission, tmp_path)
    assert outcome(submission, rows) == "passed", first_failure(rows)


def test_the_corpus_is_large_and_mostly_outside_the_catalogues():
    outside = [s for s in WRONG if not s.catalogued]
    assert len(WRONG) >= 150 and len(RIGHT) >= 30
    assert len(outside) >= 2 * len(WRONG) / 3
    assert not [s for s in WRONG if s.cause in VAGUE]  # "some constant factor" is no cause to expect
    exercises = {s.exercise for s in WRONG}
    assert exercises == {"local-derivatives", "engine", "tensor-ops", "softmax-cross-entropy", "network-backprop",
                         "deep-network", "training-step", "optimizers", "compare"}
