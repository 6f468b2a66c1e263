"""Command line: ``python -m engine COMMAND ...``; ``--json`` prints one JSON object on stdout.

Exit codes: 0 success, 2 bad input (unknown law, non-positive budget, unreachable loss, a file
that cannot be read or has no usable rows) or a store that another process kept locked past the
wait ($FLOPWISE_DB_WAIT_S, default 30 s), with a message on stderr naming what was wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from engine.analysis.fit import fit_chinchilla
from engine.analysis.hyperparams import STEP_LAW, fit_hyperparams, sweep_from_runs
from engine.analysis.registry import LAWS, describe, get_law
from engine.cost import microbench
from engine.cost.carbon import WORLD_AVERAGE_G_PER_KWH, load_grid_intensities
from engine.cost.flops import Architecture
from engine.cost.footprint import FootprintError, training_footprint
from engine.cost.hardware import Device, HardwareError, load_catalog
from engine.cost.inference import default_architecture, shape_words
from engine.cost.lifetime import lifetime_optimum
from engine.cost.serving import KVLayout, ServingSetup, choose_dtype, max_batch, serve_point
from engine.cost.speculative import best_gamma, speculative_point
from engine.cost.test_time import KINETICS_INTENSITY, device_intensity, kinetics_cost
from engine.data.ingest import BATCH_SIZE_UNITS, CONVENTIONS, FORMAT_SEQUENCE_LENGTH, read_upload
from engine.errors import FlopwiseError, number_problem

EXIT_BAD_INPUT = 2
ARG_HELP = (
    "a law-specific input, repeatable, e.g. --arg experts=8 or --arg bits_weights=8; for MoE laws "
    "--params is the active parameter count"
)


class CliError(FlopwiseError):
    """Bad input from the command line; printed without a traceback, exit code 2."""


def _finite_float(text: str, *, allow_zero: bool, high: float | None = None) -> float:
    """An argparse type: the engine's one number rule (engine.errors.number_problem), its words."""
    problem = number_problem(text, 0.0, high, low_inclusive=allow_zero, text=True)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return float(text)


def _positive_float(text: str) -> float:
    return _finite_float(text, allow_zero=False)


def _non_negative_float(text: str) -> float:
    return _finite_float(text, allow_zero=True)


def _law_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """Law-specific inputs from --unique-tokens and repeated --arg name=value, checked against
    the inputs the law takes."""
    law = get_law(args.law)
    inputs: dict[str, Any] = {}
    if getattr(args, "unique_tokens", None) is not None:
        if "unique_tokens" not in law.info.extra_inputs:
            raise CliError(f"law {args.law} takes no --unique-tokens")
        inputs["unique_tokens"] = args.unique_tokens
    for item in getattr(args, "arg", None) or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CliError(f"--arg {item!r} must be name=value")
        if name not in law.info.extra_inputs:
            takes = ", ".join(law.info.extra_inputs) or "none"
            raise CliError(f"law {args.law} takes no input {name!r} (it takes: {takes})")
        try:
            inputs[name] = float(text)
        except ValueError:
            raise CliError(f"--arg {name}: {text!r} is not a number") from None
    return inputs


def cmd_laws(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "laws": [
            {k: describe(law)[k] for k in ("id", "title", "citation", "url", "verified", "parameters")}
            for law in LAWS.values()
        ]
    }


def cmd_optimal(args: argparse.Namespace) -> dict[str, Any]:
    law = get_law(args.law)
    alloc = law.optimal(args.flops, **_law_inputs(args)).scalar()
    extras = {
        k: v
        for k, v in alloc.items()
        if k not in ("flops", "n_params", "n_tokens", "tokens_per_param", "loss")
    }
    return {
        "law": law.id,
        "flops": alloc["flops"],
        "n_params": alloc["n_params"],
        "n_tokens": alloc["n_tokens"],
        "tokens_per_param": alloc["tokens_per_param"],
        "loss": None if math.isnan(alloc["loss"]) else alloc["loss"],
        **extras,
        **({"note": law.info.optimum_note} if law.info.optimum_note else {}),
    }


def cmd_loss(args: argparse.Namespace) -> dict[str, Any]:
    law = get_law(args.law)
    value = law.loss(args.params, args.tokens, **_law_inputs(args))
    return {"law": law.id, "loss": float(value)}


def cmd_target(args: argparse.Namespace) -> dict[str, Any]:
    law = get_law(args.law)
    alloc = law.target(args.loss, **_law_inputs(args)).scalar()
    return {
        "law": law.id,
        "loss": alloc["loss"],
        "flops": alloc["flops"],
        "n_params": alloc["n_params"],
        "n_tokens": alloc["n_tokens"],
    }


DB_HELP = (
    "database file, or a PostgreSQL URL postgresql://user@host:port/database shared by a team "
    "(default: $FLOPWISE_DB or data/flopwise.duckdb)"
)


def _note_wait(seconds: float, message: str) -> None:
    print(f"{message}… ({seconds:.0f} s)", file=sys.stderr)


def _open_store(path: str | None):
    """The run store, waiting (with a note on stderr) while another process writes to it."""
    from engine.data.store import open_store

    return open_store(path, on_wait=_note_wait)


def cmd_db(args: argparse.Namespace) -> dict[str, Any]:
    from engine.data.store import run_counts

    with _open_store(args.db) as store:
        con = store.cursor()
        return {"db": store.location, "runs_by_source": run_counts(con)}


def _read_file(path: str) -> tuple[bytes, str]:
    file = Path(path)
    try:
        return file.read_bytes(), file.name
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def cmd_ingest(args: argparse.Namespace) -> dict[str, Any]:
    from engine.data import blocks
    from engine.data.store import store_upload, store_upload_blocks

    data, name = _read_file(args.file)
    options = {"convention": args.convention, "batch_size_unit": args.batch_size_unit}
    if blocks.blockwise(data, name, batch_size_unit=args.batch_size_unit):
        # a large plain CSV: checked and stored a block at a time, as the Runs page does, so that a
        # 200 MB file is never a table of every row in memory (a file with no usable row is refused
        # inside the store's transaction, which leaves nothing)
        with _open_store(args.db) as store:
            stored, stored_report = store_upload_blocks(store.cursor(), data, name, **options)
        report = stored_report or blocks.scan_upload(data, name, **options)[0]  # None: stored before
        errors = [e.as_dict() for e in report.errors]
    else:
        report = read_upload(data, name, **options)
        errors = [e.as_dict() for e in report.errors]
        if report.n_accepted == 0:
            raise CliError(
                f"{name}: no usable rows; {report.n_rejected} rejected, first: "
                + "; ".join(f"row {e['row']} {e['column']}: {e['reason']}" for e in errors[:3])
            )
        with _open_store(args.db) as store:
            stored = store_upload(store.cursor(), report, data)
    return {
        "upload_id": stored.upload_id,
        "added": stored.added,
        "accepted": report.n_accepted,
        "rejected": report.n_rejected,
        "errors": errors,
        "convention": report.convention,
        "convention_reason": report.convention_reason,
        "batch_size_unit": report.batch_size_unit,
        "batch_size_unit_reason": report.batch_size_unit_reason,
        "dialect": report.dialect,
    }


def cmd_fit(args: argparse.Namespace) -> dict[str, Any]:
    data, name = _read_file(args.file)
    report = read_upload(data, name)
    runs = report.accepted
    if runs.empty:
        raise CliError(f"{name}: no usable rows to fit ({report.n_rejected} rejected)")
    try:
        result = fit_chinchilla(
            runs["n_params"],
            runs["n_tokens"],
            runs["loss"],
            drop_top_loss=args.drop_top_loss,
            bootstrap=args.bootstrap,
            seed=args.seed,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    summary = result.summary()
    summary["rejected_rows"] = report.n_rejected
    for problem in result.problems:
        print(f"warning: the fit is not usable: {problem}", file=sys.stderr)
    return summary


def cmd_hyperparams(args: argparse.Namespace) -> dict[str, Any]:

    recommendation = STEP_LAW.recommend(args.params, args.tokens)
    warning = STEP_LAW.extrapolation_warning(args.params, args.tokens)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return recommendation.as_dict()


def cmd_fit_hyperparams(args: argparse.Namespace) -> dict[str, Any]:

    data, name = _read_file(args.file)
    report = read_upload(data, name)
    sequence_length = args.sequence_length
    if sequence_length is None and report.detected_format in FORMAT_SEQUENCE_LENGTH:
        sequence_length = FORMAT_SEQUENCE_LENGTH[report.detected_format]
        print(f"note: {report.batch_size_unit_reason}", file=sys.stderr)
    sweep = sweep_from_runs(
        report.accepted,
        loss_column="loss_smoothed" if args.loss == "smoothed" else "loss",
        sequence_length=sequence_length,
    )
    fit = fit_hyperparams(sweep, bootstrap=args.bootstrap, seed=args.seed)
    summary = fit.summary()
    summary["rejected_rows"] = report.n_rejected
    summary["loss_column"] = args.loss
    for reason in getattr(fit, "reasons", ()):
        print(f"warning: {reason}", file=sys.stderr)
    return summary


def cmd_hardware(args: argparse.Namespace) -> dict[str, Any]:

    return {"hardware": [d.as_row() for d in load_catalog().values()]}


def cmd_footprint(args: argparse.Namespace) -> dict[str, Any]:

    catalog = load_catalog()
    if args.hardware not in catalog:
        raise CliError(f"unknown hardware {args.hardware!r}; known: {', '.join(catalog)}")
    if args.grid_intensity is not None and args.region is not None:
        raise CliError("give --grid-intensity or --region, not both")
    if args.region is not None:
        grids = load_grid_intensities()
        if args.region not in grids:
            raise CliError(f"unknown region {args.region!r}; e.g. {', '.join(list(grids)[:5])}, ...")
        grid = grids[args.region].g_co2_per_kwh
    else:
        grid = args.grid_intensity if args.grid_intensity is not None else WORLD_AVERAGE_G_PER_KWH
    device = catalog[args.hardware]
    dtype = args.dtype or ("bf16" if "bf16" in device.supported_dtypes else device.supported_dtypes[0])
    try:
        fp = training_footprint(
            args.flops,
            device,
            n_devices=args.devices,
            dtype=dtype,
            mfu=args.mfu,
            power_w=args.power_w,
            pue=args.pue,
            grid_g_per_kwh=grid,
            price_per_device_hour=args.price_per_hour,
        )
    except (FootprintError, HardwareError) as exc:
        raise CliError(str(exc)) from None
    return fp.as_dict()


def cmd_lifetime(args: argparse.Namespace) -> dict[str, Any]:

    result = lifetime_optimum(get_law(args.law), args.loss, args.inference_tokens)
    return {
        "n_params": result.n_params,
        "n_tokens": result.n_tokens,
        "flops_train": result.flops_train,
        "flops_inference": result.flops_inference,
        "flops_total": result.flops_total,
        "chinchilla": {
            "n_params": result.chinchilla_n_params,
            "n_tokens": result.chinchilla_n_tokens,
            "flops_total": result.chinchilla_flops_total,
        },
    }


def cmd_bench(args: argparse.Namespace) -> dict[str, Any]:

    def progress(fraction: float, message: str) -> None:
        if not args.json:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    try:
        result = microbench.run(args.device, quick=args.quick, progress=progress).as_dict()
    except microbench.BenchmarkError as exc:
        raise CliError(str(exc)) from None
    if args.db:
        from engine.data.store import save_benchmark

        with _open_store(args.db) as store:
            result["bench_id"] = save_benchmark(store.cursor(), result)
    return result


DEFAULT_SERVE_PRICE = 2.0  # $ per device-hour when none is given: the Plan page's default price


def _catalog_device(hardware_id: str) -> Device:
    catalog = load_catalog()
    if hardware_id not in catalog:
        raise CliError(f"unknown hardware {hardware_id!r}; known: {', '.join(catalog)}")
    return catalog[hardware_id]


def _shape_note(given: dict[str, Any], base: Architecture) -> str:
    """Which parts of the shape were assumed from default_architecture(N), in words."""
    assumed = [name for name, value in given.items() if value is None]
    if not assumed:
        return "shape as given"
    return f"{', '.join(assumed)} assumed from the default shape for these parameters ({shape_words(base)})"


def cmd_serve(args: argparse.Namespace) -> dict[str, Any]:
    device = _catalog_device(args.hardware)
    base = default_architecture(args.params)
    layers = args.layers or base.n_layers
    heads = args.heads or base.n_heads
    head_dim = args.head_dim or base.head_dim
    kind = args.kv_kind or (
        "gqa"
        if args.kv_heads is not None
        else "mla"
        if args.latent_dim is not None or args.rope_dim is not None
        else KVLayout.from_architecture(base).kind
    )
    kv_heads = args.kv_heads
    if kind == "gqa" and kv_heads is None:
        kv_heads = base.kv_heads if heads % base.kv_heads == 0 else heads
    kv = KVLayout(
        kind=kind,
        n_layers=layers,
        n_heads=heads,
        head_dim=head_dim,
        n_kv_heads=kv_heads if kind == "gqa" else None,
        latent_dim=args.latent_dim,
        rope_dim=args.rope_dim,
    )
    setup = ServingSetup(
        n_active=args.params,
        n_total=args.total_params,
        n_experts=args.experts,
        top_k=args.top_k,
        device=device,
        weight_bits=args.bits,
        kv_bits=args.kv_bits,
        kv=kv,
        context=args.context,
        prompt_tokens=args.prompt_tokens,
        mfu_prefill=args.mfu_prefill,
        mfu_decode=args.mfu_decode,
        price_per_device_hour=args.price_per_hour,
        power_w=args.power_w,
    )
    point = serve_point(setup, args.batch)
    largest = max_batch(setup)
    if not point.fits:
        print(
            f"warning: batch {args.batch:,} does not fit in {device.name}'s {device.memory_gb:g} GB "
            f"({point.memory_bytes / 1e9:,.1f} GB needed); the largest that fits is {largest:,}",
            file=sys.stderr,
        )
    given = {"layers": args.layers, "heads": args.heads, "head_dim": args.head_dim}
    out: dict[str, Any] = {
        "params": args.params,
        "total_params": setup.params_held,
        "hardware": device.hardware_id,
        "batch": point.batch,
        "context": setup.context,
        "prompt_tokens": setup.prompt_tokens,
        "bits": setup.weight_bits,
        "kv_bits": setup.kv_bits,
        "dtype": point.dtype,
        "dtype_note": setup.dtype_words(),
        "prefill_ms": point.prefill_ms,
        "decode_ms_per_token": point.decode_ms_per_token,
        "tokens_per_s": point.tokens_per_s,
        "usd_per_mtok": point.usd_per_mtok,
        "usd_per_mtok_prompt": point.usd_per_mtok_prompt,
        "kwh_per_mtok": point.kwh_per_mtok,
        "price_per_device_hour": setup.price,
        "kv_bytes_per_token": point.kv_bytes_per_token,
        "kv": kv.words(),
        "memory_bytes": point.memory_bytes,
        "fits": point.fits,
        "max_batch": largest,
        "bound": point.bound,
        "arithmetic_intensity": point.arithmetic_intensity,
        "ridge_point": point.ridge_point,
        "shape": {"layers": layers, "heads": heads, "head_dim": head_dim},
        "shape_assumed": any(v is None for v in given.values()),
        "shape_note": _shape_note(given, base),
        "speedup": None,
        "speculative": None,
        "without_draft": None,
    }
    if args.draft_params is None:
        if args.acceptance is not None or args.draft_tokens is not None:
            raise CliError("--acceptance and --draft-tokens need --draft-params (the draft model's size)")
        return out
    if args.acceptance is None:
        raise CliError("--draft-params needs --acceptance (the draft's acceptance rate α, 0 to 1)")
    gamma = args.draft_tokens
    if gamma is None:
        gamma = best_gamma(setup, args.draft_params, args.acceptance, args.batch)
    spec = speculative_point(setup, args.draft_params, args.acceptance, gamma, args.batch)
    out["without_draft"] = {k: out[k] for k in ("decode_ms_per_token", "tokens_per_s", "usd_per_mtok")}
    out.update(
        decode_ms_per_token=spec.decode_ms_per_token,
        tokens_per_s=spec.tokens_per_s,
        usd_per_mtok=spec.usd_per_mtok,
        kwh_per_mtok=spec.kwh_per_mtok,
        memory_bytes=spec.memory_bytes,
        fits=spec.fits,
        speedup=spec.speedup,
        speculative={
            **spec.as_dict(),
            "draft_params": args.draft_params,
            "gamma_chosen": "given" if args.draft_tokens is not None else "best on the roofline",
        },
    )
    return out


def cmd_test_time(args: argparse.Namespace) -> dict[str, Any]:
    base = default_architecture(args.params)
    heads = args.heads or base.n_heads
    shape = {
        "layers": args.layers or base.n_layers,
        "heads": heads,
        "kv_heads": args.kv_heads or min(base.kv_heads, heads),
        "head_dim": args.head_dim or base.head_dim,
    }
    device = _catalog_device(args.hardware) if args.hardware else None
    if args.intensity is not None and device is not None:
        raise CliError("give --intensity or --hardware, not both")
    dtype = None
    if device is not None:
        dtype = args.dtype or choose_dtype(device, 16.0)[0]
        intensity = device_intensity(device, dtype)
        source = f"{device.name}: {dtype} peak ÷ bandwidth"
    elif args.intensity is not None:
        intensity, source = args.intensity, "given"
    else:
        if args.dtype is not None:
            raise CliError("--dtype needs --hardware")
        intensity, source = KINETICS_INTENSITY, "the Kinetics authors' code"
    cost = kinetics_cost(
        args.params,
        n_layers=shape["layers"],
        n_heads=shape["heads"],
        n_kv_heads=shape["kv_heads"],
        head_dim=shape["head_dim"],
        input_tokens=args.input_tokens,
        output_tokens=args.output_tokens,
        trials=args.trials,
        intensity=intensity,
    )
    given = {"layers": args.layers, "heads": args.heads, "kv_heads": args.kv_heads, "head_dim": args.head_dim}
    return {
        **cost.as_dict(),
        "params": args.params,
        "intensity_source": source,
        "hardware": device.hardware_id if device else None,
        "dtype": dtype,
        "seconds_at_peak": cost.eflops / device.peak_flops(dtype) if device and dtype else None,
        "shape": shape,
        "shape_assumed": any(v is None for v in given.values()),
        "shape_note": _shape_note(given, base),
    }


def _fraction(text: str) -> float:
    try:
        return _finite_float(text, allow_zero=False, high=1.0)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (a fraction of peak)") from None


def _non_negative_fraction(text: str) -> float:
    return _finite_float(text, allow_zero=True, high=1.0)


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="FLOPwise engine")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_: str, func: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(func=func)
        return p

    add("laws", "list the registered laws", cmd_laws)

    p = add("optimal", "compute-optimal N and D for a budget", cmd_optimal)
    p.add_argument("--law", required=True)
    p.add_argument("--flops", required=True, type=_positive_float, help="training FLOPs")
    p.add_argument("--unique-tokens", type=_positive_float, help="unique tokens available")
    p.add_argument("--arg", action="append", metavar="NAME=VALUE", help=ARG_HELP)

    p = add("loss", "predicted loss for N parameters and D tokens", cmd_loss)
    p.add_argument("--law", required=True)
    p.add_argument("--params", required=True, type=_positive_float)
    p.add_argument("--tokens", required=True, type=_positive_float)
    p.add_argument("--unique-tokens", type=_positive_float)
    p.add_argument("--arg", action="append", metavar="NAME=VALUE", help=ARG_HELP)

    p = add("target", "least compute that reaches a loss", cmd_target)
    p.add_argument("--law", required=True)
    p.add_argument("--loss", required=True, type=_positive_float)
    p.add_argument("--unique-tokens", type=_positive_float)
    p.add_argument("--arg", action="append", metavar="NAME=VALUE", help=ARG_HELP)

    p = add("ingest", "validate a sweep file (CSV or Parquet) and store its accepted rows", cmd_ingest)
    p.add_argument("file")
    p.add_argument(
        "--convention",
        choices=CONVENTIONS,
        help="what the file's parameter counts mean (default: detected from the header, else total)",
    )
    p.add_argument(
        "--batch-size-unit",
        choices=BATCH_SIZE_UNITS,
        help="what its batch sizes count (default: detected from the header, a known format or the values)",
    )
    p.add_argument("--db", help=DB_HELP)

    p = add("fit", "fit the Chinchilla form to a sweep file (Hoffmann et al.'s method)", cmd_fit)
    p.add_argument("file")
    p.add_argument(
        "--drop-top-loss",
        type=_non_negative_int,
        default=0,
        metavar="K",
        help="leave out the K highest-loss runs",
    )
    p.add_argument(
        "--bootstrap",
        type=_non_negative_int,
        default=200,
        metavar="K",
        help="bootstrap resamples for standard errors and 95%% intervals (0: none)",
    )
    p.add_argument("--seed", type=int, default=0)

    p = add("hyperparams", "optimal learning rate and batch size (Step Law, Li et al. 2025)", cmd_hyperparams)
    p.add_argument("--params", required=True, type=_positive_float, help="non-embedding parameters N")
    p.add_argument("--tokens", required=True, type=_positive_float, help="training tokens D")

    p = add(
        "fit-hyperparams",
        "fit the Step Law's two power laws to a learning-rate and batch-size sweep",
        cmd_fit_hyperparams,
    )
    p.add_argument("file")
    p.add_argument(
        "--loss",
        choices=("final", "smoothed"),
        default="final",
        help="which loss column picks each cell's optimum (default: final)",
    )
    p.add_argument(
        "--sequence-length",
        type=int,
        metavar="L",
        help="tokens per sequence, when batch sizes are in sequences",
    )
    p.add_argument(
        "--bootstrap",
        type=_non_negative_int,
        default=0,
        metavar="K",
        help="bootstrap resamples of the cells for the intervals (0: analytic OLS intervals)",
    )
    p.add_argument("--seed", type=int, default=0)

    add("hardware", "the accelerator catalog (dense peaks, memory, bandwidth, power)", cmd_hardware)

    p = add("footprint", "device-hours, days, energy, CO2e and cost of training for C FLOPs", cmd_footprint)
    p.add_argument("--flops", required=True, type=_positive_float)
    p.add_argument("--hardware", required=True, help="a hardware id from `hardware`")
    p.add_argument("--devices", required=True, type=_positive_float)
    p.add_argument("--mfu", type=_fraction, default=0.4, help="model FLOPs utilisation (default 0.4)")
    p.add_argument("--dtype", help="data type of the peak (default bf16)")
    p.add_argument("--power-w", type=_positive_float, help="average power per device in W (default: TDP)")
    p.add_argument("--pue", type=_positive_float, default=1.0)
    p.add_argument("--grid-intensity", type=_non_negative_float, help="gCO2e per kWh")
    p.add_argument("--region", help="a country or cloud region name (see the Plan page)")
    p.add_argument("--price-per-hour", type=_non_negative_float, help="$ per device-hour")

    p = add(
        "lifetime", "inference-aware optimum for a loss and a lifetime demand (Sardana et al.)", cmd_lifetime
    )
    p.add_argument("--law", required=True)
    p.add_argument("--loss", required=True, type=_positive_float)
    p.add_argument("--inference-tokens", required=True, type=_non_negative_float)

    p = add(
        "bench",
        "microbenchmark this machine: matmul throughput, memory bandwidth, transfers, power",
        cmd_bench,
    )
    p.add_argument("--quick", action="store_true", help="the quick mode (under 30 s)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--db", help="also store the result in this database")

    p = add(
        "serve",
        "serving on one device at a batch: prefill, decode latency, throughput, $ and KV cache "
        "(with --draft-params: speculative decoding, the decode figures then with the draft)",
        cmd_serve,
    )
    p.add_argument("--params", required=True, type=_positive_float, help="parameters that compute each token")
    p.add_argument("--hardware", required=True, help="a hardware id from `hardware`")
    p.add_argument("--total-params", type=_positive_float, help="parameters held (a mixture of experts)")
    p.add_argument("--experts", type=_positive_int, help="experts of a mixture of experts (with --top-k)")
    p.add_argument("--top-k", type=_positive_int, help="experts per token")
    p.add_argument("--bits", type=_positive_float, default=16.0, help="bits per weight (default 16)")
    p.add_argument("--kv-bits", type=_positive_float, default=16.0, help="bits per KV element (default 16)")
    p.add_argument("--batch", type=_positive_int, default=1, help="sequences decoded together (default 1)")
    p.add_argument("--context", type=_positive_int, default=4096, help="tokens of KV per sequence")
    p.add_argument("--prompt-tokens", type=_non_negative_int, default=512, help="prompt tokens per sequence")
    p.add_argument("--layers", type=_positive_int, help="layers (default: assumed from --params)")
    p.add_argument("--heads", type=_positive_int, help="query heads (default: assumed)")
    p.add_argument("--head-dim", type=_positive_int, help="size of each head (default: assumed, 128)")
    p.add_argument("--kv-kind", choices=("mha", "gqa", "mqa", "mla"), help="KV-cache layout")
    p.add_argument("--kv-heads", type=_positive_int, help="KV heads of grouped-query attention")
    p.add_argument("--latent-dim", type=_positive_int, help="MLA's latent dimension (default 4 x head dim)")
    p.add_argument("--rope-dim", type=_positive_int, help="MLA's RoPE key dimension (default head dim / 2)")
    p.add_argument("--mfu-prefill", type=_fraction, default=0.5)
    p.add_argument("--mfu-decode", type=_fraction, default=0.5)
    p.add_argument(
        "--price-per-hour",
        type=_non_negative_float,
        default=DEFAULT_SERVE_PRICE,
        help=f"$ per device-hour (default {DEFAULT_SERVE_PRICE:g})",
    )
    p.add_argument("--power-w", type=_positive_float, help="average power in W (default: the device's)")
    p.add_argument("--draft-params", type=_positive_float, help="a draft model's parameters")
    p.add_argument("--acceptance", type=_non_negative_fraction, help="the draft's acceptance rate α")
    p.add_argument("--draft-tokens", type=_non_negative_int, help="tokens drafted per step γ (default: best)")

    p = add("test-time", "Kinetics' test-time cost (eFLOPs) of best-of-n or long reasoning", cmd_test_time)
    p.add_argument("--params", required=True, type=_positive_float, help="total parameters P")
    p.add_argument("--input-tokens", required=True, type=_non_negative_int, help="prompt tokens L_in")
    p.add_argument("--output-tokens", required=True, type=_positive_int, help="tokens per trial L_out")
    p.add_argument("--trials", type=_positive_int, default=1, help="samples n (default 1)")
    p.add_argument("--hardware", help="a hardware id: its peak ÷ bandwidth as the intensity I")
    p.add_argument("--dtype", help="data type of the peak with --hardware (default bf16)")
    p.add_argument("--intensity", type=_positive_float, help="I in FLOPs per byte (default 562.5)")
    p.add_argument("--layers", type=_positive_int, help="layers (default: assumed from --params)")
    p.add_argument("--heads", type=_positive_int, help="query heads (default: assumed)")
    p.add_argument("--kv-heads", type=_positive_int, help="key/value heads (default: assumed)")
    p.add_argument("--head-dim", type=_positive_int, help="size of each head (default: assumed, 128)")

    p = add("db", "create or open the run store, load published data, print counts", cmd_db)
    p.add_argument("--db", help=DB_HELP)
    return parser


def _print_human(result: dict[str, Any]) -> None:
    if "gemm" in result:
        for row in result["gemm"]:
            print(
                f"{row['dtype']:8} {row['m']}x{row['k']}x{row['n']:<6} {row['flops_per_s'] / 1e9:10.1f} "
                f"GFLOP/s{'' if row['correct'] else '  WRONG RESULT'}"
            )
        for row in result["bandwidth"] + result["transfer"]:
            print(f"{row['kind']:15} {row['bytes'] / 2**20:8.0f} MiB {row['bytes_per_s'] / 1e9:8.1f} GB/s")
        print(f"power: {result['power'] or 'not available'}; {result['duration_s']:.1f} s")
        return
    if "hardware" in result:
        for d in result["hardware"]:
            print(f"{d['hardware_id']:12} {d['name']}")
        return
    if "laws" in result:
        for law in result["laws"]:
            flag = "" if law["verified"] else "  [unverified]"
            print(f"{law['id']:24} {law['title']}{flag}")
        return
    for key, value in result.items():
        text = f"{value:.6g}" if isinstance(value, float) else value
        print(f"{key}: {text}")


def strict_json(value: Any, path: str = "") -> tuple[Any, dict[str, str]]:
    """``value`` with every NaN or infinite number replaced by None (strict JSON has no NaN or
    Infinity tokens), and what was replaced: {"params.A": "Infinity", ...}."""
    nulls: dict[str, str] = {}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out[key], inner = strict_json(item, f"{path}.{key}" if path else str(key))
            nulls.update(inner)
        return out, nulls
    if isinstance(value, (list, tuple)):
        items = []
        for i, item in enumerate(value):
            clean, inner = strict_json(item, f"{path}[{i}]")
            items.append(clean)
            nulls.update(inner)
        return items, nulls
    if isinstance(value, float) and not math.isfinite(value):
        return None, {
            path: "NaN (not a number)" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        }
    return value, nulls


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except FlopwiseError as exc:  # bad input, an unreachable loss, a store held by another process
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        result, nulls = strict_json(result)
        if nulls:
            result["null_values"] = nulls  # which values were not finite numbers, and what they were
        json.dump(result, sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _print_human(result)
    return 0
