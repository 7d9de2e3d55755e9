"""Network architectures of the learned experts (one file each).

- :mod:`restora.experts.archs.nafnet`: NAFNet-style U-Net (Chen et al., ECCV 2022) in sizes
  ``small``/``base``, and its conditioned variant that gates features at every scale with an
  embedding vector (InstructIR's instruction-conditioned blocks, Conde et al., ECCV 2024).
"""
