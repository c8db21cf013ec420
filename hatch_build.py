"""Build hook: compile stage one's line pass (reformdiag/ingest/_linescan.c) into the wheel.

The extension is optional. Without a C compiler, or if the build fails, the wheel is built
without it and reformdiag uses the numpy line pass, which gives the same answers more slowly
(reformdiag/ingest/lines.py). Set REFORMDIAG_REQUIRE_COMPILED=1 to make such a failure stop
the build instead (CI does).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# A top-level module (see the C file's head for why), from the package's C source.
MODULE = "_reformdiag_linescan"
SOURCE = "reformdiag/ingest/_linescan.c"


class LineScanBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._temp: list[str] = []
        if self.target_name != "wheel":
            return
        editable = version == "editable"
        # An editable install imports from the source tree: build the module in place there.
        out_dir = self.root if editable else self._tempdir()
        try:
            built = _build(Path(self.root), Path(out_dir), Path(self._tempdir()), editable)
        except Exception as exc:  # noqa: BLE001 - any compiler failure: fall back, loudly
            if os.environ.get("REFORMDIAG_REQUIRE_COMPILED") == "1":
                raise
            print(f"reformdiag: the compiled line pass was not built ({exc}); stage one will "
                  "use numpy, which is slower", file=sys.stderr)
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if not editable:
            build_data["force_include"][str(built)] = built.relative_to(out_dir).as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        for path in getattr(self, "_temp", []):  # the wheel holds its copy of the module now
            shutil.rmtree(path, ignore_errors=True)

    def _tempdir(self) -> str:
        path = tempfile.mkdtemp(prefix="reformdiag-build-")
        self._temp.append(path)
        return path


def _build(root: Path, out_dir: Path, temp: Path, inplace: bool) -> Path:
    """setuptools' build_ext knows each platform's compiler and flags."""
    from setuptools import Distribution, Extension

    ext = Extension(MODULE, [SOURCE], optional=False)
    old = Path.cwd()
    os.chdir(root)  # build_ext resolves sources and the in-place target from here
    try:
        dist = Distribution({"name": "reformdiag", "ext_modules": [ext]})
        cmd = dist.get_command_obj("build_ext")
        cmd.inplace = inplace
        cmd.build_lib = str(out_dir)
        cmd.build_temp = str(temp)
        cmd.ensure_finalized()
        cmd.run()
        built = Path(cmd.get_ext_fullpath(MODULE))
    finally:
        os.chdir(old)
    return built if built.is_absolute() else root / built
