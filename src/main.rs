/// mimalloc reuses freed blocks of every size; glibc's allocator returns large blocks to the
/// kernel and page-faults them in again on the next run of a node.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cdmsa::cli::main());
}
