"""Running runs: the engine (plans, ``Job``, options), prompt batches, sweeps, precision rounds, resume,
the sync wrapper, job threads, rate limits, the Dask executor, and the pipeline of defaults and components."""
