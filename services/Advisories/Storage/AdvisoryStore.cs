using Dcis.Crisis.Advisories.Delivery;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Advisories.Storage;

/// <summary>Reading, acknowledging and re-sending advisories; counts; delivery reports.</summary>
internal sealed class AdvisoryStore(SqliteDatabase database, Outbox outbox, WebhookSignal webhookSignal, TimeProvider time)
{
    private const string Columns = "data, acknowledged_at, acknowledged_by, chase_count";

    public async Task<(List<Advisory> Advisories, string Next)> ListAsync(string companyId, bool unacknowledgedOnly, int pageSize, string pageToken, CancellationToken ct)
    {
        var before = long.TryParse(pageToken, out var b) ? b : long.MaxValue;
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM advisories WHERE company_id = $company AND sequence < $before " +
            (unacknowledgedOnly ? "AND requires_ack = 1 AND acknowledged_at IS NULL " : string.Empty) +
            "ORDER BY sequence DESC LIMIT $n",
            null, ("$company", companyId), ("$before", before), ("$n", pageSize + 1));
        var list = await ReadAllAsync(command, ct);
        await EnrichAsync(connection, list, ct);
        if (list.Count <= pageSize)
        {
            return (list, string.Empty);
        }

        list.RemoveAt(list.Count - 1);
        return (list, list[^1].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Advisories after a cursor in sequence order (the stream's backlog); no enrichment, for speed.</summary>
    public async Task<List<Advisory>> ReadAfterAsync(string companyId, long afterSequence, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            $"SELECT {Columns} FROM advisories WHERE company_id = $company AND sequence > $after ORDER BY sequence LIMIT $n",
            null, ("$company", companyId), ("$after", afterSequence), ("$n", limit));
        return await ReadAllAsync(command, ct);
    }

    public async Task<long> LatestSequenceAsync(string companyId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command("SELECT last_sequence FROM companies WHERE company_id = $id", null, ("$id", companyId));
        return await command.ExecuteScalarAsync(ct) is long seq ? seq : 0;
    }

    public async Task<Advisory> GetAsync(string companyId, string advisoryId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var advisory = await GetAsync(connection, null, companyId, advisoryId, ct);
        await EnrichAsync(connection, [advisory], ct);
        return advisory;
    }

    public async Task<Advisory> AcknowledgeAsync(string companyId, string advisoryId, string subject, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using (var connection = await database.OpenAsync(ct))
        await using (var tx = connection.BeginTransaction())
        {
            var advisory = await GetAsync(connection, tx, companyId, advisoryId, ct);
            if (advisory.AcknowledgedAt is null)
            {
                await using var command = connection.Command(
                    "UPDATE advisories SET acknowledged_at = $at, acknowledged_by = $by WHERE advisory_id = $id AND acknowledged_at IS NULL", tx,
                    ("$at", now.ToUnixTimeMilliseconds()), ("$by", subject), ("$id", advisoryId));
                await command.ExecuteNonQueryAsync(ct);
                var e = new AdvisoryAcknowledged
                {
                    EventId = Guid.NewGuid().ToString(),
                    AdvisoryId = advisoryId,
                    CompanyId = companyId,
                    WaveId = advisory.CauseEventId,
                    AcknowledgedAt = Timestamp.FromDateTimeOffset(now),
                };
                await Outbox.AddAsync(tx, Topics.AdvisoryAcknowledged, e.EventId, e, ct);
            }

            await tx.CommitAsync(ct);
        }

        outbox.NotifyCommitted();
        return await GetAsync(companyId, advisoryId, ct);
    }

    public async Task<GetAdvisoryCountsResponse> CountsAsync(string causeEventId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var filter = string.IsNullOrEmpty(causeEventId) ? string.Empty : "WHERE cause_event_id = $cause";
        await using var command = connection.Command(
            $"""
            SELECT COUNT(*), COALESCE(SUM(requires_ack), 0),
                   COALESCE(SUM(CASE WHEN requires_ack = 1 AND acknowledged_at IS NOT NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN requires_ack = 1 AND acknowledged_at IS NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN chase_count > 0 THEN 1 ELSE 0 END), 0),
                   (SELECT COUNT(*) FROM companies)
            FROM advisories {filter}
            """,
            null, ("$cause", causeEventId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new GetAdvisoryCountsResponse
        {
            Issued = reader.GetInt64(0),
            AcknowledgementRequired = reader.GetInt64(1),
            Acknowledged = reader.GetInt64(2),
            AwaitingAcknowledgement = reader.GetInt64(3),
            Chased = reader.GetInt64(4),
            Companies = reader.GetInt64(5),
        };
    }

    /// <summary>Queues an advisory again to the company's active endpoints (or one endpoint).</summary>
    public async Task<List<WebhookDelivery>> ReplayAsync(string companyId, string advisoryId, string endpointId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var deliveries = new List<WebhookDelivery>();
        await using (var connection = await database.OpenAsync(ct))
        await using (var tx = connection.BeginTransaction())
        {
            var advisory = await GetAsync(connection, tx, companyId, advisoryId, ct);
            var endpoints = await EndpointIdsAsync(connection, tx, companyId, endpointId, ct);
            var body = AdvisoryMessages.WebhookBody("advisory.issued", advisory, now);
            foreach (var id in endpoints)
            {
                deliveries.Add(await QueueAsync(connection, tx, companyId, id, advisoryId, body, replay: true, now, ct));
            }

            await tx.CommitAsync(ct);
        }

        webhookSignal.Notify();
        return deliveries;
    }

    public async Task<WebhookDelivery> QueueTestAsync(string companyId, string endpointId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        WebhookDelivery delivery;
        await using (var connection = await database.OpenAsync(ct))
        await using (var tx = connection.BeginTransaction())
        {
            await EndpointIdsAsync(connection, tx, companyId, endpointId, ct);
            delivery = await QueueAsync(connection, tx, companyId, endpointId, string.Empty, AdvisoryMessages.WebhookBody("webhook.test", null, now), replay: false, now, ct);
            await tx.CommitAsync(ct);
        }

        webhookSignal.Notify();
        return delivery;
    }

    public async Task<(List<WebhookDelivery> Deliveries, string Next)> ListDeliveriesAsync(string companyId, string endpointId, int pageSize, string pageToken, CancellationToken ct)
    {
        var before = long.TryParse(pageToken, out var b) ? b : long.MaxValue;
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            "SELECT n, delivery_id, endpoint_id, advisory_id, state, attempts, last_status_code, last_error, next_attempt_at, delivered_at, replay " +
            "FROM webhook_deliveries WHERE company_id = $company AND n < $before " +
            (string.IsNullOrEmpty(endpointId) ? string.Empty : "AND endpoint_id = $endpoint ") + "ORDER BY n DESC LIMIT $n",
            null, ("$company", companyId), ("$before", before), ("$endpoint", endpointId), ("$n", pageSize + 1));
        var rows = new List<(long N, WebhookDelivery D)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var d = new WebhookDelivery
            {
                DeliveryId = reader.GetString(1),
                EndpointId = reader.GetString(2),
                AdvisoryId = reader.GetString(3),
                State = (WebhookDeliveryState)reader.GetInt32(4),
                Attempts = reader.GetInt32(5),
                LastStatusCode = reader.GetInt32(6),
                LastError = reader.GetString(7),
                Replay = reader.GetInt64(10) == 1,
            };
            if (d.State == WebhookDeliveryState.Pending)
            {
                d.NextAttemptAt = Ms(reader.GetInt64(8));
            }

            if (!reader.IsDBNull(9))
            {
                d.DeliveredAt = Ms(reader.GetInt64(9));
            }

            rows.Add((reader.GetInt64(0), d));
        }

        var next = string.Empty;
        if (rows.Count > pageSize)
        {
            rows.RemoveAt(rows.Count - 1);
            next = rows[^1].N.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return (rows.Select(r => r.D).ToList(), next);
    }

    /// <summary>Records delivery statuses reported by notifications for our e-mails (idempotent: latest time wins).</summary>
    public async Task RecordContactStatusesAsync(NotificationStatusChanged message, string consumer, string eventId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        if (!await Inbox.TryRecordAsync(tx, consumer, eventId, ct))
        {
            return;
        }

        await using var command = connection.Command(
            """
            INSERT INTO contact_deliveries(advisory_id, contact_id, message_version, channel, status, reason, at)
            SELECT $a, $c, $v, $ch, $s, $r, $at WHERE EXISTS (SELECT 1 FROM advisories WHERE advisory_id = $a)
            ON CONFLICT(advisory_id, contact_id, message_version) DO UPDATE SET
                channel = excluded.channel, status = excluded.status, reason = excluded.reason, at = excluded.at
            WHERE excluded.at >= contact_deliveries.at
            """,
            tx, ("$a", ""), ("$c", ""), ("$v", 0L), ("$ch", 0), ("$s", 0), ("$r", ""), ("$at", 0L));
        foreach (var u in message.Updates)
        {
            command.Parameters["$a"].Value = u.SourceAlertId;
            command.Parameters["$c"].Value = u.RecipientId;
            command.Parameters["$v"].Value = u.AlertVersion;
            command.Parameters["$ch"].Value = (int)u.Channel;
            command.Parameters["$s"].Value = (int)u.Status;
            command.Parameters["$r"].Value = u.Reason;
            command.Parameters["$at"].Value = u.At?.ToDateTimeOffset().ToUnixTimeMilliseconds() ?? 0;
            await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
    }

    internal static async Task<Advisory> GetAsync(SqliteConnection connection, SqliteTransaction? tx, string companyId, string advisoryId, CancellationToken ct)
    {
        await using var command = connection.Command(
            $"SELECT {Columns} FROM advisories WHERE company_id = $company AND advisory_id = $id", tx, ("$company", companyId), ("$id", advisoryId));
        var list = await ReadAllAsync(command, ct);
        return list.Count == 1 ? list[0] : throw new NotFoundException("advisory", advisoryId);
    }

    private static async Task<List<Advisory>> ReadAllAsync(SqliteCommand command, CancellationToken ct)
    {
        var list = new List<Advisory>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var advisory = Advisory.Parser.ParseFrom((byte[])reader.GetValue(0));
            if (!reader.IsDBNull(1))
            {
                advisory.AcknowledgedAt = Ms(reader.GetInt64(1));
                advisory.AcknowledgedBy = reader.GetString(2);
            }

            advisory.ChaseCount = reader.GetInt32(3);
            list.Add(advisory);
        }

        return list;
    }

    private static async Task EnrichAsync(SqliteConnection connection, List<Advisory> advisories, CancellationToken ct)
    {
        await using var alerts = connection.Command("SELECT alert_id FROM related_alerts WHERE wave_id = $w ORDER BY alert_id", null, ("$w", ""));
        await using var contacts = connection.Command(
            "SELECT contact_id, channel, status, reason, at, message_version FROM contact_deliveries WHERE advisory_id = $a ORDER BY contact_id, message_version",
            null, ("$a", ""));
        foreach (var advisory in advisories)
        {
            alerts.Parameters["$w"].Value = advisory.CauseEventId;
            await using (var reader = await alerts.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    var id = reader.GetString(0);
                    if (!advisory.RelatedAlertIds.Contains(id))
                    {
                        advisory.RelatedAlertIds.Add(id);
                    }
                }
            }

            contacts.Parameters["$a"].Value = advisory.AdvisoryId;
            await using (var reader = await contacts.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    advisory.ContactDeliveries.Add(new ContactDelivery
                    {
                        ContactId = reader.GetString(0),
                        Channel = (Channel)reader.GetInt32(1),
                        Status = (DeliveryStatus)reader.GetInt32(2),
                        Reason = reader.GetString(3),
                        At = Ms(reader.GetInt64(4)),
                        MessageVersion = reader.GetInt64(5),
                    });
                }
            }
        }
    }

    private static async Task<List<string>> EndpointIdsAsync(SqliteConnection connection, SqliteTransaction tx, string companyId, string endpointId, CancellationToken ct)
    {
        await using var command = connection.Command(
            "SELECT endpoint_id FROM webhook_endpoints WHERE company_id = $company " +
            (string.IsNullOrEmpty(endpointId) ? "AND active = 1 " : "AND endpoint_id = $id ") + "ORDER BY endpoint_id",
            tx, ("$company", companyId), ("$id", endpointId));
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ids.Add(reader.GetString(0));
        }

        if (!string.IsNullOrEmpty(endpointId) && ids.Count == 0)
        {
            throw new NotFoundException("webhook endpoint", endpointId);
        }

        return ids;
    }

    private static async Task<WebhookDelivery> QueueAsync(
        SqliteConnection connection, SqliteTransaction tx, string companyId, string endpointId, string advisoryId, string body, bool replay,
        DateTimeOffset now, CancellationToken ct)
    {
        var id = "msg_" + Guid.NewGuid().ToString("N");
        await using var command = connection.Command(
            """
            INSERT INTO webhook_deliveries(delivery_id, endpoint_id, company_id, advisory_id, replay, body, state, next_attempt_at, created_at)
            VALUES ($d, $e, $company, $a, $replay, $body, 1, $at, $at)
            """,
            tx, ("$d", id), ("$e", endpointId), ("$company", companyId), ("$a", advisoryId), ("$replay", replay ? 1 : 0), ("$body", body),
            ("$at", now.ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(ct);
        return new WebhookDelivery
        {
            DeliveryId = id, EndpointId = endpointId, AdvisoryId = advisoryId, State = WebhookDeliveryState.Pending, Replay = replay,
            NextAttemptAt = Timestamp.FromDateTimeOffset(now),
        };
    }

    private static Timestamp Ms(long ms) => Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(ms));
}
