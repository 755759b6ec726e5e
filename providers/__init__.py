"""Model providers: the embedded llama.cpp model and any OpenAI-compatible endpoint, behind one client.

Stages talk to `ModelClient` only; tests inject a fake LangChain chat model through the same seam.
"""

from groundhog.providers.client import Completion, ModelClient, Structured

__all__ = ["Completion", "ModelClient", "Structured"]
