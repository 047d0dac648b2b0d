# Raft targets (lab 3). `make raft-3a` runs one part's graded tests; SEEDS=N runs N seeds.

CARGO ?= cargo
SEEDS ?= 1

.PHONY: raft raft-3a raft-3b raft-3c raft-3d

raft:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p raft --test raft

raft-3a raft-3b raft-3c raft-3d: raft-%:
	LAB_SEEDS=$(SEEDS) $(CARGO) test -p raft --test raft -- $*
