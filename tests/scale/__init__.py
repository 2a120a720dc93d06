"""Scale-out behaviour (several gateway processes) and the benchmark smoke test."""
