//! Deterministic, realistic demo data: one streaming generator of component
//! user usage records, shared by the quickstart, the benches and `serve --demo`.
//!
//! # The model
//!
//! A [`Demo`] is a small catalogue (a few MB, whatever the record count) of
//! Waldur-like entities, all derived from [`DemoConfig::seed`]:
//!
//! - 2,000 customers whose sizes follow a Zipf law (exponent 0.95, so the
//!   largest holds about 10% of the records, and the smallest tens of them);
//! - 10,000 projects, each belonging to one customer, each with a few members
//!   taken from the customer's staff;
//! - 300 offerings of six kinds (cloud, HPC, storage, licences, Kubernetes,
//!   GPU), each measuring two to five of the 8 component types `cpu`, `gpu`,
//!   `ram`, `storage`, `floating_ip`, `licenses`, `network`, `node_hours`;
//! - 50,000 resources, each of one project and one (Zipf-popular) offering,
//!   used by some of the project's members;
//! - 20,000 usernames such as `ann.smith`, `jdoe42`, `Ann.Smith`,
//!   `jüri.tamm`, `mari.kask@ut.example`;
//! - 36 monthly billing periods, 2023-01-01 to 2025-12-01.
//!
//! A component usage is one (resource, component type, billing period); its
//! records are the usages of the resource's users who used it that month. The
//! requested number of records is split exactly over the resources in
//! proportion to their customer's Zipf weight (largest remainder method), so
//! counts per customer, project and resource are known up front and
//! [`Demo::picks`] finds query targets without generating the records.
//!
//! Everything a record says about a shared entity is a function of that
//! entity: every record of a component usage has the same `date`,
//! `billing_period`, `component_type`, `measured_unit` and resource; every
//! record of a resource the same names, offering, project and customer. The
//! natural key `(component_usage, username)` and the record uuids are unique.
//!
//! # Examples
//!
//! ```
//! use usage_store::demo::{Demo, DemoConfig};
//! use usage_store::{Query, Store};
//!
//! let demo = Demo::new(DemoConfig { records: 2_000, seed: 7 });
//! let records: Vec<_> = demo.records().collect();
//! assert_eq!(records.len(), 2_000);
//!
//! let store = Store::new();
//! store.upsert_batch(&records).unwrap();
//! let p = demo.picks();
//! let q = Query::parse(&format!("customer_uuid={}", p.largest_customer.simple())).unwrap();
//! assert!(store.read().count(&q).unwrap().count > 0);
//! ```

use std::collections::HashSet;
use std::ops::Range;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal, Zipf};
use rand_pcg::Pcg64;
use uuid::Uuid;

use crate::{Record, Usage};

const PERIODS: usize = 36;
const FIRST_YEAR: i32 = 2023;
const CUSTOMERS: usize = 2_000;
const PROJECTS: usize = 10_000;
const OFFERINGS: usize = 300;
const RESOURCES: usize = 50_000;
const USERNAMES: usize = 20_000;
/// Zipf exponent of customer sizes: with 2,000 customers the largest gets ~10%.
const CUSTOMER_ZIPF: f64 = 0.95;
/// Preferred lifetime of a resource, in months, before it gains users per component usage.
const PREFERRED_MONTHS: usize = 12;

const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;

// Independent random streams: the catalogue, the layout of a resource's
// component usages, and the records of a resource. Layouts are computed
// without touching the record stream, so picks need no record generation.
const STREAM_CATALOGUE: u64 = 1;
const STREAM_LAYOUT: u64 = 2;
const STREAM_RECORDS: u64 = 3;
const STREAM_OFFERING_USER: u64 = 4;

/// Size and seed of a demo data set; the input of [`Demo::new`].
///
/// # Examples
///
/// ```
/// use usage_store::demo::DemoConfig;
/// let cfg = DemoConfig::default();
/// assert_eq!((cfg.records, cfg.seed), (1_000_000, 42));
/// let small = DemoConfig { records: 20_000, ..DemoConfig::default() };
/// assert_eq!(small.seed, 42);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DemoConfig {
    /// Exact number of records [`Demo::records`] yields.
    pub records: usize,
    /// Seed of every random choice: the same seed and count give the same data.
    pub seed: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            records: 1_000_000,
            seed: 42,
        }
    }
}

impl DemoConfig {
    /// The environment variable read by [`DemoConfig::from_env`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(usage_store::demo::DemoConfig::RECORDS_ENV, "USAGE_BENCH_RECORDS");
    /// ```
    pub const RECORDS_ENV: &'static str = "USAGE_BENCH_RECORDS";

    /// The default configuration, with the record count taken from
    /// `USAGE_BENCH_RECORDS` when it is set and not empty (any form
    /// [`DemoConfig::parse_records`] accepts).
    ///
    /// # Panics
    ///
    /// When the variable is set to something that is not a count: a typo
    /// must not silently benchmark the default size.
    ///
    /// # Examples
    ///
    /// ```
    /// let cfg = usage_store::demo::DemoConfig::from_env();
    /// assert_eq!(cfg.seed, 42);
    /// ```
    pub fn from_env() -> DemoConfig {
        let mut cfg = DemoConfig::default();
        if let Ok(v) = std::env::var(Self::RECORDS_ENV)
            && !v.trim().is_empty()
        {
            cfg.records = Self::parse_records(&v).unwrap_or_else(|| {
                panic!(
                    "{}={v:?} is not a record count (e.g. 1000000, 1_000_000, 200k, 10M)",
                    Self::RECORDS_ENV
                )
            });
        }
        cfg
    }

    /// Parses a record count: decimal digits with optional `_` separators
    /// and an optional `k` (thousand) or `M` (million) suffix. O(length).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::demo::DemoConfig;
    /// assert_eq!(DemoConfig::parse_records("1_000_000"), Some(1_000_000));
    /// assert_eq!(DemoConfig::parse_records("200k"), Some(200_000));
    /// assert_eq!(DemoConfig::parse_records("10M"), Some(10_000_000));
    /// assert_eq!(DemoConfig::parse_records("ten"), None);
    /// ```
    pub fn parse_records(s: &str) -> Option<usize> {
        let s = s.trim();
        let (digits, scale) = match s.as_bytes().last()? {
            b'k' | b'K' => (&s[..s.len() - 1], 1_000),
            b'm' | b'M' => (&s[..s.len() - 1], 1_000_000),
            _ => (s, 1),
        };
        let digits: String = digits.chars().filter(|&c| c != '_').collect();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<usize>().ok()?.checked_mul(scale)
    }
}

/// One component type as an offering measures it.
#[derive(Clone, Copy, Debug)]
struct Component {
    ty: &'static str,
    unit: &'static str,
    /// Median usage of one user in one month, in units.
    median: f64,
    /// Log-normal spread of the usage.
    sigma: f64,
    /// Probability that a usage is a whole number.
    whole: f64,
}

const fn comp(
    ty: &'static str,
    unit: &'static str,
    median: f64,
    sigma: f64,
    whole: f64,
) -> Component {
    Component {
        ty,
        unit,
        median,
        sigma,
        whole,
    }
}

const CPU: Component = comp("cpu", "hours", 180.0, 1.2, 0.1);
const CPU_CORE: Component = comp("cpu", "core-hours", 2_400.0, 1.4, 0.05);
const GPU: Component = comp("gpu", "hours", 40.0, 1.1, 0.1);
const RAM: Component = comp("ram", "GB*hours", 1_500.0, 1.1, 0.05);
const STORAGE: Component = comp("storage", "GB", 250.0, 1.3, 0.6);
const STORAGE_TB: Component = comp("storage", "TB", 4.0, 1.0, 0.3);
const FLOATING_IP: Component = comp("floating_ip", "IPs", 1.5, 0.5, 1.0);
const LICENSES: Component = comp("licenses", "licenses", 5.0, 0.9, 1.0);
const NETWORK: Component = comp("network", "GB", 80.0, 1.5, 0.2);
const NODE_HOURS: Component = comp("node_hours", "hours", 300.0, 1.2, 0.1);

/// A kind of offering: its names, what it measures and how its resources are called.
struct Kind {
    names: &'static [&'static str],
    components: &'static [Component],
    prefixes: &'static [&'static str],
    /// Relative share of the offerings.
    share: u32,
    /// Whether records usually carry a backend id (batch systems do).
    batch: bool,
}

const KINDS: [Kind; 6] = [
    Kind {
        names: &["OpenStack Cloud", "Virtual Private Cloud", "IaaS Cloud"],
        components: &[CPU, RAM, STORAGE, FLOATING_IP, NETWORK],
        prefixes: &["vm", "tenant", "web", "db"],
        share: 35,
        batch: false,
    },
    Kind {
        names: &["HPC Cluster", "Supercomputer", "Batch Cluster"],
        components: &[CPU_CORE, GPU, NODE_HOURS, STORAGE],
        prefixes: &["alloc", "hpc", "slurm"],
        share: 25,
        batch: true,
    },
    Kind {
        names: &["Object Storage", "Archive Storage", "Block Storage"],
        components: &[STORAGE_TB, NETWORK],
        prefixes: &["bucket", "volume", "archive"],
        share: 15,
        batch: false,
    },
    Kind {
        names: &[
            "MATLAB Licences",
            "ANSYS Licences",
            "COMSOL Licences",
            "Gaussian Licences",
        ],
        components: &[LICENSES, NETWORK],
        prefixes: &["licence-pool", "seats"],
        share: 8,
        batch: false,
    },
    Kind {
        names: &["Managed Kubernetes", "Rancher Kubernetes"],
        components: &[CPU, RAM, STORAGE],
        prefixes: &["k8s", "cluster"],
        share: 10,
        batch: false,
    },
    Kind {
        names: &["GPU Cloud", "AI Accelerator Service"],
        components: &[GPU, CPU, RAM, NETWORK],
        prefixes: &["gpu", "train"],
        share: 7,
        batch: true,
    },
];

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "ann", "anna", "hannah", "joanna", "annika", "leanne", "susanne", "johann", "marianne",
    "anneli", "john", "jane", "maria", "mari", "liis", "kadri", "mikko", "jüri", "tõnu", "märt",
    "ülle", "jörg", "sören", "björn", "åsa", "zoë", "chloé", "rené", "józef", "łukasz",
    "małgorzata", "françois", "andrés", "inés", "josé", "joão", "sérgio", "tomáš", "jiří", "james",
    "robert", "michael", "william", "david", "richard", "joseph", "thomas", "charles", "mary",
    "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan", "jessica", "sarah", "karen",
    "emma", "olivia", "sophia", "liam", "noah", "oliver", "elijah", "lucas", "mateo", "kaarel",
    "kristjan", "mihkel", "priit", "tiina", "katrin", "laura", "maarja", "pekka", "aino", "eero",
    "sanna", "ville", "ingrid", "lars", "nils", "astrid", "karl", "greta", "lena", "paul", "peter",
    "eva", "ivan", "olga", "dmitri", "natalia", "yuki", "hiro", "wei", "li", "priya", "arjun",
    "fatima", "omar", "amir", "leila", "daniel", "sofia", "marco", "giulia", "luca", "chiara",
    "pablo", "lucía", "carmen", "diego", "isabel", "hugo", "léa", "louis", "camille",
];

#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "doe", "tamm", "saar", "sepp", "mägi", "kask", "kukk", "rebane", "ilves", "pärn",
    "koppel", "virtanen", "korhonen", "mäkinen", "nieminen", "hämäläinen", "müller", "schmidt",
    "schneider", "fischer", "weber", "meyer", "wagner", "becker", "schulz", "hoffmann", "nowak",
    "kowalski", "wiśniewski", "wójcik", "kowalczyk", "novák", "svoboda", "dvořák", "černý",
    "andersen", "nielsen", "hansen", "pedersen", "johansson", "andersson", "karlsson", "nilsson",
    "eriksson", "larsson", "olsen", "dubois", "lefèvre", "moreau", "rossi", "russo", "ferrari",
    "esposito", "bianchi", "gonzález", "fernández", "lópez", "pérez", "sánchez", "silva", "santos",
    "oliveira", "costa", "pereira", "ivanov", "petrov", "smirnov", "kuznetsov", "popov", "tanaka",
    "suzuki", "sato", "wang", "zhang", "chen", "liu", "kumar", "sharma", "singh", "patel", "khan",
    "ali", "hassan", "cohen", "levi", "murphy", "kelly", "walsh", "byrne", "ryan", "jansen",
    "de vries", "bakker", "visser", "smit", "peeters", "janssens", "maes", "lindqvist", "berg",
    "dahl", "haugen",
];

const DOMAINS: &[&str] = &[
    "ut.example",
    "uni.example",
    "research.example",
    "lab.example",
    "mail.example",
];

#[rustfmt::skip]
const CITIES: &[&str] = &[
    "Tartu", "Tallinn", "Helsinki", "Jyväskylä", "Espoo", "Kajaani", "Oslo", "Tromsø", "Bergen",
    "Uppsala", "Lund", "Linköping", "Umeå", "Aarhus", "Odense", "Reykjavík", "Riga", "Vilnius",
    "Kaunas", "Gdańsk", "Kraków", "Poznań", "Brno", "Prague", "Vienna", "Graz", "Zürich", "Basel",
    "Göttingen", "Jülich", "Munich", "Garching", "Dresden", "Leipzig", "Heidelberg", "Delft",
    "Leiden", "Ghent", "Leuven", "Lille", "Grenoble", "Bologna", "Milan", "Trieste", "Barcelona",
    "Valencia", "Coimbra", "Porto", "Lisbon", "Dublin", "Cork", "Edinburgh", "Bristol", "Ljubljana",
    "Zagreb", "Debrecen", "Cluj", "Sofia", "Athens", "Thessaloniki",
];

#[rustfmt::skip]
const FIELDS: &[&str] = &[
    "Analytics", "Robotics", "Genomics", "Bioinformatics", "Data", "Materials", "Energy", "Weather",
    "Logistics", "Software", "Imaging", "Photonics", "Quantum", "Climate", "Mobility",
];

const COMPANY_SUFFIXES: &[&str] = &["Ltd", "OÜ", "AS", "GmbH", "Oy", "AB", "s.r.o.", "B.V."];

#[rustfmt::skip]
const TOPICS: &[&str] = &[
    "Climate modelling", "Protein folding", "Genome assembly", "Drug discovery", "Particle physics",
    "Ocean currents", "Urban mobility", "Language models", "Speech recognition", "Medical imaging",
    "Materials simulation", "Astrophysics survey", "Seismic analysis", "Crop yield prediction",
    "Air quality", "Energy grid optimisation", "Digital humanities", "Archive digitisation",
    "Web platform", "Student labs", "Teaching cluster", "CI runners", "Data lake",
    "Bioimage analysis", "Neuroscience", "Fusion plasma", "Hydrology", "Traffic forecasting",
    "Satellite imagery", "Quantum chemistry", "Epidemiology", "Financial risk", "Robot navigation",
    "Cyber range", "Metagenomics", "Forest inventory", "Cultural heritage", "Sensor network",
    "Smart city", "Wind turbines",
];

#[rustfmt::skip]
const RESOURCE_WORDS: &[&str] = &[
    "web", "db", "compute", "analysis", "prod", "dev", "test", "staging", "ml", "etl", "backup",
    "sim", "render", "api", "worker", "gateway", "lab", "thesis", "pilot", "archive",
];

const DESCRIPTIONS: &[&str] = &[
    "Reported by site agent",
    "Corrected after accounting audit",
    "Usage imported from SLURM accounting",
    "Manual adjustment",
    "Includes maintenance window",
];

#[derive(Debug)]
struct Customer {
    uuid: Uuid,
    name: String,
    projects: Range<u32>,
}

#[derive(Debug)]
struct Project {
    uuid: Uuid,
    name: String,
    customer: u32,
    resources: Range<u32>,
    /// Range of `Demo::members` (indices into `Demo::usernames`).
    members: Range<u32>,
}

#[derive(Debug)]
struct Offering {
    uuid: Uuid,
    name: String,
    kind: u8,
}

#[derive(Debug)]
struct Resource {
    uuid: Uuid,
    name: String,
    project: u32,
    offering: u16,
    /// How many of the project's members use the resource.
    users: u8,
}

/// One component usage of a resource in the layout: month, component, number of records.
#[derive(Clone, Copy, Debug)]
struct Slot {
    period: u8,
    component: u8,
    users: u16,
}

/// The demo catalogue: entities, usernames and the number of records of
/// every resource. Created by [`Demo::new`]; records are generated on demand
/// by [`Demo::records`].
///
/// The catalogue takes a few MB whatever [`DemoConfig::records`] is.
///
/// # Examples
///
/// ```
/// use usage_store::demo::{Demo, DemoConfig};
/// let demo = Demo::new(DemoConfig { records: 500, seed: 1 });
/// assert_eq!(demo.config().records, 500);
/// assert_eq!(demo.records().count(), 500);
/// ```
pub struct Demo {
    cfg: DemoConfig,
    usernames: Vec<String>,
    customers: Vec<Customer>,
    projects: Vec<Project>,
    offerings: Vec<Offering>,
    resources: Vec<Resource>,
    members: Vec<u32>,
    /// Records of each resource; sums to `cfg.records`.
    counts: Vec<u32>,
    /// The resources with records, in the order their records are yielded.
    order: Vec<u32>,
    /// Start of each billing period (and of the month after the last), in µs since the epoch.
    month_starts: [i64; PERIODS + 1],
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("cfg", &self.cfg)
            .field("customers", &self.customers.len())
            .field("projects", &self.projects.len())
            .field("offerings", &self.offerings.len())
            .field("resources", &self.resources.len())
            .field("usernames", &self.usernames.len())
            .finish()
    }
}

/// Handy query targets of a [`Demo`] data set, each guaranteed to match
/// records (for any record count from about 10,000 up); created by
/// [`Demo::picks`].
///
/// # Examples
///
/// ```
/// use chrono::Datelike;
/// use usage_store::demo::{Demo, DemoConfig};
/// let p = Demo::new(DemoConfig { records: 2_000, seed: 3 }).picks();
/// assert_eq!(p.busy_period.month(), p.month);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picks {
    /// The customer with the most records (about 10% of them).
    pub largest_customer: Uuid,
    /// A customer with roughly 20 to 200 records (the one closest to 60).
    pub small_customer: Uuid,
    /// A billing period in which `small_customer` has records: of those, the
    /// one where `largest_customer` has the most.
    pub busy_period: NaiveDate,
    /// The year of `busy_period`.
    pub year: i32,
    /// The month of `busy_period` (1..=12).
    pub month: u32,
    /// A resource with more records than 90% of the resources.
    pub resource: Uuid,
    /// The billing period in which `resource` has the most records (the site agent's read).
    pub resource_period: NaiveDate,
    /// The project of `largest_customer` with the most records.
    pub project: Uuid,
    /// First day of the billing period in which `project` has the most records.
    pub date_after: NaiveDate,
    /// Last day of the month after `date_after`'s: `date_after..=date_before`
    /// spans two months and holds every report `date` of that period.
    pub date_before: NaiveDate,
    /// The component type with the most records of `largest_customer`.
    pub component_type: String,
    /// A lowercase substring of usernames that have records (`"ann"` unless no such user has any).
    pub username_needle: String,
    /// Three mid-sized customers with records, `small_customer` first.
    pub scope_customers: Vec<Uuid>,
    /// Five projects with records, of various sizes and customers.
    pub scope_projects: Vec<Uuid>,
    /// The uuid of one record (the first record of `resource`).
    pub some_record: Uuid,
}

impl Demo {
    /// Builds the catalogue and splits `cfg.records` over the resources.
    ///
    /// Cost: O(entities), some tens of ms in release; independent of the record count.
    ///
    /// # Panics
    ///
    /// When `cfg.records` exceeds what the catalogue can hold with unique
    /// `(component_usage, username)` pairs (about 30 million).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::demo::{Demo, DemoConfig};
    /// let a = Demo::new(DemoConfig { records: 300, seed: 9 });
    /// let b = Demo::new(DemoConfig { records: 300, seed: 9 });
    /// assert!(a.records().eq(b.records()), "deterministic");
    /// ```
    pub fn new(cfg: DemoConfig) -> Demo {
        let mut rng = rng_for(cfg.seed, STREAM_CATALOGUE, 0);
        let usernames = gen_usernames(&mut rng);
        let offerings = gen_offerings(&mut rng);

        // Customers: Zipf weights by a random rank; below the top ten, a
        // mean-one log-normal noise spreads the small ones further apart.
        let mut ranks: Vec<usize> = (0..CUSTOMERS).collect();
        ranks.shuffle(&mut rng);
        let mut cweights: Vec<f64> = ranks
            .iter()
            .map(|&rank| {
                let w = ((rank + 1) as f64).powf(-CUSTOMER_ZIPF);
                if rank < 10 {
                    w
                } else {
                    w * mean_one_lognormal(&mut rng, 1.2)
                }
            })
            .collect();
        normalize(&mut cweights, 1.0);
        let mut names = HashSet::new();
        let cnames: Vec<String> = (0..CUSTOMERS)
            .map(|_| unique(&mut names, &mut rng, customer_name))
            .collect();
        let project_counts = apportion((PROJECTS - CUSTOMERS) as u64, &cweights, None);

        let offering_zipf = Zipf::new(OFFERINGS as f64, 1.1).expect("valid Zipf parameters");
        let mut customers = Vec::with_capacity(CUSTOMERS);
        let mut projects = Vec::with_capacity(PROJECTS);
        let mut members = Vec::new();
        let mut pweights = Vec::with_capacity(PROJECTS);
        // Per project: the offerings its resources use.
        let mut project_offerings: Vec<[u16; 3]> = Vec::with_capacity(PROJECTS);
        for (c, name) in cnames.into_iter().enumerate() {
            let n = 1 + project_counts[c] as usize;
            // The customer's staff: a window of the (shuffled) username list.
            let staff = ((cweights[c] * 3.0 * USERNAMES as f64) as usize + 4).min(USERNAMES);
            let staff_start = rng.random_range(0..USERNAMES);
            let first = projects.len() as u32;
            let mut ws: Vec<f64> = (0..n).map(|_| mean_one_lognormal(&mut rng, 0.8)).collect();
            normalize(&mut ws, cweights[c]);
            pweights.extend_from_slice(&ws);
            for _ in 0..n {
                let m = (lognormal(&mut rng, 5.0, 0.8).round() as usize)
                    .clamp(1, 60)
                    .min(staff);
                let start = members.len() as u32;
                for i in rand::seq::index::sample(&mut rng, staff, m) {
                    members.push(((staff_start + i) % USERNAMES) as u32);
                }
                let mut offs = [0u16; 3];
                for o in &mut offs {
                    *o = (offering_zipf.sample(&mut rng) as usize - 1).min(OFFERINGS - 1) as u16;
                }
                project_offerings.push(offs);
                projects.push(Project {
                    uuid: random_uuid(&mut rng),
                    name: project_name(&mut rng),
                    customer: c as u32,
                    resources: 0..0,
                    members: start..members.len() as u32,
                });
            }
            customers.push(Customer {
                uuid: random_uuid(&mut rng),
                name,
                projects: first..projects.len() as u32,
            });
        }
        debug_assert_eq!(projects.len(), PROJECTS);

        // Resources: at least one per project, more for heavier projects.
        let resource_counts = apportion((RESOURCES - PROJECTS) as u64, &pweights, None);
        let mut resources = Vec::with_capacity(RESOURCES);
        let mut rweights = Vec::with_capacity(RESOURCES);
        let mut caps = Vec::with_capacity(RESOURCES);
        for (p, project) in projects.iter_mut().enumerate() {
            let n = 1 + resource_counts[p] as usize;
            let first = resources.len();
            let m = project.members.len();
            let offs = project_offerings[p];
            let n_offs = rng.random_range(1..=3);
            for _ in 0..n {
                let offering = offs[rng.random_range(0..n_offs)];
                let kind = &KINDS[offerings[offering as usize].kind as usize];
                let users = ((m as f64 * rng.random_range(0.3..1.0)).round() as usize).clamp(1, m);
                let k = kind.components.len();
                rweights.push((k * users) as f64 * mean_one_lognormal(&mut rng, 0.6));
                caps.push((PERIODS * k * users) as u64);
                resources.push(Resource {
                    uuid: random_uuid(&mut rng),
                    name: resource_name(&mut rng, kind),
                    project: p as u32,
                    offering,
                    users: users as u8,
                });
            }
            normalize(&mut rweights[first..], pweights[p]);
            project.resources = first as u32..resources.len() as u32;
        }
        debug_assert_eq!(resources.len(), RESOURCES);

        let capacity: u64 = caps.iter().sum();
        assert!(
            cfg.records as u64 <= capacity,
            "the demo catalogue holds at most {capacity} records, {} requested",
            cfg.records
        );
        let counts: Vec<u32> = apportion(cfg.records as u64, &rweights, Some(&caps))
            .into_iter()
            .map(|c| c as u32)
            .collect();
        let mut order: Vec<u32> = (0..RESOURCES as u32)
            .filter(|&r| counts[r as usize] > 0)
            .collect();
        order.shuffle(&mut rng);

        let mut month_starts = [0i64; PERIODS + 1];
        for (i, m) in month_starts.iter_mut().enumerate() {
            *m = period_date(i)
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros();
        }
        Demo {
            cfg,
            usernames,
            customers,
            projects,
            offerings,
            resources,
            members,
            counts,
            order,
            month_starts,
        }
    }

    /// The configuration this catalogue was built from.
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::demo::{Demo, DemoConfig};
    /// let cfg = DemoConfig { records: 10, seed: 5 };
    /// assert_eq!(Demo::new(cfg).config(), cfg);
    /// ```
    pub fn config(&self) -> DemoConfig {
        self.cfg
    }

    /// Streams exactly `config().records` records, deterministically.
    ///
    /// Records come resource by resource (resources in a shuffled order);
    /// within a resource by billing period, then component, then user. Each
    /// call starts over and yields the same sequence. Nothing is kept: the
    /// memory used is that of one resource's layout. Speed: several million
    /// records per second in release (the cost is mostly the record's
    /// string allocations).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::demo::{Demo, DemoConfig};
    /// let demo = Demo::new(DemoConfig { records: 1_000, seed: 2 });
    /// let first = demo.records().next().unwrap();
    /// assert!(first.validate().is_ok());
    /// assert_eq!(first.billing_period.format("%d").to_string(), "01");
    /// assert_eq!(demo.records().next(), Some(first));
    /// ```
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        Records::new(self, &self.order)
    }

    /// Query targets that are guaranteed to match records (see [`Picks`]).
    ///
    /// Cost: O(entities) plus the layout of the largest customer's resources
    /// (no records are generated for that), plus generating the records of a
    /// few resources to find the username needle and `some_record`: about
    /// 15 ms in release, at 1M records as at 10M.
    ///
    /// # Panics
    ///
    /// When the data set is empty (`records == 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use usage_store::demo::{Demo, DemoConfig};
    /// let demo = Demo::new(DemoConfig { records: 3_000, seed: 11 });
    /// let p = demo.picks();
    /// assert!(demo.records().any(|r| r.uuid == p.some_record));
    /// assert!(demo.records().any(|r| r.resource_uuid == p.resource && r.billing_period == p.resource_period));
    /// ```
    pub fn picks(&self) -> Picks {
        assert!(
            self.cfg.records > 0,
            "an empty demo data set has nothing to pick"
        );
        let mut project_records = vec![0u64; self.projects.len()];
        for (r, res) in self.resources.iter().enumerate() {
            project_records[res.project as usize] += u64::from(self.counts[r]);
        }
        let mut customer_records = vec![0u64; self.customers.len()];
        for (p, proj) in self.projects.iter().enumerate() {
            customer_records[proj.customer as usize] += project_records[p];
        }

        let largest = argmax(customer_records.iter().copied());
        // Closest to 60 records on a log scale, preferring the 20..=200 band.
        let small = (0..self.customers.len())
            .filter(|&c| customer_records[c] > 0 && c != largest)
            .min_by(|&a, &b| {
                let key = |c: usize| {
                    let n = customer_records[c];
                    let off_band = !(20..=200).contains(&n);
                    (off_band, (n as f64 / 60.0).ln().abs())
                };
                let (ka, kb) = (key(a), key(b));
                ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(a.cmp(&b))
            })
            .unwrap_or(largest);

        let mut slots = Vec::new();
        let customer_resources = |c: usize| {
            let ps = &self.customers[c].projects;
            let first = self.projects[ps.start as usize].resources.start;
            let last = self.projects[ps.end as usize - 1].resources.end;
            first as usize..last as usize
        };
        let mut small_periods = [0u64; PERIODS];
        for r in customer_resources(small) {
            self.layout(r, &mut slots);
            for s in &slots {
                small_periods[s.period as usize] += u64::from(s.users);
            }
        }
        let mut largest_periods = [0u64; PERIODS];
        let mut type_records: Vec<(&'static str, u64)> = Vec::new();
        for r in customer_resources(largest) {
            self.layout(r, &mut slots);
            let components = self.components(r);
            for s in &slots {
                largest_periods[s.period as usize] += u64::from(s.users);
                let ty = components[s.component as usize].ty;
                match type_records.iter_mut().find(|(t, _)| *t == ty) {
                    Some((_, n)) => *n += u64::from(s.users),
                    None => type_records.push((ty, u64::from(s.users))),
                }
            }
        }
        let busy = (0..PERIODS)
            .filter(|&p| small_periods[p] > 0)
            .max_by_key(|&p| (largest_periods[p], p))
            .expect("the small customer has records");
        let component_type = type_records
            .iter()
            .max_by_key(|(t, n)| (*n, std::cmp::Reverse(*t)))
            .map(|(t, _)| (*t).to_owned())
            .unwrap_or_else(|| "cpu".to_owned());

        // A resource with more records than 90% of those that have any.
        let mut with_records = self.order.clone();
        with_records.sort_unstable_by_key(|&r| (self.counts[r as usize], r));
        let resource = with_records[with_records.len() * 9 / 10] as usize;
        let resource_period = self.busiest_period(resource..resource + 1, &mut slots);

        let project = self.customers[largest]
            .projects
            .clone()
            .max_by_key(|&p| (project_records[p as usize], std::cmp::Reverse(p)))
            .expect("a customer has projects") as usize;
        let project_period =
            self.busiest_period(self.projects[project].resources_usize(), &mut slots);
        let date_after = period_date(project_period);
        let date_before = last_day_of_next_month(date_after);

        let username_needle = self.username_needle(customer_resources(largest));
        let some_record = Records::new(self, &[resource as u32])
            .next()
            .expect("the picked resource has records")
            .uuid;

        // Scope: the small customer and two mid-sized ones; five projects of
        // various sizes and of other customers.
        let mut by_size: Vec<usize> = (0..self.customers.len())
            .filter(|&c| customer_records[c] > 0)
            .collect();
        by_size.sort_unstable_by_key(|&c| (std::cmp::Reverse(customer_records[c]), c));
        let mut scope_customers = vec![small];
        for frac in [0.05, 0.2, 0.35, 0.5] {
            let c = by_size[(by_size.len() as f64 * frac) as usize];
            if scope_customers.len() < 3 && !scope_customers.contains(&c) && c != largest {
                scope_customers.push(c);
            }
        }
        let mut by_size: Vec<usize> = (0..self.projects.len())
            .filter(|&p| project_records[p] > 0)
            .collect();
        by_size.sort_unstable_by_key(|&p| (std::cmp::Reverse(project_records[p]), p));
        let mut scope_projects: Vec<usize> = Vec::new();
        for frac in [0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8] {
            let p = by_size[(by_size.len() as f64 * frac) as usize];
            let c = self.projects[p].customer as usize;
            if scope_projects.len() < 5
                && !scope_projects.contains(&p)
                && !scope_customers.contains(&c)
            {
                scope_projects.push(p);
            }
        }

        Picks {
            largest_customer: self.customers[largest].uuid,
            small_customer: self.customers[small].uuid,
            busy_period: period_date(busy),
            year: period_date(busy).year(),
            month: period_date(busy).month(),
            resource: self.resources[resource].uuid,
            resource_period: period_date(resource_period),
            project: self.projects[project].uuid,
            date_after,
            date_before,
            component_type,
            username_needle,
            scope_customers: scope_customers
                .iter()
                .map(|&c| self.customers[c].uuid)
                .collect(),
            scope_projects: scope_projects
                .iter()
                .map(|&p| self.projects[p].uuid)
                .collect(),
            some_record,
        }
    }

    /// The components measured by a resource's offering.
    fn components(&self, r: usize) -> &'static [Component] {
        let offering = &self.offerings[self.resources[r].offering as usize];
        KINDS[offering.kind as usize].components
    }

    /// The billing period with the most records over some resources (latest on ties).
    fn busiest_period(&self, resources: Range<usize>, slots: &mut Vec<Slot>) -> usize {
        let mut per = [0u64; PERIODS];
        for r in resources {
            self.layout(r, slots);
            for s in slots.iter() {
                per[s.period as usize] += u64::from(s.users);
            }
        }
        PERIODS - 1 - argmax(per.iter().copied().rev())
    }

    /// `"ann"` if a user of these resources with records matches it, else a
    /// prefix of the first username found.
    fn username_needle(&self, resources: Range<usize>) -> String {
        let rs: Vec<u32> = resources
            .map(|r| r as u32)
            .filter(|&r| self.counts[r as usize] > 0)
            .collect();
        let mut fallback = None;
        for rec in Records::new(self, &rs).take(50_000) {
            if rec.username.to_lowercase().contains("ann") {
                return "ann".to_owned();
            }
            fallback.get_or_insert(rec.username);
        }
        let name = fallback.unwrap_or_else(|| "a".into()).to_lowercase();
        name.chars().filter(|c| c.is_alphabetic()).take(3).collect()
    }

    /// The component usages of resource `r` and their record counts: a
    /// function of the seed, the resource and its record count only.
    ///
    /// About half of a resource's users use it in a month; a resource prefers
    /// a lifetime of [`PREFERRED_MONTHS`], so more records first add users
    /// per component usage (up to all of the resource's), then months (up to
    /// all 36). Every month measures every component of the offering (the
    /// last month may be partial).
    fn layout(&self, r: usize, out: &mut Vec<Slot>) {
        out.clear();
        let t = self.counts[r] as usize;
        if t == 0 {
            return;
        }
        let k = self.components(r).len();
        let u = usize::from(self.resources[r].users);
        let mut rng = rng_for(self.cfg.seed, STREAM_LAYOUT, r as u64);
        let per_cu = (t / (PREFERRED_MONTHS * k)).max(u / 2).clamp(1, u);
        let cus = t.div_ceil(per_cu).min(PERIODS * k);
        let months = cus.div_ceil(k);
        // Later periods are busier: the start is biased towards the end.
        let span = PERIODS - months;
        let start = (((span + 1) as f64 * rng.random::<f64>().powf(0.6)) as usize).min(span);
        let rot = rng.random_range(0..k);
        // Split t into `cus` parts in 1..=u, randomly around the mean, exactly.
        let mut extra = t - cus;
        for j in 0..cus {
            let left = cus - j - 1;
            let lo = extra.saturating_sub(left * (u - 1));
            let hi = (u - 1).min(extra);
            let mean = extra as f64 / (cus - j) as f64;
            let x = ((mean * rng.random_range(0.0..2.0)).round() as usize).clamp(lo, hi);
            extra -= x;
            out.push(Slot {
                period: (start + j / k) as u8,
                component: ((j + rot) % k) as u8,
                users: (1 + x) as u16,
            });
        }
        debug_assert_eq!(extra, 0);
    }
}

impl Project {
    fn resources_usize(&self) -> Range<usize> {
        self.resources.start as usize..self.resources.end as usize
    }
}

/// The record stream of some resources; see [`Demo::records`].
struct Records<'a> {
    demo: &'a Demo,
    resources: &'a [u32],
    next_resource: usize,
    remaining: usize,
    // The resource being generated.
    resource: usize,
    rng: Pcg64,
    slots: Vec<Slot>,
    next_slot: usize,
    users: Vec<u32>,
    // The component usage being generated: its records are users[..cu_users].
    next_user: usize,
    cu_users: usize,
    cu_uuid: Uuid,
    cu_date: i64,
    cu_period: usize,
    cu_component: Component,
}

impl<'a> Records<'a> {
    fn new(demo: &'a Demo, resources: &'a [u32]) -> Records<'a> {
        Records {
            demo,
            resources,
            next_resource: 0,
            remaining: resources
                .iter()
                .map(|&r| demo.counts[r as usize] as usize)
                .sum(),
            resource: 0,
            rng: Pcg64::seed_from_u64(0),
            slots: Vec::new(),
            next_slot: 0,
            users: Vec::new(),
            next_user: 0,
            cu_users: 0,
            cu_uuid: Uuid::nil(),
            cu_date: 0,
            cu_period: 0,
            cu_component: CPU,
        }
    }

    fn start_resource(&mut self, r: usize) {
        let demo = self.demo;
        self.resource = r;
        demo.layout(r, &mut self.slots);
        self.next_slot = 0;
        self.rng = rng_for(demo.cfg.seed, STREAM_RECORDS, r as u64);
        let res = &demo.resources[r];
        let members = &demo.projects[res.project as usize].members;
        self.users.clear();
        self.users
            .extend_from_slice(&demo.members[members.start as usize..members.end as usize]);
        let u = usize::from(res.users);
        partial_shuffle(&mut self.rng, &mut self.users, u);
        self.users.truncate(u);
    }

    fn start_cu(&mut self, slot: Slot) {
        let demo = self.demo;
        self.cu_uuid = random_uuid(&mut self.rng);
        self.cu_period = usize::from(slot.period);
        self.cu_component = demo.components(self.resource)[usize::from(slot.component)];
        // Reported during the month, or in the first days of the next one.
        let start = demo.month_starts[self.cu_period];
        let month = demo.month_starts[self.cu_period + 1] - start;
        let offset = if self.rng.random_bool(0.75) {
            self.rng.random_range(0..month)
        } else {
            month + self.rng.random_range(0..5 * MICROS_PER_DAY)
        };
        let mut date = start + offset;
        if self.rng.random_bool(0.4) {
            date -= date.rem_euclid(MICROS_PER_SEC);
        }
        self.cu_date = date;
        self.cu_users = usize::from(slot.users);
        self.next_user = 0;
        partial_shuffle(&mut self.rng, &mut self.users, self.cu_users);
    }

    fn record(&mut self, user: u32) -> Record {
        let demo = self.demo;
        let rng = &mut self.rng;
        let res = &demo.resources[self.resource];
        let project = &demo.projects[res.project as usize];
        let customer = &demo.customers[project.customer as usize];
        let offering = &demo.offerings[res.offering as usize];
        let comp = self.cu_component;

        let uuid = random_uuid(rng);
        let usage = sample_usage(rng, &comp);
        let mut created = self.cu_date + rng.random_range(0..900 * MICROS_PER_SEC);
        if rng.random_bool(0.3) {
            // Whole seconds, never before the report date.
            let whole = created - created.rem_euclid(MICROS_PER_SEC);
            created = if whole >= self.cu_date {
                whole
            } else {
                whole + MICROS_PER_SEC
            };
        }
        let modified = if rng.random_bool(0.7) {
            created
        } else {
            created + rng.random_range(MICROS_PER_SEC..5 * MICROS_PER_DAY)
        };
        let description = if rng.random_ratio(1, 25) {
            DESCRIPTIONS[rng.random_range(0..DESCRIPTIONS.len())].to_owned()
        } else {
            String::new()
        };
        let backend_id = if KINDS[offering.kind as usize].batch {
            if rng.random_bool(0.6) {
                format!("job-{}", rng.random_range(1_000_000..9_999_999u32))
            } else {
                String::new()
            }
        } else if rng.random_ratio(3, 20) {
            format!("{:016x}", rng.random::<u64>())
        } else {
            String::new()
        };
        Record {
            uuid,
            user: offering_user(demo.cfg.seed, res.offering, user),
            username: demo.usernames[user as usize].as_str().into(),
            component_usage: self.cu_uuid,
            usage,
            measured_unit: comp.unit.into(),
            description: description.into(),
            created: micros_to_utc(created),
            modified: micros_to_utc(modified),
            backend_id: backend_id.into(),
            resource_name: res.name.as_str().into(),
            resource_uuid: res.uuid,
            offering_name: offering.name.as_str().into(),
            offering_uuid: offering.uuid,
            project_name: project.name.as_str().into(),
            project_uuid: project.uuid,
            customer_name: customer.name.as_str().into(),
            customer_uuid: customer.uuid,
            component_type: comp.ty.into(),
            date: micros_to_utc(self.cu_date),
            billing_period: period_date(self.cu_period),
        }
    }
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if self.next_user < self.cu_users {
                let user = self.users[self.next_user];
                self.next_user += 1;
                self.remaining -= 1;
                return Some(self.record(user));
            }
            if self.next_slot < self.slots.len() {
                let slot = self.slots[self.next_slot];
                self.next_slot += 1;
                self.start_cu(slot);
                continue;
            }
            let &r = self.resources.get(self.next_resource)?;
            self.next_resource += 1;
            self.start_resource(r as usize);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Records<'_> {}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn mix(a: u64, b: u64) -> u64 {
    splitmix64(a ^ splitmix64(b))
}

/// The generator of one random stream (`stream`, `index`) of a seed.
fn rng_for(seed: u64, stream: u64, index: u64) -> Pcg64 {
    Pcg64::seed_from_u64(mix(mix(seed, stream), index))
}

/// A version 4 uuid from the generator.
fn random_uuid(rng: &mut Pcg64) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random::<u128>().to_le_bytes()).into_uuid()
}

/// The offering user of (offering, username): a function of both, so it is
/// the same in every record; `None` (user deleted upstream) for 1 in 25.
fn offering_user(seed: u64, offering: u16, user: u32) -> Option<Uuid> {
    let h1 = mix(
        mix(seed, STREAM_OFFERING_USER),
        (u64::from(offering) << 32) | u64::from(user),
    );
    if h1.is_multiple_of(25) {
        return None;
    }
    let h2 = splitmix64(h1);
    let bytes = ((u128::from(h1) << 64) | u128::from(h2)).to_le_bytes();
    Some(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

fn micros_to_utc(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("demo timestamps are in range")
}

/// First day of billing period `i` (0 = 2023-01-01); `i == PERIODS` is the month after the last.
fn period_date(i: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_YEAR + (i / 12) as i32, (i % 12) as u32 + 1, 1)
        .expect("valid period")
}

fn last_day_of_next_month(first: NaiveDate) -> NaiveDate {
    let (y, m) = (first.year(), first.month());
    let (y2, m2) = if m >= 11 { (y + 1, m - 10) } else { (y, m + 2) };
    NaiveDate::from_ymd_opt(y2, m2, 1)
        .expect("valid month")
        .pred_opt()
        .expect("valid day")
}

/// Index of the first maximum.
fn argmax(values: impl Iterator<Item = u64>) -> usize {
    let mut best = (0, None);
    for (i, v) in values.enumerate() {
        if best.1.is_none_or(|b| v > b) {
            best = (i, Some(v));
        }
    }
    best.0
}

/// Shuffles so that `v[..n]` is a uniform random sample of `v` in random order.
fn partial_shuffle(rng: &mut Pcg64, v: &mut [u32], n: usize) {
    for i in 0..n.min(v.len()) {
        let j = rng.random_range(i..v.len());
        v.swap(i, j);
    }
}

fn lognormal(rng: &mut Pcg64, median: f64, sigma: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    median * (sigma * z).exp()
}

/// A log-normal factor with mean 1.
fn mean_one_lognormal(rng: &mut Pcg64, sigma: f64) -> f64 {
    lognormal(rng, (-sigma * sigma / 2.0).exp(), sigma)
}

fn normalize(ws: &mut [f64], total: f64) {
    let sum: f64 = ws.iter().sum();
    for w in ws {
        *w *= total / sum;
    }
}

fn sample_usage(rng: &mut Pcg64, comp: &Component) -> Usage {
    if rng.random_ratio(1, 50) {
        return Usage::ZERO;
    }
    let v = lognormal(rng, comp.median, comp.sigma).min(1e9);
    if rng.random_bool(comp.whole) {
        Usage::from_cents((v.round().max(1.0) as i64) * 100)
    } else {
        Usage::from_cents((v * 100.0).round().max(1.0) as i64)
    }
}

/// Splits `total` into integer parts proportional to `weights`, exactly
/// (largest remainder method), each part at most its cap: parts whose share
/// reaches their cap get the cap and the rest is split again among the others.
///
/// The caps must sum to at least `total`.
fn apportion(total: u64, weights: &[f64], caps: Option<&[u64]>) -> Vec<u64> {
    let n = weights.len();
    let cap = |i: usize| caps.map_or(u64::MAX, |c| c[i]);
    let mut parts = vec![0u64; n];
    let mut capped = vec![false; n];
    let mut remaining = total;
    loop {
        let sum: f64 = (0..n).filter(|&i| !capped[i]).map(|i| weights[i]).sum();
        let mut changed = false;
        for i in 0..n {
            if !capped[i] && remaining as f64 * weights[i] / sum >= cap(i) as f64 {
                capped[i] = true;
                parts[i] = cap(i);
                remaining -= cap(i);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let open: Vec<usize> = (0..n).filter(|&i| !capped[i]).collect();
    let sum: f64 = open.iter().map(|&i| weights[i]).sum();
    let mut fracs = Vec::with_capacity(open.len());
    let mut given = 0u64;
    for &i in &open {
        let share = if sum > 0.0 {
            remaining as f64 * weights[i] / sum
        } else {
            0.0
        };
        parts[i] = (share.floor() as u64).min(cap(i));
        given += parts[i];
        fracs.push((share - share.floor(), i));
    }
    // Hand out what rounding left, largest fractions first; floating point
    // error can leave a little more or less than the fractions add up to.
    fracs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut k = 0;
    while given < remaining {
        let i = fracs[k % fracs.len()].1;
        if parts[i] < cap(i) {
            parts[i] += 1;
            given += 1;
        }
        k += 1;
    }
    let mut k = fracs.len();
    while given > remaining {
        k = if k == 0 { fracs.len() - 1 } else { k - 1 };
        let i = fracs[k].1;
        if parts[i] > 0 {
            parts[i] -= 1;
            given -= 1;
        }
    }
    parts
}

/// Draws names until one is new.
fn unique(seen: &mut HashSet<String>, rng: &mut Pcg64, make: fn(&mut Pcg64) -> String) -> String {
    for _ in 0..100 {
        let s = make(rng);
        if seen.insert(s.clone()) {
            return s;
        }
    }
    let s = format!("{} {}", make(rng), seen.len());
    seen.insert(s.clone());
    s
}

fn pick<T: Copy>(rng: &mut Pcg64, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Replaces the accented letters of the name lists by their ASCII base letter.
fn fold_ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'å' | 'ã' => 'a',
            'é' | 'è' | 'ë' | 'ě' => 'e',
            'í' | 'ì' => 'i',
            'ó' | 'ò' | 'ö' | 'õ' => 'o',
            'ú' | 'ü' | 'ů' => 'u',
            'ł' => 'l',
            'ś' | 'š' => 's',
            'ń' => 'n',
            'ř' => 'r',
            'č' | 'ç' => 'c',
            'ž' => 'z',
            'ý' => 'y',
            ' ' => '_',
            c => c,
        })
        .collect()
}

fn gen_usernames(rng: &mut Pcg64) -> Vec<String> {
    let mut seen = HashSet::with_capacity(USERNAMES);
    let mut out = Vec::with_capacity(USERNAMES);
    while out.len() < USERNAMES {
        let f = pick(rng, FIRST_NAMES);
        let l = pick(rng, LAST_NAMES).replace(' ', "");
        let (f, l) = if rng.random_bool(0.8) {
            (fold_ascii(f), fold_ascii(&l))
        } else {
            (f.to_owned(), l)
        };
        let initial: String = f.chars().take(1).collect();
        let mut name = match rng.random_range(0..100) {
            0..35 => format!("{f}.{l}"),
            35..50 => format!("{initial}{l}"),
            50..57 => format!("{initial}{l}{}", rng.random_range(1..100)),
            57..67 => format!("{f}{}", rng.random_range(1..100)),
            67..77 => format!("{}.{}", capitalize(&f), capitalize(&l)),
            77..82 => format!("{f}_{l}"),
            82..95 => format!("{f}.{l}@{}", pick(rng, DOMAINS)),
            _ => format!("{l}{initial}"),
        };
        if rng.random_ratio(1, 40) {
            name = name.to_uppercase();
        }
        if seen.insert(name.to_lowercase()) {
            out.push(name);
        }
    }
    out
}

fn gen_offerings(rng: &mut Pcg64) -> Vec<Offering> {
    let total: u32 = KINDS.iter().map(|k| k.share).sum();
    let mut seen = HashSet::new();
    (0..OFFERINGS)
        .map(|_| {
            let mut x = rng.random_range(0..total);
            let kind = KINDS
                .iter()
                .position(|k| {
                    let hit = x < k.share;
                    x = x.saturating_sub(k.share);
                    hit
                })
                .expect("x < total");
            let mut name = format!("{} {}", pick(rng, KINDS[kind].names), pick(rng, CITIES));
            let mut attempt = 0;
            while !seen.insert(name.clone()) {
                attempt += 1;
                name = format!("{} {}", pick(rng, KINDS[kind].names), pick(rng, CITIES));
                if attempt > 100 {
                    name = format!("{name} {attempt}");
                }
            }
            Offering {
                uuid: random_uuid(rng),
                name,
                kind: kind as u8,
            }
        })
        .collect()
}

fn customer_name(rng: &mut Pcg64) -> String {
    let city = pick(rng, CITIES);
    match rng.random_range(0..100) {
        0..25 => format!("University of {city}"),
        25..35 => format!("{city} University of Technology"),
        35..45 => format!("{city} Research Centre"),
        45..55 => format!(
            "{} Institute",
            capitalize(&pick(rng, LAST_NAMES).replace(' ', "-"))
        ),
        55..90 => format!(
            "{city} {} {}",
            pick(rng, FIELDS),
            pick(rng, COMPANY_SUFFIXES)
        ),
        _ => format!("Ministry of {}", pick(rng, FIELDS)),
    }
}

fn project_name(rng: &mut Pcg64) -> String {
    let topic = pick(rng, TOPICS);
    match rng.random_range(0..10) {
        0..5 => topic.to_owned(),
        5..7 => format!("{topic} {}", rng.random_range(2019..=2025)),
        7..9 => format!("{topic} phase {}", rng.random_range(1..=4)),
        _ => format!("{topic} (pilot)"),
    }
}

fn resource_name(rng: &mut Pcg64, kind: &Kind) -> String {
    format!(
        "{}-{}-{:02}",
        pick(rng, kind.prefixes),
        pick(rng, RESOURCE_WORDS),
        rng.random_range(1..100)
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::{Query, Scope, Store};
    use compact_str::CompactString;

    fn demo(records: usize) -> Demo {
        Demo::new(DemoConfig { records, seed: 42 })
    }

    #[test]
    fn exact_counts() {
        for n in [0, 1, 7, 999, 10_001] {
            let d = demo(n);
            assert_eq!(d.counts.iter().map(|&c| c as usize).sum::<usize>(), n);
            assert_eq!(d.records().count(), n);
            assert_eq!(d.records().size_hint(), (n, Some(n)));
        }
    }

    #[test]
    fn catalogue_sizes() {
        let d = demo(10);
        assert_eq!(d.customers.len(), CUSTOMERS);
        assert_eq!(d.projects.len(), PROJECTS);
        assert_eq!(d.offerings.len(), OFFERINGS);
        assert_eq!(d.resources.len(), RESOURCES);
        assert_eq!(d.usernames.len(), USERNAMES);
        let types: HashSet<&str> = KINDS
            .iter()
            .flat_map(|k| k.components.iter().map(|c| c.ty))
            .collect();
        assert_eq!(types.len(), 8);
        assert!(
            d.usernames
                .iter()
                .any(|u| u.chars().any(|c| c.is_uppercase()))
        );
        assert!(d.usernames.iter().any(|u| !u.is_ascii()));
        assert!(
            d.usernames
                .iter()
                .all(|u| !u.is_empty() && u.chars().count() <= 100)
        );
        // Catalogue parts point inside each other.
        for (c, cust) in d.customers.iter().enumerate() {
            for p in cust.projects.clone() {
                assert_eq!(d.projects[p as usize].customer as usize, c);
            }
        }
        for (p, proj) in d.projects.iter().enumerate() {
            assert!(!proj.members.is_empty());
            for r in proj.resources_usize() {
                assert_eq!(d.resources[r].project as usize, p);
                assert!(usize::from(d.resources[r].users) <= proj.members.len());
            }
        }
    }

    #[test]
    fn parse_records() {
        assert_eq!(DemoConfig::parse_records(" 20000 "), Some(20_000));
        assert_eq!(DemoConfig::parse_records("1_000_000"), Some(1_000_000));
        assert_eq!(DemoConfig::parse_records("10M"), Some(10_000_000));
        assert_eq!(DemoConfig::parse_records("5k"), Some(5_000));
        for bad in ["", "k", "-1", "1.5M", "1e6", "x"] {
            assert_eq!(DemoConfig::parse_records(bad), None, "{bad}");
        }
    }

    #[test]
    fn apportion_is_exact_and_capped() {
        let w = [5.0, 1.0, 1.0, 0.001];
        assert_eq!(apportion(10, &w, None).iter().sum::<u64>(), 10);
        let parts = apportion(10, &w, Some(&[2, 100, 100, 100]));
        assert_eq!(parts.iter().sum::<u64>(), 10);
        assert_eq!(parts[0], 2);
        assert_eq!(parts[1], parts[2]);
    }

    #[test]
    fn deterministic_and_seeded() {
        let a: Vec<Record> = demo(2_000).records().collect();
        let b: Vec<Record> = demo(2_000).records().collect();
        assert_eq!(a, b);
        let c: Vec<Record> = Demo::new(DemoConfig {
            records: 2_000,
            seed: 43,
        })
        .records()
        .collect();
        assert_ne!(a[0], c[0]);
    }

    /// The properties the store relies on, on 50,000 records.
    #[test]
    fn consistency_and_uniqueness() {
        let d = demo(50_000);
        let mut uuids = HashSet::new();
        let mut keys = HashSet::new();
        type CuAttrs = (DateTime<Utc>, NaiveDate, CompactString, CompactString, Uuid);
        let mut cus: HashMap<Uuid, CuAttrs> = HashMap::new();
        let mut resources: HashMap<Uuid, (CompactString, Uuid, Uuid)> = HashMap::new();
        let mut offerings: HashMap<Uuid, CompactString> = HashMap::new();
        let mut projects: HashMap<Uuid, (CompactString, Uuid)> = HashMap::new();
        let mut customers: HashMap<Uuid, CompactString> = HashMap::new();
        let mut users: HashMap<(Uuid, CompactString), Option<Uuid>> = HashMap::new();
        let mut per_customer: HashMap<Uuid, usize> = HashMap::new();
        let (mut fractions, mut no_user, mut with_backend, mut with_description) = (0, 0, 0, 0);
        let first = period_date(0);
        let last = period_date(PERIODS - 1);
        let mut n = 0;
        for r in d.records() {
            n += 1;
            r.validate().unwrap();
            assert!(uuids.insert(r.uuid), "duplicate uuid");
            assert!(
                keys.insert((r.component_usage, r.username.clone())),
                "duplicate natural key"
            );
            let cu = (
                r.date,
                r.billing_period,
                r.component_type.clone(),
                r.measured_unit.clone(),
                r.resource_uuid,
            );
            assert_eq!(
                cus.entry(r.component_usage).or_insert_with(|| cu.clone()),
                &cu
            );
            let res = (r.resource_name.clone(), r.offering_uuid, r.project_uuid);
            assert_eq!(
                resources
                    .entry(r.resource_uuid)
                    .or_insert_with(|| res.clone()),
                &res
            );
            assert_eq!(
                offerings
                    .entry(r.offering_uuid)
                    .or_insert_with(|| r.offering_name.clone()),
                &r.offering_name
            );
            let proj = (r.project_name.clone(), r.customer_uuid);
            assert_eq!(
                projects
                    .entry(r.project_uuid)
                    .or_insert_with(|| proj.clone()),
                &proj
            );
            assert_eq!(
                customers
                    .entry(r.customer_uuid)
                    .or_insert_with(|| r.customer_name.clone()),
                &r.customer_name
            );
            assert_eq!(
                *users
                    .entry((r.offering_uuid, r.username.clone()))
                    .or_insert(r.user),
                r.user
            );
            *per_customer.entry(r.customer_uuid).or_default() += 1;

            assert_eq!(r.billing_period.day(), 1);
            assert!((first..=last).contains(&r.billing_period));
            let day = r.date.date_naive();
            assert!(day >= r.billing_period && day <= last_day_of_next_month(r.billing_period));
            assert!(r.created >= r.date && r.modified >= r.created);
            assert!(r.usage >= Usage::ZERO);
            fractions += usize::from(r.date.timestamp_subsec_micros() != 0);
            no_user += usize::from(r.user.is_none());
            with_backend += usize::from(!r.backend_id.is_empty());
            with_description += usize::from(!r.description.is_empty());
        }
        assert_eq!(n, 50_000);
        // Some, not all: fractional timestamps, null users, backend ids, descriptions.
        for (what, k, lo, hi) in [
            ("fractional dates", fractions, 0.3, 0.8),
            ("null users", no_user, 0.01, 0.1),
            ("backend ids", with_backend, 0.1, 0.6),
            ("descriptions", with_description, 0.01, 0.1),
        ] {
            let share = k as f64 / n as f64;
            assert!((lo..=hi).contains(&share), "{what}: {share}");
        }
        let types: HashSet<&str> = cus.values().map(|c| c.2.as_str()).collect();
        assert_eq!(types.len(), 8, "{types:?}");
        let periods: HashSet<NaiveDate> = cus.values().map(|c| c.1).collect();
        assert_eq!(periods.len(), PERIODS);
        assert!(customers.len() > 500, "{}", customers.len());
        assert!(offerings.len() > 100, "{}", offerings.len());

        // Zipf skew: the largest customer has about a tenth of the records.
        let largest = *per_customer.values().max().unwrap();
        let share = largest as f64 / n as f64;
        assert!(
            (0.05..=0.2).contains(&share),
            "largest customer share {share}"
        );
        let p = d.picks();
        assert_eq!(per_customer[&p.largest_customer], largest);
        assert!((20..=200).contains(&per_customer[&p.small_customer]));
    }

    /// Every pick matches records once loaded into a store.
    #[test]
    fn picks_match_in_store() {
        for (records, seed) in [(20_000, 42), (10_000, 7)] {
            let d = Demo::new(DemoConfig { records, seed });
            let store = Store::new();
            let all: Vec<Record> = d.records().collect();
            store.upsert_batch(&all).unwrap();
            let p = d.picks();
            let txn = store.read();
            let count = |q: &str| txn.count(&Query::parse(q).unwrap()).unwrap().count;
            let small = count(&format!("customer_uuid={}", p.small_customer));
            assert!((20..=200).contains(&small), "small customer has {small}");
            let largest = count(&format!("customer_uuid={}", p.largest_customer));
            assert!(
                largest as f64 >= 0.05 * records as f64,
                "largest customer has {largest}"
            );
            let qs = [
                format!(
                    "customer_uuid={}&billing_period_year={}&billing_period_month={}",
                    p.small_customer, p.year, p.month
                ),
                format!(
                    "customer_uuid={}&component_usage__billing_period={}",
                    p.largest_customer, p.busy_period
                ),
                format!(
                    "resource_uuid={}&component_usage__billing_period={}",
                    p.resource, p.resource_period
                ),
                format!(
                    "project_uuid={}&date_after={}&date_before={}",
                    p.project, p.date_after, p.date_before
                ),
                format!("type={}", p.component_type),
                format!("username={}", p.username_needle),
            ];
            for q in &qs {
                assert!(count(q) > 0, "{q} matches nothing");
            }
            assert_eq!(p.username_needle, "ann");
            assert!(txn.get(p.some_record, &Scope::everything()).is_some());
            assert_eq!(p.scope_customers.len(), 3);
            assert_eq!(p.scope_projects.len(), 5);
            for c in &p.scope_customers {
                assert!(count(&format!("customer_uuid={c}")) > 0);
            }
            for pr in &p.scope_projects {
                assert!(count(&format!("project_uuid={pr}")) > 0);
            }
            let mut scope = Scope::nothing();
            for &c in &p.scope_customers {
                scope = scope.with_customer(c);
            }
            let scoped = txn.count(&Query::new().with_scope(scope)).unwrap().count;
            assert!(scoped > 0 && scoped < records as u64);
        }
    }
}
