using System.Globalization;
using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Dashboard.Domain;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Dashboard.Storage;

/// <summary>
/// Applies events to the read models. Each event is applied once (inbox in the same transaction)
/// and stale versions never overwrite newer ones. Returns whether anything visible changed.
/// </summary>
internal sealed class ReadModelStore(SqliteDatabase db, TimeProvider clock)
{
    public Task<bool> ApplyAsync(ThreatLevelChanged e, string eventId, CancellationToken ct) =>
        OnceAsync("threat-level-changed", eventId, (c, tx) => ApplyLevelAsync(c, tx, e, eventId, history: true, ct), ct);

    /// <summary>Loads an assessment read from threat-levels' API (initial state); newer data already held wins.</summary>
    public async Task SeedAsync(ThreatLevels.V1.Assessment a, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(a);
        var e = new ThreatLevelChanged
        {
            AssessmentId = a.AssessmentId, Version = a.Version, Sequence = a.Sequence, Area = a.Area, NewLevel = a.Level,
            Summary = a.Summary, Advice = a.Advice, ReviewBy = a.ReviewBy, ChangedAt = a.UpdatedAt, Reason = a.Reason,
            ApprovalMode = a.ApprovalMode, ChangeId = a.ChangeId,
        };
        e.Categories.AddRange(a.Categories);
        await using var connection = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await ApplyLevelAsync(connection, tx, e, a.ChangeId, history: false, ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>Loads an active crisis read from threat-levels' API (initial state).</summary>
    public async Task SeedAsync(ThreatLevels.V1.Crisis crisis, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(crisis);
        await using var connection = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await UpsertCrisisAsync(connection, tx, crisis.CrisisId, crisis.Version,
            crisis.Status == ThreatLevels.V1.CrisisStatus.Closed ? "closed" : "active", crisis.Kind, crisis.Area, crisis.Title,
            (int)crisis.ApprovalMode, Time(crisis.DeclaredAt), Time(crisis.ClosedAt), ct);
        await tx.CommitAsync(ct);
    }

    // A retired zone keeps its row (so that an older change redelivered late cannot bring it back:
    // upserts only move a zone to a higher version) with this level, and is left out of every view.
    private const int RetiredZoneLevel = (int)ThreatLevel.Unspecified;

    private static async Task ApplyLevelAsync(SqliteConnection c, SqliteTransaction tx, ThreatLevelChanged e, string eventId, bool history, CancellationToken ct)
    {
        {
            var area = e.Area ?? new Area();
            var country = area.CountryCode.ToUpperInvariant();
            var categories = JsonSerializer.Serialize(e.Categories.Select(r => new CategoryDto(r.Category.ToString(), r.Severity.ToString())).ToList());
            if (history)
            {
                await Exec(c, tx, """
                INSERT OR IGNORE INTO level_history(change_id, sequence, assessment_id, country_code, zone_name, previous_level, new_level, reason, approval_mode, changed_at)
                VALUES ($id, $seq, $a, $cc, $zone, $prev, $new, $reason, $mode, $at)
                """, ct, ("$id", string.IsNullOrEmpty(e.ChangeId) ? eventId : e.ChangeId), ("$seq", e.Sequence), ("$a", e.AssessmentId),
                ("$cc", country), ("$zone", Empty(area.ZoneName)), ("$prev", (int)e.PreviousLevel), ("$new", (int)e.NewLevel),
                ("$reason", Empty(e.Reason)), ("$mode", (int)e.ApprovalMode), ("$at", Time(e.ChangedAt)));
            }

            if (AreaRules.IsWholeCountry(area))
            {
                await Exec(c, tx, """
                    INSERT INTO country_level(country_code, level, assessment_id, version, sequence, categories, summary_fr, summary_en, advice_fr, advice_en, review_by, changed_at)
                    VALUES ($cc, $level, $a, $v, $seq, $cat, $sfr, $sen, $afr, $aen, $review, $at)
                    ON CONFLICT(country_code) DO UPDATE SET level = excluded.level, assessment_id = excluded.assessment_id,
                        version = excluded.version, sequence = excluded.sequence, categories = excluded.categories,
                        summary_fr = excluded.summary_fr, summary_en = excluded.summary_en, advice_fr = excluded.advice_fr,
                        advice_en = excluded.advice_en, review_by = excluded.review_by, changed_at = excluded.changed_at
                    WHERE excluded.sequence > country_level.sequence
                    """, ct, ("$cc", country), ("$level", (int)e.NewLevel), ("$a", e.AssessmentId), ("$v", e.Version), ("$seq", e.Sequence),
                    ("$cat", categories), ("$sfr", e.Summary?.Fr), ("$sen", e.Summary?.En), ("$afr", e.Advice?.Fr), ("$aen", e.Advice?.En),
                    ("$review", Time(e.ReviewBy)), ("$at", Time(e.ChangedAt)));
            }
            else
            {
                var polygon = area.Polygon is { Vertices.Count: > 0 } p
                    ? JsonSerializer.Serialize(p.Vertices.Select(v => new[] { v.Longitude, v.Latitude }).ToList())
                    : null;
                await Exec(c, tx, """
                    INSERT INTO zone_level(assessment_id, country_code, zone_name, subdivisions, polygon, level, version, sequence, categories, review_by, changed_at)
                    VALUES ($a, $cc, $zone, $subs, $poly, $level, $v, $seq, $cat, $review, $at)
                    ON CONFLICT(assessment_id) DO UPDATE SET level = excluded.level, version = excluded.version, sequence = excluded.sequence,
                        zone_name = excluded.zone_name, subdivisions = excluded.subdivisions, polygon = excluded.polygon,
                        categories = excluded.categories, review_by = excluded.review_by, changed_at = excluded.changed_at
                    WHERE excluded.version > zone_level.version
                    """, ct, ("$a", e.AssessmentId), ("$cc", country), ("$zone", Empty(area.ZoneName)),
                    ("$subs", JsonSerializer.Serialize(area.SubdivisionCodes.ToList())), ("$poly", polygon), ("$level", e.ZoneRetired ? RetiredZoneLevel : (int)e.NewLevel),
                    ("$v", e.Version), ("$seq", e.Sequence), ("$cat", categories), ("$review", Time(e.ReviewBy)), ("$at", Time(e.ChangedAt)));
                if (e.CountryLevel != ThreatLevel.Unspecified)
                {
                    // The country's own level as of this change; only a newer change may move it.
                    await Exec(c, tx, """
                        INSERT INTO country_level(country_code, level, sequence) VALUES ($cc, $level, $seq)
                        ON CONFLICT(country_code) DO UPDATE SET level = excluded.level, sequence = excluded.sequence
                        WHERE excluded.sequence > country_level.sequence
                        """, ct, ("$cc", country), ("$level", (int)e.CountryLevel), ("$seq", e.Sequence));
                }
            }
        }
    }

    public Task<bool> ApplyAsync(CrisisDeclared e, string eventId, CancellationToken ct) =>
        OnceAsync("crisis-declared", eventId, (c, tx) => UpsertCrisisAsync(c, tx, e.CrisisId, e.Version, "active", e.Kind, e.Area,
            e.Title, (int)e.ApprovalMode, Time(e.DeclaredAt) ?? Time(e.StartTime), null, ct), ct);

    public Task<bool> ApplyAsync(CrisisClosed e, string eventId, CancellationToken ct) =>
        OnceAsync("crisis-closed", eventId, (c, tx) => UpsertCrisisAsync(c, tx, e.CrisisId, e.Version, "closed", e.Kind, e.Area,
            e.Title, 0, null, Time(e.ClosedAt), ct), ct);

    public Task<bool> ApplyAsync(ConsularAlertIssued e, string eventId, CancellationToken ct) =>
        OnceAsync("consular-alert-issued", eventId, (c, tx) => Exec(c, tx, """
            INSERT INTO alert(alert_key, kind, source_id, version, message_type, post_id, crisis_id, country_code, level, headline_fr, headline_en, issued_at, targeted)
            VALUES ($key, 'consular', $id, $v, $mt, $post, $crisis, $cc, $level, $hfr, $hen, $at, $targeted)
            ON CONFLICT(alert_key) DO UPDATE SET version = excluded.version, message_type = excluded.message_type, level = excluded.level,
                headline_fr = excluded.headline_fr, headline_en = excluded.headline_en, issued_at = excluded.issued_at, targeted = excluded.targeted
            WHERE excluded.version > alert.version
            """, ct, ("$key", "consular:" + e.AlertId), ("$id", e.AlertId), ("$v", e.Version), ("$mt", (int)e.MessageType),
            ("$post", Empty(e.PostId)), ("$crisis", Empty(e.CrisisId)), ("$cc", (e.Area?.CountryCode ?? string.Empty).ToUpperInvariant()),
            ("$level", (int)e.Level), ("$hfr", e.Headline?.Fr), ("$hen", e.Headline?.En), ("$at", Time(e.IssuedAt) ?? Now()),
            ("$targeted", e.RecipientsTargeted)), ct);

    public Task<bool> ApplyAsync(AdvisoryIssued e, string eventId, CancellationToken ct) =>
        OnceAsync("advisory-issued", eventId, async (c, tx) =>
        {
            var country = (e.Area?.CountryCode ?? string.Empty).ToUpperInvariant();
            var wave = string.IsNullOrEmpty(e.WaveId) ? e.CauseEventId : e.WaveId;
            await Exec(c, tx, """
                INSERT OR IGNORE INTO advisory(advisory_id, wave_id, country_code, affected_sites, affected_travellers, acknowledgement_required)
                VALUES ($id, $wave, $cc, $sites, $travellers, $ack)
                """, ct, ("$id", e.AdvisoryId), ("$wave", wave), ("$cc", country), ("$sites", e.AffectedSites),
                ("$travellers", e.AffectedTravellers), ("$ack", e.AcknowledgementRequired ? 1 : 0));
            await Exec(c, tx, """
                INSERT INTO alert(alert_key, kind, source_id, version, country_code, level, issued_at)
                VALUES ($key, 'advisory', $wave, 0, $cc, $level, $at)
                ON CONFLICT(alert_key) DO UPDATE SET issued_at = min(alert.issued_at, excluded.issued_at), level = max(alert.level, excluded.level)
                """, ct, ("$key", "advisory:" + wave), ("$wave", wave), ("$cc", country), ("$level", (int)e.NewLevel),
                ("$at", Time(e.IssuedAt) ?? Now()));
        }, ct);

    public Task<bool> ApplyAsync(AdvisoryAcknowledged e, string eventId, CancellationToken ct) =>
        OnceAsync("advisory-acknowledged", eventId, async (c, tx) =>
        {
            var at = Time(e.AcknowledgedAt) ?? Now();
            var updated = await Exec(c, tx, "UPDATE advisory SET acknowledged_at = coalesce(acknowledged_at, $at) WHERE advisory_id = $id",
                ct, ("$id", e.AdvisoryId), ("$at", at));
            if (updated == 0)
            {
                // Acknowledged before the issue event reached us: keep the fact, the issue event fills the rest.
                await Exec(c, tx, """
                    INSERT INTO advisory(advisory_id, wave_id, country_code, affected_sites, affected_travellers, acknowledgement_required, acknowledged_at)
                    VALUES ($id, $wave, '', 0, 0, 1, $at)
                    """, ct, ("$id", e.AdvisoryId), ("$wave", e.WaveId), ("$at", at));
            }
        }, ct);

    public Task<bool> ApplyAsync(NotificationRequested e, string eventId, CancellationToken ct) =>
        OnceAsync("notification-requested", eventId, (c, tx) => Exec(c, tx, """
            INSERT OR IGNORE INTO notification_batch(event_id, source, source_alert_id, alert_version, recipient_count, action)
            VALUES ($id, $source, $alert, $v, $n, $action)
            """, ct, ("$id", eventId), ("$source", e.Source), ("$alert", e.SourceAlertId), ("$v", e.AlertVersion),
            ("$n", e.Recipients.Count), ("$action", (int)e.Action)), ct);

    public Task<bool> ApplyAsync(NotificationStatusChanged e, string eventId, CancellationToken ct) =>
        OnceAsync("notification-status-changed", eventId, async (c, tx) =>
        {
            await using var command = c.Command("""
                INSERT INTO delivery(source, source_alert_id, alert_version, recipient_ref, status_rank, delivered_at)
                VALUES ($source, $alert, $v, $ref, $rank, $at)
                ON CONFLICT DO UPDATE SET status_rank = max(delivery.status_rank, excluded.status_rank),
                    delivered_at = coalesce(delivery.delivered_at, excluded.delivered_at)
                """, tx);
            var source = command.Parameters.Add("$source", SqliteType.Text);
            var alert = command.Parameters.Add("$alert", SqliteType.Text);
            var version = command.Parameters.Add("$v", SqliteType.Integer);
            var reference = command.Parameters.Add("$ref", SqliteType.Text);
            var rank = command.Parameters.Add("$rank", SqliteType.Integer);
            var at = command.Parameters.Add("$at", SqliteType.Text);
            foreach (var u in e.Updates)
            {
                var r = DeliveryRules.Rank(u.Status);
                if (r == 0)
                {
                    continue;
                }

                source.Value = e.Source;
                alert.Value = u.SourceAlertId;
                version.Value = u.AlertVersion;
                reference.Value = DeliveryRules.RecipientRef(u.SourceAlertId, u.RecipientId);
                rank.Value = r;
                at.Value = r >= DeliveryRules.DeliveredRank ? (object?)Time(u.At) ?? Now() : DBNull.Value;
                await command.ExecuteNonQueryAsync(ct);
            }
        }, ct);

    public Task<bool> ApplyAsync(WellbeingUpdated e, string eventId, CancellationToken ct) =>
        OnceAsync("wellbeing-updated", eventId, async (c, tx) =>
        {
            await Exec(c, tx, """
                INSERT INTO wellbeing(check_id, post_id, crisis_id, country_code, version, targeted, safe, need_help, no_answer, follow_up, updated_at)
                VALUES ($check, $post, $crisis, $cc, $v, $t, $safe, $help, $none, $follow, $at)
                ON CONFLICT(check_id, post_id) DO UPDATE SET version = excluded.version, targeted = excluded.targeted, safe = excluded.safe,
                    need_help = excluded.need_help, no_answer = excluded.no_answer, follow_up = excluded.follow_up, updated_at = excluded.updated_at,
                    crisis_id = coalesce(excluded.crisis_id, wellbeing.crisis_id), country_code = coalesce(excluded.country_code, wellbeing.country_code)
                WHERE excluded.version > wellbeing.version
                """, ct, ("$check", e.CheckId), ("$post", e.PostId), ("$crisis", Empty(e.CrisisId)),
                ("$cc", Empty(e.CountryCode.ToUpperInvariant())), ("$v", e.Version), ("$t", e.Targeted), ("$safe", e.Safe),
                ("$help", e.NeedHelp), ("$none", e.NoAnswer), ("$follow", e.FollowUp), ("$at", Time(e.UpdatedAt) ?? Now()));
            if (!string.IsNullOrEmpty(e.EscalationReference))
            {
                await Exec(c, tx, "INSERT OR IGNORE INTO escalation(case_reference, check_id, post_id, at) VALUES ($ref, $check, $post, $at)",
                    ct, ("$ref", e.EscalationReference), ("$check", e.CheckId), ("$post", e.PostId), ("$at", Time(e.UpdatedAt) ?? Now()));
            }
        }, ct);

    /// <summary>Records a dead-lettered event (payload only where it holds no personal data).</summary>
    public async Task<bool> RecordDeadLetterAsync(string topic, string eventId, string? type, string? payload, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await Exec(c, null, """
            INSERT OR IGNORE INTO dead_letter(event_id, topic, event_type, received_at, payload) VALUES ($id, $topic, $type, $at, $payload)
            """, ct, ("$id", eventId), ("$topic", topic), ("$type", type), ("$at", Now()),
            ("$payload", DeadLetterRules.KeepsPayload(topic) ? payload : null)) == 1;
    }

    /// <summary>Marks a dead letter replayed; returns the topic, id, type and payload to republish, or null.</summary>
    public async Task<DeadLetterPayload?> TakeForReplayAsync(long id, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await using var read = c.Command("SELECT topic, event_id, event_type, payload FROM dead_letter WHERE id = $id", null, ("$id", id));
        await using var reader = await read.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct) || reader.IsDBNull(3))
        {
            return null;
        }

        return new DeadLetterPayload(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3));
    }

    public async Task MarkReplayedAsync(long id, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        await Exec(c, null, "UPDATE dead_letter SET replayed_at = $at WHERE id = $id", ct, ("$id", id), ("$at", Now()));
    }

    private async Task<bool> OnceAsync(string consumer, string eventId, Func<SqliteConnection, SqliteTransaction, Task> effect, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        if (!await Inbox.TryRecordAsync(tx, consumer, eventId, ct))
        {
            return false;
        }

        await effect(connection, tx);
        await tx.CommitAsync(ct);
        return true;
    }

    private static async Task UpsertCrisisAsync(SqliteConnection c, SqliteTransaction tx, string id, long version, string status,
        CrisisKind kind, Area? area, LocalizedText? title, int approvalMode, string? declaredAt, string? closedAt, CancellationToken ct)
    {
        area ??= new Area();
        var marker = AreaRules.Marker(area);
        await Exec(c, tx, """
            INSERT INTO crisis(crisis_id, version, status, kind, country_code, zone_name, marker_lat, marker_lng, title_fr, title_en, approval_mode, declared_at, closed_at)
            VALUES ($id, $v, $status, $kind, $cc, $zone, $lat, $lng, $tfr, $ten, $mode, $declared, $closed)
            ON CONFLICT(crisis_id) DO UPDATE SET version = excluded.version, status = excluded.status,
                title_fr = coalesce(excluded.title_fr, crisis.title_fr), title_en = coalesce(excluded.title_en, crisis.title_en),
                declared_at = coalesce(crisis.declared_at, excluded.declared_at), closed_at = coalesce(excluded.closed_at, crisis.closed_at),
                approval_mode = max(crisis.approval_mode, excluded.approval_mode)
            WHERE excluded.version > crisis.version
            """, ct, ("$id", id), ("$v", version), ("$status", status), ("$kind", (int)kind), ("$cc", area.CountryCode.ToUpperInvariant()),
            ("$zone", Empty(area.ZoneName)), ("$lat", marker?.Lat), ("$lng", marker?.Lng), ("$tfr", Empty(title?.Fr)), ("$ten", Empty(title?.En)),
            ("$mode", approvalMode), ("$declared", declaredAt), ("$closed", closedAt));
    }

    private static async Task<int> Exec(SqliteConnection c, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        await using var command = c.Command(sql, tx, args);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static string? Empty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string? Time(Timestamp? t) => t is null ? null : t.ToDateTimeOffset().ToString("O", CultureInfo.InvariantCulture);

    private string Now() => clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);

}

/// <summary>One threat category and its severity, as stored and shown.</summary>
internal sealed record CategoryDto(string Category, string Severity);

/// <summary>What a replay republishes.</summary>
internal sealed record DeadLetterPayload(string Topic, string EventId, string? Type, string Payload);
