"""Shared record types, settings and errors: the bottom layer every other package may import."""
