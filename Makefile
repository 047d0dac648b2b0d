# Distributed-systems labs in Rust. `make help` lists the targets.

CARGO ?= cargo
# Seeds per test: `make raft SEEDS=200`, or LAB_SEEDS=200 in the environment (the harness's
# own switch, which the handouts use with any command). Both at once must agree.
ifneq ($(LAB_SEEDS),)
ifneq ($(origin SEEDS),undefined)
ifneq ($(SEEDS),$(LAB_SEEDS))
$(error SEEDS=$(SEEDS) and LAB_SEEDS=$(LAB_SEEDS) disagree: give one of them)
endif
endif
SEEDS := $(LAB_SEEDS)
endif
SEEDS ?= 1

.PHONY: help grade grade-2025 grade-smoke grade-20 trace-fixture test lint fmt bench skeleton-check mutants mutants-smoke lincheck kvraft-real bench-real

help:
	@echo "make grade          grade the code of this checkout as a course of each edition, a table each (builds in target/grade)"
	@echo "make grade SEEDS=N  ... with N seeds per test"
	@echo "make grade-2025     only as a course of the 2025 edition (labs/course-2025.toml)"
	@echo "make grade-smoke    the grader on 3 generated submissions, one lab, parts merged (CI)"
	@echo "make grade-20       the grader on 20 generated submissions, every lab (SEEDS=10)"
	@echo "make trace-fixture  write the broken-Raft trace the timeline's browser test loads"
	@echo "make test           run every test of the workspace (what CI runs)"
	@echo "make lint           rustfmt check and clippy, warnings are errors"
	@echo "make bench          the benchmarks recorded in BENCHMARKS.md"
	@echo "make bench-real     redis-benchmark: a 3-server kvcluster beside redis-server"
	@echo "make skeleton-check the student skeleton builds and its suites fail fast"
	@echo "make mutants        plant each known bug (mutants/) and see which tests catch it (MUTANT_SEEDS=N)"
	@echo "make lincheck       the linearizability checker's tests"
	@echo "make kvraft-real    Lab 4 as real processes: kvserver, kvcluster, redis-cli, faults"
	@$(MAKE) --no-print-directory help-labs

# The checkout graded as a course of each edition: labs/course.toml (2024), then
# labs/course-2025.toml (a course picks one edition, and grades only its suites).
grade:
	$(CARGO) run --release --quiet -p labs -- grade --seeds $(SEEDS)
	$(CARGO) run --release --quiet -p labs -- grade --course labs/course-2025.toml --seeds $(SEEDS)

# The reference graded as a course of the 2025 edition only.
grade-2025:
	$(CARGO) run --release --quiet -p labs -- grade --course labs/course-2025.toml --seeds $(SEEDS)

# The course tool on generated submissions (docs/grading.md, "Check the grader itself").
GRADE_DIR ?= target/grade-check
grade-smoke:
	labs/scripts/grade-smoke $(GRADE_DIR)/smoke

GRADE_SEEDS ?= 10
grade-20:
	rm -rf $(GRADE_DIR)/twenty && labs/scripts/make-submissions $(GRADE_DIR)/twenty/subs 20
	/usr/bin/time -v $(CARGO) run -q --release -p labs -- grade --submission $(GRADE_DIR)/twenty/subs \
	    --seeds $(GRADE_SEEDS) --format json --out $(GRADE_DIR)/twenty/report.json 2> $(GRADE_DIR)/twenty/log; \
	    test $$? -le 1 || { cat $(GRADE_DIR)/twenty/log; exit 1; }
	tail -25 $(GRADE_DIR)/twenty/log
	labs/scripts/check-grades $(GRADE_DIR)/twenty/report.json

trace-fixture:
	rm -rf $(GRADE_DIR)/fixture && labs/scripts/make-submissions $(GRADE_DIR)/fixture 3
	$(CARGO) run -q --release -p labs -- trace initial_election_3a --seed 1 --lab raft \
	    --submission $(GRADE_DIR)/fixture/bug-never-votes --html $(GRADE_DIR)/fixture/trace.html \
	    --json labs/tests/fixtures/broken-raft-trace.json

test:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

skeleton-check:
	.ci/skeleton-check

# Suite strength: every planted bug of mutants/ must be caught, every legal variant must pass
# (docs/suite-strength.md). Seeds per lab: its `mutant_seeds` in labs/manifest.toml, unless
# MUTANT_SEEDS is given.
mutants:
	$(CARGO) run --release --quiet -p labs -- mutants $(if $(MUTANT_SEEDS),--seeds $(MUTANT_SEEDS)) --markdown target/mutants/table.md

# CI's smoke test of it: the legal variants must pass every test (a check that fails a correct
# implementation is a bug of the suite).
mutants-smoke:
	$(CARGO) run --release --quiet -p labs -- mutants --lab raft --only legal --seeds 3

bench:
	$(CARGO) bench -p labrpc --bench rpc
	$(CARGO) bench -p mapreduce --bench wordcount
	$(CARGO) bench -p lincheck --bench lincheck
	$(CARGO) bench -p lincheck --bench kv_targets

# Needs redis-tools and redis-server (Debian packages).
bench-real:
	kvnet/scripts/redis-benchmark.sh

lincheck:
	$(CARGO) test -p lincheck

# Lab 4 for real: kvserver processes over TCP, files, the Redis front end, a fault test.
# A cluster of your own: cargo run -p kvnet --bin kvcluster -- start 3 (docs/kvraft.md).
kvraft-real:
	$(CARGO) test -p labrpc --test real_clock
	$(CARGO) test -p realproc
	$(CARGO) test -p kvnet

# BEGIN LAB TARGETS (generated from labs/manifest.toml: cargo run -p labs -- manifest --update)
.PHONY: help-labs labrpc mapreduce mr-sim mr-real kvsrv kvsrv-2024 kvsrv-2025 raft raft-3a raft-3b raft-3c raft-3d raft-3x raft-3s kvraft kvraft-2024 kvraft-2024-4a kvraft-2024-4b kvraft-2024-4x kvraft-2025 kvraft-2025-4a kvraft-2025-4b kvraft-2025-4c shardctrler shardkv shardkv-2024 shardkv-2024-5a shardkv-2024-5b shardkv-2024-5x shardkv-2024-challenge shardkv-2025 shardkv-2025-5a shardkv-2025-5b shardkv-2025-5c

# What `make help` says of each lab.
help-labs:
	@echo "make labrpc         labrpc: the simulated network; SEEDS=N"
	@echo "make mapreduce      Lab 1: MapReduce (make mr-sim, make mr-real); SEEDS=N"
	@echo "make kvsrv          Lab 2: key/value server (make kvsrv-2024, make kvsrv-2025); SEEDS=N"
	@echo "make raft           Lab 3: Raft (make raft-3a, make raft-3b, make raft-3c, make raft-3d, make raft-3x, make raft-3s); SEEDS=N"
	@echo "make kvraft         Lab 4: fault-tolerant key/value (make kvraft-2024, make kvraft-2024-4a, make kvraft-2024-4b, make kvraft-2024-4x, make kvraft-2025, make kvraft-2025-4a, make kvraft-2025-4b, make kvraft-2025-4c); SEEDS=N"
	@echo "make shardctrler    Lab 5A: shard controller; SEEDS=N"
	@echo "make shardkv        Lab 5: sharded key/value (make shardkv-2024, make shardkv-2024-5a, make shardkv-2024-5b, make shardkv-2024-5x, make shardkv-2024-challenge, make shardkv-2025, make shardkv-2025-5a, make shardkv-2025-5b, make shardkv-2025-5c); SEEDS=N"

# labrpc: the simulated network
labrpc:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p labrpc --test labrpc

# Lab 1: MapReduce
mapreduce:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p mapreduce --test mr_sim --test mr_real

mr-sim:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p mapreduce --test mr_sim

mr-real:
	$(CARGO) test -p mapreduce --test mr_real

# Lab 2: key/value server
kvsrv:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvsrv --test kvsrv_2024 --test mem_2024 --test kvsrv_2025 --test mem_2025 --test lock_2025

kvsrv-2024:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvsrv --test kvsrv_2024 --test mem_2024

kvsrv-2025:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvsrv --test kvsrv_2025 --test mem_2025 --test lock_2025

# Lab 3: Raft
raft:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft --test search

raft-3a:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft --test search -- 3a

raft-3b:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft --test search -- 3b

raft-3c:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft --test search -- 3c

raft-3d:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft --test search -- 3d

raft-3x:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft --test search -- 3x

raft-3s:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p raft --test raft --test search -- 3s

# Lab 4: fault-tolerant key/value
kvraft:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvraft --test kvraft_2024 --test rsm_2025 --test kvraft_2025

kvraft-2024:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p kvraft --test kvraft_2024

kvraft-2024-4a:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p kvraft --test kvraft_2024 -- 4a

kvraft-2024-4b:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p kvraft --test kvraft_2024 -- 4b

kvraft-2024-4x:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p kvraft --test kvraft_2024 -- 4x

kvraft-2025:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvraft --test rsm_2025 --test kvraft_2025

kvraft-2025-4a:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvraft --test rsm_2025 --test kvraft_2025 -- 4a

kvraft-2025-4b:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvraft --test rsm_2025 --test kvraft_2025 -- 4b

kvraft-2025-4c:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p kvraft --test rsm_2025 --test kvraft_2025 -- 4c

# Lab 5A: shard controller
shardctrler:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardctrler --test shardctrler

# Lab 5: sharded key/value
shardkv:
	LAB_SEEDS=$(SEEDS) $(CARGO) test --no-fail-fast -p shardkv --test shardkv_2024 --test shardkv_2025

shardkv-2024:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2024

shardkv-2024-5a:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2024 -- 5a

shardkv-2024-5b:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2024 -- 5b

shardkv-2024-5x:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2024 -- 5x

shardkv-2024-challenge:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2024 -- challenge

shardkv-2025:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2025

shardkv-2025-5a:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2025 -- 5a

shardkv-2025-5b:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2025 -- 5b

shardkv-2025-5c:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p shardkv --test shardkv_2025 -- 5c
# END LAB TARGETS
