"""A responder for the fake OpenAI-compatible server that answers like a strong endpoint model does.

Strong models ignore the `maxLength` of a schema they are only shown, think out loud before the answer,
wrap JSON in fences or prose, and some servers send the reasoning in a field of its own. Each `style`
is one of those habits:

- ``plain``: the JSON object alone, with long fields;
- ``think``: a ``<think>...</think>`` block holding a decoy JSON object, then the answer;
- ``fenced``: prose, a fenced ```json block, more prose;
- ``prose``: the object inline between sentences, with a brace in the prose after it;
- ``reasoning_field``: the reasoning in ``reasoning_content`` (with a decoy object), the JSON as content.

Ideas are varied (titles in several framings; sentences drawn from sixty shapes and from a vocabulary
drawn per idea, so that under MiniLM few ideas are within the duplicate screen's 0.8 of another) and so are
the critic's scores. A critic shown papers of the library says the idea is already done in the
nearest one, naming its label (a strong model that agrees with close retrieval). `unreadable` makes
the critic's reply for ideas whose title contains one of its words unreadable, repair included, until
it is cleared.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from typing import Any

from testkit.fake_openai import Reply
from testkit.requests import UnknownSchema, body_request, body_schema

STYLES = ("plain", "think", "fenced", "prose", "reasoning_field")

TOPICS = [
    ("sparse autoencoder features", "refusal circuits", "a chat model"),
    ("reward model ensembles", "sycophancy", "preference data"),
    ("debate transcripts", "persuasion without truth", "weak judges"),
    ("activation steering", "honesty directions", "open-weight models"),
    ("trusted monitoring", "backdoored code", "an untrusted model"),
    ("natural abstractions", "latent variables", "toy environments"),
    ("process supervision", "reasoning shortcuts", "maths proofs"),
    ("model organisms", "deceptive alignment", "fine-tuned models"),
    ("linear probes", "situational awareness", "evaluation prompts"),
    ("red-team datasets", "jailbreak transfer", "frontier models"),
    ("causal scrubbing", "induction heads", "small transformers"),
    ("constitutional feedback", "value drift", "long training runs"),
]


REASONING = [
    "My earlier notes say the obvious version of this was tried and the labels were too noisy.",
    "The reviewer asked for cheaper experiments, so I should keep each idea to one GPU and two weeks.",
    "What is still open is whether the signal generalises across model sizes; that is worth testing.",
    "I should avoid repeating the probing idea and instead look for interventions that change behaviour.",
    "There is a risk of measuring the annotators rather than the model, so a label-swap control matters.",
    "I keep coming back to the same failure: nobody checks the null result, so the baseline must come first.",
]


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


NOUNS = [
    "probes",
    "features",
    "circuits",
    "heads",
    "neurons",
    "activations",
    "gradients",
    "logits",
    "tokens",
    "prompts",
    "transcripts",
    "judges",
    "monitors",
    "auditors",
    "sandboxes",
    "honeypots",
    "backdoors",
    "triggers",
    "rewards",
    "preferences",
    "labels",
    "annotators",
    "datasets",
    "benchmarks",
    "baselines",
    "ablations",
    "interventions",
    "directions",
    "subspaces",
    "embeddings",
    "layers",
    "checkpoints",
    "curricula",
    "environments",
    "agents",
    "policies",
    "critics",
    "debaters",
    "overseers",
    "protocols",
    "budgets",
    "thresholds",
    "failures",
    "anomalies",
    "shortcuts",
    "proxies",
    "incentives",
    "abstractions",
    "invariants",
    "latents",
    "predictors",
    "verifiers",
]
ADJECTIVES = [
    "sparse",
    "linear",
    "causal",
    "noisy",
    "held-out",
    "adversarial",
    "synthetic",
    "small",
    "frontier",
    "open-weight",
    "fine-tuned",
    "calibrated",
    "brittle",
    "robust",
    "hidden",
    "cheap",
    "expensive",
    "untrusted",
    "trusted",
    "recurrent",
    "shallow",
    "deep",
    "rare",
    "frequent",
    "confounded",
    "matched",
    "paired",
    "blind",
]
VERBS = [
    "measure",
    "compare",
    "ablate",
    "perturb",
    "steer",
    "patch",
    "rank",
    "sample",
    "filter",
    "audit",
    "label",
    "cluster",
    "predict",
    "recover",
    "reconstruct",
    "bound",
    "estimate",
    "replicate",
    "stress-test",
    "decompose",
]
SHAPES = [
    "We {v} the {a} {n} against {a} {n} and count where the {n} disagree.",
    "Then we {v} {n} from {a} {n} to see whether the {n} survive.",
    "A control with {a} {n} shows how much comes from the {n} alone.",
    "If {a} {n} track {n}, we {v} them and watch the {n} move.",
    "The first version reuses {a} {n} and {a} {n} on one GPU.",
    "A null result would bound what {a} {n} reveal about {n}.",
    "Every {n} is run twice with {a} {n}, so no lucky seed carries it.",
    "The riskiest step assumes {a} {n} behave like larger {n}.",
    "Readers get raw {n}, {a} {n} and every failed variant.",
    "A stopping rule fixed in advance keeps {n} from being tuned to {n}.",
    "Our second study swaps {a} {n} for {n} drawn from another lab.",
    "Where {n} and {n} conflict, two annotators settle it blind.",
    "Success looks like {a} {n} predicting {n} a week ahead of any audit.",
    "Failure modes we expect: {a} {n}, leaking {n}, and tired graders.",
    "Budget: forty GPU hours, mostly spent to {v} {n} at three sizes.",
    "Prior work on {n} suggests {a} {n} matter more than people think.",
    "To stay honest, the team writes down predictions about {n} first.",
    "Only after that do we {v} the {a} {n} on the held-back split.",
    "Its output is a short report, a dataset of {n}, and open code.",
    "Nothing here needs new hardware; {a} {n} already run on laptops.",
    "Most of the effort goes into building {a} {n} that nobody has released yet.",
    "We expect {n} to break first, long before the {n} do.",
    "A reviewer could rerun the whole thing from a single notebook in an afternoon.",
    "The key measurement is how often {a} {n} flip when we {v} the {n}.",
    "Three labs already publish {n}, which makes a shared baseline cheap.",
    "Earlier attempts stalled because the {n} were too {a} to trust.",
    "Our hypothesis is narrow: {a} {n} carry most of the signal.",
    "Compute stays modest because we only {v} the last few {n}.",
    "Annotators never see which condition produced a given example.",
    "The result would change how teams choose {n} for oversight.",
    "Week one builds the harness; week two is spent on {a} {n}.",
    "Should the effect vanish at scale, that is itself worth a short note.",
    "We will {v} {n} with a frozen random seed list published up front.",
    "Sceptics argue {n} are an artefact of {a} {n}; this design tests that directly.",
    "A single plot should tell the story: {n} on one axis, {n} on the other.",
    "Collaborators at a university lab offered their {a} {n} for the replication.",
    "Each run logs {n}, wall time and cost so others can budget their own.",
    "The hardest part is agreeing in advance what counts as {a} evidence.",
    "If {n} leak between splits, the whole comparison is void, so we hash them.",
    "This is deliberately boring engineering that the field keeps skipping.",
    "Our main worry is that {a} {n} overfit to the {n} we picked.",
    "An ablation removes the {n} entirely, leaving only {a} {n}.",
    "Results go to a public tracker the same day they come in.",
    "Ten hand-checked cases anchor the automatic metric before any scaling.",
    "We borrow the protocol from clinical trials: registration, blinding, one primary outcome.",
    "Past projects on {n} mostly reported wins; we report every loss too.",
    "A second seed of {a} {n} guards against a lucky draw.",
    "Interpretability people and evaluators rarely share {n}; this forces them to.",
    "Cost per experiment stays below a hundred dollars of rented hardware.",
    "Where the {n} disagree with humans, we read the transcripts by hand.",
    "Negative findings would still narrow where {a} {n} are worth studying.",
    "The sketch fits in a page, and the code should fit in a few hundred lines.",
    "A pilot on {a} {n} already hinted at the effect, though it was tiny.",
    "Nothing is tuned on the test split, and the split is fixed before we start.",
    "Follow-up work could {v} the same {n} inside a deployed assistant.",
    "Hidden assumptions get listed on the first page, each with a way to check it.",
    "Key risk: {n} may just be measuring prompt length.",
    "If it scales, safety teams gain a dashboard; if not, a warning.",
    "Students could own pieces of this; little tacit knowledge is needed.",
    "We close by comparing against the simplest baseline we can imagine.",
]
RATIONALE_SHAPES = [
    "This matters because {a} {n} are how oversight fails quietly.",
    "Alignment work today lacks cheap checks of {n} against {n}.",
    "If it works, labs could {v} {n} before deployment instead of after.",
    "It also tests a claim many of us repeat about {a} {n} without evidence.",
    "Even a clear negative would redirect effort away from {n}.",
    "Better tools for {n} make every later study of {n} cheaper.",
    "Nobody has checked this at the scale where it starts to matter.",
    "A lab deciding what to monitor next month could use the answer directly.",
    "The cost is small next to a single incident that {a} {n} could have caught.",
    "It turns a vague worry about {n} into a number people can argue with.",
    "Several proposals quietly assume the opposite of what this might show.",
    "Whichever way it comes out, the dataset of {n} stays useful.",
    "Reviewers keep asking for exactly this kind of evidence about {n}.",
    "Without it, claims about {a} {n} rest on a handful of anecdotes.",
    "The method transfers: any team with {n} can run it next week.",
    "Getting this wrong would mean trusting {a} {n} that fail under pressure.",
]
# A title per idea: its topic in one of several framings, with words of its seed (ideas on one topic differ)
TITLES = [
    "Can {a} {n} expose {t1} in {t2}?",
    "{V} {t0} to find {t1}",
    "A cheap test of {t0} on {t2}",
    "When {t0} miss {t1}: a study with {a} {n}",
    "Measuring {t1} through {a} {n}",
    "{t0} as an early warning for {t1}",
    "Do {a} {n} predict {t1} in {t2}?",
    "Auditing {t2} for {t1} with {t0}",
]


def idea_title(seed: int, study: int) -> str:
    """A title on the seed's topic in one of several framings, with words of its own; `(study N)` keeps
    each unique (tests and the benchmark tell ideas apart by it)."""
    rng = random.Random(seed)
    t0, t1, t2 = TOPICS[seed % len(TOPICS)]
    framing = rng.choice(TITLES).format(
        a=rng.choice(ADJECTIVES), n=rng.choice(NOUNS), V=rng.choice(VERBS).capitalize(), t0=t0, t1=t1, t2=t2
    )
    return f"{framing[0].upper()}{framing[1:]} (study {study})"


def long_text(seed: int, chars: int, shapes: list[str] = SHAPES) -> str:
    """Varied prose of about `chars` characters (at most one sentence per shape), its content words
    drawn for this seed from a small vocabulary of its own: texts of different seeds share few words
    (no duplicate), and no phrase repeats (no loop)."""
    rng = random.Random(seed)
    nouns, adjectives, verbs = rng.sample(NOUNS, 9), rng.sample(ADJECTIVES, 5), rng.sample(VERBS, 3)
    pools = {"n": nouns, "a": adjectives, "v": verbs}
    out: list[str] = []
    for shape in rng.sample(shapes, len(shapes)):
        if sum(len(s) + 1 for s in out) >= chars:
            break
        out.append(re.sub(r"\{(\w)\}", lambda m: rng.choice(pools[m.group(1)]), shape))
    return " ".join(out)


class StrongModel:
    """Callable responder: request body in, a `Reply` out."""

    def __init__(
        self,
        style: str = "plain",
        *,
        summary_chars: int | tuple[int, int] = 1200,
        thinking_chars: int = 2000,
        angles: bool = False,
        seminar: bool = False,
    ) -> None:
        """`summary_chars` is a length, or a (shortest, longest) range each idea draws its length from;
        `angles` gives each persona topics and words of its own, so that personas cycled from the same
        built-in one (a benchmark's 32) do not file the same ideas. `seminar`: on a seminar day (the
        notebook lists S1, S2, ...) the first idea combines the first two of them, citing their labels."""
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}")
        self.style = style
        self.summary_chars = summary_chars
        self.angles = angles
        self.seminar = seminar
        self.thinking_chars = thinking_chars
        self.unreadable: set[str] = set()
        self.calls: dict[str, int] = {}
        self._ideas = 0
        self._lock = threading.Lock()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.calls[kind] = self.calls.get(kind, 0) + 1

    def __call__(self, body: dict[str, Any]) -> Reply:
        """The reply is the one the requested schema calls for; a schema it does not know raises."""
        request = body_request(body)
        if request.schema == "BabbleOutput":
            self._count("babble")
            ideas = (body_schema(body) or {}).get("properties", {}).get("ideas", {})
            k = int(ideas.get("minItems", 3))  # as many as the schema asks
            cited = re.findall(r"^\[(S\d+)\] ", request.prompt, re.M)[:2] if self.seminar else []
            return self._wrap(self._babble(k, request.persona if self.angles else None, cited))
        if request.critic:
            self._count("critique")
            if request.title and any(word in request.title for word in self.unreadable):
                return Reply(content="I would rather discuss this idea in person than score it.")
            verdict = self._critique(request.title or request.prompt)
            if request.papers:  # shown the library's nearest papers: it names the nearest as the one done
                verdict |= {"already_done": True, "prior_art_paper": request.papers[0][0]}
            if "manipulative" in (body_schema(body) or {}).get("properties", {}):  # asked: not manipulative
                verdict |= {"manipulative": False}
            return self._wrap(verdict)
        if request.schema == "IdeaDraft":
            self._count("revise")
            return self._wrap(self._revision(request.title or "an idea"))
        if request.schema == "NotebookOutput":
            self._count("notebook")
            return self._wrap(self._notebook(request.prompt))
        if request.schema == "Probe":
            self._count("other")
            return Reply(content=json.dumps({"word": "hello"}))
        raise UnknownSchema("StrongModel", request.schema)

    # -- replies ------------------------------------------------------------------------------

    def _summary_length(self, seed: int) -> int:
        if isinstance(self.summary_chars, int):
            return self.summary_chars
        shortest, longest = self.summary_chars
        return random.Random(seed).randint(shortest, longest)

    def _babble(self, k: int, persona: str | None = None, cited: list[str] | None = None) -> dict[str, Any]:
        angle = _digest(persona) if persona else 0
        ideas = []
        for i in range(k):
            with self._lock:
                n = self._ideas
                self._ideas += 1
            seed = n + angle
            title = idea_title(seed, n + 1)
            topic = TOPICS[seed % len(TOPICS)]
            if cited and i == 0:
                title = f"Combining {' and '.join(cited)}: {topic[0]} against {topic[1]} (study {n + 1})"
            ideas.append(
                {
                    "title": title,
                    "summary": long_text(seed, self._summary_length(seed)),
                    "rationale": long_text(n + 1000, 300, RATIONALE_SHAPES),
                    "builds_on": list(cited or []) if i == 0 else [],
                }
            )
        thinking = " ".join(REASONING[i % len(REASONING)] for i in range(40))[: self.thinking_chars]
        return {"thinking": thinking, "ideas": ideas}

    def _critique(self, title: str) -> dict[str, Any]:
        h = _digest(title)
        scores = {
            axis: 6 + (h >> (4 * i)) % 4 for i, axis in enumerate(("novelty", "feasibility", "relevance", "clarity"))
        }
        if h % 4 == 0 and "(revised)" not in title:
            scores["relevance"] = 4  # about one idea in four fails the endpoint thresholds and is revised
        reasoning = " ".join(
            f"Step {i + 1}: " + REASONING[(h + i) % len(REASONING)] for i in range(12)
        )  # a long chain of thought, well past any limit sized for a small model
        return {**scores, "reasoning": reasoning, "weakest_point": "The labels may measure the annotators. " * 8}

    def _revision(self, base: str) -> dict[str, Any]:
        n = _digest(base) % len(TOPICS)
        return {
            "title": f"{base} (revised)",
            "summary": long_text(n + 7, self._summary_length(n + 7)),
            "rationale": long_text(n + 77, 300, RATIONALE_SHAPES),
            "builds_on": [],
        }

    def _notebook(self, prompt: str) -> dict[str, Any]:
        seed = _digest(prompt)
        return {
            "tried": long_text(seed, 700),
            "failed": long_text(seed + 1, 500),
            "next": long_text(seed + 2, 500),
        }

    # -- wrapping -----------------------------------------------------------------------------

    def _wrap(self, value: dict[str, Any]) -> Reply:
        answer = json.dumps(value)
        decoy = json.dumps({"title": "a draft I threw away", "summary": "not the answer", "reasoning": "x"})
        musing = " ".join(REASONING) + f" A first draft was {decoy}, but it is too vague."
        if self.style == "think":
            return Reply(content=f"<think>\n{musing}\n</think>\n\n{answer}")
        if self.style == "fenced":
            pretty = json.dumps(value, indent=2)
            return Reply(content=f"Here is my answer.\n\n```json\n{pretty}\n```\n\nI hope the {{format}} is right.")
        if self.style == "prose":
            return Reply(content=f"Sure, here it is: {answer} Let me know if you want {{more}}.")
        if self.style == "reasoning_field":
            return Reply(content=answer, reasoning_content=musing)
        return Reply(content=answer)
