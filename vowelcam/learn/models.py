"""Single-channel torchvision ResNets for spectrograms, with frequency resolution a CAM can read in Hz.

Besides torchvision's ResNets (:data:`ARCHS`, with ImageNet weights), :data:`NARROW_ARCHS` are ResNet-18s at a
half or a quarter of the width, built from torchvision's blocks with the same parameter names; ``resnet18-w16``
is the CPU default.

A spectrogram row is a frequency, so the network must not squash rows carelessly: by default (``max_hz_per_row``
125) the stem and the first max-pool may halve the frequency axis while ``layer2``..``layer4`` stride in time
only, so the CAM layer keeps <= 125 Hz per row (31.25 Hz input rows x 4). ``max_hz_per_row`` 0 gives the standard
ResNet (stride 32 in both axes). Pretrained conv1 weights are kept for one input channel by summing them over RGB
(exact for a grey image copied to three channels).

The checkpoint (``model/model.pt``) is a plain dict loadable with ``torch.load(weights_only=True)``; see
:func:`checkpoint_dict` and :func:`load_model`.

Input scaling: :func:`vowelcam.learn.dataset.scale_input`.
"""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn
from torchvision import models as tvm

from ..errors import ModelError
from .dataset import scale_input
from .model_file import CHECKPOINT_FORMAT, model_file

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1
ARCHS: dict[str, tuple[Any, Any]] = {
    "resnet18": (tvm.resnet18, tvm.ResNet18_Weights.IMAGENET1K_V1),
    "resnet34": (tvm.resnet34, tvm.ResNet34_Weights.IMAGENET1K_V1),
    "resnet50": (tvm.resnet50, tvm.ResNet50_Weights.IMAGENET1K_V2),
    "resnet101": (tvm.resnet101, tvm.ResNet101_Weights.IMAGENET1K_V2),
}
# ResNets of the same family sized for spectrograms (no ImageNet weights): BasicBlocks per stage and channel
# widths of layer1..layer4. A vowel spectrogram has one channel and a few hundred training tokens per class, not
# ImageNet's 1.2 M RGB photographs; at the frequency-preserving strides of <= 125 Hz per CAM row, the widths set
# the cost (about the square of the width), so the narrow ResNet-18 trains several times faster on a CPU
# (bench/bench_cpu_default.py).
NARROW_ARCHS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "resnet18-w32": ((2, 2, 2, 2), (32, 64, 128, 256)),
    "resnet18-w16": ((2, 2, 2, 2), (16, 32, 64, 128)),
}
ALL_ARCHS = (*ARCHS, *NARROW_ARCHS)
# Downsampling stages in order; each halves time, and frequency when its freq stride is 2.
STAGES = ("conv1", "maxpool", "layer2", "layer3", "layer4")
CAM_LAYERS = ("layer1", "layer2", "layer3", "layer4")


def choose_freq_strides(input_hz_per_row: float, max_hz_per_row: float) -> list[int]:
    """Frequency stride (1 or 2) of each stage in :data:`STAGES` so the last layer stays <= ``max_hz_per_row``.

    The budget is spent on the earliest stages, where downsampling saves the most compute. ``max_hz_per_row``
    0 means no limit (the standard ResNet, all 2).
    """
    if not max_hz_per_row:
        return [2] * len(STAGES)
    if input_hz_per_row > max_hz_per_row:
        raise ModelError(f"input rows are {input_hz_per_row:g} Hz apart, coarser than the {max_hz_per_row:g} Hz asked")
    halvings = int(math.floor(math.log2(max_hz_per_row / input_hz_per_row) + 1e-9))
    return [2 if i < halvings else 1 for i in range(len(STAGES))]


def hz_per_row_by_layer(input_hz_per_row: float, freq_strides: Sequence[int], freq_pool: int = 1) -> dict[str, float]:
    """Hz per feature-map row at ``layer1``..``layer4`` for the given stage strides (and input pooling)."""
    conv1, maxpool, l2, l3, l4 = freq_strides
    step = input_hz_per_row * freq_pool * conv1 * maxpool
    out = {"layer1": step}
    for name, stride in (("layer2", l2), ("layer3", l3), ("layer4", l4)):
        step *= stride
        out[name] = step
    return out


class SpectrogramResNet(nn.Module):
    """A torchvision ResNet with one input channel and time-only strides where asked.

    Parameter names equal torchvision's (``conv1.weight``, ``layer4.1.conv2.weight``, ``fc.bias``...), so
    ImageNet state dicts load directly (after :func:`to_single_channel`).
    """

    def __init__(
        self,
        arch: str,
        n_classes: int,
        freq_strides: Sequence[int] = (2, 2, 2, 2, 2),
        input_pool: Sequence[int] = (1, 1),
    ):
        super().__init__()
        if arch in NARROW_ARCHS:
            base = _narrow_resnet(*NARROW_ARCHS[arch], n_classes)
        elif arch in ARCHS:
            base = ARCHS[arch][0](weights=None, num_classes=n_classes)
        else:
            raise ModelError(f"unknown architecture {arch!r}; choose one of {', '.join(ALL_ARCHS)}")
        base.conv1 = nn.Conv2d(
            1, base.conv1.out_channels, kernel_size=7, stride=(freq_strides[0], 2), padding=3, bias=False
        )
        base.maxpool = nn.MaxPool2d(kernel_size=3, stride=(freq_strides[1], 2), padding=1)
        for layer, stride in zip((base.layer2, base.layer3, base.layer4), freq_strides[2:]):
            _set_first_block_stride(layer, (stride, 2))
        for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"):
            setattr(self, name, getattr(base, name))
        self.arch = arch
        self.freq_strides = list(freq_strides)
        # optional average pooling of the input (rows, frames): a coarser spectrogram for fast CPU training
        self.input_pool = tuple(int(p) for p in input_pool)
        self.pool = nn.AvgPool2d(self.input_pool) if self.input_pool != (1, 1) else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature maps of ``layer4`` before pooling, ``[N, C, F', T']``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(self.pool(x)))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[N, n_classes]`` for input ``[N, 1, F, T]``."""
        return self.fc(torch.flatten(self.avgpool(self.forward_features(x)), 1))


def _narrow_resnet(blocks: Sequence[int], widths: Sequence[int], n_classes: int) -> nn.Module:
    """A torchvision ResNet of BasicBlocks with the given blocks and widths per stage (parameter names and
    initialisation as torchvision's: Kaiming-normal convolutions, BatchNorm weight 1 and bias 0)."""
    base = tvm.resnet.ResNet(tvm.resnet.BasicBlock, list(blocks), num_classes=n_classes)
    base.conv1 = nn.Conv2d(1, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    base.bn1 = nn.BatchNorm2d(widths[0])
    inplanes = widths[0]
    for i, (n_blocks, planes) in enumerate(zip(blocks, widths)):
        stride = 1 if i == 0 else 2
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = nn.Sequential(tvm.resnet.conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
        layer = [tvm.resnet.BasicBlock(inplanes, planes, stride, downsample)]
        layer += [tvm.resnet.BasicBlock(planes, planes) for _ in range(n_blocks - 1)]
        setattr(base, f"layer{i + 1}", nn.Sequential(*layer))
        inplanes = planes
    base.fc = nn.Linear(widths[-1], n_classes)
    for module in base.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return base


def _set_first_block_stride(layer: nn.Sequential, stride: tuple[int, int]) -> None:
    block = layer[0]
    strided = block.conv2 if isinstance(block, tvm.resnet.Bottleneck) else block.conv1
    strided.stride = stride
    if block.downsample is not None:
        block.downsample[0].stride = stride


def feature_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The layers usable as CAM targets, by name (``layer1``..``layer4``)."""
    return {name: getattr(model, name) for name in CAM_LAYERS}


def to_single_channel(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A copy with an RGB ``conv1.weight`` summed over its input channels (kept as is when already 1-channel)."""
    out = dict(state_dict)
    weight = out.get("conv1.weight")
    if weight is not None and weight.shape[1] == 3:
        out["conv1.weight"] = weight.sum(dim=1, keepdim=True)
    return out


def load_backbone(
    model: SpectrogramResNet,
    state_dict: Mapping[str, torch.Tensor],
    source: str,
    classes: Optional[tuple[Sequence[str], Sequence[str]]] = None,
) -> int:
    """Load every backbone tensor of matching shape; return how many.

    The head (``fc``) is loaded only by class name: with ``classes`` = (the donor's labels, the model's labels) the
    rows of the classes both have are copied and the others start fresh; without names (ImageNet, a plain state
    dict) the head starts fresh, since equal class counts need not mean the same classes in the same order."""
    state = to_single_channel(state_dict)
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and not k.startswith("fc.")}
    backbone = [k for k in own if not k.startswith("fc.")]
    fitting = sum(k in usable for k in backbone)
    if fitting < 0.9 * len(backbone):
        raise ModelError(f"{source}: not weights for {model.arch} (only {fitting} of {len(backbone)} tensors fit)")
    model.load_state_dict(usable, strict=False)
    shared = _load_head_rows(model, state, classes) if classes else []
    skipped = sorted(set(own) - set(usable) - ({"fc.weight", "fc.bias"} if shared else set()))
    log.info(
        "loaded %d tensors from %s%s%s",
        len(usable),
        source,
        f" and the head's rows of {len(shared)} shared classes" if shared else "",
        f" (new: {', '.join(skipped[:4])}...)" if skipped else "",
    )
    return len(usable)


def _load_head_rows(
    model: SpectrogramResNet, state: Mapping[str, torch.Tensor], classes: tuple[Sequence[str], Sequence[str]]
) -> list[str]:
    """Copy the donor head's rows into the model's for the classes both name; return those classes."""
    theirs, ours = list(classes[0]), list(classes[1])
    weight, bias = state.get("fc.weight"), state.get("fc.bias")
    if weight is None or bias is None or weight.shape[1] != model.fc.weight.shape[1] or len(theirs) != len(weight):
        return []
    shared = [c for c in ours if c in theirs]
    with torch.no_grad():
        for name in shared:
            model.fc.weight[ours.index(name)] = weight[theirs.index(name)]
            model.fc.bias[ours.index(name)] = bias[theirs.index(name)]
    return shared


def imagenet_state_dict(arch: str, allow_download: bool = True) -> dict[str, torch.Tensor]:
    """ImageNet weights through torchvision's weights API, from the torch cache or (when online) downloaded.

    Raises :class:`ModelError` at once, without waiting on the network, when the file is not cached and the
    download host cannot be reached.
    """
    if arch not in ARCHS:
        raise ModelError(
            f"{arch} has no ImageNet weights (it is sized for spectrograms and trained from scratch); "
            f"pretrained weights exist for {', '.join(ARCHS)}"
        )
    weights = ARCHS[arch][1]
    cached = imagenet_cache_path(arch)
    if not cached.is_file():
        host = weights.url.split("/")[2]
        if not allow_download or not _reachable(host):
            raise ModelError(
                f"ImageNet weights for {arch} are not in the torch cache ({cached}) and {host} cannot be reached; "
                f"copy the file there, use --weights PATH, or train from scratch"
            )
        log.info("downloading ImageNet weights for %s to %s", arch, cached)
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except Exception as exc:  # corrupt cache file, interrupted download: say which file
        raise ModelError(f"{cached}: cannot load ImageNet weights for {arch} ({exc})") from None


def imagenet_cache_path(arch: str) -> Path:
    """Where torchvision keeps (or would keep) the ImageNet weights of ``arch`` (honours ``TORCH_HOME``)."""
    url = ARCHS[arch][1].url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def _reachable(host: str, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _load_file(path: Path, what: str, expected: str) -> Any:
    """``torch.load`` with ``weights_only=True``; a missing or foreign file is a one-line ModelError."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such {what}") from None
    except Exception as exc:
        raise ModelError(f"{path}: not {expected} ({type(exc).__name__})") from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a local file: a plain (torchvision) state dict or a vowelcam checkpoint."""
    path = Path(path)
    data = _load_file(path, "weights file", "a PyTorch weights file")
    if isinstance(data, dict) and data.get("format") == CHECKPOINT_FORMAT:
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(f"{path}: not a state dict or vowelcam model")
    return data


@dataclass
class ModelInfo:
    """Everything about a trained model except its weights."""

    arch: str
    labels: list[str]
    task: str
    max_freq: float
    spectrogram: dict[str, Any]
    norm: dict[str, float]
    freq_strides: list[int]
    input_pool: list[int] = field(default_factory=lambda: [1, 1])
    cam_layer: str = "layer4"
    hz_per_row: dict[str, float] = field(default_factory=dict)
    dilation: list[bool] = field(default_factory=lambda: [False, False, False])
    extra: dict[str, Any] = field(default_factory=dict)

    def prepare(self, specs: np.ndarray) -> torch.Tensor:
        """``[N, F, T]`` dB spectrograms -> the scaled ``[N, 1, F, T]`` float tensor the model takes."""
        arr = np.asarray(specs, dtype=np.float32)
        if arr.ndim == 2:
            arr = arr[None]
        return scale_input(torch.from_numpy(arr), self.norm).unsqueeze(1)

    def n_rows(self) -> int:
        """Input rows the model expects (the store's rows up to ``max_freq``)."""
        n_fft, sr = int(self.spectrogram["n_fft"]), float(self.spectrogram["sample_rate"])
        freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
        bands = [f for f in (self.max_freq, float(self.spectrogram.get("max_freq") or 0.0)) if f]
        return int(np.searchsorted(freqs, min(bands) + 1e-9, side="right")) if bands else len(freqs)


def build_model(info: ModelInfo) -> SpectrogramResNet:
    """An untrained network with the structure ``info`` describes."""
    return SpectrogramResNet(info.arch, len(info.labels), info.freq_strides, info.input_pool)


def checkpoint_dict(model: nn.Module, info: ModelInfo) -> dict[str, Any]:
    """The ``model.pt`` contents (plain types and tensors only, so ``weights_only=True`` loads it)."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "arch": info.arch,
        "labels": list(info.labels),
        "task": info.task,
        "max_freq": float(info.max_freq),
        "spectrogram": dict(info.spectrogram),
        "norm": {k: float(v) for k, v in info.norm.items()},
        "dilation": list(info.dilation),
        "freq_strides": list(info.freq_strides),
        "input_pool": list(info.input_pool),
        "cam_layer": info.cam_layer,
        "hz_per_row": {k: float(v) for k, v in info.hz_per_row.items()},
        "extra": dict(info.extra),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def info_from_checkpoint(data: Any, source: str) -> ModelInfo:
    """The :class:`ModelInfo` of a loaded checkpoint dict; :class:`ModelError` when it is not one."""
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{source}: not a vowelcam model (no 'format: {CHECKPOINT_FORMAT}')")
    if data.get("version") != CHECKPOINT_VERSION:
        raise ModelError(f"{source}: vowelcam model version {data.get('version')} is not {CHECKPOINT_VERSION}")
    try:
        return ModelInfo(
            arch=data["arch"],
            labels=list(data["labels"]),
            task=data["task"],
            max_freq=float(data["max_freq"]),
            spectrogram=dict(data["spectrogram"]),
            norm=dict(data["norm"]),
            freq_strides=list(data["freq_strides"]),
            input_pool=list(data.get("input_pool", [1, 1])),
            cam_layer=data.get("cam_layer", "layer4"),
            hz_per_row=dict(data.get("hz_per_row", {})),
            dilation=list(data.get("dilation", [False] * 3)),
            extra=dict(data.get("extra", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{source}: incomplete vowelcam model ({exc})") from None


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelInfo]:
    """Load ``model.pt`` (or the one of a run directory): the network in eval mode on ``device`` and its
    :class:`ModelInfo`."""
    path = model_file(path)
    data = _load_file(path, "model file", "a vowelcam model")
    info = info_from_checkpoint(data, str(path))
    model = build_model(info)
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, KeyError) as exc:
        raise ModelError(f"{path}: weights do not fit {info.arch} ({str(exc).splitlines()[0]})") from None
    return model.to(device).eval(), info


def check_compatible(info: ModelInfo, store_settings: Mapping[str, Any], source: str) -> None:
    """Refuse a model whose spectrogram settings differ from a store's (different rows would mean other Hz)."""
    keys = ("sample_rate", "n_fft", "window_ms", "hop_ms", "n_frames", "db_floor")
    diffs = [
        f"{k} {info.spectrogram.get(k)} vs {store_settings.get(k)}"
        for k in keys
        if info.spectrogram.get(k) != store_settings.get(k)
    ]
    store_band = float(store_settings.get("max_freq") or 0.0)
    if store_band and (not info.max_freq or info.max_freq > store_band):
        diffs.append(f"model band {info.max_freq or 'full'} Hz vs store up to {store_band:g} Hz")
    if diffs:
        raise ModelError(f"{source}: model made for other spectrogram settings than this run ({'; '.join(diffs)})")
