"""Refresh the README's screenshots from the real app on demo data.

    .venv/bin/python scripts/screenshots.py     (needs Chromium, like the browser tests)

Fills a temporary database with eight weeks of the demo's simulated nights (web.demo's
fill_history, up to 02:40 last night in Berlin), stores the evidence report with the real
`bedside report`, and photographs in headless Chromium at phone width:
docs/images/now-night.png (the Now page at 02:40, night mode) and docs/images/evidence.png.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.clock import FakeClock, SystemClock  # noqa: E402
from monitor.config import parse  # noqa: E402
from monitor.daemon.alerts import ColdRules  # noqa: E402
from monitor.store import Store  # noqa: E402
from web.app import create_app  # noqa: E402
from web.demo import fill_history, write_config  # noqa: E402
from web.server import ServerThread  # noqa: E402

IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
TZ = "Europe/Berlin"


def main() -> None:
    from playwright.sync_api import sync_playwright

    zone = ZoneInfo(TZ)
    today = datetime.now(zone).date()
    night = datetime(today.year, today.month, today.day, 2, 40, tzinfo=zone)
    if night > datetime.now(zone):
        night -= timedelta(days=1)
    night_ms = int(night.timestamp() * 1000)
    with tempfile.TemporaryDirectory(prefix="bedside-shots-") as tmp:
        work = Path(tmp)
        path = work / "config.toml"
        text = (
            f'[node]\nid = "bedroom"\nname = "Bedroom"\ntimezone = "{TZ}"\n'
            f'[storage]\ndatabase = "{work / "demo.db"}"\n'
            '[sensor]\nkind = "simulated"\n[mqtt]\nenabled = false\n'
        )
        path.write_text(text)
        config = parse(text, str(path))
        write_config(config, path)
        with Store.open(config.storage.database) as store:
            fill_history(
                store, "bedroom", TZ, config.sensor.seed, 8, night_ms, ColdRules.from_config(config)
            )
        subprocess.run(
            [sys.executable, "-m", "monitor", "report", "--config", str(path)],
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        shots = [  # clock, display mode, page, file, height (None: the whole page)
            (FakeClock(night_ms), "night", "/", "now-night.png", None),
            (SystemClock(), "day", "/evidence", "evidence.png", 1250),
        ]
        IMAGES.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for clock, mode, page_path, name, height in shots:
                app = create_app(config, clock=clock, test_config={"REPORT_JOB_ENABLED": False})
                server = ServerThread(app).start()
                try:
                    context = browser.new_context(
                        viewport={"width": 390, "height": height or 844}, device_scale_factor=2
                    )
                    context.add_cookies(
                        [{"name": "bedside_mode", "value": mode, "url": server.url}]
                    )
                    page = context.new_page()
                    page.goto(server.url + page_path)
                    page.screenshot(path=str(IMAGES / name), full_page=height is None)
                    context.close()
                finally:
                    server.stop()
                    app.extensions["bedside"]["data"].close()
            browser.close()
    print(f"wrote {IMAGES / 'now-night.png'} and {IMAGES / 'evidence.png'}")


if __name__ == "__main__":
    main()
