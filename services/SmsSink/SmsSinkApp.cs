using System.Globalization;
using System.Net;
using System.Text;
using Dcis.Crisis.Sinks;

namespace Dcis.Crisis.SmsSink;

/// <summary>
/// The SMS sink: <c>POST /api/sms {to, text, reference}</c> like a gateway's submit API (202, or 200
/// for a reference already accepted, which is not recorded twice), <c>GET /api/messages</c>,
/// <c>GET /api/stats</c> and an HTML page at <c>/</c>. Numbers starting with the configured
/// reject prefix get 400 (unknown number) and the fail prefix 503 (gateway trouble), so fallbacks
/// and retries can be exercised. Listens on <c>APP_PORT</c> (default 5410); keeps a JSON-lines log in
/// <c>DATA_DIR</c>.
/// With <c>SmsSink:ReceiptUrl</c> and <c>SmsSink:ReceiptSecret</c> it reports a delivery receipt for each message, as
/// a gateway does (<see cref="ReceiptSender"/>; also <c>SmsSink:ReceiptDelay</c>): "undelivered" (absent subscriber) for numbers starting with
/// <c>SmsSink:UndeliveredPrefix</c> (default +9992), which the gateway accepts but no handset answers, "delivered" otherwise.
/// </summary>
public static class SmsSinkApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        var port = builder.Configuration.GetValue("APP_PORT", 5410);
        var bind = IPAddress.Parse(builder.Configuration["BIND_ADDRESS"] ?? "127.0.0.1");
        builder.WebHost.ConfigureKestrel(k => k.Listen(bind, port));
        var dataDir = builder.Configuration["DATA_DIR"] ?? Path.Combine(Directory.GetCurrentDirectory(), ".data");
        var logPath = Path.Combine(Path.GetFullPath(dataDir), "sms-sink.jsonl");
        builder.Services.AddSingleton(_ => new SmsStore(logPath));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, SmsJsonContext.Default));
        var rejectPrefix = builder.Configuration["SmsSink:RejectPrefix"] ?? "+9990";
        var failPrefix = builder.Configuration["SmsSink:FailPrefix"] ?? "+9991";
        var undeliveredPrefix = builder.Configuration["SmsSink:UndeliveredPrefix"] ?? "+9992";
        builder.AddReceiptSender("SmsSink", sp => sp.GetRequiredService<SmsStore>().SetReceipt);

        var app = builder.Build();
        var store = app.Services.GetRequiredService<SmsStore>();
        var receipts = app.Services.GetService<ReceiptSender>();
        app.MapPost("/api/sms", (SmsSubmission submission) =>
        {
            if (string.IsNullOrWhiteSpace(submission.To) || string.IsNullOrWhiteSpace(submission.Reference) || submission.Text is null)
            {
                return Results.BadRequest(new SmsError("to, text and reference are required"));
            }

            if (submission.To.StartsWith(rejectPrefix, StringComparison.Ordinal))
            {
                return Results.BadRequest(new SmsError("unknown subscriber"));
            }

            if (submission.To.StartsWith(failPrefix, StringComparison.Ordinal))
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }

            var (record, duplicate) = store.Add(submission);
            receipts?.Enqueue(ReceiptReport.Of(submission.Reference,
                submission.To.StartsWith(undeliveredPrefix, StringComparison.Ordinal) ? "absent subscriber" : null));
            return duplicate ? Results.Ok(new SmsAccepted(record.Id, true)) : Results.Accepted($"/api/messages/{record.Id}", new SmsAccepted(record.Id, false));
        });
        app.MapGet("/api/messages", (string? to, int? limit) => store.List(to, limit ?? 100));

        // Demo receiver for company webhooks (`crisis demo seed --webhook-url .../api/webhooks`): keeps
        // the last 200 deliveries in memory so a person can see the signed advisories arrive.
        var webhooks = new System.Collections.Concurrent.ConcurrentQueue<string>();
        app.MapPost("/api/webhooks", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            webhooks.Enqueue($"{request.Headers["webhook-id"]} {request.Headers["webhook-signature"]} {await reader.ReadToEndAsync()}");
            while (webhooks.Count > 200 && webhooks.TryDequeue(out _))
            {
                // Drop the oldest.
            }

            return Results.NoContent();
        });
        app.MapGet("/api/webhooks", () => Results.Text(string.Join('\n', webhooks), "text/plain"));
        app.MapGet("/api/stats", () => store.Stats());
        app.MapGet("/", () => Results.Content(Page(store), "text/html; charset=utf-8"));
        return app;
    }

    private static string Page(SmsStore store)
    {
        var stats = store.Stats();
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>SMS sink</title>")
            .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>")
            .Append("</head><body><h1>SMS sink</h1>")
            .Append(CultureInfo.InvariantCulture, $"<p>{stats.Messages} messages recorded, {stats.Duplicates} duplicate submissions ignored. Newest first (last 200).</p>")
            .Append("<table><tr><th>#</th><th>received</th><th>to</th><th>text</th><th>reference</th><th>receipt</th></tr>");
        foreach (var m in store.List(null, 200))
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{m.Id}</td><td>{m.ReceivedAt:u}</td><td>{WebUtility.HtmlEncode(m.To)}</td><td>{WebUtility.HtmlEncode(m.Text)}</td><td>{WebUtility.HtmlEncode(m.Reference)}</td><td>{WebUtility.HtmlEncode(m.Receipt ?? "")}</td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }
}
