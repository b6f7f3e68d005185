"""Do the datasets catch plausible misreadings of the spec? (python -m tests.oracle.mutants)

Each mutant is the oracle with one plausible misreading patched into its source text. A
mutant that agrees with the oracle within the contract's tolerance on every dataset is NOT caught:
the cross-check could not tell that misreading from the spec, and a dataset is missing.
Not a pytest test (about a minute of CPU); run it after changing the datasets.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
import warnings
from pathlib import Path

from tests.oracle import spec_oracle
from tests.oracle.compare import differences
from tests.oracle.datasets import all_datasets, analysis_time

# name -> [(text in spec_oracle.py, replacement)]
MUTANTS: dict[str, list[tuple[str, str]]] = {
    "coverage as k >= c * n (float)": [
        (
            "n.temps and n.coverage >= p.min_coverage",
            "n.temps and len(n.bins) >= p.min_coverage * n.n_bins",
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
            "cold = [min(n.temps) < p.cold_threshold_c",
            "cold = [min(n.temps) <= p.cold_threshold_c",
        )
    ],
    "fold=1 for local clock times": [
        (
            "    dt = datetime.combine(day, clock, tzinfo=tz)",
            "    dt = datetime.combine(day, clock.replace(fold=1), tzinfo=tz)",
        )
    ],
    "exposure window closed at t": [
        ('hi = np.searchsorted(times, t_ms, "left")', 'hi = np.searchsorted(times, t_ms, "right")')
    ],
    "exposure mean as a left-to-right sum": [
        ("return math.fsum(window) / len(window)", "return sum(window) / len(window)")
    ],
    "exposure needs 5 bins": [("if len(bins) < 6:", "if len(bins) < 5:")],
    "referents only inside valid nights": [
        (
            "r = exposure(times, temps, _local_ms(d, clock, tz))",
            "t_ref = _local_ms(d, clock, tz)\n"
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
            "    nights = build_nights(readings, cramps, p)",
            "    global ALL_CRAMPS\n    ALL_CRAMPS = cramps\n"
            "    nights = build_nights(readings, cramps, p)",
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
        (
            "res = _fit_quietly(lambda: sm.Logit(endog, exog).fit(disp=0))",
            "res = sm.Logit(endog, exog).fit(disp=0)",
        ),
        ('        "ci_high": math.exp(-lo),', '        "ci_high": math.exp(min(-lo, 700)),'),
    ],
    # -- version 2: the seasonal comparison, the looks, the unfinished night --------------
    "strata by the cramp's date, not the night's": [
        (
            '        strata.setdefault(f"{n.day.year:04d}-{n.day.month:02d}", []).append(n)',
            "        k_ = datetime.fromtimestamp(min(n.cramps) / 1000, ZoneInfo(TZ_)).date()"
            " if n.cramps else n.day\n"
            '        strata.setdefault(f"{k_.year:04d}-{k_.month:02d}", []).append(n)',
        ),
        (
            "    nights = build_nights(readings, cramps, p)",
            "    global TZ_\n    TZ_ = p.timezone\n    nights = build_nights(readings, cramps, p)",
        ),
    ],
    "strata by the UTC month of the night's start": [
        (
            '        strata.setdefault(f"{n.day.year:04d}-{n.day.month:02d}", []).append(n)',
            '        k_ = datetime.fromtimestamp(n.start_ms / 1000, ZoneInfo("UTC"))\n'
            '        strata.setdefault(f"{k_.year:04d}-{k_.month:02d}", []).append(n)',
        )
    ],
    "non-informative strata kept": [
        (
            "if any(n.cramps for n in group) and any(not n.cramps for n in group)",
            "if group",
        )
    ],
    "3 cramp nights counted over all valid nights": [
        (
            "if sum(1 for _, n in rows if n.cramps) < 3:",
            "if sum(1 for n in valid_nights if n.cramps) < 3:",
        )
    ],
    "all valid nights at a look, not the first N": [
        (
            "first = sorted(valid_nights, key=lambda n: n.day)[: looks[k - 1]]",
            "first = valid_nights",
        )
    ],
    "a look reached only once V exceeds it": [("        if need <= v:", "        if need < v:")],
    "per-look level 0.05 instead of 0.0158": [
        (
            'at["p"] < seq["alpha_per_look"] and at["or_per_degree_colder"] > 1',
            'at["p"] < 0.05 and at["or_per_degree_colder"] > 1',
        ),
        (
            'at["p"] < seq["alpha_per_look"] and at["or_per_degree_colder"] < 1',
            'at["p"] < 0.05 and at["or_per_degree_colder"] < 1',
        ),
    ],
    "verdict from the 95% interval, not p < level": [
        ('at["p"] < seq["alpha_per_look"] and at["or_per_degree_colder"] > 1', 'at["ci_low"] > 1'),
        ('at["p"] < seq["alpha_per_look"] and at["or_per_degree_colder"] < 1', 'at["ci_high"] < 1'),
    ],
    "verdict from all valid nights, not the look": [
        ('    at = seq["at_look"]', '    at = out["seasonal"]'),
    ],
    "an unfinished night counts": [
        (
            "n.temps and n.coverage >= p.min_coverage and n.end_ms <= now_ms",
            "n.temps and n.coverage >= p.min_coverage",
        ),
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

        wall = time.time_ns() // 1_000_000

        def run(module, ds):
            p = module.Params(ds.tz, ds.night_start, ds.night_end, ds.min_coverage, ds.cold_below)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report = module.analyze_files(*files[ds.name], p, analysis_time(ds, wall))
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
