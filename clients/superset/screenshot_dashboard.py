#!/usr/bin/env python3
"""Screenshot a Superset dashboard with headless Chromium (Playwright driving the system's
``chromium``: no browser download), after logging in through Superset's login form.

    python screenshot_dashboard.py --superset http://127.0.0.1:8088 --out dashboard.png

Runs in the Superset venv (superset_venv.py installs Playwright there). Waits until every
chart of the dashboard has rendered (a canvas, SVG or table in each chart holder, and no
loading spinner), then saves a full-page PNG. The password is read from $SUPERSET_PASSWORD
('admin' if unset).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

RENDERED = """() => {
  const holders = [...document.querySelectorAll('.dashboard-component-chart-holder')];
  if (holders.length === 0) return false;
  if (document.querySelector('.loading, [aria-label="Loading"]')) return false;
  return holders.every(h => h.querySelector('canvas, svg, table'));
}"""


def screenshot(
    superset: str,
    slug: str,
    out: Path,
    *,
    username: str,
    password: str,
    chromium: str,
    timeout_ms: int = 120_000,
) -> None:
    from playwright.sync_api import sync_playwright

    base = superset.rstrip("/")
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(timeout_ms)
            page.goto(f"{base}/login/")
            page.fill("#username, input[name=username]", username)
            page.fill("#password, input[name=password]", password)
            page.keyboard.press("Enter")
            page.wait_for_url(lambda url: "/login" not in url)
            page.goto(f"{base}/superset/dashboard/{slug}/?standalone=1")
            page.wait_for_function(RENDERED, polling=500)
            page.wait_for_timeout(1500)  # chart animations settle
            errors = page.locator(".alert-danger, [role=alert]").all_inner_texts()
            if errors:
                raise RuntimeError(f"the dashboard shows errors: {errors}")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--superset", default="http://127.0.0.1:8088")
    p.add_argument("--slug", default="genoflight", help="dashboard slug or id")
    p.add_argument("--username", default="admin")
    p.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if not Path(args.chromium).is_file():
        print(f"screenshot_dashboard: no Chromium at {args.chromium} (apt-get install chromium)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        screenshot(
            args.superset,
            args.slug,
            args.out,
            username=args.username,
            password=os.environ.get("SUPERSET_PASSWORD", "admin"),
            chromium=args.chromium,
        )
    except Exception as e:  # Playwright's errors carry the page state worth printing
        print(f"screenshot_dashboard: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
