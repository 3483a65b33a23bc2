"""`make bench`: every benchmark, each printing one summary line `name key=value …`."""

from __future__ import annotations

import importlib

BENCHMARKS = (
    "bench.engine",
    "bench.engine_eval",
    "bench.duet",
    "bench.share_image",
    "bench.public_surfaces",
    "bench.funnel",
    "bench.export_parse",
    "bench.page_weight",
    "bench.connect_spike",
)


def main() -> None:
    """Run each benchmark module's `main()` in turn."""
    for name in BENCHMARKS:
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
