r"""The MLE baseline: a GRU language model p(x) = Π_t p(x_t | x_<t), with <eos> ending a sentence.

Every sequence is encoded as <bos> w_1 … w_n <eos>; the model reads <bos> w_1 … w_n and predicts
w_1 … w_n <eos>, so an NLL per token counts the end-of-sentence token, as every notebook reports.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .batches import run_rnn
from .evaluate import evaluate_nll
from .fit import TrainConfig, TrainResult, fit
from .sampling import decode_loop, sample_next


class GRULanguageModel(nn.Module):
    def __init__(self, vocab_size: int, emb: int = 64, hidden: int = 128, layers: int = 1,
                 dropout: float = 0.0, pad_id: int = 0, bos_id: int = 1, eos_id: int = 2,
                 packed: bool = True) -> None:
        super().__init__()
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id  # the vocabulary's standard ids
        self.packed = packed  # packed=False: the plain padded computation
        self.embed = nn.Embedding(vocab_size, emb, padding_idx=pad_id)
        self.rnn = nn.GRU(emb, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab_size)

    def forward(self, inputs: Tensor, lengths: Tensor | None = None, state: Tensor | None = None):
        """Logits (B, T, V) for the next token at every position, and the final GRU state.

        With `lengths` the GRU skips the padded tail (packed sequences); the output layer still
        runs over every position (the loss leaves padding out).
        """
        x = self.drop(self.embed(inputs))
        out, state = run_rnn(self.rnn, x, lengths if self.packed else None, state)
        return self.out(self.drop(out)), state

    def nll(self, batch: Tensor, lengths: Tensor) -> tuple[Tensor, int]:
        r"""(Σ -log p(x_t | x_<t) over the real tokens of `batch`, how many tokens).

        `batch` (B, T) holds <bos> … <eos> padded with pad_id; `lengths` counts <bos> and <eos>.
        """
        inputs, targets = batch[:, :-1], batch[:, 1:]
        logits, _ = self(inputs, lengths - 1)
        losses = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
            ignore_index=self.pad_id, reduction="sum",
        )
        return losses, int((targets != self.pad_id).sum())

    def sentence_log_prob(self, batch: Tensor, lengths: Tensor) -> Tensor:
        """log p(x) per sentence (B,), differentiable; `batch` holds <bos> … <eos> padded."""
        inputs, targets = batch[:, :-1], batch[:, 1:]
        logits, _ = self(inputs, lengths - 1)
        nll = nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=self.pad_id,
                                          reduction="none")
        return -nll.sum(1)

    def step_vectors(self, vectors: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One step from input *vectors* (B, emb) instead of ids: next-token logits (B, V), state.

        A relaxed token y (a distribution over the vocabulary) enters as yᵀE, E the embedding.
        """
        out, state = self.rnn(self.drop(vectors)[:, None], state)
        return self.out(self.drop(out[:, 0])), state

    @torch.no_grad()
    def sample(self, n: int, *, max_len: int = 40, generator: torch.Generator | None = None,
               temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> list[list[int]]:
        """n sentences as id lists (without <bos> / <eos>), each at most max_len tokens.

        The call every sentence generator shares (`text.sampling.SentenceGenerator`); the language
        model also takes top-k and top-p (`sampling.filter_logits`).
        """
        return decode_loop(lambda token, state: self(token, state=state), n, self.bos_id, self.eos_id,
                           max_len, self.out.weight.device,
                           lambda logits: sample_next(logits, generator, temperature, top_k, top_p))


def lm_step_loss(model: nn.Module, batch: torch.Tensor, lengths: torch.Tensor, step: int):
    """The language model's loss: mean NLL per token (counting <eos>)."""
    loss_sum, n = model.nll(batch, lengths)
    loss = loss_sum / n
    return loss, n, {"train_nll": loss.item()}


def train_lm(
    model: nn.Module,
    train: Sequence[Sequence[int]],
    valid: Sequence[Sequence[int]] | None,
    cfg: TrainConfig,
    checkpoint: str | os.PathLike | None = None,
    show_progress: bool = True,
) -> TrainResult:
    """MLE training of a language model with `fit`; records validation NLL per token."""
    evaluate = (lambda m: {"valid_nll": evaluate_nll(m, valid)}) if valid is not None else None
    return fit(model, train, lm_step_loss, cfg, evaluate, checkpoint, show_progress, desc="LM", valid=valid)
