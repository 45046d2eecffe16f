"""The one decoding loop: each sentence ends at its first <eos> or at max_len, and with `select`
finished sentences leave the batch without changing what the others decode."""

import torch

from ganvae_edu.text.sampling import decode_loop

BOS, EOS = 0, 1


def counting_decoder(lengths, batch_sizes):
    """A decoder whose row for sentence i says 2, 3, 4, … and then <eos> after lengths[i] words.
    Its state is (which sentence each row is, words so far); it records each step's batch size."""
    lengths = torch.tensor(lengths)

    def step(token, state):
        if state is None:
            state = torch.arange(len(lengths)), torch.zeros(len(lengths), dtype=torch.long)
        rows, said = state
        assert token.shape == (len(rows), 1)
        batch_sizes.append(len(rows))
        nxt = torch.where(said < lengths[rows], said + 2, torch.full_like(said, EOS))
        logits = torch.nn.functional.one_hot(nxt, 40).float()[:, None]  # (m, 1, V)
        return logits, (rows, said + 1)

    return step


def select(state, keep):
    rows, said = state
    return rows[keep], said[keep]


def test_finished_sentences_leave_the_batch_and_the_rest_decode_the_same():
    lengths = [0, 5, 2, 9, 5]
    want = [list(range(2, 2 + n)) for n in lengths]
    full, pruned = [], []
    greedy = lambda x: x.argmax(-1)  # noqa: E731
    assert decode_loop(counting_decoder(lengths, full), 5, BOS, EOS, 20, "cpu", greedy) == want
    assert decode_loop(counting_decoder(lengths, pruned), 5, BOS, EOS, 20, "cpu", greedy, select) == want
    assert full == [5] * 10  # every row runs until the longest sentence has ended
    # row 0 ends at once, row 2 after 2 words, rows 1 and 4 after 5
    assert pruned == [5, 4, 4, 3, 3, 3, 1, 1, 1, 1]


def test_max_len_cuts_every_sentence_with_or_without_select():
    lengths = [1, 30]
    for sel in (None, select):
        drawn = decode_loop(counting_decoder(lengths, []), 2, BOS, EOS, 4, "cpu", lambda x: x.argmax(-1), sel)
        assert drawn == [[2], [2, 3, 4, 5]]
