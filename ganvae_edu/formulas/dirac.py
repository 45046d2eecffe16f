r"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which training methods for GANs do actually
converge?", §2): the smallest GAN, whose training dynamics can be solved by hand.

Data p_data = δ_0, generator p_θ = δ_θ (one parameter θ), linear discriminator logit D_ψ(x) = ψ·x
(one parameter ψ). With f(t) = -log(1 + e^{-t}) = log σ(t), the GAN's value is

    L(θ, ψ) = f(ψθ) + f(0),

which G minimises over θ and D maximises over ψ; the equilibrium is (θ, ψ) = (0, 0). The R1
penalty (γ/2)·E_{p_data}‖∇_x D_ψ(x)‖² is (γ/2)·ψ² here, subtracted from D's objective.

Gradient play follows the vector field v(θ, ψ) = (-∂L/∂θ, ∂(L - γψ²/2)/∂ψ); its Jacobian at the
equilibrium decides whether small steps converge.
"""

from __future__ import annotations

import torch
from torch import Tensor


def f(t: Tensor) -> Tensor:
    r"""f(t) = -log(1 + e^{-t}) = log σ(t), the GAN's f; f'(t) = σ(-t), so f'(0) = ½."""
    return torch.nn.functional.logsigmoid(t)


def f_prime(t: Tensor) -> Tensor:
    r"""f'(t) = σ(-t)."""
    return torch.sigmoid(-t)


def f_second(t: Tensor) -> Tensor:
    r"""f''(t) = -σ(t)·σ(-t)."""
    return -torch.sigmoid(t) * torch.sigmoid(-t)


def loss(theta: Tensor, psi: Tensor) -> Tensor:
    r"""L(θ, ψ) = E_{x~p_θ}[f(D_ψ(x))] + E_{x~p_data}[f(-D_ψ(x))] = f(ψθ) + f(0).

    Mescheder et al. 2018, eq. (1) with D_ψ(x) = ψx, p_θ = δ_θ, p_data = δ_0.
    """
    return f(psi * theta) + f(torch.zeros_like(theta))


def vector_field(theta: Tensor, psi: Tensor, gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    r"""v(θ, ψ) = (-ψ f'(ψθ),  θ f'(ψθ) - γψ): the direction of gradient play.

    First component: gradient *descent* of G on L (-∂L/∂θ). Second: gradient *ascent* of D on
    L - (γ/2)ψ², the R1-regularised objective (γ = 0: no R1). Mescheder et al. 2018, eq. (2), (9).
    """
    fp = f_prime(psi * theta)
    return -psi * fp, theta * fp - gamma * psi


def jacobian(theta: Tensor, psi: Tensor, gamma: float = 0.0) -> Tensor:
    r"""J = ∂v/∂(θ, ψ), a 2×2 matrix, by hand from `vector_field` (t = ψθ):

        J = [[ -ψ² f''(t),          -f'(t) - ψθ f''(t) ],
             [ f'(t) + ψθ f''(t),    θ² f''(t) - γ     ]].

    At the equilibrium (0, 0): J = [[0, -f'(0)], [f'(0), -γ]] with f'(0) = ½.
    """
    t = psi * theta
    fp, fpp = f_prime(t), f_second(t)
    return torch.stack([torch.stack([-psi**2 * fpp, -fp - t * fpp]),
                        torch.stack([fp + t * fpp, theta**2 * fpp - gamma])])


def eigenvalues(gamma: float = 0.0) -> Tensor:
    r"""The eigenvalues of J at the equilibrium: λ = (-γ ± √(γ² - 4 f'(0)²)) / 2, f'(0) = ½.

    γ = 0: λ = ±½ i, purely imaginary — the continuous dynamics circle (0, 0) and never reach it.
    γ > 0: both real parts are negative (-γ/2 while γ < 1): the equilibrium attracts.
    Returned as a complex tensor of 2, the eigenvalue with the larger imaginary part first.
    """
    zero = torch.zeros((), dtype=torch.float64)
    lam = torch.linalg.eigvals(jacobian(zero, zero, gamma))
    return lam[torch.argsort(-lam.imag)]


def step_factor(gamma: float, lr: float) -> float:
    r"""max |1 + h·λ|: how much one *simultaneous* gradient step of size h = lr can multiply the
    distance to the equilibrium, near it (the step is x ← x + h·v(x) ≈ (I + hJ)x).

    Without R1, |1 ± i h/2| = √(1 + h²/4) > 1 for every h > 0: simultaneous steps spiral outwards.
    """
    return float((1 + lr * eigenvalues(gamma)).abs().max())


def trajectory(theta: float, psi: float, *, gamma: float = 0.0, lr: float = 0.1, steps: int = 500,
               mode: str = "simultaneous") -> Tensor:
    r"""(steps + 1, 2) points (θ_k, ψ_k) of gradient play from (θ, ψ) with step size lr.

    ``simultaneous``: both move on the same v(θ_k, ψ_k). ``alternating``: D first, then G on the
    updated D — the order of the notebook's training step:
    ψ_{k+1} = ψ_k + h·v_ψ(θ_k, ψ_k),  θ_{k+1} = θ_k + h·v_θ(θ_k, ψ_{k+1}).
    """
    if mode not in ("simultaneous", "alternating"):
        raise ValueError(f"mode={mode!r} is not known; use 'simultaneous' or 'alternating'")
    th, ps = torch.tensor(float(theta), dtype=torch.float64), torch.tensor(float(psi), dtype=torch.float64)
    points = [torch.stack([th, ps])]
    for _ in range(steps):
        if mode == "simultaneous":
            d_th, d_ps = vector_field(th, ps, gamma)
            th, ps = th + lr * d_th, ps + lr * d_ps
        else:
            ps = ps + lr * vector_field(th, ps, gamma)[1]
            th = th + lr * vector_field(th, ps, gamma)[0]
        points.append(torch.stack([th, ps]))
    return torch.stack(points)


def verdict(lam: Tensor, tol: float = 1e-9) -> str:
    r"""What the eigenvalues of J at the equilibrium say about the continuous dynamics."""
    re = lam.real
    if bool((re < -tol).all()):
        return "real parts < 0: converges"
    if bool((re > tol).any()):
        return "a real part > 0: diverges"
    if bool((re.abs() <= tol).all()) and bool((lam.imag.abs() > tol).any()):
        return "pure rotation: no convergence"
    return "a real part = 0: not locally convergent"
