//! Every scheduler told what changed since it last decided ([`Policy::decide_changed`], how
//! the simulator asks, which lets a policy keep its queue ordered between decisions) decides
//! as it does on the view alone ([`Policy::decide_into`], its definition).

use cdmsa::sched::{ALL, Decision, Policy, TenantInfo, View, by_name};
use cdmsa::sim::{Mode, requests, simulate, tenants};
use cdmsa::workload::Workload;
use std::path::Path;

/// A policy asked on views alone ([`Policy::decide_into`], its definition), at every
/// decision point in one pass.
struct Definition(Box<dyn Policy>);

impl Policy for Definition {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        self.0.reset(tenants, arrays);
    }
    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.0.decide_into(view, out);
    }
    fn preempts_within_jobs(&self) -> bool {
        self.0.preempts_within_jobs()
    }
}

/// Every scheduler told what changed ([`Policy::decide_changed`], what the simulator asks)
/// decides as on views alone: the same records and events, from light load (busy periods
/// simulated apart, with copies of the policy) to overload (queues of dozens, requests
/// leaving while others wait).
#[test]
fn told_what_changed_every_policy_decides_as_on_views_alone() {
    for rate in [40.0, 600.0] {
        let text = format!(
            r#"
seed = 5
requests = 50
accel = "planaria-16"
[[tenants]]
name = "gpt"
model = "zoo:gpt_block"
precision = "int8"
priority = 9
sla_factor = 3.0
arrival = {{ kind = "poisson", rate_per_s = {rate} }}
[[tenants]]
name = "camera"
model = "zoo:googlenet"
precision = "int8"
priority = 1
sla_factor = 6.0
arrival = {{ kind = "periodic", period_ms = {} }}
[[tenants]]
name = "bert"
model = "zoo:bert_base"
precision = "int8"
priority = 3
sla_factor = 2.0
arrival = {{ kind = "poisson", rate_per_s = {} }}
"#,
            1000.0 / rate,
            rate / 8.0
        );
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let w = Workload::from_toml(&text, root).unwrap();
        let cfg = w.accelerator().unwrap();
        let models = tenants(&w, &cfg, false).unwrap();
        let reqs = requests(&w, &models, &cfg).unwrap();
        for name in ALL.iter().filter(|n| **n != "cd-msa") {
            let told = simulate(
                &cfg,
                &models,
                &reqs,
                by_name(name).unwrap().as_mut(),
                Mode::Timing,
            )
            .unwrap();
            let mut plain = Definition(by_name(name).unwrap());
            let alone = simulate(&cfg, &models, &reqs, &mut plain, Mode::Timing).unwrap();
            assert_eq!(told.records, alone.records, "{name} at {rate}/s: records");
            assert_eq!(told.events, alone.events, "{name} at {rate}/s: events");
        }
    }
}
