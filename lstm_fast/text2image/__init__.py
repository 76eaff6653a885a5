"""Caption-to-image generation with LSTMs: alignDRAW (Mansimov et al., ICLR 2016) on captioned MNIST.

``TextToImage`` generates without torch; training and export (``train``, ``export``,
``torch_model``) import torch and are not imported here.
"""

from .model import TextToImage

__all__ = ["TextToImage"]
