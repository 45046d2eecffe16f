"""The linear probe reads a label that is linearly encoded, and not one that is absent."""

import torch

from ganvae_edu.evaluation.probe import majority_rate, probe_accuracy


def test_probe_reads_a_linear_label_and_not_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 5, generator=g)
    y = ["a" if v > 0 else "b" for v in (x[:, 0] - 0.5 * x[:, 3]).tolist()]
    assert probe_accuracy(x[:400], y[:400], x[400:], y[400:]) > 0.95
    noise = torch.randn(600, 5, generator=g)
    acc = probe_accuracy(noise[:400], y[:400], noise[400:], y[400:])
    assert abs(acc - 0.5) < 0.12  # chance, within sampling error of 200 test points


def test_majority_rate():
    assert majority_rate(["a", "a", "b"], ["a", "b", "b", "b"]) == 0.25
