//! The router's own work per event, without its AWS calls: parse the EventBridge event, apply
//! the noise rules and render the notification in every format (text, chat, CloudWatch's
//! JSON). Goal: at most 1 ms per event.

use alarm_router::formats::Format;
use alarm_router::message::{Context, Severity};
use alarm_router::{event, rules};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use std::hint::black_box;

fn samples() -> Vec<(String, Value)> {
    let dir = format!("{}/../../events/alarm-router", env!("CARGO_MANIFEST_DIR"));
    let mut found: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("events/alarm-router")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let text = std::fs::read_to_string(&path).ok()?;
            Some((
                path.file_stem()?.to_string_lossy().into_owned(),
                serde_json::from_str(&text).ok()?,
            ))
        })
        // Alarm state changes only (the settle check's sample is the router's own schedule).
        .filter(|(_, sample): &(String, Value)| sample.get("detail-type").is_some())
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn route(c: &mut Criterion) {
    let noise = rules::NoiseSettings {
        notify_on_ok: true,
        suppress_initial_ok: true,
        flap_threshold: 4,
    };
    let context = Context {
        environment: "prod".to_owned(),
        severity: Some(Severity::Critical),
        runbook: Some("https://runbooks.example.com/orders".to_owned()),
        log_group: Some("/orders/api".to_owned()),
        ..Context::default()
    };
    let mut group = c.benchmark_group("route");
    for (name, sample) in samples() {
        group.bench_function(&name, |b| {
            b.iter(|| {
                let parsed = event::parse(black_box(&sample)).expect("sample parses");
                let rule = rules::before_history(&parsed.detail, noise);
                let rendered = rule.is_none().then(|| {
                    [Format::Text, Format::Chat, Format::CloudWatch]
                        .map(|format| format.render(&parsed, &context))
                });
                black_box((rule, rendered))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, route);
criterion_main!(benches);
