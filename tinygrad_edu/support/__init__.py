"""Plumbing shared by the layers above the library: atomic file writes, command-line option types and the
memory check. It imports nothing above :mod:`tinygrad_edu.errors`."""
