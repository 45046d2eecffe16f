r"""KL-regularised REINFORCE: the text-GAN generator step with an anchor, the objective RLHF optimises.

Notebook 05's generator step maximises E_{x~π_θ}[r(x)] with r the discriminator's reward. With a
pretrained model π_ref as anchor the objective becomes

    J(θ) = E_{x~π_θ}[r(x)] − β KL(π_θ ‖ π_ref) = E_{x~π_θ}[r(x) − β (log π_θ(x) − log π_ref(x))],

the objective of RLHF with a learned reward model in place of the discriminator. Its maximiser is
π*(x) ∝ π_ref(x) exp(r(x)/β): β → ∞ keeps π_ref, β → 0 collapses onto the reward's favourite.
Because E_{π_θ}[∇_θ log π_θ] = 0, the score-function gradient is

    ∇_θ J = E_{x~π_θ}[(r̃(x) − b) ∇_θ log π_θ(x)],    r̃(x) = r(x) − β (log π_θ(x) − log π_ref(x)),

for any baseline b: REINFORCE on the shaped reward r̃, held constant (no gradient through it).
"""

from __future__ import annotations

from torch import Tensor


def kl_shaped_reward(reward: Tensor, log_prob: Tensor, ref_log_prob: Tensor, beta: float) -> Tensor:
    r"""r̃(x) = r(x) − β (log π_θ(x) − log π_ref(x)), detached: a constant for the gradient."""
    return (reward - beta * (log_prob - ref_log_prob)).detach()


def kl_reinforce_loss(reward: Tensor, log_prob: Tensor, ref_log_prob: Tensor, beta: float,
                      baseline: Tensor | float = 0.0) -> Tensor:
    r"""−mean((r̃(x) − b) log π_θ(x)): its gradient is −∇_θ J estimated from the samples x."""
    shaped = kl_shaped_reward(reward, log_prob, ref_log_prob, beta)
    return -((shaped - baseline) * log_prob).mean()
