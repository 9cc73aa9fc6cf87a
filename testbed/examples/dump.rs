//! Prints a summary of the demo world and how long generating it takes.
fn main() {
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let w = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
        eprintln!(
            "World::generate({}): {:?} ({} documents)",
            w.seed,
            t.elapsed(),
            w.documents.len()
        );
    }
    let w = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let d = w.demo_citizen();
    println!("demo citizen: {} {} ({})", d.cpr, d.name, d.address);
    for s in marc_testbed::SYSTEMS {
        println!(
            "  {s}: {} cases, {} documents",
            w.cases_for(s, &d.cpr).count(),
            w.documents_for(s, &d.cpr).count()
        );
    }
    if let Some(doc) = w.documents_for("esdh", &d.cpr).next() {
        println!(
            "\n{} · {} · {} · {}\n\n{}\n\npii: {:?}",
            doc.doc_id, doc.title, doc.date, doc.kind, doc.text, doc.pii
        );
    };
}
