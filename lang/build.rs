fn main() {
    lalrpop::process_src().expect("the Pac grammar compiles");
}
