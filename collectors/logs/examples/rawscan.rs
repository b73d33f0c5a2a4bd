use std::io::Read;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let p = r#"ERROR|FATAL|CRITICAL|PANIC|panic|Exception|Traceback|level=error|"level":\s*"error"|\[(?:error|crit|alert|emerg)\]|:(?:error|crit|alert|emerg)\]"#;
    let re = regex::bytes::Regex::new(p).unwrap();
    let mut f = std::fs::File::open(&args[1]).unwrap();
    let size: usize = args[2].parse().unwrap();
    let mut buf = vec![0u8; size];
    let t = std::time::Instant::now();
    let mut n = 0;
    let mut total = 0;
    if args.len() > 4 {
        let len = f.metadata().unwrap().len() as usize;
        let mut off = 0;
        while off < len {
            let w = size.min(len - off);
            let m =
                unsafe { memmap2::MmapOptions::new().offset(off as u64).len(w).map(&f).unwrap() };
            if args.len() > 5 {
                m.advise(memmap2::Advice::Sequential).unwrap();
            }
            n += re.find_iter(&m[..]).count();
            total += w;
            off += w;
        }
        println!("mmap {n} {total} {:?}", t.elapsed());
        return;
    }
    loop {
        let k = f.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        total += k;
        if args.len() > 3 {
            n += re.find_iter(&buf[..k]).count();
        }
    }
    println!("{n} {total} {:?}", t.elapsed());
}
#[allow(dead_code)]
fn unused() {}
