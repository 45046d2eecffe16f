"""Counted nouns in printed sentences read right at 1 and at any other value."""

from ganvae_edu.runtime.wording import count


def test_one_is_singular_and_every_other_count_plural():
    assert count(1, "step") == "1 step"
    assert count(0, "step") == "0 steps"
    assert count(2, "sentence") == "2 sentences"
    assert count(1200, "sentence") == "1,200 sentences"


def test_an_irregular_plural_is_given():
    assert count(3, "reply", "replies") == "3 replies"
    assert count(1, "reply", "replies") == "1 reply"
