"""SpinePlanVNet: the 3D encoder-decoder of Docs/model-contract.md §2, with the contract's tensor names."""
import torch
from torch import nn

# Shipped architecture. The two thick-slice levels (full depth, 2.5 and 5 mm in-plane) use in-plane kernels only;
# five levels give the bottleneck (40 mm in-plane voxels) a receptive field over the whole lumbar column, which
# level identity needs.
DEFAULT_ARCH = {
    "channels": [8, 16, 32, 64, 128],
    "kernels": [[1, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
    "down": [None, [1, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2]],
    "enc_convs": [1, 2, 2, 2, 2],
    "dec_convs": [1, 2, 2, 2],
}


class _Unit(nn.Module):
    def __init__(self, cin, cout, k, act):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, k, padding=[x // 2 for x in k])
        if act:
            self.act = nn.PReLU(cout)


class _Block(nn.Module):
    """Residual block: convs with PReLU between them, PReLU after adding the block's input."""

    def __init__(self, cin, c, k, n):
        super().__init__()
        self.block = nn.ModuleList([_Unit(cin if i == 0 else c, c, k, i < n - 1) for i in range(n)])
        self.out_act = nn.PReLU(c)

    def forward(self, y, residual):
        for i, unit in enumerate(self.block):
            y = unit.conv(y)
            if i < len(self.block) - 1:
                y = unit.act(y)
        return self.out_act(y + residual)


class _ConvAct(nn.Module):
    def __init__(self, conv, c):
        super().__init__()
        self.conv = conv
        self.act = nn.PReLU(c)

    def forward(self, x):
        return self.act(self.conv(x))


class SpinePlanVNet(nn.Module):
    def __init__(self, classes, channels, kernels, down, enc_convs, dec_convs):
        super().__init__()
        L = len(channels)
        self.levels = L
        self.add_module("in", _ConvAct(nn.Conv3d(1, channels[0], kernels[0], padding=[x // 2 for x in kernels[0]]),
                                       channels[0]))
        for l in range(L):
            if l >= 1:
                self.add_module(f"down{l}", _ConvAct(
                    nn.Conv3d(channels[l - 1], channels[l], down[l], stride=down[l]), channels[l]))
            self.add_module(f"enc{l}", _Block(channels[l], channels[l], kernels[l], enc_convs[l]))
        for l in range(L - 2, -1, -1):
            self.add_module(f"up{l}", _ConvAct(
                nn.ConvTranspose3d(channels[l + 1], channels[l], down[l + 1], stride=down[l + 1]), channels[l]))
            self.add_module(f"dec{l}", _Block(2 * channels[l], channels[l], kernels[l], dec_convs[l]))
        self.head = nn.Module()
        self.head.conv = nn.Conv3d(channels[0], classes, 1)

    def forward(self, x):
        """Logits [N, classes, D, H, W]."""
        h = getattr(self, "in")(x)
        skips = []
        for l in range(self.levels):
            if l >= 1:
                h = getattr(self, f"down{l}")(h)
            h = getattr(self, f"enc{l}")(h, h)
            skips.append(h)
        for l in range(self.levels - 2, -1, -1):
            u = getattr(self, f"up{l}")(h)
            h = getattr(self, f"dec{l}")(torch.cat([u, skips[l]], dim=1), u)
        return self.head.conv(h)


def build(classes, arch=DEFAULT_ARCH):
    return SpinePlanVNet(classes, arch["channels"], arch["kernels"], arch["down"], arch["enc_convs"],
                         arch["dec_convs"])


def count_flops(model, shape_dhw=(16, 128, 128)):
    """Multiply-adds × 2 of every convolution for one forward pass of a [1, 1, D, H, W] input."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        w = module.weight
        if isinstance(module, nn.ConvTranspose3d):
            # Every input voxel meets every kernel tap once.
            total += 2 * inputs[0].numel() * w.shape[1] * w[0, 0].numel()
        else:
            total += 2 * output.numel() * w[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d))]
    with torch.no_grad():
        model(torch.zeros(1, 1, *shape_dhw))
    for h in handles:
        h.remove()
    return total


def initialise(model, class_priors=None):
    """He init for PReLU convs (the contract has no normalisation layers, so the scale must be right from the
    start), the last conv of each residual block scaled down, and the head bias at the log class priors."""
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d)):
            nn.init.kaiming_normal_(m.weight, a=0.25, nonlinearity="leaky_relu",
                                    mode="fan_in" if isinstance(m, nn.Conv3d) else "fan_out")
            nn.init.zeros_(m.bias)
    for block in [m for m in model.modules() if isinstance(m, _Block)]:
        with torch.no_grad():
            block.block[-1].conv.weight.mul_(0.5)
    head = model.head.conv
    nn.init.normal_(head.weight, std=0.01)
    if class_priors is not None:
        with torch.no_grad():
            head.bias.copy_(torch.log(torch.as_tensor(class_priors, dtype=torch.float32).clamp(min=1e-5)))
