"""The run report: one self-contained report.html per run (the report stage, `modelfab report`)."""
