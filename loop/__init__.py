"""The groundhog-day loop, the session runner, and the factory that wires the parts together."""
