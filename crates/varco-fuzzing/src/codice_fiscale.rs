//! Target `codice_fiscale`: the parser of codici fiscali and the check of the name
//! blocks against a person's names.
//!
//! Input: UTF-8 (lossy) `code`, optionally followed by `\n nome \n cognome`.
use varco_selfcare::codice_fiscale::{name_code, surname_code, CfError, CodiceFiscale};

use crate::assert_message;

pub fn codice_fiscale(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let code = parts.next().unwrap_or_default();
    let nome = parts.next();
    let cognome = parts.next();

    for block in [nome.map(name_code), cognome.map(surname_code)].into_iter().flatten() {
        assert!(block.len() == 3 && block.bytes().all(|b| b.is_ascii_uppercase()), "name block {block:?}");
    }

    let normalised = code.trim().to_uppercase();
    match CodiceFiscale::parse(code) {
        Ok(cf) => {
            // The parsed code is the input, trimmed and upper-cased, and nothing else.
            assert_eq!(cf.as_str(), normalised);
            assert_eq!(cf.to_string(), normalised);
            let b = cf.as_str().as_bytes();
            assert!(b.len() == 16 && b.iter().all(|c| c.is_ascii_alphanumeric()), "{:?}", cf.as_str());
            assert_eq!(CodiceFiscale::parse(cf.as_str()).as_ref(), Ok(&cf), "parsing is not idempotent");
            if code.is_ascii() {
                assert_eq!(CodiceFiscale::parse(&code.to_ascii_lowercase()).as_ref(), Ok(&cf));
            }
            assert!((1..=31).contains(&cf.birth_day()));
            assert!((1..=12).contains(&cf.birth_month()));
            assert!(cf.birth_year_2digits() < 100);
            let place = cf.place_code();
            let p = place.as_bytes();
            assert!(p.len() == 4 && p[0].is_ascii_uppercase() && p[1..].iter().all(u8::is_ascii_digit), "{place}");
            // The check character is checked: any other letter in its place is refused.
            let check = b[15];
            let other = if check == b'Z' { b'A' } else { check + 1 };
            let mut wrong = cf.as_str().to_string();
            wrong.replace_range(15..16, &char::from(other).to_string());
            assert_eq!(
                CodiceFiscale::parse(&wrong),
                Err(CfError::CarattereDiControllo { expected: char::from(check), found: char::from(other) })
            );
            // serde validates and round-trips.
            let json = serde_json::to_string(&cf).expect("serialises");
            assert_eq!(serde_json::from_str::<CodiceFiscale>(&json).expect("deserialises"), cf);
            if let (Some(nome), Some(cognome)) = (nome, cognome) {
                let want_ok = surname_code(cognome) == cf.as_str()[0..3] && name_code(nome) == cf.as_str()[3..6];
                match cf.matches_name(nome, cognome) {
                    Ok(()) => assert!(want_ok, "names accepted that do not give the code's blocks"),
                    Err(e) => {
                        assert!(!want_ok, "names refused that give the code's blocks: {e}");
                        assert_message("name error", &e.to_string());
                    }
                }
            }
        }
        Err(e) => {
            match &e {
                CfError::Lunghezza { found } => {
                    assert_ne!(*found, 16);
                    assert_eq!(*found, normalised.chars().count());
                }
                CfError::Formato { position, .. } => assert!((1..=16).contains(position)),
                CfError::CarattereDiControllo { expected, found } => assert_ne!(expected, found),
                _ => {}
            }
            assert_message("error", &e.to_string());
            // serde refuses what parse refuses.
            let json = serde_json::to_string(code).expect("a string serialises");
            assert!(serde_json::from_str::<CodiceFiscale>(&json).is_err(), "serde accepted what parse refuses");
        }
    }
}
