"""The benchmark networks in PyTorch, layer for layer the project's (bench/lib/workloads.ts).

PyTorch is NCHW; the harness sends NHWC shapes and inputs are generated (or read) in NCHW here.
"""
import torch
from torch import nn


def mlp(in_features: int, num_classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, num_classes),
    )


def cnn(channels: int, side: int, num_classes: int) -> nn.Module:
    # 'valid' 3×3 convolutions and 2×2 pools: 28 → 26 → 13 → 11 → 5.
    s = ((side - 2) // 2 - 2) // 2
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * s * s, 128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )


def conv_bn(cin: int, cout: int, k: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5),
    )


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.c1 = conv_bn(cin, cout, 3, stride)
        self.c2 = conv_bn(cout, cout, 3, 1)
        self.proj = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None
        self.relu = nn.ReLU()

    def forward(self, x):
        h = self.c2(self.relu(self.c1(x)))
        return self.relu(h + (x if self.proj is None else self.proj(x)))


def narrow_resnet(channels: int, num_classes: int) -> nn.Module:
    """Stem 3×3·16 + BN, blocks 16/32/64 (stride 1/2/2), global average pool, dense: 77,754 params."""
    return nn.Sequential(
        conv_bn(channels, 16, 3, 1), nn.ReLU(),
        Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(64, num_classes),
    )


def build(workload: dict) -> nn.Module:
    h, w, c = workload["inputShape"]
    k = workload["numClasses"]
    wid = workload["id"]
    if wid == "mlp":
        model = mlp(h * w * c, k)
    elif wid == "cnn":
        model = cnn(c, h, k)
    elif wid == "resnet":
        model = narrow_resnet(c, k)
    else:
        raise ValueError(f"unknown workload {wid!r}")
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if params != workload["params"]:
        raise RuntimeError(f"{wid}: the PyTorch model has {params} parameters, the project's {workload['params']}")
    return model


def optimizer(spec: dict, model: nn.Module) -> torch.optim.Optimizer:
    if spec["name"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=spec["lr"])
    return torch.optim.SGD(model.parameters(), lr=spec["lr"], momentum=spec.get("momentum", 0.9))
