"""exitplan's benchmarks: the poll cycle and the fan-out, against real local servers.

Run them with `python -m bench` (`--quick` for a smoke run, `--help` for the options).
Each scenario runs in a fresh process; feeds are served by nginx from static files and
alerts go to a chat stand-in in its own process. Figures go to bench/results/latest.json.
"""
