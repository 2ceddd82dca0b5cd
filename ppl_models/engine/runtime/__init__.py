"""Process plumbing under every run: the inference guard, worker processes, the
machine's limits, and the two things that cross a process boundary (messages for the
student, progress reports). Knows no model and no runner.
"""
