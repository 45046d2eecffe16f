"""The sequence discriminator: ids and their one-hots agree, soft inputs pass gradients, it learns."""

import torch

from ganvae_edu.formulas import gan
from ganvae_edu.text.discriminator import CNNDiscriminator


def test_ids_and_one_hots_give_the_same_logit_and_soft_inputs_pass_gradients():
    torch.manual_seed(0)
    d = CNNDiscriminator(20, emb=8, filters=4).eval()
    ids = torch.randint(4, 20, (5, 3))  # shorter than the widest filter: padded inside
    one_hot = torch.nn.functional.one_hot(ids, 20).float()
    assert torch.allclose(d(ids), d(one_hot), atol=1e-6)
    soft = torch.randn(5, 7, 20).softmax(-1).requires_grad_()
    d(soft).sum().backward()
    assert soft.grad.abs().sum() > 0


def test_it_learns_to_tell_two_sentence_sources_apart():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(4, 10, (256, 8), generator=g)  # words from one half of the vocabulary
    fake = torch.randint(10, 16, (256, 8), generator=g)  # and from the other
    torch.manual_seed(0)
    d = CNNDiscriminator(16, emb=8, filters=8)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    for _ in range(60):
        loss = gan.discriminator_loss(d(real), d(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    d.eval()
    assert (torch.sigmoid(d(real)) > 0.9).float().mean() > 0.95
    assert (torch.sigmoid(d(fake)) < 0.1).float().mean() > 0.95
