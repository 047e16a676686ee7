"""Broker wiring and the worker groups.

This package's ``__init__`` stays light (no Dramatiq import) so that ``atr
workers`` can print the group table fast; import ``brokers.boot`` or
``brokers.broker`` for the Dramatiq side.
"""

from brokers.groups import GROUPS, QueueWeight, WorkerGroup, get_group, group_of_queue

__all__ = ["GROUPS", "QueueWeight", "WorkerGroup", "get_group", "group_of_queue"]
