"""Simulated researchers: persona definitions, their grounding writings, the prompts that make them think."""

from groundhog.researchers.personas import (
    STANCE_AXES,
    STANCE_LABELS,
    Installed,
    Persona,
    PersonaRegistry,
    check_persona_file,
    chunk_text,
    corpus_files,
    load_persona_file,
    most_different,
    persona_to_toml,
    stance_distance,
)

__all__ = [
    "STANCE_AXES",
    "STANCE_LABELS",
    "Installed",
    "Persona",
    "PersonaRegistry",
    "check_persona_file",
    "chunk_text",
    "corpus_files",
    "load_persona_file",
    "most_different",
    "persona_to_toml",
    "stance_distance",
]
