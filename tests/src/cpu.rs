//! CPU accounting for the benchmarks: what an operation costs the server, apart from the load
//! client that shares the machine with it.
//!
//! The benches run client, server and (on PostgreSQL) the database on the same two cores, so a
//! rate alone mixes the client's cost into the server's. The client therefore runs on its own
//! runtime, whose threads are named [`CLIENT_THREAD`], and a [`CpuSample`] taken before and
//! after a run reads the CPU time of every thread of the process from `/proc/self/task` and of
//! the whole machine from `/proc/stat` (Linux). [`CpuSample::per_op`] turns two samples into
//! per-operation figures.

use std::io;
use tokio::runtime::Runtime;

/// The name of the load client's threads.
pub const CLIENT_THREAD: &str = "load-client";

/// A runtime for the load client: two worker threads named [`CLIENT_THREAD`].
pub fn client_runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
}

/// CPU time used so far, in CPU seconds.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    /// This process's threads other than the client's.
    server: f64,
    /// The client's threads.
    client: f64,
    /// The whole machine's busy time: user to softirq, not idle, iowait or steal (time the
    /// hypervisor gave another guest, which grows with the host's load, not with ours).
    busy: f64,
    /// The whole machine's steal time.
    steal: f64,
    /// The whole machine's time, idle and steal included.
    total: f64,
}

/// Two samples' difference, per operation.
#[derive(Debug, Clone, Copy)]
pub struct CpuPerOp {
    /// CPU µs of this process's threads other than the load client's.
    pub server_us: f64,
    /// CPU µs of the whole machine (every process, the database server's too), the load
    /// client's threads excluded.
    pub machine_us: f64,
    /// CPU µs of the load client's threads.
    pub client_us: f64,
    /// Share of the machine's time the hypervisor gave other guests, in percent: a run with
    /// much of it ran on a busy host, and its figures are not comparable with a quiet run's.
    pub steal_pct: f64,
}

impl CpuSample {
    /// The CPU time used so far.
    pub fn now() -> io::Result<CpuSample> {
        let (server, client) = thread_cpu()?;
        let (busy, steal, total) = machine_cpu()?;
        Ok(CpuSample {
            server,
            client,
            busy,
            steal,
            total,
        })
    }

    /// What happened between this sample and `later`, divided by `operations`.
    pub fn per_op(&self, later: &CpuSample, operations: u64) -> CpuPerOp {
        let ops = operations.max(1) as f64;
        let per_op = |before: f64, after: f64| (after - before) * 1e6 / ops;
        let client_us = per_op(self.client, later.client);
        CpuPerOp {
            server_us: per_op(self.server, later.server),
            machine_us: per_op(self.busy, later.busy) - client_us,
            client_us,
            steal_pct: (later.steal - self.steal)
                / (later.total - self.total).max(f64::MIN_POSITIVE)
                * 100.0,
        }
    }
}

/// The kernel reports in USER_HZ ticks, 100 per second on every Linux ABI.
const TICKS: f64 = 100.0;

/// The whole machine's busy, steal and total time, from `/proc/stat`.
fn machine_cpu() -> io::Result<(f64, f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().unwrap_or_default();
    // `cpu user nice system idle iowait irq softirq steal ...`
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    if ticks.len() < 8 {
        return Err(io::Error::other(format!("unexpected /proc/stat: {line}")));
    }
    let busy: f64 = [0, 1, 2, 5, 6].iter().map(|&i| ticks[i]).sum();
    let total: f64 = ticks[..8].iter().sum();
    Ok((busy / TICKS, ticks[7] / TICKS, total / TICKS))
}

/// CPU seconds of this process's threads so far: the server's and the client's. Threads that
/// ended during a run are missed; the runtimes' threads live throughout.
fn thread_cpu() -> io::Result<(f64, f64)> {
    let (mut server, mut client) = (0.0, 0.0);
    for task in std::fs::read_dir("/proc/self/task")? {
        let Ok(stat) = std::fs::read_to_string(task?.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // `pid (comm) state ...`: comm may hold spaces, so split after its closing parenthesis.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after `state`.
        let used = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        let (Some(user), Some(system)) = (used(11), used(12)) else {
            continue;
        };
        let seconds = (user + system) / TICKS;
        if stat[open + 1..close].starts_with(CLIENT_THREAD) {
            client += seconds;
        } else {
            server += seconds;
        }
    }
    Ok((server, client))
}
