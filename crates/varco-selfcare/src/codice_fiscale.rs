//! Codice fiscale delle persone fisiche (DM 23 dicembre 1976, DPR 605/1973).
//!
//! "Parse, don't validate": a [`CodiceFiscale`] can only be obtained through
//! [`CodiceFiscale::parse`] (or its `FromStr` / `TryFrom` / serde wrappers),
//! so any function that receives one can rely on its structure without
//! re-checking it.
//!
//! Layout of the 16 characters (0-based indexes):
//!
//! | idx    | content                                            |
//! |--------|----------------------------------------------------|
//! | 0-2    | surname block                                      |
//! | 3-5    | name block                                         |
//! | 6-7    | year of birth, last two digits                     |
//! | 8      | month letter (`ABCDEHLMPRST`)                      |
//! | 9-10   | day of birth, +40 for women                        |
//! | 11-14  | Belfiore place code (letter + 3 digits)            |
//! | 15     | check character                                    |
//!
//! The seven numeric positions (6, 7, 9, 10, 12, 13, 14) may hold the
//! omocodia letters `LMNPQRSTUV` standing for 0-9: the Agenzia delle Entrate
//! substitutes them when two people would otherwise get the same code.
//!
//! The day must exist in its month (no 31 April, no 30 February; 29 February
//! only in a year that is leap in some century, see [`days_in_month`]).
//!
//! What is *not* checked, deliberately: whether the Belfiore code is
//! assigned, and whether omocodia letters were introduced right-to-left.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid codice fiscale, or does not belong to a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CfError {
    /// After trimming, the code is not 16 characters long.
    #[error("il codice fiscale deve essere lungo 16 caratteri (trovati {found})")]
    Lunghezza { found: usize },

    /// A character of the wrong kind. `position` is 1-based, as a person
    /// reading the code would count.
    #[error("carattere non valido in posizione {position} del codice fiscale (attesa {expected})")]
    Formato { position: usize, expected: &'static str },

    /// The month position holds a letter outside `ABCDEHLMPRST`.
    #[error("lettera del mese «{found}» non valida nel codice fiscale (ammesse A B C D E H L M P R S T)")]
    Mese { found: char },

    /// The (omocodia-decoded) day is neither 01-31 nor 41-71.
    #[error("giorno di nascita «{found:02}» non valido nel codice fiscale (ammessi 01-31 per gli uomini, 41-71 per le donne)")]
    Giorno { found: u8 },

    /// The day does not exist in that month (31 April, 30 February, 29
    /// February of a year that is leap in no century). `year` is the two-digit
    /// year of the code.
    #[error("data di nascita inesistente nel codice fiscale: {}", impossible_date(*day, *month, *year))]
    DataInesistente { day: u8, month: u8, year: u8 },

    /// The last character does not match the one computed from the first 15.
    #[error("carattere di controllo del codice fiscale errato (atteso «{expected}», trovato «{found}»)")]
    CarattereDiControllo { expected: char, found: char },

    /// `expected` is the block computed from the given surname, `found` the
    /// one in the code.
    #[error("il cognome non corrisponde al codice fiscale (attesi «{expected}», trovati «{found}»)")]
    CognomeNonCorrisponde { expected: String, found: String },

    /// `expected` is the block computed from the given name, `found` the one
    /// in the code.
    #[error("il nome non corrisponde al codice fiscale (attesi «{expected}», trovati «{found}»)")]
    NomeNonCorrisponde { expected: String, found: String },
}

/// A syntactically valid Italian personal fiscal code, normalised to
/// uppercase without surrounding whitespace.
///
/// Equality is on the code as written: an omocodic variant is a different
/// code (the Agenzia issues it to a different person), so it must not compare
/// equal to the base form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodiceFiscale(String);

const LEN: usize = 16;
const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";
const OMOCODIA_LETTERS: &[u8; 10] = b"LMNPQRSTUV";
const NUMERIC_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

/// Values of characters in odd (1-based) positions, indexed by letter A..Z.
/// Digits 0-9 take the same values as A-J in both tables, which is why one
/// index serves both. Taken from the published algorithm; the table has no
/// arithmetic pattern, so it has to be spelt out.
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // A-J (and 0-9)
    2, 4, 18, 20, 11, 3, 6, 8, 12, 14, // K-T
    16, 10, 22, 25, 24, 23, // U-Z
];

const LETTER: &str = "una lettera";
const DIGIT: &str = "una cifra (o una lettera di omocodia L-V)";

impl CodiceFiscale {
    /// Parses and validates a code. Surrounding whitespace is ignored and
    /// lowercase is accepted, because codes are commonly typed or copied
    /// that way; inner spaces are not removed, since they usually signal a
    /// pasted label or a truncated value rather than formatting.
    ///
    /// # Errors
    ///
    /// The first problem found, in this order: [`CfError::Lunghezza`],
    /// [`CfError::Formato`], [`CfError::Mese`], [`CfError::Giorno`],
    /// [`CfError::DataInesistente`], [`CfError::CarattereDiControllo`]. Structure is checked before the
    /// check character so that a typo in the date is reported as such
    /// rather than as a generic checksum failure.
    pub fn parse(input: &str) -> Result<Self, CfError> {
        let code = input.trim().to_uppercase();

        // Count chars, not bytes, so that a stray "À" reports a format error
        // at its position rather than a confusing length.
        let found = code.chars().count();
        if found != LEN {
            return Err(CfError::Lunghezza { found });
        }

        for (i, c) in code.chars().enumerate() {
            let (ok, expected) = if NUMERIC_POSITIONS.contains(&i) {
                (c.is_ascii() && decode_digit(c as u8).is_some(), DIGIT)
            } else {
                (c.is_ascii_uppercase(), LETTER)
            };
            if !ok {
                return Err(CfError::Formato { position: i + 1, expected });
            }
        }

        // Every character is ASCII from here on, so byte indexes are char
        // indexes.
        let b = code.as_bytes();

        if month_number(b[8]).is_none() {
            return Err(CfError::Mese { found: char::from(b[8]) });
        }

        let day = decode_pair(b[9], b[10]);
        if !(1..=31).contains(&day) && !(41..=71).contains(&day) {
            return Err(CfError::Giorno { found: day });
        }

        let month = month_number(b[8]).expect("checked above");
        let year = decode_pair(b[6], b[7]);
        let real_day = if day > 40 { day - 40 } else { day };
        if real_day > days_in_month(month, year) {
            return Err(CfError::DataInesistente { day: real_day, month, year });
        }

        // The check character covers the code *as written*, omocodia letters
        // included, so it must not be computed on the decoded form.
        let expected = check_char(&b[..15]);
        if b[15] != expected {
            return Err(CfError::CarattereDiControllo { expected: char::from(expected), found: char::from(b[15]) });
        }

        Ok(Self(code))
    }

    /// The normalised code, omocodia letters kept as issued.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Women have 40 added to the day of birth.
    pub fn is_female(&self) -> bool {
        self.raw_day() > 40
    }

    /// Day of birth, 1-31 (the +40 for women removed).
    pub fn birth_day(&self) -> u8 {
        let d = self.raw_day();
        if d > 40 {
            d - 40
        } else {
            d
        }
    }

    /// Month of birth, 1-12.
    pub fn birth_month(&self) -> u8 {
        month_number(self.bytes()[8]).expect("validated in parse")
    }

    /// Last two digits of the year of birth, 0-99. The century is not
    /// encoded in the code, so it is not guessed here.
    pub fn birth_year_2digits(&self) -> u8 {
        let b = self.bytes();
        decode_pair(b[6], b[7])
    }

    /// Belfiore code of the place of birth (a municipality, or `Z…` for a
    /// foreign country), with omocodia letters decoded back to digits so it
    /// can be looked up in the cadastral tables.
    pub fn place_code(&self) -> String {
        let b = self.bytes();
        let mut out = String::with_capacity(4);
        out.push(char::from(b[11]));
        for &c in &b[12..15] {
            out.push(char::from(b'0' + decode_digit(c).expect("validated in parse")));
        }
        out
    }

    /// Checks the surname and name blocks against a person's names.
    ///
    /// The surname is checked first because it is the more discriminating of
    /// the two and the one users most often mistype (double surnames,
    /// particles). A mismatch is strong evidence but not proof: names
    /// transliterated differently by the registry office produce legitimate
    /// codes that do not match the spelling on other documents.
    ///
    /// # Errors
    ///
    /// [`CfError::CognomeNonCorrisponde`] or [`CfError::NomeNonCorrisponde`],
    /// carrying the block computed from the given name and the one in the
    /// code.
    pub fn matches_name(&self, nome: &str, cognome: &str) -> Result<(), CfError> {
        let expected = surname_code(cognome);
        let found = &self.0[0..3];
        if expected != found {
            return Err(CfError::CognomeNonCorrisponde { expected, found: found.to_owned() });
        }
        let expected = name_code(nome);
        let found = &self.0[3..6];
        if expected != found {
            return Err(CfError::NomeNonCorrisponde { expected, found: found.to_owned() });
        }
        Ok(())
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    fn raw_day(&self) -> u8 {
        let b = self.bytes();
        decode_pair(b[9], b[10])
    }
}

/// 3-letter surname block: consonants in order, then vowels, then `X`
/// padding for surnames shorter than three letters.
pub fn surname_code(cognome: &str) -> String {
    let (consonants, vowels) = split_letters(cognome);
    pad_block(consonants.into_iter().chain(vowels))
}

/// 3-letter name block. Same as the surname, except that with four or more
/// consonants the 1st, 3rd and 4th are taken: the rule exists to spread
/// common names (Gianfranco, Francesco…) over more combinations.
pub fn name_code(nome: &str) -> String {
    let (consonants, vowels) = split_letters(nome);
    if consonants.len() >= 4 {
        [consonants[0], consonants[2], consonants[3]].iter().map(|&c| char::from(c)).collect()
    } else {
        pad_block(consonants.into_iter().chain(vowels))
    }
}

fn pad_block(letters: impl Iterator<Item = u8>) -> String {
    letters.chain(std::iter::repeat(b'X')).take(3).map(char::from).collect()
}

/// Splits a name into uppercase ASCII consonants and vowels, in order.
/// Only A E I O U are vowels: J, K, W, X, Y count as consonants in the
/// official rules.
fn split_letters(s: &str) -> (Vec<u8>, Vec<u8>) {
    let mut consonants = Vec::new();
    let mut vowels = Vec::new();
    for c in s.chars().flat_map(char::to_uppercase).filter_map(fold_letter) {
        if b"AEIOU".contains(&c) {
            vowels.push(c);
        } else {
            consonants.push(c);
        }
    }
    (consonants, vowels)
}

/// Maps an uppercase character to the plain letter used in the code, or
/// `None` for characters that do not count (spaces, apostrophes, hyphens,
/// dots, and combining accents of decomposed input, which leaves the base
/// letter in place). Accented letters count as their base letter: the
/// registry writes "NICCOLÒ" but the code only knows A-Z.
fn fold_letter(c: char) -> Option<u8> {
    let base = match c {
        'A'..='Z' => return Some(c as u8),
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'Ç' => 'C',
        'Ñ' => 'N',
        _ => return None,
    };
    Some(base as u8)
}

/// A digit, or its omocodia substitute, as 0-9.
fn decode_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        _ => OMOCODIA_LETTERS.iter().position(|&l| l == b).map(|i| i as u8),
    }
}

/// Two already-validated numeric positions as a number 0-99.
fn decode_pair(hi: u8, lo: u8) -> u8 {
    let d = |b| decode_digit(b).expect("validated in parse");
    d(hi) * 10 + d(lo)
}

const MONTH_NAMES: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

/// "31 aprile", or "29 febbraio di un anno non bisestile («81»)".
fn impossible_date(day: u8, month: u8, year: u8) -> String {
    let name = MONTH_NAMES.get(usize::from(month).wrapping_sub(1)).copied().unwrap_or("?");
    if month == 2 && day == 29 {
        format!("{day} {name} di un anno non bisestile («{year:02}»)")
    } else {
        format!("{day} {name}")
    }
}

/// The last day of `month` (1-12) in a year whose last two digits are `yy`.
///
/// The century is not in the code, so February has 29 days when `yy` is a leap
/// year in some century a living person can be born in: a year is divisible by
/// 4 exactly when its last two digits are (100 is), so `yy % 4 == 0` decides it
/// for 18yy, 19yy and 20yy alike, except for the turn of a century, where 1900
/// was not leap but 2000 was. 00 is accepted for 2000 (a person born on
/// 29/02/1900 is not one SelfCare will meet).
fn days_in_month(month: u8, yy: u8) -> u8 {
    match month {
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn month_number(b: u8) -> Option<u8> {
    MONTH_LETTERS.iter().position(|&l| l == b).map(|i| i as u8 + 1)
}

/// Check character over the first 15 characters (uppercase ASCII letters or
/// digits). Positions are counted from 1 in the official description, so its
/// "odd" positions are the even 0-based indexes.
fn check_char(first15: &[u8]) -> u8 {
    let sum: u32 = first15
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let idx = usize::from(if b.is_ascii_digit() { b - b'0' } else { b - b'A' });
            if i % 2 == 0 {
                ODD_VALUES[idx]
            } else {
                idx as u32
            }
        })
        .sum();
    b'A' + (sum % 26) as u8
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CodiceFiscale {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for CodiceFiscale {
    type Err = CfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Used by serde (`try_from = "String"`), so deserialising validates.
impl TryFrom<String> for CodiceFiscale {
    type Error = CfError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CodiceFiscale> for String {
    fn from(cf: CodiceFiscale) -> Self {
        cf.0
    }
}

#[cfg(test)]
mod tests {
    //! Every expected check character below was computed at authoring time
    //! with a separate Python implementation of the published algorithm
    //! (its own copy of the odd-position table, even values = digit or
    //! letter index, sum mod 26), not with the code under test. The base
    //! case RSSMRA80A01H501U was also summed by hand: odd positions
    //! R8+S12+R8+8→19+A1+1→0+5→13+1→0 = 61, even positions
    //! S18+M12+A0+0+0+H7+0 = 37, 98 mod 26 = 20 → U.

    use super::*;
    use serde::de::value::{Error as DeError, StrDeserializer};

    struct Valid {
        input: &'static str,
        code: &'static str,
        female: bool,
        day: u8,
        month: u8,
        year: u8,
        place: &'static str,
    }

    const fn v(
        input: &'static str,
        code: &'static str,
        female: bool,
        day: u8,
        month: u8,
        year: u8,
        place: &'static str,
    ) -> Valid {
        Valid { input, code, female, day, month, year, place }
    }

    const VALID: &[Valid] = &[
        // Mario Rossi, 1980-01-01, Roma (H501).
        v("RSSMRA80A01H501U", "RSSMRA80A01H501U", false, 1, 1, 80, "H501"),
        // Normalisation: lowercase and surrounding whitespace.
        v("rssmra80a01h501u", "RSSMRA80A01H501U", false, 1, 1, 80, "H501"),
        v("  RSSMRA80A01H501U\t\n", "RSSMRA80A01H501U", false, 1, 1, 80, "H501"),
        v("RssMra80a01H501u", "RSSMRA80A01H501U", false, 1, 1, 80, "H501"),
        // Maria Bianchi, 1985-08-01 (M), Milano (F205): woman, day 01+40.
        v("BNCMRA85M41F205D", "BNCMRA85M41F205D", true, 1, 8, 85, "F205"),
        // Laura Bianchi, 1999-12-31 (T), Torino (L219): upper bound 71.
        v("BNCLRA99T71L219W", "BNCLRA99T71L219W", true, 31, 12, 99, "L219"),
        // Giuseppe Verdi, 1913-10-10 (R), Busseto (B157).
        v("VRDGPP13R10B157Q", "VRDGPP13R10B157Q", false, 10, 10, 13, "B157"),
        // 29 February, year 00.
        v("RSSMRA00B29H501Y", "RSSMRA00B29H501Y", false, 29, 2, 0, "H501"),
        // Upper bound for men, month T.
        v("RSSMRA80T31H501K", "RSSMRA80T31H501K", false, 31, 12, 80, "H501"),
        // Foreign-born (Z404, USA), with FOX/BOX X-padded blocks.
        v("FOXBOX01C01Z404H", "FOXBOX01C01Z404H", false, 1, 3, 1, "Z404"),
        // Nicla De Luca, 1975-05-05 (E), Bari (A662): woman.
        v("DLCNCL75E45A662W", "DLCNCL75E45A662W", true, 5, 5, 75, "A662"),
        // Omocodia of RSSMRA80A01H501U, substituting from the right as the
        // Agenzia does (0→L, 1→M, 5→R, 8→U), check recomputed each time.
        v("RSSMRA80A01H50MM", "RSSMRA80A01H50MM", false, 1, 1, 80, "H501"),
        v("RSSMRA80A01H5LMX", "RSSMRA80A01H5LMX", false, 1, 1, 80, "H501"),
        v("RSSMRA80A01HRLMS", "RSSMRA80A01HRLMS", false, 1, 1, 80, "H501"),
        v("RSSMRA80A0MHRLMK", "RSSMRA80A0MHRLMK", false, 1, 1, 80, "H501"),
        v("RSSMRA80ALMHRLMV", "RSSMRA80ALMHRLMV", false, 1, 1, 80, "H501"),
        v("RSSMRA8LALMHRLMG", "RSSMRA8LALMHRLMG", false, 1, 1, 80, "H501"),
        v("RSSMRAULALMHRLMD", "RSSMRAULALMHRLMD", false, 1, 1, 80, "H501"),
        v("rssmra80a01h5lmx", "RSSMRA80A01H5LMX", false, 1, 1, 80, "H501"),
    ];

    #[test]
    fn valid_codes_parse_and_decode() {
        for case in VALID {
            let cf =
                CodiceFiscale::parse(case.input).unwrap_or_else(|e| panic!("{:?} should be valid: {e}", case.input));
            assert_eq!(cf.as_str(), case.code, "{}", case.input);
            assert_eq!(cf.to_string(), case.code, "{}", case.input);
            assert_eq!(cf.is_female(), case.female, "{}", case.input);
            assert_eq!(cf.birth_day(), case.day, "{}", case.input);
            assert_eq!(cf.birth_month(), case.month, "{}", case.input);
            assert_eq!(cf.birth_year_2digits(), case.year, "{}", case.input);
            assert_eq!(cf.place_code(), case.place, "{}", case.input);
            assert_eq!(case.input.parse::<CodiceFiscale>(), Ok(cf), "{}", case.input);
        }
    }

    #[test]
    fn check_char_matches_independent_values() {
        for case in VALID {
            let b = case.code.as_bytes();
            assert_eq!(char::from(check_char(&b[..15])), char::from(b[15]), "{}", case.code);
        }
    }

    #[test]
    fn omocodic_variants_are_distinct_codes() {
        let base = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        let omo = CodiceFiscale::parse("RSSMRAULALMHRLMD").unwrap();
        assert_ne!(base, omo);
    }

    #[test]
    fn invalid_codes_are_rejected() {
        use CfError::*;
        let f = |position, expected| Formato { position, expected };
        let cases: &[(&str, CfError)] = &[
            ("", Lunghezza { found: 0 }),
            ("   ", Lunghezza { found: 0 }),
            ("RSSMRA80A01H501", Lunghezza { found: 15 }),
            ("RSSMRA80A01H501UX", Lunghezza { found: 17 }),
            // Inner whitespace is not trimmed.
            ("RSSMRA80A01 H501U", Lunghezza { found: 17 }),
            // Multi-byte character: counted as one char, reported by position.
            ("RSSMRÀ80A01H501U", f(6, LETTER)),
            // Digit where a letter belongs (name block, month, place, check).
            ("RSS1RA80A01H501U", f(4, LETTER)),
            ("RSSMRA80101H501U", f(9, LETTER)),
            ("RSSMRA80A011501U", f(12, LETTER)),
            ("RSSMRA80A01H5010", f(16, LETTER)),
            // Letters that are not omocodia substitutes in numeric positions.
            ("RSSMRA8AA01H501U", f(8, DIGIT)),
            ("RSSMRA80A0KH501U", f(11, DIGIT)),
            ("RSSMRA80A01H50WU", f(15, DIGIT)),
            ("RSSMRA80A01H-01U", f(13, DIGIT)),
            // Wrong month letter; check char is correct for the rest.
            ("RSSMRA80F01H501G", Mese { found: 'F' }),
            // Day out of range (check chars correct, so only the day is wrong).
            ("RSSMRA80A32H501C", Giorno { found: 32 }),
            ("RSSMRA80A00H501V", Giorno { found: 0 }),
            ("RSSMRA80A40H501Z", Giorno { found: 40 }),
            ("RSSMRA80A72H501G", Giorno { found: 72 }),
            // Day 32 written with omocodia letters (P=3, N=2) is still 32.
            ("RSSMRA80APNH501D", Giorno { found: 32 }),
            // Wrong check character.
            ("RSSMRA80A01H501X", CarattereDiControllo { expected: 'U', found: 'X' }),
            // Omocodic code with the base code's check character.
            ("RSSMRA80A01H50MU", CarattereDiControllo { expected: 'M', found: 'U' }),
            // A single transposition is caught.
            ("SRSMRA80A01H501U", CarattereDiControllo { expected: 'X', found: 'U' }),
        ];
        for (input, expected) in cases {
            assert_eq!(CodiceFiscale::parse(input).as_ref(), Err(expected), "{input:?}");
        }
    }

    /// Days that do not exist in their month are refused; the check characters
    /// are right, so only the date is wrong. The year has two digits: 29
    /// February needs a year divisible by 4 (00 included, 2000 being leap).
    #[test]
    fn impossible_dates_are_refused() {
        use CfError::DataInesistente as D;
        let d = |day, month, year| D { day, month, year };
        let refused: &[(&str, CfError)] = &[
            ("RSSMRA80B30H501X", d(30, 2, 80)),
            ("RSSMRA80B31H501W", d(31, 2, 80)),
            ("RSSMRA81B29H501R", d(29, 2, 81)),
            ("RSSMRA99B29H501B", d(29, 2, 99)),
            ("RSSMRA00B30H501F", d(30, 2, 0)),
            ("RSSMRA80D31H501D", d(31, 4, 80)),
            ("RSSMRA80H31H501N", d(31, 6, 80)),
            ("RSSMRA80P31H501Z", d(31, 9, 80)),
            ("RSSMRA80S31H501I", d(31, 11, 80)),
            // Women: the day is +40.
            ("BNCMRA80B70F205K", d(30, 2, 80)),
            ("BNCMRA81B69F205E", d(29, 2, 81)),
            ("BNCMRA80D71F205Q", d(31, 4, 80)),
            ("BNCMRA84S71F205Z", d(31, 11, 84)),
            // 30 written with omocodia letters (P=3, L=0).
            ("RSSMRA80BPLH501M", d(30, 2, 80)),
        ];
        for (input, expected) in refused {
            assert_eq!(CodiceFiscale::parse(input).as_ref(), Err(expected), "{input:?}");
        }
        for ok in [
            "RSSMRA80B29H501Q", // 1980 is leap
            "RSSMRA00B29H501Y", // 2000 is leap
            "RSSMRA96B29H501Y",
            "RSSMRAULB29H501Y", // year 80 in omocodia letters
            "RSSMRA81B28H501P",
            "RSSMRA80D30H501E",
            "RSSMRA80L31H501A", // July
            "RSSMRA80M31H501O", // August
            "BNCMRA80B69F205D", // a woman born on 29 February 1980
            "BNCMRA84S70F205A", // 30 November
        ] {
            assert!(CodiceFiscale::parse(ok).is_ok(), "{ok} should be valid: {:?}", CodiceFiscale::parse(ok));
        }
        assert_eq!(d(31, 4, 80).to_string(), "data di nascita inesistente nel codice fiscale: 31 aprile");
        assert_eq!(
            d(29, 2, 81).to_string(),
            "data di nascita inesistente nel codice fiscale: 29 febbraio di un anno non bisestile («81»)"
        );
    }

    #[test]
    fn error_messages_are_italian_and_specific() {
        let cases: &[(CfError, &str)] = &[
            (CfError::Lunghezza { found: 15 }, "il codice fiscale deve essere lungo 16 caratteri (trovati 15)"),
            (
                CfError::Formato { position: 8, expected: DIGIT },
                "carattere non valido in posizione 8 del codice fiscale \
                 (attesa una cifra (o una lettera di omocodia L-V))",
            ),
            (
                CfError::Mese { found: 'F' },
                "lettera del mese «F» non valida nel codice fiscale \
                 (ammesse A B C D E H L M P R S T)",
            ),
            (
                CfError::Giorno { found: 0 },
                "giorno di nascita «00» non valido nel codice fiscale \
                 (ammessi 01-31 per gli uomini, 41-71 per le donne)",
            ),
            (
                CfError::CarattereDiControllo { expected: 'U', found: 'X' },
                "carattere di controllo del codice fiscale errato (atteso «U», trovato «X»)",
            ),
            (
                CfError::CognomeNonCorrisponde { expected: "RSS".into(), found: "BNC".into() },
                "il cognome non corrisponde al codice fiscale (attesi «RSS», trovati «BNC»)",
            ),
            (
                CfError::NomeNonCorrisponde { expected: "MRA".into(), found: "LCU".into() },
                "il nome non corrisponde al codice fiscale (attesi «MRA», trovati «LCU»)",
            ),
        ];
        for (err, msg) in cases {
            assert_eq!(err.to_string(), *msg);
        }
    }

    // Expected blocks were derived by hand from the rules and cross-checked
    // with the Python reference.
    #[test]
    fn surname_blocks() {
        let cases = [
            ("Rossi", "RSS"),
            ("Bianchi", "BNC"),
            ("Verdi", "VRD"),
            ("Fo", "FOX"),        // F, then O, then padding
            ("Eva", "VEA"),       // V, then E A
            ("De Luca", "DLC"),   // space ignored
            ("D'Amico", "DMC"),   // apostrophe ignored
            ("D’Amico", "DMC"),   // typographic apostrophe too
            ("Dell'Orto", "DLL"), // double consonant kept
            ("Lo Presti", "LPR"),
            ("Rossi-Bianchi", "RSS"), // hyphen ignored
            ("Bo", "BOX"),
            ("Ai", "AIX"),
            ("O", "OXX"),
            ("", "XXX"),
            ("rossi", "RSS"),
            ("  ROSSI  ", "RSS"),
            ("Mazzà", "MZZ"),
            ("Yu", "YUX"), // Y is a consonant
        ];
        for (input, expected) in cases {
            assert_eq!(surname_code(input), expected, "{input:?}");
        }
    }

    #[test]
    fn name_blocks() {
        let cases = [
            ("Mario", "MRA"),
            ("Maria", "MRA"),
            ("Gianfranco", "GFR"), // G N F R N C: 1st, 3rd, 4th
            ("Francesco", "FNC"),  // F R N C S C
            ("Alessandro", "LSN"), // L S S N D R
            ("Giuseppe", "GPP"),   // exactly 4 consonants: G S P P
            ("Maria Grazia", "MGR"),
            ("Niccolò", "NCL"),        // N C C L: 4 consonants
            ("Nicolò", "NCL"),         // N C L: only 3, plain rule
            ("Niccolo\u{300}", "NCL"), // decomposed accent
            ("Luca", "LCU"),
            ("Eva", "VEA"),
            ("Ugo", "GUO"),
            ("Ai", "AIX"),
            ("Li", "LIX"),
            ("José", "JSO"),
            ("Jean-Luc", "JLC"), // J N L C: 1st, 3rd, 4th
            ("Kyle", "KYL"),
            ("", "XXX"),
        ];
        for (input, expected) in cases {
            assert_eq!(name_code(input), expected, "{input:?}");
        }
    }

    #[test]
    fn matches_name_table() {
        use CfError::*;
        let cases: &[(&str, &str, &str, Result<(), CfError>)] = &[
            ("RSSMRA80A01H501U", "Mario", "Rossi", Ok(())),
            ("RSSMRA80A01H501U", "MARIO", "rossi", Ok(())),
            // Name blocks are not touched by omocodia.
            ("RSSMRAULALMHRLMD", "Mario", "Rossi", Ok(())),
            ("DLCNCL75E45A662W", "Nicla", "De Luca", Ok(())),
            ("FOXBOX01C01Z404H", "Bo", "Fo", Ok(())),
            (
                "RSSMRA80A01H501U",
                "Mario",
                "Bianchi",
                Err(CognomeNonCorrisponde { expected: "BNC".into(), found: "RSS".into() }),
            ),
            (
                "RSSMRA80A01H501U",
                "Luca",
                "Rossi",
                Err(NomeNonCorrisponde { expected: "LCU".into(), found: "MRA".into() }),
            ),
            // Surname is reported first when both are wrong.
            (
                "RSSMRA80A01H501U",
                "Luca",
                "Bianchi",
                Err(CognomeNonCorrisponde { expected: "BNC".into(), found: "RSS".into() }),
            ),
        ];
        for (code, nome, cognome, expected) in cases {
            let cf = CodiceFiscale::parse(code).unwrap();
            assert_eq!(&cf.matches_name(nome, cognome), expected, "{code} {nome} {cognome}");
        }
    }

    #[test]
    fn deserialize_validates_and_normalises() {
        let de = |s| CodiceFiscale::deserialize(StrDeserializer::<DeError>::new(s));

        let cf = de(" rssmra80a01h501u ").unwrap();
        assert_eq!(cf.as_str(), "RSSMRA80A01H501U");

        let err = de("RSSMRA80A01H501X").unwrap_err();
        assert_eq!(err.to_string(), CfError::CarattereDiControllo { expected: 'U', found: 'X' }.to_string());
        assert!(de("RSSMRA80A32H501C").is_err());
    }

    #[test]
    fn serializes_as_plain_string() {
        // `into = "String"` means serialisation goes through this impl.
        let cf = CodiceFiscale::parse("rssmra80a01h5lmx").unwrap();
        assert_eq!(String::from(cf), "RSSMRA80A01H5LMX");
    }
}
