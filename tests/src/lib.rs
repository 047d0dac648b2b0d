//! labtest: the shared test harness of the labs.

pub mod linearizability;
