using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Advisories.Delivery;

/// <summary>
/// Sends queued webhook deliveries, signed as the Standard Webhooks specification says
/// (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature: v1,&lt;base64 HMAC-SHA256 of id.timestamp.body&gt;</c>).
/// Per endpoint, strictly in order: the oldest pending delivery blocks the ones behind it.
/// Failures back off exponentially; <c>429</c> waits for <c>Retry-After</c>; after N consecutive
/// failures the endpoint is disabled with the reason recorded, and resumes when re-activated.
/// </summary>
internal sealed class WebhookDispatcher(
    SqliteDatabase database,
    IHttpClientFactory httpClients,
    WebhookSignal signal,
    AdvisoriesOptions options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";

    /// <summary>Sends every delivery due at <paramref name="now"/>; returns how many attempts were made.</summary>
    public async Task<int> RunDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var endpoints = await DueEndpointsAsync(now, cancellationToken);
        var attempts = 0;
        await Parallel.ForEachAsync(endpoints, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (endpoint, ct) =>
        {
            var n = await DrainEndpointAsync(endpoint, now, ct);
            Interlocked.Add(ref attempts, n);
        });
        return attempts;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.WebhooksInBackground)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunDueAsync(time.GetUtcNow(), stoppingToken);
                var wait = await NextDueInAsync(stoppingToken);
                await signal.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or IOException)
            {
                logger.LogWarning(ex, "Webhook dispatch pass failed; retrying shortly");
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    private async Task<TimeSpan> NextDueInAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            "SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.endpoint_id = d.endpoint_id WHERE d.state = 1 AND e.active = 1");
        var next = await command.ExecuteScalarAsync(ct);
        var max = TimeSpan.FromSeconds(5);
        if (next is not long ms)
        {
            return max;
        }

        var wait = DateTimeOffset.FromUnixTimeMilliseconds(ms) - time.GetUtcNow();
        return wait <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : wait < max ? wait : max;
    }

    private async Task<List<Endpoint>> DueEndpointsAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            """
            SELECT e.endpoint_id, e.url, e.secret, CASE WHEN e.previous_secret_expires_at > $now THEN e.previous_secret END FROM webhook_endpoints e
            WHERE e.active = 1 AND (SELECT d.next_attempt_at FROM webhook_deliveries d WHERE d.endpoint_id = e.endpoint_id AND d.state = 1 ORDER BY d.n LIMIT 1) <= $now
            """,
            null, ("$now", now.ToUnixTimeMilliseconds()));
        var list = new List<Endpoint>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(new Endpoint(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return list;
    }

    private async Task<int> DrainEndpointAsync(Endpoint endpoint, DateTimeOffset now, CancellationToken ct)
    {
        var attempts = 0;
        while (true)
        {
            Pending? head;
            await using (var connection = await database.OpenAsync(ct))
            {
                await using var command = connection.Command(
                    "SELECT n, delivery_id, body, attempts, next_attempt_at FROM webhook_deliveries WHERE endpoint_id = $e AND state = 1 ORDER BY n LIMIT 1",
                    null, ("$e", endpoint.Id));
                await using var reader = await command.ExecuteReaderAsync(ct);
                head = await reader.ReadAsync(ct)
                    ? new Pending(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4))
                    : null;
            }

            if (head is null || head.NextAttemptAt > now.ToUnixTimeMilliseconds())
            {
                return attempts;
            }

            attempts++;
            var result = await SendAsync(endpoint, head, ct);
            if (!await RecordAsync(endpoint, head, result, now, ct))
            {
                return attempts;
            }
        }
    }

    private async Task<SendResult> SendAsync(Endpoint endpoint, Pending delivery, CancellationToken ct)
    {
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
        {
            Content = new StringContent(delivery.Body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", delivery.DeliveryId);
        request.Headers.Add("webhook-timestamp", timestamp);
        // While a rotated-out secret has not expired, both sign (Standard Webhooks: space-separated signatures), so a
        // receiver still on the previous secret and one already on the new secret both verify. The new one comes first:
        // some verifiers (the StandardWebhooks .NET library 1.1.2) check only the first signature, and a company keeps
        // its receiver on the previous secret for minutes after rotating, but on the new one for the rest of the overlap.
        var signature = Sign(endpoint.Secret, delivery.DeliveryId, timestamp, delivery.Body);
        if (endpoint.PreviousSecret is { } previous)
        {
            signature += " " + Sign(previous, delivery.DeliveryId, timestamp, delivery.Body);
        }

        request.Headers.Add("webhook-signature", signature);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.WebhookTimeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            TimeSpan? retryAfter = null;
            if (response.StatusCode == HttpStatusCode.TooManyRequests && response.Headers.RetryAfter is { } ra)
            {
                retryAfter = ra.Delta ?? (ra.Date is { } date ? date - time.GetUtcNow() : null);
            }

            return new SendResult((int)response.StatusCode, response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}", retryAfter);
        }
        catch (HttpRequestException ex)
        {
            return new SendResult(0, "connection failed: " + ex.HttpRequestError, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new SendResult(0, "timed out", null);
        }
    }

    /// <summary>Records the attempt; returns whether the endpoint may go on with its next delivery now.</summary>
    private async Task<bool> RecordAsync(Endpoint endpoint, Pending delivery, SendResult result, DateTimeOffset now, CancellationToken ct)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        if (result.Error is null)
        {
            await Exec(connection, tx, "UPDATE webhook_deliveries SET state = 2, attempts = attempts + 1, last_status_code = $code, last_error = '', delivered_at = $at WHERE n = $n",
                ct, ("$code", result.StatusCode), ("$at", time.GetUtcNow().ToUnixTimeMilliseconds()), ("$n", delivery.N));
            await Exec(connection, tx, "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE endpoint_id = $e", ct, ("$e", endpoint.Id));
            await tx.CommitAsync(ct);
            return true;
        }

        var throttled = result.StatusCode == (int)HttpStatusCode.TooManyRequests;
        var backoff = throttled && result.RetryAfter is { } ra && ra > TimeSpan.Zero
            ? ra
            : TimeSpan.FromTicks(Math.Min(options.WebhookMaxDelay.Ticks, options.WebhookBaseDelay.Ticks * (1L << Math.Min(delivery.Attempts, 30))));
        await Exec(connection, tx, "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $code, last_error = $err, next_attempt_at = $next WHERE n = $n",
            ct, ("$code", result.StatusCode), ("$err", result.Error), ("$next", nowMs + (long)backoff.TotalMilliseconds), ("$n", delivery.N));

        // Being asked to slow down is not a failure of the endpoint: it never counts towards disabling it.
        if (!throttled)
        {
            await Exec(connection, tx, "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE endpoint_id = $e", ct, ("$e", endpoint.Id));
            await Exec(connection, tx,
                "UPDATE webhook_endpoints SET active = 0, disabled_reason = $reason WHERE endpoint_id = $e AND consecutive_failures >= $max",
                ct, ("$e", endpoint.Id), ("$max", options.WebhookMaxConsecutiveFailures),
                ("$reason", $"disabled after {options.WebhookMaxConsecutiveFailures} consecutive failures; last: {result.Error}"));
        }

        await tx.CommitAsync(ct);
        logger.LogInformation("Webhook delivery {DeliveryId} to endpoint {EndpointId} failed ({Error}); next attempt in {Delay}",
            delivery.DeliveryId, endpoint.Id, result.Error, backoff);
        return false;
    }

    /// <summary>The Standard Webhooks signature: <c>v1,</c> + base64 HMAC-SHA256 of <c>id.timestamp.body</c> keyed by the secret's bytes.</summary>
    public static string Sign(string secret, string id, string timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : secret);
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}"));
        return "v1," + Convert.ToBase64String(mac);
    }

    private static async Task Exec(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction tx, string sql, CancellationToken ct,
        params (string, object?)[] parameters)
    {
        await using var command = connection.Command(sql, tx, parameters);
        await command.ExecuteNonQueryAsync(ct);
    }

    private sealed record Endpoint(string Id, string Url, string Secret, string? PreviousSecret);

    private sealed record Pending(long N, string DeliveryId, string Body, int Attempts, long NextAttemptAt);

    private sealed record SendResult(int StatusCode, string? Error, TimeSpan? RetryAfter);
}
