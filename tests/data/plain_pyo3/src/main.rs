//! Start CPython through PyO3 alone and import from the stdlib.
use pyo3::prelude::*;

fn main() -> PyResult<()> {
    Python::initialize();
    Python::attach(|py| {
        let json = py.import("json")?;
        let dumped: String = json.call_method1("dumps", (vec![1, 2, 3],))?.extract()?;
        let file: String = json.getattr("__file__")?.extract()?;
        let sys = py.import("sys")?;
        let full: String = sys.getattr("version")?.extract()?;
        let info = sys.getattr("version_info")?;
        let (major, minor): (u8, u8) = (info.get_item(0)?.extract()?, info.get_item(1)?.extract()?);
        println!("json.dumps -> {dumped}");
        println!("json from {file}");
        println!("python {major}.{minor}");
        println!("version {}", full.split_whitespace().next().unwrap_or(""));
        Ok(())
    })
}
