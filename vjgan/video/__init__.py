"""Video stage: camera / video-file sources (PyAV, own thread, latest frame wins) and the encoder path
frame → VAE-GAN encoder → latent map → W+ latent the generator thread renders."""
