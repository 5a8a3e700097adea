use varco_domain::Env;

/// Where an environment is reachable and the names it signs with. Everything here is
/// configuration: defaults are derived from one public base URL, in PDND's style
/// (issuer and audiences without scheme).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EnvConfig {
    pub env: Env,
    /// e.g. `http://127.0.0.1:8080/interop/collaudo`
    pub base_url: String,
    pub token_url: String,
    pub jwks_url: String,
    pub api_v2_url: String,
    pub api_v3_url: String,
    /// `iss` of vouchers.
    pub issuer: String,
    /// The `aud` client assertions must carry.
    pub client_assertion_audience: String,
    /// The `aud` of API (M2M) vouchers.
    pub m2m_audience: String,
    /// The `aud` of SelfCare's identity tokens for this environment's back office.
    pub backoffice_audience: String,
}

/// `host[:port]/path` of a URL: PDND's issuers and audiences carry no scheme.
pub fn without_scheme(url: &str) -> &str {
    url.split_once("://").map(|(_, rest)| rest).unwrap_or(url)
}

impl EnvConfig {
    /// Defaults for `env` under a public base URL such as `http://127.0.0.1:8080`.
    pub fn derive(env: Env, public_url: &str) -> EnvConfig {
        let root = public_url.trim_end_matches('/');
        let base_url = format!("{root}/interop/{}", env.slug());
        let no_scheme = without_scheme(&base_url).to_string();
        EnvConfig {
            env,
            token_url: format!("{base_url}/token.oauth2"),
            jwks_url: format!("{base_url}/.well-known/jwks.json"),
            api_v2_url: format!("{base_url}/api/v2"),
            api_v3_url: format!("{base_url}/api/v3"),
            issuer: no_scheme.clone(),
            client_assertion_audience: format!("{no_scheme}/client-assertion"),
            m2m_audience: format!("{no_scheme}/m2m"),
            backoffice_audience: format!("{no_scheme}/ui"),
            base_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn defaults_follow_pdnd_style_and_differ_per_env() {
        let c = EnvConfig::derive(Env::Collaudo, "https://varco.example.org/");
        assert_eq!(c.token_url, "https://varco.example.org/interop/collaudo/token.oauth2");
        assert_eq!(c.client_assertion_audience, "varco.example.org/interop/collaudo/client-assertion");
        assert_eq!(c.issuer, "varco.example.org/interop/collaudo");
        let p = EnvConfig::derive(Env::Produzione, "https://varco.example.org");
        assert_ne!(p.issuer, c.issuer);
        assert_ne!(p.client_assertion_audience, c.client_assertion_audience);
    }
}
