using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using StandardWebhooks;

namespace Dcis.Crisis.Sinks;

/// <summary>A delivery receipt as a sink reports it: the reference the message came with (an SMS's client reference,
/// an e-mail's Message-Id), delivered or undelivered, and why not.</summary>
public sealed record ReceiptReport(string Reference, string Status, string? Error)
{
    /// <summary>"delivered", or "undelivered" with the reason when <paramref name="undeliveredBecause"/> is given.</summary>
    public static ReceiptReport Of(string reference, string? undeliveredBecause) => undeliveredBecause is null
        ? new ReceiptReport(reference, "delivered", null)
        : new ReceiptReport(reference, "undelivered", undeliveredBecause);
}

/// <summary>What notifications answers to a batch of receipts; <c>later</c> are the references to report again.</summary>
public sealed record ReceiptAnswer(int Delivered, int Failed, int FellBack, int Ignored, List<string> Later);

/// <summary>A batch of receipts on the wire.</summary>
public sealed record ReceiptBatch(List<ReceiptReport> Receipts);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ReceiptBatch))]
[JsonSerializable(typeof(ReceiptAnswer))]
internal sealed partial class ReceiptJsonContext : JsonSerializerContext;

/// <summary>
/// Posts delivery receipts back, as an SMS gateway's delivery reports or an e-mail provider's delivery and bounce
/// events do: batched (a provider collects its reports; the short wait also lets the sender record its own hand-over
/// before the receipt for it arrives), signed with Standard Webhooks, retried with backoff while the receiver is down.
/// A reference the receiver answers "later" for (it has not recorded the hand-over yet) is reported again each second
/// for a minute. <paramref name="recorded"/> is told what was finally reported for each reference. Receipts not yet
/// posted are kept in memory only: a sink restart loses them, which a development stand-in may. Shared by the SMS and
/// mail sinks (linked into both).
/// </summary>
public sealed class ReceiptSender(HttpClient http, Uri url, StandardWebhook signer, TimeSpan batchDelay, Action<string, string> recorded,
    ILogger<ReceiptSender> logger) : BackgroundService
{
    private const int MaxBatch = 1_000;
    private const int MaxLaterReports = 60;
    private readonly Channel<(ReceiptReport Receipt, int Reports)> _queue = Channel.CreateUnbounded<(ReceiptReport, int)>();

    /// <summary>Queues a report. Sinks report a repeated hand-over too: the first report may not have been taken (the
    /// sender had not yet recorded the hand-over it answers), and the receiver ignores a second one it did take.</summary>
    public void Enqueue(ReceiptReport receipt) => _queue.Writer.TryWrite((receipt, 0));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(batchDelay, stoppingToken);
                var batch = new List<(ReceiptReport Receipt, int Reports)>();
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
                        recorded(receipt.Reference, receipt.Error is null ? receipt.Status : $"{receipt.Status}: {receipt.Error}");
                    }
                    else if (reports + 1 < MaxLaterReports)
                    {
                        _ = ReportAgainAsync(receipt, reports + 1, stoppingToken);
                    }
                    else
                    {
                        recorded(receipt.Reference, "not taken by the receiver");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task ReportAgainAsync(ReceiptReport receipt, int reports, CancellationToken stoppingToken)
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

    private async Task<ReceiptAnswer> PostUntilAnsweredAsync(List<ReceiptReport> receipts, CancellationToken stoppingToken)
    {
        var body = JsonSerializer.Serialize(new ReceiptBatch(receipts), ReceiptJsonContext.Default.ReceiptBatch);
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
                    return await response.Content.ReadFromJsonAsync(ReceiptJsonContext.Default.ReceiptAnswer, stoppingToken)
                        ?? new ReceiptAnswer(0, 0, 0, 0, []);
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

/// <summary>How a sink turns its receipt settings into a <see cref="ReceiptSender"/>.</summary>
public static class ReceiptSenderRegistration
{
    /// <summary>With <c>{section}:ReceiptUrl</c> and <c>{section}:ReceiptSecret</c> (whsec_&lt;base64&gt;, shared with the
    /// receiver) set, registers and starts a <see cref="ReceiptSender"/>; <c>{section}:ReceiptDelay</c> (200 ms) is its
    /// batching wait. Without a URL, none: the sink reports nothing.</summary>
    public static void AddReceiptSender(this WebApplicationBuilder builder, string section, Func<IServiceProvider, Action<string, string>> recorded)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Configuration[$"{section}:ReceiptUrl"] is not { Length: > 0 } url)
        {
            return;
        }

        var secret = builder.Configuration[$"{section}:ReceiptSecret"]
            ?? throw new InvalidOperationException($"{section}:ReceiptUrl needs {section}:ReceiptSecret (whsec_<base64>), shared with the receiver");
        var delay = builder.Configuration.GetValue($"{section}:ReceiptDelay", TimeSpan.FromMilliseconds(200));
        builder.Services.AddHttpClient(nameof(ReceiptSender));
        builder.Services.AddSingleton(sp => new ReceiptSender(sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(ReceiptSender)),
            new Uri(url), new StandardWebhook(secret), delay, recorded(sp), sp.GetRequiredService<ILogger<ReceiptSender>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReceiptSender>());
    }
}
