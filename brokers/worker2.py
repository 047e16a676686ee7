"""Entrypoint of worker group worker2 for the dramatiq CLI (see ``atr worker worker2``)."""

from brokers.boot import boot_group

broker = boot_group("worker2")
