"""`groundhog doctor` and `groundhog log search`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from groundhog.commands.common import HomeOpt, JsonOpt, console, echo, esc, print_json, services, sub_app

log_app = sub_app("Search the written log.")


def doctor(
    home: HomeOpt = None,
    as_json: JsonOpt = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="auto|ADDRESS",
            help="Also check a Ray cluster, as `babble --ray` would use it: a worker on each node builds its parts.",
        ),
    ] = None,
) -> None:
    """Check the model, embedder and stores; run one tiny generation and one embedding; list the extras."""
    from groundhog.compose.doctor import run_checks
    from groundhog.core.extras import extras_report

    svc = services(home)
    try:
        cluster = None
        if ray is not None:
            from groundhog.cluster.executor import check_cluster

            settings, address = svc.settings, ray
            cluster = lambda: check_cluster(settings, address)  # noqa: E731
        checks = run_checks(svc, cluster)
    finally:
        svc.close()
    ok = all(c.ok for c in checks)
    extras = extras_report()  # a missing extra is no failure: the base install runs a night on an endpoint
    if as_json:
        print_json({"ok": ok, "checks": [c.model_dump() for c in checks], "extras": extras})
    else:
        from rich.table import Table

        table = Table(title="groundhog doctor", show_lines=False)
        for col in ("check", "status", "detail", "time"):
            table.add_column(col)
        for c in checks:
            status = "[green]ok[/green]" if c.ok else "[red]FAILED[/red]"
            table.add_row(esc(c.name), status, esc(c.detail), f"{c.seconds:.1f}s")
        console().print(table)
        console().print(_extras_table(extras))
        missing = [str(e["extra"]) for e in extras if not e["installed"]]
        if missing:
            echo(f"missing extras: pip install 'groundhog[{','.join(missing)}]'")
    if not ok:
        raise typer.Exit(1)


def _extras_table(extras: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="extras", show_lines=False)
    for col in ("extra", "status", "enables"):
        table.add_column(col)
    for e in extras:
        status = "[green]installed[/green]" if e["installed"] else "[yellow]missing[/yellow]"
        table.add_row(esc(e["extra"]), status, esc(e["enables"]))
    return table


# -- log ------------------------------------------------------------------------------------------


@log_app.command("search")
def log_search(
    query: Annotated[str, typer.Argument(help="What to look for, in words.")],
    persona: Annotated[str | None, typer.Option(help="Only this persona's entries.")] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="Only entries of this kind: notebook, idea, critique, feedback, corpus."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-k", min=1, max=200, help="How many results.")] = 10,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the written log by meaning."""
    from groundhog.core.errors import BadInput
    from groundhog.core.records import ENTRY_KINDS

    if kind is not None and kind not in ENTRY_KINDS:
        raise BadInput(f"--kind: unknown kind '{kind}' (choose from {', '.join(ENTRY_KINDS)})")
    svc = services(home)
    persona_id = svc.personas.get(persona).id if persona else None
    hits = svc.log.search(query, k=limit, persona=persona_id, kind=kind)
    if as_json:
        print_json([{"similarity": round(sim, 4), **e.model_dump(mode="json")} for e, sim in hits])
        return
    if not hits:
        console().print("No entries found.")
        return
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("sim", "persona", "kind", "session/day", "text"):
        table.add_column(col)
    for e, sim in hits:
        where = esc(f"{e.session or '-'}/{e.day}")
        table.add_row(f"{sim:.2f}", esc(e.persona), esc(e.kind), where, esc(e.text[:300]))
    console().print(table)
