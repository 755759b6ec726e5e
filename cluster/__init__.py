"""Persona-days as Ray tasks: the executor the `babble` command hands to the runner, and the worker's side
of a day."""
