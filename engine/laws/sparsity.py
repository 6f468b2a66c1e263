"""Sparsity: Frantar et al. 2024, "Scaling Laws for Sparsely-Connected Foundation Models" (ICLR 2024).

    L(S, N, D) = (a_S·(1 - S)^b_S + c_S)·(1/N)^b_N + (a_D/D)^b_D + c

S = share of the weights that are zero (unstructured magnitude pruning during training), N = non-zero
non-embedding parameters, D = training data. The authors' code (google-research/jaxpruner,
projects/bigsparse/sparsity-scaling.ipynb) fits it in normalised units and writes the data term
e·D^-f (so a_D = e^(1/f), b_D = f):

* T5 (encoder-decoder, span corruption on C4): N in millions of non-zero parameters, D in 1e5 training
  steps; loss = validation loss of that objective.
* ViT (JFT-4B image classification): N in millions, D in 1e9 training images.

Neither loss is a decoder language model's nats per token: the absolute values do not compare with
any other law here; only the effect of sparsity transfers. So these laws stay out of the Plan and
Scaling pickers (``engine.analysis.registry.COMPRESSION_LAWS``).

T5's D in tokens uses 65,536 tokens per step (an inference, not printed by the paper); that gives the
paper-form constants a_S·1e6^b_N = 16.79, c_S·1e6^b_N = 45.02, a_D = e^(1/f)·1e5·65,536 = 6.90e8
tokens (the paper's rounded 16.8, 45.0, 6.90e8).

Optimal sparsity for a fixed non-zero N under dense-cost training, C = 6·N/(1 - S)·D (sparse
training costs what the dense model does: D = C·(1 - S)/(6N)). Write u = 1 - S; the data term is
a_D^b_D·(6N/(C·u))^b_D, so dL/du = 0 gives

    u^(b_S + b_D) = b_D·a_D^b_D·N^b_N·(6N/C)^b_D / (a_S·b_S)
    S_opt = max{0, 1 - exp[(ln(b_D·a_D^b_D/(a_S·b_S)) + b_N·ln N)/(b_S + b_D)]·(C/(6N))^(-b_D/(b_S + b_D))}

(paper-form constants: N in parameters, D in tokens). L(u) falls to the one stationary point and
rises after it, so that point is the minimum; below u = 1 (S = 0) the dense model is best.

n:m sparsity (2:4, 4:8) is reported to behave like unstructured sparsity of the same share (a statement
of the paper, not a fit): ``nm_sparsity`` turns a pattern into S = 1 - n/m with that caveat. No
fitted n:m constants were found. Only 2:4 runs faster on hardware (sparse tensor cores, NVIDIA since
Ampere); ``serving_peak_flops`` applies a device's sparse peak for 2:4 only. The
catalog (engine.cost.hardware) lists dense peaks only, so the sparse peak must be given.

Not modelled: Panferov et al. 2025's compressed-representation capacity ρ(R) and Frantar et al. 2025's
per-scheme efficiencies: their fitted values were not found, so neither is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.errors import LawError, number_problem
from engine.formula import Formula
from engine.laws.base import Allocation, Law, LawInfo, as_positive_array
from engine.laws.optimize import minimize_over_params

FRANTAR_CITATION = (
    "Frantar, E., Riquelme, C., Houlsby, N., Alistarh, D., Evci, U. (2024). Scaling Laws for "
    "Sparsely-Connected Foundation Models. ICLR 2024. arXiv:2309.08520"
)
FRANTAR_URL = "https://arxiv.org/abs/2309.08520"
FRANTAR_CODE = "google-research/jaxpruner, jaxpruner/projects/bigsparse/sparsity-scaling.ipynb (printed fits)"

PARAMS_PER_UNIT = 1e6  # both fits: N in millions of non-zero parameters
T5_STEPS_PER_UNIT = 1e5  # T5 fit: D in 1e5 training steps
T5_TOKENS_PER_STEP = 65_536  # inferred (the notebook counts steps); not printed by the paper
VIT_IMAGES_PER_UNIT = 1e9  # ViT fit: D in 1e9 training images (total_examples / 1e9)

SPARSE_TENSOR_CORE_PATTERN = "2:4"  # the one n:m pattern with a hardware speed-up (sparse tensor cores)


@dataclass(frozen=True)
class FrantarConstants:
    """The notebook's fit, in its units (N in 1e6 parameters; D in the law's data unit):
    L = (a_S·(1-S)^b_S + c_S)·N^-b_N + e·D^-f + c."""

    a_S: float
    b_S: float
    c_S: float
    b_N: float
    e: float
    f: float
    c: float


def _sparsity(value: Any) -> np.ndarray:
    """S as an array: finite, from 0 to below 1; LawError naming ``sparsity`` otherwise."""
    problem = number_problem(value, 0.0, 1.0, low_inclusive=True)
    arr = None if problem else np.asarray(value, dtype=float)
    if arr is None or np.any(arr >= 1.0):
        raise LawError(
            f"sparsity (the share of weights that are zero) must be a finite number from 0 to below 1, "
            f"got {value!r}"
        )
    return arr


@dataclass(frozen=True)
class SparsityLaw(Law):
    """Frantar et al.'s L(S, N, D), evaluated in the units the pages use (parameters; tokens or
    images), from constants kept in the fit's own units."""

    info: LawInfo
    constants: FrantarConstants
    data_per_unit: float  # tokens (T5) or images (ViT) per unit of the fit's D
    data_kind: str  # "tokens" or "images"

    @property
    def loss_floor(self) -> float:
        return self.constants.c

    def loss_fit_units(self, sparsity: Any, n_units: Any, d_units: Any) -> np.ndarray:
        """L in the notebook's units: N in millions of non-zero parameters, D in its data unit."""
        k = self.constants
        s = _sparsity(sparsity)
        n = np.asarray(n_units, float)
        d = np.asarray(d_units, float)
        return (k.a_S * (1.0 - s) ** k.b_S + k.c_S) * n ** (-k.b_N) + k.e * d ** (-k.f) + k.c

    def loss(self, n_params: Any, n_tokens: Any, sparsity: Any = 0.0, **inputs: Any) -> np.ndarray:
        """L for ``n_params`` non-zero non-embedding parameters trained on ``n_tokens`` (T5: tokens;
        ViT: images) at sparsity S."""
        return self.loss_fit_units(
            sparsity,
            np.asarray(n_params, float) / PARAMS_PER_UNIT,
            np.asarray(n_tokens, float) / self.data_per_unit,
        )

    def paper_form(self) -> dict[str, float]:
        """The constants with N in parameters and D in the law's data unit: a_S, c_S scaled by
        1e6^b_N, a_D = e^(1/f)·(data per unit); b_S, b_N, b_D = f and c unchanged."""
        k = self.constants
        scale = PARAMS_PER_UNIT**k.b_N
        return {
            "a_S": k.a_S * scale,
            "b_S": k.b_S,
            "c_S": k.c_S * scale,
            "b_N": k.b_N,
            "a_D": k.e ** (1.0 / k.f) * self.data_per_unit,
            "b_D": k.f,
            "c": k.c,
        }

    def _require_tokens(self) -> None:
        if self.data_kind != "tokens":
            raise LawError(
                f"law {self.id} counts its data in {self.data_kind}, whose training compute is not 6·N "
                "per unit: it has no compute budget here"
            )

    def optimal_sparsity(self, n_params: Any, flops: Any) -> np.ndarray:
        """S_opt for ``n_params`` non-zero parameters and ``flops`` of dense-cost training,
        C = 6·N/(1-S)·D (closed form, module doc; ``OPTIMAL_SPARSITY``). 0 where dense is best."""
        self._require_tokens()
        p = self.paper_form()
        n = as_positive_array("n_params", n_params)
        c = as_positive_array("flops", flops)
        b_s, b_d = p["b_S"], p["b_D"]
        log_u = (np.log(b_d * p["a_D"] ** b_d / (p["a_S"] * b_s)) + p["b_N"] * np.log(n)) / (b_s + b_d)
        u = np.exp(log_u) * (c / (FLOPS_PER_PARAM_TOKEN * n)) ** (-b_d / (b_s + b_d))
        return np.maximum(0.0, 1.0 - u)

    def dense_cost_tokens(self, n_params: Any, flops: Any, sparsity: Any) -> np.ndarray:
        """D = C·(1-S)/(6N): the tokens ``flops`` buy when the sparse model trains at dense cost."""
        self._require_tokens()
        s = _sparsity(sparsity)
        return np.asarray(flops, float) * (1.0 - s) / (FLOPS_PER_PARAM_TOKEN * np.asarray(n_params, float))

    def optimal(self, flops: Any, sparsity: Any = 0.0, **inputs: Any) -> Allocation:
        """Least-loss non-zero N (and D) at ``flops`` of dense-cost training, C = 6·N/(1-S)·D, at a
        fixed sparsity (numeric search over N). Extras: sparsity, dense_params = N/(1-S)."""
        self._require_tokens()
        c_arr = as_positive_array("flops", flops)
        s = float(_sparsity(sparsity))

        def loss_of(n: np.ndarray, d6: np.ndarray) -> np.ndarray:
            return self.loss(n, d6 * (1.0 - s), s)

        n = minimize_over_params(loss_of, c_arr)
        d = self.dense_cost_tokens(n, c_arr, s)
        return Allocation(
            n,
            d,
            c_arr,
            self.loss(n, d, s),
            {"sparsity": np.full_like(c_arr, s), "dense_params": n / (1.0 - s)},
        )

    def target(self, loss: Any, sparsity: Any = 0.0, **inputs: Any) -> Allocation:
        self._require_tokens()
        return self.target_by_search(loss, hi_flops=1e34, sparsity=sparsity)


_EQUATION = (
    r"L(S, N, D) = \left(a_S(1 - S)^{b_S} + c_S\right)\left(\frac{1}{N}\right)^{b_N}"
    r" + \left(\frac{a_D}{D}\right)^{b_D} + c"
)
_SYMBOLS = (("e", "a_D^{b_D}"), ("f", "b_D"))  # the notebook's e·D^-f is (a_D/D)^b_D

FRANTAR_T5 = SparsityLaw(
    info=LawInfo(
        id="frantar-sparsity-t5",
        title="Sparsity, T5 on C4 (Frantar et al. 2024)",
        citation=FRANTAR_CITATION,
        url=FRANTAR_URL,
        equation=_EQUATION,
        source_detail=f"The L(S, N, D) form; T5 constants as fitted in the authors' code, {FRANTAR_CODE}",
        conventions=(
            "N = non-zero non-embedding parameters (the notebook's 24·12·768²·scale·(1-S)); S = share of "
            "weights pruned to zero (unstructured); D = tokens at 65,536 per step (inferred; the fit counts "
            "steps); L = T5 span-corruption validation loss on C4 (encoder-decoder): not a decoder LM's "
            "nats per token, not comparable with any other law's loss; only the sparsity effect transfers. "
            "Compute: dense-cost training, C = 6·N/(1-S)·D."
        ),
        valid_range="Non-zero N 1.33M-84.9M, S in {0, 0.5, 0.75, 0.875}; the notebook extrapolates to 604M",
        verified=True,
        family="sparsity",
        extra_inputs=("sparsity",),
        notes=(
            "Constants checked in the authors' code (printed fit); the paper's rounded table was not seen. "
            "n:m sparsity (2:4) is reported to behave like unstructured sparsity of the same share: "
            "use S = 1 - n/m, an assumption without a fit."
        ),
        compute_model="C = 6·N/(1-S)·D (dense-cost training)",
        params_meaning="non-zero non-embedding parameters",
        symbols=_SYMBOLS,
    ),
    constants=FrantarConstants(
        a_S=0.56778512,
        b_S=0.72161276,
        c_S=1.52265016,
        b_N=0.24513173,
        e=0.63361517,
        f=0.20270772,
        c=0.65074219,
    ),
    data_per_unit=T5_STEPS_PER_UNIT * T5_TOKENS_PER_STEP,
    data_kind="tokens",
)

FRANTAR_VIT = SparsityLaw(
    info=LawInfo(
        id="frantar-sparsity-vit",
        title="Sparsity, ViT on JFT-4B (Frantar et al. 2024)",
        citation=FRANTAR_CITATION,
        url=FRANTAR_URL,
        equation=_EQUATION,
        source_detail=f"The L(S, N, D) form; ViT constants as fitted in the authors' code, {FRANTAR_CODE}",
        conventions=(
            "N = non-zero non-embedding parameters (12·12·768²·scale·(1-S)); S = share of weights pruned to "
            "zero; D = training images seen (not tokens); L = JFT-4B validation loss of image "
            "classification: not a language-model loss, not comparable with any other law's loss."
        ),
        valid_range="Non-zero N 0.66M-42.5M, S from 0 to 0.9375",
        verified=True,
        family="sparsity",
        extra_inputs=("sparsity",),
        notes="Constants checked in the authors' code. No compute budget: a ViT's FLOPs per image are "
        "not 6·N.",
        compute_model="none (D in images)",
        params_meaning="non-zero non-embedding parameters",
        symbols=_SYMBOLS,
    ),
    constants=FrantarConstants(
        a_S=1.30485411,
        b_S=0.82101251,
        c_S=2.07506343,
        b_N=0.39222675,
        e=0.27818217,
        f=0.88979104,
        c=4.51669257,
    ),
    data_per_unit=VIT_IMAGES_PER_UNIT,
    data_kind="images",
)

OPTIMAL_SPARSITY = Formula(
    id="frantar-optimal-sparsity",
    title="Optimal sparsity for a fixed non-zero size and budget (Frantar et al. 2024)",
    latex=(
        r"S_{opt} = \max\left\{0,\ 1 - \exp\left[\frac{\ln\frac{b_D a_D^{b_D}}{a_S b_S} + b_N \ln N}"
        r"{b_S + b_D}\right]\left(\frac{C}{6N}\right)^{-\frac{b_D}{b_S + b_D}}\right\}"
    ),
    inputs=(
        ("N", "non-zero non-embedding parameters (kept fixed)"),
        ("C", "training compute (FLOPs), dense cost: C = 6·N/(1-S)·D"),
        (
            "a_S, b_S, b_N, a_D, b_D",
            "the sparsity law's constants in paper form (N in parameters, D in tokens)",
        ),
    ),
    outputs=(("S_opt", "the share of zero weights with the least loss at that N and C (0: dense)"),),
    assumptions=(
        f"{FLOPS_PER_PARAM_TOKEN:g}·N/(1-S) FLOPs per token: the sparse model trains at its dense "
        "size's cost (gradual pruning), so a sparser model of the same non-zero N sees fewer tokens.",
        "dL/d(1-S) = 0 has one root and the loss rises on both sides of it; below S = 0 the dense "
        "model wins.",
        f"T5 only: D in tokens at {T5_TOKENS_PER_STEP:,} tokens per step (inferred).",
    ),
    citation=FRANTAR_CITATION,
    url=FRANTAR_URL,
    source_detail="Derived from L(S, N, D) under the dense-cost budget (engine/laws/sparsity.py); checked "
    "against a grid over S and the reference's worked values",
    verified=True,
    conventions="N non-zero non-embedding; the loss is T5's span-corruption loss on C4.",
    valid_range="The T5 fit's range (non-zero N 1.33M-84.9M, S up to 0.875); beyond it an extrapolation.",
)

NM_AS_UNSTRUCTURED = Formula(
    id="nm-sparsity",
    title="n:m sparsity as unstructured sparsity of the same share",
    latex=r"S_{n:m} = 1 - \frac{n}{m}\qquad (2{:}4 \to 0.5)",
    inputs=(
        ("n", "non-zero weights kept in each group"),
        ("m", "weights per group"),
    ),
    outputs=(("S", "the sparsity the law is evaluated at"),),
    assumptions=(
        "Frantar et al. report that n:m sparsity behaves like unstructured sparsity of the same share; no "
        "fitted n:m constants were found, so this is an assumption, not a fit.",
        f"Only the {SPARSE_TENSOR_CORE_PATTERN} pattern runs at a device's sparse peak (sparse tensor "
        "cores); any other pattern, and unstructured sparsity, is served at the dense peak.",
        "The hardware catalog lists dense peaks only: a sparse peak must be supplied with the device.",
    ),
    citation=FRANTAR_CITATION,
    url=FRANTAR_URL,
    source_detail="The paper's n:m experiments: a statement without fitted constants",
    verified=False,
    conventions="S = share of zero weights; N non-zero.",
    valid_range="As the sparsity law's; unchecked for n:m.",
)


def nm_sparsity(pattern: str) -> float:
    """S = 1 - n/m for an n:m pattern such as '2:4' (0.5): the share of zeros, treated as unstructured
    sparsity of that share (``NM_AS_UNSTRUCTURED``: an assumption, not a fit)."""
    try:
        kept, group = (int(part) for part in str(pattern).split(":"))
    except ValueError:
        raise LawError(
            f"sparsity pattern must be 'n:m' with whole numbers, such as '2:4', got {pattern!r}"
        ) from None
    if not 0 < kept <= group:
        raise LawError(f"sparsity pattern {pattern!r} must keep between 1 and m of every m weights")
    return 1.0 - kept / group


def sparse_peak_applies(pattern: str | None) -> bool:
    """Whether a device's sparse peak applies: only for the 2:4 pattern (sparse tensor cores).
    Unstructured sparsity (None) and every other n:m pattern run at the dense peak."""
    return pattern is not None and str(pattern).replace(" ", "") == SPARSE_TENSOR_CORE_PATTERN


def serving_peak_flops(
    dense_peak_flops: float, pattern: str | None = None, sparse_peak_flops: float | None = None
) -> float:
    """The peak (FLOP/s) a sparse model is served at: ``sparse_peak_flops`` for the 2:4 pattern when
    the device has one, otherwise ``dense_peak_flops``. The catalog lists dense peaks only, so a sparse
    peak must be supplied (vendors' headline figures are usually the 2:4 ones)."""
    dense = float(as_positive_array("dense_peak_flops", dense_peak_flops))
    if sparse_peak_flops is None or not sparse_peak_applies(pattern):
        return dense
    return float(as_positive_array("sparse_peak_flops", sparse_peak_flops))


COMPRESSION_LAWS = (FRANTAR_T5, FRANTAR_VIT)
FORMULAS = (OPTIMAL_SPARSITY, NM_AS_UNSTRUCTURED)
