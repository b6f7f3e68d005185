"""Do the datasets catch plausible misreadings of the spec? (python -m tests.oracle.mutants)

Each mutant is the oracle with one plausible misreading patched into its source text. A
mutant that agrees with the oracle within the contract's tolerance on every dataset is NOT caught:
the cross-check could not tell that misreading from the spec, and a dataset is missing.
Not a pytest test (several minutes of CPU); run it after changing the datasets.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import warnings
from pathlib import Path

from tests.oracle import spec_oracle
from tests.oracle.compare import differences
from tests.oracle.datasets import all_datasets, analysis_time

# name -> [(text in spec_oracle.py, replacement)]
MUTANTS: dict[str, list[tuple[str, str]]] = {
    "coverage as k >= c * n (float)": [
        (
            "n.valid = bool(n.temps) and n.coverage >= p.min_coverage and ended",
            "n.valid = bool(n.temps) and len(n.bins) >= p.min_coverage * n.n_bins and ended",
        )
    ],
    "always 144 bins per night": [
        (
            "return -(-(self.end_ms - self.start_ms) // BIN_MS)",
            "return 144 if self.end_ms - self.start_ms > 36_000_000"
            " else -(-(self.end_ms - self.start_ms) // BIN_MS)",
        )
    ],
    "cramp at night_end counts": [
        (
            "n.cramps = [c for c in cramps if n.start_ms <= c < n.end_ms]",
            "n.cramps = [c for c in cramps if n.start_ms <= c <= n.end_ms]",
        )
    ],
    "cold is min <= threshold": [
        (
            "cold = [n.min_temp < p.cold_threshold_c for n in valid]",
            "cold = [n.min_temp <= p.cold_threshold_c for n in valid]",
        )
    ],
    "fold=1 for local clock times": [
        ("clock.replace(fold=0), tzinfo=tz)", "clock.replace(fold=1), tzinfo=tz)")
    ],
    "exposure window closed at t": [
        (
            'hi = int(np.searchsorted(times, t_ms, "left"))',
            'hi = int(np.searchsorted(times, t_ms, "right"))',
        )
    ],
    "exposure needs 5 bins": [("if len(bins) < 6:", "if len(bins) < 5:")],
    "referents only inside valid nights": [
        (
            "r = exposure(times, temps, local_ms(d, clock, tz))",
            "t_ref = local_ms(d, clock, tz)\n"
            "                r = exposure(times, temps, t_ref) if any("
            "n.start_ms <= t_ref < n.end_ms for n in valid_nights) else None",
        )
    ],
    "referents include the cramp's own date": [("if d != local.date():", "if True:")],
    "month of the night's date, not the cramp's": [
        (
            "d = date(local.year, local.month, 1)\n        while d.month == local.month:",
            "nd = next(n.day for n in valid_nights if c in n.cramps)\n"
            "        d = date(nd.year, nd.month, 1)\n        while d.month == nd.month:",
        )
    ],
    "case-crossover uses every cramp (daytime too)": [
        (
            "cramps = sorted({c for n in valid_nights for c in n.cramps})",
            "cramps = sorted(ALL_CRAMPS)",
        ),
        (
            "    nights = build_nights(readings, cramps, p, at)",
            "    global ALL_CRAMPS\n    ALL_CRAMPS = cramps\n"
            "    nights = build_nights(readings, cramps, p, at)",
        ),
    ],
    "relative_risk all null if any part is": [
        (
            '        out["relative_risk"] = {',
            '        out["relative_risk"] = None if not all(map(math.isfinite, '
            "(rr.relative_risk, ci.low, ci.high))) else {",
        )
    ],
    "logistic ignores warnings": [
        ("if any(issubclass(w.category, bad) for w in caught):", "if False:"),
        (
            '"or_per_degree_colder": math.exp(-beta),',
            '"or_per_degree_colder": math.exp(min(-beta, 700)),',
        ),
        ('"ci_low": math.exp(-hi),', '"ci_low": math.exp(min(-hi, 700)),'),
        ('"ci_high": math.exp(-lo),', '"ci_high": math.exp(min(-lo, 700)),'),
    ],
    # -- version 2 and 3: the seasonal comparison, the looks, as_of, separation ---------
    "whole-month strata (version 2)": [
        (
            "return (day.year, day.month, 1 if day.day <= 15 else 2)",
            "return (day.year, day.month, 1)",
        )
    ],
    "the 16th in the first half": [("1 if day.day <= 15 else 2", "1 if day.day <= 16 else 2")],
    "strata by the UTC date of the night's start": [
        (
            "return stratified_fit((half_month(n.day), n) for n in valid_nights)",
            "return stratified_fit((half_month((EPOCH + timedelta(milliseconds=n.start_ms))"
            ".date()), n) for n in valid_nights)",
        )
    ],
    "non-informative strata kept": [
        (
            "g for g in strata.values() if any(n.cramp for n in g) and any(not n.cramp for n in g)",
            "g for g in strata.values() if g",
        )
    ],
    "3 cramp nights counted over all valid nights": [
        (
            "if sum(n.cramp for g in informative for n in g) < 3:",
            "if sum(n.cramp for g in strata.values() for n in g) < 3:",
        )
    ],
    "all valid nights at a look, not the first N": [
        (
            '"at_look": fit_first(ordered_valid[: looks[k - 1]]) if k else None,',
            '"at_look": fit_first(ordered_valid) if k else None,',
        )
    ],
    "a look reached only once V exceeds it": [("        if need <= v:", "        if need < v:")],
    "per-look level 0.0158 (version 2)": [
        ('if at["p"] < seq["alpha_per_look"]:', 'if at["p"] < 0.0158:')
    ],
    "an unfinished night counts": [
        ("ended = as_of_ms is None or n.end_ms <= as_of_ms", "ended = True")
    ],
    "rows after as_of are read": [
        (
            "if r[0] <= as_of_ms], [c for c in cramps if c <= as_of_ms]",
            "if True], [c for c in cramps if True]",
        )
    ],
    "rows at as_of are ignored too": [
        (
            "if r[0] <= as_of_ms], [c for c in cramps if c <= as_of_ms]",
            "if r[0] < as_of_ms], [c for c in cramps if c < as_of_ms]",
        )
    ],
    "as_of rounded, not truncated, to ms": [
        (
            "return (dt - EPOCH) // timedelta(milliseconds=1)\n\n\ndef ms_text",
            "return round((dt - EPOCH) / timedelta(milliseconds=1))\n\n\ndef ms_text",
        )
    ],
    "separation left to Newton": [
        (
            'side = "colder" if t - t_lo < 1e-9 else "warmer" if t_hi - t < 1e-9 else None',
            "side = None",
        )
    ],
    "separation sides swapped in the verdict": [
        ('if at["separation"] == "colder" or', 'if at["separation"] == "warmer" or')
    ],
    "score variance without n - 1": [
        ("v += m * (n - m) / (n * (n - 1))", "v += m * (n - m) / (n * n)")
    ],
}


def load_mutant(name: str, subs, folder: Path):
    text = Path(spec_oracle.__file__).read_text()
    for old, new in subs:
        if old not in text:
            raise SystemExit(f"mutant {name!r}: the oracle no longer contains {old!r}")
        text = text.replace(old, new)
    path = folder / f"mutant_{abs(hash(name))}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sets = all_datasets()
        files = {ds.name: ds.write(root / ds.name) for ds in sets}

        def run(module, ds):
            p = module.Params(ds.tz, ds.night_start, ds.night_end, ds.min_coverage, ds.cold_below)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report = module.analyze_files(*files[ds.name], p, analysis_time(ds))
            return report

        base = {ds.name: run(spec_oracle, ds) for ds in sets}
        missed = 0
        for name, subs in MUTANTS.items():
            module = load_mutant(name, subs, root)
            caught = [ds.name for ds in sets if differences(base[ds.name], run(module, ds))]
            missed += not caught
            print(f"{name:45s} {'caught by ' + ', '.join(caught) if caught else 'NOT CAUGHT'}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
