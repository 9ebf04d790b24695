fn main() {
    std::process::exit(cdmsa::cli::main());
}
