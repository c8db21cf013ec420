"""The HTML report opened as a reader opens it: in a browser (headless Chromium), offline.

For every sample: a screenshot at 1400x2000 must show the timeline picture with its lanes
(checked on the pixels), and a probe copy of the page reports, from inside the browser, the
laid-out size of the picture and of each lane and every resource the page fetched (none).
Chromium runs with every host name unresolvable, so a page that needed the network would
break. Skips when Chromium is not installed (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reformdiag.report.html import render_html
from reformdiag.report.timeline_layout import build_layout
from tests.report.conftest import SAMPLES, document, rules, sample_id

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                       "(apt-get install chromium; .ci/run installs it when run as root)"),
]
WINDOW = (1400, 2000)

# Runs in the probe copy only (the report itself has no script): what the browser laid out.
PROBE = """<script>
window.addEventListener("load", () => {
  const svg = document.querySelector("svg.timeline");
  const box = svg ? svg.getBoundingClientRect() : null;
  const lanes = [...document.querySelectorAll("svg.timeline rect.lane-bg")].map(g => {
    const b = g.getBoundingClientRect();
    return {node: g.dataset.node, width: b.width, height: b.height};
  });
  const out = {
    svg: box && {top: box.top, left: box.left, width: box.width, height: box.height},
    lanes: lanes,
    marks: document.querySelectorAll("svg.timeline .mark").length,
    resources: performance.getEntriesByType("resource").map(e => e.name),
    viewport: [innerWidth, innerHeight],
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium(page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={tmp / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--window-size={WINDOW[0]},{WINDOW[1]}",
            *extra, page.as_uri()]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.scenario
@pytest.mark.parametrize("bundle", SAMPLES, ids=sample_id)
def test_the_browser_shows_the_timeline_lanes(bundle: Path, tmp_path: Path) -> None:
    from PIL import Image

    doc = document(bundle)
    layout = build_layout(doc)
    assert layout is not None
    page = render_html(doc, [bundle.parent.name], rules())
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")

    dom = chromium(probe, tmp_path, "--dump-dom", "--virtual-time-budget=3000").stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    seen = json.loads(html.unescape(found.group(1)))
    assert seen["resources"] == []  # nothing fetched: no font, image, style or script
    assert [lane["node"] for lane in seen["lanes"]] == [ln.node for ln in layout.lanes]
    assert all(lane["width"] > 900 and lane["height"] > 20 for lane in seen["lanes"])
    assert seen["marks"] > 0
    box = seen["svg"]
    assert box["width"] > 1000 and box["height"] > 100
    assert box["top"] + box["height"] <= WINDOW[1], "the picture must be on the first screen"

    shot = tmp_path / "report.png"
    chromium(report, tmp_path, f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == WINDOW
    region = image.crop((int(box["left"]), int(box["top"]), int(box["left"] + box["width"]),
                         int(box["top"] + box["height"])))
    colours = region.getcolors(maxcolors=1 << 20) or []
    painted = sum(n for n, rgb in colours if rgb != (255, 255, 255))
    assert painted > 0.15 * region.size[0] * region.size[1]  # lane stripes, marks, bars, text
    # the lane background stripe (#f8fafc) and at least one mark colour are on screen
    present = {rgb for n, rgb in colours if n > 50}
    assert (248, 250, 252) in present
    marks = {(100, 116, 139), (245, 158, 11), (220, 38, 38), (30, 41, 59)}
    assert present & marks
