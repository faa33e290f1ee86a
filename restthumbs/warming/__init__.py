"""Warming a library: ``thumbnails_warm``'s machinery, here or on task workers.

    specs.py     what to warm: SIZE METHOD EXT triples and preset names, checked
    sources.py   the sources, streamed in name order (S3 ListObjectsV2 pages, os.scandir)
    passes.py    one source: every missing thumbnail from one read and one decode
    runner.py    threads in this process, or batches enqueued as tasks
    tasks.py     the task of Django's Tasks framework (django.tasks or the backport)
    state.py     --resume FILE: where an interrupted run stopped
    progress.py  a bar on a terminal, periodic lines elsewhere
    options.py   the command's options and their values

The management command (``management/commands/thumbnails_warm.py``) only
parses its arguments, wires these together and prints the summary.
"""
