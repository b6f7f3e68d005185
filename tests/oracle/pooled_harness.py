"""Compare the product's pooled analysis with the pooled oracle, through the real CLI.

Call from a test:

    people = pooled_people()                       # or your own list of Datasets
    files = write_people(people, tmp_path / "data")
    config = pooled_config(tmp_path, db_path, people)
    import_people(files, config)
    assert pooled_differences(people, files, config, as_of_text) == []

Each Dataset (tests/oracle/datasets.py) is one person: Dataset.name is the node id and
Dataset.tz that person's time zone. `pooled_config` says how a node's time zone reaches the
recorder's config; its section names are this harness's guess at the product's keys
(`[study] nodes` is the spec's; `[study.timezones]` is not in the spec): adjust there.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta, timezone
from pathlib import Path

from tests.oracle.compare import differences
from tests.oracle.datasets import Dataset, seasonal_person, synth
from tests.oracle.pooled_oracle import Person, analyze_pooled
from tests.oracle.spec_oracle import EPOCH
from tests.support import run_bedside, write_config


def pooled_people() -> list[Dataset]:
    """Four people whose node ids sort differently by code point than by case-folding,
    in four time zones with clock changes in both hemispheres; one of them has all valid
    nights in one half-month and a cramp every night (no informative stratum)."""
    berlin = seasonal_person(
        "B-room", "Europe/Berlin", date(2026, 9, 1), 140, seed=41, room_logit=0.4
    )
    sydney = seasonal_person(
        "Zoe", "Australia/Sydney", date(2026, 8, 20), 120, seed=42, room_logit=0.3
    )
    lisbon = seasonal_person("a_room", "Europe/Lisbon", date(2026, 9, 25), 110, seed=43)
    first = date(2026, 10, 3)
    nights = {first + timedelta(days=k) for k in range(11)}
    always = synth("kid", "America/New_York", first, 11, seed=44, cramp_nights=nights)
    return [berlin, sydney, lisbon, always]


def pooled_as_of(people: list[Dataset]) -> str:
    """An as_of inside the data (the last night of some people has not ended), with an
    offset and microseconds, so truncation to ms and offset parsing are part of the check."""
    newest = max(r[0] for ds in people for r in ds.readings)
    at = newest - 2 * 86_400_000 + 123_456  # two days before the end, plus 123.456 s
    local = (EPOCH + timedelta(milliseconds=at)).astimezone(timezone(timedelta(hours=5.5)))
    return local.isoformat(timespec="microseconds").replace("000+05:30", "789+05:30")


def write_people(people: list[Dataset], folder: Path) -> dict[str, tuple[Path, Path]]:
    return {ds.name: ds.write(folder / ds.name) for ds in people}


def pooled_config(tmp_path: Path, db_path: Path, people: list[Dataset], nodes=None) -> Path:
    """A recorder config: its own node id is none of the people's; each person's zone."""
    study: dict = {}
    if nodes is not None:
        study["nodes"] = list(nodes)
    sections = {
        "node": {"id": "hall-server", "timezone": "Pacific/Chatham"},
        "storage": {"database": str(db_path)},
        "mqtt": {"enabled": False},
        "study": study,
        "study.timezones": {ds.name: ds.tz for ds in people},
    }
    return write_config(tmp_path / "pooled.toml", {k: v for k, v in sections.items() if v})


def import_people(files: dict[str, tuple[Path, Path]], config: Path) -> None:
    for node, (readings, cramps) in files.items():
        for kind, path in (("readings", readings), ("cramps", cramps)):
            done = run_bedside("import", kind, str(path), "--node", node, config=config)
            assert done.returncode == 0, done.stderr


def run_pooled(config: Path, as_of_text: str, nodes=None) -> subprocess.CompletedProcess:
    """`bedside analyze --pooled --json --as-of T [--nodes a,b]`."""
    args = ["analyze", "--pooled", "--json", "--as-of", as_of_text]
    if nodes is not None:
        args += ["--nodes", ",".join(nodes)]
    return run_bedside(*args, config=config)


def is_usage_error(done: subprocess.CompletedProcess) -> bool:
    """argparse's answer to an unknown flag: exit 2 and its usage line."""
    return done.returncode == 2 and "usage:" in done.stderr


def oracle_pooled(people: list[Dataset], files, as_of_text: str, nodes=None, trials=None) -> dict:
    """The pooled oracle on the same files the product imported (trials: node -> counts)."""
    persons = [
        Person.from_files(ds.name, ds.tz, *files[ds.name], (trials or {}).get(ds.name))
        for ds in people
    ]
    return analyze_pooled(persons, as_of=as_of_text, nodes=nodes)


def pooled_differences(people, files, config, as_of_text: str, nodes=None) -> list[str]:
    """Every place where the product's pooled JSON leaves the oracle's (empty: they agree)."""
    done = run_pooled(config, as_of_text, nodes)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    return differences(oracle_pooled(people, files, as_of_text, nodes), got)


__all__ = [
    "import_people",
    "is_usage_error",
    "oracle_pooled",
    "pooled_as_of",
    "pooled_config",
    "pooled_differences",
    "pooled_people",
    "run_pooled",
    "write_people",
]
