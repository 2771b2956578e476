using System.Text.Json;
using System.Threading.Channels;
using StandardWebhooks;

namespace Dcis.Crisis.SmsSink;

/// <summary>A delivery receipt as the sink reports it: the client reference, delivered or not, and why not.</summary>
public sealed record SmsReceiptReport(string Reference, string Status, string? Error);

/// <summary>What notifications answers to a batch of receipts; <c>later</c> are the references to report again.</summary>
public sealed record SmsReceiptAnswer(int Delivered, int Failed, int FellBack, int Ignored, List<string> Later);

/// <summary>A batch of receipts on the wire.</summary>
public sealed record SmsReceiptBatch(List<SmsReceiptReport> Receipts);

/// <summary>
/// Posts delivery receipts back, as a gateway does: batched (a gateway collects its operators' reports; the short
/// wait also lets the sender record its own submission before the receipt for it arrives), signed with Standard
/// Webhooks, retried with backoff while the receiver is down. A reference the receiver answers "later" for (it has
/// not recorded the submission yet) is reported again each second for a minute. Receipts not yet posted are kept in
/// memory only: a sink restart loses them, which a development stand-in may.
/// </summary>
public sealed class ReceiptSender(HttpClient http, Uri url, StandardWebhook signer, TimeSpan batchDelay, SmsStore store, ILogger<ReceiptSender> logger)
    : BackgroundService
{
    private const int MaxBatch = 1_000;
    private const int MaxLaterReports = 60;
    private readonly Channel<(SmsReceiptReport Receipt, int Reports)> _queue = Channel.CreateUnbounded<(SmsReceiptReport, int)>();

    public void Enqueue(SmsReceiptReport receipt) => _queue.Writer.TryWrite((receipt, 0));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(batchDelay, stoppingToken);
                var batch = new List<(SmsReceiptReport Receipt, int Reports)>();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                var answer = await PostUntilAnsweredAsync(batch.ConvertAll(b => b.Receipt), stoppingToken);
                var later = answer.Later.ToHashSet(StringComparer.Ordinal);
                foreach (var (receipt, reports) in batch)
                {
                    if (!later.Contains(receipt.Reference))
                    {
                        store.SetReceipt(receipt.Reference, receipt.Error is null ? receipt.Status : $"{receipt.Status}: {receipt.Error}");
                    }
                    else if (reports + 1 < MaxLaterReports)
                    {
                        _ = ReportAgainAsync(receipt, reports + 1, stoppingToken);
                    }
                    else
                    {
                        store.SetReceipt(receipt.Reference, "not taken by the receiver");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task ReportAgainAsync(SmsReceiptReport receipt, int reports, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            _queue.Writer.TryWrite((receipt, reports));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task<SmsReceiptAnswer> PostUntilAnsweredAsync(List<SmsReceiptReport> receipts, CancellationToken stoppingToken)
    {
        var body = JsonSerializer.Serialize(new SmsReceiptBatch(receipts), SmsJsonContext.Default.SmsReceiptBatch);
        for (var attempt = 1; ; attempt++)
        {
            string problem;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
                var id = "msg_" + Guid.NewGuid().ToString("N");
                var now = DateTimeOffset.UtcNow;
                request.Headers.Add("webhook-id", id);
                request.Headers.Add("webhook-timestamp", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.Add("webhook-signature", signer.Sign(id, now, body));
                using var response = await http.SendAsync(request, stoppingToken);
                if (response.IsSuccessStatusCode)
                {
                    return await response.Content.ReadFromJsonAsync(SmsJsonContext.Default.SmsReceiptAnswer, stoppingToken)
                        ?? new SmsReceiptAnswer(0, 0, 0, 0, []);
                }

                problem = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                problem = ex.HttpRequestError.ToString();
            }

            var wait = TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(attempt - 1, 5)));
            logger.LogWarning("Posting {Count} SMS receipts to {Url} failed ({Problem}); trying again in {Wait}", receipts.Count, url, problem, wait);
            await Task.Delay(wait, stoppingToken);
        }
    }
}
