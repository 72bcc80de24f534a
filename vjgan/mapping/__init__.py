"""Mapping stage: the modulation matrix that turns Features into FrameParams, once per rendered frame."""
