"""The benchmark suite of stream-moderation (``make bench``, ``python -m bench``).

Not timed tests: every measurement compares this SDK with a floor (``json.loads``, the raw
HTTP clients) and with getstream 7.0.0, side by side in one run, and reports ratios. See
``__main__`` for the sections and docs/performance.md for the latest results.
"""
