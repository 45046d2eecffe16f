"""Text as data: corpora, tokenizers, language models and the metrics that judge generated text."""
