"""The critique stage: deterministic screens that flag degenerate, manipulative, weird or duplicate ideas
without a chat model, then the chat-model critic that scores whatever the screens let through."""
