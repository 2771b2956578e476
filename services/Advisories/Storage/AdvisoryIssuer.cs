using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Dcis.Crisis.Advisories.Delivery;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
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
/// Turns one inbound event into at most one advisory per company. The first transaction records
/// the inbox entry and the subject version with the first batch of companies; when more companies
/// are concerned than one batch holds, a progress row (the last company written) is committed with
/// each batch, and every batch is pushed to open streams as soon as it commits. Guarantees:
/// <list type="bullet">
/// <item>one advisory per company and event: <c>UNIQUE (company_id, cause_event_id)</c>, and a
/// redelivery after a crash resumes from the progress row instead of starting again;</item>
/// <item>a stale event never overwrites a newer one: each batch re-checks, inside its write
/// transaction, that the subject is still at the event's version, and stops once a newer version
/// has been claimed (that version's advisories then carry the higher sequences);</item>
/// <item>each company's advisories keep consecutive sequences (the stream resume cursor).</item>
/// </list>
/// </summary>
internal sealed class AdvisoryIssuer(
    IssuerConnection writer,
    Outbox outbox,
    AdvisoryBroadcaster broadcaster,
    WebhookSignal webhookSignal,
    MeasuresCatalogue measures,
    AdvisoriesOptions options,
    TimeProvider time,
    ILogger<AdvisoryIssuer> logger)
{
    private static readonly Counter<long> Issued = CrisisTelemetry.Meter.CreateCounter<long>(
        "crisis.advisories.issued", "{advisory}", "Advisories issued to companies");

    public async Task<IssueResult> IssueAsync(AdvisoryTrigger trigger, string consumer, string eventId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        using var activity = CrisisTelemetry.ActivitySource.StartActivity("advisories issue");
        activity?.SetTag("crisis.advisory.cause", trigger.Cause.ToString());
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var issued = new List<Advisory>();
        Plan plan;
        string[] pending;
        using (var lease = await writer.AcquireAsync(cancellationToken))
        await using (var transaction = lease.Connection.BeginTransaction())
        {
            var tx = new Sql(lease, transaction);
            activity?.AddEvent(new ActivityEvent("transaction begun"));
            string? resumeAfter = null;
            if (!await Inbox.TryRecordAsync(lease.Kept, transaction, consumer, eventId, cancellationToken))
            {
                // Seen before: done, unless a crash interrupted its batches (then resume them).
                resumeAfter = await ReadProgressAsync(tx, consumer, eventId, cancellationToken);
                if (resumeAfter is null)
                {
                    return new IssueResult(IssueOutcome.Duplicate, []);
                }

                if (!await IsCurrentAsync(tx, trigger, cancellationToken))
                {
                    await DeleteProgressAsync(tx, consumer, eventId, cancellationToken);
                    await tx.Transaction.CommitAsync(cancellationToken);
                    logger.LogInformation("Stopped resuming {Subject} version {Version}: a newer version was issued", trigger.SubjectKey, trigger.SubjectVersion);
                    return new IssueResult(IssueOutcome.Stale, []);
                }

                logger.LogInformation("Resuming event {EventId} after company {Company}", eventId, resumeAfter);
            }
            else if (!await AdvanceSubjectVersionAsync(tx, trigger, cancellationToken))
            {
                await tx.Transaction.CommitAsync(cancellationToken);
                logger.LogInformation("Ignored stale {Subject} version {Version}", trigger.SubjectKey, trigger.SubjectVersion);
                return new IssueResult(IssueOutcome.Stale, []);
            }

            if (trigger.LinkedWaveId is not null)
            {
                foreach (var alertId in trigger.RelatedAlertIds)
                {
                    var link = tx.Command(
                        "INSERT OR IGNORE INTO related_alerts(wave_id, alert_id) VALUES ($w, $a)", ("$w", trigger.LinkedWaveId), ("$a", alertId));
                    await link.ExecuteNonQueryAsync(cancellationToken);
                }
            }

            var matcher = new AreaMatcher(trigger.Area);
            var affected = new SortedDictionary<string, Affected>(StringComparer.Ordinal);
            await CollectSitesAsync(tx, matcher, affected, cancellationToken);
            await CollectTravellersAsync(tx, matcher, nowMs, affected, cancellationToken);
            await CollectSubscriptionsAsync(tx, matcher, trigger, affected, cancellationToken);
            activity?.AddEvent(new ActivityEvent("affected collected"));

            plan = await PlanAsync(tx, trigger, affected, now, cancellationToken);
            pending = [.. affected.Keys.Where(c => resumeAfter is null || string.CompareOrdinal(c, resumeAfter) > 0)];
            var batch = pending.AsSpan(0, Math.Min(pending.Length, options.IssueBatchSize)).ToArray();
            pending = pending[batch.Length..];
            await WriteBatchAsync(tx, plan, batch, issued, cancellationToken);
            await SaveProgressAsync(tx, consumer, eventId, trigger, batch, pending.Length == 0, resumeAfter is not null, cancellationToken);
            activity?.AddEvent(new ActivityEvent("written"));
            await tx.Transaction.CommitAsync(cancellationToken);
            activity?.AddEvent(new ActivityEvent("committed"));
        }

        Committed(issued, plan, trigger.Cause);
        activity?.AddEvent(new ActivityEvent("offered to streams"));
        var total = issued.Count;
        while (pending.Length > 0)
        {
            var batch = pending[..Math.Min(pending.Length, options.IssueBatchSize)];
            pending = pending[batch.Length..];
            issued.Clear();
            using (var lease = await writer.AcquireAsync(cancellationToken))
            await using (var transaction = lease.Connection.BeginTransaction())
            {
                var tx = new Sql(lease, transaction);
                if (!await IsCurrentAsync(tx, trigger, cancellationToken) || await ReadProgressAsync(tx, consumer, eventId, cancellationToken) is null)
                {
                    // A newer version was claimed meanwhile (its advisories follow ours), or another
                    // delivery of this event finished the batches.
                    await DeleteProgressAsync(tx, consumer, eventId, cancellationToken);
                    await tx.Transaction.CommitAsync(cancellationToken);
                    logger.LogInformation("Stopped issuing {Subject} version {Version} after {Count} advisories: superseded", trigger.SubjectKey, trigger.SubjectVersion, total);
                    break;
                }

                await WriteBatchAsync(tx, plan, batch, issued, cancellationToken);
                await SaveProgressAsync(tx, consumer, eventId, trigger, batch, pending.Length == 0, true, cancellationToken);
                await tx.Transaction.CommitAsync(cancellationToken);
            }

            Committed(issued, plan, trigger.Cause);
            total += issued.Count;
        }

        logger.LogInformation("Event {EventId} ({Cause}) issued {Count} advisories", eventId, trigger.Cause, total);
        return new IssueResult(IssueOutcome.Issued, plan.All);
    }

    /// <summary>After a batch commits: push to streams, wake the relay and the webhook dispatcher.</summary>
    private void Committed(List<Advisory> issued, Plan plan, AdvisoryCause cause)
    {
        if (issued.Count == 0)
        {
            return;
        }

        broadcaster.Publish(issued);
        outbox.NotifyCommitted();
        if (plan.WebhooksQueued)
        {
            webhookSignal.Notify();
            plan.WebhooksQueued = false;
        }

        plan.All.AddRange(issued);
        Issued.Add(issued.Count, new KeyValuePair<string, object?>("cause", cause.ToString()));
    }

    private static async Task<bool> IsCurrentAsync(Sql tx, AdvisoryTrigger trigger, CancellationToken ct)
    {
        var read = tx.Command("SELECT version FROM subject_versions WHERE subject_key = $k", ("$k", trigger.SubjectKey));
        return await read.ExecuteScalarAsync(ct) is long version && version == trigger.SubjectVersion;
    }

    private static async Task<string?> ReadProgressAsync(Sql tx, string consumer, string eventId, CancellationToken ct)
    {
        var read = tx.Command(
            "SELECT last_company_id FROM issue_progress WHERE consumer = $c AND event_id = $e", ("$c", consumer), ("$e", eventId));
        return await read.ExecuteScalarAsync(ct) as string;
    }

    private static async Task DeleteProgressAsync(Sql tx, string consumer, string eventId, CancellationToken ct)
    {
        var delete = tx.Command(
            "DELETE FROM issue_progress WHERE consumer = $c AND event_id = $e", ("$c", consumer), ("$e", eventId));
        await delete.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Records how far the event got (in the batch's transaction), or that it is finished.</summary>
    private static async Task SaveProgressAsync(
        Sql tx, string consumer, string eventId, AdvisoryTrigger trigger, string[] batch, bool finished, bool hadProgress, CancellationToken ct)
    {
        if (finished)
        {
            if (hadProgress)
            {
                await DeleteProgressAsync(tx, consumer, eventId, ct);
            }

            return;
        }

        var save = tx.Command(
            """
            INSERT INTO issue_progress(consumer, event_id, subject_key, subject_version, last_company_id) VALUES ($c, $e, $k, $v, $last)
            ON CONFLICT(consumer, event_id) DO UPDATE SET last_company_id = excluded.last_company_id
            """,
            ("$c", consumer), ("$e", eventId), ("$k", trigger.SubjectKey), ("$v", trigger.SubjectVersion), ("$last", batch[^1]));
        await save.ExecuteNonQueryAsync(ct);
    }

    private static async Task<bool> AdvanceSubjectVersionAsync(Sql tx, AdvisoryTrigger trigger, CancellationToken ct)
    {
        var read = tx.Command("SELECT version FROM subject_versions WHERE subject_key = $k", ("$k", trigger.SubjectKey));
        var current = await read.ExecuteScalarAsync(ct);
        if (current is long version && version >= trigger.SubjectVersion)
        {
            return false;
        }

        var write = tx.Command(
            "INSERT INTO subject_versions(subject_key, version) VALUES ($k, $v) ON CONFLICT(subject_key) DO UPDATE SET version = excluded.version",
            ("$k", trigger.SubjectKey), ("$v", trigger.SubjectVersion));
        await write.ExecuteNonQueryAsync(ct);
        return true;
    }

    private static async Task CollectSitesAsync(Sql tx, AreaMatcher matcher, SortedDictionary<string, Affected> affected, CancellationToken ct)
    {
        var command = tx.Command(
            "SELECT site_id, company_id, name, reference, subdivision_code, city, latitude, longitude, expatriates, locals FROM sites WHERE country_code = $c",
            ("$c", matcher.CountryCode));
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

    private static async Task CollectTravellersAsync(Sql tx, AreaMatcher matcher, long nowMs, SortedDictionary<string, Affected> affected, CancellationToken ct)
    {
        // Current and future legs: a trip that ended is no one's concern any more.
        var command = tx.Command(
            """
            SELECT l.trip_id, l.company_id, l.subdivision_code, l.latitude, l.longitude, l.from_time, l.to_time, t.traveller_reference, t.traveller_name
            FROM trip_legs l JOIN trips t ON t.trip_id = l.trip_id
            WHERE l.country_code = $c AND l.to_time >= $now
            ORDER BY l.trip_id, l.leg_index
            """,
            ("$c", matcher.CountryCode), ("$now", nowMs));
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

    private static async Task CollectSubscriptionsAsync(Sql tx, AreaMatcher matcher, AdvisoryTrigger trigger, SortedDictionary<string, Affected> affected, CancellationToken ct)
    {
        var command = tx.Command(
            """
            SELECT s.subscription_id, s.company_id, st.subdivision_code, s.data
            FROM subscription_targets st JOIN subscriptions s ON s.subscription_id = st.subscription_id
            WHERE st.country_code = $c
            """,
            ("$c", matcher.CountryCode));
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

    /// <summary>What every batch of one event shares: the affected companies, their webhook endpoints, the measures.</summary>
    private async Task<Plan> PlanAsync(Sql tx, AdvisoryTrigger trigger, SortedDictionary<string, Affected> affected, DateTimeOffset now, CancellationToken ct)
    {
        var endpoints = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (affected.Count > 0)
        {
            var command = tx.Command("SELECT endpoint_id, company_id FROM webhook_endpoints WHERE active = 1 ORDER BY endpoint_id");
            await using var reader = await command.ExecuteReaderAsync(ct);
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
        return new Plan(trigger, affected, endpoints, requiresAck, recommended, now);
    }

    /// <summary>Writes the advisories of a batch of companies (ordered by id) in the caller's transaction.</summary>
    private static async Task WriteBatchAsync(Sql tx, Plan plan, string[] batch, List<Advisory> issued, CancellationToken ct)
    {
        if (batch.Length == 0)
        {
            return;
        }

        var trigger = plan.Trigger;
        var now = plan.Now;
        var nowMs = now.ToUnixTimeMilliseconds();
        var issuedAt = Timestamp.FromDateTimeOffset(now);
        var events = new List<(string Topic, string EventId, IMessage Message)>(batch.Length * 2);

        // One read for the batch's companies (contacts and last sequence), not one per company.
        var companies = new Dictionary<string, (byte[] Contacts, long LastSequence)>(batch.Length, StringComparer.Ordinal);
        var read = tx.Command(
            "SELECT company_id, contacts, last_sequence FROM companies WHERE company_id IN (SELECT value FROM json_each($ids))",
            ("$ids", JsonSerializer.Serialize(batch)));
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                companies[reader.GetString(0)] = ((byte[])reader.GetValue(1), reader.GetInt64(2));
            }
        }

        var bumpSequence = tx.Command("UPDATE companies SET last_sequence = $s WHERE company_id = $id", ("$s", 0L), ("$id", ""));
        var insert = tx.Command(
            """
            INSERT OR IGNORE INTO advisories(advisory_id, company_id, sequence, cause_event_id, level, requires_ack, issued_at, data)
            VALUES ($id, $company, $seq, $cause, $level, $ack, $at, $data)
            """,
            ("$id", ""), ("$company", ""), ("$seq", 0L), ("$cause", trigger.CauseEventId), ("$level", (int)trigger.NewLevel),
            ("$ack", plan.RequiresAck ? 1 : 0), ("$at", nowMs), ("$data", Array.Empty<byte>()));
        var queue = tx.Command(
            """
            INSERT INTO webhook_deliveries(delivery_id, endpoint_id, company_id, advisory_id, replay, body, state, next_attempt_at, created_at)
            VALUES ($d, $e, $company, $a, 0, $body, 1, $at, $at)
            """,
            ("$d", ""), ("$e", ""), ("$company", ""), ("$a", ""), ("$body", ""), ("$at", nowMs));

        foreach (var companyId in batch)
        {
            if (!companies.TryGetValue(companyId, out var company))
            {
                continue; // deleted meanwhile
            }

            var found = plan.Affected[companyId];
            var sequence = company.LastSequence + 1;
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
                AcknowledgementRequired = plan.RequiresAck,
                IssuedAt = issuedAt,
                CrisisId = trigger.CrisisId,
            };
            advisory.Categories.AddRange(trigger.Categories);
            advisory.CategoriesAdded.AddRange(trigger.CategoriesAdded);
            advisory.CategoriesRemoved.AddRange(trigger.CategoriesRemoved);
            advisory.RecommendedMeasures.AddRange(plan.Recommended);
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
            if (AdvisoryMessages.EmailRequest(advisory, Company.Parser.ParseFrom(company.Contacts).Contacts, 1, now) is { } email)
            {
                events.Add((Topics.NotificationRequested, email.EventId, email));
            }

            if (plan.Endpoints.TryGetValue(companyId, out var endpointIds))
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
                    plan.WebhooksQueued = true;
                }
            }

            issued.Add(advisory);
        }

        await Outbox.AddRangeAsync(tx.Lease.Kept, tx.Transaction, events, ct);
    }

    /// <summary>The issuer connection's kept statements, in the current transaction.</summary>
    private readonly record struct Sql(IssuerConnection.Lease Lease, SqliteTransaction Transaction)
    {
        public SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) => Lease.Command(sql, Transaction, parameters);
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

    private sealed class Plan(
        AdvisoryTrigger trigger, SortedDictionary<string, Affected> affected, Dictionary<string, List<string>> endpoints,
        bool requiresAck, IReadOnlyList<LocalizedText> recommended, DateTimeOffset now)
    {
        public AdvisoryTrigger Trigger { get; } = trigger;
        public SortedDictionary<string, Affected> Affected { get; } = affected;
        public Dictionary<string, List<string>> Endpoints { get; } = endpoints;
        public bool RequiresAck { get; } = requiresAck;
        public IReadOnlyList<LocalizedText> Recommended { get; } = recommended;
        public DateTimeOffset Now { get; } = now;
        public List<Advisory> All { get; } = [];
        public bool WebhooksQueued { get; set; }
    }

    private sealed class Affected
    {
        public List<AffectedSite> Sites { get; } = [];
        public List<AffectedTraveller> Travellers { get; } = [];
        public List<string> SubscriptionIds { get; } = [];
    }
}
