r"""A linear probe: how much of a known label a representation makes linearly readable.

Fit softmax regression p(y | h) = softmax(W h + b) on training features (standardised, a small
L2 penalty, full-batch L-BFGS) and report accuracy on held-out features. A probe beats the
majority-class rate only if the features carry the label.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def probe_accuracy(train_x: Tensor, train_y: Sequence, test_x: Tensor, test_y: Sequence,
                   l2: float = 1e-3, steps: int = 100) -> float:
    """Held-out accuracy of softmax regression from features x (N, d) to labels y (any hashable)."""
    classes = sorted(set(train_y) | set(test_y))
    index = {c: i for i, c in enumerate(classes)}
    ytr = torch.tensor([index[c] for c in train_y])
    yte = torch.tensor([index[c] for c in test_y])
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
    xtr, xte = ((train_x - mean) / std).double(), ((test_x - mean) / std).double()
    w = torch.zeros(xtr.shape[1], len(classes), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xtr @ w + b, ytr) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return (((xte @ w + b).argmax(1)) == yte).double().mean().item()


def majority_rate(train_y: Sequence, test_y: Sequence) -> float:
    """Accuracy of always answering the most common training label: the floor a probe must beat."""
    top = max(set(train_y), key=list(train_y).count)
    return sum(y == top for y in test_y) / len(test_y)
