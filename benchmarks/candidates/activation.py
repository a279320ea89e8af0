"""SiLU instead of ReLU, screened as a user's own module (thirteenth round, README.md): the
course family's layout, the same parameters to the digit (an activation has none). The
evidence so far says these designs are short of capacity, not of regularisation (round 7: they
fit their training batches hardly better than held-out images); a smooth activation keeps a
gradient below zero and is the one change to the unit itself not yet tried.

    python benchmarks/screen.py benchmarks/candidates/activation.py:Silu4999 \\
        benchmarks/candidates/activation.py:Relu4999 \\
        benchmarks/candidates/activation.py:Silu3882 --seeds 4 --set batch_size=64 ...

Relu4999 is the control: course-t14-w11 (14 | squeeze 12 | four convs of 11, 4,999 params)
written as a module, so both sides run the same code path; Silu4999 the same with SiLU;
Silu3882 course-3882's widths (14 | squeeze 8 | four convs of 10, 3,882 params) with SiLU."""

from collections.abc import Callable

import torch
from torch import nn


class Course(nn.Module):
    def __init__(self, first: int, squeeze: int, width: int, act: Callable, p: float = 0.05):
        super().__init__()
        self.act = act
        self.conv1 = nn.Conv2d(1, first, 3, bias=False)  # 28→26, RF 3
        self.bn1 = nn.BatchNorm2d(first)
        self.drop1 = nn.Dropout(p)
        self.pool = nn.MaxPool2d(2)  # 26→13, RF 4
        self.squeeze = nn.Conv2d(first, squeeze, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(squeeze)
        # 13→11→9→7→5, RF 8, 12, 16, 20
        self.convs = nn.ModuleList(
            nn.Conv2d(squeeze if i == 0 else width, width, 3, bias=False) for i in range(4)
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(4))
        self.drops = nn.ModuleList(nn.Dropout(p) for _ in range(4))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, 10, bias=False)  # as the spec head: no bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.drop1(self.act(self.bn1(self.conv1(x)))))
        x = self.act(self.bn2(self.squeeze(x)))
        for conv, bn, drop in zip(self.convs, self.bns, self.drops, strict=True):
            x = drop(self.act(bn(conv(x))))
        return self.fc(self.gap(x).flatten(1))


class Relu4999(Course):
    def __init__(self):
        super().__init__(first=14, squeeze=12, width=11, act=torch.relu)


class Silu4999(Course):
    def __init__(self):
        super().__init__(first=14, squeeze=12, width=11, act=nn.functional.silu)


class Silu3882(Course):
    def __init__(self):
        super().__init__(first=14, squeeze=8, width=10, act=nn.functional.silu)
