# `make bench`: the Performance figures of the README on the embedded emulator (prints a table,
# writes bench/results.json), then the summarizer over 10,000 accounts (bench/summarizer.py,
# its own figures; `make bench-summarizer` runs it alone). Included from the Makefile.
.PHONY: bench bench-summarizer

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.summarizer

bench-summarizer: $(STAMP)
	$(BIN)/python -m bench.summarizer
