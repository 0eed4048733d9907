"""The fast paths: bf16 autocast, channels-last, pinned memory, larger inference batches, ``torch.compile``.

On CUDA every forward pass runs under bf16 autocast, channels-last. On a CPU only the *training* steps may use
bf16 (``TrainSettings.precision``: ``auto`` does so where the CPU has native bf16 instructions, AVX512-BF16 or
AMX, where it roughly halves a step's time); validation, predictions and CAMs on a CPU stay float32.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..errors import ConfigError

log = logging.getLogger(__name__)

CUDA_EVAL_BATCH = 256  # inference batch on CUDA when the settings leave it at 0 (memory is not the limit there)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` = CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but CUDA is not available")
    return torch.device(name)


PRECISIONS = ("auto", "fp32", "bf16")


def autocast(device: torch.device):
    """bf16 autocast on CUDA, nothing elsewhere (inference, validation and CAMs)."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (AVX512-BF16 or AMX) that make bf16 autocast faster than float32.

    Without them oneDNN emulates bf16 and a step is slower, not faster. Asked through torch's private probes;
    ``False`` when this torch build has none.
    """
    probes = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    try:
        return any(bool(probe()) for probe in probes if probe is not None)
    except Exception:  # a torch without these probes, an exotic platform
        return False


def training_precision(setting: str, device: torch.device) -> str:
    """``bf16`` or ``fp32`` for the training steps: ``auto`` = bf16 on CUDA and on CPUs with native bf16."""
    if setting not in PRECISIONS:
        raise ConfigError(f"precision {setting!r}: use one of {', '.join(PRECISIONS)}")
    if setting != "auto":
        return setting
    return "bf16" if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()) else "fp32"


BF16_TOLERANCE = 0.05  # bf16 keeps 8 significant bits: a right convolution is off by ~0.5 % of its largest output


@torch.no_grad()
def bf16_faulty_convolutions(model: nn.Module, input_shapes: list[tuple[int, ...]]) -> list[str]:
    """The convolutions of ``model`` (on a CPU) whose result under bf16 autocast is wrong for network inputs of
    ``input_shapes`` (``[N, C, H, W]``), as ``"name (input shape)"``; empty where bf16 is safe to train in.

    oneDNN 3.x's AMX kernel (torch 2.x on CPUs with AMX) computes a 3x3 convolution of stride 2 whose output is
    one column wide from memory it never wrote: garbage, often NaN, that changes with what the memory held before
    (so a run may train or diverge depending on what ran earlier). A ResNet meets that shape when few time frames
    are left at layer3 or layer4. Each convolution is run once in float32 and once in bf16 on a random input of
    the shapes training will use; ``model``'s weights, BatchNorm statistics and the global random state are
    left as they were.
    """
    faulty: dict[str, str] = {}  # name: input shape

    def check(module: nn.Conv2d, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            low = module._conv_forward(args[0], module.weight, module.bias).float()  # not module(): no hook
        scale = float(out.abs().max())
        if not bool(torch.isfinite(low).all()) or float((low - out).abs().max()) > BF16_TOLERANCE * scale + 1e-6:
            faulty.setdefault(names[module], "x".join(map(str, args[0].shape)))

    names = {m: name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    hooks = [m.register_forward_hook(check) for m in names]
    was_training = model.training
    model.eval()  # no BatchNorm statistics updated
    try:
        gen = torch.Generator().manual_seed(0)
        for shape in input_shapes:
            model(torch.randn(shape, generator=gen))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return [f"{name} (input {shape})" for name, shape in faulty.items()]


def batch_shapes(loader: DataLoader, *others: DataLoader | None) -> list[tuple[int, ...]]:
    """The shapes of ``loader``'s batches: full ones and the last, shorter one (items read from the first of
    ``others``, then ``loader``, with a dataset that is not empty: reading an augmented item is avoided)."""
    n, size = len(loader.sampler), loader.batch_size or 1  # type: ignore[arg-type]
    dataset = next(b.dataset for b in (*others, loader) if b is not None and len(b.dataset))  # type: ignore[arg-type]
    item = tuple(dataset[0][0].shape)
    return [(b, *item) for b in dict.fromkeys((min(size, n), n % size)) if b > 0]


def fold_precision(
    model: nn.Module, setting: str, device: torch.device, input_shapes: list[tuple[int, ...]], announce: bool
) -> str:
    """The precision of a fold's training steps, said in the log when ``announce``: ``setting`` as
    :func:`training_precision` resolves it, but fp32 where this CPU's bf16 convolutions are wrong for ``model``
    at ``input_shapes`` (see :func:`bf16_faulty_convolutions`; none given, none probed)."""
    precision = training_precision(setting, device)
    faulty = bf16_faulty_convolutions(model, input_shapes) if precision == "bf16" and device.type == "cpu" else []
    if faulty and announce:
        log.warning(
            "this CPU's bf16 convolution (oneDNN) gives wrong results, often NaN, for %s: training in fp32 "
            "(--precision fp32 skips this check)",
            ", ".join(faulty),
        )
    precision = "fp32" if faulty else precision
    if announce:
        log.info(
            "training steps in %s on %s%s",
            precision,
            device.type.upper(),
            "" if device.type == "cuda" else "; validation and predictions in fp32",
        )
        if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
            log.warning(
                "precision bf16 asked for on a CPU without bf16 instructions: training will be slower, "
                "not faster (use --precision fp32 or auto)"
            )
    return precision


def train_autocast(device: torch.device, precision: str):
    """The autocast context of a training step at ``precision`` (``bf16`` or ``fp32``)."""
    if precision == "bf16" and device.type in ("cuda", "cpu"):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a batch (asynchronously from pinned memory on CUDA), channels-last on CUDA."""
    if device.type != "cuda":
        return x.to(device)
    return x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)


def prepare_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Move the model to ``device``, channels-last on CUDA, where cuDNN also picks the fastest convolution
    algorithms for the (fixed) input shape (returns the same module)."""
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    return model


def loader_options(device: torch.device) -> dict[str, Any]:
    """DataLoader keywords for ``device``: pinned host memory when batches go to CUDA."""
    return {"pin_memory": device.type == "cuda"}


def eval_batch_size(requested: int, train_batch: int, device: torch.device) -> int:
    """The inference batch: ``requested`` when set, else the training batch on a CPU and a large one on CUDA."""
    if requested > 0:
        return requested
    return max(train_batch, CUDA_EVAL_BATCH) if device.type == "cuda" else train_batch


def maybe_compile(model: nn.Module, enabled: bool) -> nn.Module:
    """``torch.compile(model)`` when ``enabled``; if compiling (which happens at the first call) fails, the
    model runs eagerly from then on, with a logged warning."""
    if not enabled:
        return model
    try:
        compiled = torch.compile(model)
    except Exception as exc:  # e.g. an unsupported Python or platform
        log.warning("torch.compile unavailable (%s: %s); running eagerly", type(exc).__name__, exc)
        return model
    return _CompiledWithFallback(model, compiled)


class _CompiledWithFallback(nn.Module):
    """Calls the compiled module; on its first failure falls back to the eager one for good."""

    def __init__(self, eager: nn.Module, compiled: Any):
        super().__init__()
        self.eager = eager
        object.__setattr__(self, "_compiled", compiled)  # not a submodule: its parameters are the eager ones
        self.use_compiled = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.use_compiled:
            try:
                return self._compiled(*args, **kwargs)
            except Exception as exc:  # a compiler failure (missing toolchain, unsupported op...)
                log.warning(
                    "torch.compile failed (%s: %s); running eagerly",
                    type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "",
                )
                self.use_compiled = False
        return self.eager(*args, **kwargs)
