"""`make bench`: requests, invocations, cost, latency and memory of credreports
on the embedded emulator. Not a test suite: it measures and prints figures."""
