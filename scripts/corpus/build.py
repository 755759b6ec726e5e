"""Compose the screens corpus (critique/data/corpus/{train,heldout}.jsonl) from hand-written parts.

    python scripts/corpus/build.py
    python scripts/corpus/build.py --out DIR --seed 7 --with scripts/corpus/unused.d/96-benign.toml

Each split has its own parts file (train.toml, heldout.toml: carriers, payloads, benign cores,
degenerate vocabularies; later rounds of training parts in train.d/*.toml) and its own wrappers and
degenerate generators below, so that the held-out split measures how the screens do on phrasings,
layouts and vocabulary they were never fitted on. The output is deterministic (a fixed seed per split);
the split of every text is fixed by the file it comes from.
"""

from __future__ import annotations

import base64
import json
import random
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parents[1] / "critique" / "data" / "corpus"
HARMFUL = ("injection", "urgency", "resources", "provenance", "escape", "flattery", "weird")
BENIGN = (
    "manipulation_research",
    "security_research",
    "takeover_research",
    "resources_research",
    "general_research",
    "voice_research",  # first and second person, hedges, plans, objections, bare research imperatives
)

Carrier = dict[str, str]
Wrapper = Callable[[str, Carrier, list[Carrier], random.Random], str]


# ------------------------------------------------------------------------------------------ train wrappers


def _long_train(core: str, c: Carrier, others: list[Carrier], rng: random.Random) -> str:
    parts = [c["body"], "The motivation is simple.", others[0]["body"], core, "As a follow-up,", others[1]["body"]]
    parts += ["Further steps could include the following.", others[2]["body"], others[3]["body"], others[4]["body"]]
    text = " ".join(parts)
    return f"{c['title']}\n\n{text}"


SENTENCE_STEPS = (1, 5)  # the layouts (steps through TRAIN_WRAPPERS) of a carrier sentence as a core
TRAIN_WRAPPERS: dict[str, Wrapper] = {
    "bare": lambda p, c, o, r: p,
    "titled": lambda p, c, o, r: f"{c['title']}\n\n{c['body']} {p}",
    "lead": lambda p, c, o, r: f"{p} {c['body']}",
    "markdown": lambda p, c, o, r: f"## {c['title']}\n\n{c['body']}\n\n> **Note:** {p}",
    "json": lambda p, c, o, r: json.dumps({"title": c["title"], "summary": f"{c['body']} {p}"}),
    "chatty": lambda p, c, o, r: f"ok so here's my idea: {c['body'][0].lower()}{c['body'][1:]} anyway, {p} thx!",
    "first_person": lambda p, c, o, r: f"I propose the following. {c['body']} {p}",
    "long": _long_train,
}

# ---------------------------------------------------------------------------------------- held-out wrappers


def _long_heldout(core: str, c: Carrier, others: list[Carrier], rng: random.Random) -> str:
    return (
        f"Summary: {c['title']}.\n\nBackground: {others[0]['body']}\n\nProposal: {c['body']} {core}\n\n"
        f"Related directions: {others[1]['body']} {others[2]['body']}\n\n"
        f"Possible extensions: {others[3]['body']} {others[4]['body']}"
    )


HELDOUT_WRAPPERS: dict[str, Wrapper] = {
    "bare": lambda p, c, o, r: p,
    "bullets": lambda p, c, o, r: f"**{c['title']}**\n\n* {c['body']}\n* {p}",
    "yaml": lambda p, c, o, r: f"idea: {c['title']}\nplan: {c['body']}\nnote: {p}",
    "json": lambda p, c, o, r: json.dumps({"idea": c["title"], "details": f"{p} {c['body']}"}),
    "chatty": lambda p, c, o, r: f"quick one - {c['body'][0].lower()}{c['body'][1:]} also, {p[0].lower()}{p[1:]}",
    "ps": lambda p, c, o, r: f"{c['title']}. {c['body']}\n\nP.S. {p}",
    "formal": lambda p, c, o, r: f"Proposal. {c['body']} Furthermore: {p}",
    "long": _long_heldout,
}

# ------------------------------------------------------------------------------------- degenerate generators


def _words(rng: random.Random, pool: list[str], n: int) -> str:
    return " ".join(rng.choice(pool) for _ in range(n))


def _train_degenerate(d: dict, carriers: list[Carrier], rng: random.Random) -> dict[str, Callable[[], str]]:
    def mash() -> str:
        rows = d["keyboard_rows"]
        return " ".join(
            "".join(rng.sample(row, rng.randint(3, min(6, len(row))))) for row in rng.choices(rows, k=rng.randint(5, 9))
        )

    def loop() -> str:
        phrase = rng.choice(d["loop_phrases"])
        return " ".join([phrase] * rng.randint(3, 6))

    def json_cut() -> str:
        c = rng.choice(carriers)
        full = json.dumps({"title": c["title"], "summary": c["body"]})
        return full[: rng.randint(len(c["title"]) + 25, len(full) - 8)]

    def cut() -> str:
        c = rng.choice(carriers)
        words = f"{c['body']} {rng.choice(carriers)['body']}".split()
        keep = rng.randint(14, len(words) - 3)
        while words[keep - 1].endswith((".", "!", "?")):
            keep -= 1
        return " ".join(words[:keep]) + rng.choice(["", ",", " the", " and", " of"])

    return {
        "keyboard_mash": mash,
        "repetition_loop": loop,
        "token_salad": lambda: _words(rng, d["salad_words"], rng.randint(15, 30)),
        "lorem_ipsum": lambda: _words(rng, d["lorem"], rng.randint(12, 40)).capitalize() + ".",
        "language_soup": lambda: _words(rng, d["soup_words"], rng.randint(10, 25)),
        "truncated_json": json_cut,
        "symbol_soup": lambda: " ".join("".join(rng.choices(d["symbols"], k=rng.randint(2, 4))) for _ in range(12)),
        "char_run": lambda: f"The idea is {rng.choice('aeoxz') * rng.randint(12, 40)} to study the model.",
        "word_repeat": lambda: " ".join([rng.choice(d["salad_words"])] * rng.randint(6, 14)),
        "cut_off": cut,
    }


def _heldout_degenerate(d: dict, carriers: list[Carrier], rng: random.Random) -> dict[str, Callable[[], str]]:
    def mash() -> str:
        return " ".join(rng.choice(d["keyboard_fragments"]) + rng.choice(["", ";", "'", "!"]) for _ in range(8))

    def loop() -> str:
        phrase = rng.choice(d["loop_phrases"]).lower()
        return ", ".join([phrase] * rng.randint(4, 7))

    def good_then_loop() -> str:
        c = rng.choice(carriers)
        return f"{c['body']} " + " ".join([rng.choice(d["loop_phrases"]) + "."] * rng.randint(3, 5))

    def json_cut() -> str:
        c = rng.choice(carriers)
        full = json.dumps({"idea": c["title"], "details": c["body"], "refs": []}, indent=2)
        return full[: rng.randint(len(c["title"]) + 30, len(full) - 12)]

    def html() -> str:
        tags = d["html_tags"]
        return "".join(
            f"<{t}></{t}>" if rng.random() < 0.5 else f"<{t}>" for t in rng.choices(tags, k=rng.randint(10, 20))
        )

    def blob() -> str:
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(40, 90)))
        return f"Idea: {base64.b64encode(raw).decode()}"

    def numbers() -> str:
        return " ".join(str(round(rng.uniform(0, 1000), rng.choice([0, 1, 2]))) for _ in range(rng.randint(12, 25)))

    def caps() -> str:
        letters = "BCDFGHJKLMNPQRSTVWXZ"
        return " ".join("".join(rng.choices(letters, k=rng.randint(3, 7))) for _ in range(rng.randint(8, 14)))

    return {
        "keyboard_mash": mash,
        "repetition_loop": loop,
        "loop_after_start": good_then_loop,
        "token_salad": lambda: _words(rng, d["salad_words"], rng.randint(16, 28)),
        "lorem_ipsum": lambda: _words(rng, d["filler"], rng.randint(15, 35)),
        "language_soup": lambda: _words(rng, d["soup_words"], rng.randint(12, 24)).capitalize() + ".",
        "truncated_json": json_cut,
        "html_soup": html,
        "base64_blob": blob,
        "number_soup": numbers,
        "consonant_caps": caps,
        "emoji_spam": lambda: " ".join(rng.choice("🚀🔥💯✨🤖👀") * rng.randint(2, 5) for _ in range(10)),
    }


# --------------------------------------------------------------------------------------------------- compose


def compose(split: str, parts: dict, wrappers: dict[str, Wrapper], degenerate: Callable, seed: int) -> list[dict]:
    rng = random.Random(seed)
    carriers: list[Carrier] = parts["carriers"]
    names = list(wrappers)
    rows: list[dict] = []

    number = {id(c): i for i, c in enumerate(carriers)}
    used: list[int] = []  # the carriers the last text was rendered in

    def add(family: str, group: str, style: str, text: str) -> None:
        rows.append({"id": f"{split}-{len(rows):04d}", "family": family, "split": split, "group": group,
                     "style": style, "text": text})  # fmt: skip
        if split == "train":  # the folds of cross-validation keep a carrier's texts apart too
            rows[-1]["carriers"] = list(used)
        used.clear()

    def render(core: str, style: str) -> str:
        c, *others = rng.sample(carriers, 6)
        text = wrappers[style](core, c, others, rng)
        used.extend(number[id(x)] for x in (c, *others) if x["body"][1:] in text)
        return text

    for family in HARMFUL:
        for i, payload in enumerate(parts[family]["payloads"]):
            first = names[i % len(names)]
            second = names[(i * 3 + 1) % len(names)]
            second = second if second != first else names[(i + 1) % len(names)]
            for style in (first, second):
                add(family, f"{family}:{i}", style, render(payload, style))
    # Each benign core in four layouts (even steps through the wrappers); the training split adds a fifth
    # (an odd step), so that it holds at least as many benign texts as harmful ones.
    steps = (0, 2, 4, 6, 1) if split == "train" else (0, 2, 4, 6)
    for family in BENIGN:
        for i, core in enumerate(parts["benign"][family]):
            for step in steps:
                style = names[(i + step) % len(names)]
                add(f"benign_{family.removesuffix('_research')}", f"{family}:{i}", style, render(core, style))
    # Training only: each carrier's sentences are benign cores of other research texts too, in two layouts
    # (odd steps), with the carrier they come from among the text's carriers and its group. A screen that
    # saw layouts only around payloads and look-alike cores would learn the layouts; these teach it that a
    # research sentence in a note, a JSON object or a chatty aside is still research, and they keep the
    # benign texts at least as many as the harmful ones (round 3's payloads are built).
    if split == "train":
        for i, c in enumerate(carriers):
            for k, sentence in enumerate(carrier_sentences(c)):
                for step in SENTENCE_STEPS:
                    style = names[(i + k + step) % len(names)]
                    text = render(sentence, style)
                    used.append(i)
                    add("benign_general", f"carrier:{i}", style, text)
    for i, c in enumerate(carriers):  # plain research ideas, as a session would babble them
        used.append(i)
        add("benign_general", f"carrier:{i}", "carrier", f"{c['title']}\n\n{c['body']}")
    if split == "train":  # the project's own alignment prose: more benign text to learn from
        for group, style, text in shipped_prose():
            add("benign_general", group, style, text)
    generators = degenerate(parts["degenerate"], carriers, rng)
    per_kind = -(-(len(parts["injection"]["payloads"]) * 2) // len(generators))
    for kind, make in generators.items():
        for _ in range(per_kind):
            add("degenerate", f"degenerate:{kind}", kind, make())
    return rows


def carrier_sentences(c: Carrier) -> list[str]:
    """A carrier's sentences (its body split after each full stop, question or exclamation mark)."""
    return [s for s in re.split(r"(?<=[.!?])\s+", c["body"].strip()) if s]


def library_carriers() -> list[Carrier]:
    """The starter library's papers as carriers (title and summary), for the training split only. The
    hand-written carriers are 32, and a screen that saw each payload in only those learns the research
    texts along with the payload: on the training split's cross-validation with carriers kept apart from
    the texts a fold is scored on, these 58 more gained 3 to 7 points of recall a family at 2% false flags
    on word features alone, 7 to 17 with character n-grams. (The personas' paragraphs as carriers as well
    did not gain more; they stay benign texts of their own.)"""
    with (HERE.parents[1] / "library" / "data" / "starter.jsonl").open(encoding="utf-8") as fh:
        return [{"title": paper["title"], "body": paper["summary"]} for paper in map(json.loads, fh)]


def shipped_prose() -> list[tuple[str, str, str]]:
    """Benign alignment prose the project already ships, for the training split only: the prior-art
    calibration ideas and the personas' grounding writings (the starter library's papers are carriers,
    `library_carriers`, so each is a benign text of its own already)."""
    root = HERE.parents[1]
    with (root / "library" / "data" / "calibration.toml").open("rb") as fh:
        calibration = tomllib.load(fh)
    out = [
        (f"calibration:{key}:{i}", "calibration", e["text"])
        for key in ("paraphrase", "unrelated")
        for i, e in enumerate(calibration[key])
    ]
    for path in sorted((root / "researchers" / "builtin" / "corpus").rglob("*.md")):
        paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n")]
        for i, para in enumerate(p for p in paragraphs if p and not p.startswith("#") and len(p) > 60):
            out.append((f"persona:{path.parent.name}/{path.stem}:{i}", "persona", para))
    return out


def load_parts(split: str, more_files: tuple[Path, ...] = ()) -> dict:
    """A split's parts file, then (training only) every file of train.d/ in name order and `more_files`,
    appended: each writing round of parts has a file of its own. A family or a key no parts file knows is
    an error."""
    with (HERE / f"{split}.toml").open("rb") as fh:
        parts = tomllib.load(fh)
    if split != "train":
        return parts
    for extra in [*sorted((HERE / "train.d").glob("*.toml")), *more_files]:
        with extra.open("rb") as fh:
            more = tomllib.load(fh)
        for key, value in more.items():
            if key == "carriers":
                parts["carriers"] += value
            elif key in HARMFUL and set(value) <= {"payloads"}:
                parts[key]["payloads"] += value.get("payloads", [])
            elif key == "benign" and set(value) <= set(BENIGN):
                for family, cores in value.items():
                    parts["benign"][family] += cores
            else:
                raise SystemExit(f"{extra.name}: [{key}] is not a family of the corpus (or has an unknown key)")
    parts["carriers"] += library_carriers()
    return parts


TRAIN_SEED = 1729


def main(out: Path = OUT, train_seed: int = TRAIN_SEED, more_files: tuple[Path, ...] = (), quiet: bool = False) -> None:
    """Both splits into `out`. Another `train_seed` or `more_files` (rounds not in train.d/) change the
    training split only, for judging a round: one seed's rendering moves the cross-validated recall by a
    point or two, so a round is judged over several (scripts/corpus/README.md)."""
    out.mkdir(parents=True, exist_ok=True)
    plans = [
        ("train", TRAIN_WRAPPERS, _train_degenerate, train_seed),
        ("heldout", HELDOUT_WRAPPERS, _heldout_degenerate, 4242),
    ]
    for split, wrappers, degenerate, seed in plans:
        parts = load_parts(split, more_files if split == "train" else ())
        rows = compose(split, parts, wrappers, degenerate, seed)
        with (out / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["family"]] = counts.get(row["family"], 0) + 1
        if not quiet:
            print(split, len(rows), dict(sorted(counts.items())))


if __name__ == "__main__":
    import argparse

    cli = argparse.ArgumentParser(description="Compose the screens corpus from its hand-written parts.")
    cli.add_argument("--out", type=Path, default=OUT, help=f"folder for train.jsonl and heldout.jsonl (default {OUT})")
    cli.add_argument("--seed", type=int, default=TRAIN_SEED, help="the training split's render seed")
    more = "more training parts files after train.d/ (a round kept in unused.d/, to judge it)"
    cli.add_argument("--with", dest="more", type=Path, nargs="*", default=[], metavar="FILE", help=more)
    args = cli.parse_args()
    for path in args.more:
        if not path.is_file():
            cli.error(f"--with: no parts file {path}")
    if args.out.resolve() == OUT.resolve() and (args.seed != TRAIN_SEED or args.more):
        cli.error("--seed and --with build a variant to judge: give it an --out of its own")
    main(args.out, args.seed, tuple(args.more))
