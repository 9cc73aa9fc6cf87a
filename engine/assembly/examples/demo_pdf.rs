//! Writes the demo request's PDF: `cargo run -p marc-assembly --example demo_pdf -- out.pdf`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "demo.pdf".into());
    let fonts = marc_assembly::Fonts::system()?;
    let (pdf, leaks) = marc_assembly::assemble_checked(&marc_assembly::sample_input(), &fonts)?;
    std::fs::write(&out, &pdf)?;
    println!("wrote {out} ({} bytes), leaks: {leaks:?}", pdf.len());
    Ok(())
}
