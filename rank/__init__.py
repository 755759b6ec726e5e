"""Ranking the queue: the pairwise tournament judged by the critic, the Bradley-Terry ratings, and starting
or resuming a tournament."""
