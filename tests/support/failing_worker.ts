/** A worker whose module fails as it loads: a worker that cannot start. */
throw new Error("this worker fails as it loads");
