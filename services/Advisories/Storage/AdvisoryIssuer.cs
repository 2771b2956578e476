using System.Diagnostics.Metrics;
using Dcis.Crisis.Advisories.Delivery;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Shared;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Advisories.Storage;

/// <summary>What happened to an inbound event.</summary>
internal enum IssueOutcome
{
    Issued,
    Duplicate,
    Stale,
}

/// <summary>Result of processing one event.</summary>
internal sealed record IssueResult(IssueOutcome Outcome, IReadOnlyList<Advisory> Advisories);

/// <summary>
/// Turns one inbound event into at most one advisory per company, in one transaction with the
/// inbox record, the subject version, the outbox events and the webhook deliveries. Stale or
/// redelivered events change nothing.
/// </summary>
internal sealed class AdvisoryIssuer(
    SqliteDatabase database,
    Outbox outbox,
    AdvisoryBroadcaster broadcaster,
    WebhookSignal webhookSignal,
    MeasuresCatalogue measures,
    TimeProvider time,
    ILogger<AdvisoryIssuer> logger)
{
    private static readonly Counter<long> Issued = CrisisTelemetry.Meter.CreateCounter<long>(
        "crisis.advisories.issued", "{advisory}", "Advisories issued to companies");

    public async Task<IssueResult> IssueAsync(AdvisoryTrigger trigger, string consumer, string eventId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        List<Advisory> issued;
        var deliveriesQueued = false;
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var tx = connection.BeginTransaction())
        {
            if (!await Inbox.TryRecordAsync(tx, consumer, eventId, cancellationToken))
            {
                return new IssueResult(IssueOutcome.Duplicate, []);
            }

            if (!await AdvanceSubjectVersionAsync(tx, trigger, cancellationToken))
            {
                await tx.CommitAsync(cancellationToken);
                logger.LogInformation("Ignored stale {Subject} version {Version}", trigger.SubjectKey, trigger.SubjectVersion);
                return new IssueResult(IssueOutcome.Stale, []);
            }

            if (trigger.LinkedWaveId is not null)
            {
                foreach (var alertId in trigger.RelatedAlertIds)
                {
                    await using var link = connection.Command(
                        "INSERT OR IGNORE INTO related_alerts(wave_id, alert_id) VALUES ($w, $a)", tx, ("$w", trigger.LinkedWaveId), ("$a", alertId));
                    await link.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            var matcher = new AreaMatcher(trigger.Area);
            var affected = new SortedDictionary<string, Affected>(StringComparer.Ordinal);
            await CollectSitesAsync(tx, matcher, affected, cancellationToken);
            await CollectTravellersAsync(tx, matcher, nowMs, affected, cancellationToken);
            await CollectSubscriptionsAsync(tx, matcher, trigger, affected, cancellationToken);

            issued = new List<Advisory>(affected.Count);
            if (affected.Count > 0)
            {
                deliveriesQueued = await WriteAdvisoriesAsync(tx, trigger, affected, now, issued, cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
        }

        if (issued.Count > 0)
        {
            broadcaster.Publish(issued);
            outbox.NotifyCommitted();
            if (deliveriesQueued)
            {
                webhookSignal.Notify();
            }

            Issued.Add(issued.Count, new KeyValuePair<string, object?>("cause", trigger.Cause.ToString()));
        }

        logger.LogInformation("Event {EventId} ({Cause}) issued {Count} advisories", eventId, trigger.Cause, issued.Count);
        return new IssueResult(IssueOutcome.Issued, issued);
    }

    private static async Task<bool> AdvanceSubjectVersionAsync(SqliteTransaction tx, AdvisoryTrigger trigger, CancellationToken ct)
    {
        await using var read = tx.Connection!.Command("SELECT version FROM subject_versions WHERE subject_key = $k", tx, ("$k", trigger.SubjectKey));
        var current = await read.ExecuteScalarAsync(ct);
        if (current is long version && version >= trigger.SubjectVersion)
        {
            return false;
        }

        await using var write = tx.Connection!.Command(
            "INSERT INTO subject_versions(subject_key, version) VALUES ($k, $v) ON CONFLICT(subject_key) DO UPDATE SET version = excluded.version",
            tx, ("$k", trigger.SubjectKey), ("$v", trigger.SubjectVersion));
        await write.ExecuteNonQueryAsync(ct);
        return true;
    }

    private static async Task CollectSitesAsync(SqliteTransaction tx, AreaMatcher matcher, SortedDictionary<string, Affected> affected, CancellationToken ct)
    {
        await using var command = tx.Connection!.Command(
            "SELECT site_id, company_id, name, reference, subdivision_code, city, latitude, longitude, expatriates, locals FROM sites WHERE country_code = $c",
            tx, ("$c", matcher.CountryCode));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            double? lat = reader.IsDBNull(6) ? null : reader.GetDouble(6);
            double? lon = reader.IsDBNull(7) ? null : reader.GetDouble(7);
            if (!matcher.Contains(matcher.CountryCode, reader.GetString(4), lat, lon))
            {
                continue;
            }

            Get(affected, reader.GetString(1)).Sites.Add(new AffectedSite
            {
                SiteId = reader.GetString(0),
                Name = reader.GetString(2),
                Reference = reader.GetString(3),
                City = reader.GetString(5),
                ExpatriateHeadcount = reader.GetInt32(8),
                LocalHeadcount = reader.GetInt32(9),
            });
        }
    }

    private static async Task CollectTravellersAsync(SqliteTransaction tx, AreaMatcher matcher, long nowMs, SortedDictionary<string, Affected> affected, CancellationToken ct)
    {
        // Current and future legs: a trip that ended is no one's concern any more.
        await using var command = tx.Connection!.Command(
            """
            SELECT l.trip_id, l.company_id, l.subdivision_code, l.latitude, l.longitude, l.from_time, l.to_time, t.traveller_reference, t.traveller_name
            FROM trip_legs l JOIN trips t ON t.trip_id = l.trip_id
            WHERE l.country_code = $c AND l.to_time >= $now
            ORDER BY l.trip_id, l.leg_index
            """,
            tx, ("$c", matcher.CountryCode), ("$now", nowMs));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            double? lat = reader.IsDBNull(3) ? null : reader.GetDouble(3);
            double? lon = reader.IsDBNull(4) ? null : reader.GetDouble(4);
            if (!matcher.Contains(matcher.CountryCode, reader.GetString(2), lat, lon))
            {
                continue;
            }

            var entry = Get(affected, reader.GetString(1));
            var tripId = reader.GetString(0);
            if (entry.Travellers.Any(t => t.TripId == tripId))
            {
                continue;
            }

            entry.Travellers.Add(new AffectedTraveller
            {
                TripId = tripId,
                TravellerReference = reader.GetString(7),
                TravellerName = reader.GetString(8),
                FromTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))),
                ToTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))),
            });
        }
    }

    private static async Task CollectSubscriptionsAsync(SqliteTransaction tx, AreaMatcher matcher, AdvisoryTrigger trigger, SortedDictionary<string, Affected> affected, CancellationToken ct)
    {
        await using var command = tx.Connection!.Command(
            """
            SELECT s.subscription_id, s.company_id, st.subdivision_code, s.data
            FROM subscription_targets st JOIN subscriptions s ON s.subscription_id = st.subscription_id
            WHERE st.country_code = $c
            """,
            tx, ("$c", matcher.CountryCode));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (!matcher.ConcernsRegion(matcher.CountryCode, reader.GetString(2)))
            {
                continue;
            }

            var subscription = Subscription.Parser.ParseFrom((byte[])reader.GetValue(3));
            if (!SubscriptionRule.Matches(subscription, trigger))
            {
                continue;
            }

            var ids = Get(affected, reader.GetString(1)).SubscriptionIds;
            if (!ids.Contains(subscription.SubscriptionId))
            {
                ids.Add(subscription.SubscriptionId);
            }
        }
    }

    private async Task<bool> WriteAdvisoriesAsync(
        SqliteTransaction tx, AdvisoryTrigger trigger, SortedDictionary<string, Affected> affected, DateTimeOffset now,
        List<Advisory> issued, CancellationToken ct)
    {
        var connection = tx.Connection!;
        var nowMs = now.ToUnixTimeMilliseconds();
        var endpoints = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        await using (var command = connection.Command("SELECT endpoint_id, company_id FROM webhook_endpoints WHERE active = 1 ORDER BY endpoint_id", tx))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var companyId = reader.GetString(1);
                if (affected.ContainsKey(companyId))
                {
                    (endpoints.TryGetValue(companyId, out var list) ? list : endpoints[companyId] = []).Add(reader.GetString(0));
                }
            }
        }

        var requiresAck = !trigger.IsCancel && trigger.Cause != AdvisoryCause.CrisisClosed && AdvisoryMessages.RequiresAcknowledgement(trigger.NewLevel);
        var recommended = trigger.Cause == AdvisoryCause.CrisisClosed ? [] : measures.For(trigger.NewLevel);
        var issuedAt = Timestamp.FromDateTimeOffset(now);
        var events = new List<(string Topic, string EventId, IMessage Message)>(affected.Count * 2);

        await using var readCompany = connection.Command("SELECT contacts, last_sequence FROM companies WHERE company_id = $id", tx, ("$id", ""));
        await using var bumpSequence = connection.Command("UPDATE companies SET last_sequence = $s WHERE company_id = $id", tx, ("$s", 0L), ("$id", ""));
        await using var insert = connection.Command(
            """
            INSERT OR IGNORE INTO advisories(advisory_id, company_id, sequence, cause_event_id, level, requires_ack, issued_at, data)
            VALUES ($id, $company, $seq, $cause, $level, $ack, $at, $data)
            """,
            tx, ("$id", ""), ("$company", ""), ("$seq", 0L), ("$cause", trigger.CauseEventId), ("$level", (int)trigger.NewLevel),
            ("$ack", requiresAck ? 1 : 0), ("$at", nowMs), ("$data", Array.Empty<byte>()));
        await using var queue = connection.Command(
            """
            INSERT INTO webhook_deliveries(delivery_id, endpoint_id, company_id, advisory_id, replay, body, state, next_attempt_at, created_at)
            VALUES ($d, $e, $company, $a, 0, $body, 1, $at, $at)
            """,
            tx, ("$d", ""), ("$e", ""), ("$company", ""), ("$a", ""), ("$body", ""), ("$at", nowMs));

        var queued = false;
        foreach (var (companyId, found) in affected)
        {
            readCompany.Parameters["$id"].Value = companyId;
            IReadOnlyList<SecurityContact> contacts;
            long sequence;
            await using (var reader = await readCompany.ExecuteReaderAsync(ct))
            {
                if (!await reader.ReadAsync(ct))
                {
                    continue;
                }

                contacts = Company.Parser.ParseFrom((byte[])reader.GetValue(0)).Contacts;
                sequence = reader.GetInt64(1) + 1;
            }

            var advisory = new Advisory
            {
                AdvisoryId = "adv-" + Guid.NewGuid().ToString("N"),
                CompanyId = companyId,
                Sequence = sequence,
                Cause = trigger.Cause,
                CauseEventId = trigger.CauseEventId,
                SubjectId = trigger.SubjectId,
                SubjectVersion = trigger.SubjectVersion,
                Area = trigger.Area,
                PreviousLevel = trigger.PreviousLevel,
                NewLevel = trigger.NewLevel,
                Headline = trigger.Headline,
                Description = trigger.Description,
                AcknowledgementRequired = requiresAck,
                IssuedAt = issuedAt,
                CrisisId = trigger.CrisisId,
            };
            advisory.Categories.AddRange(trigger.Categories);
            advisory.CategoriesAdded.AddRange(trigger.CategoriesAdded);
            advisory.CategoriesRemoved.AddRange(trigger.CategoriesRemoved);
            advisory.RecommendedMeasures.AddRange(recommended);
            advisory.AffectedSites.AddRange(found.Sites);
            advisory.AffectedTravellers.AddRange(found.Travellers);
            advisory.MatchedSubscriptionIds.AddRange(found.SubscriptionIds);
            advisory.RelatedAlertIds.AddRange(trigger.RelatedAlertIds);

            insert.Parameters["$id"].Value = advisory.AdvisoryId;
            insert.Parameters["$company"].Value = companyId;
            insert.Parameters["$seq"].Value = sequence;
            insert.Parameters["$data"].Value = advisory.ToByteArray();
            if (await insert.ExecuteNonQueryAsync(ct) == 0)
            {
                continue; // (company, cause event) already has its advisory.
            }

            bumpSequence.Parameters["$s"].Value = sequence;
            bumpSequence.Parameters["$id"].Value = companyId;
            await bumpSequence.ExecuteNonQueryAsync(ct);

            var issuedEvent = AdvisoryMessages.IssuedEvent(advisory);
            events.Add((Topics.AdvisoryIssued, issuedEvent.EventId, issuedEvent));
            if (AdvisoryMessages.EmailRequest(advisory, contacts, 1, now) is { } email)
            {
                events.Add((Topics.NotificationRequested, email.EventId, email));
            }

            if (endpoints.TryGetValue(companyId, out var endpointIds))
            {
                var body = AdvisoryMessages.WebhookBody("advisory.issued", advisory, now);
                foreach (var endpointId in endpointIds)
                {
                    queue.Parameters["$d"].Value = "msg_" + Guid.NewGuid().ToString("N");
                    queue.Parameters["$e"].Value = endpointId;
                    queue.Parameters["$company"].Value = companyId;
                    queue.Parameters["$a"].Value = advisory.AdvisoryId;
                    queue.Parameters["$body"].Value = body;
                    await queue.ExecuteNonQueryAsync(ct);
                    queued = true;
                }
            }

            issued.Add(advisory);
        }

        await Outbox.AddRangeAsync(tx, events, ct);
        return queued;
    }

    private static Affected Get(SortedDictionary<string, Affected> affected, string companyId)
    {
        if (!affected.TryGetValue(companyId, out var entry))
        {
            entry = new Affected();
            affected[companyId] = entry;
        }

        return entry;
    }

    private sealed class Affected
    {
        public List<AffectedSite> Sites { get; } = [];
        public List<AffectedTraveller> Travellers { get; } = [];
        public List<string> SubscriptionIds { get; } = [];
    }
}
