"""`bert-edge bench`: latency, memory and size of every model side by side.

`measure` plans the runs and starts each in a fresh `worker` process (so thread pools and peak
memory do not leak between runtimes); `report` turns the results into Markdown, JSON, a plot and
the README's results section.
"""
