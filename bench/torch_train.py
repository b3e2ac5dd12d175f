"""PyTorch CPU twin of `npm run bench -- train --torch` (optional; never a dependency).

The same backbones as src/train/backbones, layer for layer: LeNet++ (5×5 convolutions with bias and
per-channel PReLU, 2×2 max pooling that keeps the odd edge), MobileFaceNet (3×3 / 1×1 convolutions
without bias, batch norm, PReLU, depthwise convolutions, inverted residuals, GDConv, linear projection)
and resnet-lite (3×3 convolutions, batch norm, PReLU, basic blocks, global average pooling), with the
same channel counts for a given width. One training step: forward, mean squared error against a fixed
target, backward, SGD with momentum 0.9 — as the TypeScript benchmark times it. PyTorch's defaults
throughout (NCHW, its own convolution backends).

    python3 bench/torch_train.py --backbone lenetpp --batch 64 --width 0.25 --threads 1 --repeats 20

The last line printed is JSON: median_ms, min_ms, threads, torch version.
"""

import argparse

import torch
from torch import nn
from torch_timing import report_step_timing


def conv_bn(cin, cout, k, stride, act=True, groups=1, padding=None):
    layers = [
        nn.Conv2d(cin, cout, k, stride, k // 2 if padding is None else padding, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=1e-5),
    ]
    if act:
        layers.append(nn.PReLU(cout))
    return layers


def lenetpp(in_c, side, dim, width):
    layers, c = [], in_c
    for channels in (32, 64, 128):
        f = max(1, round(channels * width))
        for _ in range(2):
            layers += [nn.Conv2d(c, f, 5, padding=2), nn.PReLU(f)]
            c = f
        layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        side = (side + 1) // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * side * side, dim))


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, t, stride):
        super().__init__()
        hidden = cin * t
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(
            *conv_bn(cin, hidden, 1, 1),
            *conv_bn(hidden, hidden, 3, stride, groups=hidden),
            *conv_bn(hidden, cout, 1, 1, act=False),
        )

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def mobilefacenet(in_c, side, dim, width):
    def ch(c):
        return max(8, round(c * width))

    layers = [*conv_bn(in_c, ch(64), 3, 2), *conv_bn(ch(64), ch(64), 3, 1, groups=ch(64))]
    c, side = ch(64), (side + 1) // 2
    for t, cout, n, s in [(2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            layers.append(Bottleneck(c, ch(cout), t, stride))
            c = ch(cout)
            side = (side + stride - 1) // stride
    layers += conv_bn(c, ch(512), 1, 1)
    layers += conv_bn(ch(512), ch(512), side, 1, act=False, groups=ch(512), padding=0)
    layers += conv_bn(ch(512), dim, 1, 1, act=False)
    return nn.Sequential(*layers, nn.Flatten())


class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(c, c, 3, 1), *conv_bn(c, c, 3, 1, act=False))
        self.act = nn.PReLU(c)

    def forward(self, x):
        return self.act(x + self.body(x))


def resnet_lite(in_c, side, dim, width):
    first = max(4, round(16 * width))
    layers, c = conv_bn(in_c, first, 3, 1), first
    while side > 28:
        layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        side = (side + 1) // 2
    for stage, channels in enumerate((16, 32, 64)):
        f = max(4, round(channels * width))
        if stage > 0:
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        if c != f:
            layers.append(nn.Conv2d(c, f, 3, 1, 1, bias=False))
            c = f
        layers += [BasicBlock(c), BasicBlock(c)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, dim))


BACKBONES = {"lenetpp": lenetpp, "mobilefacenet": mobilefacenet, "resnet-lite": resnet_lite}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backbone", choices=sorted(BACKBONES), default="lenetpp")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--side", type=int, default=28)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=20)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = BACKBONES[a.backbone](a.channels, a.side, a.dim, a.width).train()
    x = torch.randn(a.batch, a.channels, a.side, a.side)
    target = torch.randn(a.batch, a.dim)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    report_step_timing(step, 3, a.repeats, a.threads)

if __name__ == "__main__":
    main()
