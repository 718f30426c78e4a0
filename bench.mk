# `make bench`: the Performance figures of the README on the embedded emulator (prints a table,
# writes bench/results.json). Included from the Makefile.
.PHONY: bench

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
