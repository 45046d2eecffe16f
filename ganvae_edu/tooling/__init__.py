"""Running the sequence: notebooks, sweeps, benchmarks and the `ganvae-edu` command line."""
