"""Entrypoint of worker group worker1 for the dramatiq CLI (see ``atr worker worker1``)."""

from brokers.boot import boot_group

broker = boot_group("worker1")
