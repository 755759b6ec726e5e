"""`groundhog personas list|show|check|draft|add|spawn`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groundhog.commands.common import HomeOpt, JsonOpt, console, echo, esc, print_json, services, sub_app

if TYPE_CHECKING:
    from groundhog.compose.services import Services
    from groundhog.researchers.personas import Installed, Persona

app = sub_app("The simulated researchers: list, show, validate, score, draft and install personas.")
LISTED = 20  # personas named one by one when many are installed at once; the rest are counted


@app.command("list")
def list_(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """List built-in and installed personas."""
    svc = services(home)
    registry = svc.personas
    builtin = registry.builtin_ids()
    people = registry.all()
    if as_json:
        print_json(
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "builtin": p.id in builtin,
                    "focus": p.focus,
                    "parent": p.parent,
                    "group": p.group,
                }
                for p in people
            ]
        )
        return
    from rich.table import Table

    shown, folded = _fold_large_groups(people)
    table = Table(title="personas")
    for col in ("id", "name", "source", "lineage", "focus"):
        table.add_column(col)
    for p in shown:
        lineage = " / ".join(f"{k} {v}" for k, v in (("from", p.parent), ("group", p.group)) if v)
        source = "built-in" if p.id in builtin else "installed"
        table.add_row(esc(p.id), esc(p.name), source, esc(lineage), esc(p.focus, one_line=True))
    for name, members in folded.items():
        table.add_row(f"[dim]{len(members)} more[/dim]", "", "installed", esc(f"group {name}"), "")
    console().print(table)


_SHOW_PER_GROUP = 5


def _fold_large_groups(people: list[Persona]) -> tuple[list[Persona], dict[str, list[Persona]]]:
    """The table shows the first few of a large group and a count for the rest (`--json` has them all)."""
    shown: list[Persona] = []
    folded: dict[str, list[Persona]] = {}
    seen: dict[str, int] = {}
    for p in people:
        if p.group is not None:
            seen[p.group] = seen.get(p.group, 0) + 1
            if seen[p.group] > _SHOW_PER_GROUP:
                folded.setdefault(p.group, []).append(p)
                continue
        shown.append(p)
    return shown, folded


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Persona id or display name.")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one persona in full."""
    persona = services(home).personas.get(name)
    if as_json:
        data = persona.model_dump(mode="json")
        data["corpus_dir"] = str(persona.corpus_dir()) if persona.corpus_dir() else None
        print_json(data)
        return
    out = console()
    out.print(f"[bold]{esc(persona.name)}[/bold] ({esc(persona.id)})")
    out.print(esc(persona.description))
    out.print(f"\n[bold]Agenda:[/bold] {esc(persona.focus)}")
    for title, items in (
        ("Beliefs", persona.beliefs),
        ("Methods", persona.methods),
        ("Sceptical of", persona.skeptical_of),
    ):
        out.print(f"\n[bold]{title}:[/bold]")
        for item in items:
            out.print(f"  - {esc(item)}")
    out.print(f"\n[bold]Writing style:[/bold] {esc(persona.writing_style)}")
    if persona.stances:
        stances = ", ".join(f"{k} {v:+.2f}" for k, v in persona.stances.items())
        out.print(f"\n[bold]Stances[/bold] (-1..1): {esc(stances)}")
    if persona.corpus_dir():
        out.print(f"\n[bold]Grounding corpus:[/bold] {esc(persona.corpus_dir())}")


@app.command()
def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[FILE]...",
            help="Persona files (.toml, .yaml or .yml) to validate. Without any: how well each persona's ideas "
            "in the log match its own writings.",
            show_default=False,
        ),
    ] = None,
    session: Annotated[
        str | None, typer.Option(metavar="SESSION", help="Score only the ideas of this session.")
    ] = None,
    persona: Annotated[
        list[str] | None, typer.Option("--persona", "-p", metavar="NAME", help="Score only this persona (repeatable).")
    ] = None,
    home: HomeOpt = None,  # a file check needs no home
    as_json: JsonOpt = False,
) -> None:
    """Validate persona files (every problem, with its field; exit 2 if there is any), or, without FILE,
    score each persona's ideas against the writings: similarity to its own corpus against the nearest
    other corpus, and how often its own corpus is the nearest."""
    if files:
        if session is not None or persona:
            from groundhog.core.errors import BadInput

            raise BadInput(
                f"{'--session' if session is not None else '--persona'}: only without FILE (it scores ideas)"
            )
        _check_files(files, as_json)
        return
    from groundhog.tune.character import corpus_match

    svc = services(home)
    only = [svc.personas.get(p).id for p in persona] if persona else None
    rows = corpus_match(svc.log, svc.personas.all(), session=session, only=only)
    if as_json:
        print_json([r.model_dump() for r in rows])
        return
    if not rows:
        console().print("No ideas in the log to score yet: run `groundhog babble` first.")
        return
    _render_scores(rows)


def _check_files(files: list[Path], as_json: bool) -> None:
    from groundhog.researchers.personas import check_persona_file

    found = [(file, check_persona_file(file)) for file in files]
    if as_json:
        print_json([{"file": str(f), "ok": not problems, "problems": problems} for f, problems in found])
    for file, problems in found:
        for p in problems:
            echo(p, err=True)  # problems quote the file
        if not problems and not as_json:
            echo(f"{file}: ok")
    if any(problems for _, problems in found):
        raise typer.Exit(2)


def _render_scores(rows: list[Any]) -> None:
    from rich.table import Table

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:+.3f}"

    table = Table(
        title="in character: ideas against the writings",
        caption="own / other: mean similarity of the ideas to their persona's corpus and to the nearest other "
        "corpus; score: own - other; nearest own: how often the own corpus is the nearest (chance: 1 / corpora)",
    )
    for col in ("persona", "ideas", "chunks", "own", "other", "score", "nearest own", "leans to"):
        table.add_column(col, justify="left" if col in ("persona", "leans to") else "right")
    for r in rows:
        near = f"{r.nearest_own:.0%} (chance {r.chance:.0%})" if r.nearest_own is not None else "-"
        lean = esc(r.nearest_other) if r.nearest_other else esc(r.note)
        table.add_row(
            esc(r.persona), str(r.ideas), str(r.corpus_chunks), num(r.own), num(r.other), num(r.score), near, lean
        )
    console().print(table)
    scored = [r for r in rows if r.score is not None]
    if scored:
        ahead = sum(r.score > 0 for r in scored)
        echo(f"{ahead} of {len(scored)} personas sound more like their own writings than like any other's")


@app.command()
def draft(
    persona_id: Annotated[str, typer.Argument(metavar="ID", help="The new persona's id (a slug: mesa-hunter).")],
    writings: Annotated[
        Path,
        typer.Option(metavar="DIR", help="The researcher's writings: .md, .markdown, .txt and .pdf files below DIR."),
    ],
    name: Annotated[str | None, typer.Option(metavar="NAME", help="Display name. Default: the id in words.")] = None,
    out: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Where the drafted file goes. Default: ./<ID>.toml.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
    add_it: Annotated[
        bool, typer.Option("--add", help="Install the draft, with the writings as its corpus (ingested).")
    ] = False,
    provider: Annotated[
        str | None, typer.Option(metavar="NAME", help="local (embedded, offline) or openai (any endpoint).")
    ] = None,
    model: Annotated[str | None, typer.Option(metavar="MODEL", help="Model name (openai) or GGUF path.")] = None,
    base_url: Annotated[str | None, typer.Option(metavar="URL", help="OpenAI-compatible endpoint.")] = None,
    home: HomeOpt = None,
) -> None:
    """Draft a persona from a researcher's writings: the babble model reads their most characteristic
    passages and writes voice, agenda, focus, beliefs, methods, what they would never propose, and stances,
    each stance with a quote checked against the writings (kept, repaired to the writings' words, or
    dropped with its stance). The file is validated and written for you to edit; --add installs it."""
    from groundhog.core.errors import BadInput
    from groundhog.core.files import write_atomic
    from groundhog.researchers.draft import draft_persona, draft_toml
    from groundhog.researchers.personas import check_persona_file, check_slug
    from groundhog.researchers.writings import read_writings

    check_slug(persona_id, "ID")
    target = out if out is not None else Path.cwd() / f"{persona_id}.toml"
    if target.suffix.lower() != ".toml":
        raise BadInput(f"--out: {target}: a drafted persona is written as TOML (give a .toml file)")
    if target.exists() and not force:
        raise BadInput(f"--out: {target} exists (give --force to overwrite it)")
    if not target.parent.is_dir():
        raise BadInput(f"--out: folder not found: {target.parent}")
    svc = services(home, babble={"provider": provider, "model": model, "base_url": base_url})
    read = read_writings(writings)
    for skipped in read.skipped:
        echo(f"skipped {skipped}", err=True)  # each names its file
    display = name.strip() if name and name.strip() else " ".join(w.capitalize() for w in persona_id.split("-"))

    def say(line: str) -> None:
        echo(line, err=True)

    drafted = draft_persona(
        persona_id=persona_id, name=display, writings=read, model=svc.babble_model, embedder=svc.embedder, say=say
    )
    for e in drafted.evidence:
        how = (
            "found word for word" if e.status == "verbatim" else f"repaired to the writings' words ({e.similarity:.2f})"
        )
        say(f"stance {e.axis} {e.stance:+.2f}: quote {how} in {e.source}")
    for axis, _ in drafted.dropped:
        say(f"stance {axis}: left out, its quote is not in the writings")
    say(f"the draft took {drafted.usage.prompt_tokens}+{drafted.usage.completion_tokens} tokens")
    write_atomic(target, draft_toml(drafted, model_name=svc.babble_model.name))
    problems = check_persona_file(target)
    for p in problems:
        echo(p, err=True)
    if problems:
        raise typer.Exit(1)
    then = "" if add_it else f": edit it, then `groundhog personas add {target}`"
    echo(f"drafted persona {persona_id} ({display}) at {target}{then}")
    if add_it:
        svc.ensure_home()
        _report_installed(svc, [svc.personas.add(target)])


@app.command()
def add(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH...", help="Persona files (.toml, .yaml, .yml) or folders of .toml.")
    ],
    corpus: Annotated[
        Path | None,
        typer.Option(help="A folder of .md, .markdown, .txt or .pdf writings to ground the personas (ingested)."),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Install personas into the home and ingest their grounding writings; a bad file is named and skipped."""
    svc = services(home)
    svc.ensure_home()
    installed, problems = svc.personas.add_many(paths, corpus=corpus)
    for problem in problems:
        echo(problem, err=True)  # each quotes its file
    _report_installed(svc, installed)
    if len(installed) != 1 or problems:
        refused = f"; {len(problems)} {'file' if len(problems) == 1 else 'files'} refused" if problems else ""
        echo(f"added {len(installed)} {'persona' if len(installed) == 1 else 'personas'}{refused}")
    if problems:
        raise typer.Exit(2)


@app.command()
def spawn(
    from_: Annotated[str, typer.Option("--from", metavar="ID", help="The persona to vary.")],
    count: Annotated[int, typer.Option(metavar="N", min=1, max=1000, help="How many variants.")],
    vary: Annotated[
        str,
        typer.Option(
            metavar="stances|agenda|both", help="What to vary: stance lists and numbers, the agenda, or both."
        ),
    ] = "both",
    seed: Annotated[
        int | None, typer.Option(metavar="S", help="Same seed, same variants. Default: a random one.")
    ] = None,
    group: Annotated[
        str | None, typer.Option(metavar="NAME", help="The group the variants join. Default: <ID>-spawn.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Make N distinct variants of a persona, each with its own id and its parent recorded, and install them."""
    import random

    from groundhog.core.errors import BadInput
    from groundhog.researchers.personas import check_slug
    from groundhog.researchers.spawn import VARY_CHOICES
    from groundhog.researchers.spawn import spawn as make_variants

    if vary not in VARY_CHOICES:
        raise BadInput(f"--vary: must be one of {', '.join(VARY_CHOICES)} (got {esc(vary)!r})")
    if group is not None:
        check_slug(group, "--group")
    svc = services(home)
    svc.ensure_home()
    registry = svc.personas
    parent = registry.get(from_)
    chosen_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    taken = {p.id for p in registry.all()} | registry.builtin_ids()
    variants = make_variants(parent, count, vary=vary, seed=chosen_seed, group=group, taken=taken)  # type: ignore[arg-type]
    installed = registry.install(variants)
    _report_installed(svc, installed)
    echo(f"spawned {len(installed)} variants of {parent.id} into group {variants[0].group} (seed {chosen_seed})")


def _report_installed(svc: Services, installed: list[Installed]) -> None:
    """A line for each persona installed, up to LISTED; past that, the count of the rest and their chunks."""
    from groundhog.loop.start import ingest_corpus

    quiet_chunks = 0
    for n, item in enumerate(installed):
        persona = item.persona
        listed = n < LISTED or len(installed) <= LISTED + 1
        note = " (replacing the built-in of that id)" if item.overrides_builtin else ""
        note += " (replacing an earlier install)" if item.replaced else ""
        if listed:
            echo(f"installed persona {persona.id} ({persona.name}) at {item.path}{note}")
        chunks = ingest_corpus(svc.log, persona) if persona.corpus_dir() else 0
        if listed and persona.corpus_dir():
            echo(f"ingested {chunks} corpus chunks from {persona.corpus_dir()} into the log")
        quiet_chunks += 0 if listed else chunks
    if len(installed) > LISTED + 1:
        rest = len(installed) - LISTED
        echo(f"... and {rest} more personas installed in {installed[-1].path.parent}")
        if quiet_chunks:
            echo(f"ingested {quiet_chunks} corpus chunks of theirs into the log")
