"""Domain code with no Dramatiq import: settings, names, errors and the jobs' logic."""
