//! The meter catalogue: every meter Keel knows, how its samples combine within a period, and
//! whether clients may report it (the others are derived from Keel's own events or counted by
//! the API). The plans' quotas per meter are in the plan catalogue
//! ([`crate::billing::Catalogue`]).

/// How a meter's samples combine within a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// The number of samples.
    Count,
    /// The sum of the quantities.
    Sum,
    /// The largest quantity.
    Max,
    /// The number of distinct values of a property.
    UniqueCount(&'static str),
    /// The quantity of the latest sample (a gauge: seats, stored bytes).
    Latest,
}

/// A declared meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meter {
    /// Its name.
    pub name: &'static str,
    /// How samples combine.
    pub aggregation: Aggregation,
    /// Whether clients may report it through the ingestion API (the others are derived from
    /// Keel's own events or counted by the API).
    pub ingestible: bool,
}

/// Every meter Keel knows.
pub const METERS: &[Meter] = &[
    Meter {
        name: "api_calls",
        aggregation: Aggregation::Sum,
        ingestible: false,
    },
    Meter {
        name: "seats",
        aggregation: Aggregation::Latest,
        ingestible: false,
    },
    Meter {
        name: "storage_bytes",
        aggregation: Aggregation::Latest,
        ingestible: true,
    },
    Meter {
        name: "workflow_runs",
        aggregation: Aggregation::Count,
        ingestible: false,
    },
    Meter {
        name: "webhook_deliveries",
        aggregation: Aggregation::Count,
        ingestible: false,
    },
    Meter {
        name: "active_users",
        aggregation: Aggregation::UniqueCount("user_id"),
        ingestible: true,
    },
    Meter {
        name: "peak_connections",
        aggregation: Aggregation::Max,
        ingestible: true,
    },
    Meter {
        name: "compute_seconds",
        aggregation: Aggregation::Sum,
        ingestible: true,
    },
];

/// The meter called `name`.
pub fn meter(name: &str) -> Option<&'static Meter> {
    METERS.iter().find(|m| m.name == name)
}

/// The names of every meter, for checking a plan catalogue against them.
pub fn meter_names() -> Vec<&'static str> {
    METERS.iter().map(|m| m.name).collect()
}

/// The meter the API counts its calls in.
pub const API_CALLS: &str = "api_calls";
