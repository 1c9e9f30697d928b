"""A PNG of an HTML report, taken with headless Chromium (no network, fresh profile)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from gluebench.errors import UsageError

TIMEOUT_S = 60
MAX_HEIGHT = 16384  # Chromium's largest software-rendered surface
PAGE_BACKGROUND = (0xF3, 0xF4, 0xF6)  # html.CSS --page


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")


def estimate_height(html_text: str, width: int = 1280) -> int:
    """A generous guess of the page height in CSS px, so one window shows the whole report."""
    content = min(width, 1100) - 90  # page and section padding
    height = 320.0
    for match in re.finditer(r"<svg\b[^>]*>", html_text):
        tag = match.group(0)
        w, h = _length(tag, "width"), _length(tag, "height")
        if w and h:
            height += h * min(1.0, content / w) + 30
    height += 40 * len(re.findall(r"<tr\b", html_text))
    height += 40 * len(re.findall(r"<(?:p|h3|h4|li)\b", html_text))
    height += 90 * len(re.findall(r"<(?:section|table)\b", html_text))
    return int(min(MAX_HEIGHT, max(800, height * 1.1)))


def _length(tag: str, attr: str) -> float | None:
    m = re.search(rf'\b{attr}="([\d.]+)(pt|px)?"', tag)
    if not m:
        return None
    return float(m.group(1)) * (4 / 3 if m.group(2) == "pt" else 1)


def screenshot(html_path: str | Path, png_path: str | Path, *, width: int = 1280,
               height: int | None = None, chromium: str | None = None,
               trim: bool = True) -> Path:
    """Render ``html_path`` at ``width`` CSS px and save a PNG; returns the PNG path.

    ``height`` defaults to an estimate of the full page, so the whole report is captured;
    with ``trim`` the empty page background left below the content is cut off (needs PIL).
    """
    html_file = Path(html_path).resolve()
    if not html_file.is_file():
        raise UsageError(f"{html_path}: no such HTML file")
    browser = chromium or find_chromium()
    if not browser:
        raise UsageError("Chromium not found: apt-get install chromium (Debian) to take "
                         "screenshots")
    if height is None:
        height = estimate_height(html_file.read_text(encoding="utf-8", errors="replace"), width)
    png = Path(png_path).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="gluebench-chromium-") as profile:
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", "--disable-dev-shm-usage",
            "--force-device-scale-factor=1", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", f"--screenshot={png}", html_file.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise UsageError(f"Chromium did not finish the screenshot within {TIMEOUT_S} s"
                             ) from exc
        except OSError as exc:
            raise UsageError(f"Chromium could not be started ({browser}): {exc}") from exc
    if not png.is_file() or png.stat().st_size == 0:
        tail = " ".join((done.stderr or "").strip().splitlines()[-3:])
        raise UsageError(f"Chromium wrote no screenshot (exit {done.returncode}): {tail}")
    if trim:
        _trim_bottom(png)
    return png


def _trim_bottom(png: Path, margin: int = 24) -> None:
    """Cut the run of plain page-background rows below the content (no-op without PIL)."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as image:
        rgb = image.convert("RGB")
    w, h = rgb.size
    pixels = rgb.load()
    step = max(1, w // 64)
    bottom = h
    while bottom > 1 and all(pixels[x, bottom - 1] == PAGE_BACKGROUND for x in range(0, w, step)):
        bottom -= 1
    if bottom + margin < h:
        rgb.crop((0, 0, w, bottom + margin)).save(png)
