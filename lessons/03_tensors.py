# %% [markdown]
# # Lesson 3: tensors, broadcasting, and the gradient of a matrix product
#
# 1. Broadcasting: adding a bias of shape (3,) to a batch of shape (4, 3) copies the bias onto every row.
#    Backward undoes the copy by summing the gradient over the rows: the backward loop calls sum_to_shape.
# 2. The matrix product C = A @ B: its gradients dA = dC Bᵀ and dB = Aᵀ dC, derived on the page, computed
#    here by hand in NumPy, compared with autodiff, and checked against finite differences with gradcheck.
#
# Run it as a script, `python lessons/03_tensors.py [--out DIR]`, or cell by cell as a notebook.

# %%
# Settings: change them and rerun. Run as a script, --out DIR replaces OUT.
OUT = "out/lesson-03"  # the folder for this lesson's figure

from tinygrad_edu.course import lesson_settings

OUT = lesson_settings(3, "tensors, broadcasting and the gradient of a matrix product", out=OUT)

# %%
import numpy as np

from tinygrad_edu import Tensor, gradcheck_report
from tinygrad_edu.course import heading, new_figure, save_figure
from tinygrad_edu.tensor import sum_to_shape

# %% [markdown]
# ## Broadcasting forward, summing backward

# %%
heading("Broadcasting forward, summing backward")
# --8<-- [start:broadcast]
x = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)  # a batch of 4 rows
b = Tensor(np.array([10.0, 20.0, 30.0]), requires_grad=True)  # one bias, shape (3,)
y = x + b  # b is broadcast: the same bias is added to each of the 4 rows
loss = (y * y).sum()
loss.backward()
# dloss/dy = 2y has shape (4, 3); each row's share of it belongs to the one b,
# so backward sums over the broadcast axis: b.grad = sum over rows of 2y.
by_hand = (2 * y.data).sum(axis=0)
# --8<-- [end:broadcast]
print("x + b =\n", y.data)
print("b.grad by autodiff        =", b.grad)
print("b.grad by hand, Σ_rows 2y =", by_hand)
print(f"broadcast backward max |difference| = {np.max(np.abs(b.grad - by_hand)):.2e}")
print("sum_to_shape of a (4, 3) gradient of ones onto (3,):", sum_to_shape(np.ones((4, 3)), (3,)))
print("and onto (4, 1):", sum_to_shape(np.ones((4, 3)), (4, 1)).ravel())

# %% [markdown]
# ## The gradient of a matrix product

# %%
heading("The gradient of a matrix product")
rng = np.random.default_rng(0)
# --8<-- [start:matmul]
A = Tensor(rng.standard_normal((4, 3)), requires_grad=True)  # float64: exact enough to compare
B = Tensor(rng.standard_normal((3, 5)), requires_grad=True)
G = rng.standard_normal((4, 5))  # any upstream gradient dL/dC: here L = Σ C ⊙ G
C = A @ B
(C * Tensor(G)).sum().backward()
dA_by_hand = G @ B.data.T  # dA = dC Bᵀ: (4, 5)(5, 3) = (4, 3)
dB_by_hand = A.data.T @ G  # dB = Aᵀ dC: (3, 4)(4, 5) = (3, 5)
# --8<-- [end:matmul]
error_a = np.max(np.abs(A.grad - dA_by_hand))
error_b = np.max(np.abs(B.grad - dB_by_hand))
print(f"dA: autodiff vs dC Bᵀ, max |difference| = {error_a:.2e}")
print(f"dB: autodiff vs Aᵀ dC, max |difference| = {error_b:.2e}")

# %%
heading("gradcheck: autodiff against central finite differences")
# --8<-- [start:gradcheck]
report = gradcheck_report(lambda a, b: (a @ b).tanh(), A, B)
print(report)
# --8<-- [end:gradcheck]
worst = max(r.max_rel_error for r in report.inputs)
print(f"gradcheck worst relative error = {worst:.2e} ({'passed' if report.passed else 'NOT passed'})")

# %%
fig, axes = new_figure(1, 3, width=9.0, height=3.2)
for ax, matrix, title in zip(axes, [A.grad, dA_by_hand, A.grad - dA_by_hand],
                             ["dA by autodiff", "dA = dC Bᵀ by hand", "difference"]):
    image = ax.imshow(matrix, cmap="coolwarm")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(image, ax=ax, shrink=0.8)
save_figure(fig, OUT, "matmul-gradient.png")

# %% [markdown]
# ## Your turn
#
# Write it yourself: `tinygrad-edu exercise start tensor-ops` writes the file to fill in, and
# `tinygrad-edu exercise check tensor-ops` checks it and names the likely mistake. In a notebook, you can
# instead define the functions in a cell and check them with
# `from tinygrad_edu.exercises import check; check("tensor-ops")`.
#
# Not done `engine` yet? It comes first, the same way.
