"""The night: the groundhog-day loop (wake, day, critique, notes), the session runner with its budgets,
pauses, checkpoints and resume, review epochs, re-judging, progress events, and the depth sweep."""
