"""Exceptions whose message is written for the student reading the page."""


class InferenceError(Exception):
    """Inference could not produce a result; the message says why and what to change."""


class RunCancelled(Exception):
    """A run was stopped on request through its progress callback."""
