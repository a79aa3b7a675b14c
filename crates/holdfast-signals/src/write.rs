//! Writes signal records as CSV files (`tickets.csv`, …) that [`crate::read`] reads back identically.
use crate::records::*;
use holdfast_core::time::{day_to_date, format_instant};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Streams records into one CSV per kind in a directory; files are created on their first record.
pub struct SignalWriter {
    dir: PathBuf,
    files: Vec<Option<csv::Writer<BufWriter<File>>>>,
}

fn instant(v: Option<i64>) -> String {
    v.map(format_instant).unwrap_or_default()
}
fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

impl SignalWriter {
    pub fn create(dir: &Path) -> std::io::Result<SignalWriter> {
        std::fs::create_dir_all(dir)?;
        Ok(SignalWriter { dir: dir.to_path_buf(), files: (0..SignalKind::ALL.len()).map(|_| None).collect() })
    }

    pub fn write(&mut self, r: &SignalRecord) -> std::io::Result<()> {
        let kind = r.kind();
        let slot = &mut self.files[kind.index()];
        if slot.is_none() {
            let f = File::create(self.dir.join(format!("{}.csv", kind.as_str())))?;
            let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, f));
            w.write_record(kind.columns().iter().map(|c| c.name))?;
            *slot = Some(w);
        }
        let w = slot.as_mut().expect("created above");
        let row: Vec<String> = match r {
            SignalRecord::Ticket(x) => vec![
                x.ticket_id.clone(),
                opt(&x.customer_id).into(),
                opt(&x.requester_id).into(),
                format_instant(x.created_at),
                instant(x.first_response_at),
                instant(x.first_resolved_at),
                instant(x.last_resolved_at),
                opt(&x.status).into(),
                opt(&x.channel).into(),
                opt(&x.priority).into(),
                opt(&x.ticket_type).into(),
                x.tags.join("|"),
                x.agent_public_replies.to_string(),
                x.reopen_count.to_string(),
                x.is_spam.to_string(),
                opt(&x.merged_into).into(),
            ],
            SignalRecord::Survey(x) => vec![
                x.response_id.clone(),
                x.survey.as_str().into(),
                opt(&x.question_id).into(),
                opt(&x.respondent_id).into(),
                opt(&x.customer_id).into(),
                x.score.to_string(),
                x.scale_min.to_string(),
                x.scale_max.to_string(),
                opt(&x.comment).into(),
                format_instant(x.responded_at),
                opt(&x.ticket_id).into(),
            ],
            SignalRecord::Cancellation(x) => vec![x.customer_id.clone(), opt(&x.subscription_id).into(), format_instant(x.cancelled_at), x.reason_code.clone(), opt(&x.comment).into()],
            SignalRecord::Funnel(x) => vec![
                opt(&x.person_id).into(),
                opt(&x.anonymous_id).into(),
                opt(&x.customer_id).into(),
                x.stage.as_str().into(),
                format_instant(x.stage_at),
                opt(&x.source).into(),
                opt(&x.medium).into(),
                opt(&x.campaign).into(),
                opt(&x.channel).into(),
            ],
            SignalRecord::Visit(x) => vec![day_to_date(x.day).to_string(), x.visitor_id.clone(), opt(&x.source).into()],
            SignalRecord::Spend(x) => vec![
                day_to_date(x.day).to_string(),
                x.channel.clone(),
                x.category.as_str().into(),
                x.currency.format_minor(x.amount),
                x.currency.code().into(),
                opt(&x.campaign).into(),
            ],
            SignalRecord::Referral(x) => vec![
                x.referral_id.clone(),
                opt(&x.inviter_user_id).into(),
                opt(&x.inviter_customer_id).into(),
                opt(&x.invitee_ref).into(),
                opt(&x.channel).into(),
                format_instant(x.invited_at),
                instant(x.invitee_signed_up_at),
                opt(&x.invitee_customer_id).into(),
                instant(x.invitee_converted_at),
            ],
        };
        w.write_record(&row)?;
        Ok(())
    }

    /// Flushes every file.
    pub fn finish(self) -> std::io::Result<()> {
        for w in self.files.into_iter().flatten() {
            w.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        Ok(())
    }
}
