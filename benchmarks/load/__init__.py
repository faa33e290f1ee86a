"""The pieces of ``benchmarks/http_load.py``: the stack, wrk, the signed URLs, the scenarios, the report.

One module a job:

    stack.py      redis-server, gunicorn and nginx from testsuite.harness, and the corpus
    wrk.py        one wrk run: arguments, output parsing, CPU of the servers meanwhile
    urls.py       signing in this process, and pools of never-requested thumbnail URLs
    scenarios.py  the setup check, hits (1)-(4), cold misses (5), the mixed load
    report.py     what is printed, and the targets
"""
