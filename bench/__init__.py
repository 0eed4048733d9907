"""vowelcam's benchmarks: run each as a module from the repository root (``python -m bench.bench_band``).

See bench/README.md for what each script measures, the result file it writes and the claim it backs.
"""
