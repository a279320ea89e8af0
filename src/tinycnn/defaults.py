"""The bundled data's shape and name: what a description assumes when no data is given.

Kept apart from `data.py` (which reads images with torch) so that the description layer (spec,
layers, table, rules, zoo) can default to MNIST's 1×28×28 and 10 classes without importing torch.
"""

from __future__ import annotations

MNIST_INPUT: tuple[int, int, int] = (1, 28, 28)  # channels, height, width
MNIST_CLASSES = 10
MNIST, MNIST_TARGET = "MNIST", 99.4  # the bundled data's name, and the course's target
