"""A network written the way the course's notebooks write it: an `nn.Module` class with its layers
in __init__ and the order in forward. Nothing here knows tinycnn; train it with

    tinycnn train examples/modules/course_net.py:Net --preset under8k
"""

import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(  # 28 → 26, RF 3
            nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.05)
        )
        self.conv2 = nn.Sequential(  # 26 → 24, RF 5
            nn.Conv2d(8, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.Dropout(0.05)
        )
        self.pool = nn.MaxPool2d(2)  # 24 → 12, RF 6
        self.squeeze = nn.Sequential(nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.conv3 = nn.Sequential(  # 12 → 10, RF 10
            nn.Conv2d(8, 12, 3, bias=False), nn.BatchNorm2d(12), nn.ReLU(), nn.Dropout(0.05)
        )
        self.conv4 = nn.Sequential(  # 10 → 8, RF 14
            nn.Conv2d(12, 16, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.Dropout(0.05)
        )
        self.conv5 = nn.Sequential(  # 8 → 6, RF 18
            nn.Conv2d(16, 20, 3, bias=False), nn.BatchNorm2d(20), nn.ReLU(), nn.Dropout(0.05)
        )
        self.gap = nn.AdaptiveAvgPool2d(1)  # 6 → 1, RF 28
        self.head = nn.Conv2d(20, 10, 1, bias=False)

    def forward(self, x):
        x = self.pool(self.conv2(self.conv1(x)))
        x = self.conv5(self.conv4(self.conv3(self.squeeze(x))))
        x = self.head(self.gap(x)).view(-1, 10)
        return F.log_softmax(x, dim=-1)


def small():
    """A function returning a module works as well: `course_net.py:small`."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    )  # fmt: skip
