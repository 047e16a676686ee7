"""Actors, one module per queue group: validate the payload, call pipeline code, report.

Actor functions are marked with ``actors.base.job`` and declared on a broker
by ``brokers.boot``; the worker-group table (``pipeline.groups``) lists which
group declares which module.
"""
