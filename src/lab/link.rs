//! Share links: a run (level or sandbox, seed, settings, timed commands) as a compact,
//! versioned URL fragment, `#run=1.<base64url>`.
//!
//! Compact because the scenario travels as the settings that differ from its base (the
//! level's start, or the sandbox default) and base64url does not triple every `{":,`
//! as percent-encoding does. Versioned because the format number comes first, so a link
//! made by a later lab is refused with a sentence instead of misread. Capped at
//! [`MAX_LINK_CHARS`]. Links made before the format had a number (percent-encoded session
//! JSON) still open.

use super::history::Session;
use super::level::{parse_run, Level};
use super::scenario::Scenario;
use crate::engine::Command;

/// The format this lab writes (and the newest it reads). Format 1 links were made when
/// the lab started on one broker; they still open on one broker.
pub const LINK_FORMAT: u32 = 2;

/// The longest fragment a link may carry, in characters.
pub const MAX_LINK_CHARS: usize = 60_000;

/// A run read from a link: the level it was made in (none: the sandbox) and the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedRun {
    /// The level's id, or `None` for the sandbox.
    pub level: Option<String>,
    /// The run.
    pub session: Session,
}

/// Why a link could not be made or read, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkError(pub String);

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LinkError {}

/// What the fragment carries, in short field names (every byte is in the address bar).
#[derive(serde::Serialize, serde::Deserialize)]
struct Compact {
    /// The level's id.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    level: Option<String>,
    /// The settings that differ from the base, in the order they replay.
    #[serde(rename = "s", default, skip_serializing_if = "Vec::is_empty")]
    settings: Vec<(String, String)>,
    /// The whole scenario, when settings alone cannot give it (another setup or rig).
    #[serde(rename = "S", default, skip_serializing_if = "Option::is_none")]
    scenario: Option<Scenario>,
    /// `(at_ms, command)`.
    #[serde(rename = "a", default)]
    commands: Vec<(u64, Command)>,
    /// The user's time.
    #[serde(rename = "n", default)]
    now_ms: u64,
    /// The furthest time run.
    #[serde(rename = "f", default)]
    furthest_ms: u64,
}

/// The scenario a link's settings apply to.
fn base(level: Option<&Level>) -> Result<Scenario, LinkError> {
    match level {
        Some(l) => l
            .start_session()
            .map(|s| s.scenario)
            .map_err(|e| LinkError(format!("level {} does not start: {e}", l.id))),
        None => Ok(Scenario::default()),
    }
}

/// The fragment for a run (what follows `#run=`), made in `level` or the sandbox.
///
/// # Errors
/// A run too long for a link (the UI offers the JSON file instead).
pub fn encode(level: Option<&Level>, session: &Session) -> Result<String, LinkError> {
    let base = base(level)?;
    let s = &session.scenario;
    let same_frame = base.setup == s.setup && base.rig == s.rig;
    let settings = match base.changes_to(s) {
        Ok((names, reached)) if same_frame && reached == *s => Some(
            names
                .into_iter()
                .map(|n| {
                    let v = s.get(&n);
                    (n, v)
                })
                .collect(),
        ),
        _ => None,
    };
    let compact = Compact {
        level: level.map(|l| l.id.clone()),
        scenario: settings.is_none().then(|| s.clone()),
        settings: settings.unwrap_or_default(),
        commands: session.commands.clone(),
        now_ms: session.now_ms,
        furthest_ms: session.furthest_ms,
    };
    let json = serde_json::to_string(&compact).map_err(|e| LinkError(e.to_string()))?;
    let fragment = format!("{LINK_FORMAT}.{}", base64url_encode(json.as_bytes()));
    if fragment.len() > MAX_LINK_CHARS {
        return Err(LinkError(format!(
            "this run is too long for a link ({} characters, at most {MAX_LINK_CHARS}); \
             share the JSON instead",
            fragment.len()
        )));
    }
    Ok(fragment)
}

/// Reads a link, or just its fragment (`1.…`, or an older `%7B…` one), against the
/// levels this lab has.
///
/// # Errors
/// Anything wrong with it, in one sentence: cut short, damaged, too long, from a newer
/// lab, for a level this lab does not have, or a run that does not replay.
pub fn decode(text: &str, levels: &[Level]) -> Result<SharedRun, LinkError> {
    let text = text.trim();
    let fragment = text.split_once("#run=").map_or(text, |(_, f)| f);
    if fragment.is_empty() {
        return Err(LinkError("the link carries no run".into()));
    }
    if fragment.len() > MAX_LINK_CHARS {
        return Err(LinkError(format!(
            "the link is longer than {MAX_LINK_CHARS} characters"
        )));
    }
    // Before format 1: the session's JSON, percent-encoded.
    if fragment.starts_with("%7B") || fragment.starts_with('{') {
        let json = percent_decode(fragment)
            .ok_or_else(|| LinkError("the link is not properly encoded".into()))?;
        let session = parse_run(&json).map_err(|e| LinkError(e.to_string()))?;
        return Ok(SharedRun {
            level: None,
            session,
        });
    }
    let (format, payload) = fragment
        .split_once('.')
        .ok_or_else(|| LinkError("the link is not a Kafka Lab run".into()))?;
    let format: u32 = format
        .parse()
        .map_err(|_| LinkError("the link is not a Kafka Lab run".into()))?;
    if format != LINK_FORMAT && format != 1 {
        return Err(LinkError(if format > LINK_FORMAT {
            format!(
                "the link was made by a newer Kafka Lab (format {format}; this one reads \
                 format {LINK_FORMAT})"
            )
        } else {
            format!("the link's format {format} is unknown")
        }));
    }
    let bytes = base64url_decode(payload)
        .ok_or_else(|| LinkError("the link is cut short or damaged".into()))?;
    let json = String::from_utf8(bytes)
        .map_err(|_| LinkError("the link is cut short or damaged".into()))?;
    let compact: Compact = serde_json::from_str(&json)
        .map_err(|e| LinkError(format!("the link is cut short or damaged ({e})")))?;
    let level = match &compact.level {
        Some(id) => Some(levels.iter().find(|l| &l.id == id).ok_or_else(|| {
            LinkError(format!(
                "the link is for level {id}, which this lab does not have"
            ))
        })?),
        None => None,
    };
    let scenario = match compact.scenario {
        Some(s) => s,
        None => {
            let mut s = base(level)?;
            if format == 1 {
                s = super::level::on_legacy_cluster(level, s);
            }
            for (name, value) in &compact.settings {
                s.set(name, value)
                    .map_err(|e| LinkError(format!("the link's setting {e}")))?;
            }
            s
        }
    };
    let session = Session {
        scenario,
        commands: compact.commands,
        now_ms: compact.now_ms,
        furthest_ms: compact.furthest_ms,
    };
    session
        .check_openable()
        .and_then(|()| session.validate())
        .map_err(|e| LinkError(e.to_string()))?;
    Ok(SharedRun {
        level: compact.level,
        session,
    })
}

/// Reads a run given as a file's text: a link (or its fragment), or the run's JSON.
/// A link made in another level than `level` is refused.
///
/// # Errors
/// As [`decode`] and [`parse_run`], in words.
pub fn read_run(text: &str, level: &Level) -> Result<Session, LinkError> {
    let t = text.trim();
    if t.starts_with('{') {
        return parse_run(t).map_err(|e| LinkError(e.to_string()));
    }
    let shared = decode(t, std::slice::from_ref(level))?;
    match shared.level {
        Some(id) if id == level.id => Ok(shared.session),
        Some(id) => Err(LinkError(format!("this run was made in level {id}"))),
        None => Err(LinkError("this run was made in the sandbox".into())),
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5): safe in a URL fragment as it is.
fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The inverse of [`base64url_encode`]; `None` on any other character or a length no
/// encoding gives.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| ALPHABET.iter().position(|a| *a == c).map(|d| d as u32);
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= digit(*c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// Decodes `%XX` escapes (what `encodeURIComponent` wrote); `None` on a bad escape or
/// bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ids::TopicId;

    fn sample() -> Session {
        let mut scenario = Scenario::default();
        scenario.set("partitions", "6").unwrap();
        scenario.set("seed", "7").unwrap();
        scenario.set("commit.mode", "after-batch").unwrap();
        let mut session = Session::new(scenario);
        session
            .record(
                1_500,
                Command::Produce {
                    topic: TopicId(0),
                    key: Some("order-7".into()),
                    value: "hello, ünïcode".into(),
                },
            )
            .unwrap();
        session.now_ms = 4_000;
        session.furthest_ms = 9_000;
        session
    }

    #[test]
    fn base64url_round_trips_every_length_and_refuses_what_it_never_writes() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64url_encode(&bytes);
            assert!(text.bytes().all(|c| ALPHABET.contains(&c)), "{text}");
            assert_eq!(base64url_decode(&text), Some(bytes), "length {len}");
        }
        // RFC 4648 test vectors, unpadded.
        assert_eq!(base64url_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url_encode(b"fo"), "Zm8");
        assert_eq!(base64url_decode("Zm9vYg"), Some(b"foob".to_vec()));
        assert_eq!(base64url_decode("Zm9vY"), None);
        assert_eq!(base64url_decode("Zm9v+mFy"), None);
    }

    #[test]
    fn a_sandbox_link_round_trips_exactly_and_carries_only_what_changed() {
        let session = sample();
        let fragment = encode(None, &session).unwrap();
        assert!(fragment.starts_with("2."));
        let shared = decode(&format!("https://lab.example/#run={fragment}"), &[]).unwrap();
        assert_eq!(shared.level, None);
        assert_eq!(shared.session, session);
        let json = String::from_utf8(base64url_decode(&fragment[2..]).unwrap()).unwrap();
        assert!(!json.contains("\"S\""), "no whole scenario: {json}");
        assert!(json.contains("\"partitions\",\"6\""), "{json}");
        // Far shorter than the percent-encoded session the lab used to put in links.
        let old_len = percent_encoded_len(&serde_json::to_string(&session).unwrap());
        assert!(
            fragment.len() * 3 < old_len,
            "{} vs {old_len}",
            fragment.len()
        );
    }

    fn percent_encoded_len(s: &str) -> usize {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                    1
                } else {
                    3
                }
            })
            .sum()
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))] // the level files are embedded natively only
    fn a_level_link_names_its_level_and_rebuilds_from_its_start() {
        let levels = crate::lab::levels::all().unwrap();
        let level = levels
            .iter()
            .find(|l| !l.start_session().unwrap().scenario.rig.is_empty());
        let level = level.expect("a level with a rig");
        let session = level.solution_session().unwrap();
        let fragment = encode(Some(level), &session).unwrap();
        let json = String::from_utf8(base64url_decode(&fragment[2..]).unwrap()).unwrap();
        assert!(
            !json.contains("\"S\""),
            "the rig comes from the level: {json}"
        );
        let shared = decode(&fragment, &levels).unwrap();
        assert_eq!(shared.level.as_deref(), Some(level.id.as_str()));
        assert_eq!(shared.session, session);
        assert_eq!(read_run(&fragment, level).unwrap(), session);
        let other = levels.iter().find(|l| l.id != level.id).unwrap();
        let e = read_run(&fragment, other).unwrap_err();
        assert!(e.0.contains(&level.id), "{e}");
        let e = decode(&fragment, &[]).unwrap_err();
        assert!(e.0.contains("which this lab does not have"), "{e}");
    }

    #[test]
    fn a_scenario_settings_cannot_give_travels_whole() {
        let mut session = sample();
        session.scenario.setup.push(Command::NetHeal);
        let fragment = encode(None, &session).unwrap();
        assert_eq!(decode(&fragment, &[]).unwrap().session, session);
    }

    #[test]
    fn old_links_still_open_and_newer_formats_are_refused_with_a_reason() {
        let session = sample();
        let json = serde_json::to_string(&session).unwrap();
        let old: String = json
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(
            decode(&format!("#run={old}"), &[]).unwrap().session,
            session
        );
        let e = decode("3.abcd", &[]).unwrap_err();
        assert!(e.0.contains("newer Kafka Lab"), "{e}");
        assert!(decode("", &[]).is_err());
        assert!(decode(&"A".repeat(MAX_LINK_CHARS + 1), &[])
            .unwrap_err()
            .0
            .contains("longer"));
    }

    /// Format 1 was written while the sandbox started on one broker: such a link names no
    /// cluster setting and must still replay on one broker.
    #[test]
    fn a_format_1_link_opens_on_the_one_broker_it_was_made_on() {
        let session = Session::new(Scenario::default());
        let link = encode(None, &session).unwrap();
        assert_eq!(
            decode(&link, &[]).unwrap().session.scenario.cluster.brokers,
            3
        );
        let old = link.replacen("2.", "1.", 1);
        let opened = decode(&old, &[]).unwrap().session;
        assert_eq!(
            opened.scenario.cluster,
            crate::engine::replication::ReplicationConfig::default()
        );
    }

    #[test]
    fn a_run_too_long_for_a_link_is_refused_with_a_reason() {
        let mut session = Session::new(Scenario::default());
        for i in 0..2_000u64 {
            session
                .record(
                    i,
                    Command::Produce {
                        topic: TopicId(0),
                        key: Some(format!("key-{i}")),
                        value: "v".repeat(20),
                    },
                )
                .unwrap();
        }
        let e = encode(None, &session).unwrap_err();
        assert!(e.0.contains("too long for a link"), "{e}");
    }
}
