using System.Collections.Concurrent;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Advisories.Tests.Delivery;

/// <summary>A company's real HTTP receiver: a tiny Kestrel app recording every request, answering as scripted.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, string? RetryAfter)>> _script = new(StringComparer.Ordinal);

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    public string BaseUrl { get; }

    public ConcurrentQueue<ReceivedWebhook> Received { get; } = new();

    /// <summary>Answers returned by a path, in order; afterwards the default (200, or the last "always" answer).</summary>
    public ConcurrentDictionary<string, int> Always { get; } = new(StringComparer.Ordinal);

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, port);
        app.MapPost("/hooks/{name}", async (string name, HttpContext http) =>
        {
            using var reader = new StreamReader(http.Request.Body);
            var body = await reader.ReadToEndAsync();
            var headers = new HeaderDictionary();
            foreach (var (key, value) in http.Request.Headers)
            {
                headers[key] = value;
            }

            var (status, retryAfter) = receiver.Next(name);
            receiver.Received.Enqueue(new ReceivedWebhook(name, body, headers, status, DateTimeOffset.UtcNow));
            if (retryAfter is not null)
            {
                http.Response.Headers.RetryAfter = retryAfter;
            }

            return Results.StatusCode(status);
        });
        await app.StartAsync();
        return receiver;
    }

    public string Url(string name) => $"{BaseUrl}/hooks/{name}";

    public void Script(string name, params (int Status, string? RetryAfter)[] answers)
    {
        var queue = _script.GetOrAdd(name, _ => new ConcurrentQueue<(int, string?)>());
        foreach (var answer in answers)
        {
            queue.Enqueue(answer);
        }
    }

    public List<ReceivedWebhook> For(string name) => Received.Where(r => r.Name == name).ToList();

    private (int, string?) Next(string name) =>
        _script.TryGetValue(name, out var queue) && queue.TryDequeue(out var answer) ? answer
        : Always.TryGetValue(name, out var status) ? (status, null) : (200, null);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record ReceivedWebhook(string Name, string Body, IHeaderDictionary Headers, int Status, DateTimeOffset At)
{
    public string AdvisoryId => System.Text.Json.JsonDocument.Parse(Body).RootElement.GetProperty("data") is var data
        && data.TryGetProperty("advisoryId", out var id) ? id.GetString()! : string.Empty;
}
