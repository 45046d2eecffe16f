"""Models of vectors: 2D mixtures, MLPs, the toy GAN and VAE, the latent GAN, the vector VAE-GAN."""
