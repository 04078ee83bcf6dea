"""tinygrad_edu: a small reverse-mode autodiff Tensor on NumPy, built to be read.

>>> from tinygrad_edu import Tensor
>>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> w = Tensor([[0.5], [-1.0]], requires_grad=True)
>>> loss = (x @ w + 2.0).relu().sum()
>>> loss.backward()
>>> x.grad.tolist(), w.grad.tolist()
([[0.5, -1.0], [0.0, 0.0]], [[1.0], [2.0]])
"""

__version__ = "0.1.0"

from tinygrad_edu.tensor import Tensor, from_numpy, no_grad, is_grad_enabled  # noqa: E402
from tinygrad_edu.gradcheck import gradcheck, gradcheck_report  # noqa: E402

__all__ = ["Tensor", "from_numpy", "no_grad", "is_grad_enabled", "gradcheck", "gradcheck_report", "__version__"]
