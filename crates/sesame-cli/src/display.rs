//! Human output: tables and times.

use sesame_ipc::protocol::{AccountInfo, AccountStatus};

pub fn accounts_table(accounts: &[AccountInfo]) -> String {
    if accounts.is_empty() {
        return "No accounts yet; add one with `sesame login <provider>`.\n".into();
    }
    let header = ["ID", "PROVIDER", "WHO", "SCOPES", "STATUS", "CREATED", "LAST REFRESH"].map(String::from);
    let rows: Vec<[String; 7]> = accounts
        .iter()
        .map(|a| {
            [
                a.id.clone(),
                a.provider.clone(),
                a.email.clone().or(a.name.clone()).unwrap_or(a.subject.clone()),
                a.scopes.join(" "),
                match a.status {
                    AccountStatus::Active => "active".into(),
                    AccountStatus::ReauthRequired => "re-auth needed".into(),
                },
                utc(a.created_at),
                a.last_refreshed_at.map(utc).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `YYYY-MM-DD HH:MM UTC` from Unix seconds (Howard Hinnant's civil-from-days).
pub fn utc(ts: i64) -> String {
    let (days, secs) = (ts.div_euclid(86_400), ts.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc(1_795_824_000), "2026-11-28 00:00 UTC");
        assert_eq!(super::utc(951_782_400 + 3_661), "2000-02-29 01:01 UTC");
    }
}
