//! The coordinator behind the protocol's RPCs: the handlers both modes serve.

use crate::coordinator::Coordinator;
use crate::protocol::{ReportTask, RequestTask, TaskDone, TaskRequest};
use labrpc::Service;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The coordinator's RPC handlers, for a simulated [`Server`](labrpc::Server) or a real
/// process's [`realproc::serve_on_node`]. `clock` tells the coordinator the time (virtual time
/// in the simulation).
pub fn coordinator_service<C>(coordinator: Arc<Mutex<Coordinator>>, clock: C) -> Service
where
    C: Fn() -> Duration + Clone + Send + Sync + 'static,
{
    let for_request = coordinator.clone();
    let clock_for_request = clock.clone();
    Service::new()
        .handle(RequestTask, move |args: TaskRequest| {
            let now = clock_for_request();
            let task = for_request
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .request_task(now, args);
            async move { task }
        })
        .handle(ReportTask, move |args: TaskDone| {
            let now = clock();
            coordinator
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .report_task(now, args);
            async move {}
        })
}
