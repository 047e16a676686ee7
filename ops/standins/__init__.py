"""Local stand-ins for external systems, used by the demo and the tests (tests/fakes/)."""
