# %% [markdown]
# # Lesson 1: derivatives and the chain rule
#
# One scalar function, f(x) = tanh(x² + 3x), differentiated three ways:
#
# 1. by hand, with the chain rule: f'(x) = (1 - tanh²(x² + 3x)) · (2x + 3);
# 2. numerically, with finite differences, whose error first falls and then rises again as the step h shrinks;
# 3. by reverse-mode autodiff: build f from Tensor operations and call backward().
#
# Run it as a script, `python lessons/01_chain_rule.py [--out DIR]`, or cell by cell as a notebook.

# %%
# Settings: change them and rerun. Run as a script, --out DIR replaces OUT.
OUT = "out/lesson-01"  # the folder for this lesson's figures

from tinygrad_edu.course import lesson_settings

OUT = lesson_settings(1, "derivatives and the chain rule", out=OUT)

# %%
import numpy as np

from tinygrad_edu import Tensor
from tinygrad_edu.course import format_table, heading, new_figure, record_numbers, save_figure

X0 = 0.5  # the point where we compare the three derivatives


# %% [markdown]
# ## The function and its derivative by hand

# %%
# --8<-- [start:function]
def f(x: float | np.ndarray) -> float | np.ndarray:
    """f(x) = tanh(g(x)) with the inner function g(x) = x² + 3x."""
    return np.tanh(x**2 + 3 * x)


def f_prime_by_hand(x: float | np.ndarray) -> float | np.ndarray:
    """The chain rule: f'(x) = tanh'(g(x)) · g'(x) = (1 - tanh²(g(x))) · (2x + 3)."""
    g = x**2 + 3 * x
    return (1 - np.tanh(g) ** 2) * (2 * x + 3)
# --8<-- [end:function]


# %% [markdown]
# ## Finite differences

# %%
# --8<-- [start:finite_differences]
def forward_difference(f, x: float, h: float) -> float:
    """(f(x + h) - f(x)) / h: error of order h (truncation) plus rounding of order eps/h."""
    return (f(x + h) - f(x)) / h


def central_difference(f, x: float, h: float) -> float:
    """(f(x + h) - f(x - h)) / 2h: the h terms cancel, the truncation error is of order h²."""
    return (f(x + h) - f(x - h)) / (2 * h)
# --8<-- [end:finite_differences]


# %% [markdown]
# ## Autodiff

# %%
# --8<-- [start:autodiff]
def f_prime_by_autodiff(x0: float) -> float:
    """Build f from Tensor operations, then let backward() apply the chain rule for us."""
    x = Tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    y = (x * x + 3 * x).tanh()  # the same f, recorded as a graph of operations
    y.backward()  # dy/dx, accumulated into x.grad
    return float(x.grad)
# --8<-- [end:autodiff]


# %% [markdown]
# ## The three derivatives at x = 0.5

# %%
exact = f_prime_by_hand(X0)

heading(f"f(x) = tanh(x² + 3x) at x = {X0}")
print(f"f({X0})             = {f(X0):.12f}")
print(f"f'({X0}) by hand    = {exact:.12f}")

# %%
heading("Finite differences: the error depends on the step h")
steps = [10.0**-k for k in range(1, 13)]
forward_errors = [abs(forward_difference(f, X0, h) - exact) for h in steps]
central_errors = [abs(central_difference(f, X0, h) - exact) for h in steps]
print(format_table(["h", "forward error", "central error"],
                   [[f"1e-{k}", fe, ce] for k, fe, ce in zip(range(1, 13), forward_errors, central_errors)]))
best = int(np.argmin(central_errors))
relative = central_errors[best] / abs(exact)
print(f"best central difference: h = {steps[best]:.0e}, error = {central_errors[best]:.2e} "
      f"(relative {relative:.1e}: about {int(-np.log10(relative))} correct digits of 16)")
record_numbers(OUT, best_h=f"{steps[best]:.0e}".replace("e-0", "e-"), best_error=f"{central_errors[best]:.1e}",
               best_digits=str(int(-np.log10(relative))))
# The forward difference balances (h/2)|f''| against eps/h: its best step is near sqrt(eps), not eps^(1/3).
best_forward = int(np.argmin(forward_errors))
forward_relative = forward_errors[best_forward] / abs(exact)
epsilon = np.finfo(np.float64).eps
print(f"best forward difference: h = {steps[best_forward]:.0e}, error = {forward_errors[best_forward]:.2e} "
      f"(relative {forward_relative:.1e}: about {int(-np.log10(forward_relative))} correct digits); "
      f"sqrt(eps) = {np.sqrt(epsilon):.1e}, eps^(1/3) = {np.cbrt(epsilon):.1e}")
record_numbers(OUT, forward_best_h=f"{steps[best_forward]:.0e}".replace("e-0", "e-"),
               forward_best_error=f"{forward_errors[best_forward]:.1e}",
               forward_best_digits=str(int(-np.log10(forward_relative))),
               sqrt_eps=f"{np.sqrt(epsilon):.1e}", cbrt_eps=f"{np.cbrt(epsilon):.1e}")
print("Too large an h: truncation error. Too small an h: f(x + h) - f(x) loses its digits to rounding.")

# %%
heading("Autodiff")
autodiff = f_prime_by_autodiff(X0)
print(f"f'({X0}) by autodiff = {autodiff:.12f}")
print(f"|autodiff - hand| = {abs(autodiff - exact):.2e}")

# %% [markdown]
# ## The figures

# %%
fig, ax = new_figure()
ax.loglog(steps, forward_errors, "o-", label="forward difference")
ax.loglog(steps, central_errors, "s-", label="central difference")
# Where the two errors balance: h ~ sqrt(eps) for the forward difference, h ~ eps^(1/3) for the central one.
ax.axvline(np.sqrt(epsilon), color="C0", linestyle=":", label="h = √ε (forward's optimum)")
ax.axvline(np.cbrt(epsilon), color="C1", linestyle=":", label="h = ε^(1/3) (central's optimum)")
ax.set_xlabel("step h")
ax.set_ylabel(f"|estimate - f'({X0})|")
ax.invert_xaxis()  # h shrinks from left to right, as in the table
ax.set_title("Error: truncation (left, large h) vs rounding (right, small h)")
ax.legend(loc="upper right", fontsize="small")
save_figure(fig, OUT, "finite-difference-error.png")

# %%
xs = np.linspace(-3.5, 0.5, 200)
x_tensor = Tensor(xs, requires_grad=True)
(x_tensor * x_tensor + 3 * x_tensor).tanh().sum().backward()  # each xs[i] only affects its own term
fig, ax = new_figure()
ax.plot(xs, f(xs), label="f(x) = tanh(x² + 3x)")
ax.plot(xs, f_prime_by_hand(xs), label="f'(x) by hand", linewidth=3, alpha=0.5)
ax.plot(xs, x_tensor.grad, "--", label="f'(x) by autodiff")
ax.axhline(0, color="grey", linewidth=0.5)
ax.set_xlabel("x")
ax.legend()
save_figure(fig, OUT, "derivative.png")
print(f"max |autodiff - hand| over the plot: {np.max(np.abs(x_tensor.grad - f_prime_by_hand(xs))):.2e}")

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start local-derivatives` writes the file to fill in, and
# `tinygrad-edu exercise check local-derivatives` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("local-derivatives")`.
