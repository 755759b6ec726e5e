"""`groundhog babble` (start or resume a session) and `groundhog sessions list|show`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from groundhog.commands.common import (
    HomeOpt,
    JsonOpt,
    console,
    critique_option,
    echo,
    esc,
    loop_option,
    parse_date,
    print_json,
    services,
    sub_app,
)

sessions_app = sub_app("Sessions: what ran, how it stopped, and what each persona did each day.")


def babble(
    persona: Annotated[
        list[str] | None,
        typer.Option("--persona", "-p", metavar="NAME", help="Persona to run (repeat for several). Default: all."),
    ] = None,
    persona_group: Annotated[
        list[str] | None,
        typer.Option(
            "--persona-group",
            metavar="NAME",
            help="Run every persona of this group (see `personas spawn`); repeatable.",
        ),
    ] = None,
    depth: Annotated[int | None, loop_option("depth", metavar="N")] = None,
    ideas_per_day: Annotated[int | None, loop_option("ideas_per_day", metavar="K")] = None,
    present: Annotated[
        str | None, typer.Option(metavar="DATE", help="The fixed present, YYYY-MM-DD. Default: today.")
    ] = None,
    drift_days: Annotated[int | None, loop_option("drift_days", metavar="D")] = None,
    review_every: Annotated[int | None, loop_option("review_every", metavar="N")] = None,
    max_selection_bits: Annotated[float | None, loop_option("max_selection_bits", metavar="B")] = None,
    hours: Annotated[float | None, loop_option("hours", metavar="H")] = None,
    max_tokens: Annotated[int | None, loop_option("max_tokens", metavar="T")] = None,
    max_ideas: Annotated[int | None, loop_option("max_ideas", metavar="N")] = None,
    concurrency: Annotated[int | None, loop_option("concurrency", metavar="C")] = None,
    seminar_every: Annotated[int | None, loop_option("seminar_every", metavar="N")] = None,
    revisions: Annotated[int | None, critique_option("revisions", metavar="R")] = None,
    cross_critic: Annotated[str | None, critique_option("cross_critic", metavar="NAME")] = None,
    allow_far_future: Annotated[bool, loop_option("allow_far_future", "--allow-far-future")] = False,
    provider: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="local (embedded, offline) or openai (any compatible endpoint)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(metavar="MODEL", help="Model name (openai) or GGUF path (local).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1."),
    ] = None,
    critic_model: Annotated[
        str | None, typer.Option(metavar="MODEL", help="A different model for the critic (same provider).")
    ] = None,
    session: Annotated[
        str | None, typer.Option(metavar="NAME", help="Name for the new session. Default: s<date>-<time>.")
    ] = None,
    resume: Annotated[
        str | None, typer.Option(metavar="SESSION", help="Resume this session with its saved settings.")
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="With --resume: go on even though ideas queued before a pause are undecided."),
    ] = False,
    calibrated: Annotated[
        bool,
        typer.Option("--calibrated", help="Critic thresholds fitted to your decisions so far (see `queue stats`)."),
    ] = False,
    rank: Annotated[
        int | None,
        typer.Option("--rank", metavar="N", min=1, help="Afterwards, rank the session's ideas: N matches each."),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="auto|ADDRESS",
            help="Run persona-days as Ray tasks: 'auto' (RAY_ADDRESS, the cluster `ray start` made here, or a "
            "local Ray instance) or a head node's HOST:PORT. Needs chroma_url (a Chroma server).",
        ),
    ] = None,
    home: HomeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per progress event.")] = False,
) -> None:
    """Start an overnight babble session (or resume one with --resume SESSION).

    Each persona wakes at the same present, reads its notebook, babbles ideas, critiques them in
    character, and writes tomorrow's note; survivors go to the review queue.
    """
    from groundhog.compose.services import Services
    from groundhog.core.errors import BadInput
    from groundhog.loop.babble import check_resume, make_runner, new_config, open_services, run_session, settings_for
    from groundhog.store.locks import session_lock
    from groundhog.store.sessions import SessionStore

    loop_flags: dict[str, Any] = {
        "depth": depth,
        "ideas_per_day": ideas_per_day,
        "drift_days": drift_days,
        "review_every": review_every,
        "max_selection_bits": max_selection_bits,
        "hours": hours,
        "max_tokens": max_tokens,
        "max_ideas": max_ideas,
        "concurrency": concurrency,
        "seminar_every": seminar_every,
        "allow_far_future": allow_far_future or None,
    }
    babble_flags = {"provider": provider, "model": model, "base_url": base_url}
    critique_flags = {"revisions": revisions, "cross_critic": cross_critic}
    flags: dict[str, Any] = {"loop": loop_flags, "babble": babble_flags, "critique": critique_flags}
    if critic_model:
        flags["critic"] = {"provider": provider or "openai", "model": critic_model, "base_url": base_url}

    if no_wait and not resume:
        raise BadInput("--no-wait: only with --resume SESSION (it resumes a paused session without its review)")
    svc = services(home, **flags)
    if calibrated:
        from groundhog.commands.calibration import calibrated_services

        svc = calibrated_services(svc, home, flags, resume)
    store = SessionStore(svc.db)
    if resume:
        given = [k for k, v in {**loop_flags, **babble_flags, **critique_flags}.items() if v is not None]
        if given or persona or persona_group or present or session or critic_model:
            raise BadInput("--resume: a resumed session keeps its saved settings; give no other options")
        row = store.get(resume)
        check_resume(store, svc.queue, row, no_wait=no_wait)  # exit 2 while a review is still waiting
        config = row.config
        svc.close()
        svc = Services(settings_for(config, svc.settings))
    else:
        names = [svc.personas.get(p).id for p in persona or []]
        names += [p.id for g in persona_group or [] for p in svc.personas.in_group(g)]
        names = names if persona or persona_group else [p.id for p in svc.personas.all()]
        config = new_config(svc.settings, list(dict.fromkeys(names)), session=session, present=parse_date(present))
    cluster = None
    if ray is not None:
        from groundhog.cluster.executor import joining

        cluster = joining(svc, config, ray)
    days = open_services(svc, config, cluster)  # the Chroma server, the Ray cluster: checked before any work
    if days is not None:
        echo(f"groundhog: persona-days run as Ray tasks on {days.joined}", err=True)
    if not resume:
        store.create(config)

    from groundhog.commands.progress import make_renderer

    renderer = make_renderer(config, json_lines=as_json or not sys.stdout.isatty(), home=svc.settings.home)
    runner = make_runner(svc, config, on_event=renderer.handle, no_wait=no_wait, days=days, fresh=not resume)
    try:
        with session_lock(svc.settings.home, config.id, svc.db), renderer:
            outcome = run_session(runner)
    finally:
        if days is not None:
            days.close()
    renderer.summary(outcome, svc)
    if rank:
        from groundhog.commands.calibration import rank_after

        rank_after(svc, config, rank, as_json or not sys.stdout.isatty())
    svc.close()
    if outcome.status in ("failed", "completed-with-failures"):
        raise typer.Exit(1)


@sessions_app.command("list")
def sessions_list(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """List sessions, newest first, with status and why they stopped."""
    from groundhog.store.locks import effective_status
    from groundhog.store.sessions import SessionStore, bits_json

    svc = services(home)
    store = SessionStore(svc.db)
    rows: list[dict[str, Any]] = []
    for s in store.all():
        t = store.totals(s.id)
        status, reason = effective_status(svc.settings.home, s.id, s.status, s.reason, svc.db)
        rows.append(
            {
                "id": s.id,
                "status": status,
                "reason": reason,
                "created_at": s.created_at.isoformat(),
                "personas": s.config.personas,
                "depth": s.config.depth,
                "days_done": t.days_done,
                "days_failed": t.days_failed,
                "generated": t.generated,
                "surviving": t.surviving,
                "selection_bits": bits_json(t.bits),
                "tokens": t.tokens,
            }
        )
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print("No sessions yet: start one with `groundhog babble`.")
        return
    from rich.table import Table

    table = Table(title="sessions")
    for col in ("id", "status", "personas", "days", "ideas", "survived", "bits", "tokens", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            esc(r["id"]),
            esc(r["status"]),
            esc(", ".join(r["personas"])),
            f"{r['days_done']}/{len(r['personas']) * r['depth']}",
            str(r["generated"]),
            str(r["surviving"]),
            str(r["selection_bits"]),
            str(r["tokens"]),
            esc(r["reason"]),
        )
    console().print(table)


def _default_session(store: Any, session: str | None) -> str:
    from groundhog.core.errors import BadInput

    if session:
        return session
    latest = store.latest()
    if latest is None:
        raise BadInput("there are no sessions yet: start one with `groundhog babble`")
    return str(latest.id)


@sessions_app.command("show")
def sessions_show(
    session: Annotated[str | None, typer.Argument(help="Session name. Default: the latest.")] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per persona and day: entries read at wake-up, ideas and verdicts, the notebook, token usage; and the
    night's diversity across personas, with a warning when the personas collapsed into one voice."""
    from groundhog.commands.diversity import as_data as diversity_data
    from groundhog.commands.diversity import measure as measure_diversity
    from groundhog.commands.diversity import render as render_diversity
    from groundhog.commands.diversity import warn as warn_collapse
    from groundhog.loop.report import session_report
    from groundhog.store.locks import effective_status
    from groundhog.store.sessions import SessionStore

    svc = services(home)
    store = SessionStore(svc.db)
    report = session_report(store, _default_session(store, session))
    report["status"], report["reason"] = effective_status(
        svc.settings.home, report["id"], report["status"], report["reason"], svc.db
    )
    diversity = measure_diversity(svc, store, report["id"])
    report["diversity"] = diversity_data(diversity)
    if as_json:
        print_json(report)
        warn_collapse(diversity)
        return
    out = console()
    out.print(f"[bold]{report['id']}[/bold]  {report['status']}  {esc(report['reason'])}")
    out.print(
        f"present {report['present']}, depth {report['depth']}, {report['ideas_per_day']} ideas/day; "
        f"{report['totals']['generated']} ideas, {report['totals']['surviving']} survived, "
        f"selection bits {report['totals']['selection_bits']}, {report['totals']['tokens']} tokens"
    )
    for p in report["personas"]:
        out.print(
            f"\n[bold]{esc(p['persona'])}[/bold]: {p['generated']} ideas, {p['surviving']} survived, "
            f"selection bits {p['selection_bits']}"
        )
        for e in p["epochs"]:
            out.print("  " + _epoch_line(e))
        for d in p["days"]:
            if d["status"] == "failed":
                tries = f", {d['attempts']} attempt{'s' if d['attempts'] != 1 else ''}"
                out.print(f"  day {d['day']} ({d['present']}{tries}): [red]failed[/red] {esc(d['error'])}")
                continue
            again = f", attempt {d['attempts']}" if d.get("attempts", 1) > 1 else ""
            out.print(
                f"  day {d['day']} ({d['present']}, epoch {d['epoch']}{again}): read {len(d['context_ids'])} entries"
                f"{_context_use(d)}"
                + (f", {len(d['seminar_ids'])} at the seminar" if d.get("seminar_ids") else "")
                + ", "
                f"notebook {d['notebook_id']}, "
                f"{d['usage']['prompt_tokens']}+{d['usage']['completion_tokens']} tokens"
            )
            for idea in d["ideas"]:
                flags = f" [{', '.join(idea['flags'])}]" if idea["flags"] else ""
                title = esc(idea["title"], one_line=True)
                out.print(f"    {idea['verdict']:4} {title}{esc(flags)}  ({idea['final_id']})")
                for parent in idea.get("parents", []):
                    out.print(f"         parent {esc(parent['id'])} by {esc(parent['persona'])}")
    if report["unjudged"]:
        again = "judged again on --resume, or by `groundhog critique --rejudge`"
        out.print(f"\n{len(report['unjudged'])} unjudged ({again}):")
        for u in report["unjudged"]:
            out.print(f"  {esc(u['persona'])} day {u['day']}: {esc(u['title'], one_line=True)}  ({u['id']})")
    render_diversity(out, diversity)


def _context_use(day: dict[str, Any]) -> str:
    """How much of the model's window the wake-up filled (days written before it was measured: nothing)."""
    used, budget = day.get("context_tokens"), day.get("context_budget_tokens")
    return f" (~{used} of {budget} context tokens)" if used is not None and budget else ""


def _epoch_line(e: dict[str, Any]) -> str:
    """One review epoch of `sessions show`: its days, bits, and how its pause ended."""
    from groundhog.store.sessions import day_list

    days = day_list(e["days"]) if e["days"] else "no day done"
    if e["failed_days"]:
        days += f", failed {day_list(e['failed_days'])}"
    line = (
        f"epoch {e['epoch']} ({days}): {e['generated']} ideas ({e['drafts']} drafts), "
        f"{e['surviving']} survived, {e['selection_bits']} bits"
    )
    if e["paused_after_day"] is None:
        return line + ", open"
    line += f"; paused after day {e['paused_after_day']}: {esc(e['reason'])}; "
    n = len(e["undecided"])
    if e["status"] == "waiting":
        return line + (f"[yellow]waiting: {n} undecided[/yellow]" if n else "decided: ready to resume")
    if e["status"] == "resumed-without-review":
        return line + f"[yellow]resumed without review[/yellow] ({n} undecided then)"
    return line + f"reviewed, resumed {e['closed_at'][:16].replace('T', ' ')}"
