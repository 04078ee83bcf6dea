"""The diagnosis's pieces: the candidates' formulas against independent references, the sentences of the
side effects and contracts, and the one float32 rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import manual
from tinygrad_edu.exercises import check
from tinygrad_edu.exercises.candidates import Scope, name, neighbours
from tinygrad_edu.exercises.checks import local_derivatives, network_backprop
from tinygrad_edu.exercises.diagnose import DTYPE_RULE, diagnose
from tinygrad_edu.exercises.items import key_problem
from tinygrad_edu.tensor import Tensor


def test_the_network_formulas_give_manual_backward():
    params, x, y = network_backprop.problem()
    cache = manual.forward(params, x, y)
    correct = manual.backward(params, cache, y)
    values = {**cache, **params, "Y": np.eye(10)[y], **correct}
    for grad, formula in network_backprop.formulas(len(y)).items():
        np.testing.assert_allclose(formula.evaluate(values), correct[grad], rtol=1e-12, atol=1e-15, err_msg=grad)


def test_the_local_derivative_formulas_give_the_engines_gradients():
    values = local_derivatives._inputs()
    for function, (forward, keys, _, _) in local_derivatives._ops().items():
        arrays = [values[k] for k in keys]
        tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
        forward(*tensors).backward(values["g"])
        env = dict(zip(("a", "b"), arrays), g=values["g"])
        for formula, tensor in zip(local_derivatives._formulas()[function], tensors):
            np.testing.assert_allclose(formula.evaluate(env), tensor.grad, rtol=1e-12, err_msg=function)


def test_a_candidate_is_the_formula_with_one_mistake_and_says_so():
    rng = np.random.default_rng(0)
    A1, Z1, dZ2 = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    scope = Scope({"A1": A1, "Z1": Z1, "dZ2": dZ2}, frozenset({"dZ2"}))
    found = {m.name: m for m in neighbours("dW2", name("A1").T @ name("dZ2"), scope)}
    np.testing.assert_array_equal(found["operand:A1->Z1"].value(), Z1.T @ dZ2)
    assert found["operand:A1->Z1"].sentence.startswith("your dW2 is Z1.T @ dZ2, but dW2 = A1.T @ dZ2")
    np.testing.assert_array_equal(found["transpose"].value(), (A1.T @ dZ2).T)
    assert "chain:no-upstream" in found and "chain:no-local" in found


def test_keepdims_kept_on_a_bias_sum_is_named_with_its_shape():
    dZ1 = np.random.default_rng(1).normal(size=(8, 5))
    verdict = diagnose("db1", dZ1.sum(axis=0, keepdims=True), dZ1.sum(axis=0))
    assert verdict.mistake == "sum:keepdims" and "(1, 5)" in verdict.diagnosis and "keepdims=True" in verdict.diagnosis


def test_no_cause_is_claimed_when_no_candidate_fits():
    rng = np.random.default_rng(2)
    expected = rng.normal(size=(4, 3))
    student = expected.copy()
    student[2] *= 3.0  # one row wrong, by a factor the rest do not share
    verdict = diagnose("dW", student, expected)
    assert verdict.mistake is None and "whole rows 2 (of 4) are wrong" in verdict.diagnosis


def test_a_nan_from_a_square_root_is_not_blamed_on_a_division():
    verdict = diagnose("param", np.array([np.nan, 1.0]), np.array([0.5, 1.0]))
    assert verdict.mistake == "not-finite" and "square root" in verdict.diagnosis


def test_a_misnamed_key_is_named():
    assert key_problem("db1", {"dW1": 0, "db_1": 0}) == "your dict has no 'db1'; it has 'db_1': name the keys exactly as asked"
    assert key_problem("db1", {"dW1": 0}) == ""


def _network_backward(dtype):
    def backward(params, cache, y):
        grads = manual.backward(params, cache, y)
        return {key: value.astype(dtype) for key, value in grads.items()}
    return backward


def _deep_functions(dtype):
    from tinygrad_edu.exercises.solutions import deep_network as solved

    def layer_gradients(A_prev, delta):
        dW, db = solved.layer_gradients(A_prev, delta)
        return dW.astype(dtype), db.astype(dtype)
    return [solved.output_delta, layer_gradients, solved.delta_below, solved.backward]


def test_float32_is_accepted_and_float16_refused_with_one_sentence_everywhere():
    assert check("network-backprop", _network_backward(np.float32)).passed
    assert check("deep-network", *_deep_functions(np.float32)).passed
    network = check("network-backprop", _network_backward(np.float16))
    deep = check("deep-network", *_deep_functions(np.float16))
    assert network["dZ2"].mistake == deep["layer_gradients"].mistake == "dtype"
    assert DTYPE_RULE in network["dZ2"].diagnosis and DTYPE_RULE in deep["layer_gradients"].diagnosis


def test_an_input_changed_in_place_fails_even_with_the_right_numbers():
    def grad_of_log(dLP, P):
        P **= -1  # the right numbers, written into the caller's P
        return dLP * P

    item = check("softmax-cross-entropy", grad_of_log)["grad_of_log"]
    assert item.mistake == "mutated-input" and "changed its input P in place" in item.diagnosis



@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 6), inner=st.integers(2, 6), columns=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_a_product_s_candidates_are_wrong_and_each_is_named_by_its_own_numbers(rows, inner, columns, seed):
    """On random shapes, no candidate is the right answer, and a student whose numbers are a candidate's is told
    that candidate's cause (or one with the very same numbers)."""
    rng = np.random.default_rng(seed)
    scope = Scope({"A": rng.normal(size=(rows, inner)), "B": rng.normal(size=(inner, columns)),
                   "G": rng.normal(size=(rows, columns))}, frozenset({"G"}))
    right = name("G") @ name("B").T
    expected = right.evaluate(scope.values)
    candidates = list(neighbours("dA", right, scope))
    for candidate in candidates:
        try:
            value = np.asarray(candidate.value(), dtype=np.float64)
        except ValueError:  # shapes NumPy refuses: no student's numbers can be this
            continue
        verdict = diagnose("dA", value, expected, candidates)
        assert not verdict.passed
        same = [c.name for c in candidates if c.formula == candidate.formula or _same(c, value)]
        assert verdict.mistake in same, (candidate.formula, verdict.diagnosis)


def _same(candidate, value) -> bool:
    try:
        other = np.asarray(candidate.value(), dtype=np.float64)
    except ValueError:
        return False
    return other.shape == value.shape and np.allclose(other, value, rtol=1e-9, atol=1e-12)
