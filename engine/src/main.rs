fn main() {
    std::process::exit(marc::cli::main());
}
