"""Compare a contract dict with the oracle's: numbers within a relative 1e-4, the rest exactly."""

from __future__ import annotations

import math


def differences(expected, got, path="report") -> list[str]:
    """Every place the product's value leaves the oracle's (empty when they agree)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object, got {got!r}"]
        out = []
        for key, value in expected.items():
            if key not in got:
                out.append(f"{path}.{key}: missing")
            else:
                out += differences(value, got[key], f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return [f"{path}: expected a list of {len(expected)}, got {got!r}"]
        out = []
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            out += differences(e, g, f"{path}[{i}]")
        return out
    if expected is None or isinstance(expected, bool | str):
        return [] if got == expected else [f"{path}: expected {expected!r}, got {got!r}"]
    if isinstance(expected, int):
        ok = isinstance(got, int) and not isinstance(got, bool) and got == expected
        return [] if ok else [f"{path}: expected int {expected!r}, got {got!r}"]
    ok = (
        isinstance(got, int | float)
        and not isinstance(got, bool)
        and math.isclose(got, expected, rel_tol=1e-4)
    )
    return [] if ok else [f"{path}: expected {expected!r}, got {got!r}"]


def max_relative_difference(expected, got) -> float:
    """The largest relative difference over the numbers (not ints) both hold at one place."""
    if isinstance(expected, dict) and isinstance(got, dict):
        return max(
            (max_relative_difference(v, got[k]) for k, v in expected.items() if k in got),
            default=0.0,
        )
    if isinstance(expected, list) and isinstance(got, list):
        pairs = zip(expected, got, strict=False)
        return max((max_relative_difference(e, g) for e, g in pairs), default=0.0)
    if isinstance(expected, float) and isinstance(got, int | float) and expected:
        return abs(got - expected) / abs(expected)
    return 0.0
