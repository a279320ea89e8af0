"""Residual connections, screened as a user's own module (eleventh round, README.md): the course
family's layout with an identity shortcut around each of the last three 3×3 convs, which cost
no parameters. The convs have no padding, so the shortcut takes the centre of its input
(11×11 → 9×9 and so on), as a valid-convolution ResNet does.

    python benchmarks/screen.py benchmarks/candidates/residual.py:Res4999 \\
        benchmarks/candidates/residual.py:Res3882 --seeds 4 --set batch_size=64 ...

Res4999: course-t14-w11's widths (14 | squeeze 12 | four convs of 11), 4,999 params;
Res3882: course-3882's (14 | squeeze 8 | four convs of 10), 3,882 params."""

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, first: int, squeeze: int, width: int, p: float = 0.05):
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
        # 11→9→7→5, RF 12, 16, 20: x + BN(conv(x)) on the centre of x, then ReLU and dropout
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, bias=False) for _ in range(3))
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(3))
        self.drops = nn.ModuleList(nn.Dropout(p) for _ in range(3))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, 10, bias=False)  # as the spec head: no bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.drop1(torch.relu(self.bn1(self.conv1(x)))))
        x = torch.relu(self.bn2(self.squeeze(x)))
        x = self.drop3(torch.relu(self.bn3(self.conv3(x))))
        for conv, bn, drop in zip(self.convs, self.bns, self.drops, strict=True):
            x = drop(torch.relu(bn(conv(x)) + x[..., 1:-1, 1:-1]))
        return self.fc(self.gap(x).flatten(1))


class Res4999(Residual):
    def __init__(self):
        super().__init__(first=14, squeeze=12, width=11)


class Res3882(Residual):
    def __init__(self):
        super().__init__(first=14, squeeze=8, width=10)
