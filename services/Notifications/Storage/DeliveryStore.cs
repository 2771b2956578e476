using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Notifications.Domain;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Notifications.Storage;

/// <summary>A delivery claimed for sending: the message and what the dispatcher needs to decide afterwards.</summary>
internal sealed record ClaimedDelivery(
    OutgoingMessage Message,
    string AttemptId,
    int AddressIndex,
    int AttemptsOnAddress,
    IReadOnlyList<Address> Addresses,
    long RequestedAtMs);

/// <summary>The result of intake of one request batch.</summary>
internal sealed record IntakeResult(bool Duplicate, int Queued, int Cancelled, int Closed);

/// <summary>Counts of one alert's deliveries.</summary>
internal sealed record StatusCounts(long Total, long LatestVersion, IReadOnlyList<(Channel Channel, DeliveryStatus Status, long Count)> Counts);

/// <summary>One delivery as listed (no contact details).</summary>
internal sealed record DeliveryRow(long Id, string RecipientId, long AlertVersion, Channel Channel, DeliveryStatus Status, string? Reason, int Attempts, long UpdatedAtMs);

/// <summary>A delivery receipt from a provider (SMS gateway, e-mail provider): the reference the message was handed over
/// with, and whether it reached the person's handset or mailbox (the error is the provider's reason when not, e.g. "absent
/// subscriber", "mailbox unavailable"; it never holds the address).</summary>
internal sealed record ProviderReceipt(string Reference, bool Delivered, string? Error);

/// <summary>What a batch of receipts did; <see cref="Later"/> are the references to send again later.</summary>
internal sealed record ReceiptResult(int Delivered, int Failed, int FellBack, int Ignored, IReadOnlyList<string> Later);

/// <summary>One inbox message.</summary>
internal sealed record InboxRow(long Cursor, long DeliveryId, string Source, string SourceAlertId, long AlertVersion, Priority Priority,
    Language Language, string Subject, string Body, string? ReplyCode, long CreatedAtMs, long? ReadAtMs);

/// <summary>
/// Everything notifications keeps in SQLite. Every multi-row change is one transaction with
/// prepared statements reused across rows; status changes go to the trail in the same transaction.
/// </summary>
internal sealed class DeliveryStore(SqliteDatabase database) : IDisposable
{
    public const string IntakeConsumer = "notifications.intake";

    private const int Queued = (int)DeliveryStatus.Queued;
    private const int Sending = DeliveryRules.Sending;
    private readonly ConcurrentDictionary<long, IReadOnlyList<LocalizedMessage>> _alertMessages = new();

    // SQLite has one writer at a time. Writers of this process queue here instead of meeting SQLITE_BUSY,
    // whose handler sleeps (1, 2, 5 ... 100 ms) while the lock may already be free: with intake requests
    // in parallel and the dispatcher, those sleeps were most of the wall time. A writer opens its connection
    // once it has its turn, so the pool (each connection with its own page cache) stays small.
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteDatabase Database => database;

    /// <summary>Waits for this process's turn to write; dispose the result to let the next writer in.</summary>
    private async Task<WriteTurn> WriteTurnAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        return new WriteTurn(_writeGate);
    }

    public void Dispose() => _writeGate.Dispose();

    private readonly struct WriteTurn(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }

    public async Task MigrateAsync(CancellationToken cancellationToken) =>
        await database.MigrateAsync(Schema.Ddl, cancellationToken);

    /// <summary>After a crash, deliveries caught mid-send go back to the queue; the resend carries the
    /// same idempotency key, so providers that honour it do not reach the person twice.</summary>
    public async Task<int> RecoverInFlightAsync(CancellationToken cancellationToken)
    {
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command($"UPDATE deliveries SET status = {Queued}, next_at = 0 WHERE status = {Sending}");
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IntakeResult> IntakeAsync(NotificationRequested request, string eventId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var nowMs = now.ToUnixTimeMilliseconds();
        var expiresMs = request.ExpiresAt?.ToDateTimeOffset().ToUnixTimeMilliseconds() ?? 0;
        var requestedMs = request.RequestedAt is null ? nowMs : request.RequestedAt.ToDateTimeOffset().ToUnixTimeMilliseconds();

        // What needs no database (addresses, dedupe keys, the rows' JSON) is prepared before this writer's turn.
        var rows = request.Action == NotificationAction.Cancel ? [] : IntakeRows(request, cancelled: false, expiresMs, nowMs);
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        if (!await Inbox.TryRecordAsync(tx, IntakeConsumer, eventId, cancellationToken))
        {
            return new IntakeResult(true, 0, 0, 0);
        }

        if (request.Action == NotificationAction.Cancel)
        {
            var cancelled = await CancelAsync(tx, request.Source, request.SourceAlertId, request.AlertVersion, nowMs, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return new IntakeResult(false, 0, cancelled, 0);
        }

        long? cancelledUpTo;
        await using (var check = connection.Command(
            "SELECT up_to_version FROM cancellations WHERE source = $s AND source_alert_id = $a", tx,
            ("$s", request.Source), ("$a", request.SourceAlertId)))
        {
            cancelledUpTo = await check.ExecuteScalarAsync(cancellationToken) as long?;
        }

        var alertRow = await UpsertAlertAsync(tx, request, cancellationToken);

        if (cancelledUpTo >= request.AlertVersion)
        {
            rows = IntakeRows(request, cancelled: true, expiresMs, nowMs);
        }

        // This transaction is the only writer, and delivery ids are max + 1: every delivery above this id is one it added.
        long before;
        await using (var max = connection.Command("SELECT COALESCE(MAX(id), 0) FROM deliveries", tx))
        {
            before = (long)(await max.ExecuteScalarAsync(cancellationToken))!;
        }

        // One statement per chunk of recipients: SQLite reads the rows from a JSON array (json_each) instead of
        // binding 18 parameters and stepping a statement per recipient. OR IGNORE + the UNIQUE dedupe key: a person
        // already queued for this alert version (another batch or event) gets nothing new.
        await using (var insert = connection.Command(
            $"""
            INSERT OR IGNORE INTO deliveries(alert_row, source, source_alert_id, alert_version, recipient_id, idem_key, priority, language,
                addresses, reply_code, channel, status, next_at, expires_at, requested_at, updated_at, final_at, reason)
            SELECT $alert, $s, $a, $v, r.value ->> 0, r.value ->> 1, $p, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5, r.value ->> 6,
                0, $exp, $req, $now, CASE WHEN r.value ->> 6 = {Queued} THEN NULL ELSE $now END, r.value ->> 7
            FROM json_each($rows) AS r
            """,
            tx, ("$alert", alertRow), ("$s", request.Source), ("$a", request.SourceAlertId), ("$v", request.AlertVersion),
            ("$p", (int)request.Priority), ("$exp", expiresMs), ("$req", requestedMs), ("$now", nowMs), ("$rows", "[]")))
        {
            foreach (var chunk in rows)
            {
                insert.Parameters["$rows"].Value = chunk;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        // The trail's first row of each new delivery (queued, or closed at intake), in id order; then what was added.
        await using (var trail = connection.Command(
            "INSERT INTO status_trail(delivery_id, status, channel, reason, at) SELECT id, status, channel, reason, $at FROM deliveries WHERE id > $before ORDER BY id",
            tx, ("$at", nowMs), ("$before", before)))
        {
            await trail.ExecuteNonQueryAsync(cancellationToken);
        }

        int queued = 0, closed = 0;
        await using (var added = connection.Command(
            $"SELECT COUNT(*) FILTER (WHERE status = {Queued}), COUNT(*) FILTER (WHERE status <> {Queued}) FROM deliveries WHERE id > $before",
            tx, ("$before", before)))
        {
            await using var reader = await added.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                (queued, closed) = (reader.GetInt32(0), reader.GetInt32(1));
            }
        }

        await tx.CommitAsync(cancellationToken);
        return new IntakeResult(false, queued, 0, closed);
    }

    private const int IntakeRowsPerStatement = 250;

    /// <summary>The deliveries of a request as JSON arrays of at most <see cref="IntakeRowsPerStatement"/> rows
    /// (small enough to stay off the large object heap): [recipient, dedupe key, language, addresses, reply code,
    /// channel, status, reason] each.</summary>
    private static List<string> IntakeRows(NotificationRequested request, bool cancelled, long expiresMs, long nowMs)
    {
        var chunks = new List<string>((request.Recipients.Count / IntakeRowsPerStatement) + 1);
        var buffer = new ArrayBufferWriter<byte>(32 * 1024);
        using var json = new Utf8JsonWriter(buffer);
        var addresses = new List<Address>(4);
        for (var i = 0; i < request.Recipients.Count; i++)
        {
            if (i % IntakeRowsPerStatement == 0)
            {
                if (i > 0)
                {
                    EndChunk();
                }

                json.WriteStartArray();
            }

            var recipient = request.Recipients[i];
            addresses.Clear();
            foreach (var a in recipient.Addresses)
            {
                if (a.Channel != Channel.Unspecified && !string.IsNullOrWhiteSpace(a.Address))
                {
                    addresses.Add(new Address(a.Channel, a.Address.Trim()));
                }
            }

            var (status, reason) =
                cancelled ? (DeliveryStatus.Cancelled, "alert cancelled")
                : expiresMs <= nowMs ? (DeliveryStatus.Expired, "expired before sending")
                : addresses.Count == 0 ? (DeliveryStatus.Failed, "no usable address")
                : (DeliveryStatus.Queued, (string?)null);
            json.WriteStartArray();
            json.WriteStringValue(recipient.RecipientId);
            json.WriteStringValue(DeliveryRules.IdempotencyKey(request.Source, request.SourceAlertId, request.AlertVersion, recipient.RecipientId));
            json.WriteNumberValue((int)recipient.Language);
            if (status == DeliveryStatus.Queued)
            {
                json.WriteStringValue(DeliveryRules.EncodeAddresses(addresses));
            }
            else
            {
                json.WriteNullValue();
            }

            if (string.IsNullOrEmpty(recipient.ReplyCode))
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStringValue(recipient.ReplyCode);
            }

            json.WriteNumberValue((int)(addresses.Count > 0 ? addresses[0].Channel : Channel.Unspecified));
            json.WriteNumberValue((int)status);
            if (reason is null)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStringValue(reason);
            }

            json.WriteEndArray();
        }

        if (request.Recipients.Count > 0)
        {
            EndChunk();
        }

        return chunks;

        void EndChunk()
        {
            json.WriteEndArray();
            json.Flush();
            chunks.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
            buffer.ResetWrittenCount();
            json.Reset(buffer);
        }
    }

    private static async Task<long> UpsertAlertAsync(SqliteTransaction tx, NotificationRequested request, CancellationToken cancellationToken)
    {
        var messages = new NotificationRequested();
        messages.Messages.AddRange(request.Messages);
        await using (var insert = tx.Connection!.Command(
            "INSERT OR IGNORE INTO alerts(source, source_alert_id, alert_version, messages) VALUES ($s, $a, $v, $m)", tx,
            ("$s", request.Source), ("$a", request.SourceAlertId), ("$v", request.AlertVersion), ("$m", messages.ToByteArray())))
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var select = tx.Connection!.Command(
            "SELECT id FROM alerts WHERE source = $s AND source_alert_id = $a AND alert_version = $v", tx,
            ("$s", request.Source), ("$a", request.SourceAlertId), ("$v", request.AlertVersion));
        return (long)(await select.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<int> CancelAsync(SqliteTransaction tx, string source, string alertId, long upToVersion, long nowMs, CancellationToken cancellationToken)
    {
        await using (var remember = tx.Connection!.Command(
            """
            INSERT INTO cancellations(source, source_alert_id, up_to_version) VALUES ($s, $a, $v)
            ON CONFLICT(source, source_alert_id) DO UPDATE SET up_to_version = max(up_to_version, excluded.up_to_version)
            """, tx, ("$s", source), ("$a", alertId), ("$v", upToVersion)))
        {
            await remember.ExecuteNonQueryAsync(cancellationToken);
        }

        return await CloseQueuedAsync(tx, DeliveryStatus.Cancelled, "alert cancelled",
            "source = $s AND source_alert_id = $a AND alert_version <= $v", nowMs, cancellationToken,
            ("$s", source), ("$a", alertId), ("$v", upToVersion));
    }

    /// <summary>Moves every queued delivery matching <paramref name="where"/> to a final status, with trail rows.</summary>
    private static async Task<int> CloseQueuedAsync(SqliteTransaction tx, DeliveryStatus status, string reason, string where, long nowMs,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var all = parameters.Append(("$now", nowMs)).Append(("$st", (int)status)).Append(("$reason", reason)).ToArray();
        await using (var trail = tx.Connection!.Command(
            $"INSERT INTO status_trail(delivery_id, status, channel, reason, at) SELECT id, $st, channel, $reason, $now FROM deliveries WHERE status = {Queued} AND {where}",
            tx, all))
        {
            await trail.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var update = tx.Connection!.Command(
            $"UPDATE deliveries SET status = $st, reason = $reason, final_at = $now, updated_at = $now, attempt_id = NULL WHERE status = {Queued} AND {where}",
            tx, all);
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Expires every queued delivery whose alert expired: nothing is sent after expiry.</summary>
    public async Task<int> ExpireDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        var n = await CloseQueuedAsync(tx, DeliveryStatus.Expired, "expired before sending", "expires_at <= $now",
            now.ToUnixTimeMilliseconds(), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return n;
    }

    /// <summary>Claims up to <paramref name="limit"/> due deliveries of a channel, most urgent then oldest
    /// first, marking them 'sending' with a fresh attempt id before any provider call.</summary>
    public async Task<List<ClaimedDelivery>> ClaimAsync(Channel channel, int limit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var attemptId = Guid.NewGuid().ToString("N");
        // Rows as objects: a list of 1,000 fourteen-field tuples would be a large-object-heap array per claim (only a
        // gen-2 collection frees those).
        var rows = new List<ClaimRow>(Math.Clamp(limit, 0, 4096));
        var messagesByAlert = new Dictionary<long, IReadOnlyList<LocalizedMessage>>();

        // Only the claim itself is in this writer's turn; the messages are built after it is over.
        using (await WriteTurnAsync(cancellationToken))
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var tx = connection.BeginTransaction();
            // One statement picks the due deliveries (partial index: channel, priority, id) and marks them
            // 'sending' with this attempt's id; RETURNING hands back the rows as updated (attempt counters included).
            await using (var claim = connection.Command(
                $"""
                UPDATE deliveries SET status = {Sending}, attempt_id = $a, attempts = attempts + 1, address_attempts = address_attempts + 1, updated_at = $now
                WHERE id IN (
                    SELECT id FROM deliveries
                    WHERE status = {Queued} AND channel = $c AND next_at <= $now AND expires_at > $now
                    ORDER BY priority DESC, id LIMIT $n)
                RETURNING id, alert_row, source, source_alert_id, alert_version, recipient_id, idem_key, priority, language, addresses, reply_code,
                       address_index, address_attempts, requested_at
                """, tx, ("$a", attemptId), ("$c", (int)channel), ("$now", nowMs), ("$n", limit)))
            {
                await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(new ClaimRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetString(5),
                        reader.GetString(6), reader.GetInt32(7), reader.GetInt32(8), reader.IsDBNull(9) ? null : reader.GetString(9),
                        reader.IsDBNull(10) ? null : reader.GetString(10), reader.GetInt32(11), reader.GetInt32(12), reader.GetInt64(13)));
                }
            }

            foreach (var row in rows)
            {
                if (!messagesByAlert.ContainsKey(row.AlertRow))
                {
                    messagesByAlert[row.AlertRow] = await AlertMessagesAsync(tx, row.AlertRow, cancellationToken);
                }
            }

            await tx.CommitAsync(cancellationToken);
        }

        if (rows.Count == 0)
        {
            return [];
        }

        // RETURNING order is unspecified: most urgent, then oldest, first.
        rows.Sort((x, y) => x.Priority != y.Priority ? y.Priority.CompareTo(x.Priority) : x.Id.CompareTo(y.Id));

        var claimed = new List<ClaimedDelivery>(rows.Count);
        foreach (var row in rows)
        {
            var text = MessageIn(messagesByAlert[row.AlertRow], (Language)row.Language);
            var addresses = DeliveryRules.DecodeAddresses(row.Addresses);
            var address = row.AddressIndex < addresses.Count ? addresses[row.AddressIndex] : new Address(channel, string.Empty);
            claimed.Add(new ClaimedDelivery(
                new OutgoingMessage(row.Id, row.Key, row.Source, row.AlertId, row.Version, row.RecipientId, address, (Priority)row.Priority,
                    text.Language, text.Subject, text.Body, row.ReplyCode, row.AddressIndex),
                attemptId, row.AddressIndex, row.AddressAttempts, addresses, row.RequestedAt));
        }

        return claimed;
    }

    private sealed record ClaimRow(long Id, long AlertRow, string Source, string AlertId, long Version, string RecipientId, string Key, int Priority,
        int Language, string? Addresses, string? ReplyCode, int AddressIndex, int AddressAttempts, long RequestedAt);

    /// <summary>The text in the recipient's language, else French (or unspecified), else the first; empty if there is none.</summary>
    private static LocalizedMessage MessageIn(IReadOnlyList<LocalizedMessage> messages, Language language)
    {
        LocalizedMessage? french = null;
        foreach (var m in messages)
        {
            if (m.Language == language)
            {
                return m;
            }

            french ??= m.Language is Language.Fr or Language.Unspecified ? m : null;
        }

        return french ?? (messages.Count > 0 ? messages[0] : EmptyMessage);
    }

    private static readonly LocalizedMessage EmptyMessage = new();

    private async Task<IReadOnlyList<LocalizedMessage>> AlertMessagesAsync(SqliteTransaction tx, long alertRow, CancellationToken cancellationToken)
    {
        if (_alertMessages.TryGetValue(alertRow, out var cached))
        {
            return cached;
        }

        await using var select = tx.Connection!.Command("SELECT messages FROM alerts WHERE id = $id", tx, ("$id", alertRow));
        var bytes = (byte[])(await select.ExecuteScalarAsync(cancellationToken))!;
        var messages = NotificationRequested.Parser.ParseFrom(bytes).Messages.ToList();
        if (_alertMessages.Count > 1000)
        {
            _alertMessages.Clear();
        }

        _alertMessages[alertRow] = messages;
        return messages;
    }

    /// <summary>Records provider results in one transaction. Only the attempt that claimed a delivery may
    /// complete it. A delivery re-queued for a retry or fallback whose alert was cancelled meanwhile is cancelled.</summary>
    public async Task CompleteAsync(IReadOnlyList<(ClaimedDelivery Claim, SendResult Result, NextStep Step, TimeSpan RetryDelay)> results,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        var nowMs = now.ToUnixTimeMilliseconds();
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        await using var update = connection.Command(
            """
            UPDATE deliveries SET status = $st, reason = $reason, updated_at = $now, final_at = $final, next_at = $next,
                address_index = $ai, channel = $c, address_attempts = $aa, attempt_id = NULL
            WHERE id = $id AND status = 100 AND attempt_id = $attempt
            """,
            tx, ("$st", 0), ("$reason", null), ("$now", nowMs), ("$final", null), ("$next", 0L), ("$ai", 0), ("$c", 0), ("$aa", 0),
            ("$id", 0L), ("$attempt", ""));
        update.Prepare();
        var finished = new List<long>(results.Count);
        var requeued = new List<long>();

        // The common outcome, sent, is one statement per claim attempt: address, channel and counters stay as claimed.
        foreach (var group in results.Where(r => r.Step == NextStep.Done).GroupBy(r => (r.Claim.AttemptId, r.Result.Reason)))
        {
            await using var sent = connection.Command(
                $"""
                UPDATE deliveries SET status = {(int)DeliveryStatus.Sent}, reason = $reason, updated_at = $now, final_at = $now, next_at = $now, attempt_id = NULL
                WHERE id IN (SELECT value FROM json_each($ids)) AND status = {Sending} AND attempt_id = $attempt
                RETURNING id
                """,
                tx, ("$reason", group.Key.Reason), ("$now", nowMs), ("$ids", IdList(group.Select(r => r.Claim.Message.DeliveryId))),
                ("$attempt", group.Key.AttemptId));
            await using var reader = await sent.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                finished.Add(reader.GetInt64(0));
            }
        }

        foreach (var (claim, result, step, retryDelay) in results.Where(r => r.Step != NextStep.Done))
        {
            var status = step switch
            {
                NextStep.Done => DeliveryStatus.Sent,
                NextStep.Failed => DeliveryStatus.Failed,
                _ => DeliveryStatus.Queued,
            };
            var addressIndex = step == NextStep.Fallback ? claim.AddressIndex + 1 : claim.AddressIndex;
            var channel = addressIndex < claim.Addresses.Count ? claim.Addresses[addressIndex].Channel : claim.Message.Address.Channel;
            var final = status is DeliveryStatus.Sent or DeliveryStatus.Failed;
            update.Parameters["$st"].Value = (int)status;
            update.Parameters["$reason"].Value = (object?)result.Reason ?? DBNull.Value;
            update.Parameters["$final"].Value = final ? nowMs : DBNull.Value;
            update.Parameters["$next"].Value = step == NextStep.Retry ? nowMs + (long)retryDelay.TotalMilliseconds : nowMs;
            update.Parameters["$ai"].Value = addressIndex;
            update.Parameters["$c"].Value = (int)channel;
            update.Parameters["$aa"].Value = step == NextStep.Fallback ? 0 : claim.AttemptsOnAddress;
            update.Parameters["$id"].Value = claim.Message.DeliveryId;
            update.Parameters["$attempt"].Value = claim.AttemptId;
            if (await update.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                continue;
            }

            if (final)
            {
                finished.Add(claim.Message.DeliveryId);
            }
            else
            {
                requeued.Add(claim.Message.DeliveryId);
            }
        }

        await AddTrailFromDeliveriesAsync(tx, finished, nowMs, cancellationToken);
        await CancelRequeuedOfCancelledAlertsAsync(tx, requeued, nowMs, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>A delivery put back in the queue (retry, fallback) whose alert was cancelled meanwhile is cancelled.</summary>
    private static async Task CancelRequeuedOfCancelledAlertsAsync(SqliteTransaction tx, List<long> requeued, long nowMs, CancellationToken cancellationToken)
    {
        if (requeued.Count > 0)
        {
            await CloseQueuedAsync(tx, DeliveryStatus.Cancelled, "alert cancelled",
                """
                id IN (SELECT value FROM json_each($ids)) AND EXISTS (SELECT 1 FROM cancellations c
                    WHERE c.source = deliveries.source AND c.source_alert_id = deliveries.source_alert_id AND c.up_to_version >= deliveries.alert_version)
                """, nowMs, cancellationToken, ("$ids", IdList(requeued)));
        }
    }

    private static string IdList(IEnumerable<long> ids) => "[" + string.Join(',', ids) + "]";

    /// <summary>One trail row per delivery, with the status, channel and reason it has now (one statement).</summary>
    private static async Task AddTrailFromDeliveriesAsync(SqliteTransaction tx, List<long> ids, long atMs, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }

        await using var command = tx.Connection!.Command(
            "INSERT INTO status_trail(delivery_id, status, channel, reason, at) SELECT id, status, channel, reason, $at FROM deliveries WHERE id IN (SELECT value FROM json_each($ids)) ORDER BY id",
            tx, ("$at", atMs), ("$ids", IdList(ids)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand TrailCommand(SqliteConnection connection, SqliteTransaction tx)
    {
        var command = connection.Command(
            "INSERT INTO status_trail(delivery_id, status, channel, reason, at) VALUES ($d, $st, $c, $reason, $at)",
            tx, ("$d", 0L), ("$st", 0), ("$c", 0), ("$reason", null), ("$at", 0L));
        command.Prepare();
        return command;
    }

    private static async Task AddTrailAsync(SqliteCommand trail, long deliveryId, DeliveryStatus status, Channel channel, string? reason, long atMs, CancellationToken cancellationToken)
    {
        trail.Parameters["$d"].Value = deliveryId;
        trail.Parameters["$st"].Value = (int)status;
        trail.Parameters["$c"].Value = (int)channel;
        trail.Parameters["$reason"].Value = (object?)reason ?? DBNull.Value;
        trail.Parameters["$at"].Value = atMs;
        await trail.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Publishes the trail rows after the cursor as NotificationStatusChanged events (grouped by source,
    /// many updates per event) through the outbox and moves the cursor, in one transaction. Returns the rows published.
    /// The events' JSON is written straight from the rows (<see cref="StatusEventJson"/>), the same text
    /// <see cref="Outbox.AddRangeAsync(Microsoft.Data.Sqlite.SqliteTransaction, IEnumerable{ValueTuple{string, string, Google.Protobuf.IMessage}}, CancellationToken)"/> would store for the messages, in the same outbox row shape.</summary>
    /// <remarks>The rows are read and formatted outside this process's write turn, in a read transaction (a WAL
    /// snapshot): trail ids grow with each commit (one writer at a time), so the snapshot holds every row up to the
    /// last one it read. The turn is taken only to write the events and move the cursor, after checking that the
    /// cursor is still where the rows were read from.</remarks>
    public async Task<int> FlushStatusAsync(int maxRows, int updatesPerEvent, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(updatesPerEvent, 1);
        while (true)
        {
            // Null: another flush moved the cursor between the read and the write; read again from where it is now.
            if (await TryFlushStatusAsync(maxRows, updatesPerEvent, cancellationToken) is { } rows)
            {
                return rows;
            }
        }
    }

    private async Task<int?> TryFlushStatusAsync(int maxRows, int updatesPerEvent, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);

        // Rows by source in trail order (almost always one source); the sources in the order they first appear.
        var bySource = new Dictionary<string, List<TrailUpdate>>(StringComparer.Ordinal);
        var sources = new List<string>(1);
        long cursor, lastId = 0;
        await using (var snapshot = connection.BeginTransaction(deferred: true))
        {
            await using (var read = connection.Command("SELECT published_up_to FROM trail_cursor WHERE id = 1", snapshot))
            {
                cursor = (long)(await read.ExecuteScalarAsync(cancellationToken))!;
            }

            await using var select = connection.Command(
                """
                SELECT t.id, d.source, d.source_alert_id, d.alert_version, d.recipient_id, t.channel, t.status, t.reason, t.at
                FROM status_trail t JOIN deliveries d ON d.id = t.delivery_id
                WHERE t.id > $cursor ORDER BY t.id LIMIT $n
                """, snapshot, ("$cursor", cursor), ("$n", maxRows));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            string? lastSource = null;
            List<TrailUpdate>? updates = null;
            while (await reader.ReadAsync(cancellationToken))
            {
                lastId = reader.GetInt64(0);
                var source = reader.GetString(1);
                if (!string.Equals(source, lastSource, StringComparison.Ordinal))
                {
                    if (!bySource.TryGetValue(source, out updates))
                    {
                        updates = new List<TrailUpdate>(Math.Min(maxRows, 1024));
                        bySource[source] = updates;
                        sources.Add(source);
                    }

                    lastSource = source;
                }

                updates!.Add(new TrailUpdate(reader.GetString(2), reader.GetInt64(3), reader.GetString(4), (Channel)reader.GetInt32(5),
                    (DeliveryStatus)reader.GetInt32(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetInt64(8)));
            }
        }

        if (sources.Count == 0)
        {
            return 0;
        }

        var rows = 0;
        var events = new List<(string EventId, string Json)>();
        var json = new StringBuilder(updatesPerEvent * 200);
        foreach (var source in sources)
        {
            var updates = bySource[source];
            rows += updates.Count;
            for (var start = 0; start < updates.Count; start += updatesPerEvent)
            {
                var eventId = Guid.NewGuid().ToString();
                events.Add((eventId, StatusEventJson.Format(json, eventId, source,
                    System.Runtime.InteropServices.CollectionsMarshal.AsSpan(updates).Slice(start, Math.Min(updatesPerEvent, updates.Count - start)))));
            }
        }

        using var turn = await WriteTurnAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        await using (var check = connection.Command("SELECT published_up_to FROM trail_cursor WHERE id = 1", tx))
        {
            if ((long)(await check.ExecuteScalarAsync(cancellationToken))! != cursor)
            {
                return null;
            }
        }

        await using (var insert = connection.Command(
            Outbox.InsertSql, tx, ("$id", ""), ("$topic", Topics.NotificationStatusChanged), ("$type", NotificationStatusChanged.Descriptor.FullName),
            ("$data", ""), ("$trace", System.Diagnostics.Activity.Current?.Id), ("$at", "")))
        {
            insert.Prepare();
            foreach (var (eventId, data) in events)
            {
                insert.Parameters["$id"].Value = eventId;
                insert.Parameters["$data"].Value = data;
                insert.Parameters["$at"].Value = DateTimeOffset.UtcNow.ToString("O");
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using (var mark = connection.Command("UPDATE trail_cursor SET published_up_to = $max WHERE id = 1", tx, ("$max", lastId)))
        {
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return rows;
    }

    /// <summary>Removes contact details of deliveries whose final status is older than the retention.</summary>
    public async Task<int> WipeContactsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "UPDATE deliveries SET addresses = NULL, reply_code = NULL, wiped = 1 WHERE wiped = 0 AND final_at IS NOT NULL AND final_at <= $cutoff",
            null, ("$cutoff", cutoff.ToUnixTimeMilliseconds()));
        var n = await command.ExecuteNonQueryAsync(cancellationToken);
        await using var inbox = connection.Command(
            "UPDATE app_inbox SET reply_code = NULL WHERE reply_code IS NOT NULL AND delivery_id IN (SELECT id FROM deliveries WHERE wiped = 1 AND reply_code IS NULL)");
        await inbox.ExecuteNonQueryAsync(cancellationToken);
        return n;
    }

    public async Task<long> QueueDepthAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT (SELECT COUNT(*) FROM deliveries WHERE status = {Queued}) + (SELECT COUNT(*) FROM deliveries WHERE status = {Sending})");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    // ---- app inbox ----

    /// <summary>Puts a message in a registrant's inbox; a second call for the same delivery changes nothing.</summary>
    public async Task InsertInboxAsync(OutgoingMessage message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            INSERT OR IGNORE INTO app_inbox(delivery_id, registrant_id, source, source_alert_id, alert_version, priority, language, subject, body, reply_code, created_at)
            VALUES ($d, $r, $s, $a, $v, $p, $l, $subject, $body, $code, $now)
            """, null,
            ("$d", message.DeliveryId), ("$r", message.Address.Value), ("$s", message.Source), ("$a", message.SourceAlertId),
            ("$v", message.AlertVersion), ("$p", (int)message.Priority), ("$l", (int)message.Language), ("$subject", message.Subject),
            ("$body", message.Body), ("$code", message.ReplyCode), ("$now", now.ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<List<InboxRow>> ReadInboxAsync(string registrantId, long afterCursor, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            """
            SELECT cursor, delivery_id, source, source_alert_id, alert_version, priority, language, subject, body, reply_code, created_at, read_at
            FROM app_inbox WHERE registrant_id = $r AND cursor > $after ORDER BY cursor LIMIT $n
            """, null, ("$r", registrantId), ("$after", afterCursor), ("$n", limit));
        var rows = new List<InboxRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new InboxRow(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
                (Priority)reader.GetInt32(5), (Language)reader.GetInt32(6), reader.GetString(7), reader.GetString(8),
                reader.IsDBNull(9) ? null : reader.GetString(9), reader.GetInt64(10), reader.IsDBNull(11) ? null : reader.GetInt64(11)));
        }

        return rows;
    }

    /// <summary>Records that inbox messages reached the registrant's open stream (sent → delivered).</summary>
    public async Task<int> MarkInboxDeliveredAsync(IReadOnlyList<long> deliveryIds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveryIds);
        var nowMs = now.ToUnixTimeMilliseconds();
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        await using var update = connection.Command(
            $"UPDATE deliveries SET status = {(int)DeliveryStatus.Delivered}, updated_at = $now WHERE id = $id AND status = {(int)DeliveryStatus.Sent}",
            tx, ("$now", nowMs), ("$id", 0L));
        update.Prepare();
        await using var trail = TrailCommand(connection, tx);
        var n = 0;
        foreach (var id in deliveryIds)
        {
            update.Parameters["$id"].Value = id;
            if (await update.ExecuteNonQueryAsync(cancellationToken) == 1)
            {
                await AddTrailAsync(trail, id, DeliveryStatus.Delivered, Channel.AppInbox, null, nowMs, cancellationToken);
                n++;
            }
        }

        await tx.CommitAsync(cancellationToken);
        return n;
    }

    /// <summary>Marks an inbox message read (once); null when the registrant has no such message.</summary>
    public async Task<long?> MarkReadAsync(string registrantId, long cursor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        long deliveryId;
        await using (var select = connection.Command(
            "SELECT delivery_id, read_at FROM app_inbox WHERE cursor = $c AND registrant_id = $r", tx, ("$c", cursor), ("$r", registrantId)))
        {
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            if (!reader.IsDBNull(1))
            {
                return reader.GetInt64(1);
            }

            deliveryId = reader.GetInt64(0);
        }

        await using (var mark = connection.Command("UPDATE app_inbox SET read_at = $now WHERE cursor = $c", tx, ("$now", nowMs), ("$c", cursor)))
        {
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var update = connection.Command(
            $"UPDATE deliveries SET status = {(int)DeliveryStatus.Read}, updated_at = $now WHERE id = $id AND status IN ({(int)DeliveryStatus.Sent}, {(int)DeliveryStatus.Delivered})",
            tx, ("$now", nowMs), ("$id", deliveryId)))
        {
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var trail = TrailCommand(connection, tx))
        {
            await AddTrailAsync(trail, deliveryId, DeliveryStatus.Read, Channel.AppInbox, null, nowMs, cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        return nowMs;
    }

    /// <summary>
    /// Applies a provider's delivery receipts for one channel, in one transaction. A receipt counts only for the address
    /// the message is on now, on that channel (its reference names the delivery, the address index and the idempotency key):
    /// <list type="bullet">
    /// <item>delivered: sent → delivered;</item>
    /// <item>undelivered (the provider took the message but no handset or mailbox did: an SMS to an absent subscriber,
    /// an e-mail that bounced): the next address is tried at once, as if this one had refused it, or the delivery fails
    /// with the provider's reason;</item>
    /// <item>the provider call, or the resend after a crash, is not recorded yet: the reference is returned in
    /// <see cref="ReceiptResult.Later"/> for the provider to send again (a receipt can overtake the dispatcher's
    /// own record of the call it answers);</item>
    /// <item>anything else (a repeat, a receipt for an earlier number, an unknown reference) changes nothing.</item>
    /// </list>
    /// </summary>
    public async Task<ReceiptResult> ApplyReceiptsAsync(Channel channel, IReadOnlyList<ProviderReceipt> receipts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receipts);
        var nowMs = now.ToUnixTimeMilliseconds();
        var later = new List<string>();
        var requeued = new List<long>();
        int delivered = 0, failed = 0, ignored = 0;
        using var turn = await WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction();
        await using var select = connection.Command(
            "SELECT status, channel, address_index, idem_key, addresses FROM deliveries WHERE id = $id", tx, ("$id", 0L));
        select.Prepare();
        await using var trail = TrailCommand(connection, tx);
        foreach (var receipt in receipts)
        {
            if (!DeliveryRules.TryParseProviderReference(receipt.Reference, out var id, out var addressIndex, out var key))
            {
                ignored++;
                continue;
            }

            select.Parameters["$id"].Value = id;
            int status, current, currentIndex;
            string? addresses;
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken) || !string.Equals(reader.GetString(3), key, StringComparison.Ordinal))
                {
                    ignored++;
                    continue;
                }

                (status, current, currentIndex, addresses) = (reader.GetInt32(0), reader.GetInt32(1), reader.GetInt32(2), reader.IsDBNull(4) ? null : reader.GetString(4));
            }

            if (current != (int)channel || currentIndex != addressIndex)
            {
                ignored++;
            }
            else if (status is Sending or Queued)
            {
                later.Add(receipt.Reference);
            }
            else if (status != (int)DeliveryStatus.Sent)
            {
                ignored++;
            }
            else if (receipt.Delivered)
            {
                await ExecAsync(connection, tx, $"UPDATE deliveries SET status = {(int)DeliveryStatus.Delivered}, updated_at = $now WHERE id = $id",
                    cancellationToken, ("$now", nowMs), ("$id", id));
                await AddTrailAsync(trail, id, DeliveryStatus.Delivered, channel, null, nowMs, cancellationToken);
                delivered++;
            }
            else
            {
                var reason = (channel == Channel.Sms ? "sms undelivered: " : "email undelivered: ") + receipt.Error;
                var all = DeliveryRules.DecodeAddresses(addresses);
                if (addressIndex + 1 < all.Count)
                {
                    await ExecAsync(connection, tx,
                        $"""
                        UPDATE deliveries SET status = {Queued}, address_index = $ai, channel = $c, address_attempts = 0, next_at = $now,
                            final_at = NULL, updated_at = $now, reason = $reason
                        WHERE id = $id
                        """, cancellationToken, ("$ai", addressIndex + 1), ("$c", (int)all[addressIndex + 1].Channel), ("$now", nowMs), ("$reason", reason), ("$id", id));
                    requeued.Add(id);
                }
                else
                {
                    await ExecAsync(connection, tx,
                        $"UPDATE deliveries SET status = {(int)DeliveryStatus.Failed}, final_at = $now, updated_at = $now, reason = $reason WHERE id = $id",
                        cancellationToken, ("$now", nowMs), ("$reason", reason), ("$id", id));
                    await AddTrailAsync(trail, id, DeliveryStatus.Failed, channel, reason, nowMs, cancellationToken);
                    failed++;
                }
            }
        }

        await CancelRequeuedOfCancelledAlertsAsync(tx, requeued, nowMs, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return new ReceiptResult(delivered, failed, requeued.Count, ignored, later);
    }

    private static async Task ExecAsync(SqliteConnection connection, SqliteTransaction tx, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(sql, tx, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // ---- queries ----

    public async Task<StatusCounts> CountAsync(string source, string alertId, long version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT channel, CASE status WHEN {Sending} THEN {Queued} ELSE status END AS st, COUNT(*), MAX(alert_version)
            FROM deliveries WHERE source = $s AND source_alert_id = $a AND ($v = 0 OR alert_version = $v)
            GROUP BY channel, st ORDER BY channel, st
            """, null, ("$s", source), ("$a", alertId), ("$v", version));
        var counts = new List<(Channel, DeliveryStatus, long)>();
        long total = 0, latest = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var n = reader.GetInt64(2);
            counts.Add(((Channel)reader.GetInt32(0), (DeliveryStatus)reader.GetInt32(1), n));
            total += n;
            latest = Math.Max(latest, reader.GetInt64(3));
        }

        return new StatusCounts(total, latest, counts);
    }

    public async Task<List<DeliveryRow>> ListAsync(string source, string alertId, long version, DeliveryStatus status, long afterId, int limit,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            $"""
            SELECT id, recipient_id, alert_version, channel, CASE status WHEN {Sending} THEN {Queued} ELSE status END AS st, reason, attempts, updated_at
            FROM deliveries
            WHERE source = $s AND source_alert_id = $a AND ($v = 0 OR alert_version = $v) AND id > $after AND ($st = 0 OR st = $st)
            ORDER BY id LIMIT $n
            """, null, ("$s", source), ("$a", alertId), ("$v", version), ("$after", afterId), ("$st", (int)status), ("$n", limit));
        var rows = new List<DeliveryRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new DeliveryRow(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), (Channel)reader.GetInt32(3),
                (DeliveryStatus)reader.GetInt32(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt32(6), reader.GetInt64(7)));
        }

        return rows;
    }
}
