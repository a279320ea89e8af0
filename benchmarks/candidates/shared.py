"""Weight sharing, screened as a user's own module (tenth round, README.md): course-t14-w11's
layout with its last three 3×3 convs sharing one set of weights, each use with its own batch
norm and dropout, so they can be wider for the same parameters (one W×W×3×3 conv counted once).

    python benchmarks/screen.py benchmarks/candidates/shared.py:Shared4k \
        benchmarks/candidates/shared.py:Shared5k --seeds 4 --set batch_size=64 ...

Shared4k: widths 14 at 3,884 params (course-3882 has four independent convs of 10);
Shared5k: widths 16 at 4,676 (course-t14-w11: four of 11 at 4,999)."""

import torch
from torch import nn


class Shared(nn.Module):
    def __init__(self, first=14, squeeze=12, width=14, uses=3, p=0.05):
        super().__init__()
        self.conv1 = nn.Conv2d(1, first, 3, bias=False)  # 28→26, RF 3
        self.bn1 = nn.BatchNorm2d(first)
        self.drop1 = nn.Dropout(p)
        self.pool = nn.MaxPool2d(2)  # 26→13, RF 4
        self.squeeze = nn.Conv2d(first, squeeze, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(squeeze)
        self.conv3 = nn.Conv2d(squeeze, width, 3, bias=False)  # 13→11, RF 8
        self.bn3 = nn.BatchNorm2d(width)
        self.drop3 = nn.Dropout(p)
        self.shared = nn.Conv2d(width, width, 3, bias=False)  # 11→9→7→5, RF 12, 16, 20
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(uses))
        self.drops = nn.ModuleList(nn.Dropout(p) for _ in range(uses))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        x = self.pool(self.drop1(torch.relu(self.bn1(self.conv1(x)))))
        x = torch.relu(self.bn2(self.squeeze(x)))
        x = self.drop3(torch.relu(self.bn3(self.conv3(x))))
        for bn, drop in zip(self.bns, self.drops, strict=True):
            x = drop(torch.relu(bn(self.shared(x))))
        return self.fc(self.gap(x).flatten(1))


class Shared4k(Shared):
    def __init__(self):
        super().__init__(width=14)


class Shared5k(Shared):
    def __init__(self):
        super().__init__(width=16)
