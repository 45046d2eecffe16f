"""The seed article's listing, rebuilt (`listing`), and the evidence of its faults (`evidence`).

Both are re-exported here, so a notebook can write ``from ganvae_edu import article`` and
``article.naive_training(...)``, ``article.shared_parameters(...)``. The fixed design lives in
`ganvae_edu.vector.vaegan`.
"""

from .evidence import (
    bce_outside_unit_interval,
    broadcast_mse_labels,
    code_statistics,
    encoder_is_deterministic,
    relu_tanh_outputs,
    shared_parameters,
    sigmoid_bce_vs_logits,
)
from .listing import (
    CODE_DIM,
    DATA_DIM,
    HIDDEN,
    NaiveDecoder,
    NaiveDiscriminator,
    NaiveEncoder,
    NaiveGenerator,
    NaiveRun,
    bag_of_words,
    naive_training,
    top_words,
)

__all__ = [
    "CODE_DIM",
    "DATA_DIM",
    "HIDDEN",
    "NaiveDecoder",
    "NaiveDiscriminator",
    "NaiveEncoder",
    "NaiveGenerator",
    "NaiveRun",
    "bag_of_words",
    "bce_outside_unit_interval",
    "broadcast_mse_labels",
    "code_statistics",
    "encoder_is_deterministic",
    "naive_training",
    "relu_tanh_outputs",
    "shared_parameters",
    "sigmoid_bce_vs_logits",
    "top_words",
]
