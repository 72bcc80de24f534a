"""Models stage: generators (StyleGAN2, VAE-GAN) behind one interface, safe checkpoint loading,
network bending, and the generator thread that turns GeneratorParams into frames."""
