"""Audio stage: sources (live input, file player) → ring buffer → online analysis → Features."""
