"""The Plan page's model: from a scenario (budget, hardware, region, prices, demand) to a
recommendation, its footprint, the inference-aware alternative and the candidate fronts.

Everything here is a pure function of :class:`PlanInputs`; the page only draws. Formulas live in
footprint (energy, CO2, cost), inference (roofline), serving_strategy (each candidate's batch and
speculative draft, serving timed on the roofline), lifetime (Sardana) and pareto.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis import serving_strategy
from engine.analysis.pareto import dominated_by, pareto_mask_2d
from engine.analysis.registry import describe
from engine.analysis.serving_strategy import STRATEGIES, ServingChoice, Strategy
from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.cost.carbon import GridIntensity
from engine.cost.footprint import (
    Footprint,
    device_hours_for_flops,
    embodied_kg,
    footprint_from_device_hours,
    operational,
)
from engine.cost.hardware import Device
from engine.cost.inference import InferenceEstimate, estimate
from engine.cost.lifetime import LifetimeOptimum, dollar_weight, lifetime_optimum
from engine.errors import FlopwiseError, positive
from engine.laws.base import Law
from engine.laws.chinchilla import ChinchillaLaw
from engine.laws.fp_quant import BF16, FP8_E4M3, SUN
from engine.laws.moe import LUDZIEJEWSKI
from engine.laws.precision import PRECISION
from engine.laws.sparsity import FRANTAR_T5


class PlanError(FlopwiseError, ValueError):
    """A scenario that cannot be planned: a value out of range, an unknown mode or front."""


class PlanMode(StrEnum):
    """Where a plan starts: a training budget in FLOPs, a fleet for a number of days, or a loss."""

    BUDGET = "budget"  # log10_flops gives C
    DEVICES_DAYS = "devices_days"  # C = n_devices · days · peak · MFU
    TARGET_LOSS = "target_loss"  # the least C whose optimum reaches target_loss


SCHEMA = "flopwise.plan/2"
OLD_SCHEMAS = ("flopwise.plan/1",)  # read by import_json, converted (_from_schema_1)


@dataclass(frozen=True)
class PlanInputs:
    """A scenario, in engine units: FLOPs as log10, tokens, dollars per device-hour, watts,
    gCO2e/kWh, GB. The Plan page maps its widgets (and the URL) onto these fields."""

    plan_mode: PlanMode = PlanMode.BUDGET
    log10_flops: float = 23.0
    n_devices: int = 1024
    days: float = 30.0
    target_loss: float = 2.0
    plan_law: str = "chinchilla-epoch"
    hardware: str = "h100-sxm"
    train_dtype: str = "bf16"
    mfu_train: float = 0.40
    mfu_prefill: float = 0.50
    mfu_decode: float = 0.05
    inference_tokens: float = 1e12  # lifetime tokens served, prompt and output
    prompt_fraction: float = 0.25  # share of served tokens that are prompt (prefill)
    region: str = "United States"
    use_custom_grid: bool = False
    custom_grid: float = 400.0  # gCO2e/kWh
    pue: float = 1.1
    price: float = 2.0  # $ per device-hour
    power_w: float = 0.0  # average power per device, W (0: the device's catalog TDP)
    use_measured: bool = False  # replace the catalog peaks and bandwidth by a stored measurement
    measurement: str = ""  # its bench_id
    memory_limit_gb: float = 0.0  # serving memory limit on the candidates (0: none)
    front_objective: str = "cost_usd"  # the objective the front is drawn against (one of OBJECTIVES)
    latency_limit_ms: float = 0.0  # decode latency limit on the cost and CO2e strategies, ms/token (0: none)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "plan_mode", PlanMode(self.plan_mode))
        except ValueError:
            raise PlanError(
                f"plan_mode must be one of {[m.value for m in PlanMode]}, got {self.plan_mode!r}"
            ) from None
        for name in ("n_devices", "days", "target_loss", "pue"):
            positive(name, getattr(self, name), error=PlanError)
        for name in ("mfu_train", "mfu_prefill", "mfu_decode"):
            positive(f"{name} (a fraction of peak)", getattr(self, name), error=PlanError, high=1.0)
        positive("prompt_fraction", self.prompt_fraction, error=PlanError, allow_zero=True, high=1.0)
        if self.front_objective not in OBJECTIVES:
            raise PlanError(f"front_objective must be one of {OBJECTIVES}, got {self.front_objective!r}")
        for name in (
            "inference_tokens",
            "price",
            "custom_grid",
            "memory_limit_gb",
            "power_w",
            "latency_limit_ms",
        ):
            positive(name, getattr(self, name), error=PlanError, allow_zero=True)

    @property
    def power_override_w(self) -> float | None:
        """The user's average power per device, or None to use the device's TDP."""
        return self.power_w if self.power_w > 0 else None

    def to_json(self) -> dict:
        return {**asdict(self), "plan_mode": self.plan_mode.value}

    @classmethod
    def from_json(cls, data: dict) -> PlanInputs:
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise PlanError(f"unknown scenario fields: {sorted(unknown)}")
        defaults = cls()
        values = {k: v if k == "plan_mode" else type(getattr(defaults, k))(v) for k, v in data.items()}
        return cls(**values)


@dataclass
class PlanResult:
    inputs: PlanInputs
    flops: float
    n_params: float
    n_tokens: float
    loss: float
    train: Footprint
    serve: Footprint | None
    inference: InferenceEstimate
    lifetime: LifetimeOptimum | None
    grid: GridIntensity
    notes: list[str]
    candidate: Candidate | None = None  # (N, D, experts, serving bits): 1 expert, 16 bits for A
    # its row of the candidate table; ``serve`` is at its cheapest strategy (serve_batch, speculative)
    point: dict[str, float] = field(default_factory=dict)

    @property
    def tokens_per_param(self) -> float:
        return self.n_tokens / self.n_params

    @property
    def total_cost_usd(self) -> float:
        return (self.train.cost_usd or 0.0) + ((self.serve.cost_usd or 0.0) if self.serve else 0.0)

    @property
    def total_co2_kg(self) -> float | None:
        parts = [self.train.total_co2_kg] + ([self.serve.total_co2_kg] if self.serve else [])
        known = [p for p in parts if p is not None]
        return None if len(known) < len(parts) else sum(known)

    def summary(self) -> dict[str, Any]:
        out = {
            "flops_train": self.flops,
            "n_params": self.n_params,
            "n_tokens": self.n_tokens,
            "tokens_per_param": self.tokens_per_param,
            "loss": self.loss,
            "train": self.train.as_dict(),
            "serve": self.serve.as_dict() if self.serve else None,
            "total_cost_usd": self.total_cost_usd,
            "total_co2_kg": self.total_co2_kg,
            "inference": self.inference.as_dict(),
            "grid_g_per_kwh": self.grid.g_co2_per_kwh,
            "grid_source": self.grid.source,
            "notes": self.notes,
        }
        if self.lifetime:
            out["lifetime_optimum"] = self.lifetime.as_dict()
        return out


def training_flops(inputs: PlanInputs, device: Device) -> float:
    """The training budget: given, or devices × days × peak × MFU."""
    if inputs.plan_mode is PlanMode.DEVICES_DAYS:
        return (
            inputs.n_devices
            * inputs.days
            * 86400.0
            * device.peak_flops(inputs.train_dtype)
            * inputs.mfu_train
        )
    return 10.0**inputs.log10_flops


def grid_for(inputs: PlanInputs, grids: dict[str, GridIntensity]) -> GridIntensity:
    if inputs.use_custom_grid:
        return GridIntensity("custom", inputs.custom_grid, "", "entered by the user")
    if inputs.region not in grids:
        raise PlanError(f"unknown region {inputs.region!r}")
    return grids[inputs.region]


def _serving_choice(
    inputs: PlanInputs,
    device: Device,
    n,
    n_total,
    experts,
    bits,
    strategies: tuple[Strategy, ...] = STRATEGIES,
    sparsity=0.0,
) -> ServingChoice:
    """Each candidate's serving strategies for the scenario's demand, limits and MFUs
    (engine.analysis.serving_strategy)."""
    prompt = inputs.inference_tokens * inputs.prompt_fraction
    return serving_strategy.choose(
        n,
        n_total,
        experts,
        bits,
        device,
        prompt_tokens=prompt,
        output_tokens=inputs.inference_tokens - prompt,
        mfu_prefill=inputs.mfu_prefill,
        mfu_decode=inputs.mfu_decode,
        latency_limit_s=inputs.latency_limit_ms / 1e3 if inputs.latency_limit_ms > 0 else None,
        memory_limit_bytes=inputs.memory_limit_gb * 1e9 if inputs.memory_limit_gb > 0 else None,
        strategies=strategies,
        sparsity=sparsity,
    )


def _lifetime_serving_hours(
    inputs: PlanInputs, device: Device, candidate: Candidate
) -> tuple[float, str | None]:
    """Serving device-hours of one candidate at its cheapest strategy, and None; where no strategy
    meets the latency limit, the hours at its fastest and a note saying so."""
    total = float(LUDZIEJEWSKI.total_params(candidate.n_params, candidate.experts))
    choice = _serving_choice(
        inputs,
        device,
        candidate.n_params,
        total,
        float(candidate.experts),
        candidate.serve_bits,
        sparsity=candidate.sparsity,
    )
    hours = float(choice.serve_hours)
    if math.isfinite(hours):
        return hours, None
    return float(choice.fastest_hours), (
        f"No serving strategy of this model meets the latency limit of {inputs.latency_limit_ms:g} ms per "
        f"token (its fastest is {float(choice.latency_s) * 1e3:,.3g} ms): its serving is costed at the "
        "fastest, and it is off the cost and CO2e fronts."
    )


def _price_per_flop(inputs: PlanInputs, device: Device) -> float:
    return max(inputs.price, 1e-12) / (3600.0 * device.peak_flops(inputs.train_dtype))


def _footprints(
    inputs: PlanInputs, flops: float, serve_hours: float, device: Device, grid: GridIntensity
) -> tuple[Footprint, Footprint | None]:
    """Training (``flops``) and, with served tokens, lifetime serving (``serve_hours``) footprints."""
    common: dict[str, Any] = {
        "grid_g_per_kwh": grid.g_co2_per_kwh,
        "pue": inputs.pue,
        "price_per_device_hour": inputs.price,
        "power_w": inputs.power_override_w,
        "require_power": False,
        "n_devices": inputs.n_devices,
    }
    train_hours = float(device_hours_for_flops(flops, device, dtype=inputs.train_dtype, mfu=inputs.mfu_train))
    train = footprint_from_device_hours(train_hours, device, **common)
    serve = None
    if inputs.inference_tokens > 0:
        serve = footprint_from_device_hours(serve_hours, device, **common)
    return train, serve


def evaluate(inputs: PlanInputs, law: Law, device: Device, grids: dict[str, GridIntensity]) -> PlanResult:
    """The recommendation for a scenario and what it costs and emits."""
    grid = grid_for(inputs, grids)
    notes: list[str] = []
    if inputs.plan_mode is PlanMode.TARGET_LOSS:
        alloc = law.target(inputs.target_loss).scalar()
    else:
        alloc = law.optimal(training_flops(inputs, device)).scalar()
    n, d, flops, loss = alloc["n_params"], alloc["n_tokens"], alloc["flops"], alloc["loss"]
    candidate = Candidate(n, d)
    serve_hours, serve_note = _lifetime_serving_hours(inputs, device, candidate)
    train, serve = _footprints(inputs, flops, serve_hours, device, grid)
    if serve_note:
        notes.append(serve_note)
    lifetime = None
    if isinstance(law, ChinchillaLaw) and math.isfinite(loss) and loss > law.loss_floor:
        ppf = _price_per_flop(inputs, device)
        prompt = inputs.inference_tokens * inputs.prompt_fraction
        weight = dollar_weight(
            prompt_tokens=prompt,
            output_tokens=inputs.inference_tokens - prompt,
            train_price_per_flop=ppf,
            infer_price_per_flop=ppf,
            mfu_train=inputs.mfu_train,
            mfu_prefill=inputs.mfu_prefill,
            mfu_decode=inputs.mfu_decode,
        )
        lifetime = lifetime_optimum(law, loss, inputs.inference_tokens, inference_weight=weight)
    else:
        notes.append(f"{law.info.title} is not of the Chinchilla form: no inference-aware alternative.")
    serving = estimate(
        n,
        device,
        dtype=inputs.train_dtype,
        mfu_prefill=inputs.mfu_prefill,
        mfu_decode=inputs.mfu_decode,
        price_per_device_hour=inputs.price,
        power_w=inputs.power_override_w,
    )
    if not serving.fits_in_memory:
        notes.append(
            f"The weights and KV cache ({(serving.weight_bytes + serving.kv_cache_bytes) / 1e9:,.0f} GB) do "
            f"not fit in one {device.name} ({device.memory_gb:,.0f} GB): serving needs model parallelism."
        )
    if train.energy_kwh is None:
        notes.append(
            f"No power figure for {device.name}: energy and CO2e are not estimated (device-hours and cost "
            "are). Enter the average power per device to estimate them."
        )
    elif device.tdp_estimated and inputs.power_override_w is None:
        notes.append(
            f"The power of {device.name} ({device.tdp_w:,.0f} W) is an estimate, not a published figure: "
            f"{device.power_source} Enter the average power per device if you know it."
        )
    if train.embodied_co2_kg is None:
        notes.append(f"No die area for {device.name}: embodied carbon is not estimated.")
    point = candidate_point(inputs, law, device, grid, candidate)
    return PlanResult(
        inputs, flops, n, d, loss, train, serve, serving, lifetime, grid, notes, candidate, point
    )


def evaluate_candidate(
    result: PlanResult, candidate: Candidate, law: Law, device: Device, grids: dict[str, GridIntensity]
) -> PlanResult:
    """The same scenario for another configuration (scenario B, picked on a front): trained on
    C = 6·N·D/(1 − S) (in FP8 at the FP8 peak, if it trains in FP8), its loss and serving memory the
    candidate's (PTQ, MoE, sparsity and FP8 terms included, as on the fronts), served at its
    precision from its total parameters, at its cheapest serving strategy (``point["serve_batch"]``,
    ``point["speculative"]``: a function of the candidate and the scenario, so the URL's word need
    not carry it)."""
    flops = candidate.training_flops
    inputs = replace(result.inputs, plan_mode=PlanMode.BUDGET, log10_flops=math.log10(flops))
    grid = grid_for(inputs, grids)
    serve_hours, serve_note = _lifetime_serving_hours(inputs, device, candidate)
    notes = [serve_note] if serve_note else []
    trained_as = inputs
    if candidate.fp8_training:
        if "fp8" in device.peak_tflops:
            trained_as = replace(inputs, train_dtype="fp8")
        else:
            notes.append(f"{device.name} has no FP8 peak: B's training is costed at {inputs.train_dtype}.")
    train, serve = _footprints(trained_as, flops, serve_hours, device, grid)
    point = candidate_point(inputs, law, device, grid, candidate)
    serving = estimate(
        candidate.n_params,
        device,
        dtype=inputs.train_dtype,
        mfu_prefill=inputs.mfu_prefill,
        mfu_decode=inputs.mfu_decode,
        price_per_device_hour=inputs.price,
        power_w=inputs.power_override_w,
        weight_bits=candidate.serve_bits,
        weight_params=point["total_params"],
    )
    return PlanResult(
        inputs,
        flops,
        candidate.n_params,
        candidate.n_tokens,
        point["loss"],
        train,
        serve,
        serving,
        None,
        grid,
        notes,
        candidate,
        point,
    )


SERVING_BITS = (16.0, 8.0, 6.0, 4.0)
EXPERTS = (1, 2, 4, 8, 16)
TRAINING_FORMATS = (False, True)
"""Trained at the plan's data type, or in FP8 (E4M3) at the device's FP8 peak: Sun et al.'s
quantisation term of E4M3 less BF16's (E8M7) is added to the loss; without an FP8 peak the FP8
candidates cost infinite training hours and leave the fronts."""
SPARSITIES = (0.0, 0.5)
"""Weight sparsity S (share of zero weights): dense, or 2:4 (two of every four weights zero, the one
pattern with a hardware speed-up; serving_strategy.sparse_weights)."""
OBJECTIVES = ("cost_usd", "co2_t", "latency_ms", "memory_gb")
"""What a front trades loss against, as candidate-table columns: lifetime (training + serving)
cost in dollars and CO2e in tonnes (serving at the cheapest strategy), decode latency in ms per
token (at the fastest), serving memory in GB (weights and one sequence's KV cache, batch 1)."""
STRATEGY_OF = {
    "cost_usd": ("serve_batch", "speculative"),
    "co2_t": ("serve_batch", "speculative"),
    "latency_ms": ("latency_batch", "latency_speculative"),
}
"""The candidate-table columns of the strategy behind each objective (memory: batch 1, no draft)."""


@dataclass(frozen=True)
class Candidate:
    """One configuration the fronts search: active (non-zero) parameters N, training tokens D,
    experts E, serving precision (bits), weight sparsity S and whether it trains in FP8. In a URL it
    is one word, ``N_D_E_bits`` (``7.05e10_1.41e12_1_16``) for a dense model at the plan's data type,
    ``N_D_E_bits_S`` for a sparse one, ``N_D_E_bits_S_fp8`` for one trained in FP8."""

    n_params: float
    n_tokens: float
    experts: int = 1
    serve_bits: float = 16.0
    sparsity: float = 0.0
    fp8_training: bool = False

    def __post_init__(self) -> None:
        for name in ("n_params", "n_tokens"):
            positive(name, getattr(self, name), error=PlanError)
        if self.experts not in EXPERTS:
            raise PlanError(f"experts must be one of {EXPERTS}, got {self.experts!r}")
        if self.serve_bits not in SERVING_BITS:
            raise PlanError(
                f"serving bits must be one of {tuple(f'{b:g}' for b in SERVING_BITS)}, "
                f"got {self.serve_bits:g}"
            )
        if self.sparsity not in SPARSITIES:
            raise PlanError(
                f"sparsity must be one of {tuple(f'{s:g}' for s in SPARSITIES)} (dense or 2:4), "
                f"got {self.sparsity:g}"
            )

    @property
    def training_flops(self) -> float:
        """C = 6·N·D/(1 − S): a sparse model trains at its dense size's cost (Frantar et al.'s gradual
        pruning), N being its non-zero parameters."""
        return FLOPS_PER_PARAM_TOKEN * self.n_params * self.n_tokens / (1.0 - self.sparsity)

    def to_param(self) -> str:
        def number(x: float) -> str:
            return f"{x:.6g}".replace("+", "")  # "+" reads as a space in a query string

        word = f"{number(self.n_params)}_{number(self.n_tokens)}_{self.experts}_{self.serve_bits:g}"
        if self.fp8_training:
            return f"{word}_{self.sparsity:g}_{FP8_WORD}"
        return word if self.sparsity == 0 else f"{word}_{self.sparsity:g}"

    @classmethod
    def from_param(cls, text: str) -> Candidate:
        """Parse ``to_param``'s word; ValueError saying what is wrong."""
        parts = str(text).split("_")
        fp8 = len(parts) == 6 and parts[-1] == FP8_WORD
        if fp8:
            parts = parts[:-1]
        if len(parts) not in (4, 5):
            raise PlanError(
                "expected N_D_experts_bits, N_D_experts_bits_sparsity or N_D_experts_bits_sparsity_fp8 "
                f"(numbers joined by _), got {text!r}"
            )
        try:
            n, d, experts, bits, *sparsity = (float(p) for p in parts)
        except ValueError:
            raise PlanError(f"expected numbers joined by _, got {text!r}") from None
        if experts != int(experts):
            raise PlanError(f"experts must be a whole number, got {parts[2]!r}")
        return cls(n, d, int(experts), bits, sparsity[0] if sparsity else 0.0, fp8_training=fp8)

    @classmethod
    def from_row(cls, row: Any) -> Candidate:
        """From a row of the candidate table (``candidates`` or ``front_view``)."""
        return cls(
            float(row["n_params"]),
            float(row["n_tokens"]),
            int(row["experts"]),
            float(row["serve_bits"]),
            float(row.get("sparsity", 0.0)),
            bool(row.get("fp8_training", False)),
        )


FP8_WORD = "fp8"  # the URL word's last part for a candidate trained in FP8


def _law_terms(n, d, experts, bits, sparsity=0.0, fp8=False) -> dict[str, np.ndarray]:
    """What the candidates take from the precision, MoE and sparsity laws, which depend on the grid
    only (not on the scenario's prices, device or region): the MoE gain, the PTQ damage, the
    sparsity gain L_F(N, D, S) − L_F(N, D, 0) of Frantar et al.'s T5 law (its data term cancels,
    so it depends on N and S only), the FP8 training penalty (Sun et al.'s quantisation term of
    E4M3 less E8M7's, block 128) and N_total."""
    sparsity = np.asarray(sparsity, float)
    fp8 = np.asarray(fp8, bool)
    return {
        "fp8_penalty": np.where(
            fp8, SUN.quantisation_term(n, d, *FP8_E4M3) - SUN.quantisation_term(n, d, *BF16), 0.0
        ),
        "moe_gain": LUDZIEJEWSKI.loss(n, d, experts) - LUDZIEJEWSKI.loss(n, d, 1.0),
        "ptq": np.where(bits < 16, PRECISION.ptq_degradation(n, d, bits), 0.0),
        "sparse_gain": np.where(
            sparsity > 0, FRANTAR_T5.loss(n, 1.0, sparsity) - FRANTAR_T5.loss(n, 1.0, 0.0), 0.0
        ),
        "total_params": LUDZIEJEWSKI.total_params(n, experts),
    }


def _candidate_columns(
    inputs: PlanInputs,
    law: Law,
    device: Device,
    grid: GridIntensity,
    n,
    d,
    experts,
    bits,
    terms: dict[str, np.ndarray] | None = None,
    strategies: tuple[Strategy, ...] = STRATEGIES,
    sparsity=0.0,
    fp8=False,
) -> dict[str, np.ndarray | tuple[np.ndarray, ...]]:
    """Every column of the candidate table for broadcastable arrays of N (active, non-zero), D, E,
    bits, sparsity S and FP8 training (``terms``: ``_law_terms`` of the same arrays, when already
    known). A tuple is a sum of parts (loss: the law's, the MoE gain's, the PTQ damage's, the
    sparsity gain's and the FP8 penalty's; cost and CO2e: training's and serving's). Training
    compute is C = 6·N·D/(1 − S), its hours at the plan's data type's peak or, in FP8, at the FP8
    peak (infinite without one).

    Each array keeps only the axes it depends on (training cost on N, D and S; latency, memory,
    serving and the strategies on N, E, bits and S), which ``_LazyColumns.front`` relies on.
    """

    terms = terms if terms is not None else _law_terms(n, d, experts, bits, sparsity, fp8)
    flops = FLOPS_PER_PARAM_TOKEN * n * d / (1.0 - np.asarray(sparsity, float))
    train_hours = device_hours_for_flops(flops, device, dtype=inputs.train_dtype, mfu=inputs.mfu_train)
    if np.any(fp8):
        fp8_peak = device.peak_tflops.get("fp8")
        fp8_hours = train_hours * (
            device.peak_flops(inputs.train_dtype) / (fp8_peak * 1e12) if fp8_peak else np.inf
        )
        train_hours = np.where(fp8, fp8_hours, train_hours)
    total = terms["total_params"]
    serving = _serving_choice(inputs, device, n, total, experts, bits, strategies, sparsity)
    hours = (train_hours, serving.serve_hours) if inputs.inference_tokens > 0 else (train_hours,)
    watts = inputs.power_override_w or (device.tdp_w if device.tdp_w is not None else np.nan)

    def co2_t(h: np.ndarray) -> np.ndarray:  # operational + embodied: both in proportion to hours
        _, kg = operational(h, watts, inputs.pue, grid.g_co2_per_kwh)
        embodied = embodied_kg(h, device)
        return (kg if embodied is None else kg + embodied) / 1000.0

    return {
        "n_params": n,
        "n_tokens": d,
        "flops": flops,
        "experts": experts,
        "serve_bits": bits,
        "sparsity": sparsity,
        "fp8_training": fp8,
        "total_params": total,
        "loss": (law.loss(n, d), terms["moe_gain"], terms["ptq"], terms["sparse_gain"], terms["fp8_penalty"]),
        "cost_usd": tuple(h * inputs.price for h in hours),
        "co2_t": tuple(co2_t(h) for h in hours),
        "latency_ms": serving.latency_s * 1e3,
        "memory_gb": serving.memory_bytes / 1e9,
        "serve_hours": serving.serve_hours,
        "serve_batch": serving.serve_batch,
        "speculative": serving.speculative,
        "latency_batch": serving.latency_batch,
        "latency_speculative": serving.latency_speculative,
    }


def candidate_point(
    inputs: PlanInputs, law: Law, device: Device, grid: GridIntensity, candidate: Candidate
) -> dict[str, float]:
    """One candidate's row of the candidate table (loss, the four objectives, total parameters,
    the strategies behind them: serve_batch and speculative for cost and CO2e, latency_batch and
    latency_speculative for latency)."""
    columns = _candidate_columns(
        inputs,
        law,
        device,
        grid,
        np.float64(candidate.n_params),
        np.float64(candidate.n_tokens),
        np.float64(candidate.experts),
        np.float64(candidate.serve_bits),
        sparsity=np.float64(candidate.sparsity),
        fp8=np.bool_(candidate.fp8_training),
    )
    return {
        k: float(np.asarray(sum(v) if isinstance(v, tuple) else v).reshape(-1)[0]) for k, v in columns.items()
    }


@functools.lru_cache(maxsize=8)
def _candidate_grid(budget: float | None, n_sizes: int, n_ratios: int) -> tuple:
    """The candidates' axes as 6-D arrays (N, D, E, bits, S, FP8) and their ``_law_terms``; cached, since
    a rerun that changes a price, the device or the region searches the same grid (read-only). With
    a budget the token axis is a share of it: a sparse model, training at its dense size's cost,
    gets (1 − S) of the dense model's tokens for the same share."""
    if budget is None:  # N 1e7..1e13 and D/N 1..10^4
        n = np.logspace(7, 13, n_sizes)[:, None]
        d = n * np.logspace(0, 4, n_ratios)[None, :]
    else:  # ways to spend up to the budget: N up to C/(6·1e8), a share 1e-3..1 of C
        top = max(np.log10(budget / (FLOPS_PER_PARAM_TOKEN * 1e8)), 7.0 + 1e-6)
        n = np.logspace(7, top, n_sizes)[:, None]
        d = np.logspace(-3, 0, n_ratios)[None, :] * budget / (FLOPS_PER_PARAM_TOKEN * n)
    bits = np.asarray(SERVING_BITS)[None, None, None, :, None, None]
    experts = np.asarray(EXPERTS, float)[None, None, :, None, None, None]
    sparsity = np.asarray(SPARSITIES)[None, None, None, None, :, None]
    fp8 = np.asarray(TRAINING_FORMATS)[None, None, None, None, None, :]
    n6 = n[..., None, None, None, None]
    d6 = d[..., None, None, None, None] * ((1.0 - sparsity) if budget is not None else 1.0)
    terms = _law_terms(n6, d6, experts, bits, sparsity, fp8)
    # per (N, D, S): the sparsity gain plus the least MoE gain, PTQ damage and FP8 penalty, which
    # with the plan law's loss bounds each (N, D) group's least loss for _front_by_groups
    terms["least_terms"] = (
        terms["sparse_gain"]
        + _least_along(terms["moe_gain"], (2,))
        + _least_along(terms["ptq"], (3,))
        + _least_along(terms["fp8_penalty"], (5,))
    )
    for array in (n6, d6, experts, bits, sparsity, fp8, *terms.values()):
        array.flags.writeable = False
    return n6, d6, experts, bits, sparsity, fp8, terms


def _candidate_arrays(
    inputs: PlanInputs,
    law: Law,
    device: Device,
    grid: GridIntensity,
    *,
    n_sizes: int,
    n_ratios: int,
    budget: float | None,
    strategies: tuple[Strategy, ...] = STRATEGIES,
) -> _LazyColumns:
    """The candidate columns (see ``candidates``), flattened on demand."""
    # Axes: size (S), tokens (R), experts (E), serving bits (B), sparsity (P), FP8 training (F).
    # Each column keeps only the axes it depends on (n is (S, 1, 1, 1, 1, 1)), so its broadcast
    # view has stride 0 along the others: what ``_LazyColumns.front`` uses to shrink a front's search.
    n6, d6, experts, bits, sparsity, fp8, terms = _candidate_grid(budget, n_sizes, n_ratios)
    shape = (n_sizes, n_ratios, len(EXPERTS), len(SERVING_BITS), len(SPARSITIES), len(TRAINING_FORMATS))
    columns = _candidate_columns(
        inputs, law, device, grid, n6, d6, experts, bits, terms, strategies, sparsity, fp8
    )
    views = {k: _Column(shape, *(v if isinstance(v, tuple) else (v,))) for k, v in columns.items()}
    views["loss"].least = _least_along(columns["loss"][0] + terms["least_terms"], (4,))
    return _LazyColumns(
        views,
        inputs.memory_limit_gb if inputs.memory_limit_gb > 0 else None,
    )


class _Column:
    """A candidate column as a sum of arrays (``parts``) that broadcast to ``shape``, each on the
    axes it depends on: what lets a front skip the axes an objective ignores, and bound a group's
    least value without adding up a million rows."""

    def __init__(self, shape: tuple[int, ...], *parts: Any, least: Any = None) -> None:
        self.shape = shape
        self.parts = tuple(np.asarray(p) for p in parts)
        self.least = least  # a known lower bound over the member axes (2, 3, ...), if any

    def _size(self, part: np.ndarray, axis: int) -> int:
        """The part's length along ``axis`` of ``shape`` (1 where it broadcasts)."""
        offset = len(self.shape) - part.ndim
        return part.shape[axis - offset] if axis >= offset else 1

    def constant_axes(self) -> tuple[int, ...]:
        """Axes of more than one candidate along which the column does not change."""
        return tuple(
            i
            for i, size in enumerate(self.shape)
            if size > 1 and all(self._size(p, i) == 1 for p in self.parts)
        )

    def full(self) -> np.ndarray:
        """Every value, broadcast to ``shape`` (a read-only view for a single part)."""
        total = self.parts[0]
        for part in self.parts[1:]:  # in order, so each sum is only as large as its parts need
            total = total + part
        return np.broadcast_to(total, self.shape)

    def at(self, index: tuple[np.ndarray, ...]) -> np.ndarray:
        """The values at an index into ``shape`` (as ``np.unravel_index`` gives), each part read
        through its own flat positions."""
        values: Any = 0.0
        for part in self.parts:
            flat: Any = 0
            stride = 1
            for axis in range(len(self.shape) - 1, -1, -1):
                size = self._size(part, axis)
                if size > 1:
                    flat = flat + index[axis] * stride
                stride *= size
            values = values + np.ravel(part)[flat]
        return np.broadcast_to(values, np.shape(index[0])) if np.ndim(values) == 0 else values

    def rows(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The values of the (size i, tokens j) groups, shape (len(i), *shape[2:])."""
        values = np.broadcast_to(self.parts[0], self.shape)[i, j]
        for part in self.parts[1:]:
            values = values + np.broadcast_to(part, self.shape)[i, j]
        return values

    def lower_bound(self, axes: tuple[int, ...]) -> np.ndarray:
        """A lower bound of the least value over ``axes`` (kept, size 1): ``least`` where given for
        the member axes, else the sum of each part's least (NaN-blind, as np.fmin), exact where no
        two parts vary along the same one of ``axes``."""
        kept = tuple(1 if i in axes else n for i, n in enumerate(self.shape))
        if self.least is not None and axes == tuple(range(2, len(self.shape))):
            return np.broadcast_to(self.least, kept)
        total: Any = 0.0
        for part in self.parts:
            full = part.reshape((1,) * (len(self.shape) - part.ndim) + part.shape)
            total = total + _least_along(full, axes)
        return np.broadcast_to(total, kept)


def _least_along(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """np.fmin over ``axes`` (kept, size 1), folding slices: for the few experts or bits of a
    candidate axis that is several times faster than ``np.fmin.reduce`` over a middle axis."""
    for axis in axes:
        if values.shape[axis] > 1:

            def take(k: int, axis: int = axis) -> np.ndarray:
                return values[(slice(None),) * axis + (slice(k, k + 1),)]

            least = take(0)
            for k in range(1, values.shape[axis]):
                least = np.fmin(least, take(k))
            values = least
    return values


def front_gap(front: pd.DataFrame, objective: str, value: float, loss: float) -> dict[str, Any] | None:
    """How far a point (``value`` of ``objective``, ``loss``) lies above a front: among the front's
    points that need no more of the objective, the one with the least loss, and the gap in loss.
    None when the point is on the front (no such point has a lower loss)."""
    if not (math.isfinite(value) and math.isfinite(loss)):
        return None
    cheaper = front[front[objective] <= value * (1 + 1e-9)]
    if cheaper.empty:
        return None
    best = cheaper.loc[cheaper["loss"].idxmin()]
    gap = loss - float(best["loss"])
    if gap <= 1e-6:
        return None
    return {"gap": gap, "row": best}


def candidate_laws(law: Law) -> list[tuple[str, str, bool]]:
    """The laws behind every candidate's loss, as (role, law id, verified)."""

    return [
        ("loss", law.info.id, law.info.verified),
        ("PTQ damage below 16 bits", PRECISION.info.id, PRECISION.info.verified),
        ("MoE gain for E > 1", LUDZIEJEWSKI.info.id, LUDZIEJEWSKI.info.verified),
        ("sparsity gain for 2:4", FRANTAR_T5.info.id, FRANTAR_T5.info.verified),
        ("FP8 training penalty", SUN.info.id, SUN.info.verified),
    ]


class _LazyColumns(dict):
    """Candidate columns (``_Column``: sums of broadcast parts), flattened on first use; ``take(rows)``
    gathers a few rows without flattening every column (1e6 rows × 16 columns is ~130 MB of copies).
    With a memory limit only the rows that fit are kept (``rows``: their flat positions)."""

    def __init__(self, views: dict[str, _Column], memory_limit_gb: float | None) -> None:
        super().__init__()
        self.views = views
        self.shape = views["loss"].shape
        self.rows = None
        self.front_loss = views["loss"]  # with an infinite part over the memory limit: off every front
        if memory_limit_gb is not None:
            (memory,) = views["memory_gb"].parts
            over = np.where(memory > memory_limit_gb, np.inf, 0.0)
            self.rows = np.flatnonzero(np.broadcast_to(over, self.shape).ravel() == 0)
            # the infinite part is >= 0: the loss's own bound still bounds it from below
            self.front_loss = _Column(self.shape, *views["loss"].parts, over, least=views["loss"].least)

    def __missing__(self, key: str) -> np.ndarray:
        flat = np.ascontiguousarray(self.views[key].full()).ravel()
        self[key] = flat if self.rows is None else flat[self.rows]
        return self[key]

    def __len__(self) -> int:
        return int(np.prod(self.shape)) if self.rows is None else len(self.rows)

    def keys(self):
        return self.views.keys()

    def __iter__(self):  # every column, materialised or not (as keys())
        return iter(self.views)

    def front(self, objective: str) -> np.ndarray:
        """Mask (over the kept rows) of the candidates not dominated in loss against ``objective``.

        Along an axis where the objective is constant (latency and memory do not vary with the
        training tokens; nor, without served tokens, cost with experts and bits) a candidate with
        more than that axis's least loss is dominated by the least-loss one, so the front is found
        among the per-axis minima (a 200th of the rows for latency) and then every candidate equal
        to its minimum is marked. An objective that varies along every axis (cost and CO2e with
        served tokens) is searched by groups (``_front_by_groups``). Rows over the memory limit
        take an infinite loss, which leaves them off the front."""
        view = self.views[objective]
        constant = view.constant_axes()
        if not constant:
            mask = _front_by_groups(view, self.front_loss)
            return mask if self.rows is None else mask[self.rows]
        loss = np.asarray(self.front_loss.full())
        least = np.fmin.reduce(loss, axis=constant, keepdims=True)  # fmin: NaN-blind
        reduced = view.full()[
            tuple(slice(0, 1) if i in constant else slice(None) for i in range(len(self.shape)))
        ]
        on_front = pareto_mask_2d(least.ravel(), np.ascontiguousarray(reduced).ravel()).reshape(least.shape)
        mask = (on_front & (loss == least)).ravel()
        return mask if self.rows is None else mask[self.rows]

    def at(self, key: str, positions: np.ndarray) -> np.ndarray:
        """One column at some kept rows, gathered from its parts."""
        flat_positions = positions if self.rows is None else self.rows[positions]
        return self.views[key].at(np.unravel_index(flat_positions, self.shape))

    def take(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        flat_positions = positions if self.rows is None else self.rows[positions]
        index = np.unravel_index(flat_positions, self.shape)
        return {k: v.at(index) for k, v in self.views.items()}


ANCHOR_STRIDE = 4
"""``_front_by_groups`` takes its anchors from every 4th size and every 4th token ratio."""


def _front_by_groups(objective: _Column, loss: _Column) -> np.ndarray:
    """The exact front (flat mask) of ``loss`` against ``objective``, whose first two axes (size,
    tokens) make the groups and the rest (experts, bits) their members.

    1. Anchors: the front of the candidates of every ANCHOR_STRIDE-th size and token ratio (real
       candidates, near the front).
    2. A group's ideal point (lower bounds of its least objective and least loss) lies below each
       member: where an anchor dominates it, the anchor dominates every member: the group is dropped.
    3. The front of the remaining members and the anchors is the front of all: a member left out
       is dominated by an anchor; a dominated member that is kept is dominated by a front point,
       whose group is never dropped (an anchor dominating its ideal point would dominate it).
    Non-finite values are off the front, as in pareto_mask_2d."""
    shape = objective.shape
    sizes, ratios = shape[:2]
    per = int(np.prod(shape[2:]))

    def members(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat positions, objective and loss of every member of ``groups`` (flat group numbers)."""
        i, j = np.divmod(groups, ratios)
        flat = (groups[:, None] * per + np.arange(per)).ravel()
        return flat, objective.rows(i, j).reshape(-1), loss.rows(i, j).reshape(-1)

    coarse = np.arange(sizes * ratios).reshape(sizes, ratios)[::ANCHOR_STRIDE, ::ANCHOR_STRIDE].ravel()
    flat, f1, f2 = members(coarse)
    on = pareto_mask_2d(f1, f2)
    if not on.any():  # nothing finite in the sample: search everything
        return pareto_mask_2d(np.ravel(objective.full()), np.ravel(loss.full()))
    anchors, a1, a2 = flat[on], f1[on], f2[on]
    order = np.argsort(a1, kind="stable")
    member_axes = tuple(range(2, len(shape)))
    ideal_objective = objective.lower_bound(member_axes).reshape(-1)
    ideal_loss = loss.lower_bound(member_axes).reshape(-1)
    kept = ~dominated_by(a1[order], a2[order], ideal_objective, ideal_loss)
    flat, f1, f2 = members(np.flatnonzero(kept))
    lone = ~kept[anchors // per]  # anchors whose group was dropped
    flat, f1, f2 = (np.concatenate([x, y[lone]]) for x, y in ((flat, anchors), (f1, a1), (f2, a2)))
    mask = np.zeros(int(np.prod(shape)), dtype=bool)
    mask[flat[pareto_mask_2d(f1, f2)]] = True
    return mask


def candidates(
    inputs: PlanInputs,
    law: Law,
    device: Device,
    grid: GridIntensity,
    *,
    n_sizes: int = 125,
    n_ratios: int = 100,
    budget: float | None = None,
    objectives: tuple[str, ...] = tuple(OBJECTIVES),
    strategies: tuple[Strategy, ...] = STRATEGIES,
) -> pd.DataFrame:
    """Candidate configurations: N (active, non-zero parameters) × D × serving precision (16, 8, 6,
    4 bits) × experts (1..16) × weight sparsity (dense or 2:4) × training format (the plan's data
    type or FP8): 1e6 by default. Without a budget
    N spans 1e7..1e13 and D/N 1..10^4; with one, the candidates are the ways to spend up to it (N up
    to C/(6·1e8), a share 1e-3..1 of C).
    Per candidate: loss, lifetime cost, CO2e (operational + embodied), decode latency and serving
    memory; ``pareto_<objective>`` marks the non-dominated ones for loss against each objective.

    Serving (engine.analysis.serving_strategy) is timed on the roofline, each candidate at its own
    strategy from ``strategies`` (batch and speculative draft): cost and CO2e at the cheapest that
    fits and meets ``inputs.latency_limit_ms`` (columns serve_batch, speculative; batch 0 where
    none meets it, and the cost is infinite), latency at the fastest (latency_batch,
    latency_speculative), memory at batch 1 without a draft: weights and one sequence's KV cache.

    The precision and expert dimensions adjust the plan law's loss by differences from their own
    laws, transferred (each law's loss is on its own data set, so these are approximations):
    + delta_PTQ(N, D, bits) of Kumar et al. (0 at 16 bits) and + [L(N, D, E) - L(N, D, 1)] of
    Ludziejewski et al. Serving memory is the k-bit weights (Dettmers & Zettlemoyer, block 64) of
    the total parameters, N_total(N_act, E) (Ludziejewski App. A); with ``inputs.memory_limit_gb``
    only the candidates that fit are kept. A 2:4-sparse candidate (S = 0.5) adds Frantar et al.'s
    sparsity gain at its non-zero N (T5 on C4, transferred likewise), trains at its dense size's
    cost (6·N·D/(1 − S)) and is served as serving_strategy.sparse_weights says. An FP8-trained one
    adds Sun et al.'s quantisation term of E4M3 less BF16's (their Dolma loss, transferred too) and
    trains at the device's FP8 peak."""
    arrays = _candidate_arrays(
        inputs, law, device, grid, n_sizes=n_sizes, n_ratios=n_ratios, budget=budget, strategies=strategies
    )
    frame = pd.DataFrame({k: arrays[k] for k in arrays})
    for objective in objectives:
        frame[f"pareto_{objective}"] = arrays.front(objective)
    return frame


@functools.lru_cache(maxsize=8)
def _sample_positions(count: int, size: int, seed: int = 0) -> np.ndarray:
    """A fixed, sorted sample of ``size`` of ``count`` positions (all of them when fewer)."""
    if count <= size:
        return np.arange(count)
    positions = np.sort(np.random.default_rng(seed).choice(count, size, replace=False))
    positions.flags.writeable = False
    return positions


@dataclass(frozen=True)
class FrontView:
    """What a front chart draws: ``frame`` holds the non-dominated candidates (``pareto_<objective>``
    true) and, thinned to one per cell of a grid over the window, the dominated ones inside it;
    its ``serve_batch`` and ``speculative`` are the strategy behind ``objective`` (memory: batch 1
    without a draft). The window (``x_range`` in the objective's unit, ``loss_range`` in nats)
    frames the front with a margin; a candidate outside it is not drawn, so it is not sent."""

    frame: pd.DataFrame
    count: int  # candidates searched
    objective: str
    x_range: tuple[float, float]
    loss_range: tuple[float, float]

    @property
    def front(self) -> pd.DataFrame:
        return self.frame[self.frame[f"pareto_{self.objective}"]].sort_values(self.objective)


BACKGROUND_CELLS = (30, 15)
"""The grid (log10 x by loss) a front chart's dominated candidates are thinned to, one per cell:
what the eye tells apart at chart size. Plotly styles every SVG marker on every rerun: at 56 × 28
cells its share of a Plan rerun in chromium was 200-240 ms, at 40 × 20 145-152 ms (CDP profile);
30 × 15 (345 grey points at the default budget instead of 586) took the whole Plan budget rerun
from 326 to 289 ms (interleaved, 2 × 18 changes)."""


def front_view(
    inputs: PlanInputs,
    law: Law,
    device: Device,
    grid: GridIntensity,
    objective: str,
    *,
    budget: float | None = None,
    cells: tuple[int, int] = BACKGROUND_CELLS,
    background_sample: int = 100_000,
    strategies: tuple[Strategy, ...] = STRATEGIES,
) -> FrontView:
    """The front for ``objective`` over the 1e6 candidates, without building the whole table.

    Window: the front's extent, widened by 8% of its log10 span in x (at least a factor 1.25 each
    side) and 6% of its loss span in y. Background: of the dominated candidates inside the window,
    the first in each of ``cells`` (log10 x by loss) cells: what the eye can tell apart at chart
    size, a few thousand points instead of a million."""
    arrays = _candidate_arrays(
        inputs, law, device, grid, n_sizes=125, n_ratios=100, budget=budget, strategies=strategies
    )
    count = len(arrays)
    on_front = arrays.front(objective)
    front_rows = np.flatnonzero(on_front)
    fx, fl = arrays.at(objective, front_rows), arrays.at("loss", front_rows)
    drawable = np.isfinite(fx) & (fx > 0) & np.isfinite(fl)
    front_rows, fx, fl = front_rows[drawable], fx[drawable], fl[drawable]
    if len(front_rows) == 0:
        return FrontView(
            pd.DataFrame(columns=[*_view_columns(arrays.keys()), f"pareto_{objective}"]),
            count,
            objective,
            (math.nan, math.nan),
            (math.nan, math.nan),
        )
    lx = np.log10(fx)
    span = max(float(lx.max() - lx.min()), 1e-9)
    pad_x = max(0.08 * span, math.log10(1.25))
    x_lo, x_hi = float(lx.min()) - pad_x, float(lx.max()) + pad_x
    l_lo, l_hi = float(fl.min()), float(fl.max())
    pad_l = max(0.06 * (l_hi - l_lo), 1e-3)
    l_lo, l_hi = l_lo - pad_l, l_hi + pad_l

    # the background is thinned from a fixed sample of the candidates: a cell the sample misses
    # holds few candidates, and a few hundred thousand gathers cost less than a million
    sample = _sample_positions(count, background_sample)
    sample = sample[~on_front[sample]]
    x, loss = arrays.at(objective, sample), arrays.at("loss", sample)
    inside = (loss >= l_lo) & (loss <= l_hi) & (x >= 10**x_lo) & (x <= 10**x_hi)
    rows, x, loss = sample[inside], x[inside], loss[inside]
    nx, ny = cells
    cell = np.minimum(((np.log10(x) - x_lo) / (x_hi - x_lo) * nx).astype(np.int64), nx - 1) * ny + np.minimum(
        ((loss - l_lo) / (l_hi - l_lo) * ny).astype(np.int64), ny - 1
    )
    first = np.full(nx * ny, -1, dtype=np.int64)
    first[cell[::-1]] = rows[::-1]  # repeated cells keep the last write: the first row of each
    background = first[first >= 0]

    keep = np.concatenate([front_rows, background])
    taken = arrays.take(keep)
    batch, speculative = STRATEGY_OF.get(objective, (None, None))
    taken["serve_batch"] = taken[batch] if batch else np.ones(len(keep), np.int64)
    taken["speculative"] = taken[speculative] if speculative else np.zeros(len(keep), bool)
    frame = pd.DataFrame({k: taken[k] for k in _view_columns(taken)})
    frame[f"pareto_{objective}"] = np.arange(len(keep)) < len(front_rows)
    return FrontView(frame, count, objective, (10**x_lo, 10**x_hi), (l_lo, l_hi))


def _view_columns(keys) -> list[str]:
    """A FrontView frame's columns: the candidate table's, one strategy (serve_batch, speculative)."""
    return [k for k in keys if k not in ("latency_batch", "latency_speculative")]


def front_words(view: FrontView) -> str:
    """What ``view``'s front holds, in words (serving_strategy.front_words): precision, experts,
    batch and draft along it by size."""
    return serving_strategy.front_words(view.front)


SERVING_BATCHES = serving_strategy.BATCHES


def strategy_rule(inputs: PlanInputs, objective: str) -> str:
    """How each candidate's serving strategy is chosen for ``objective``, in words."""
    if objective == "latency_ms":
        return "the fastest that fits in memory"
    if objective == "memory_gb":
        return "batch 1 without a draft, the least memory"
    if inputs.inference_tokens <= 0:
        return "none needed: no tokens are served"
    limit = (
        f" and meets the {inputs.latency_limit_ms:g} ms/token latency limit"
        if inputs.latency_limit_ms
        else ""
    )
    return f"the cheapest that fits in memory{limit}"


def export_json(result: PlanResult, law: Law, device: Device) -> str:
    """The scenario, the law (constants and citation), the device and the results, as JSON."""

    return json.dumps(
        {
            "schema": SCHEMA,
            "inputs": result.inputs.to_json(),
            "law": describe(law),
            "hardware": device.as_row(),
            "results": result.summary(),
        },
        indent=2,
        default=float,
    )


def import_json(text: str) -> PlanInputs:
    """The inputs of an exported scenario; ValueError naming what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"not JSON: {exc}") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema not in (SCHEMA, *OLD_SCHEMAS):
        raise PlanError(f"not a FLOPwise scenario (schema {SCHEMA}; this file says {schema!r})")
    inputs = data.get("inputs")
    if not isinstance(inputs, dict):
        raise PlanError("the scenario has no inputs")
    return PlanInputs.from_json(_from_schema_1(inputs) if schema == "flopwise.plan/1" else inputs)


# flopwise.plan/1 kept the page's words and units: its modes, trillions of tokens, front names
_SCHEMA_1_MODES = {"Compute budget": "budget", "Devices × days": "devices_days", "Target loss": "target_loss"}
_SCHEMA_1_FRONTS = {"cost": "cost_usd", "CO2e": "co2_t", "latency": "latency_ms", "memory": "memory_gb"}


def _from_schema_1(inputs: dict) -> dict:
    out = dict(inputs)
    if "plan_mode" in out:
        out["plan_mode"] = _SCHEMA_1_MODES.get(out["plan_mode"], out["plan_mode"])
    if "inference_tokens_t" in out:
        out["inference_tokens"] = float(out.pop("inference_tokens_t")) * 1e12
    if "plan_front" in out:
        front = out.pop("plan_front")
        out["front_objective"] = _SCHEMA_1_FRONTS.get(front, front)
    return out


def results_frame(*results: PlanResult, labels: tuple[str, ...] = ("A", "B")) -> pd.DataFrame:
    """Headline numbers of one or more results as rows (for the CSV export and the A/B table).
    Units are in the column names; a figure that cannot be estimated (no power figure) is NaN."""

    def thousandths(x: float | None) -> float:  # kg -> t, kWh -> MWh
        return math.nan if x is None else x / 1000

    rows = []
    for label, r in zip(labels, results):
        point = r.point or {}
        rows.append(
            {
                "scenario": label,
                "n_params": r.n_params,
                "n_tokens": r.n_tokens,
                "experts": point.get("experts", 1.0),
                "serve_bits": point.get("serve_bits", 16.0),
                "sparsity": point.get("sparsity", 0.0),
                "fp8_training": bool(point.get("fp8_training", 0.0)),
                "serve_batch": point.get("serve_batch", 1.0),
                "speculative": bool(point.get("speculative", 0.0)),
                "total_params": point.get("total_params", r.n_params),
                "tokens_per_param": r.tokens_per_param,
                "loss": r.loss,
                "flops_train": r.flops,
                "train_device_hours": r.train.device_hours,
                "train_wall_days": r.train.wall_days,
                "train_energy_mwh": thousandths(r.train.energy_kwh),
                "train_co2_t": thousandths(r.train.co2_kg),
                "train_embodied_co2_t": thousandths(r.train.embodied_co2_kg),
                "train_cost_usd": r.train.cost_usd,
                "serve_cost_usd": r.serve.cost_usd if r.serve else 0.0,
                "serve_co2_t": thousandths(r.serve.total_co2_kg) if r.serve else 0.0,
                "total_cost_usd": r.total_cost_usd,
                "total_co2_t": thousandths(r.total_co2_kg),
                "decode_ms_per_token": r.inference.decode_s_per_step * 1e3,
                "serving_memory_gb": point.get("memory_gb", math.nan),
                "grid_g_per_kwh": r.grid.g_co2_per_kwh,
            }
        )
    return pd.DataFrame(rows)
