"""Configuration: one TOML file, validated completely before anything starts.

Every section is a frozen dataclass; the loader checks unknown keys, types and
values and reports *all* problems at once, each naming the file and the key,
so a user can fix a config in one pass.  Nothing here touches hardware.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import math
import os
import re
import socket
import stat
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.vocabulary import NODE_ID_RULE, is_clock_time, is_node_id

DEFAULT_CONFIG_PATH = Path("/etc/bedside/config.toml")
ENV_CONFIG = "BEDSIDE_CONFIG"

_TOPIC_PART = re.compile(r"^[^#+\s]+$")
# BCM numbers of the GPIO lines on the 40-pin header.
_GPIO_PINS = range(2, 28)


class ConfigError(Exception):
    """A config file is unreadable or invalid; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


def _check(pred: typing.Callable[[typing.Any], bool], message: str):
    def check(value):
        return None if pred(value) else message

    return check


def _proxy_address(value: str) -> str | None:
    """One IP address, written as the system writes a peer's (waitress compares the
    strings): a name or "*" would trust headers from anyone who can connect."""
    try:
        canonical = str(ipaddress.ip_address(value))
    except ValueError:
        return f"must be the IP address the proxy connects from (e.g. 127.0.0.1), got {value!r}"
    if canonical != value:
        return f"write the address as {canonical!r}, got {value!r}"
    return None


def _valid_timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r} (use an IANA name such as 'Europe/London')"
    return None


def _system_timezone() -> str:
    """The machine's IANA zone, so a fresh install gets local nights; UTC if unknown."""
    tz = os.environ.get("TZ", "").lstrip(":")
    candidates = [tz] if tz else []
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name and _valid_timezone(name) is None:
            return name
    return "UTC"


def _default_node_id() -> str:
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:64]
    return host or "bedroom"


def _default_database() -> str:
    state = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    if state:
        return str(Path(state.split(":")[0]) / "bedside.db")
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(data_home) / "bedside" / "bedside.db")


def _opt(default=None, check=None, doc=""):
    return field(default=default, metadata={"check": check, "doc": doc})


def _opt_factory(factory, check=None, doc=""):
    return field(default_factory=factory, metadata={"check": check, "doc": doc})


_pin_check = _check(
    lambda v: v is None or v in _GPIO_PINS, "must be a BCM GPIO number from 2 to 27"
)
_positive = _check(lambda v: v > 0, "must be greater than 0")
_non_negative = _check(lambda v: v >= 0, "must be 0 or more")

DAY_S = 86_400


def _between(lo: float, hi: float, unit: str = "", *, above: bool = False):
    """lo <= v <= hi (lo < v with ``above``): every number has bounds, or inf or 1e308
    passes the check and overflows later (a sleep, a timer, a date)."""
    text = f"{'above' if above else 'from'} {lo:g} {'and at most' if above else 'to'} {hi:g}"
    text += f" {unit}" if unit else ""

    def ok(v) -> bool:
        return (lo < v if above else lo <= v) and v <= hi

    return _check(ok, f"must be {text}")


def _node_list_problem(ids: list[str]) -> str | None:
    """A list of node ids ([recorder] nodes, [study] nodes): each once, at most 10,000."""
    if len(ids) > 10_000:
        return "at most 10000 node ids"
    bad = [i for i in ids if not is_node_id(i)]
    if bad:
        return f"{bad[0]!r} is not a node id ({NODE_ID_RULE})"
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            return f"{i!r} is listed more than once"
        seen.add(i)
    return None


_temperature = _between(-40, 80, "°C")
_clock_check = _check(is_clock_time, "must be a time of day as HH:MM")


@dataclass(frozen=True)
class NodeConfig:
    id: str = _opt_factory(
        _default_node_id,
        _check(is_node_id, NODE_ID_RULE),
    )
    name: str = _opt("")
    timezone: str = _opt_factory(_system_timezone, _valid_timezone)


@dataclass(frozen=True)
class SensorConfig:
    kind: str = _opt(
        "simulated",
        _check(lambda v: v in ("dht22", "dht11", "simulated"), "must be dht22, dht11 or simulated"),
    )
    pin: int = _opt(4, _pin_check)
    interval_s: float = _opt(
        30.0, _check(lambda v: 2 <= v <= DAY_S, f"must be from 2 (DHT limit) to {DAY_S} s")
    )
    retries: int = _opt(3, _between(0, 20))
    # auto: the kernel's IIO dht11 driver when its device exists, else Blinka.
    driver: str = _opt(
        "auto",
        _check(lambda v: v in ("auto", "kernel", "blinka"), "must be auto, kernel or blinka"),
    )
    # Where the kernel driver's device is looked for (tests use a fake tree).
    iio_root: str = _opt("/sys/bus/iio/devices")
    # Blinka only: "auto" lets adafruit_dht choose (pulseio on a detected Pi); true/false force.
    use_pulseio: bool | str = _opt(
        "auto", _check(lambda v: v in (True, False, "auto"), 'must be true, false or "auto"')
    )
    max_jump_c: float = _opt(3.0, _between(0, 120, "°C", above=True))
    seed: int = _opt(1, _between(0, 2**32 - 1))
    failure_rate: float = _opt(0.02, _check(lambda v: 0 <= v < 1, "must be from 0 to below 1"))


@dataclass(frozen=True)
class StorageConfig:
    database: str = _opt_factory(_default_database)


@dataclass(frozen=True)
class MqttConfig:
    enabled: bool = _opt(True)
    host: str = _opt("localhost")
    port: int = _opt(1883, _check(lambda v: 0 < v < 65536, "must be a TCP port 1-65535"))
    username: str | None = _opt(None)
    password: str | None = _opt(None)
    tls: bool = _opt(False)
    ca_file: str | None = _opt(None)
    cert_file: str | None = _opt(None)
    key_file: str | None = _opt(None)
    client_id: str | None = _opt(None)
    keepalive_s: int = _opt(60, _between(1, 65535, "s"))
    topic_prefix: str = _opt(
        "bedside", _check(lambda v: bool(_TOPIC_PART.match(v)), "must not contain #, + or spaces")
    )
    discovery: bool = _opt(True)
    discovery_prefix: str = _opt(
        "homeassistant",
        _check(lambda v: bool(_TOPIC_PART.match(v)), "must not contain #, + or spaces"),
    )


@dataclass(frozen=True)
class ButtonConfig:
    enabled: bool = _opt(True)
    pin: int = _opt(17, _pin_check)
    merge_s: float = _opt(5.0, _between(0, 3600, "s"))
    hold_s: float = _opt(3.0, _between(0, 60, "s", above=True))
    undo_window_s: float = _opt(600.0, _between(0, 1e9, "s", above=True))  # 1e9: "always"


@dataclass(frozen=True)
class LedConfig:
    pin: int | None = _opt(None, _pin_check)
    cold_pulse: bool = _opt(True)


@dataclass(frozen=True)
class BuzzerConfig:
    pin: int | None = _opt(None, _pin_check)
    at_night: bool = _opt(False)


@dataclass(frozen=True)
class AlertsConfig:
    cold_below_c: float = _opt(18.0, _temperature)
    clear_above_c: float = _opt(18.5, _temperature)
    min_duration_s: float = _opt(600.0, _between(0, DAY_S, "s"))
    sensor_silent_s: float | None = _opt(
        None, _check(lambda v: v is None or 0 < v <= 7 * DAY_S, f"must be > 0 and <= {7 * DAY_S}")
    )
    notify: list[str] = _opt_factory(list)
    notify_timeout_s: float = _opt(10.0, _between(0, 600, "s", above=True))
    notify_retries: int = _opt(3, _between(0, 100))


def _increasing_positive(values: list[int]) -> bool:
    return (
        bool(values)
        and all(v > 0 for v in values)
        and all(a < b for a, b in itertools.pairwise(values))
    )


# The planned looks of analysis-spec.md (version 3) and the constant per-look level that
# keeps these five unevenly spaced looks at an overall 0.05 (Pocock's 0.0158 gives 5.8%).
DEFAULT_LOOKS = (90, 180, 365, 730, 1095)
DEFAULT_POOLED_LOOKS = (360, 720, 1460, 2920, 4380)  # four times as many: the same level
DEFAULT_LOOK_ALPHA = 0.0135


@dataclass(frozen=True)
class AnalysisConfig:
    cold_below_c: float = _opt(18.0, _temperature)
    night_start: str = _opt("20:00", _clock_check)
    night_end: str = _opt("08:00", _clock_check)
    min_coverage: float = _opt(0.8, _check(lambda v: 0 < v <= 1, "must be above 0 and at most 1"))
    looks: list[int] = _opt_factory(
        lambda: list(DEFAULT_LOOKS),
        _check(_increasing_positive, "must be a strictly increasing list of positive integers"),
    )
    look_alpha: float = _opt(
        DEFAULT_LOOK_ALPHA, _check(lambda v: 0 < v < 0.5, "must be above 0 and below 0.5")
    )


@dataclass(frozen=True)
class TrialConfig:
    """The warm-night trial (docs/trial.md); a trial keeps the values it started with."""

    announce_at: str = _opt("18:00", _clock_check)
    warm_min_c: float = _opt(
        19.0, _check(lambda v: 10 <= v <= 30, "must be a temperature from 10 to 30 °C")
    )


@dataclass(frozen=True)
class SummaryConfig:
    """Opt-in messages ([alerts] notify, and MQTT for Home Assistant): the morning summary
    of last night, and during a trial tonight's instruction (monitor/daemon/summary.py)."""

    enabled: bool = _opt(False)
    at: str = _opt("08:30", _clock_check)
    trial_reminder: bool = _opt(False)


@dataclass(frozen=True)
class WebConfig:
    host: str = _opt("127.0.0.1")
    port: int = _opt(8080, _check(lambda v: 0 <= v < 65536, "must be a TCP port 0-65535"))
    password: str | None = _opt(None)
    allow_anonymous_writes: bool = _opt(False)
    secret_key: str | None = _opt(None)
    threads: int = _opt(4, _between(1, 256))
    allowed_hosts: list[str] = _opt_factory(list)
    behind_proxy: bool = _opt(False)
    # With behind_proxy: X-Forwarded-* are believed only from a peer at this address.
    trusted_proxy: str = _opt("127.0.0.1", _proxy_address)


@dataclass(frozen=True)
class RecorderConfig:
    client_id: str = _opt("bedside-recorder")
    session_expiry_s: int = _opt(7 * 24 * 3600, _between(1, 2**32 - 1, "s"))
    batch_max: int = _opt(500, _between(1, 100_000))
    batch_wait_s: float = _opt(0.2, _between(0, 60, "s", above=True))
    max_payload_bytes: int = _opt(4096, _between(1, 1 << 20, "bytes"))
    # Rooms the recorder accepts; messages of further new node ids are skipped (a client
    # inventing 10,000 rooms would otherwise put them in every page's room picker).
    max_nodes: int = _opt(100, _between(1, 10_000))
    # The owner's rooms: always accepted, whatever max_nodes and however many invented ids
    # came first (a flood would otherwise crowd a real new room out).
    nodes: list[str] = _opt_factory(list, _node_list_problem)


def _zone_table(value: dict) -> str | None:
    for node, zone in value.items():
        if not is_node_id(node):
            return f"{node!r}: {NODE_ID_RULE}"
        if not isinstance(zone, str):
            return f"{node}: expected an IANA time zone name, got {zone!r}"
        problem = _valid_timezone(zone)
        if problem:
            return f"{node}: {problem}"
    return None


@dataclass(frozen=True)
class StudyConfig:
    """The pooled study on a recorder (docs/many-rooms.md): who takes part, in which zone."""

    # Node ids taking part; empty: every node with a reading by the time of the analysis.
    nodes: list[str] = _opt_factory(list, _node_list_problem)
    # node id -> IANA zone; sets or overrides the zone a node publishes (imported nights).
    timezones: dict[str, str] = _opt_factory(dict, _zone_table)
    # Pages show P1, P2, ... unless the owner turns names on.
    show_names: bool = _opt(False)
    # Planned looks in valid nights of everyone together: four times the one-person looks,
    # so [analysis] look_alpha holds for them too (analysis-spec.md, "Pooled analysis").
    looks: list[int] = _opt_factory(
        lambda: list(DEFAULT_POOLED_LOOKS),
        _check(_increasing_positive, "must be a strictly increasing list of positive integers"),
    )


@dataclass(frozen=True)
class LoggingConfig:
    level: str = _opt(
        "INFO",
        _check(
            lambda v: v.upper() in ("DEBUG", "INFO", "WARNING", "ERROR"),
            "must be DEBUG, INFO, WARNING or ERROR",
        ),
    )


@dataclass(frozen=True)
class Config:
    node: NodeConfig = field(default_factory=NodeConfig)
    sensor: SensorConfig = field(default_factory=SensorConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    button: ButtonConfig = field(default_factory=ButtonConfig)
    led: LedConfig = field(default_factory=LedConfig)
    buzzer: BuzzerConfig = field(default_factory=BuzzerConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    trial: TrialConfig = field(default_factory=TrialConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    web: WebConfig = field(default_factory=WebConfig)
    recorder: RecorderConfig = field(default_factory=RecorderConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: str = "defaults"  # where it came from, for messages

    @property
    def sensor_silent_s(self) -> float:
        """Silent-sensor timeout: explicit, else five read intervals."""
        return self.alerts.sensor_silent_s or 5 * self.sensor.interval_s

    def replace(self, **sections) -> Config:
        """A copy with whole sections or single keys replaced: ``replace(node={"id": "x"})``."""
        changes = {}
        for name, value in sections.items():
            if isinstance(value, dict):
                value = dataclasses.replace(getattr(self, name), **value)
            changes[name] = value
        return dataclasses.replace(self, **changes)


_SECTIONS = {f.name: f.type for f in dataclasses.fields(Config) if f.name != "source"}


def _type_name(tp) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_type_name(a) for a in inner)
    if typing.get_origin(tp) is list:
        (inner,) = typing.get_args(tp)
        return "a list of whole numbers" if inner is int else "a list of strings"
    if typing.get_origin(tp) is dict:
        return "a table of strings"
    return names.get(tp, str(tp))


def _coerce(value, tp):
    """Return (value, ok) with ints accepted where floats are expected."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        for option in inner:  # the first type that takes the value (bool | str: true or "auto")
            coerced, ok = _coerce(value, option)
            if ok:
                return coerced, True
        return value, False
    if typing.get_origin(tp) is list:
        (inner,) = typing.get_args(tp)
        if inner is int:
            ok = isinstance(value, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            )
        else:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value, ok
    if typing.get_origin(tp) is dict:
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return dict(value) if ok else value, ok
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value, False
        return float(value), math.isfinite(value)  # NaN and inf are not settings
    if tp is int:
        return value, isinstance(value, int) and not isinstance(value, bool)
    return value, isinstance(value, tp)


def _build(data: dict, where: str) -> tuple[Config, list[str]]:
    errors: list[str] = []
    hints = {name: typing.get_type_hints(cls) for name, cls in _resolved_sections().items()}
    sections = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            errors.append(
                f"{where}: unknown section [{name}] (known: {', '.join(sorted(_SECTIONS))})"
            )
            continue
        if not isinstance(value, dict):
            errors.append(f"{where}: [{name}] must be a table")
            continue
        cls = _resolved_sections()[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, raw in value.items():
            if key not in fields:
                errors.append(
                    f"{where}: [{name}] {key}: unknown key (known: {', '.join(sorted(fields))})"
                )
                continue
            tp = hints[name][key]
            coerced, ok = _coerce(raw, tp)
            if not ok:
                if isinstance(raw, float) and not math.isfinite(raw):
                    errors.append(f"{where}: [{name}] {key}: must be a finite number, got {raw!r}")
                else:
                    errors.append(
                        f"{where}: [{name}] {key}: expected {_type_name(tp)}, got {raw!r}"
                    )
                continue
            check = fields[key].metadata.get("check")
            problem = check(coerced) if check else None
            if problem:
                errors.append(f"{where}: [{name}] {key}: {problem}, got {raw!r}")
                continue
            kwargs[key] = coerced
        sections[name] = cls(**kwargs)
    config = Config(**sections, source=where)
    # Defaults computed from the machine are checked too (a bad $TZ, a strange hostname).
    for name, cls in _resolved_sections().items():
        section = getattr(config, name)
        for f in dataclasses.fields(cls):
            check = f.metadata.get("check")
            if name in data and f.name in data.get(name, {}):
                continue
            problem = check(getattr(section, f.name)) if check else None
            if problem:
                errors.append(f"{where}: [{name}] {f.name}: default {problem}; set it explicitly")
    errors += _cross_checks(config, where)
    return config, errors


def _cross_checks(config: Config, where: str) -> list[str]:
    errors = []
    if config.alerts.clear_above_c < config.alerts.cold_below_c:
        errors.append(
            f"{where}: [alerts] clear_above_c: must be at or above cold_below_c "
            f"({config.alerts.cold_below_c}), got {config.alerts.clear_above_c}"
        )
    if config.analysis.night_start <= config.analysis.night_end:  # "HH:MM" sorts as time
        errors.append(
            f"{where}: [analysis] night_start: must be later in the day than night_end"
            " (a night runs from the evening of one day into the morning of the next),"
            f" got {config.analysis.night_start!r} and {config.analysis.night_end!r}"
        )
    errors += _trial_checks(config, where)
    silent = config.alerts.sensor_silent_s
    if silent is not None and silent <= config.sensor.interval_s:
        errors.append(
            f"{where}: [alerts] sensor_silent_s: must be longer than [sensor] interval_s"
            f" ({config.sensor.interval_s:g} s), or every pause between reads looks like"
            f" a silent sensor, got {silent:g}"
        )
    pins = {
        "[sensor] pin": config.sensor.pin if config.sensor.kind != "simulated" else None,
        "[button] pin": config.button.pin if config.button.enabled else None,
        "[led] pin": config.led.pin,
        "[buzzer] pin": config.buzzer.pin,
    }
    seen: dict[int, str] = {}
    for key, pin in pins.items():
        if pin is None:
            continue
        if pin in seen:
            errors.append(f"{where}: {key}: GPIO{pin} is already used by {seen[pin]}")
        seen[pin] = key
    if bool(config.mqtt.cert_file) != bool(config.mqtt.key_file):
        errors.append(f"{where}: [mqtt] cert_file: cert_file and key_file go together")
    return errors


def _trial_checks(config: Config, where: str) -> list[str]:
    """Tonight's arm is announced in the daytime, before the night it is for starts; the
    morning summary comes after the night it sums up has ended."""
    a, errors = config.analysis, []
    daytime = f"in the daytime, from [analysis] night_end ({a.night_end}) to night_start"
    for key, at, why in (
        ("[trial] announce_at", config.trial.announce_at, "so the room can be set before"
         " the night begins"),
        ("[summary] at", config.summary.at, "after the night it sums up"),
    ):  # fmt: skip
        if not (a.night_start <= a.night_end or a.night_end <= at <= a.night_start):
            errors.append(f"{where}: {key}: must be {daytime} ({a.night_start}), {why}, got {at!r}")
    return errors


_RESOLVED: dict[str, type] = {}


def _resolved_sections() -> dict[str, type]:
    if not _RESOLVED:
        hints = typing.get_type_hints(Config)
        _RESOLVED.update({name: hints[name] for name in _SECTIONS})
    return _RESOLVED


def parse(text: str, where: str = "<config>") -> Config:
    """Parse and validate TOML text; raise ConfigError listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{where}: not valid TOML: {exc}"]) from None
    config, errors = _build(data, where)
    if errors:
        raise ConfigError(errors)
    return config


def resolve_path(explicit: str | os.PathLike | None) -> Path | None:
    """--config, else $BEDSIDE_CONFIG, else /etc/bedside/config.toml if present, else None."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    if DEFAULT_CONFIG_PATH.exists():
        return DEFAULT_CONFIG_PATH
    return None


def load(explicit: str | os.PathLike | None = None) -> Config:
    """Load the config the CLI would use; defaults (the demo) when there is no file."""
    path = resolve_path(explicit)
    if path is None:
        config, errors = _build({}, "defaults")
        if errors:
            raise ConfigError(errors)
        return config
    text = read_config_text(path)
    config = parse(text, str(path))
    config = _expand_paths(config, str(path))
    db = Path(config.storage.database)
    if not db.is_absolute():  # relative to the config file, not to wherever we were started
        config = config.replace(storage={"database": str(path.parent / db)})
    return config


MAX_CONFIG_BYTES = 1 << 20  # a config is a few KB; a bigger "file" is a mistake


def read_config_text(path: Path) -> str:
    """The file's text: a regular file of at most 1 MB of UTF-8 (a BOM is fine), or
    ConfigError saying why not (--config /dev/zero would otherwise read forever)."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ConfigError([f"{path}: not a regular file (a config is a TOML text file)"])
            os.set_blocking(fd, True)
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc.strerror or exc}"]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            [f"{path}: config file is larger than {MAX_CONFIG_BYTES >> 20} MB; the right file?"]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{path}: config file is not UTF-8 text (byte {exc.start} cannot be decoded)"]
        ) from None
    return text.removeprefix("\ufeff")  # Notepad's byte order mark


# Keys that name files: ~ and $VARIABLE / ${VARIABLE} in them are expanded.
PATH_KEYS = {"storage": ("database",), "mqtt": ("ca_file", "cert_file", "key_file")}
_VARIABLE = re.compile(r"\$(\w+|\{\w+\})")


def _expand_paths(config: Config, where: str) -> Config:
    errors, changes = [], {}
    for section, keys in PATH_KEYS.items():
        for key in keys:
            value = getattr(getattr(config, section), key)
            if not value:
                continue
            missing = [
                m.group(1).strip("{}")
                for m in _VARIABLE.finditer(value)
                if m.group(1).strip("{}") not in os.environ
            ]
            if missing:
                errors.append(
                    f"{where}: [{section}] {key}: ${missing[0]} is not set in the environment,"
                    f" got {value!r}"
                )
                continue
            expanded = os.path.expanduser(os.path.expandvars(value))
            if expanded != value:
                changes.setdefault(section, {})[key] = expanded
    if errors:
        raise ConfigError(errors)
    return config.replace(**changes) if changes else config


EXAMPLE_PATH = Path(__file__).with_name("config.example.toml")
