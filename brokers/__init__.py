"""Broker wiring and the two worker entrypoints.

This package's ``__init__`` stays empty (no Dramatiq import); import
``brokers.boot`` or ``brokers.broker`` for the Dramatiq side. The group
table the brokers are built from is :mod:`pipeline.groups`.
"""
