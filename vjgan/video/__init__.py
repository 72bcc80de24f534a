"""Video stage: camera / video-file sources (PyAV, own thread, latest frame wins) and the encoder path
frame → VAE-GAN encoder → latent map → W+ latent the generator thread renders; and the video outs to other
apps (`outputs.py`: NDI, v4l2loopback, Syphon, Spout, each behind a bounded queue and a sender thread)."""
