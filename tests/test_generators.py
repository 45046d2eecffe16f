"""Every sentence generator shares one call: model.sample(n, *, max_len, generator, temperature)."""

import inspect

import pytest
import torch

from ganvae_edu.text.batches import pad
from ganvae_edu.text.lm import GRULanguageModel
from ganvae_edu.text.sentence_vae import SentenceVAE
from ganvae_edu.text.vaegan import TwoStageVAEGAN
from ganvae_edu.vector.latent_gan import CodeGenerator

V = 12


def generators():
    torch.manual_seed(0)
    vae = SentenceVAE(V, emb=6, hidden=10, latent=3).eval()
    return {"lm": GRULanguageModel(V, emb=6, hidden=10).eval(), "vae": vae,
            "two_stage": TwoStageVAEGAN(vae, CodeGenerator(2, 3, 8, 1)).eval()}


@pytest.mark.parametrize("name", ["lm", "vae", "two_stage"])
def test_one_sample_signature_and_repeatable_draws(name):
    model = generators()[name]
    params = inspect.signature(model.sample).parameters
    assert list(params)[:4] == ["n", "max_len", "generator", "temperature"]
    assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in list(params)[1:4])

    def draw():
        return model.sample(6, max_len=5, generator=torch.Generator().manual_seed(3), temperature=0.8)

    a = draw()
    assert a == draw() and len(a) == 6 and all(len(s) <= 5 for s in a)
    assert all(2 not in s for s in a)  # <eos> ends a sentence and is not part of it
    with pytest.raises(TypeError):
        model.sample(6, 1, 2)  # bos / eos are the model's own, not arguments


def test_the_language_model_knows_its_bos_and_eos():
    torch.manual_seed(0)
    assert (GRULanguageModel(V).bos_id, GRULanguageModel(V).eos_id) == (1, 2)  # the vocabulary's ids
    model = GRULanguageModel(V, emb=6, hidden=10, bos_id=5, eos_id=6)
    with torch.no_grad():
        model.out.bias.fill_(-10.0)
        model.out.bias[6] = 10.0  # almost surely <eos> at once
    assert model.sample(4, max_len=3, generator=torch.Generator().manual_seed(0)) == [[]] * 4


def test_public_decoder_logits_and_parameter_groups():
    model = generators()["vae"]
    batch, lengths = pad([[1, 5, 7, 2], [1, 4, 2]])
    z = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    logits = model.teacher_forced_logits(batch[:, :-1], z, lengths - 1)
    assert logits.shape == (2, 3, V)
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch[:, 1:], reduction="none").sum(1)
    assert torch.allclose(-model.log_likelihood(batch, lengths, z)[0], nll[0])  # row 0 has no padding

    def ids(params):
        return {id(p) for p in params}

    enc, dec = ids(model.encoder_parameters()), ids(model.decoder_parameters())
    assert enc and dec and not enc & dec
    shared = ids(model.parameters()) - enc - dec
    assert shared == {id(model.embed.weight)}  # only the word embedding is both players'
