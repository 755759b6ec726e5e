"""The terminal review (`groundhog review`): one idea at a time on single keys, then the personas'
questions."""
