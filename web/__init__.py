"""The review page (`groundhog review --web`): a local, keyboard-first page over the queue and the log."""
