"""Figures for `groundhog tune --plot`: the per-day curves of one session, and a sweep's comparison.

matplotlib is imported inside the functions, so the analysis and the CLI load without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from groundhog.tune.report import SweepReport, TuneReport

_PANELS = (
    ("survivors_per_1k_tokens", "new unique survivors / 1k tokens"),
    ("novelty", "novelty (distance to earlier ideas)"),
    ("drift_from_grounding", "drift from grounding (day 1, dashed)"),
    ("in_character", "in-character score"),
)


def plot_report(report: TuneReport, path: Path) -> Path:
    """Four panels, one line per persona; the recommended depth as a dotted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, (field, title) in zip(axes.flat, _PANELS, strict=True):
        for p in report.personas:
            xs = [d.day for d in p.days if getattr(d, field) is not None]
            ys = [getattr(d, field) for d in p.days if getattr(d, field) is not None]
            (line,) = ax.plot(xs, ys, marker="o", label=p.persona)
            if field == "drift_from_grounding":
                x1 = [d.day for d in p.days if d.drift_from_day1 is not None]
                y1 = [d.drift_from_day1 for d in p.days if d.drift_from_day1 is not None]
                ax.plot(x1, y1, linestyle="--", color=line.get_color(), alpha=0.6)
        if field == "survivors_per_1k_tokens":
            xs = [d.day for d in report.days if d.survivors_per_1k_tokens is not None]
            ys = [d.survivors_per_1k_tokens for d in report.days if d.survivors_per_1k_tokens is not None]
            ax.plot(xs, ys, color="black", linewidth=2, label="all personas")
        if field == "in_character":
            ax.axhline(0.0, color="grey", linewidth=0.8)
        if report.recommendation.depth > 0:
            depth = report.recommendation.depth
            ax.axvline(depth, color="grey", linestyle=":", linewidth=1.2, label=f"recommended ({depth})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("day (loop depth)")
    axes.flat[0].legend(fontsize=8)
    rec = report.recommendation
    fig.suptitle(f"{report.session}: recommended depth {rec.depth} ({rec.cause})", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sweep(sweep: SweepReport, path: Path) -> Path:
    """Unique survivors and survivors per 1k tokens against depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    runs = [r for r in sweep.runs if r.status != "skipped"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([r.depth for r in runs], [r.unique_surviving for r in runs], marker="o")
    left.set_title("unique survivors", fontsize=10)
    rated = [r for r in runs if r.survivors_per_1k_tokens is not None]
    right.plot([r.depth for r in rated], [r.survivors_per_1k_tokens for r in rated], marker="o")
    right.set_title("unique survivors / 1k tokens", fontsize=10)
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("depth (days)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"sweep {sweep.base}: {sweep.summary}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
