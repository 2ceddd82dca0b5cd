"""axe-core, the accessibility engine, fetched once from the npm registry and checked.

The browser tests inject its script into each page and run it there. The tarball is pinned
by version and by the registry's own sha512, so a changed file on the registry fails loudly
instead of testing against another engine; it is kept under ``.cache/`` (ignored by git),
so the download happens once per clone.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "4.10.3"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
SHA512 = "Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg=="
SCRIPT = ROOT / ".cache" / f"axe-core-{VERSION}" / "axe.min.js"
# The impacts the tests refuse; "moderate" and "minor" are reported, not failed.
SERIOUS = ("serious", "critical")


def axe_script() -> str:
    """The text of axe.min.js, downloading and verifying it the first time."""
    if not SCRIPT.exists():
        with urllib.request.urlopen(TARBALL, timeout=60) as response:
            tarball = response.read()
        digest = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        if digest != SHA512:
            raise RuntimeError(f"{TARBALL} does not have the pinned sha512: refusing to run it")
        with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
            script = archive.extractfile("package/axe.min.js").read()
        SCRIPT.parent.mkdir(parents=True, exist_ok=True)
        SCRIPT.write_bytes(script)
    return SCRIPT.read_text()


def serious_violations(page) -> list[str]:
    """Run axe-core in a Playwright page (sync API); one line per serious or critical violation."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_script())
    results = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for violation in results["violations"]:
        if violation["impact"] not in SERIOUS:
            continue
        for node in violation["nodes"]:
            lines.append(f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary'][:300]}")
    return lines
