"""groundhog: simulated alignment researchers on a groundhog-day loop, with self-critique and a human
review queue.

The command line is `groundhog` (`groundhog.cli`). As a library, build the parts from settings with
`groundhog.compose.services.build_services` and run sessions with `groundhog.loop.babble`; nothing heavy is
imported until it is used.
"""

__version__ = "0.1.0"
