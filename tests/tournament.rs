//! A small tournament: deterministic, complete, and its verdicts follow its own intervals.

use cdmsa::eval::{Outcome, TournamentSpec, tournament};
use cdmsa::sched::by_name;
use cdmsa::workload::Workload;

fn spec() -> TournamentSpec {
    TournamentSpec {
        workloads: 2,
        seed: 11,
        requests: 40,
        min_span_slas: 2.0,
        replicates: 2,
        loads: vec![0.5, 1.5],
        schedulers: vec!["cd-msa".into(), "edf".into(), "fcfs".into()],
        contender: "cd-msa".into(),
    }
}

#[test]
fn a_small_tournament_is_deterministic_complete_and_consistent() {
    let report = tournament(&spec(), &by_name).unwrap();
    assert_eq!(report, tournament(&spec(), &by_name).unwrap());
    assert_eq!(report.matches.len(), 2);
    let mut sla_outcomes = 0;
    for m in &report.matches {
        assert_eq!(m.standings.len(), 3);
        assert_eq!(m.sla.len(), 2);
        for s in &m.standings {
            assert_eq!(s.sla.len(), 2);
            assert!(
                s.sla
                    .iter()
                    .all(|i| i.n == 2 && (0.0..=1.0).contains(&i.mean))
            );
            assert!(s.lbt_rps.mean >= 0.0);
        }
        // Each verdict is against the other scheduler with the best mean, and a win or a
        // loss only when the two intervals are disjoint.
        let mine = &m.standings[0];
        for (i, v) in m.sla.iter().enumerate() {
            let best = m.standings[1..]
                .iter()
                .map(|s| s.sla[i].mean)
                .fold(f64::MIN, f64::max);
            let theirs = m
                .standings
                .iter()
                .find(|s| s.scheduler == v.best_other)
                .unwrap();
            assert_eq!(theirs.sla[i].mean, best);
            let (a, b) = (mine.sla[i], theirs.sla[i]);
            match v.outcome {
                Outcome::Win => assert!(a.mean - a.half_width > b.mean + b.half_width),
                Outcome::Loss => assert!(a.mean + a.half_width < b.mean - b.half_width),
                Outcome::Tie => {}
            }
            sla_outcomes += 1;
        }
        // The workload reads back and names the models it was generated with.
        let w = Workload::from_toml(&m.workload_toml, std::path::Path::new("")).unwrap();
        assert!((2..=8).contains(&w.tenants.len()));
    }
    let t = report.sla_totals;
    assert_eq!(t.wins + t.ties + t.losses, sla_outcomes);
    let l = report.lbt_totals;
    assert_eq!(l.wins + l.ties + l.losses, 2);
}

#[test]
fn a_contender_outside_the_schedulers_is_refused() {
    let mut s = spec();
    s.contender = "llf".into();
    let err = tournament(&s, &by_name).unwrap_err().to_string();
    assert!(err.contains("contender 'llf'"), "{err}");
}
