"""The project's Dramatiq middleware, one per module, wired in ``brokers.broker``."""
