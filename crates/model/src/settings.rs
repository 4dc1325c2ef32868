//! Application settings, stored as one JSON object under the `settings` key `app_settings`.
//!
//! The JSON keys are exactly the field names. Every key may be absent (it then takes its
//! default), unknown keys such as the retired `verbose_logging` are ignored, and
//! serialising writes every field, absent optionals as `null`.
//!
//! ```
//! use skill_builder_model::AppSettings;
//!
//! let settings: AppSettings =
//!     serde_json::from_str(r#"{"workspace_path": "/ws", "verbose_logging": true}"#)?;
//! assert_eq!(settings.workspace_path.as_deref(), Some("/ws"));
//! assert_eq!(settings.log_level, "info");
//! assert_eq!(settings.max_dimensions, 5);
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `settings` table key under which [`AppSettings`] is stored.
pub const APP_SETTINGS_KEY: &str = "app_settings";

/// Default of [`AppSettings::log_level`].
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// Default of [`AppSettings::max_dimensions`].
pub const DEFAULT_MAX_DIMENSIONS: u32 = 5;

/// The whole settings record of the application.
///
/// `Debug` is written by hand and never prints the two secrets
/// ([`anthropic_api_key`](Self::anthropic_api_key) and
/// [`github_oauth_token`](Self::github_oauth_token)); they are shown as
/// `Some("<redacted>")` or `None`. They are stored in the JSON blob in plain text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    /// Anthropic API key (secret).
    pub anthropic_api_key: Option<String>,
    /// Workspace directory.
    pub workspace_path: Option<String>,
    /// Skills library directory.
    pub skills_path: Option<String>,
    /// Model chosen by the user.
    pub preferred_model: Option<String>,
    /// Debug mode switch. Default `false`.
    pub debug_mode: bool,
    /// Log level: one of `error`, `warn`, `info`, `debug` (not validated). Default `"info"`.
    pub log_level: String,
    /// Extended-context switch. Default `false`.
    pub extended_context: bool,
    /// Extended-thinking switch. Default `false`.
    pub extended_thinking: bool,
    /// Whether the splash screen has been shown. Default `false`.
    pub splash_shown: bool,
    /// GitHub OAuth token (secret).
    pub github_oauth_token: Option<String>,
    /// Login of the signed-in GitHub user.
    pub github_user_login: Option<String>,
    /// Avatar URL of the signed-in GitHub user.
    pub github_user_avatar: Option<String>,
    /// E-mail address of the signed-in GitHub user.
    pub github_user_email: Option<String>,
    /// Marketplace URL.
    pub marketplace_url: Option<String>,
    /// Maximum number of research dimensions. Default `5`.
    pub max_dimensions: u32,
    /// The user's industry.
    pub industry: Option<String>,
    /// The user's function or role.
    pub function_role: Option<String>,
    /// Dashboard layout: `grid`, `list`, or `None` to choose by skill count.
    pub dashboard_view_mode: Option<String>,
    /// Apply marketplace updates at startup. Default `false`.
    pub auto_update: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            anthropic_api_key: None,
            workspace_path: None,
            skills_path: None,
            preferred_model: None,
            debug_mode: false,
            log_level: DEFAULT_LOG_LEVEL.to_owned(),
            extended_context: false,
            extended_thinking: false,
            splash_shown: false,
            github_oauth_token: None,
            github_user_login: None,
            github_user_avatar: None,
            github_user_email: None,
            marketplace_url: None,
            max_dimensions: DEFAULT_MAX_DIMENSIONS,
            industry: None,
            function_role: None,
            dashboard_view_mode: None,
            auto_update: false,
        }
    }
}

/// Shows whether a secret is set without showing it.
fn redacted(secret: Option<&String>) -> Option<&'static str> {
    secret.map(|_| "<redacted>")
}

impl fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSettings")
            .field(
                "anthropic_api_key",
                &redacted(self.anthropic_api_key.as_ref()),
            )
            .field("workspace_path", &self.workspace_path)
            .field("skills_path", &self.skills_path)
            .field("preferred_model", &self.preferred_model)
            .field("debug_mode", &self.debug_mode)
            .field("log_level", &self.log_level)
            .field("extended_context", &self.extended_context)
            .field("extended_thinking", &self.extended_thinking)
            .field("splash_shown", &self.splash_shown)
            .field(
                "github_oauth_token",
                &redacted(self.github_oauth_token.as_ref()),
            )
            .field("github_user_login", &self.github_user_login)
            .field("github_user_avatar", &self.github_user_avatar)
            .field("github_user_email", &self.github_user_email)
            .field("marketplace_url", &self.marketplace_url)
            .field("max_dimensions", &self.max_dimensions)
            .field("industry", &self.industry)
            .field("function_role", &self.function_role)
            .field("dashboard_view_mode", &self.dashboard_view_mode)
            .field("auto_update", &self.auto_update)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> AppSettings {
        AppSettings {
            anthropic_api_key: Some("sk-ant-SECRET-KEY".into()),
            workspace_path: Some("/home/u/ws".into()),
            skills_path: Some("/home/u/skills".into()),
            preferred_model: Some("sonnet".into()),
            debug_mode: true,
            log_level: "debug".into(),
            extended_context: true,
            extended_thinking: true,
            splash_shown: true,
            github_oauth_token: Some("gho_SECRET_TOKEN".into()),
            github_user_login: Some("octocat".into()),
            github_user_avatar: Some("https://avatars.example/octocat".into()),
            github_user_email: Some("octo@example.com".into()),
            marketplace_url: Some("https://github.com/org/marketplace".into()),
            max_dimensions: 8,
            industry: Some("Finance".into()),
            function_role: Some("Analyst".into()),
            dashboard_view_mode: Some("grid".into()),
            auto_update: true,
        }
    }

    #[test]
    fn defaults() {
        let s = AppSettings::default();
        assert_eq!(s.anthropic_api_key, None);
        assert_eq!(s.workspace_path, None);
        assert_eq!(s.skills_path, None);
        assert_eq!(s.preferred_model, None);
        assert!(!s.debug_mode);
        assert_eq!(s.log_level, "info");
        assert!(!s.extended_context);
        assert!(!s.extended_thinking);
        assert!(!s.splash_shown);
        assert_eq!(s.github_oauth_token, None);
        assert_eq!(s.github_user_login, None);
        assert_eq!(s.github_user_avatar, None);
        assert_eq!(s.github_user_email, None);
        assert_eq!(s.marketplace_url, None);
        assert_eq!(s.max_dimensions, 5);
        assert_eq!(s.industry, None);
        assert_eq!(s.function_role, None);
        assert_eq!(s.dashboard_view_mode, None);
        assert!(!s.auto_update);
    }

    #[test]
    fn empty_object_decodes_to_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let s: AppSettings = serde_json::from_str("{}")?;
        assert_eq!(s, AppSettings::default());
        Ok(())
    }

    #[test]
    fn full_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let s = full();
        let json = serde_json::to_string(&s)?;
        let back: AppSettings = serde_json::from_str(&json)?;
        assert_eq!(back, s);
        Ok(())
    }

    #[test]
    fn serialises_every_key_with_nulls_for_absent_optionals()
    -> Result<(), Box<dyn std::error::Error>> {
        let value = serde_json::to_value(AppSettings::default())?;
        let object = value
            .as_object()
            .ok_or("serialised AppSettings is not a JSON object")?;
        assert_eq!(object.len(), 19);
        assert_eq!(object["anthropic_api_key"], serde_json::Value::Null);
        assert_eq!(object["dashboard_view_mode"], serde_json::Value::Null);
        assert_eq!(object["log_level"], "info");
        assert_eq!(object["max_dimensions"], 5);
        assert_eq!(object["auto_update"], false);
        Ok(())
    }

    #[test]
    fn json_lacking_newer_keys_decodes_with_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let json = r#"{
            "anthropic_api_key": "sk-old",
            "workspace_path": "/old/ws",
            "preferred_model": null,
            "debug_mode": true
        }"#;
        let s: AppSettings = serde_json::from_str(json)?;
        assert_eq!(s.anthropic_api_key.as_deref(), Some("sk-old"));
        assert_eq!(s.workspace_path.as_deref(), Some("/old/ws"));
        assert!(s.debug_mode);
        assert_eq!(s.skills_path, None);
        assert_eq!(s.log_level, "info");
        assert!(!s.extended_thinking);
        assert_eq!(s.github_oauth_token, None);
        assert_eq!(s.github_user_login, None);
        assert_eq!(s.github_user_avatar, None);
        assert_eq!(s.github_user_email, None);
        assert_eq!(s.marketplace_url, None);
        assert_eq!(s.max_dimensions, 5);
        assert!(!s.auto_update);
        Ok(())
    }

    #[test]
    fn legacy_verbose_logging_is_ignored() -> Result<(), Box<dyn std::error::Error>> {
        let s: AppSettings =
            serde_json::from_str(r#"{"verbose_logging": true, "some_future_key": [1]}"#)?;
        assert_eq!(s.log_level, "info");
        assert_eq!(s, AppSettings::default());
        Ok(())
    }

    #[test]
    fn wrong_value_type_is_an_error() {
        assert!(serde_json::from_str::<AppSettings>(r#"{"debug_mode": "yes"}"#).is_err());
        assert!(serde_json::from_str::<AppSettings>(r#"{"max_dimensions": -1}"#).is_err());
        assert!(serde_json::from_str::<AppSettings>("{not json").is_err());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = full();
        let out = format!("{s:?}");
        assert!(!out.contains("sk-ant-SECRET-KEY"), "{out}");
        assert!(!out.contains("gho_SECRET_TOKEN"), "{out}");
        assert!(
            out.contains(r#"anthropic_api_key: Some("<redacted>")"#),
            "{out}"
        );
        assert!(
            out.contains(r#"github_oauth_token: Some("<redacted>")"#),
            "{out}"
        );
        assert!(out.contains("octocat"), "{out}");
        let pretty = format!("{s:#?}");
        assert!(!pretty.contains("SECRET"), "{pretty}");

        let none = format!("{:?}", AppSettings::default());
        assert!(none.contains("anthropic_api_key: None"), "{none}");
        assert!(none.contains("github_oauth_token: None"), "{none}");
    }
}
