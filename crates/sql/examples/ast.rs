fn main() {
    let sql = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    match shardlab_sql::parse::parse_application(&sql) {
        Ok(s) => println!("{s:#?}"),
        Err(e) => println!("ERR {e}"),
    }
}
