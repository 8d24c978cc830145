"""`bert-edge compare`: which student family to ship.

One teacher (fine-tuned once, or `teacher.finetuned`) and one teacher cache serve every student;
each student goes through the chain's distill -> convert -> parity stages (reused when unchanged)
and is benchmarked; then one report ranks every artifact. One module per job, in data order:

- `students`: the student list checked, and each student's run config derived from the base one;
- `run`: the shared teacher, then each student through the chain (a failed student is recorded,
  the others go on);
- `bench`: each student's float model and artifacts timed by `pipeline.bench` (reused when unchanged);
- `table`: rows per student x model from the stage outputs, the Pareto front, the recommendation;
- `report`: compare.json, report.md, report.html and the plots, written atomically.
"""
