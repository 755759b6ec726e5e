"""A responder for the fake OpenAI-compatible server that answers like a strong endpoint model does.

Strong models ignore the `maxLength` of a schema they are only shown, think out loud before the answer,
wrap JSON in fences or prose, and some servers send the reasoning in a field of its own. Each `style`
is one of those habits:

- ``plain``: the JSON object alone, with long fields;
- ``think``: a ``<think>...</think>`` block holding a decoy JSON object, then the answer;
- ``fenced``: prose, a fenced ```json block, more prose;
- ``prose``: the object inline between sentences, with a brace in the prose after it;
- ``reasoning_field``: the reasoning in ``reasoning_content`` (with a decoy object), the JSON as content.

Ideas are varied (their words differ from idea to idea, so none is a duplicate of another) and so are
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
]
RATIONALE_SHAPES = [
    "This matters because {a} {n} are how oversight fails quietly.",
    "Alignment work today lacks cheap checks of {n} against {n}.",
    "If it works, labs could {v} {n} before deployment instead of after.",
    "It also tests a claim many of us repeat about {a} {n} without evidence.",
    "Even a clear negative would redirect effort away from {n}.",
    "Better tools for {n} make every later study of {n} cheaper.",
]


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
            topic = TOPICS[(n + angle) % len(TOPICS)]
            seed = n + angle
            title = f"Testing whether {topic[0]} reveal {topic[1]} in {topic[2]} (study {n + 1})"
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
