"""gunicorn settings for restthumbs behind nginx (deploy/nginx.conf).

    gunicorn -c deploy/gunicorn.conf.py mysite.wsgi

Command-line options override anything here (``--bind``, ``--workers``...), and
the environment variables below let a process manager tune a box without
editing the file. The test suite (testsuite/test_e2e.py) starts gunicorn with
this file.

The numbers hang together with restthumbs' own settings:

    THUMBNAILS_LOCK_TIMEOUT (10 s) + slowest render  <  timeout (30 s)
    timeout (30 s)  <  nginx proxy_read_timeout (60 s)
    nginx upstream keepalive_timeout (60 s)  <  keepalive (75 s)
"""

from __future__ import annotations

import multiprocessing
import os

# nginx proxies to this address (the `upstream` in deploy/nginx.conf). Loopback
# only: a thumbnail server is never reached except through nginx. With several
# boxes behind one nginx, bind the box's private address instead.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Rendering is CPU-bound (Pillow decodes and resamples, mostly with the GIL
# released), so one process per core. Threads are cheap room for the requests
# that do not use the CPU: those waiting on another worker's render of the same
# thumbnail (they poll the storage for up to THUMBNAILS_LOCK_TIMEOUT) and the
# idle keep-alive connections of nginx's upstream pool.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# A worker silent for this long is killed and replaced. Above the lock timeout
# plus the slowest render, or a request that waited and then rendered is killed.
timeout = 30

# On SIGTERM or a reload, let renders in progress finish and write their file.
graceful_timeout = 30

# Longer than nginx's upstream keepalive_timeout (60 s), so that nginx, not
# gunicorn, closes an idle connection: no request is sent on a socket that
# gunicorn is closing at that moment.
keepalive = 75

# Recycle workers now and then: decoding large images fragments the heap, and a
# fresh process gives the memory back. The jitter keeps them from restarting
# together.
max_requests = 2000
max_requests_jitter = 200

# Access log with the request time (%(M)s, milliseconds): a cold render shows up
# as a slow line, a hit never shows up at all (nginx served it).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
errorlog = "-"
loglevel = "info"

# Honour X-Forwarded-For / X-Forwarded-Proto only from the local nginx.
forwarded_allow_ips = "127.0.0.1,::1"
