//! Benchmark: a request of N generated documents (~1 KB each, with marks).
//! `cargo run --release -p marc-assembly --example bench_assembly -- 1000`
//! Prints pages/second for assembly alone and for assembly + leak check, and
//! peak memory (VmHWM).
use std::time::Instant;

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "n/a".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let fonts = marc_assembly::Fonts::system()?;
    let mut input = marc_assembly::sample_input();
    input.documents = (0..n).map(marc_assembly::generated_doc).collect();
    let bytes: usize = input.documents.iter().map(|d| d.doc.text.len()).sum();
    let marks: usize = input.documents.iter().map(|d| d.marks.len()).sum();
    println!("documents: {n}, text: {} KB, marks: {marks}", bytes / 1024);

    let t = Instant::now();
    let pdf = marc_assembly::assemble(&input, &fonts)?;
    let t_asm = t.elapsed().as_secs_f64();
    let pages = marc_assembly::page_count(&pdf)?;
    println!(
        "assemble:         {pages} pages, {:.1} MB, {t_asm:.2} s, {:.0} pages/s",
        pdf.len() as f64 / 1e6,
        pages as f64 / t_asm
    );
    let t = Instant::now();
    let (_pdf, leaks) = marc_assembly::assemble_checked(&input, &fonts)?;
    let t_chk = t.elapsed().as_secs_f64();
    println!(
        "assemble_checked: {pages} pages, {t_chk:.2} s, {:.0} pages/s (leak check {:.2} s), leaks: {}",
        pages as f64 / t_chk,
        t_chk - t_asm,
        leaks.len()
    );
    if let Some(path) = std::env::args().nth(2) {
        std::fs::write(&path, &pdf)?;
        std::fs::write(
            format!("{path}.marked.json"),
            serde_json::to_string(&marc_assembly::marked_strings(&input))?,
        )?;
        println!("wrote {path} and {path}.marked.json");
    }
    let marked = marc_assembly::marked_strings(&input);
    let t = Instant::now();
    let strict = marc_assembly::leak_check(&pdf, &marked)?;
    println!(
        "leak_check alone: {:.2} s, {:.0} pages/s, {} needles, {} strict hits (own name/trusted text not allowed for)",
        t.elapsed().as_secs_f64(),
        pages as f64 / t.elapsed().as_secs_f64(),
        marked.len(),
        strict.len()
    );
    println!("peak memory (VmHWM): {}", vm_hwm());
    Ok(())
}
