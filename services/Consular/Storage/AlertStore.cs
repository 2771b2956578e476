using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.Domain;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf.WellKnownTypes;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Consular.Storage;

/// <summary>
/// Consular alerts: targeting (streamed, each person once per version), versions (Alert, Update,
/// Cancel), expiry, delivery tracking and CAP export. Every change and its events commit together.
/// </summary>
internal sealed class AlertStore(SqliteDatabase database, PostDirectory posts, TimeProvider time, ConsularSettings settings, Outbox outbox, ILogger<AlertStore> logger)
{
    private const string Columns = "alert_id, version, message_type, post_id, area, level, headline, body, issued_at, expires_at, priority, state, cause_event_id, crisis_id, issued_by, categories, arriving_days, targeted";

    private static readonly System.Diagnostics.Metrics.Counter<long> RecipientsTargeted =
        Shared.CrisisTelemetry.Meter.CreateCounter<long>("crisis.consular.recipients_targeted", "{person}", "People targeted by consular alerts");

    private static readonly System.Diagnostics.Metrics.Counter<long> AlertsIssued =
        Shared.CrisisTelemetry.Meter.CreateCounter<long>("crisis.consular.alerts_issued", "{alert}", "Consular alert versions issued");

    // ---- officer operations ----

    public async Task<AlertRecord> IssueAsync(Caller caller, IssueAlertRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        var v = new Validator().Area("area", request.Area).ArrivalWindow("arriving_within_days", request.ArrivingWithinDays);
        Texts(v, request.Headline, request.Body);
        v.Check(request.ExpiresAt is not null && request.ExpiresAt.ToDateTimeOffset() > now, "expires_at", "is required and must be in the future").ThrowIfInvalid();
        caller.RequireOfficerFor(posts, request.Area);

        var draft = new AlertRecord(RegistrantRules.NewId("alert"), 1, AlertMessageType.Alert, caller.PostId!, request.Area.Clone(), ThreatLevel.Unspecified,
            request.Headline.Clone(), request.Body.Clone(), now, request.ExpiresAt!.ToDateTimeOffset(),
            request.Priority == Priority.Unspecified ? Priority.High : request.Priority, AlertState.Active, null, null, caller.Subject, [],
            request.ArrivingWithinDays, 0);
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var created = await CreateVersionAsync(connection, tx, draft, null, skipIfNobody: false, ct);
        await tx.CommitAsync(ct);
        outbox.NotifyCommitted();
        return created!;
    }

    public async Task<AlertRecord> UpdateAsync(Caller caller, UpdateAlertRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        var now = time.GetUtcNow();
        var v = new Validator().Required("alert_id", request.AlertId, 100);
        Texts(v, request.Headline, request.Body);
        v.Check(request.ExpiresAt is null || request.ExpiresAt.ToDateTimeOffset() > now, "expires_at", "must be in the future").ThrowIfInvalid();
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var latest = await LatestAsync(connection, tx, request.AlertId, ct);
        caller.RequireOfficerFor(posts, latest.Area);
        RequireLive(latest, now);
        var draft = latest with
        {
            Version = latest.Version + 1,
            MessageType = AlertMessageType.Update,
            Headline = request.Headline.Clone(),
            Body = request.Body.Clone(),
            IssuedAt = now,
            ExpiresAt = request.ExpiresAt?.ToDateTimeOffset() ?? latest.ExpiresAt,
            IssuedBy = caller.Subject,
            Targeted = 0,
        };
        var created = await CreateVersionAsync(connection, tx, draft with { CauseEventId = null }, null, skipIfNobody: false, ct);
        await tx.CommitAsync(ct);
        outbox.NotifyCommitted();
        return created!;
    }

    public async Task<AlertRecord> CancelAsync(Caller caller, CancelAlertRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        new Validator().Required("alert_id", request.AlertId, 100).Required("reason", request.Reason).ThrowIfInvalid();
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var latest = await LatestAsync(connection, tx, request.AlertId, ct);
        caller.RequireOfficerFor(posts, latest.Area);
        RequireLive(latest, now);
        var cancel = latest with
        {
            Version = latest.Version + 1,
            MessageType = AlertMessageType.Cancel,
            Body = new LocalizedText { Fr = request.Reason, En = request.Reason },
            IssuedAt = now,
            State = AlertState.Cancelled,
            CauseEventId = null,
            IssuedBy = caller.Subject,
            Targeted = 0,
        };
        await InsertAlertAsync(connection, tx, cancel, ct);
        await ExecAsync(connection, tx, "UPDATE alerts SET state = $s WHERE alert_id = $a", ct, ("$s", (int)AlertState.Cancelled), ("$a", cancel.AlertId));
        await DropUndeliveredAsync(connection, tx, cancel.AlertId, null, DeliveryStatus.Cancelled, ct);
        var cancelRequest = new NotificationRequested
        {
            EventId = NewEventId(),
            Source = "consular",
            SourceAlertId = cancel.AlertId,
            AlertVersion = cancel.Version,
            BatchIndex = 0,
            BatchCount = 1,
            Priority = cancel.Priority,
            Action = NotificationAction.Cancel,
            RequestedAt = Timestamp.FromDateTimeOffset(now),
        };
        await Outbox.AddAsync(tx, Topics.NotificationRequested, cancelRequest.EventId, cancelRequest, ct);
        await AddIssuedEventAsync(tx, cancel, ct);
        await tx.CommitAsync(ct);
        outbox.NotifyCommitted();
        logger.LogInformation("Alert {AlertId} cancelled at version {Version}", cancel.AlertId, cancel.Version);
        return cancel;
    }

    public async Task<(AlertRecord Alert, DeliveryCounts Counts)> GetStatusAsync(Caller caller, string alertId, long version, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        new Validator().Required("alert_id", alertId, 100).Check(version >= 0, "version", "must be 0 (latest) or a version").ThrowIfInvalid();
        await using var connection = await database.OpenAsync(ct);
        var alert = version == 0 ? await LatestAsync(connection, null, alertId, ct) : await VersionAsync(connection, null, alertId, version, ct);
        RequireRead(caller, alert);
        return (alert, await CountsAsync(connection, alert.AlertId, alert.Version, ct));
    }

    public async Task<string> ExportCapAsync(Caller caller, string alertId, long version, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        new Validator().Required("alert_id", alertId, 100).Check(version >= 0, "version", "must be 0 (latest) or a version").ThrowIfInvalid();
        await using var connection = await database.OpenAsync(ct);
        var alert = version == 0 ? await LatestAsync(connection, null, alertId, ct) : await VersionAsync(connection, null, alertId, version, ct);
        RequireRead(caller, alert);
        var earlier = await QueryAsync(connection, null, $"SELECT {Columns} FROM alerts WHERE alert_id = $a AND version < $v ORDER BY version", ct,
            ("$a", alertId), ("$v", alert.Version));
        return CapWriter.Write(alert, earlier);
    }

    public async Task<(IReadOnlyList<AlertRecord> Alerts, string NextPageToken)> ListAsync(Caller caller, int pageSize, string pageToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var v = new Validator().PageSize("page_size", pageSize);
        var offset = 0;
        v.Check(string.IsNullOrEmpty(pageToken) || (int.TryParse(pageToken, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset) && offset >= 0),
            "page_token", "is not a token from a previous response").ThrowIfInvalid();
        var size = Validator.EffectivePageSize(pageSize);
        var officerOnly = !caller.IsCountsReader();
        await using var connection = await database.OpenAsync(ct);
        var rows = await QueryAsync(connection, null, $"""
            SELECT {Columns} FROM alerts a
            WHERE version = (SELECT MAX(version) FROM alerts b WHERE b.alert_id = a.alert_id) AND ($all = 1 OR post_id = $post)
            ORDER BY issued_at DESC, alert_id LIMIT $n OFFSET $o
            """, ct, ("$all", officerOnly ? 0 : 1), ("$post", caller.PostId ?? string.Empty), ("$n", size + 1), ("$o", offset));
        var next = rows.Count > size ? (offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty;
        return (rows.Take(size).ToList(), next);
    }

    // ---- automatic alerts (events) ----

    /// <summary>Creates an automatic alert inside the consumer's transaction; null when nobody is present or it is already expired.</summary>
    public async Task<AlertRecord?> IssueAutomaticAsync(SqliteConnection connection, SqliteTransaction tx, AutomaticAlert a, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(a);
        var now = time.GetUtcNow();
        var expires = a.EffectiveTime + settings.AutomaticAlertLifetime;
        if (expires <= now)
        {
            logger.LogInformation("Automatic alert for event {EventId} not sent: already expired", a.CauseEventId);
            return null;
        }

        var postId = posts.Resolve(a.Area.CountryCode, a.Area.SubdivisionCodes.Count == 1 ? a.Area.SubdivisionCodes[0] : null);
        var draft = new AlertRecord(RegistrantRules.NewId("alert"), 1, AlertMessageType.Alert, postId, a.Area.Clone(), a.Level, a.Headline, a.Body,
            now, expires, a.Priority, AlertState.Active, a.CauseEventId, a.CrisisId, "system", a.Categories, 0, 0);
        return await CreateVersionAsync(connection, tx, draft, a.TraceParent, skipIfNobody: true, ct);
    }

    // ---- delivery tracking ----

    public static async Task ApplyDeliveryAsync(SqliteConnection connection, SqliteTransaction tx, IEnumerable<DeliveryStatusUpdate> updates, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(updates);
        await using var command = connection.Command("""
            UPDATE alert_recipients
            SET status = $s, delivered_at = CASE WHEN $s IN (3, 7) THEN COALESCE(delivered_at, $at) ELSE delivered_at END,
                sent_at = CASE WHEN $s IN (2, 3, 7) THEN COALESCE(sent_at, $at) ELSE sent_at END
            WHERE alert_id = $a AND version = $v AND registrant_id = $r
              AND (CASE status WHEN 1 THEN 0 WHEN 2 THEN 1 WHEN 3 THEN 3 WHEN 7 THEN 4 ELSE 2 END)
                < (CASE $s WHEN 1 THEN 0 WHEN 2 THEN 1 WHEN 3 THEN 3 WHEN 7 THEN 4 ELSE 2 END)
            """, tx, ("$s", 0), ("$at", string.Empty), ("$a", string.Empty), ("$v", 0L), ("$r", string.Empty));
        foreach (var u in updates)
        {
            command.Parameters["$s"].Value = (int)u.Status;
            command.Parameters["$at"].Value = Iso.Time(u.At?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow);
            command.Parameters["$a"].Value = u.SourceAlertId;
            command.Parameters["$v"].Value = u.AlertVersion;
            command.Parameters["$r"].Value = u.RecipientId;
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    // ---- expiry (background job) ----

    /// <summary>Expires alert versions past their expiry: queued messages are dropped and unsent batches never leave.</summary>
    public async Task<int> ExpireDueAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var due = await QueryAsync(connection, tx, $"SELECT {Columns} FROM alerts WHERE state = $active AND expires_at <= $now", ct,
            ("$active", (int)AlertState.Active), ("$now", Iso.Time(now)));
        foreach (var a in due)
        {
            await ExecAsync(connection, tx, "UPDATE alerts SET state = $s WHERE alert_id = $a AND version = $v", ct,
                ("$s", (int)AlertState.Expired), ("$a", a.AlertId), ("$v", a.Version));
            await DropUndeliveredAsync(connection, tx, a.AlertId, a.Version, DeliveryStatus.Expired, ct);
        }

        await tx.CommitAsync(ct);
        return due.Count;
    }

    // ---- internals ----

    private async Task<AlertRecord?> CreateVersionAsync(SqliteConnection connection, SqliteTransaction tx, AlertRecord draft, string? traceParent, bool skipIfNobody, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await InsertAlertAsync(connection, tx, draft, ct);
        var spec = PresenceSpec.From(draft.Area, now, draft.ArrivingWithinDays);
        var messages = AlertTexts.Messages(draft.Headline, draft.Body);
        await using var recipientInsert = connection.Command(
            "INSERT OR IGNORE INTO alert_recipients(alert_id, version, registrant_id, status) SELECT $a, $v, value, 1 FROM json_each($ids)", tx,
            ("$a", draft.AlertId), ("$v", draft.Version), ("$ids", "[]"));
        using var writer = new RecipientBatchWriter(tx, NewBatch(draft, 0, messages, traceParent, now), settings.RecipientsPerBatch);
        await foreach (var page in PresenceQuery.StreamAsync(connection, tx, spec, settings.RecipientsPerBatch, ct))
        {
            recipientInsert.Parameters["$ids"].Value = JsonSerializer.Serialize(page.Select(p => p.RegistrantId), IdsContext.Default.IEnumerableString);
            await recipientInsert.ExecuteNonQueryAsync(ct);
            foreach (var p in page)
            {
                await writer.AddAsync(p.RegistrantId, p.Language, RegistrantRules.Channels(p.RegistrantId, p.Email, p.Mobile, p.AppInbox, p.Preferred), ct);
            }
        }

        await writer.FinishAsync(ct);
        var total = writer.Total;
        var batches = writer.Batches;
        if (total == 0 && skipIfNobody)
        {
            await ExecAsync(connection, tx, "DELETE FROM alerts WHERE alert_id = $a", ct, ("$a", draft.AlertId));
            logger.LogInformation("No alert for {Country}: nobody present", draft.Area.CountryCode);
            return null;
        }

        await ExecAsync(connection, tx, "UPDATE alerts SET targeted = $t WHERE alert_id = $a AND version = $v", ct,
            ("$t", total), ("$a", draft.AlertId), ("$v", draft.Version));
        var created = draft with { Targeted = total };
        await AddIssuedEventAsync(tx, created, ct);
        RecipientsTargeted.Add(total);
        AlertsIssued.Add(1);
        logger.LogInformation("Alert {AlertId} v{Version} targets {Count} people in {Batches} batches", created.AlertId, created.Version, total, batches);
        return created;
    }

    private static NotificationRequested NewBatch(AlertRecord a, int index, List<LocalizedMessage> messages, string? traceParent, DateTimeOffset now) => new()
    {
        EventId = NewEventId(),
        Source = "consular",
        SourceAlertId = a.AlertId,
        AlertVersion = a.Version,
        BatchIndex = index,
        Priority = a.Priority,
        ExpiresAt = Timestamp.FromDateTimeOffset(a.ExpiresAt),
        Messages = { messages },
        Action = NotificationAction.Deliver,
        CauseTraceparent = traceParent ?? string.Empty,
        RequestedAt = Timestamp.FromDateTimeOffset(now),
    };

    private static async Task AddIssuedEventAsync(SqliteTransaction tx, AlertRecord a, CancellationToken ct)
    {
        var e = new ConsularAlertIssued
        {
            EventId = NewEventId(),
            AlertId = a.AlertId,
            Version = a.Version,
            MessageType = a.MessageType,
            ReferencesAlertId = a.MessageType == AlertMessageType.Alert ? string.Empty : a.AlertId,
            PostId = a.PostId,
            Area = a.Area,
            Level = a.Level,
            Headline = a.Headline,
            Body = a.Body,
            IssuedAt = Timestamp.FromDateTimeOffset(a.IssuedAt),
            ExpiresAt = Timestamp.FromDateTimeOffset(a.ExpiresAt),
            RecipientsTargeted = a.Targeted,
            Priority = a.Priority,
            CauseEventId = a.CauseEventId ?? string.Empty,
            CrisisId = a.CrisisId ?? string.Empty,
        };
        await Outbox.AddAsync(tx, Topics.ConsularAlertIssued, e.EventId, e, ct);
    }

    /// <summary>Queued (or only sent) messages of the alert become cancelled/expired; its unsent batches are removed from the outbox.</summary>
    private static async Task DropUndeliveredAsync(SqliteConnection connection, SqliteTransaction tx, string alertId, long? version, DeliveryStatus status, CancellationToken ct)
    {
        var versionFilter = version is null ? string.Empty : " AND version = $v";
        await ExecAsync(connection, tx, $"UPDATE alert_recipients SET status = $s WHERE alert_id = $a AND status IN (1, 2){versionFilter}", ct,
            ("$s", (int)status), ("$a", alertId), ("$v", version ?? 0));
        await ExecAsync(connection, tx, $"""
            DELETE FROM outbox WHERE sent_at IS NULL
              AND event_id IN (SELECT event_id FROM alert_batches WHERE alert_id = $a{versionFilter})
            """, ct, ("$a", alertId), ("$v", version ?? 0));
    }

    private void RequireRead(Caller caller, AlertRecord alert)
    {
        if (caller.IsCountsReader() || (caller.IsOfficer() && (alert.PostId == caller.PostId || posts.CoversArea(caller.PostId, alert.Area))))
        {
            return;
        }

        throw new AccessDeniedException("the alert is outside the jurisdiction of your post");
    }

    private static void RequireLive(AlertRecord latest, DateTimeOffset now)
    {
        if (latest.State == AlertState.Cancelled)
        {
            throw new ConflictException("the alert is cancelled", "ALERT_CANCELLED");
        }

        if (latest.State == AlertState.Expired || latest.ExpiresAt <= now)
        {
            throw new ConflictException("the alert has expired", "ALERT_EXPIRED");
        }
    }

    private static void Texts(Validator v, LocalizedText? headline, LocalizedText? body)
    {
        v.Check(!string.IsNullOrWhiteSpace(headline?.Fr) || !string.IsNullOrWhiteSpace(headline?.En), "headline", "is required in French or English")
            .MaxLength("headline.fr", headline?.Fr, 200).MaxLength("headline.en", headline?.En, 200)
            .Check(!string.IsNullOrWhiteSpace(body?.Fr) || !string.IsNullOrWhiteSpace(body?.En), "body", "is required in French or English")
            .MaxLength("body.fr", body?.Fr, 4000).MaxLength("body.en", body?.En, 4000);
    }

    private static async Task<DeliveryCounts> CountsAsync(SqliteConnection connection, string alertId, long version, CancellationToken ct)
    {
        await using var command = connection.Command("""
            SELECT COUNT(*), COALESCE(SUM(status IN (2, 3, 7)), 0), COALESCE(SUM(status IN (3, 7)), 0), COALESCE(SUM(status = 4), 0),
                   COALESCE(SUM(status = 7), 0), COALESCE(SUM(status IN (5, 6)), 0), MIN(delivered_at), MAX(delivered_at),
                   MIN(sent_at), MAX(sent_at)
            FROM alert_recipients WHERE alert_id = $a AND version = $v
            """, null, ("$a", alertId), ("$v", version));
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var counts = new DeliveryCounts
        {
            Targeted = reader.GetInt64(0),
            Sent = reader.GetInt64(1),
            Delivered = reader.GetInt64(2),
            Failed = reader.GetInt64(3),
            Read = reader.GetInt64(4),
            Dropped = reader.GetInt64(5),
        };
        if (!reader.IsDBNull(6))
        {
            counts.FirstDeliveredAt = Timestamp.FromDateTimeOffset(Iso.ParseTime(reader.GetString(6)));
            counts.LastDeliveredAt = Timestamp.FromDateTimeOffset(Iso.ParseTime(reader.GetString(7)));
        }

        if (!reader.IsDBNull(8))
        {
            counts.FirstSentAt = Timestamp.FromDateTimeOffset(Iso.ParseTime(reader.GetString(8)));
            counts.LastSentAt = Timestamp.FromDateTimeOffset(Iso.ParseTime(reader.GetString(9)));
        }

        return counts;
    }

    private static async Task<AlertRecord> LatestAsync(SqliteConnection connection, SqliteTransaction? tx, string alertId, CancellationToken ct) =>
        (await QueryAsync(connection, tx, $"SELECT {Columns} FROM alerts WHERE alert_id = $a ORDER BY version DESC LIMIT 1", ct, ("$a", alertId))).FirstOrDefault()
        ?? throw new NotFoundException("alert", alertId);

    private static async Task<AlertRecord> VersionAsync(SqliteConnection connection, SqliteTransaction? tx, string alertId, long version, CancellationToken ct) =>
        (await QueryAsync(connection, tx, $"SELECT {Columns} FROM alerts WHERE alert_id = $a AND version = $v", ct, ("$a", alertId), ("$v", version))).FirstOrDefault()
        ?? throw new NotFoundException("alert", $"{alertId} v{version}");

    private static async Task<List<AlertRecord>> QueryAsync(SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = connection.Command(sql, tx, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<AlertRecord>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new AlertRecord(
                reader.GetString(0), reader.GetInt64(1), (AlertMessageType)reader.GetInt32(2), reader.GetString(3),
                ProtoJson.Parse<Area>(reader.GetString(4)), (ThreatLevel)reader.GetInt32(5),
                ProtoJson.Parse<LocalizedText>(reader.GetString(6)), ProtoJson.Parse<LocalizedText>(reader.GetString(7)),
                Iso.ParseTime(reader.GetString(8)), Iso.ParseTime(reader.GetString(9)), (Priority)reader.GetInt32(10), (AlertState)reader.GetInt32(11),
                reader.IsDBNull(12) ? null : reader.GetString(12), reader.IsDBNull(13) ? null : reader.GetString(13), reader.GetString(14),
                reader.GetString(15).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => (ThreatCategory)int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToList(),
                reader.GetInt32(16), reader.GetInt64(17)));
        }

        return list;
    }

    private static async Task InsertAlertAsync(SqliteConnection connection, SqliteTransaction tx, AlertRecord a, CancellationToken ct) =>
        await ExecAsync(connection, tx, $"INSERT INTO alerts({Columns}) VALUES ($a, $v, $t, $p, $area, $l, $h, $b, $i, $e, $pr, $s, $c, $cr, $by, $cat, $arr, $n)", ct,
            ("$a", a.AlertId), ("$v", a.Version), ("$t", (int)a.MessageType), ("$p", a.PostId), ("$area", Json.Of(a.Area)), ("$l", (int)a.Level),
            ("$h", Json.Of(a.Headline)), ("$b", Json.Of(a.Body)), ("$i", Iso.Time(a.IssuedAt)), ("$e", Iso.Time(a.ExpiresAt)), ("$pr", (int)a.Priority),
            ("$s", (int)a.State), ("$c", a.CauseEventId), ("$cr", a.CrisisId), ("$by", a.IssuedBy),
            ("$cat", string.Join(',', a.Categories.Select(c => ((int)c).ToString(System.Globalization.CultureInfo.InvariantCulture)))),
            ("$arr", a.ArrivingWithinDays), ("$n", a.Targeted));

    internal static async Task ExecAsync(SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = connection.Command(sql, tx, parameters);
        await command.ExecuteNonQueryAsync(ct);
    }

    internal static string NewEventId() => Guid.NewGuid().ToString();
}

/// <summary>What an inbound event asks to alert about.</summary>
internal sealed record AutomaticAlert(
    string CauseEventId,
    Area Area,
    ThreatLevel Level,
    LocalizedText Headline,
    LocalizedText Body,
    DateTimeOffset EffectiveTime,
    Priority Priority,
    string? CrisisId,
    IReadOnlyList<ThreatCategory> Categories,
    string? TraceParent);

[JsonSerializable(typeof(IEnumerable<string>))]
internal sealed partial class IdsContext : JsonSerializerContext;
