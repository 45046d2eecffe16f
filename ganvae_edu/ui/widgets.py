"""ipywidgets explorers. The numbers they show come from plain functions, tested like the rest."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganvae_edu.formulas import gan
from ganvae_edu.formulas.linear_gaussian import LinearGaussian
from ganvae_edu.vector import toy

if TYPE_CHECKING:
    from ganvae_edu.text.sampling import SentenceGenerator

GRID = torch.linspace(-6, 6, 4001, dtype=torch.float64)


# --------------------------------------------------------------------------- live or drawn once


class _Here:
    """Stands for an ``ipywidgets.Output`` when headless: what a draw prints or plots goes
    straight to the cell's own output."""

    def __enter__(self) -> _Here:
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def clear_output(self, wait: bool = False) -> None:
        pass


class _DrawnOnce:
    """What an explorer returns when headless: the cell shows its default view, then this note."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return (f"({self.name}: drawn once at its default values; open the notebook in Jupyter "
                "to move its controls)")

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(repr(self))


class Explorer:
    """Builds an explorer's controls: real widgets in Jupyter, their default values when headless.

    Live, ``bind(draw, controls)`` redraws on every change (``interactive_output``) and ``box``
    lays the widgets out. Headless (`runtime.headless`: papermill, sweeps) no widget is made, so
    no comm is opened: ``bind`` calls ``draw`` once with the defaults and ``box`` returns a note.
    """

    def __init__(self, name: str) -> None:
        from ganvae_edu.runtime import headless

        self.name = name
        self.live = not headless()
        if self.live:
            import ipywidgets

            self.w = ipywidgets

    def output(self):
        return self.w.Output() if self.live else _Here()

    def float(self, value: float, min: float, max: float, step: float, description: str):
        if not self.live:
            return value
        return self.w.FloatSlider(value=value, min=min, max=max, step=step, description=description)

    def int(self, value: int, min: int, max: int, description: str):
        if not self.live:
            return value
        return self.w.IntSlider(value=value, min=min, max=max, description=description)

    def choice(self, options: Sequence[str], description: str):
        if not self.live:
            return options[0]
        return self.w.Dropdown(options=list(options), description=description)

    def html(self, text: str):
        if not self.live:
            print(re.sub(r"<[^>]+>", "", text))
            return None
        return self.w.HTML(text)

    def bind(self, draw: Callable[..., None], controls: dict) -> None:
        if self.live:
            self.w.interactive_output(draw, controls)  # draws once now, then on change
        else:
            draw(**controls)

    def row(self, items: Sequence):
        return self.w.HBox(list(items)) if self.live else None

    def box(self, items: Sequence):
        return self.w.VBox([i for i in items if i is not None]) if self.live else _DrawnOnce(self.name)


def minimax_state(
    mu_g: float,
    sigma_g: float,
    x: Tensor = GRID,
    p_data_fn: Callable[[Tensor], Tensor] = toy.data_density_1d,
) -> dict[str, Tensor | float]:
    """Everything the minimax explorer shows for p_g = N(mu_g, sigma_g²) against p_data.

    Returns the densities and D* on the grid, C(G) = V(D*, G) computed directly, the JSD,
    and -log 4 + 2·JSD, which must equal C(G).
    """
    p_data, p_g = p_data_fn(x), toy.normal_density(x, mu_g, sigma_g)
    # Quadrature: the densities on the grid, normalised to probability vectors.
    p_vec, q_vec = p_data / p_data.sum(), p_g / p_g.sum()
    c_g = gan.optimal_value(p_vec, q_vec).item()
    jsd = gan.jensen_shannon(p_vec, q_vec).item()
    return {
        "x": x,
        "p_data": p_data,
        "p_g": p_g,
        "d_star": gan.optimal_discriminator(p_data, p_g),
        "C": c_g,
        "jsd": jsd,
        "identity": -gan.LOG4 + 2 * jsd,
    }


def minimax_explorer():
    """Sliders for p_g's mean and std; the plot shows p_data, p_g, D*, and C(G) vs JSD."""
    import matplotlib.pyplot as plt

    from . import plots

    ui = Explorer("minimax explorer")
    out = ui.output()

    def draw(mu_g: float, sigma_g: float) -> None:
        s = minimax_state(mu_g, sigma_g)
        with out:
            out.clear_output(wait=True)
            fig, ax = plots.figure(width=6)
            plots.densities_1d(ax, s["x"], s["p_data"], s["p_g"], s["d_star"])
            ax.set_title(
                f"C(G) = V(D*,G) = {s['C']:.4f}    −log 4 + 2·JSD = {s['identity']:.4f}"
                f"    JSD = {s['jsd']:.4f}",
                fontsize=9,
            )
            plt.show()

    mu = ui.float(0.0, -3, 3, 0.05, "mean of p_g")
    sigma = ui.float(1.0, 0.2, 2.5, 0.05, "std of p_g")
    ui.bind(draw, {"mu_g": mu, "sigma_g": sigma})
    return ui.box([ui.row([mu, sigma]), out])


def snapshot_explorer(runs: dict[str, Sequence[tuple[int, Tensor]]], mixtures: dict[str, toy.Mixture]):
    """Step through the training snapshots of several runs with one slider."""
    import matplotlib.pyplot as plt

    from . import plots

    names = list(runs)
    n = min(len(runs[k]) for k in names)
    ui = Explorer("snapshot explorer")
    out = ui.output()

    def draw(i: int) -> None:
        with out:
            out.clear_output(wait=True)
            fig, axes = plots.figure(ncols=len(names), width=2.6, height=2.6, squeeze=False)
            for ax, name in zip(axes[0], names):
                step, samples = runs[name][i]
                plots.scatter_2d(ax, samples, mixtures[name], f"{name}, step {step}")
            fig.tight_layout()
            plt.show()

    slider = ui.int(n - 1, 0, n - 1, "snapshot")
    ui.bind(draw, {"i": slider})
    return ui.box([slider, out])


def elbo_state(model: LinearGaussian, x: Tensor, mu: Tensor, log_sigma: Tensor) -> dict[str, float]:
    """ELBO, log p(x), their gap and KL(q ‖ p(z|x)) for one x and q = N(mu, diag exp(log_sigma)²)."""
    mu, logvar = mu.reshape(1, -1).to(x), (2 * log_sigma).reshape(1, -1).to(x)
    x = x.reshape(1, -1)
    elbo = model.exact_elbo(x, mu, logvar).item()
    log_px = model.log_marginal(x).item()
    return {"elbo": elbo, "log_px": log_px, "gap": log_px - elbo,
            "kl_to_posterior": model.kl_to_posterior(x, mu, logvar).item()}


def elbo_explorer(model: LinearGaussian, x: Tensor):
    """Sliders for q's mean (2 latent dims) and log-std; shows ELBO ≤ log p(x) and the gap = KL."""
    import matplotlib.pyplot as plt

    from . import plots

    m, S = model.posterior(x.reshape(1, -1))
    ui = Explorer("ELBO explorer")
    out = ui.output()

    def draw(mu1: float, mu2: float, log_sigma: float) -> None:
        s = elbo_state(model, x, torch.tensor([mu1, mu2]), torch.full((2,), log_sigma))
        with out:
            out.clear_output(wait=True)
            fig, ax = plots.figure(width=5)
            ax.bar(["ELBO", "log p(x)"], [s["elbo"], s["log_px"]], color=["C1", "C0"])
            ax.set_ylim(min(s["elbo"], s["log_px"]) - 1, max(s["log_px"], s["elbo"]) + 1)
            ax.set_title(f"gap = {s['gap']:.4f} = KL(q ‖ p(z|x)) = {s['kl_to_posterior']:.4f}", fontsize=9)
            plt.show()

    mu1 = ui.float(0.0, -3, 3, 0.05, "μ₁ of q")
    mu2 = ui.float(0.0, -3, 3, 0.05, "μ₂ of q")
    ls = ui.float(0.0, -3, 1, 0.05, "log σ of q")
    note = ui.html(f"exact posterior mean: ({m[0, 0]:.2f}, {m[0, 1]:.2f}), "
                   f"log std: ({0.5 * S[0, 0].log():.2f}, {0.5 * S[1, 1].log():.2f})")
    ui.bind(draw, {"mu1": mu1, "mu2": mu2, "log_sigma": ls})
    return ui.box([ui.row([mu1, mu2, ls]), note, out])


def sampling_state(
    model,
    vocab,
    temperature: float,
    top_k: int,
    top_p: float,
    n: int = 6,
    seed: int = 0,
    grammar=None,
    level: str = "word",
) -> list[tuple[str, float | None]]:
    """n sentences sampled from a language model, each with its exact log-probability per token
    under `grammar` (the corpus's true generator; None when unknown, −inf when impossible)."""
    from ganvae_edu.text.tokenize import detokenize

    g = torch.Generator().manual_seed(seed)
    ids = model.sample(n, generator=g, temperature=temperature, top_k=top_k, top_p=top_p)
    out = []
    for row in ids:
        tokens = vocab.decode(row)
        score = grammar.log_prob(tokens) / (len(tokens) + 1) if grammar is not None else None
        out.append((detokenize(tokens, level), score))
    return out


def _show_sentences(out, rows: Sequence[tuple[str, float | None]]) -> None:
    """Replace what `out` shows by one sentence a line, with its true log p per token when known."""
    with out:
        out.clear_output(wait=True)
        for text, score in rows:
            tail = "" if score is None else f"   [true log p / token: {score:.2f}]"
            print(text + tail)


def sampling_explorer(model, vocab, grammar=None, level: str = "word", n: int = 6):
    """Sliders for temperature, top-k and top-p; shows fresh samples (and their true log p)."""
    ui = Explorer("sampling explorer")
    out = ui.output()

    def draw(temperature: float, top_k: int, top_p: float, seed: int) -> None:
        _show_sentences(out, sampling_state(model, vocab, temperature, top_k, top_p, n, seed, grammar, level))

    controls = {
        "temperature": ui.float(1.0, 0.1, 2.0, 0.05, "temperature"),
        "top_k": ui.int(0, 0, 50, "top-k (0: off)"),
        "top_p": ui.float(1.0, 0.05, 1.0, 0.05, "top-p"),
        "seed": ui.int(0, 0, 100, "seed"),
    }
    ui.bind(draw, controls)
    return ui.box([ui.row(list(controls.values())[:2]), ui.row(list(controls.values())[2:]), out])


def latent_directions(mu: Tensor, k: int = 3) -> tuple[Tensor, Tensor, Tensor]:
    """The mean code, the top-k principal directions of the codes (k, d) and their std (k,)."""
    centre = mu.mean(0)
    _, s, v = torch.linalg.svd(mu - centre, full_matrices=False)
    return centre, v[:k], s[:k] / (len(mu) - 1) ** 0.5


def latent_state(model, vocab, centre: Tensor, directions: Tensor, stds: Tensor,
                 coefficients: Sequence[float], grammar=None) -> tuple[str, dict | None]:
    """The sentence decoded (greedily) at centre + Σ_i c_i · std_i · direction_i, and, when the
    true grammar is known, its most probable latent factors under it."""
    z = centre + (torch.tensor(coefficients, dtype=centre.dtype)[:, None] * stds[:, None] * directions).sum(0)
    ids = model.decode(z[None].to(model.out.weight.device), greedy=True)[0]
    tokens = vocab.decode(ids)
    post = None
    if grammar is not None and grammar.log_prob(tokens) > float("-inf"):
        post = grammar.posterior(tokens)
    return " ".join(tokens), post


def latent_explorer(model, vocab, mu: Tensor, grammar=None, k: int = 3):
    """Sliders over the main directions of the VAE's codes; the decoded sentence updates live."""
    centre, directions, stds = latent_directions(mu, k)
    ui = Explorer("latent explorer")
    out = ui.output()

    def draw(**coefficients: float) -> None:
        values = list(coefficients.values())
        text, post = latent_state(model, vocab, centre, directions, stds, values, grammar)
        with out:
            out.clear_output(wait=True)
            print(text)
            if post is not None:
                (scene, style), p = max(post.items(), key=lambda kv: kv[1])
                print(f"   true generator: scene {scene}, style {style} (posterior {p:.2f})")
            elif grammar is not None:
                print("   (a sentence the true generator cannot produce)")

    sliders = {f"c{i}": ui.float(0.0, -3, 3, 0.1, f"direction {i + 1}") for i in range(len(directions))}
    ui.bind(draw, sliders)
    return ui.box([ui.row(list(sliders.values())), out])


def combined_state(sources: dict[str, SentenceGenerator], vocab, source: str, temperature: float,
                   n: int = 5, seed: int = 0, grammar=None, level: str = "word",
                   max_len: int = 40) -> list[tuple[str, float | None]]:
    """n sentences from the model `sources[source]` (e.g. the VAE-GAN, or the VAE with its latent
    GAN) at a temperature, each with its true log-probability per token when `grammar` is known."""
    from ganvae_edu.text.tokenize import detokenize

    if source not in sources:
        raise ValueError(f"source={source!r}: choose one of {', '.join(sources)}")
    out = []
    g = torch.Generator().manual_seed(seed)
    for row in sources[source].sample(n, max_len=max_len, generator=g, temperature=temperature):
        tokens = vocab.decode(row)
        score = grammar.log_prob(tokens) / (len(tokens) + 1) if grammar is not None else None
        out.append((detokenize(tokens, level), score))
    return out


def interpolation_state(model, vocab, z_a: Tensor, z_b: Tensor, steps: int = 5,
                        level: str = "word") -> list[str]:
    """Sentences decoded greedily along the straight line from code z_a to code z_b."""
    from ganvae_edu.text.sentence_vae import interpolate
    from ganvae_edu.text.tokenize import detokenize

    z = interpolate(z_a, z_b, steps).to(model.out.weight.device)
    return [detokenize(vocab.decode(ids), level) for ids in model.decode(z, greedy=True)]


def combined_explorer(sources: dict[str, SentenceGenerator], model, vocab, codes: Tensor, grammar=None,
                      level: str = "word", n: int = 5, max_len: int = 40):
    """Sample from a chosen model at a temperature; interpolate between two sentences' codes."""
    ui = Explorer("combined explorer")
    out, line = ui.output(), ui.output()

    def draw(source: str, temperature: float, seed: int) -> None:
        _show_sentences(out, combined_state(sources, vocab, source, temperature, n, seed, grammar, level,
                                            max_len))

    def draw_line(a: int, b: int, steps: int) -> None:
        with line:
            line.clear_output(wait=True)
            for text in interpolation_state(model, vocab, codes[a], codes[b], steps, level):
                print(text)

    controls = {
        "source": ui.choice(list(sources), "codes from"),
        "temperature": ui.float(1.0, 0.1, 2.0, 0.05, "temperature"),
        "seed": ui.int(0, 0, 100, "seed"),
    }
    ends = {
        "a": ui.int(0, 0, len(codes) - 1, "sentence A"),
        "b": ui.int(1, 0, len(codes) - 1, "sentence B"),
        "steps": ui.int(5, 2, 10, "steps"),
    }
    ui.bind(draw, controls)
    header = ui.html("<b>interpolation</b>")
    ui.bind(draw_line, ends)
    return ui.box([ui.row(list(controls.values())), out, header, ui.row(list(ends.values())), line])
