"""The phone's arm64 runtime on an x86 machine: an arm64 Python (Debian packages) with the arm64
wheels of numpy and ai-edge-litert, run under qemu user-mode emulation (`env.py`), and the script
that runs inside it (`golden_runner.py`, numpy + ai_edge_litert only)."""
