//! Reference tables for synthetic profiles: conditions, medications, procedures, labs, ZIP3s.
//! Rows are ordered by prevalence; samplers apply Zipf-like weights by rank.

/// A condition: ICD-10 category, billable sub-codes, SNOMED CT concept, display name.
pub(crate) struct Condition {
    pub icd10: &'static str,
    pub subcodes: &'static [&'static str],
    pub snomed: &'static str,
    pub name: &'static str,
}

macro_rules! conditions {
    ($(($icd:expr, [$($sub:expr),*], $snomed:expr, $name:expr)),* $(,)?) => {
        &[$(Condition { icd10: $icd, subcodes: &[$($sub),*], snomed: $snomed, name: $name }),*]
    };
}

/// Conditions by decreasing prevalence.
pub(crate) const CONDITIONS: &[Condition] = conditions![
    ("I10", [], "38341003", "Essential hypertension"),
    (
        "E78",
        ["E78.0", "E78.1", "E78.2", "E78.5"],
        "55822004",
        "Hyperlipidemia"
    ),
    (
        "E11",
        ["E11.9", "E11.65", "E11.22", "E11.40", "E11.8"],
        "44054006",
        "Type 2 diabetes mellitus"
    ),
    ("E66", ["E66.0", "E66.9"], "414916001", "Obesity"),
    (
        "F32",
        ["F32.0", "F32.1", "F32.9"],
        "35489007",
        "Depressive disorder"
    ),
    (
        "F41",
        ["F41.0", "F41.1", "F41.9"],
        "197480006",
        "Anxiety disorder"
    ),
    (
        "J45",
        ["J45.20", "J45.40", "J45.909"],
        "195967001",
        "Asthma"
    ),
    (
        "M54",
        ["M54.5", "M54.2", "M54.16"],
        "161891005",
        "Back pain"
    ),
    (
        "K21",
        ["K21.0", "K21.9"],
        "235595009",
        "Gastro-oesophageal reflux disease"
    ),
    ("E03", ["E03.8", "E03.9"], "40930008", "Hypothyroidism"),
    (
        "M17",
        ["M17.0", "M17.11", "M17.12"],
        "239873007",
        "Osteoarthritis of knee"
    ),
    (
        "N18",
        ["N18.1", "N18.2", "N18.3", "N18.4", "N18.5", "N18.6"],
        "709044004",
        "Chronic kidney disease"
    ),
    (
        "I25",
        ["I25.10", "I25.2", "I25.9"],
        "53741008",
        "Coronary artery disease"
    ),
    (
        "J44",
        ["J44.0", "J44.1", "J44.9"],
        "13645005",
        "Chronic obstructive pulmonary disease"
    ),
    (
        "I48",
        ["I48.0", "I48.1", "I48.91"],
        "49436004",
        "Atrial fibrillation"
    ),
    (
        "G47",
        ["G47.33", "G47.00"],
        "78275009",
        "Obstructive sleep apnoea"
    ),
    ("M81", ["M81.0", "M81.8"], "64859006", "Osteoporosis"),
    (
        "I50",
        ["I50.9", "I50.22", "I50.32"],
        "84114007",
        "Heart failure"
    ),
    ("D64", ["D64.9"], "271737000", "Anaemia"),
    (
        "G43",
        ["G43.909", "G43.009", "G43.109"],
        "37796009",
        "Migraine"
    ),
    ("E55", ["E55.9"], "34713006", "Vitamin D deficiency"),
    (
        "K58",
        ["K58.0", "K58.9"],
        "10743008",
        "Irritable bowel syndrome"
    ),
    (
        "M06",
        ["M06.9", "M06.09"],
        "69896004",
        "Rheumatoid arthritis"
    ),
    ("L40", ["L40.0", "L40.50"], "9014002", "Psoriasis"),
    (
        "E10",
        ["E10.9", "E10.65"],
        "46635009",
        "Type 1 diabetes mellitus"
    ),
    (
        "I63",
        ["I63.9", "I63.50"],
        "230690007",
        "Cerebral infarction"
    ),
    ("G20", [], "49049000", "Parkinson's disease"),
    (
        "G30",
        ["G30.0", "G30.1", "G30.9"],
        "26929004",
        "Alzheimer's disease"
    ),
    (
        "C50",
        ["C50.911", "C50.912", "C50.919"],
        "254837009",
        "Breast cancer"
    ),
    ("C61", [], "399068003", "Prostate cancer"),
    (
        "C18",
        ["C18.0", "C18.7", "C18.9"],
        "363406005",
        "Colon cancer"
    ),
    (
        "C34",
        ["C34.10", "C34.90"],
        "254637007",
        "Non-small cell lung cancer"
    ),
    ("K50", ["K50.00", "K50.90"], "34000006", "Crohn's disease"),
    (
        "K51",
        ["K51.00", "K51.90"],
        "64766004",
        "Ulcerative colitis"
    ),
    ("G35", [], "24700007", "Multiple sclerosis"),
    ("B20", [], "86406008", "HIV infection"),
    (
        "B18",
        ["B18.1", "B18.2"],
        "128302006",
        "Chronic viral hepatitis"
    ),
    (
        "K76",
        ["K76.0"],
        "197321007",
        "Non-alcoholic fatty liver disease"
    ),
    (
        "F33",
        ["F33.1", "F33.9"],
        "66344007",
        "Recurrent depressive disorder"
    ),
    (
        "F90",
        ["F90.0", "F90.2"],
        "406506008",
        "Attention deficit hyperactivity disorder"
    ),
    ("F20", ["F20.9"], "58214004", "Schizophrenia"),
    ("F31", ["F31.9", "F31.81"], "13746004", "Bipolar disorder"),
    ("M10", ["M10.9"], "90560007", "Gout"),
    ("L20", ["L20.9", "L20.89"], "24079001", "Atopic dermatitis"),
    ("J30", ["J30.9", "J30.2"], "61582004", "Allergic rhinitis"),
    (
        "N40",
        ["N40.0", "N40.1"],
        "266569009",
        "Benign prostatic hyperplasia"
    ),
    ("E28", ["E28.2"], "69878008", "Polycystic ovary syndrome"),
    ("N80", ["N80.0", "N80.9"], "129103003", "Endometriosis"),
    ("I73", ["I73.9"], "399957001", "Peripheral arterial disease"),
    ("I26", ["I26.99"], "59282003", "Pulmonary embolism"),
    (
        "D50",
        ["D50.9", "D50.0"],
        "87522002",
        "Iron deficiency anaemia"
    ),
    ("E05", ["E05.00", "E05.90"], "34486009", "Hyperthyroidism"),
    ("H40", ["H40.11", "H40.9"], "23986001", "Glaucoma"),
    (
        "H35",
        ["H35.30", "H35.31"],
        "267718000",
        "Age-related macular degeneration"
    ),
    (
        "M32",
        ["M32.9", "M32.14"],
        "55464009",
        "Systemic lupus erythematosus"
    ),
    ("C43", ["C43.9"], "372244006", "Malignant melanoma"),
    ("C90", ["C90.00"], "109989006", "Multiple myeloma"),
    (
        "C91",
        ["C91.10"],
        "92814006",
        "Chronic lymphocytic leukaemia"
    ),
    ("E84", ["E84.0", "E84.9"], "190905008", "Cystic fibrosis"),
    ("G40", ["G40.909", "G40.309"], "84757009", "Epilepsy"),
];

/// A medication: ATC code, RxNorm code, name.
pub(crate) struct Medication {
    pub atc: &'static str,
    pub rxnorm: &'static str,
}

macro_rules! meds {
    ($(($atc:expr, $rx:expr)),* $(,)?) => { &[$(Medication { atc: $atc, rxnorm: $rx }),*] };
}

pub(crate) const METFORMIN: Medication = Medication {
    atc: "A10BA02",
    rxnorm: "860975",
};
pub(crate) const INSULIN_GLARGINE: Medication = Medication {
    atc: "A10AE04",
    rxnorm: "274783",
};
pub(crate) const EMPAGLIFLOZIN: Medication = Medication {
    atc: "A10BK03",
    rxnorm: "1545653",
};
pub(crate) const ATORVASTATIN: Medication = Medication {
    atc: "C10AA05",
    rxnorm: "617310",
};
pub(crate) const LISINOPRIL: Medication = Medication {
    atc: "C09AA03",
    rxnorm: "314076",
};
pub(crate) const AMLODIPINE: Medication = Medication {
    atc: "C08CA01",
    rxnorm: "197361",
};
pub(crate) const SALBUTAMOL: Medication = Medication {
    atc: "R03AC02",
    rxnorm: "245314",
};
pub(crate) const SERTRALINE: Medication = Medication {
    atc: "N06AB06",
    rxnorm: "312940",
};
pub(crate) const LEVOTHYROXINE: Medication = Medication {
    atc: "H03AA01",
    rxnorm: "966224",
};
pub(crate) const APIXABAN: Medication = Medication {
    atc: "B01AF02",
    rxnorm: "1364430",
};
pub(crate) const FUROSEMIDE: Medication = Medication {
    atc: "C03CA01",
    rxnorm: "310429",
};

/// Other medications by decreasing frequency (random background use).
pub(crate) const OTHER_MEDICATIONS: &[Medication] = meds![
    ("A02BC01", "198053"),
    ("N02BE01", "313782"),
    ("M01AE01", "310965"),
    ("B01AC06", "243670"),
    ("C07AB02", "866427"),
    ("A11CC05", "636671"),
    ("N05BA12", "308047"),
    ("R06AE07", "1014678"),
    ("J01CA04", "308182"),
    ("N02AX02", "835603"),
    ("H02AB06", "312617"),
    ("M04AA01", "197319"),
    ("G04CA02", "863669"),
    ("N03AX16", "187832"),
    ("L04AX03", "105585"),
    ("N06AX16", "313583"),
    ("C09CA01", "979480"),
    ("A10BH01", "665033"),
    ("N05AH04", "312743"),
    ("R03BA02", "1797841"),
];

/// Procedures (SNOMED CT) with display names, by decreasing frequency.
pub(crate) const PROCEDURES: &[&str] = &[
    "snomed:73761001",
    "snomed:252416005",
    "snomed:71651007",
    "snomed:609588000",
    "snomed:54885007",
    "snomed:80146002",
    "snomed:232717009",
    "snomed:392021009",
    "snomed:38102005",
    "snomed:116028008",
    "cpt:45378",
    "cpt:66984",
];

/// Dialysis, frequent with advanced kidney disease.
pub(crate) const DIALYSIS: &str = "snomed:108241001";

/// LOINC codes of the generated labs.
pub(crate) mod labs {
    /// Haemoglobin A1c, %.
    pub const HBA1C: &str = "loinc:4548-4";
    /// Creatinine, mg/dL.
    pub const CREATININE: &str = "loinc:2160-0";
    /// eGFR, mL/min/1.73m2.
    pub const EGFR: &str = "loinc:33914-3";
    /// LDL cholesterol, mg/dL.
    pub const LDL: &str = "loinc:13457-7";
    /// Haemoglobin, g/dL.
    pub const HAEMOGLOBIN: &str = "loinc:718-7";
}

/// ZIP3s by decreasing population (`000` stands for the small restricted areas).
pub(crate) const ZIP3S: &[&str] = &[
    "100", "112", "606", "900", "770", "021", "191", "852", "330", "941", "981", "802", "303",
    "208", "787", "432", "462", "372", "282", "641", "731", "847", "022", "024", "551", "532",
    "015", "120", "146", "000", "441", "452", "631", "750", "891", "967", "995",
];
