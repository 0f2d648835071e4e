"""The watchdog: a process apart from the worker and the dispatcher that texts the
technical on-call group, straight through the SMS provider, when one of them, the input
feed or the database has stopped, and again when it is back.

decide.py is the pure rule (table-tested); probes.py and __main__.py are the thin I/O.
"""
