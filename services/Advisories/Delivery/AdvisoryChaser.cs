using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf;

namespace Dcis.Crisis.Advisories.Delivery;

/// <summary>
/// Chases unacknowledged level-3+ advisories: once the delay has passed since issue (or since the
/// last reminder), the security contacts get a reminder (a new message version through
/// notifications), up to a maximum number of reminders.
/// </summary>
internal sealed class AdvisoryChaser(
    SqliteDatabase database,
    Outbox outbox,
    AdvisoriesOptions options,
    TimeProvider time,
    ILogger<AdvisoryChaser> logger) : BackgroundService
{
    /// <summary>Sends the reminders due at <paramref name="now"/>; returns how many advisories were chased.</summary>
    public async Task<int> RunDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var cutoff = (now - options.ChaseDelay).ToUnixTimeMilliseconds();
        var chased = 0;
        await using (var connection = await database.OpenAsync(cancellationToken))
        await using (var tx = connection.BeginTransaction())
        {
            var due = new List<(string Id, Advisory Advisory, int Count, byte[] Contacts)>();
            await using (var command = connection.Command(
                """
                SELECT a.advisory_id, a.data, a.chase_count, c.contacts FROM advisories a JOIN companies c ON c.company_id = a.company_id
                WHERE a.requires_ack = 1 AND a.acknowledged_at IS NULL AND a.chase_count < $max
                  AND COALESCE(a.last_chased_at, a.issued_at) <= $cutoff
                ORDER BY a.issued_at LIMIT 1000
                """,
                tx, ("$max", options.MaxChases), ("$cutoff", cutoff)))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    due.Add((reader.GetString(0), Advisory.Parser.ParseFrom((byte[])reader.GetValue(1)), reader.GetInt32(2), (byte[])reader.GetValue(3)));
                }
            }

            var events = new List<(string, string, IMessage)>();
            await using var update = connection.Command(
                "UPDATE advisories SET chase_count = chase_count + 1, last_chased_at = $now WHERE advisory_id = $id", tx,
                ("$now", now.ToUnixTimeMilliseconds()), ("$id", ""));
            foreach (var (id, advisory, count, contacts) in due)
            {
                update.Parameters["$id"].Value = id;
                await update.ExecuteNonQueryAsync(cancellationToken);
                if (AdvisoryMessages.EmailRequest(advisory, Company.Parser.ParseFrom(contacts).Contacts, count + 2, now) is { } reminder)
                {
                    events.Add((Topics.NotificationRequested, reminder.EventId, reminder));
                }

                chased++;
            }

            await Outbox.AddRangeAsync(tx, events, cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }

        if (chased > 0)
        {
            outbox.NotifyCommitted();
            logger.LogInformation("Chased {Count} unacknowledged advisories", chased);
        }

        return chased;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.ChaseInBackground)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.ChaseCheckInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunDueAsync(time.GetUtcNow(), stoppingToken);
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex)
            {
                logger.LogWarning(ex, "Chase pass failed; retrying at the next tick");
            }
        }
    }
}
