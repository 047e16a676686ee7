"""Actors, one module per queue group: validate the payload, call pipeline code, report.

Actor modules are imported by ``brokers.boot`` after the broker is built, never
directly; the worker-group table (``brokers.groups``) lists which group imports
which module.
"""
