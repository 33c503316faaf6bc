//! `Range: bytes=…` of a read, as browsers send it to seek in a video: one range only (a
//! multipart answer is never needed by a player), else the whole object.

/// What part of an object of `len` bytes to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Whole,
    /// Bytes `start..=end`.
    Range {
        start: u64,
        end: u64,
    },
    /// 416: the range starts past the end.
    Unsatisfiable,
}

/// Reads a `Range` header value against an object of `len` bytes. Anything this server does
/// not take (other units, several ranges, nonsense) is answered with the whole object, as
/// RFC 9110 allows.
pub(crate) fn part(header: Option<&str>, len: u64) -> Part {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Part::Whole };
    if spec.contains(',') {
        return Part::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return Part::Whole };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // A suffix: the last N bytes.
        return match last.parse::<u64>() {
            Ok(0) => Part::Unsatisfiable,
            Ok(_) if len == 0 => Part::Unsatisfiable,
            Ok(n) => Part::Range { start: len.saturating_sub(n), end: len - 1 },
            Err(_) => Part::Whole,
        };
    }
    let Ok(start) = first.parse::<u64>() else { return Part::Whole };
    let end = if last.is_empty() {
        len.saturating_sub(1)
    } else {
        match last.parse::<u64>() {
            Ok(end) if end >= start => end.min(len.saturating_sub(1)),
            _ => return Part::Whole,
        }
    };
    if start >= len { Part::Unsatisfiable } else { Part::Range { start, end } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_players_send_them() {
        assert_eq!(part(None, 100), Part::Whole);
        assert_eq!(part(Some("bytes=0-"), 100), Part::Range { start: 0, end: 99 });
        assert_eq!(part(Some("bytes=10-19"), 100), Part::Range { start: 10, end: 19 });
        assert_eq!(part(Some("bytes=90-500"), 100), Part::Range { start: 90, end: 99 });
        assert_eq!(part(Some("bytes=-10"), 100), Part::Range { start: 90, end: 99 });
        assert_eq!(part(Some("bytes=-500"), 100), Part::Range { start: 0, end: 99 });
        assert_eq!(part(Some("bytes=100-"), 100), Part::Unsatisfiable);
        assert_eq!(part(Some("bytes=-0"), 100), Part::Unsatisfiable);
        assert_eq!(part(Some("bytes=0-"), 0), Part::Unsatisfiable);
        for ignored in ["bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=a-b", "bytes="] {
            assert_eq!(part(Some(ignored), 100), Part::Whole, "{ignored}");
        }
    }
}
