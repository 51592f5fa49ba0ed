//! Writes a synthetic estate in the estate.md format to stdout, for benchmarks.
//!
//! `cargo run --release --example gen_estate -- --servers 100 --clients 100000 --seed 1`
//!
//! About 1% of servers and clients break each of these: server on Windows Server
//! 2003, on Apache, identified by an IP address; client on a dropped platform, client
//! naming a server that does not exist. The output depends only on the arguments.

use std::fmt::Write;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // SplitMix64: tiny, fast, and the same on every platform.
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `rate`.
    fn chance(&mut self, rate: f64) -> bool {
        (self.next() % 1_000_000) < (rate * 1_000_000.0) as u64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let servers = arg(&args, "--servers", 100).max(1);
    let clients = arg(&args, "--clients", 100_000);
    let seed = arg(&args, "--seed", 1);
    let rate = arg(&args, "--violation-permille", 10) as f64 / 1000.0;
    let mut rng = Rng(seed);
    let mut out = String::with_capacity((clients as usize) * 160 + 4096);
    out.push_str("[upgrade]\ntarget_version = \"10.6\"\nmethod = \"in-place\"\nipv6 = true\n\n");
    let domains = ["A1", "A2", "A3", "A4"];
    for s in 0..servers {
        let os = if rng.chance(rate) {
            "Windows Server 2003 R2 Standard"
        } else {
            "Windows Server 2008 R2 Enterprise"
        };
        let web = if rng.chance(rate) { "Apache" } else { "IIS" };
        let by = if rng.chance(rate) {
            rng.pick(&["ipv4", "ipv6"])
        } else {
            "fqdn"
        };
        let _ = write!(
            out,
            "[[servers]]\nname = \"osce-{s:04}\"\nrole = \"upgrade\"\nversion = \"10.5\"\nos = \"{os}\"\narch = \"x64\"\n\
             web_server = \"{web}\"\nhost_name = \"osce-{s:04}.corp.example.com\"\nidentified_by = \"{by}\"\n\
             ipv4 = \"10.{}.{}.10\"\nipv6 = \"2001:db8:{s:x}::10\"\nname_resolves = true\n\
             program_dir = 'C:\\Program Files\\Trend Micro\\OfficeScan\\PCCSRV'\nport = 8080\n\
             client_grouping = \"manual\"\nroot_scan_method = \"smart\"\nclient_auto_upgrade = false\n\n\
             [servers.backup]\ndatabase_tool = \"web-console\"\ndatabase_path = 'D:\\Backup\\OfficeScan'\n\
             master_service_stopped = true\nfiles = [\"ofcscan.ini\", \"ous.ini\", \"Private\", 'Web\\tmOPP', \
             'Pccnt\\Common\\OfcPfw*.dat', 'Download\\OfcPfw*.dat', \"Log\", \"Virus\", \"HTTPDB\"]\n\n",
            s / 256,
            s % 256
        );
        for d in domains {
            let _ = write!(
                out,
                "[[servers.domains]]\nname = \"{d}\"\nscan_method = \"smart\"\n\n"
            );
        }
    }
    // Servers with a legacy client keep one parent server among them.
    let _ = write!(
        out,
        "[[servers]]\nname = \"osce-parent\"\nrole = \"parent\"\nversion = \"10.5\"\nos = \"Windows Server 2003\"\n\
         arch = \"x86\"\nweb_server = \"IIS\"\n\n[[servers.domains]]\nname = \"Legacy\"\nscan_method = \"smart\"\n\n"
    );
    let oses = [
        "Windows 7 Professional SP1",
        "Windows XP Professional SP3",
        "Windows Vista Business SP2",
        "Windows 8.1 Pro",
    ];
    for c in 0..clients {
        let mut server = format!("osce-{:04}", rng.next() % servers);
        let mut domain = rng.pick(&domains);
        let mut os = rng.pick(&oses);
        let mut arch = rng.pick(&["x86", "x64"]);
        if rng.chance(rate) {
            os = rng.pick(&[
                "Windows 2000 Professional SP4",
                "Windows NT 4.0 Workstation",
                "Windows 98 SE",
            ]);
            server = "osce-parent".into();
            domain = "Legacy";
        } else if rng.chance(rate) {
            arch = "ia64";
            server = "osce-parent".into();
            domain = "Legacy";
        }
        if rng.chance(rate) {
            server = format!("osce-gone-{}", rng.next() % 10);
        }
        let _ = write!(
            out,
            "[[clients]]\nname = \"ws-{c:07}\"\nserver = \"{server}\"\ndomain = \"{domain}\"\nos = \"{os}\"\narch = \"{arch}\"\nscan_method = \"smart\"\n\n"
        );
    }
    print!("{out}");
}
