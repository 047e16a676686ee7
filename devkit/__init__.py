"""The workbench: stand-ins, fakes, an embedded redis-server, a supervisor and the demo.

Tests, benches and ``./dev demo`` use it; the product never imports it and the
wheel leaves it out (``tests/test_wheel.py`` builds the wheel and checks).
"""
