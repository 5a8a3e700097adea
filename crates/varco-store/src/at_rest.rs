//! Private keys at rest: the voucher signing keys and SelfCare's identity-token key
//! are sealed with AES-256-GCM under a key-encryption key (KEK) from the operator's
//! configuration, never from the database, so a copy of the database (a backup, a
//! dump, a stolen disk) holds no usable key.
//!
//! A sealed value is `v1:` + base64(nonce ‖ ciphertext ‖ tag). The additional data
//! names the row (table, environment, kid), so a sealed key copied into another row
//! does not open there. A marker row (`key_encryption`) holds a sealed check value:
//! it says that the database's keys are encrypted (so a start without the KEK stops
//! instead of making new keys) and lets a wrong KEK be told apart even when no key
//! row exists yet.
use crate::{Result, Store, StoreError};
use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sqlx::Row;
use std::fmt;

/// Prefix of a sealed value; a PEM starts with `-----`, so the two never mix up.
pub(crate) const SEALED_PREFIX: &str = "v1:";

/// What the marker row seals.
pub(crate) const CHECK_PLAINTEXT: &[u8] = b"varco key-encryption check";
pub(crate) const CHECK_AAD: &str = "varco/key_encryption/check";

/// The operator's key-encryption key: 32 bytes. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct KeyEncryptionKey {
    bytes: [u8; 32],
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey(***)")
    }
}

impl KeyEncryptionKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        KeyEncryptionKey { bytes }
    }

    /// Parses the configured text: 64 hexadecimal digits, or standard base64 of the
    /// 32 bytes (44 characters with its `=`), surrounding whitespace ignored. The
    /// error says which forms are accepted and what was wrong, never the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        const FORMS: &str = "32 bytes written as 64 hexadecimal digits or as base64 (44 characters), \
                             e.g. the output of `openssl rand -base64 32`";
        if t.is_empty() {
            return Err(format!("the key-encryption key is empty: it must be {FORMS}"));
        }
        // Only hexadecimal digits: meant as hex (base64 of 32 bytes ends with `=`).
        let bytes = if t.bytes().all(|b| b.is_ascii_hexdigit()) {
            if t.len() != 64 {
                return Err(format!(
                    "the key-encryption key has {} hexadecimal digits, not 64: it must be {FORMS}",
                    t.len()
                ));
            }
            (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).expect("hex digits")).collect::<Vec<u8>>()
        } else {
            STANDARD
                .decode(t)
                .map_err(|_| format!("the key-encryption key is neither hexadecimal nor base64: it must be {FORMS}"))?
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!("the key-encryption key is {} bytes long (as base64), not 32: it must be {FORMS}", b.len())
        })?;
        Ok(KeyEncryptionKey { bytes })
    }

    fn aead(&self) -> RandomizedNonceKey {
        RandomizedNonceKey::new(&AES_256_GCM, &self.bytes).expect("a 32-byte key is an AES-256 key")
    }

    /// Seals `plaintext` for the row named by `aad`.
    pub(crate) fn seal(&self, aad: &str, plaintext: &[u8]) -> String {
        let mut buf = plaintext.to_vec();
        let nonce = self
            .aead()
            .seal_in_place_append_tag(Aad::from(aad.as_bytes()), &mut buf)
            .expect("AES-GCM sealing does not fail on a valid key");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens a value sealed for the row named by `aad`; `None` when it was sealed
    /// with another key, for another row, or was altered.
    pub(crate) fn open(&self, aad: &str, sealed: &str) -> Option<Vec<u8>> {
        let raw = STANDARD.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = self.aead().open_in_place(nonce, Aad::from(aad.as_bytes()), &mut rest).ok()?;
        Some(plain.to_vec())
    }
}

pub(crate) fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_PREFIX)
}

/// The additional data of a voucher signing key's row.
pub(crate) fn signing_key_aad(env: &str, kid: &str) -> String {
    format!("varco/signing_keys/{env}/{kid}")
}

/// The additional data of a SelfCare key's row.
pub(crate) fn selfcare_key_aad(kid: &str) -> String {
    format!("varco/selfcare_keys/{kid}")
}

/// A private key as PKCS#8 PEM, in memory after decryption. It derefs to the PEM
/// for parsing; its `Debug` shows only its length, so no log line or panic message
/// carries key material.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivatePem(String);

impl PrivatePem {
    pub fn new(pem: String) -> Self {
        PrivatePem(pem)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for PrivatePem {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivatePem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivatePem(*** {} bytes)", self.0.len())
    }
}

/// A stored private key, as [`Store::keys_at_rest`] walks them.
struct StoredKey {
    /// `None` for SelfCare's key (table `selfcare_keys`).
    env: Option<String>,
    kid: String,
    value: String,
}

impl StoredKey {
    fn aad(&self) -> String {
        match &self.env {
            Some(env) => signing_key_aad(env, &self.kid),
            None => selfcare_key_aad(&self.kid),
        }
    }

    fn name(&self) -> String {
        match &self.env {
            Some(env) => format!("the signing key {} of {env}", self.kid),
            None => format!("SelfCare's identity-token key {}", self.kid),
        }
    }
}

impl Store {
    /// At open: with a key-encryption key, checks that every sealed key opens with it
    /// and seals the ones still in plaintext (one transaction, with the marker);
    /// without one, refuses a database whose keys are sealed. Either refusal leaves
    /// the database as it was, so no key is ever made in place of one that could not
    /// be read.
    pub(crate) async fn keys_at_rest(&self) -> Result<()> {
        let mut stored = Vec::new();
        for r in sqlx::query("SELECT env, kid, private_pem FROM signing_keys ORDER BY env, created_ms, kid")
            .fetch_all(&self.pool)
            .await?
        {
            stored.push(StoredKey {
                env: Some(r.try_get("env")?),
                kid: r.try_get("kid")?,
                value: r.try_get("private_pem")?,
            });
        }
        for r in sqlx::query("SELECT kid, private_pem FROM selfcare_keys ORDER BY created_ms, kid")
            .fetch_all(&self.pool)
            .await?
        {
            stored.push(StoredKey { env: None, kid: r.try_get("kid")?, value: r.try_get("private_pem")? });
        }
        // A revoked key's row keeps no private half: nothing to seal or open.
        stored.retain(|k| !k.value.is_empty());
        let marker = sqlx::query("SELECT check_value FROM key_encryption WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get::<String, _>("check_value"))
            .transpose()?;
        let Some(kek) = self.kek() else {
            if let Some(k) = stored.iter().find(|k| is_sealed(&k.value)) {
                return Err(StoreError::KeysAtRest(format!(
                    "{} is encrypted at rest and no key-encryption key was given",
                    k.name()
                )));
            }
            if marker.is_some() {
                return Err(StoreError::KeysAtRest(
                    "the database's private keys are encrypted at rest and no key-encryption key was given".into(),
                ));
            }
            return Ok(());
        };
        for k in stored.iter().filter(|k| is_sealed(&k.value)) {
            if kek.open(&k.aad(), &k.value).is_none() {
                return Err(StoreError::KeysAtRest(format!(
                    "{} does not decrypt with the key-encryption key given: it is not the key the database's \
                     keys were encrypted with (or the row was altered); nothing was changed and no key was made",
                    k.name()
                )));
            }
        }
        let wrong_key = || {
            StoreError::KeysAtRest(
                "the key-encryption key given is not the one the database's private keys were encrypted with; \
                 nothing was changed and no key was made"
                    .into(),
            )
        };
        if let Some(check) = &marker {
            if kek.open(CHECK_AAD, check).as_deref() != Some(CHECK_PLAINTEXT) {
                return Err(wrong_key());
            }
        }
        let plain: Vec<&StoredKey> = stored.iter().filter(|k| !is_sealed(&k.value)).collect();
        if marker.is_some() && plain.is_empty() {
            return Ok(());
        }
        let _turn = self.write_guard().await;
        let mut tx = self.begin_write().await?;
        // Another replica starting at the same moment may seal them too: each
        // update only replaces the plaintext it read, and the marker is written once.
        sqlx::query(
            "INSERT INTO key_encryption (id, check_value, created_ms) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(kek.seal(CHECK_AAD, CHECK_PLAINTEXT))
        .bind(chrono::Utc::now().timestamp_millis())
        .execute(&mut *tx)
        .await?;
        for k in &plain {
            let sealed = kek.seal(&k.aad(), k.value.as_bytes());
            match &k.env {
                Some(env) => sqlx::query(
                    "UPDATE signing_keys SET private_pem = $1 WHERE env = $2 AND kid = $3 AND private_pem = $4",
                )
                .bind(sealed)
                .bind(env.clone()),
                None => sqlx::query("UPDATE selfcare_keys SET private_pem = $1 WHERE kid = $2 AND private_pem = $3")
                    .bind(sealed),
            }
            .bind(k.kid.clone())
            .bind(k.value.clone())
            .execute(&mut *tx)
            .await?;
        }
        // Whoever wrote the marker, it must be ours.
        let check: String =
            sqlx::query("SELECT check_value FROM key_encryption WHERE id = 1").fetch_one(&mut *tx).await?.try_get(0)?;
        if kek.open(CHECK_AAD, &check).as_deref() != Some(CHECK_PLAINTEXT) {
            return Err(wrong_key());
        }
        tx.commit().await?;
        if !plain.is_empty() {
            tracing::info!(keys = plain.len(), "private keys stored in plaintext are now encrypted at rest");
        }
        Ok(())
    }
}

/// Makes the SQLite database of `url` readable and writable by its owner only: a
/// new file is created with mode 0600 before SQLite opens it (SQLite gives its `-wal`
/// and `-shm` files the database file's mode, so they follow), and an existing one,
/// with its `-wal` and `-shm`, loses any group or other permission. Rather than the
/// process umask, which would also change every other file the process (or a test
/// harness running many servers) creates. A file that cannot be changed (owned by
/// someone else) is reported, not fatal: the operator chose where it lives.
pub(crate) fn sqlite_file_modes(url: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path.starts_with(":memory:") || query.split('&').any(|p| p == "mode=memory") {
            return;
        }
        if query.split('&').any(|p| p == "mode=rwc") {
            let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
            if let Err(e) = created {
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    tracing::warn!(path, error = %e, "cannot create the database file");
                }
            }
        }
        for file in [path.to_string(), format!("{path}-wal"), format!("{path}-shm")] {
            let Ok(meta) = std::fs::metadata(&file) else { continue };
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700)) {
                    Ok(()) => tracing::info!(file, "database file made readable by its owner only (0600)"),
                    Err(e) => tracing::warn!(file, error = %e, "the database file is readable by others"),
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = url;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_text_forms_give_the_same_key_and_bad_lengths_are_refused() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let b64 = STANDARD.encode(
            [[0x00u8, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77], [0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]]
                .concat()
                .repeat(2),
        );
        let (a, b) = (KeyEncryptionKey::parse(hex).unwrap(), KeyEncryptionKey::parse(&format!(" {b64}\n")).unwrap());
        assert_eq!(a.bytes, b.bytes);
        let sealed = a.seal("x", b"secret");
        assert_eq!(b.open("x", &sealed).as_deref(), Some(&b"secret"[..]));
        assert!(b.open("y", &sealed).is_none(), "another row's additional data does not open it");
        let e = KeyEncryptionKey::parse(&hex[..62]).unwrap_err();
        assert!(e.contains("62 hexadecimal digits, not 64"), "{e}");
        let e = KeyEncryptionKey::parse(&STANDARD.encode([1u8; 16])).unwrap_err();
        assert!(e.contains("16 bytes long"), "{e}");
        let e = KeyEncryptionKey::parse("not a key!").unwrap_err();
        assert!(e.contains("neither hexadecimal nor base64"), "{e}");
        assert!(KeyEncryptionKey::parse(" ").unwrap_err().contains("empty"));
        assert_eq!(format!("{a:?}"), "KeyEncryptionKey(***)");
    }
}
