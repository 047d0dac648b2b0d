# Distributed-systems labs in Rust. `make help` lists the targets.

CARGO ?= cargo
SEEDS ?= 1

.PHONY: help grade test lint fmt bench skeleton-check labrpc mapreduce mr-sim mr-real raft raft-3a raft-3b raft-3c raft-3d kvraft kvraft-4a kvraft-4b shardctrler shardkv shardkv-5a shardkv-5b shardkv-challenge

help:
	@echo "make grade          grade the code of this checkout and print a table (builds in target/grade)"
	@echo "make grade SEEDS=N  ... with N seeds per test"
	@echo "make test           run every test of the workspace (what CI runs)"
	@echo "make lint           rustfmt check and clippy, warnings are errors"
	@echo "make bench          the benchmarks recorded in BENCHMARKS.md"
	@echo "make skeleton-check the student skeleton builds and its suites fail fast"
	@echo "make labrpc         the labrpc suite"
	@echo "make mapreduce      Lab 1, both modes (make mr-sim, make mr-real)"
	@echo "make raft           Lab 3 (make raft-3a ... raft-3d for one part; SEEDS=N)"
	@echo "make kvraft         Lab 4 (make kvraft-4a, kvraft-4b for one part; SEEDS=N)"
	@echo "make shardctrler    Lab 5A, the shard controller (SEEDS=N)"
	@echo "make shardkv        Lab 5, the sharded service (make shardkv-5a, shardkv-5b, shardkv-challenge; SEEDS=N)"

grade:
	$(CARGO) run --release --quiet -p labs -- grade --seeds $(SEEDS)

test:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

skeleton-check:
	.ci/skeleton-check

bench:
	$(CARGO) bench -p labrpc --bench rpc
	$(CARGO) bench -p mapreduce --bench wordcount

labrpc:
	$(CARGO) test -p labrpc --test labrpc

# Lab 1: MapReduce, in the simulation and as real processes.
mapreduce: mr-sim mr-real

mr-sim:
	$(CARGO) test -p mapreduce --lib --test mr_sim

mr-real:
	$(CARGO) test -p labrpc --lib transport
	$(CARGO) test -p mapreduce --test mr_real

# Lab 3: Raft. `make raft-3a` runs one part; SEEDS=N runs N seeds.
raft:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p raft --test raft

raft-3a raft-3b raft-3c raft-3d: raft-%:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p raft --test raft -- $*

# Lab 4: fault-tolerant key/value service. `make kvraft-4a` runs one part; SEEDS=N runs N seeds.
kvraft:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p kvraft --test kvraft

kvraft-4a kvraft-4b: kvraft-%:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p kvraft --test kvraft -- $*

# Lab 5: the shard controller (5A) and the sharded key/value service (5A, 5B, the challenges).
shardctrler:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardctrler --test shardctrler

shardkv:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv

shardkv-5a shardkv-5b shardkv-challenge: shardkv-%:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv -- $*
