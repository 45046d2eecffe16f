"""ganvae-edu: GANs and VAEs, derived, verified and combined to generate text."""

__version__ = "0.1.0"
