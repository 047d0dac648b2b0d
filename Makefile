# MapReduce (Lab 1)
.PHONY: mapreduce mr-sim mr-real

mapreduce: mr-sim mr-real

# The graded suite in the simulation (and the crate's unit tests).
mr-sim:
	cargo test -p mapreduce --lib --test mr_sim

# The graded suite as real processes, and the real transport's tests.
mr-real:
	cargo test -p labrpc --lib transport
	cargo test -p mapreduce --test mr_real
