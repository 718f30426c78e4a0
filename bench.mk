# `make bench`: the Performance figures of the README on the embedded emulator (prints a table,
# writes bench/results.json), then the summarizer over 10,000 accounts (bench/summarizer.py,
# its own figures; `make bench-summarizer` runs it alone). Included from the Makefile.
.PHONY: bench bench-summarizer scale

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.summarizer

bench-summarizer: $(STAMP)
	$(BIN)/python -m bench.summarizer

# `make scale`: 10,000 accounts end to end on the emulator, the worker in as many
# processes at once as the template's WorkerMaximumConcurrency (bench/scale.py;
# prints a table, writes bench/scale.json, fails if a goal is missed).
# SCALE_ARGS="--accounts 1000" for a shorter run.
scale: $(STAMP)
	$(BIN)/python -m bench.scale $(SCALE_ARGS)
