#!/usr/bin/env python3
"""Exports a monocular depth network to an ONNX graph that OpenCV 4.6's DNN module can import.

StereoSpot's `onnx:<path>` depth backend (src/stereo/onnx_depth.h) runs such a graph on the CPU.
A plain `torch.onnx.export` of a DINOv2/DPT network does not load in OpenCV 4.6, so the networks
here are written with the fixes of DESIGN.md section 6 built in:
  - opset 11..14 (default 13) and a fixed input size;
  - the positional embedding interpolated (bicubic, as DINOv2 does) ahead of export, so the graph
    holds a constant instead of a cubic Resize;
  - the class token concatenated as a (1, 1, C) constant, without Expand (batch size 1);
  - LayerNorm decomposed into ReduceMean/Sub/Mul/Sqrt/Div (no LayerNormalization op), and the
    per-channel scales on the last axis (LayerNorm weight and bias, LayerScale, the attention
    scale) folded into the neighbouring linear weights;
  - q, k and v taken by slicing, no Gather/Squeeze with a second input;
  - bilinear resizes only; ReLU6 written as relu(x) - relu(x - 6); constant folding on.

Families (the `family` field of the manifest written next to the .onnx):
  depth-anything-v2   Depth Anything V2 Small: DINOv2 ViT-S/14 encoder (384-dim, 12 blocks,
                      6 heads, patch 14) + DPT head. Loads the official checkpoint
                      `depth_anything_v2_vits.pth` (same parameter names).
  midas-small         a MiDaS-small-class CNN: a small conv encoder (strides 4..32) and MiDaS's
                      fusion decoder with bilinear upsampling. The encoder is a simplification of
                      MiDaS v2.1 small's EfficientNet-Lite3, so it only loads state dicts saved
                      from this tool's own network (or made with --random-weights).

Outputs: <out>.onnx, <out>.onnx.json (the manifest) and, with --reference, <out>.ref_input.f32
(the input image, uint8 RGB stored as float32 H x W x 3) and <out>.ref_output.f32 (the network's
raw output for it, float32 H x W, computed by PyTorch), which the C++ tests compare against.

No network access: weights come from a local file or from --random-weights --seed N.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit(f"export_depth_onnx: {e} (interpreter {sys.executable}); run "
             "`bash scripts/install-deps.sh` (installs python3-torch, python3-numpy, "
             "python3-onnx) and run this tool with Debian's /usr/bin/python3")

warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def relu6(x: torch.Tensor) -> torch.Tensor:
    """ReLU6 as two ReLUs: OpenCV 4.6 cannot import Clip with min/max given as inputs."""
    return F.relu(x) - F.relu(x - 6.0)


# ---------------------------------------------------------------------------------------------
# Depth Anything V2 Small: DINOv2 ViT-S/14 + DPT head. Parameter names follow the official
# repository so its checkpoint loads with strict=True.
# ---------------------------------------------------------------------------------------------


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)


class LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.ls2 = LayerScale(dim)


class DinoV2(nn.Module):
    """The parameters of DINOv2 ViT-S/14 as Depth Anything V2 stores them (pretrained.*)."""

    def __init__(self, dim: int = 384, depth: int = 12, heads: int = 6, patch: int = 14,
                 train_size: int = 518) -> None:
        super().__init__()
        self.patch = patch
        grid = train_size // patch
        self.patch_embed = PatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def interpolated_pos_embed(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """DINOv2's interpolate_pos_encoding for a fixed grid: bicubic, offset 0.1, no antialias."""
        cls_pos = self.pos_embed[:, :1]
        patch_pos = self.pos_embed[:, 1:]
        n = patch_pos.shape[1]
        m = int(math.sqrt(n))
        if (grid_h, grid_w) == (m, m):
            return self.pos_embed.detach().clone()
        dim = patch_pos.shape[-1]
        scale = ((grid_h + 0.1) / m, (grid_w + 0.1) / m)
        grid = F.interpolate(patch_pos.reshape(1, m, m, dim).permute(0, 3, 1, 2),
                             scale_factor=scale, mode="bicubic", align_corners=False)
        assert grid.shape[-2:] == (grid_h, grid_w), grid.shape
        grid = grid.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, dim)
        return torch.cat([cls_pos, grid], dim=1).detach()


class ResidualConvUnit(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.relu(self.conv1(F.relu(x)))) + x


class FeatureFusionBlock(nn.Module):
    def __init__(self, features: int) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, x: torch.Tensor, skip: Optional[torch.Tensor],
                size: Tuple[int, int]) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=True)
        return self.out_conv(x)


class Scratch(nn.Module):
    def __init__(self, in_channels: List[int], features: int, head_mid: int) -> None:
        super().__init__()
        for i, c in enumerate(in_channels):
            setattr(self, f"layer{i + 1}_rn", nn.Conv2d(c, features, 3, padding=1, bias=False))
            setattr(self, f"refinenet{i + 1}", FeatureFusionBlock(features))
        self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.output_conv2 = nn.Sequential(
            nn.Conv2d(features // 2, head_mid, 3, padding=1), nn.ReLU(),
            nn.Conv2d(head_mid, 1, 1), nn.ReLU(), nn.Identity())

    def decode(self, layers: List[torch.Tensor], sizes: List[Tuple[int, int]],
               out_size: Tuple[int, int]) -> torch.Tensor:
        """`sizes` are the spatial sizes of `layers`, as Python ints: sizes taken from tensors
        would be traced as Shape ops, which OpenCV 4.6 mis-infers ahead of a Resize."""
        rn = [getattr(self, f"layer{i + 1}_rn")(x) for i, x in enumerate(layers)]
        path = self.refinenet4(rn[3], None, sizes[2])
        path = self.refinenet3(path, rn[2], sizes[1])
        path = self.refinenet2(path, rn[1], sizes[0])
        path = self.refinenet1(path, rn[0], (sizes[0][0] * 2, sizes[0][1] * 2))
        out = self.output_conv1(path)
        out = F.interpolate(out, size=out_size, mode="bilinear", align_corners=True)
        return self.output_conv2(out)


class DPTHead(nn.Module):
    def __init__(self, dim: int = 384, features: int = 64,
                 out_channels: Tuple[int, ...] = (48, 96, 192, 384)) -> None:
        super().__init__()
        self.projects = nn.ModuleList([nn.Conv2d(dim, c, 1) for c in out_channels])
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(out_channels[0], out_channels[0], 4, stride=4),
            nn.ConvTranspose2d(out_channels[1], out_channels[1], 2, stride=2),
            nn.Identity(),
            nn.Conv2d(out_channels[3], out_channels[3], 3, stride=2, padding=1)])
        self.scratch = Scratch(list(out_channels), features, 32)


class DepthAnythingV2Small(nn.Module):
    """Depth Anything V2 Small. Call prepare(h, w) once before forward/export."""

    LAYERS = (2, 5, 8, 11)

    def __init__(self) -> None:
        super().__init__()
        self.pretrained = DinoV2()
        self.depth_head = DPTHead()
        self._fixed: Dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def prepare(self, height: int, width: int) -> None:
        """Fixes the input size and folds per-channel scales into linear weights (export form)."""
        vit = self.pretrained
        gh, gw = height // vit.patch, width // vit.patch
        pos = vit.interpolated_pos_embed(gh, gw)
        self._fixed = {"pos_cls": (vit.cls_token + pos[:, :1]).detach(),
                       "pos_patch": pos[:, 1:].detach()}
        self._grid = (gh, gw)
        self._dim = int(pos.shape[-1])
        self._folded = []
        for blk in vit.blocks:
            dim = blk.norm1.weight.numel()
            hd = dim // blk.attn.heads
            # qkv(LN(x)) = W (n * g + b) + c = (W diag g) n + (W b + c); q also takes 1/sqrt(hd).
            qkv_w, qkv_b = fold_affine_in(blk.attn.qkv, blk.norm1)
            qscale = torch.ones(3 * dim)
            qscale[:dim] = hd ** -0.5
            qkv_w, qkv_b = qkv_w * qscale[:, None], qkv_b * qscale
            # ls1 * (P y + p) = (diag ls1 P) y + ls1 p; the same for ls2 after fc2.
            proj_w, proj_b = fold_affine_out(blk.attn.proj, blk.ls1.gamma)
            fc1_w, fc1_b = fold_affine_in(blk.mlp.fc1, blk.norm2)
            fc2_w, fc2_b = fold_affine_out(blk.mlp.fc2, blk.ls2.gamma)
            self._folded.append((blk.attn.heads, blk.norm1.eps, blk.norm2.eps, qkv_w, qkv_b,
                                 proj_w, proj_b, fc1_w, fc1_b, fc2_w, fc2_b))
        # The final norm feeds the 1x1 projections of the DPT head: fold it into them.
        self._projects = []
        g, b = vit.norm.weight, vit.norm.bias
        for conv in self.depth_head.projects:
            w = conv.weight[:, :, 0, 0]
            self._projects.append(((w * g[None, :])[:, :, None, None].clone(),
                                   (conv.bias + w @ b).clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gh, gw = self._grid
        n, dim = 1 + gh * gw, self._dim
        vit = self.pretrained
        t = vit.patch_embed.proj(x).reshape(1, dim, gh * gw).transpose(1, 2)
        t = torch.cat([self._fixed["pos_cls"], t + self._fixed["pos_patch"]], dim=1)
        feats = []
        for i, (heads, eps1, eps2, qkv_w, qkv_b, proj_w, proj_b, fc1_w, fc1_b, fc2_w,
                fc2_b) in enumerate(self._folded):
            t = t + attention(plain_norm(t, eps1), n, dim, heads, qkv_w, qkv_b, proj_w, proj_b)
            h = linear(plain_norm(t, eps2), n, fc1_w, fc1_b)
            t = t + linear(gelu(h), n, fc2_w, fc2_b)
            if i in self.LAYERS:
                feats.append(plain_norm(t, vit.norm.eps))
        head = self.depth_head
        layers = []
        for i, f in enumerate(feats):
            f = f[:, 1:].transpose(1, 2).reshape(1, dim, gh, gw)
            w, b = self._projects[i]
            layers.append(head.resize_layers[i](F.conv2d(f, w, b)))
        sizes = [(4 * gh, 4 * gw), (2 * gh, 2 * gw), (gh, gw), (halved(gh), halved(gw))]
        out = head.scratch.decode(layers, sizes, (gh * vit.patch, gw * vit.patch))
        return F.relu(out)

    @torch.no_grad()
    def forward_published(self, x: torch.Tensor) -> torch.Tensor:
        """The network as published (nn.LayerNorm, LayerScale, batched multi-head attention,
        pos embed interpolated in the graph), without the export rewrites: the reference that
        the export form must match."""
        vit = self.pretrained
        b_, _, h, w = x.shape
        gh, gw = h // vit.patch, w // vit.patch
        t = vit.patch_embed.proj(x).flatten(2).transpose(1, 2)
        t = torch.cat([vit.cls_token.expand(b_, -1, -1), t], dim=1)
        t = t + vit.interpolated_pos_embed(gh, gw)
        feats = []
        for i, blk in enumerate(vit.blocks):
            y = blk.norm1(t)
            n, c = y.shape[1], y.shape[2]
            heads = blk.attn.heads
            qkv = blk.attn.qkv(y).reshape(b_, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0] * (c // heads) ** -0.5, qkv[1], qkv[2]
            a = (q @ k.transpose(-2, -1)).softmax(dim=-1)
            y = (a @ v).transpose(1, 2).reshape(b_, n, c)
            t = t + blk.ls1.gamma * blk.attn.proj(y)
            t = t + blk.ls2.gamma * blk.mlp.fc2(F.gelu(blk.mlp.fc1(blk.norm2(t))))
            if i in self.LAYERS:
                feats.append(vit.norm(t))
        head = self.depth_head
        layers = []
        for i, f in enumerate(feats):
            f = f[:, 1:].permute(0, 2, 1).reshape(b_, f.shape[-1], gh, gw)
            layers.append(head.resize_layers[i](head.projects[i](f)))
        sizes = [tuple(layer.shape[2:]) for layer in layers]
        return F.relu(head.scratch.decode(layers, sizes, (h, w)))


def fold_affine_in(linear: nn.Linear, norm: nn.LayerNorm) -> Tuple[torch.Tensor, torch.Tensor]:
    w = linear.weight
    return (w * norm.weight[None, :]).clone(), (linear.bias + w @ norm.bias).clone()


def fold_affine_out(linear: nn.Linear, scale: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    return (linear.weight * scale[:, None]).clone(), (linear.bias * scale).clone()


def halved(n: int) -> int:
    """Output side of a 3x3, stride 2, padding 1 convolution."""
    return (n - 1) // 2 + 1


def plain_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """LayerNorm over the last axis without its affine part (folded elsewhere)."""
    mu = x.mean(dim=-1, keepdim=True)
    d = x - mu
    var = (d * d).mean(dim=-1, keepdim=True)
    return d / torch.sqrt(var + eps)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact (erf) GELU, as DINOv2 uses."""
    return 0.5 * x * (1.0 + torch.erf(x * (1.0 / math.sqrt(2.0))))


def attention(x: torch.Tensor, n: int, dim: int, heads: int, qkv_w: torch.Tensor,
              qkv_b: torch.Tensor, proj_w: torch.Tensor, proj_b: torch.Tensor) -> torch.Tensor:
    hd = dim // heads
    qkv = F.linear(x.reshape(n, dim), qkv_w, qkv_b)
    q = qkv[:, :dim].reshape(n, heads, hd).permute(1, 0, 2)
    k = qkv[:, dim:2 * dim].reshape(n, heads, hd).permute(1, 2, 0)
    v = qkv[:, 2 * dim:].reshape(n, heads, hd).permute(1, 0, 2)
    a = torch.softmax(torch.matmul(q, k), dim=-1)
    y = torch.matmul(a, v).permute(1, 0, 2).reshape(n, dim)
    return F.linear(y, proj_w, proj_b).reshape(1, n, dim)


def linear(x: torch.Tensor, n: int, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A linear layer on (1, n, C) tokens, run on a 2-D view so it exports as Gemm with its bias:
    OpenCV 4.6 cannot add a bias over the last axis of a 3-D MatMul (and cannot broadcast the
    LayerNorm statistics of a 2-D tensor, so tokens stay 3-D between linear layers)."""
    return F.linear(x.reshape(n, w.shape[1]), w, b).reshape(1, n, w.shape[0])


# ---------------------------------------------------------------------------------------------
# MiDaS-small class: a small conv encoder (inverted residual blocks, ReLU6) + MiDaS's fusion
# decoder (the Scratch above, with bilinear upsampling).
# ---------------------------------------------------------------------------------------------


class ConvBnAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int = 4) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = ConvBnAct(cin, mid, 1)
        self.dw = ConvBnAct(mid, mid, 3, stride, groups=mid)
        self.project = ConvBnAct(mid, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(relu6(self.dw(relu6(self.expand(x)))))
        return x + y if self.residual else y


class MidasSmallLike(nn.Module):
    CHANNELS = (32, 48, 136, 384)  # MiDaS v2.1 small's EfficientNet-Lite3 stage widths

    def __init__(self) -> None:
        super().__init__()
        c = self.CHANNELS
        self.stem = ConvBnAct(3, 32, 3, 2)
        self.layer1 = nn.Sequential(InvertedResidual(32, c[0], 2), InvertedResidual(c[0], c[0], 1))
        self.layer2 = nn.Sequential(InvertedResidual(c[0], c[1], 2), InvertedResidual(c[1], c[1], 1))
        self.layer3 = nn.Sequential(InvertedResidual(c[1], c[2], 2), InvertedResidual(c[2], c[2], 1))
        self.layer4 = nn.Sequential(InvertedResidual(c[2], c[3], 2), InvertedResidual(c[3], c[3], 1))
        self.scratch = Scratch(list(c), 64, 32)

    def prepare(self, height: int, width: int) -> None:
        self._size = (height, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        l1 = self.layer1(relu6(self.stem(x)))
        l2 = self.layer2(l1)
        l3 = self.layer3(l2)
        l4 = self.layer4(l3)
        h, w = self._size
        sizes = [(h // 4, w // 4), (h // 8, w // 8), (h // 16, w // 16), (h // 32, w // 32)]
        return F.relu(self.scratch.decode([l1, l2, l3, l4], sizes, self._size))


# ---------------------------------------------------------------------------------------------

FAMILIES = {
    # family: (class, side multiple, default (width, height), mean, std)
    "depth-anything-v2": (DepthAnythingV2Small, 14, (518, 392), IMAGENET_MEAN, IMAGENET_STD),
    "midas-small": (MidasSmallLike, 32, (256, 256), IMAGENET_MEAN, IMAGENET_STD),
}


def randomise(model: nn.Module, seed: int) -> None:
    """Deterministic random weights, scaled so activations stay O(1) through the network."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            elif name.endswith("gamma"):
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
        if isinstance(model, DepthAnythingV2Small):
            # Bias the last conv so the final ReLU keeps most pixels (a relative depth map).
            model.depth_head.scratch.output_conv2[2].bias.fill_(1.0)
        if isinstance(model, MidasSmallLike):
            model.scratch.output_conv2[2].bias.fill_(1.0)


def load_weights(model: nn.Module, path: Path) -> None:
    state = torch.load(str(path), map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        sys.exit(f"export_depth_onnx: {path} does not match the architecture: "
                 f"missing {missing[:5]}... unexpected {unexpected[:5]}...")


def reference_image(height: int, width: int, seed: int) -> np.ndarray:
    """A fixed, smooth-ish RGB test image (uint8 values, H x W x 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(x / 9.0), 128 + 100 * np.cos(y / 7.0),
                     128 + 80 * np.sin((x + y) / 13.0)], axis=-1)
    noise = rng.integers(-20, 21, size=base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def preprocess(image: np.ndarray, mean: List[float], std: List[float]) -> torch.Tensor:
    """uint8 RGB H x W x 3 -> float32 1 x 3 x H x W, the same maths as the C++ backend."""
    x = image.astype(np.float32) / np.float32(255.0)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", required=True, choices=sorted(FAMILIES))
    ap.add_argument("--output", required=True, type=Path, help="the .onnx file to write")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", type=Path, help="a PyTorch state dict (.pth) of the architecture")
    src.add_argument("--random-weights", action="store_true", help="random weights (tests)")
    src.add_argument("--manifest-only", action="store_true",
                     help="only write the manifest for an existing OpenCV-loadable .onnx")
    ap.add_argument("--seed", type=int, default=0, help="seed for --random-weights")
    ap.add_argument("--width", type=int, help="network input width (default per family)")
    ap.add_argument("--height", type=int, help="network input height (default per family)")
    ap.add_argument("--opset", type=int, default=13, choices=range(11, 15))
    ap.add_argument("--reference", action="store_true",
                    help="also write <output>.ref_input.f32 and <output>.ref_output.f32")
    args = ap.parse_args(argv)

    cls, multiple, (dw, dh), mean, std = FAMILIES[args.family]
    width, height = args.width or dw, args.height or dh
    if width <= 0 or height <= 0 or width % multiple or height % multiple:
        ap.error(f"{args.family} needs input sides that are positive multiples of {multiple}, "
                 f"got {width}x{height}")
    out: Path = args.output
    manifest = {"family": args.family, "input_width": width, "input_height": height,
                "mean": mean, "std": std, "channel_order": "rgb", "output": "inverse_depth"}
    if args.manifest_only:
        if args.reference:
            ap.error("--reference needs the network (--weights or --random-weights)")
        Path(str(out) + ".json").write_text(json.dumps(manifest, indent=2) + "\n")
        return 0

    torch.manual_seed(args.seed)
    model = cls()
    if args.random_weights:
        randomise(model, args.seed)
    else:
        load_weights(model, args.weights)
    model.eval()
    model.prepare(height, width)

    image = reference_image(height, width, args.seed)
    x = preprocess(image, mean, std)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        y = model(x)
        if hasattr(model, "forward_published"):
            # The export rewrites (folded scales, decomposed LayerNorm, fixed pos embed) must not
            # change the function: check them against the network as published.
            y_ref = model.forward_published(x)
            rel = float((y - y_ref).norm() / y_ref.norm().clamp_min(1e-12))
            if rel > 1e-4:
                sys.exit(f"export_depth_onnx: export form differs from the published network "
                         f"(relative error {rel:.2e}); this is a bug in the tool")
            y = y_ref
        torch.onnx.export(model, (x,), str(out), opset_version=args.opset,
                          do_constant_folding=True, input_names=["image"],
                          output_names=["depth"])
    Path(str(out) + ".json").write_text(json.dumps(manifest, indent=2) + "\n")
    if args.reference:
        image.astype(np.float32).tofile(str(out) + ".ref_input.f32")
        y.reshape(height, width).numpy().astype(np.float32).tofile(str(out) + ".ref_output.f32")
    print(f"export_depth_onnx: wrote {out} ({args.family}, {width}x{height}, opset {args.opset})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
