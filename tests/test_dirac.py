"""The Dirac-GAN's vector field, Jacobian and eigenvalues against autograd and closed forms."""

import math

import pytest
import torch

from ganvae_edu.formulas import dirac


def autograd_field(theta, psi, gamma):
    """v from autograd: -∂L/∂θ, and ∂/∂ψ of L - (γ/2)·‖∇_x D_ψ(x)‖² at the real point x = 0."""
    theta = theta.clone().requires_grad_()
    psi = psi.clone().requires_grad_()
    x_real = torch.zeros((), dtype=torch.float64, requires_grad=True)
    logit_real = psi * x_real  # D_ψ(x) = ψx at the data
    (grad_x,) = torch.autograd.grad(logit_real, x_real, create_graph=True)
    r1 = 0.5 * gamma * grad_x**2
    value = torch.nn.functional.logsigmoid(psi * theta) + torch.nn.functional.logsigmoid(-logit_real)
    d_theta = torch.autograd.grad(value, theta, retain_graph=True)[0]
    d_psi = torch.autograd.grad(value - r1, psi)[0]
    return -d_theta, d_psi


POINTS = [(0.0, 0.0), (0.7, -0.3), (-1.2, 2.0), (2.5, 1.5)]


@pytest.mark.parametrize("gamma", [0.0, 0.3, 2.0])
@pytest.mark.parametrize("theta, psi", POINTS)
def test_vector_field_is_autograd_of_the_loss_with_r1(theta, psi, gamma):
    th, ps = torch.tensor(theta, dtype=torch.float64), torch.tensor(psi, dtype=torch.float64)
    got = dirac.vector_field(th, ps, gamma)
    want = autograd_field(th, ps, gamma)
    assert all(torch.isclose(g, w, atol=1e-12) for g, w in zip(got, want))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 3.0])
@pytest.mark.parametrize("theta, psi", POINTS)
def test_jacobian_matches_finite_differences_of_the_field(theta, psi, gamma):
    h = 1e-6
    cols = []
    for e in ((h, 0.0), (0.0, h)):
        plus = dirac.vector_field(torch.tensor(theta + e[0], dtype=torch.float64),
                                  torch.tensor(psi + e[1], dtype=torch.float64), gamma)
        minus = dirac.vector_field(torch.tensor(theta - e[0], dtype=torch.float64),
                                   torch.tensor(psi - e[1], dtype=torch.float64), gamma)
        cols.append(torch.stack([(p - m) / (2 * h) for p, m in zip(plus, minus)]))
    numeric = torch.stack(cols, dim=1)
    th, ps = torch.tensor(theta, dtype=torch.float64), torch.tensor(psi, dtype=torch.float64)
    got = dirac.jacobian(th, ps, gamma)
    assert torch.allclose(got, numeric, atol=1e-7)


def test_eigenvalues_closed_form_and_verdicts():
    lam = dirac.eigenvalues(0.0)
    assert torch.allclose(lam, torch.tensor([0.5j, -0.5j], dtype=torch.complex128), atol=1e-12)
    assert dirac.verdict(lam) == "pure rotation: no convergence"
    for gamma in (0.3, 1.0, 2.5):  # λ = (-γ ± √(γ² - 1)) / 2
        disc = complex(gamma**2 - 1) ** 0.5
        want = sorted([(-gamma + disc) / 2, (-gamma - disc) / 2], key=lambda z: (-z.imag, -z.real))
        got = sorted(dirac.eigenvalues(gamma).tolist(), key=lambda z: (-z.imag, -z.real))
        assert all(abs(g - w) < 1e-6 for g, w in zip(got, want))
        assert dirac.verdict(dirac.eigenvalues(gamma)) == "real parts < 0: converges"
    assert dirac.verdict(torch.tensor([0.1 + 1j, 0.1 - 1j])) == "a real part > 0: diverges"


def test_trajectories_spiral_out_circle_or_converge():
    start = dict(theta=1.0, psi=0.0, lr=0.1, steps=400)
    r = lambda t: t[-1].norm().item()  # noqa: E731 - distance from (0, 0) at the end
    sim = dirac.trajectory(**start, mode="simultaneous")
    # near (0, 0) each simultaneous step multiplies the distance by √(1 + h²/4); farther out f' is
    # smaller, so the spiral grows more slowly than that bound, but it grows
    assert 1.0 < r(sim) <= math.sqrt(1 + 0.01 / 4) ** 400 + 1e-9
    alt = dirac.trajectory(**start, mode="alternating")
    assert 0.8 < r(alt) < 1.2 and alt[:, 0].min() < -0.8  # it keeps circling: bounded, not converging
    reg = dirac.trajectory(**start, gamma=1.0, mode="simultaneous")
    assert r(reg) < 1e-3
    assert dirac.step_factor(0.0, 0.1) == pytest.approx(math.sqrt(1 + 0.01 / 4))
    assert dirac.step_factor(1.0, 0.1) < 1
    with pytest.raises(ValueError, match="mode"):
        dirac.trajectory(0.0, 0.0, mode="adam")
