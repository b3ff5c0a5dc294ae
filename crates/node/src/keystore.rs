//! Keys on disk, one JSON file per key in `HOME/keys/NAME.json`, readable only by their owner.
//!
//! A key is either **encrypted** — its 32-byte ed25519 seed sealed with XChaCha20-Poly1305 under
//! a key derived from a passphrase with Argon2id (64 MiB, 3 passes by default; the parameters are
//! stored in the file) and the public key as associated data — or **plain**, for devnets and for
//! keys a process must use unattended (a validator's, a faucet's). Plain files say so in a
//! `warning` field, and `groundwork keys list` shows it.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use groundwork_primitives::{Address, PublicKey, SigningKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The default: 64 MiB, 3 passes, 1 lane (about a third of a second here).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// Cheap parameters for tests only.
    pub const INSECURE_FAST: KdfParams = KdfParams {
        m_cost_kib: 256,
        t_cost: 1,
        p_cost: 1,
    };
}

/// How a new key is kept.
#[derive(Debug, Clone, Copy)]
pub enum Protection<'a> {
    /// Sealed under this passphrase with these KDF costs.
    Passphrase(&'a str, KdfParams),
    /// Unencrypted (devnets, unattended validator and faucet keys).
    Plain,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    kdf: String,
    params: KdfParams,
    salt: String,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyFile {
    name: String,
    address: Address,
    public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plain_seed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warning: Option<String>,
}

/// What `keys list` and `keys show` print about a key (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// The key's name.
    pub name: String,
    /// Its account address.
    pub address: Address,
    /// Its public key, hex.
    pub public_key: String,
    /// Whether a passphrase protects it.
    pub encrypted: bool,
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// No key by that name.
    #[error("no key named {0:?}: `groundwork keys list` shows the keys there are")]
    NotFound(String),
    /// A key by that name exists already.
    #[error("a key named {0:?} exists already; choose another name or delete its file first")]
    Exists(String),
    /// The name has characters we do not allow in file names.
    #[error("key names use letters, digits, '-' and '_' (1 to 64 of them); {0:?} does not")]
    BadName(String),
    /// Wrong passphrase, or a damaged file.
    #[error("cannot decrypt key {0:?}: wrong passphrase, or the file was altered")]
    Decrypt(String),
    /// The file is not a key file.
    #[error("key file {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The key is encrypted and no passphrase was given.
    #[error("key {0:?} is encrypted: give its passphrase (prompt or GROUNDWORK_PASSPHRASE)")]
    NeedsPassphrase(String),
    /// File system trouble.
    #[error("key store I/O at {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// The key folder.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeystoreError + '_ {
    move |source| KeystoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn check_name(name: &str) -> Result<(), KeystoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(KeystoreError::BadName(name.to_string()))
    }
}

fn derive_key(passphrase: &str, salt: &[u8], params: KdfParams) -> Result<[u8; 32], String> {
    let argon_params =
        argon2::Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))
            .map_err(|e| e.to_string())?;
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    );
    let mut key = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| e.to_string())?;
    Ok(key)
}

impl Keystore {
    /// The key store in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Keystore {
        Keystore { dir: dir.into() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Stores `key` under `name`; refuses to overwrite.
    pub fn add(
        &self,
        name: &str,
        key: &SigningKey,
        protection: Protection<'_>,
    ) -> Result<KeyInfo, KeystoreError> {
        check_name(name)?;
        let path = self.path(name);
        if path.exists() {
            return Err(KeystoreError::Exists(name.to_string()));
        }
        let public = key.public_key();
        let mut seed = key.seed();
        let (sealed, plain_seed, warning) = match protection {
            Protection::Plain => (
                None,
                Some(hex::encode(seed)),
                Some("UNENCRYPTED: anyone who can read this file controls the account. Devnets and unattended services only.".to_string()),
            ),
            Protection::Passphrase(passphrase, params) => {
                let mut salt = [0u8; 16];
                rand::fill(&mut salt);
                let mut nonce = [0u8; 24];
                rand::fill(&mut nonce);
                let mut derived = derive_key(passphrase, &salt, params)
                    .map_err(|reason| KeystoreError::Damaged { path: path.display().to_string(), reason })?;
                let cipher = XChaCha20Poly1305::new(&derived.into());
                derived.zeroize();
                let ciphertext = cipher
                    .encrypt(&XNonce::from(nonce), Payload { msg: &seed, aad: public.as_bytes() })
                    .map_err(|_| KeystoreError::Decrypt(name.to_string()))?;
                let sealed = Sealed {
                    kdf: "argon2id".into(),
                    params,
                    salt: hex::encode(salt),
                    cipher: "xchacha20poly1305".into(),
                    nonce: hex::encode(nonce),
                    ciphertext: hex::encode(ciphertext),
                };
                (Some(sealed), None, None)
            }
        };
        seed.zeroize();
        let file = KeyFile {
            name: name.to_string(),
            address: Address::from_public_key(&public),
            public_key: hex::encode(public.as_bytes()),
            sealed,
            plain_seed,
            warning,
        };
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let text = serde_json::to_string_pretty(&file).map_err(|e| KeystoreError::Damaged {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        write_private(&path, text.as_bytes())?;
        Ok(info(&file))
    }

    /// Every key, by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeystoreError> {
        let mut keys = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(io(&self.dir))?.path();
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                keys.push(info(&read_file(&path)?));
            }
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    /// One key's public facts.
    pub fn show(&self, name: &str) -> Result<KeyInfo, KeystoreError> {
        check_name(name)?;
        Ok(info(&self.read(name)?))
    }

    /// Whether the key needs a passphrase.
    pub fn is_encrypted(&self, name: &str) -> Result<bool, KeystoreError> {
        Ok(self.read(name)?.sealed.is_some())
    }

    /// Loads the secret key, decrypting it with `passphrase` when it is sealed.
    pub fn load(&self, name: &str, passphrase: Option<&str>) -> Result<SigningKey, KeystoreError> {
        check_name(name)?;
        let file = self.read(name)?;
        let path = self.path(name);
        let damaged = |reason: String| KeystoreError::Damaged {
            path: path.display().to_string(),
            reason,
        };
        let mut seed = match (&file.sealed, &file.plain_seed) {
            (Some(sealed), _) => {
                let passphrase =
                    passphrase.ok_or_else(|| KeystoreError::NeedsPassphrase(name.to_string()))?;
                let salt = hex::decode(&sealed.salt).map_err(|e| damaged(format!("salt: {e}")))?;
                let nonce: [u8; 24] = hex::decode(&sealed.nonce)
                    .map_err(|e| damaged(format!("nonce: {e}")))?
                    .try_into()
                    .map_err(|_| damaged("nonce is not 24 bytes".into()))?;
                let ciphertext = hex::decode(&sealed.ciphertext)
                    .map_err(|e| damaged(format!("ciphertext: {e}")))?;
                let public = hex::decode(&file.public_key)
                    .map_err(|e| damaged(format!("public key: {e}")))?;
                let mut derived = derive_key(passphrase, &salt, sealed.params).map_err(damaged)?;
                let cipher = XChaCha20Poly1305::new(&derived.into());
                derived.zeroize();
                cipher
                    .decrypt(
                        &XNonce::from(nonce),
                        Payload {
                            msg: &ciphertext,
                            aad: &public,
                        },
                    )
                    .map_err(|_| KeystoreError::Decrypt(name.to_string()))?
            }
            (None, Some(plain)) => hex::decode(plain).map_err(|e| damaged(format!("seed: {e}")))?,
            (None, None) => return Err(damaged("holds neither a sealed nor a plain key".into())),
        };
        let key = SigningKey::from_seed_slice(&seed).map_err(|e| damaged(e.to_string()));
        seed.zeroize();
        let key = key?;
        if hex::encode(key.public_key().as_bytes()) != file.public_key {
            return Err(damaged(
                "the secret does not match the recorded public key".into(),
            ));
        }
        Ok(key)
    }

    fn read(&self, name: &str) -> Result<KeyFile, KeystoreError> {
        let path = self.path(name);
        if !path.exists() {
            return Err(KeystoreError::NotFound(name.to_string()));
        }
        read_file(&path)
    }
}

fn read_file(path: &Path) -> Result<KeyFile, KeystoreError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|e| KeystoreError::Damaged {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn info(file: &KeyFile) -> KeyInfo {
    KeyInfo {
        name: file.name.clone(),
        address: file.address,
        public_key: file.public_key.clone(),
        encrypted: file.sealed.is_some(),
    }
}

/// Writes a file readable only by its owner, atomically (temporary file, fsync, rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeystoreError> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))
}

/// The public key of a stored key, parsed.
pub fn public_key_of(info: &KeyInfo) -> Option<PublicKey> {
    hex::decode(&info.public_key)
        .ok()
        .and_then(|b| PublicKey::ed25519(&b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_key_opens_only_with_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        let key = SigningKey::from_seed([9; 32]);
        let info = store
            .add(
                "alice",
                &key,
                Protection::Passphrase("correct horse", KdfParams::INSECURE_FAST),
            )
            .unwrap();
        assert!(info.encrypted);
        let text = std::fs::read_to_string(dir.path().join("alice.json")).unwrap();
        assert!(
            !text.contains(&hex::encode([9u8; 32])),
            "the seed must not appear in the file"
        );
        assert_eq!(
            store.load("alice", Some("correct horse")).unwrap().seed(),
            [9; 32]
        );
        assert!(matches!(
            store.load("alice", Some("wrong")),
            Err(KeystoreError::Decrypt(_))
        ));
        assert!(matches!(
            store.load("alice", None),
            Err(KeystoreError::NeedsPassphrase(_))
        ));
    }

    #[test]
    fn a_plain_key_is_marked_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        store
            .add("dev", &SigningKey::from_seed([1; 32]), Protection::Plain)
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("dev.json")).unwrap();
        assert!(text.contains("UNENCRYPTED"));
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert!(!listed[0].encrypted);
        assert_eq!(store.load("dev", None).unwrap().seed(), [1; 32]);
    }

    #[test]
    fn names_are_checked_and_keys_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        let key = SigningKey::from_seed([1; 32]);
        assert!(matches!(
            store.add("../evil", &key, Protection::Plain),
            Err(KeystoreError::BadName(_))
        ));
        store.add("a", &key, Protection::Plain).unwrap();
        assert!(matches!(
            store.add("a", &key, Protection::Plain),
            Err(KeystoreError::Exists(_))
        ));
        assert!(matches!(
            store.load("b", None),
            Err(KeystoreError::NotFound(_))
        ));
    }

    #[test]
    fn a_tampered_ciphertext_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Keystore::new(dir.path());
        store
            .add(
                "k",
                &SigningKey::from_seed([2; 32]),
                Protection::Passphrase("p", KdfParams::INSECURE_FAST),
            )
            .unwrap();
        let path = dir.path().join("k.json");
        let mut file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ct = file["sealed"]["ciphertext"].as_str().unwrap().to_string();
        let flipped = format!("{}{}", if &ct[..1] == "0" { "1" } else { "0" }, &ct[1..]);
        file["sealed"]["ciphertext"] = serde_json::Value::String(flipped);
        std::fs::write(&path, file.to_string()).unwrap();
        assert!(matches!(
            store.load("k", Some("p")),
            Err(KeystoreError::Decrypt(_))
        ));
    }
}
